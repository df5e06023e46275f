# What the Debian package ships besides the libraries and headers (cmake/AirlockInstall.cmake),
# and the package itself: `make package` runs cpack on the build directory (CPack DEB).
#   bin/                  airlock-host, airlockctl (installed where their targets are defined)
#   share/man/man1, man5  airlock-host(1), airlockctl(1), airlock.toml(5)   (man/)
#   share/doc/airlock     README, docs/*.md, example configs
#   lib/systemd/system    airlock-host.service
#   share/bash-completion/completions/airlockctl, share/zsh/vendor-completions/_airlockctl
install(FILES man/airlock-host.1 man/airlockctl.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES man/airlock.toml.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(FILES config/demo.toml config/examples/reference.toml config/examples/sandboxed-command.toml
              config/examples/threads-and-timers.toml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
# systemd looks units up under lib/systemd/system of /usr (and /etc/systemd/system), not /usr/local.
install(FILES config/airlock-host.service DESTINATION lib/systemd/system)
install(FILES completions/airlockctl.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME airlockctl)
install(FILES completions/_airlockctl DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME airlock)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Airlock maintainers <airlock@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "sandboxed plugin host (seccomp, Landlock, namespaces, cgroups)")
set(CPACK_PACKAGE_DESCRIPTION "Airlock runs each plugin in its own confined process and grants it\n\
capabilities only as pre-opened descriptors configured in TOML. This package holds\n\
airlock-host, airlockctl, the plugin SDK and the embeddable host (static libraries,\n\
headers, CMake and pkg-config files), man pages, docs, the systemd unit and examples.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The binaries and static libraries without debug information, as Debian ships them (with it,
# a RelWithDebInfo airlock-host is ~55 MB and the package ~32 MB).
set(CPACK_STRIP_FILES TRUE)
set(CPACK_AIRLOCK_STRIP "${CMAKE_STRIP}")
set(CPACK_PRE_BUILD_SCRIPTS "${CMAKE_CURRENT_LIST_DIR}/AirlockStripArchives.cmake")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
# Depends: from the binaries' shared libraries (dpkg-shlibdeps: libc6, libstdc++6, libseccomp2,
# ...). Building plugins and embedders against the static
# libraries needs the -dev packages their headers and .pc/.cmake files name.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# airlock-host loads libsystemd with dlopen under systemd (host/src/systemd/service_notifier.cpp),
# which dpkg-shlibdeps cannot see; toml++ is compiled in, so libtomlplusplus3 is not needed.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libsystemd0")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libseccomp-dev, libtomlplusplus-dev, libboost-dev (>= 1.74), pkg-config")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "cmake (>= 3.25), g++ (>= 12)")
include(CPack)
