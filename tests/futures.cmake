# Tests of the futures layer: future, promise, shared_future, coro, interop.
set(VOW_FUTURE_TESTS
  future_test
  promise_test
  shared_future_test
  coro_test
)
foreach(name IN LISTS VOW_FUTURE_TESTS)
  add_executable(${name} ${name}.cpp)
  target_link_libraries(${name} PRIVATE vow::vow vow_warnings GTest::gtest GTest::gtest_main)
  # A hang (a deadlocked wait) must fail the test, not stall the run.
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
endforeach()

# Misuse that must not compile. Each source holds one misuse behind
# VOW_MISUSE: compiled with VOW_MISUSE=1 the test expects the compiler to fail
# (WILL_FAIL); the control compiles the very same file with VOW_MISUSE=0 and
# must succeed, so a misuse test cannot pass because the file is broken in
# some other way (or the compiler cannot run).
set(VOW_COMPILE_FAIL_TESTS
  future_copy
  future_copy_assign
  then_on_lvalue_future
)
foreach(name IN LISTS VOW_COMPILE_FAIL_TESTS)
  set(source ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/${name}.cpp)
  set(compile ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only
              -I${PROJECT_SOURCE_DIR}/include ${source})
  add_test(NAME compile_fail.${name} COMMAND ${compile} -DVOW_MISUSE=1)
  set_tests_properties(compile_fail.${name} PROPERTIES WILL_FAIL TRUE TIMEOUT 120)
  add_test(NAME compile_fail.${name}.control COMMAND ${compile} -DVOW_MISUSE=0)
  set_tests_properties(compile_fail.${name}.control PROPERTIES TIMEOUT 120)
endforeach()

# Boost.Thread interop (vow/interop/boost_thread.hpp), when Boost.Thread is
# installed. One Boost.Thread configuration, as in bench/: version 5.
find_package(Boost 1.81 QUIET COMPONENTS thread CONFIG)
if(Boost_FOUND)
  add_executable(boost_thread_test interop/boost_thread_test.cpp)
  target_link_libraries(boost_thread_test PRIVATE vow::vow vow_warnings Boost::thread
                        GTest::gtest GTest::gtest_main)
  target_compile_definitions(boost_thread_test PRIVATE BOOST_THREAD_VERSION=5)
  gtest_discover_tests(boost_thread_test DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
else()
  message(STATUS "vow: Boost.Thread not found; the interop test is not built")
endif()
