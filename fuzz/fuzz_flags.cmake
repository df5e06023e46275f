# Compiler flags of the fuzz build (AIRLOCK_FUZZ=ON), included by the top-level CMakeLists.txt
# before the project's targets are defined, so all of our own code is instrumented for
# coverage (fuzzer-no-link) and checked by AddressSanitizer and UndefinedBehaviorSanitizer.
# Only the fuzz executables link libFuzzer itself (-fsanitize=fuzzer, in fuzz/CMakeLists.txt).
#
# Why clang 16 and libc++ (docs/fuzzing.md, /work/shared/PLATFORM.md): Debian's clang 14
# cannot compile dynamic_value.cpp and grants_section.cpp; clang 16 with libc++ 16 can.
# libc++ 16 dropped type traits Boost 1.74's Asio still uses, hence the define.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
  message(FATAL_ERROR "AIRLOCK_FUZZ needs clang >= 16 (configure with -DCMAKE_CXX_COMPILER=clang++-16; "
                      "scripts/bootstrap fuzz installs it), not ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}")
endif()
add_compile_options(-stdlib=libc++ -D_LIBCPP_ENABLE_CXX20_REMOVED_TYPE_TRAITS
  -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer)
add_link_options(-stdlib=libc++ -fsanitize=address,undefined)

# toml++ header-only: Debian's libtomlplusplus.so is built against libstdc++ and cannot be
# linked into a libc++ program. Defining the imported target first makes the package's own
# config (find_package(tomlplusplus)) keep it. Header-only toml++ 3.3.0 has two known parser
# bugs; fuzz/fuzz_config.cpp skips the inputs that reach them (see there).
add_library(tomlplusplus::tomlplusplus INTERFACE IMPORTED)
target_compile_definitions(tomlplusplus::tomlplusplus INTERFACE TOML_HEADER_ONLY=1)
