# What `cmake --install` puts in place for people building against Airlock:
#   - the libraries of the export set airlockTargets, imported by find_package(airlock) as
#     airlock::<EXPORT_NAME> (cmake/airlockConfig.cmake.in finds their dependencies);
#   - their headers;
#   - one pkg-config file per library a user links (airlock-plugin.pc, airlock-host.pc, ...).
# Another part adds itself with the two functions below, from its own CMakeLists.txt or here:
#   airlock_install_library(TARGET...)            archive + export set
#   airlock_install_pkgconfig(NAME DESCRIPTION "text" REQUIRES "pc modules" LIBS "-l...")
include(CMakePackageConfigHelpers)

set(AIRLOCK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/airlock)

# Installs static libraries and adds them to the export set (static libraries in an export set
# must have every library they link exported too, hence the host's internal parts as well).
function(airlock_install_library)
  install(TARGETS ${ARGN}
    EXPORT airlockTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

# Writes and installs NAME.pc. The libraries are static, so everything they need is in
# Requires/Libs (not .private): `pkg-config --cflags --libs NAME` is enough to link.
function(airlock_install_pkgconfig name)
  cmake_parse_arguments(PC "" "DESCRIPTION;REQUIRES;LIBS" "" ${ARGN})
  file(RELATIVE_PATH AIRLOCK_PC_PREFIX_FROM_PCDIR "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
  string(REGEX REPLACE "/$" "" AIRLOCK_PC_PREFIX_FROM_PCDIR "${AIRLOCK_PC_PREFIX_FROM_PCDIR}")
  set(AIRLOCK_PC_NAME ${name})
  set(AIRLOCK_PC_DESCRIPTION "${PC_DESCRIPTION}")
  set(AIRLOCK_PC_REQUIRES "${PC_REQUIRES}")
  set(AIRLOCK_PC_LIBS "${PC_LIBS}")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/airlock.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/${name}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${name}.pc
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
endfunction()

# --- the connection library and the plugin SDK (airlock::connection, airlock::plugin) ---
airlock_install_library(airlock_connection airlock_plugin)
# The C API (<lwmsg/lwmsg.h>) and the C plugin SDK (<airlock/plugin.h>); their headers and
# airlock-lwmsg.pc are installed by connection/lwmsg and plugin-sdk/c.
airlock_install_library(airlock_lwmsg airlock_plugin_c)
install(DIRECTORY connection/include/ plugin-sdk/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT dev FILES_MATCHING PATTERN "*.hpp")
airlock_install_pkgconfig(airlock-plugin
  DESCRIPTION "Airlock plugin SDK: write a plugin for a sandboxed Airlock host"
  REQUIRES "libseccomp"
  LIBS "-lairlock-plugin -lairlock-connection")

# --- the embedding API (airlock::host): supervisor, config loading, client, control server ---
if(TARGET airlock_host)
  # Internal static parts airlock::host links; exported (as airlock::host_*) because the export
  # set needs them, but their headers are not installed (see AIRLOCK_HOST_PUBLIC_HEADERS).
  # In link order for static libraries: each part before the parts it uses (spawn uses config
  # for the syscall group names in its reports).
  set(host_parts airlock_host_control airlock_host_supervisor airlock_host_client airlock_host_spawn
                 airlock_host_config airlock_host_sandbox)
  set(host_libs "")
  foreach(part IN LISTS host_parts)
    if(TARGET ${part})
      string(REPLACE "airlock_" "" export_name ${part})
      string(REPLACE "_" "-" output_name ${part})
      set_target_properties(${part} PROPERTIES EXPORT_NAME ${export_name} OUTPUT_NAME ${output_name})
      airlock_install_library(${part})
      string(APPEND host_libs " -l${output_name}")
    endif()
  endforeach()
  airlock_install_library(airlock_host)
  get_target_property(host_headers airlock_host AIRLOCK_PUBLIC_HEADERS)
  install(FILES ${host_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/airlock/host COMPONENT dev)
  airlock_install_pkgconfig(airlock-host
    DESCRIPTION "Airlock host: supervise sandboxed plugins from your own program"
    REQUIRES "libseccomp tomlplusplus"
    LIBS "${host_libs} -lairlock-connection")
endif()

# --- find_package(airlock) ---
install(EXPORT airlockTargets NAMESPACE airlock:: DESTINATION ${AIRLOCK_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(cmake/airlockConfig.cmake.in ${PROJECT_BINARY_DIR}/airlockConfig.cmake
  INSTALL_DESTINATION ${AIRLOCK_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/airlockConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/airlockConfig.cmake ${PROJECT_BINARY_DIR}/airlockConfigVersion.cmake
  DESTINATION ${AIRLOCK_CMAKE_DIR} COMPONENT dev)
