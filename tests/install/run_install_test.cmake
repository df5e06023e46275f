# cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DCXX=... -P run_install_test.cmake
# Installs the build into a temporary prefix, then, out of tree:
#   1. builds tests/install/project with find_package(airlock): a plugin (airlock::plugin)
#      and an embedder (airlock::host); runs the plugin alone (it must refuse: no host) and
#      the embedder supervising the plugin, confined, and calling it (from a TOML file, and
#      described in code with PluginSpec, and through the blocking PluginClient);
#   2. builds the same two programs with `pkg-config airlock-plugin` / `airlock-host` and the
#      compiler alone, and runs them the same way.
# SANITIZE_FLAGS: a sanitizer build's flags (its installed libraries are instrumented, so the
# programs are built with them too).
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
set(project "${SOURCE_DIR}/tests/install/project")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

# The plugin alone: the SDK refuses to run without a host (exit 78, EX_CONFIG).
function(check_plugin_refuses plugin)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=AIRLOCK_CONNECTION_FD "${plugin}"
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 78 OR NOT out MATCHES "AIRLOCK_CONNECTION_FD is not set")
    message(FATAL_ERROR "${plugin} did not run as expected (${result}):\n${out}\n${err}")
  endif()
endfunction()

# The embedder supervises the plugin (a real confined process) and calls it.
function(check_embedder embedder plugin)
  get_filename_component(dir "${embedder}" DIRECTORY)
  file(WRITE "${dir}/outside.toml" "[plugin.outside]\nexec = \"${plugin}\"\nrestart = \"no\"\n")
  execute_process(COMMAND "${embedder}" "${dir}/outside.toml"
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0 OR NOT out STREQUAL "ping: from the embedder\n")
    message(FATAL_ERROR "${embedder} did not call ${plugin} (${result}):\n${out}\n${err}")
  endif()
  message(STATUS "${embedder}: ${out}")
  # The same plugin described in code (PluginSpec), no TOML.
  execute_process(COMMAND "${embedder}" --exec "${plugin}"
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0 OR NOT out STREQUAL "ping: from the embedder\n")
    message(FATAL_ERROR "${embedder} --exec did not call ${plugin} (${result}):\n${out}\n${err}")
  endif()
  # The same plugin run by the blocking PluginClient (start, call, stop, exit status 0).
  execute_process(COMMAND "${embedder}" --client "${plugin}"
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0 OR NOT out STREQUAL "ping: from the embedder\n")
    message(FATAL_ERROR "${embedder} --client did not call ${plugin} (${result}):\n${out}\n${err}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")

# 1. find_package(airlock)
run(${CMAKE_COMMAND} -S "${project}" -B "${WORK_DIR}/build"
    "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_CXX_FLAGS=${SANITIZE_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZE_FLAGS}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
check_plugin_refuses("${WORK_DIR}/build/outside_plugin")
check_embedder("${WORK_DIR}/build/embedder" "${WORK_DIR}/build/outside_plugin")

# 2. pkg-config, from the installed .pc files only (PKG_CONFIG_LIBDIR: none of the system's
# own airlock, if any).
find_program(PKG_CONFIG pkg-config REQUIRED)
file(GLOB pc_dirs "${prefix}/lib*/pkgconfig" "${prefix}/lib/*/pkgconfig")
list(JOIN pc_dirs ":" pc_path)
set(ENV{PKG_CONFIG_PATH} "${pc_path}")
set(pc_build "${WORK_DIR}/pkg-config")
file(MAKE_DIRECTORY "${pc_build}")
separate_arguments(sanitize NATIVE_COMMAND "${SANITIZE_FLAGS}")
foreach(program outside_plugin:airlock-plugin embedder:airlock-host)
  string(REPLACE ":" ";" pair "${program}")
  list(GET pair 0 name)
  list(GET pair 1 module)
  run(${PKG_CONFIG} --cflags --libs ${module})
  separate_arguments(flags NATIVE_COMMAND "${run_output}")
  run(${CXX} -O1 ${sanitize} -o "${pc_build}/${name}" "${project}/${name}.cpp" ${flags})
endforeach()
check_plugin_refuses("${pc_build}/outside_plugin")
check_embedder("${pc_build}/embedder" "${pc_build}/outside_plugin")

# 3. The C API through pkg-config: a C program using only <lwmsg/lwmsg.h> builds against the
# installed airlock-lwmsg.pc and runs (it passes a descriptor between two processes).
file(GLOB_RECURSE lwmsg_pc "${prefix}/*/airlock-lwmsg.pc")
if(NOT lwmsg_pc)
  message(FATAL_ERROR "airlock-lwmsg.pc was not installed under ${prefix}")
endif()
get_filename_component(pc_dir "${lwmsg_pc}" DIRECTORY)
execute_process(COMMAND ${CMAKE_COMMAND} -E env "PKG_CONFIG_PATH=${pc_dir}" pkg-config --cflags --libs airlock-lwmsg
                RESULT_VARIABLE result OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "pkg-config airlock-lwmsg failed")
endif()
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
separate_arguments(sanitize_list UNIX_COMMAND "${SANITIZE_FLAGS}")
run(cc -std=c11 -Wall -Wextra -Werror ${sanitize_list} "${SOURCE_DIR}/tests/lwmsg/example_program.c"
    -o "${WORK_DIR}/lwmsg_program" ${pc_flags})
run("${WORK_DIR}/lwmsg_program")
message(STATUS "a C program built with pkg-config airlock-lwmsg ran")
file(REMOVE_RECURSE "${WORK_DIR}")
