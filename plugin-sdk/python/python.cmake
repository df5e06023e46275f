# Finds the Python interpreter that runs Python plugins and the Python SDK's tests:
# Debian's /usr/bin/python3 first (a pyenv or venv `python3` earlier in PATH is not what the
# sandbox gets), else the first python3 in PATH; it must be 3.11 or newer.
#   AIRLOCK_PYTHON3          the interpreter, symbolic links resolved (the host never execs
#                            through a link: docs/sandbox.md "Links"); empty when none fits
#   AIRLOCK_PYTHON_SDK_DIR   the directory holding the airlock_plugin package
# Include it in every directory that needs them (the variables are directory-scoped).

set(AIRLOCK_PYTHON_SDK_DIR ${CMAKE_CURRENT_LIST_DIR})
find_program(AIRLOCK_PYTHON3_PROGRAM NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT AIRLOCK_PYTHON3_PROGRAM)
  find_program(AIRLOCK_PYTHON3_PROGRAM NAMES python3)
endif()
set(AIRLOCK_PYTHON3 "")
if(AIRLOCK_PYTHON3_PROGRAM)
  file(REAL_PATH ${AIRLOCK_PYTHON3_PROGRAM} resolved)
  execute_process(COMMAND ${resolved} -c "import sys; print(sys.version_info >= (3, 11))"
    OUTPUT_VARIABLE recent OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE failed)
  if(NOT failed AND recent STREQUAL "True")
    set(AIRLOCK_PYTHON3 ${resolved})
  endif()
endif()
if(NOT AIRLOCK_PYTHON3)
  message(STATUS "Python plugins: no python3 >= 3.11 found (scripts/bootstrap installs it); "
                 "examples/hello-py and the Python SDK tests are skipped")
endif()
