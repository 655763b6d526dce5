# Tests of the extension layer (vow/extend.hpp, and a combinator written on it
# as a user would) and of the combinators: when_*, hedge, timeout and sleep,
# the timer's memory with many pending timeouts, retry, bounded.
set(VOW_COMBINATOR_TESTS
  extend_test
  hedge_test
  own_combinator_test
  when_test
  time_test
  timer_memory_test
  retry_test
  bounded_test
)
foreach(name IN LISTS VOW_COMBINATOR_TESTS)
  add_executable(${name} ${name}.cpp)
  target_link_libraries(${name} PRIVATE vow::vow vow_warnings GTest::gtest GTest::gtest_main)
  # A hang (a future that never completes) must fail the test, not stall the run.
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
endforeach()
