# Tests of the combinators: when, time, retry, bounded.
set(VOW_COMBINATOR_TESTS
)
foreach(name IN LISTS VOW_COMBINATOR_TESTS)
  add_executable(${name} ${name}.cpp)
  target_link_libraries(${name} PRIVATE vow::vow vow_warnings GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60)
endforeach()
