# cmake -DOBJECTS=a.o,b.o -P check_uninstrumented.cmake
# Fails if an object file calls into a sanitizer runtime: the spawner's child side must stay
# uninstrumented (cmake/AirlockBuildChecks.cmake, docs/testing.md).
string(REPLACE "," ";" objects "${OBJECTS}")
if(NOT objects)
  message(FATAL_ERROR "no object files to check")
endif()
foreach(object IN LISTS objects)
  execute_process(COMMAND nm --undefined-only "${object}" RESULT_VARIABLE result
                  OUTPUT_VARIABLE symbols ERROR_VARIABLE error)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "nm failed on ${object}: ${error}")
  endif()
  string(REGEX MATCHALL "__(asan|ubsan|tsan|lsan|sanitizer)[A-Za-z0-9_]*" calls "${symbols}")
  if(calls)
    list(REMOVE_DUPLICATES calls)
    message(FATAL_ERROR "${object} is instrumented (it calls ${calls})")
  endif()
  message(STATUS "${object}: no sanitizer calls")
endforeach()
