# cmake -DBUILD_DIR=... -DWORK_DIR=... -P run_package_test.cmake
# Builds the .deb with cpack (into WORK_DIR), unpacks it with `dpkg -x` into WORK_DIR/root
# (a scratch root: the test machine's own /usr is not touched), checks what it holds and
# declares, and runs the unpacked airlock-host on the unpacked example config.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

find_program(CPACK cpack HINTS "${CMAKE_COMMAND}/.." REQUIRED)
run(${CPACK} -G DEB --config "${BUILD_DIR}/CPackConfig.cmake" -B "${WORK_DIR}")
file(GLOB debs "${WORK_DIR}/airlock_*.deb")
list(LENGTH debs count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one airlock_*.deb in ${WORK_DIR}, found: ${debs}")
endif()

# Depends: the shared libraries the binaries load, found by dpkg-shlibdeps, and libsystemd0,
# which airlock-host loads with dlopen under systemd. toml++ is compiled in (no libtomlplusplus3).
run(dpkg-deb -f "${debs}" Depends)
foreach(package libc6 libstdc\\+\\+6 libseccomp2 libsystemd0)
  if(NOT run_output MATCHES "(^|, )${package}( |,|$)")
    message(FATAL_ERROR "Depends lacks ${package}: ${run_output}")
  endif()
endforeach()

# Contents.
run(dpkg-deb -c "${debs}")
set(listing "${run_output}")
foreach(path
    ./usr/bin/airlock-host ./usr/bin/airlockctl
    ./usr/lib/libairlock-plugin.a ./usr/lib/libairlock-host-supervisor.a
    ./usr/include/airlock/plugin/plugin.hpp ./usr/include/airlock/host/supervisor.hpp
    ./usr/lib/cmake/airlock/airlockConfig.cmake ./usr/lib/pkgconfig/airlock-host.pc ./usr/lib/pkgconfig/airlock-plugin.pc
    ./usr/share/man/man1/airlock-host.1 ./usr/share/man/man1/airlockctl.1 ./usr/share/man/man5/airlock.toml.5
    ./usr/share/doc/airlock/supervisor.md ./usr/share/doc/airlock/examples/sandboxed-command.toml
    ./usr/lib/systemd/system/airlock-host.service
    ./usr/share/bash-completion/completions/airlockctl ./usr/share/zsh/vendor-completions/_airlockctl)
  string(REPLACE "+" "\\+" pattern "${path}")
  if(NOT listing MATCHES " ${pattern}\n")
    message(FATAL_ERROR "the package lacks ${path}:\n${listing}")
  endif()
endforeach()

# Installed into a scratch root: the installed tools run, and check accepts a shipped example.
set(root "${WORK_DIR}/root")
run(dpkg -x "${debs}" "${root}")
run("${root}/usr/bin/airlock-host" --version)
# Stripped, as a Debian package ships its binaries and static libraries.
foreach(file bin/airlock-host bin/airlockctl lib/libairlock-host-spawn.a lib/libairlock-connection.a)
  run(readelf -S --wide "${root}/usr/${file}")
  if(run_output MATCHES "\\.debug_info")
    message(FATAL_ERROR "${file} in the package still carries debug information")
  endif()
endforeach()
run("${root}/usr/bin/airlockctl" --version)
run("${root}/usr/bin/airlock-host" check "${root}/usr/share/doc/airlock/examples/sandboxed-command.toml")
if(NOT run_output MATCHES "layers applied at spawn")
  message(FATAL_ERROR "airlock-host check printed no policy:\n${run_output}")
endif()
run(man --warnings -l -P cat "${root}/usr/share/man/man1/airlock-host.1")
# The pkg-config file of the package resolves to the package's own prefix.
set(ENV{PKG_CONFIG_PATH} "${root}/usr/lib/pkgconfig")
run(pkg-config --variable=includedir airlock-host)
string(STRIP "${run_output}" includedir)
get_filename_component(includedir "${includedir}" REALPATH)
if(NOT includedir STREQUAL "${root}/usr/include")
  message(FATAL_ERROR "airlock-host.pc's includedir is ${run_output}, not ${root}/usr/include")
endif()
message(STATUS "installed ${debs} into ${root}: airlock-host check ran")
file(REMOVE_RECURSE "${WORK_DIR}")
