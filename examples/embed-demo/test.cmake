# The embed-demo test (tests/examples/test_embed_demo.cpp): runs the real binary and checks its
# output and exit status. Included from tests/examples/CMakeLists.txt.
if(TARGET example_embed_demo)
  add_executable(airlock_embed_demo_test ${PROJECT_SOURCE_DIR}/tests/examples/test_embed_demo.cpp)
  target_link_libraries(airlock_embed_demo_test PRIVATE Catch2::Catch2WithMain)
  target_compile_definitions(airlock_embed_demo_test PRIVATE AIRLOCK_EMBED_DEMO_EXE="$<TARGET_FILE:example_embed_demo>")
  add_dependencies(airlock_embed_demo_test example_embed_demo)
  airlock_discover_tests(airlock_embed_demo_test "example: ")
endif()
