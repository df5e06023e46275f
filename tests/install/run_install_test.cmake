# cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P run_install_test.cmake
# Installs the build into a temporary prefix, builds tests/install/project against it with
# find_package(airlock) and runs the resulting plugin. SANITIZE_FLAGS: a sanitizer build's
# flags (its installed libraries are instrumented, so the plugin is built with them too).
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/install/project" -B "${WORK_DIR}/build"
    "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_CXX_FLAGS=${SANITIZE_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZE_FLAGS}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=AIRLOCK_CONNECTION_FD "${WORK_DIR}/build/outside_plugin"
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 78 OR NOT out MATCHES "AIRLOCK_CONNECTION_FD is not set")
  message(FATAL_ERROR "the out-of-tree plugin did not run as expected (${result}):\n${out}\n${err}")
endif()
message(STATUS "out-of-tree plugin built and ran: ${out}")

# The C API through pkg-config: a C program using only <lwmsg/lwmsg.h> builds against the
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
