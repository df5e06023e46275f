# Build checks for CI (docs/testing.md): -Werror, and sanitizer builds of the host side.
#
# AIRLOCK_SANITIZE instruments everything built after this file is included, except the
# programs that run confined (airlock_build_confined_uninstrumented below): they are the
# untrusted side, and a sanitizer runtime cannot run under their confinement.

if(DEFINED ENV{CI})
  set(airlock_werror_default ON)
else()
  set(airlock_werror_default OFF)
endif()
option(AIRLOCK_WERROR "Treat compiler warnings as errors (ON by default when the environment sets CI)"
       ${airlock_werror_default})
if(AIRLOCK_WERROR)
  add_compile_options(-Werror)
endif()

# Debug-information level added to every compile, e.g. -g1 (line tables only: backtraces and
# sanitizer reports keep file:line). Empty keeps the build type's (-g). CI builds pass -g1: a
# quarter less compile time (docs/testing.md, "CI time").
set(AIRLOCK_DEBUG_INFO "" CACHE STRING "Debug-info option added to every compile (e.g. -g1); empty: the build type's")
if(AIRLOCK_DEBUG_INFO)
  add_compile_options(${AIRLOCK_DEBUG_INFO})
endif()

# lld links when the compiler can use it (Debian's lld, scripts/bootstrap): several times less
# link time than ld.bfd over the many test programs.
include(CheckLinkerFlag)
check_linker_flag(CXX -fuse-ld=lld AIRLOCK_HAVE_LLD)
if(AIRLOCK_HAVE_LLD)
  add_link_options(-fuse-ld=lld)
endif()

set(AIRLOCK_SANITIZE "" CACHE STRING
    "Sanitizers for the host side: empty (none), address,undefined, or thread")
set_property(CACHE AIRLOCK_SANITIZE PROPERTY STRINGS "" "address,undefined" "thread")

set(AIRLOCK_SANITIZE_FLAGS "")
if(AIRLOCK_SANITIZE STREQUAL "address,undefined")
  # -fno-sanitize-recover=all: undefined behaviour ends the process (a failing test) instead
  # of printing a line nobody reads.
  set(AIRLOCK_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  # -O1, as ASan's documentation advises: g++ 12 compiles instrumented code at -O2 a third
  # slower again (docs/testing.md, "CI time"); every check is the same.
  add_compile_options(-O1)
elseif(AIRLOCK_SANITIZE STREQUAL "thread")
  set(AIRLOCK_SANITIZE_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
  # g++ 12 warns that TSan cannot see std::atomic_thread_fence, which Boost.Asio's
  # std_fenced_block uses around every handler; that header is not ours to change.
  add_compile_options(-Wno-tsan)
elseif(NOT AIRLOCK_SANITIZE STREQUAL "")
  message(FATAL_ERROR "AIRLOCK_SANITIZE must be empty, \"address,undefined\" or \"thread\", not \"${AIRLOCK_SANITIZE}\"")
endif()
if(AIRLOCK_SANITIZE_FLAGS)
  # g++ 12 with sanitizers reports false -Wmaybe-uninitialized inside <regex> and
  # std::function (instrumentation changes what the optimizer sees); the normal build keeps it.
  add_compile_options(-Wno-maybe-uninitialized)
  add_compile_options(${AIRLOCK_SANITIZE_FLAGS})
  add_link_options(${AIRLOCK_SANITIZE_FLAGS})
endif()

# The code the spawner's CLONE_VM child runs between clone and exec, in the host's memory
# and on its own stack: instrumented code there would write ASan's shadow and TSan's state
# for the host (or report the child's private stack as a bad access). These files hold only
# that child-side code, and it calls nothing but raw system calls.
set(AIRLOCK_CHILD_SIDE_SOURCES
  airlock_host_spawn host/src/spawn/child_launch.cpp
  airlock_host_spawn host/src/spawn/child_steps.cpp
  airlock_host_spawn host/src/spawn/child_namespaces.cpp
  airlock_host_spawn host/src/spawn/child_pid_namespace.cpp
  airlock_host_sandbox host/src/sandbox/child_confinement.cpp
  airlock_host_sandbox host/src/sandbox/direct_clone.cpp
  airlock-pid-init host/src/spawn/pid_init.cpp)

# The programs tests and examples start as confined plugins. They stay uninstrumented in a
# sanitizer build: ASan cannot reserve its shadow under their RLIMIT_AS, its runtime cannot
# link a static PIE, LeakSanitizer's ptrace hangs under seccomp, UBSan's vptr check calls
# pipe2 (a violation), and a test that measures a memory limit must measure the plugin, not
# the sanitizer. They link the uninstrumented copies of the libraries below.
set(AIRLOCK_CONFINED_PROGRAMS
  example_hello example_grep example_checksum example_journal example_intruder
  airlock-spawn-probe airlock-test-plugin airlock-ruleset-probe airlock-ruleset-probe-static
  airlock-sdk-test-plugin airlock-lockdown-test-plugin airlock-supervised-plugin airlock-pid-init
  airlock_sandbox_probe config_profile_probe airlock-e2e-attempt
  example_hello_c airlock-c-grants-test-plugin airlock-e2e-word-count airlock-e2e-redteam)

# The libraries confined programs link (airlock::<name>); each gets an uninstrumented copy
# airlock_<name>_uninstrumented (the C plugin SDK sits on the C API, which sits on the
# connection library).
set(AIRLOCK_UNINSTRUMENTED_LIBRARIES connection plugin lwmsg plugin_c)

# Replaces, in list `var`, each airlock::<name> by its uninstrumented copy.
function(airlock_use_uninstrumented var)
  set(value "${${var}}")
  foreach(name IN LISTS AIRLOCK_UNINSTRUMENTED_LIBRARIES)
    list(TRANSFORM value REPLACE "^airlock::${name}$" airlock_${name}_uninstrumented)
  endforeach()
  set(${var} "${value}" PARENT_SCOPE)
endfunction()

# An uninstrumented copy of library `original` (same sources, includes and links).
function(airlock_uninstrumented_copy original copy)
  get_target_property(source_dir ${original} SOURCE_DIR)
  get_target_property(sources ${original} SOURCES)
  list(TRANSFORM sources PREPEND "${source_dir}/" REGEX "^[^/$]")
  add_library(${copy} STATIC ${sources})
  foreach(property INCLUDE_DIRECTORIES INTERFACE_INCLUDE_DIRECTORIES COMPILE_DEFINITIONS
                   INTERFACE_COMPILE_DEFINITIONS LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    get_target_property(value ${original} ${property})
    if(value)
      airlock_use_uninstrumented(value)
      set_property(TARGET ${copy} PROPERTY ${property} "${value}")
    endif()
  endforeach()
  target_compile_options(${copy} PRIVATE -fno-sanitize=all)
endfunction()

# Called at the end of the top-level CMakeLists.txt, once every target exists.
function(airlock_build_confined_uninstrumented)
  if(NOT AIRLOCK_SANITIZE_FLAGS)
    return()
  endif()
  list(LENGTH AIRLOCK_CHILD_SIDE_SOURCES count)
  math(EXPR last "${count} - 1")
  foreach(index RANGE 0 ${last} 2)
    math(EXPR next "${index} + 1")
    list(GET AIRLOCK_CHILD_SIDE_SOURCES ${index} target)
    list(GET AIRLOCK_CHILD_SIDE_SOURCES ${next} source)
    if(TARGET ${target})
      set_property(SOURCE ${PROJECT_SOURCE_DIR}/${source} TARGET_DIRECTORY ${target}
                   APPEND PROPERTY COMPILE_OPTIONS -fno-sanitize=all)
      if(AIRLOCK_SANITIZE STREQUAL "thread")
        set_property(SOURCE ${PROJECT_SOURCE_DIR}/${source} TARGET_DIRECTORY ${target}
                     APPEND PROPERTY COMPILE_DEFINITIONS AIRLOCK_TSAN_BUILD=1)
      endif()
      get_filename_component(name ${source} NAME)
      list(APPEND child_objects "$<FILTER:$<TARGET_OBJECTS:${target}>,INCLUDE,/${name}\\.o$>")
    endif()
  endforeach()
  list(JOIN child_objects "," child_objects)
  add_test(NAME "build: the spawner's child side calls no sanitizer runtime"
           COMMAND ${CMAKE_COMMAND} "-DOBJECTS=${child_objects}"
                   -P ${PROJECT_SOURCE_DIR}/cmake/check_uninstrumented.cmake)

  foreach(name IN LISTS AIRLOCK_UNINSTRUMENTED_LIBRARIES)
    if(TARGET airlock_${name})
      airlock_uninstrumented_copy(airlock_${name} airlock_${name}_uninstrumented)
    endif()
  endforeach()
  foreach(program IN LISTS AIRLOCK_CONFINED_PROGRAMS)
    if(NOT TARGET ${program})
      continue()
    endif()
    target_compile_options(${program} PRIVATE -fno-sanitize=all)
    target_link_options(${program} PRIVATE -fno-sanitize=all)
    get_target_property(libraries ${program} LINK_LIBRARIES)
    if(libraries)
      airlock_use_uninstrumented(libraries)
      set_property(TARGET ${program} PROPERTY LINK_LIBRARIES "${libraries}")
    endif()
  endforeach()
endfunction()
