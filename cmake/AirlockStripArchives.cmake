# Run by CPack (CPACK_PRE_BUILD_SCRIPTS) on the staged files: the static libraries lose their
# debug information (`strip --strip-debug`, as dh_strip does for a -dev package);
# CPACK_STRIP_FILES strips only the executables.
file(GLOB_RECURSE archives "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*.a")
foreach(archive IN LISTS archives)
  execute_process(COMMAND "${CPACK_AIRLOCK_STRIP}" --strip-debug "${archive}" RESULT_VARIABLE result ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "strip --strip-debug ${archive} failed: ${err}")
  endif()
endforeach()
