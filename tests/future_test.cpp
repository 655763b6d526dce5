#include "vow/future.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "future_counted.hpp"
#include "race.hpp"
#include "vow/errors.hpp"
#include "vow/inline_executor.hpp"
#include "vow/manual_executor.hpp"
#include "vow/promise.hpp"
#include "vow/thread_pool.hpp"

namespace {

using namespace std::chrono_literals;
using vow::future;
using vow::manual_executor;
using vow::promise;
using vow::result;
using vow::thread_pool;
using vow_test::count_calls;
using vow_test::counters;
using vow_test::holds_error;
using vow_test::make_counted;
using vow_test::unobserved_errors;

constexpr int long_chain = 100'000;

// ---------------------------------------------------------------------------
// Ready and exceptional futures, get, move-only values

TEST(future, make_ready_future_is_ready_and_holds_its_value) {
    auto f = vow::make_ready_future(42);
    static_assert(std::is_same_v<decltype(f), future<int>>);
    EXPECT_TRUE(f.valid());
    EXPECT_TRUE(f.is_ready());
    EXPECT_FALSE(f.is_cancelled());
    EXPECT_EQ(f.get(), 42);
}

TEST(future, make_ready_future_of_void_is_ready) {
    future<void> f = vow::make_ready_future();
    EXPECT_TRUE(f.is_ready());
    EXPECT_NO_THROW(f.get());
}

TEST(future, make_ready_future_decays_its_argument) {
    const std::string s = "abc";
    auto f = vow::make_ready_future(s);
    static_assert(std::is_same_v<decltype(f), future<std::string>>);
    EXPECT_EQ(f.get(), "abc");
}

TEST(future, make_exceptional_future_from_an_exception_rethrows_it_from_get) {
    auto f = vow::make_exceptional_future<int>(std::runtime_error("boom"));
    EXPECT_TRUE(f.is_ready());
    try {
        f.get();
        FAIL() << "get() did not throw";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "boom");
    }
}

TEST(future, make_exceptional_future_from_an_exception_ptr_rethrows_it_from_get) {
    auto f = vow::make_exceptional_future<void>(std::make_exception_ptr(vow::timeout_error("late")));
    EXPECT_THROW(f.get(), vow::timeout_error);
}

TEST(future, get_consumes_the_future) {
    auto f = vow::make_ready_future(1);
    EXPECT_EQ(f.get(), 1);
    EXPECT_FALSE(f.valid());
    EXPECT_THROW(f.get(), vow::usage_error);
    EXPECT_THROW((void)f.is_ready(), vow::usage_error);
}

TEST(future, get_result_returns_the_error_without_throwing) {
    auto f = vow::make_exceptional_future<int>(std::logic_error("bad"));
    result<int> r = f.get_result();
    EXPECT_FALSE(f.valid());
    EXPECT_TRUE(holds_error<std::logic_error>(r));
}

TEST(future, a_default_constructed_future_is_invalid_and_its_use_throws_usage_error) {
    future<int> f;
    EXPECT_FALSE(f.valid());
    EXPECT_THROW(f.get(), vow::usage_error);
    EXPECT_THROW(f.wait(), vow::usage_error);
    EXPECT_THROW(std::move(f).then([](int v) { return v; }), vow::usage_error);
    EXPECT_NO_THROW(f.cancel());
    EXPECT_FALSE(f.is_cancelled());
}

TEST(future, a_moved_from_future_is_invalid) {
    auto f = vow::make_ready_future(3);
    future<int> g = std::move(f);
    EXPECT_FALSE(f.valid());  // NOLINT(bugprone-use-after-move): the point of the test
    EXPECT_EQ(g.get(), 3);
}

TEST(future, a_move_only_value_comes_out_of_get) {
    auto f = vow::make_ready_future(std::make_unique<int>(7));
    std::unique_ptr<int> p = f.get();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 7);
}

TEST(future, a_move_only_value_travels_through_then_without_copies) {
    promise<std::unique_ptr<int>> p;
    auto f = p.get_future()
                 .then([](std::unique_ptr<int> v) {
                     *v += 1;
                     return v;
                 })
                 .then([](std::unique_ptr<int> v) { return std::make_unique<int>(*v * 10); });
    p.set_value(std::make_unique<int>(4));
    EXPECT_EQ(*f.get(), 50);
}

// ---------------------------------------------------------------------------
// then, then_result, recover, unwrapping

TEST(future, then_passes_the_value_to_f_and_returns_a_future_of_its_result) {
    promise<int> p;
    auto f = p.get_future().then([](int v) { return std::to_string(v * 2); });
    static_assert(std::is_same_v<decltype(f), future<std::string>>);
    EXPECT_FALSE(f.is_ready());
    p.set_value(21);
    EXPECT_EQ(f.get(), "42");
}

TEST(future, then_on_a_void_future_calls_f_without_arguments) {
    promise<void> p;
    bool called = false;
    auto f = p.get_future().then([&] {
        called = true;
        return 5;
    });
    p.set_value();
    EXPECT_TRUE(called);
    EXPECT_EQ(f.get(), 5);
}

TEST(future, then_with_an_f_returning_void_gives_a_void_future) {
    int seen = 0;
    future<void> f = vow::make_ready_future(9).then([&](int v) { seen = v; });
    EXPECT_NO_THROW(f.get());
    EXPECT_EQ(seen, 9);
}

TEST(future, an_error_skips_f_and_flows_on_to_the_end_of_the_chain) {
    counters first, second;
    promise<int> p;
    auto f = p.get_future()
                 .then(count_calls(first, [](int v) { return v + 1; }))
                 .then(count_calls(second, [](int v) { return v * 2; }))
                 .then_result([](result<int> r) { return holds_error<std::domain_error>(r); });
    p.set_exception(std::domain_error("no"));
    EXPECT_TRUE(f.get());
    EXPECT_TRUE(first.destroyed_unrun());
    EXPECT_TRUE(second.destroyed_unrun());
}

TEST(future, an_exception_thrown_by_f_becomes_the_error_of_the_returned_future) {
    auto f = vow::make_ready_future(1).then([](int) -> int { throw std::out_of_range("oops"); });
    EXPECT_THROW(f.get(), std::out_of_range);
}

TEST(future, a_future_returned_by_f_is_unwrapped) {
    promise<int> inner;
    auto f = vow::make_ready_future(2).then([&](int v) {
        return inner.get_future().then([v](int w) { return v + w; });
    });
    static_assert(std::is_same_v<decltype(f), future<int>>);
    EXPECT_FALSE(f.is_ready());
    inner.set_value(40);
    EXPECT_EQ(f.get(), 42);
}

TEST(future, a_failed_future_returned_by_f_is_unwrapped_into_an_error) {
    auto f = vow::make_ready_future().then(
        [] { return vow::make_exceptional_future<int>(std::runtime_error("inner")); });
    EXPECT_THROW(f.get(), std::runtime_error);
}

TEST(future, an_invalid_future_returned_by_f_becomes_broken_promise) {
    auto f = vow::make_ready_future().then([] { return future<int>(); });
    EXPECT_THROW(f.get(), vow::broken_promise);
}

TEST(future, then_result_sees_values_and_errors_alike) {
    auto ok = vow::make_ready_future(3).then_result([](result<int> r) { return r.value() + 1; });
    EXPECT_EQ(ok.get(), 4);
    counters c;
    auto bad = vow::make_exceptional_future<int>(std::runtime_error("x"))
                   .then_result(count_calls(c, [](result<int> r) { return r.has_exception(); }));
    EXPECT_TRUE(bad.get());
    EXPECT_TRUE(c.ran_once());
}

TEST(future, then_result_on_a_void_future_receives_a_result_of_void) {
    auto f = vow::make_exceptional_future<void>(std::runtime_error("x")).then_result([](result<void> r) {
        return holds_error<std::runtime_error>(r);
    });
    EXPECT_TRUE(f.get());
}

TEST(future, recover_replaces_an_error_of_the_given_type) {
    auto f = vow::make_exceptional_future<int>(vow::timeout_error("slow"))
                 .recover<vow::timeout_error>([](const vow::timeout_error& e) {
                     return std::string(e.what()) == "slow" ? -1 : -2;
                 });
    EXPECT_EQ(f.get(), -1);
}

TEST(future, recover_matches_a_base_class_of_the_error) {
    auto f = vow::make_exceptional_future<int>(vow::broken_promise())
                 .recover<vow::error>([](const vow::error&) { return 0; });
    EXPECT_EQ(f.get(), 0);
}

TEST(future, recover_lets_other_errors_flow_on) {
    counters c;
    auto f = vow::make_exceptional_future<int>(std::runtime_error("other"))
                 .recover<vow::timeout_error>(count_calls(c, [](const vow::timeout_error&) { return 0; }));
    EXPECT_THROW(f.get(), std::runtime_error);
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(future, recover_leaves_a_value_untouched_and_does_not_call_f) {
    counters c;
    auto f = vow::make_ready_future(8).recover<std::exception>(
        count_calls(c, [](const std::exception&) { return 0; }));
    EXPECT_EQ(f.get(), 8);
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(future, recover_works_on_a_void_future) {
    bool handled = false;
    future<void> f = vow::make_exceptional_future<void>(vow::broken_promise())
                         .recover<vow::broken_promise>([&](const vow::broken_promise&) { handled = true; });
    EXPECT_NO_THROW(f.get());
    EXPECT_TRUE(handled);
}

// ---------------------------------------------------------------------------
// Executors: submit, bound executor, then(ex, f), then_inline, via

TEST(future, a_promise_future_is_bound_to_the_inline_executor) {
    promise<int> p;
    auto f = p.get_future();
    EXPECT_EQ(&f.bound_executor(), &vow::inline_executor::instance());
}

TEST(future, submit_binds_its_future_to_the_executor_and_nothing_runs_until_the_executor_does) {
    manual_executor ex;
    counters task, cont;
    auto f = vow::submit(ex, count_calls(task, [] { return 20; }));
    EXPECT_EQ(&f.bound_executor(), &ex);
    bool on_ex = false;
    auto g = std::move(f).then(count_calls(cont, [&](int v) {
        on_ex = ex.running_in_this_thread();
        return v + 1;
    }));
    EXPECT_EQ(ex.pending(), 1u);
    EXPECT_EQ(task.runs.load(), 0);
    EXPECT_FALSE(g.is_ready());

    EXPECT_TRUE(ex.run_one());  // the task; its continuation is queued, not run
    EXPECT_TRUE(task.ran_once());
    EXPECT_EQ(cont.runs.load(), 0);
    EXPECT_FALSE(g.is_ready());
    EXPECT_EQ(ex.pending(), 1u);

    EXPECT_TRUE(ex.run_one());
    EXPECT_TRUE(cont.ran_once());
    EXPECT_TRUE(on_ex);
    EXPECT_EQ(g.get(), 21);
}

TEST(future, then_on_a_ready_submit_future_still_waits_for_its_executor) {
    manual_executor ex;
    auto f = vow::submit(ex, [] { return 1; });
    ex.run_all();
    ASSERT_TRUE(f.is_ready());
    bool called = false;
    auto g = std::move(f).then([&](int v) {
        called = true;
        return v;
    });
    EXPECT_FALSE(called);
    EXPECT_EQ(ex.pending(), 1u);
    ex.run_all();
    EXPECT_TRUE(called);
    EXPECT_EQ(g.get(), 1);
}

TEST(future, submit_passes_a_stop_token_when_f_takes_one) {
    manual_executor ex;
    bool got_token = false;
    auto f = vow::submit(ex, [&](std::stop_token st) {
        got_token = st.stop_possible() && !st.stop_requested();
        return 3;
    });
    ex.run_all();
    EXPECT_TRUE(got_token);
    EXPECT_EQ(f.get(), 3);
}

TEST(future, submit_of_a_void_task_gives_a_void_future) {
    manual_executor ex;
    bool ran = false;
    future<void> f = vow::submit(ex, [&] { ran = true; });
    ex.run_all();
    EXPECT_TRUE(ran);
    EXPECT_NO_THROW(f.get());
}

TEST(future, submit_unwraps_a_future_returned_by_the_task) {
    manual_executor ex;
    promise<int> inner;
    auto f = vow::submit(ex, [&] { return inner.get_future(); });
    static_assert(std::is_same_v<decltype(f), future<int>>);
    ex.run_all();
    EXPECT_FALSE(f.is_ready());
    inner.set_value(11);
    EXPECT_EQ(f.get(), 11);
}

TEST(future, submit_accepts_an_lvalue_callable_and_copies_it) {
    manual_executor ex;
    int calls = 0;
    auto task = [&calls] { return ++calls; };
    auto a = vow::submit(ex, task);
    const auto& const_task = task;
    auto b = vow::submit(ex, const_task);
    ex.run_all();
    EXPECT_EQ(a.get() + b.get(), 3);
}

TEST(future, an_exception_thrown_by_a_submitted_task_becomes_the_error) {
    manual_executor ex;
    auto f = vow::submit(ex, []() -> int { throw std::invalid_argument("arg"); });
    ex.run_all();
    EXPECT_THROW(f.get(), std::invalid_argument);
}

TEST(future, submit_runs_the_task_on_a_pool_worker) {
    thread_pool pool(2, "ft");
    auto f = vow::submit(pool, [&] { return pool.running_in_this_thread(); });
    EXPECT_TRUE(f.get());
}

TEST(future, then_with_an_executor_runs_f_on_that_executor) {
    manual_executor bound, other;
    auto f = vow::submit(bound, [] { return 2; });
    bool on_other = false, on_bound = true;
    auto g = std::move(f).then(other, [&](int v) {
        on_other = other.running_in_this_thread();
        on_bound = bound.running_in_this_thread();
        return v * 3;
    });
    EXPECT_EQ(&g.bound_executor(), &other);
    bound.run_until_idle();
    EXPECT_FALSE(g.is_ready());
    EXPECT_EQ(other.pending(), 1u);
    other.run_until_idle();
    EXPECT_TRUE(on_other);
    EXPECT_FALSE(on_bound);
    EXPECT_EQ(g.get(), 6);
}

TEST(future, then_result_with_an_executor_runs_f_on_that_executor) {
    manual_executor ex;
    bool on_ex = false;
    auto g = vow::make_ready_future(1).then_result(ex, [&](result<int> r) {
        on_ex = ex.running_in_this_thread();
        return r.value();
    });
    EXPECT_FALSE(g.is_ready());
    ex.run_all();
    EXPECT_TRUE(on_ex);
    EXPECT_EQ(g.get(), 1);
}

TEST(future, then_runs_f_on_the_bound_executor_and_not_on_the_thread_that_completed_the_future) {
    manual_executor ex;
    promise<int> p;
    std::thread::id ran_on;
    auto g = p.get_future().via(ex).then([&](int v) {
        ran_on = std::this_thread::get_id();
        return v;
    });
    std::thread producer([&] { p.set_value(5); });
    producer.join();
    EXPECT_FALSE(g.is_ready());  // the producer only queued it
    EXPECT_EQ(ex.run_all(), 1u);
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    EXPECT_EQ(g.get(), 5);
}

TEST(future, then_on_a_pool_future_runs_f_on_a_pool_worker_even_when_already_ready) {
    thread_pool pool(2, "ft");
    auto f = vow::submit(pool, [] { return 1; });
    f.wait();
    std::atomic<bool> on_pool{false};
    std::atomic<bool> on_caller{true};
    const auto caller = std::this_thread::get_id();
    auto g = std::move(f).then([&](int v) {
        on_pool = pool.running_in_this_thread();
        on_caller = std::this_thread::get_id() == caller;
        return v + 1;
    });
    EXPECT_EQ(g.get(), 2);
    EXPECT_TRUE(on_pool.load());
    EXPECT_FALSE(on_caller.load());
}

TEST(future, every_step_of_a_pool_chain_runs_on_the_pool) {
    thread_pool pool(2, "ft");
    std::atomic<int> off_pool{0};
    auto check = [&](int v) {
        if (!pool.running_in_this_thread()) off_pool.fetch_add(1);
        return v + 1;
    };
    auto f = vow::submit(pool, [] { return 0; });
    for (int i = 0; i < 100; ++i) f = std::move(f).then(check);
    EXPECT_EQ(f.get(), 100);
    EXPECT_EQ(off_pool.load(), 0);
}

TEST(future, then_inline_runs_f_on_the_completing_thread_whatever_the_bound_executor) {
    manual_executor ex;
    promise<int> p;
    std::thread::id ran_on;
    auto g = p.get_future().via(ex).then_inline([&](int v) {
        ran_on = std::this_thread::get_id();
        return v;
    });
    std::thread::id producer_id;
    std::thread producer([&] {
        producer_id = std::this_thread::get_id();
        p.set_value(4);
    });
    producer.join();
    EXPECT_EQ(ex.pending(), 0u);
    EXPECT_TRUE(g.is_ready());
    EXPECT_EQ(ran_on, producer_id);
    EXPECT_EQ(g.get(), 4);
}

TEST(future, via_rebinds_the_future_for_what_follows) {
    manual_executor ex;
    auto f = vow::make_ready_future(1).via(ex);
    EXPECT_EQ(&f.bound_executor(), &ex);
    bool called = false;
    auto g = std::move(f).then([&](int v) {
        called = ex.running_in_this_thread();
        return v;
    });
    EXPECT_FALSE(called);
    ex.run_all();
    EXPECT_TRUE(called);
    EXPECT_EQ(g.get(), 1);
}

TEST(future, a_continuation_on_a_shut_down_executor_fails_with_executor_shut_down) {
    manual_executor ex;
    ex.shutdown();
    counters c;
    auto g = vow::make_ready_future(1).then(ex, count_calls(c, [](int v) { return v; }));
    EXPECT_THROW(g.get(), vow::executor_shut_down);
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(future, a_continuation_on_a_shut_down_pool_fails_with_executor_shut_down) {
    thread_pool pool(1, "ft");
    pool.shutdown();
    pool.join();
    counters c;
    promise<int> p;
    auto g = p.get_future().then(pool, count_calls(c, [](int v) { return v; }));
    p.set_value(1);
    EXPECT_THROW(g.get(), vow::executor_shut_down);
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(future, a_queued_continuation_dropped_by_its_executor_fails_with_executor_shut_down) {
    manual_executor ex;
    counters c;
    auto g = vow::make_ready_future(1).then(ex, count_calls(c, [](int v) { return v; }));
    EXPECT_EQ(ex.shutdown(), 1u);
    EXPECT_THROW(g.get(), vow::executor_shut_down);
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(future, submit_to_a_shut_down_pool_fails_the_future_and_does_not_throw) {
    thread_pool pool(1, "ft");
    pool.shutdown();
    counters c;
    future<int> f;
    EXPECT_NO_THROW(f = vow::submit(pool, count_calls(c, [] { return 1; })));
    ASSERT_TRUE(f.valid());
    EXPECT_TRUE(f.is_ready());
    EXPECT_THROW(f.get(), vow::executor_shut_down);
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(future, a_submitted_task_dropped_by_shutdown_fails_its_future_with_executor_shut_down) {
    manual_executor ex;
    counters c;
    auto f = vow::submit(ex, count_calls(c, [] { return 1; }));
    ex.shutdown();
    EXPECT_THROW(f.get(), vow::executor_shut_down);
    EXPECT_TRUE(c.destroyed_unrun());
}

// ---------------------------------------------------------------------------
// add_done_callback

TEST(future, add_done_callback_receives_the_value) {
    promise<int> p;
    auto f = p.get_future();
    int seen = 0;
    f.add_done_callback([&](const result<int>& r) { seen = r.value(); });
    EXPECT_EQ(seen, 0);
    p.set_value(6);
    EXPECT_EQ(seen, 6);
    EXPECT_EQ(f.get(), 6);  // the callback did not consume the value
}

TEST(future, add_done_callback_receives_the_error) {
    promise<void> p;
    auto f = p.get_future();
    bool saw_error = false;
    f.add_done_callback([&](const result<void>& r) { saw_error = holds_error<std::runtime_error>(r); });
    p.set_exception(std::runtime_error("x"));
    EXPECT_TRUE(saw_error);
    EXPECT_THROW(f.get(), std::runtime_error);
}

TEST(future, several_done_callbacks_run_in_the_order_added) {
    promise<int> p;
    auto f = p.get_future();
    std::vector<int> order;
    for (int i = 0; i < 5; ++i) f.add_done_callback([&order, i](const result<int>&) { order.push_back(i); });
    p.set_value(1);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(future, done_callbacks_all_run_before_then_consumes_the_value) {
    manual_executor ex;
    std::vector<std::string> order;
    auto f = vow::submit(ex, [] { return std::make_unique<int>(3); });
    f.add_done_callback([&](const result<std::unique_ptr<int>>& r) {
        order.push_back("cb1:" + std::to_string(*r.value()));
    });
    f.add_done_callback([&](const result<std::unique_ptr<int>>& r) {
        order.push_back("cb2:" + std::to_string(*r.value()));
    });
    auto g = std::move(f).then([&](std::unique_ptr<int> v) {
        order.push_back("then:" + std::to_string(*v));
        return *v;
    });
    ex.run_until_idle();
    EXPECT_EQ(order, (std::vector<std::string>{"cb1:3", "cb2:3", "then:3"}));
    EXPECT_EQ(g.get(), 3);
}

TEST(future, done_callbacks_on_a_pool_run_on_the_pool_before_then_consumes_the_value) {
    thread_pool pool(2, "ft");
    std::latch release{1};
    auto f = vow::submit(pool, [&] {
        release.wait();
        return std::make_unique<int>(5);
    });
    std::atomic<int> callbacks_on_pool{0};
    std::atomic<int> callbacks_seen_value{0};
    for (int i = 0; i < 3; ++i)
        f.add_done_callback([&](const result<std::unique_ptr<int>>& r) {
            if (pool.running_in_this_thread()) callbacks_on_pool.fetch_add(1);
            if (r.value() && *r.value() == 5) callbacks_seen_value.fetch_add(1);
        });
    auto g = std::move(f).then([&](std::unique_ptr<int> v) { return callbacks_seen_value.load() * 10 + *v; });
    release.count_down();
    EXPECT_EQ(g.get(), 35);
    EXPECT_EQ(callbacks_on_pool.load(), 3);
}

TEST(future, done_callbacks_all_run_before_get_returns) {
    thread_pool pool(2, "ft");
    std::latch release{1};
    auto f = vow::submit(pool, [&] {
        release.wait();
        return 1;
    });
    std::atomic<int> ran{0};
    for (int i = 0; i < 4; ++i) f.add_done_callback([&](const result<int>&) { ran.fetch_add(1); });
    release.count_down();
    EXPECT_EQ(f.get(), 1);
    EXPECT_EQ(ran.load(), 4);
}

TEST(future, add_done_callback_on_a_done_inline_future_runs_at_once) {
    auto f = vow::make_ready_future(5);
    int seen = 0;
    f.add_done_callback([&](const result<int>& r) { seen = r.value(); });
    EXPECT_EQ(seen, 5);
    f.add_done_callback([&](const result<int>& r) { seen += r.value(); });
    EXPECT_EQ(seen, 10);
}

TEST(future, add_done_callback_on_a_done_future_runs_on_its_bound_executor) {
    manual_executor ex;
    auto f = vow::make_ready_future(5).via(ex);
    bool ran = false, on_ex = false;
    f.add_done_callback([&](const result<int>&) {
        ran = true;
        on_ex = ex.running_in_this_thread();
    });
    EXPECT_FALSE(ran);
    EXPECT_EQ(ex.pending(), 1u);
    ex.run_all();
    EXPECT_TRUE(ran);
    EXPECT_TRUE(on_ex);
    EXPECT_EQ(f.get(), 5);
}

TEST(future, a_done_callback_added_after_completion_runs_before_a_later_then) {
    manual_executor ex;
    auto f = vow::make_ready_future(2).via(ex);
    std::vector<std::string> order;
    f.add_done_callback([&](const result<int>&) { order.push_back("cb"); });
    auto g = std::move(f).then([&](int v) {
        order.push_back("then");
        return v;
    });
    ex.run_until_idle();
    EXPECT_EQ(order, (std::vector<std::string>{"cb", "then"}));
    EXPECT_EQ(g.get(), 2);
}

TEST(future, an_exception_from_a_done_callback_goes_to_the_unobserved_error_handler) {
    unobserved_errors errors;
    promise<int> p;
    auto f = p.get_future();
    bool second_ran = false;
    f.add_done_callback([](const result<int>&) { throw std::length_error("from callback"); });
    f.add_done_callback([&](const result<int>&) { second_ran = true; });
    p.set_value(1);
    EXPECT_TRUE(second_ran);
    EXPECT_EQ(errors.calls(), 1);
    EXPECT_TRUE(errors.last_is<std::length_error>());
    EXPECT_EQ(f.get(), 1);
}

TEST(future, done_callbacks_still_run_when_the_bound_executor_refuses_them) {
    manual_executor ex;
    ex.shutdown();
    auto f = vow::make_ready_future(1).via(ex);
    counters c;
    f.add_done_callback(count_calls(c, [](const result<int>&) {}));
    EXPECT_TRUE(c.ran_once());
}

TEST(future, done_callbacks_run_once_and_are_destroyed_once_also_on_cancel_and_broken_promise) {
    counters on_value, on_cancel, on_broken;
    {
        promise<int> p;
        auto f = p.get_future();
        f.add_done_callback(count_calls(on_value, [](const result<int>& r) { EXPECT_EQ(r.value(), 1); }));
        p.set_value(1);
    }
    {
        promise<int> p;
        auto f = p.get_future();
        f.add_done_callback(count_calls(on_cancel, [](const result<int>& r) { EXPECT_TRUE(r.is_cancelled()); }));
        f.cancel();
        f.cancel();
    }
    {
        future<int> f;
        {
            promise<int> p;
            f = p.get_future();
            f.add_done_callback(count_calls(
                on_broken, [](const result<int>& r) { EXPECT_TRUE(holds_error<vow::broken_promise>(r)); }));
        }
    }
    EXPECT_TRUE(on_value.ran_once());
    EXPECT_TRUE(on_cancel.ran_once());
    EXPECT_TRUE(on_broken.ran_once());
}

// ---------------------------------------------------------------------------
// Blocking waits

TEST(future, wait_for_times_out_on_a_never_fulfilled_promise) {
    promise<int> p;
    auto f = p.get_future();
    EXPECT_FALSE(f.wait_for(1ms));
    EXPECT_FALSE(f.wait_for(0ms));
    EXPECT_FALSE(f.is_ready());
}

TEST(future, wait_until_times_out_on_a_never_fulfilled_promise) {
    promise<int> p;
    auto f = p.get_future();
    EXPECT_FALSE(f.wait_until(std::chrono::steady_clock::now() + 1ms));
    EXPECT_FALSE(f.wait_until(std::chrono::system_clock::now() + 1ms));
    EXPECT_FALSE(f.wait_until(std::chrono::steady_clock::now() - 1h));
}

TEST(future, timed_waits_return_true_on_a_ready_future) {
    auto f = vow::make_ready_future(1);
    EXPECT_TRUE(f.wait_for(0ms));
    EXPECT_TRUE(f.wait_until(std::chrono::steady_clock::now() - 1h));
    EXPECT_EQ(f.get(), 1);
}

TEST(future, a_timed_out_wait_leaves_the_future_usable) {
    promise<int> p;
    auto f = p.get_future();
    EXPECT_FALSE(f.wait_for(1ms));
    p.set_value(3);
    EXPECT_TRUE(f.wait_for(1h));
    EXPECT_EQ(f.get(), 3);
}

TEST(future, a_then_attached_after_a_timed_out_wait_runs_when_the_promise_is_fulfilled) {
    // The timed-out waiter stays in the list under the then's (sealed) node:
    // publish must run both.
    promise<int> p;
    auto f = p.get_future();
    EXPECT_FALSE(f.wait_for(0ms));
    int calls = 0;
    auto g = std::move(f).then([&](int v) {
        ++calls;
        return v * 2;
    });
    p.set_value(4);
    EXPECT_EQ(g.get(), 8);
    EXPECT_EQ(calls, 1);
}

TEST(future, wait_and_get_block_until_another_thread_fulfils_the_promise) {
    promise<int> p;
    auto f = p.get_future();
    std::latch waiting{1};
    std::thread producer([&] {
        waiting.wait();
        p.set_value(8);
    });
    waiting.count_down();
    f.wait();
    EXPECT_TRUE(f.is_ready());
    EXPECT_EQ(f.get(), 8);
    producer.join();
}

TEST(future, get_rethrows_the_stored_exception_with_its_type) {
    promise<int> p;
    auto f = p.get_future();
    std::thread producer([&] { p.set_exception(vow::timeout_error("total")); });
    try {
        f.get();
        ADD_FAILURE() << "get() did not throw";
    } catch (const vow::timeout_error& e) {
        EXPECT_STREQ(e.what(), "total");
    }
    producer.join();
}

TEST(future, get_on_a_one_worker_pool_runs_the_later_queued_task_it_waits_for) {
    thread_pool pool(1, "ft");
    promise<int> p;
    auto needed = p.get_future();
    auto waiter = vow::submit(pool, [&] { return needed.get() + 1; });
    auto fulfiller = vow::submit(pool, [&] { p.set_value(41); });
    EXPECT_EQ(waiter.get(), 42);
    fulfiller.get();
}

TEST(future, get_with_done_callbacks_on_a_one_worker_pool_does_not_deadlock) {
    thread_pool pool(1, "ft");
    promise<int> p;
    auto needed = p.get_future();
    std::atomic<int> callback_ran{0};
    auto waiter = vow::submit(pool, [&] {
        needed.add_done_callback([&](const result<int>&) { callback_ran.fetch_add(1); });
        return needed.get() + callback_ran.load();
    });
    auto fulfiller = vow::submit(pool, [&] { p.set_value(41); });
    EXPECT_EQ(waiter.get(), 42);
    fulfiller.get();
}

TEST(future, get_on_a_one_worker_pool_waits_for_done_callbacks_queued_on_the_same_pool) {
    thread_pool pool(1, "ft");
    std::atomic<int> callback_ran{0};
    auto waiter = vow::submit(pool, [&] {
        auto needed = vow::submit(pool, [] { return 41; });  // queued behind this task
        needed.add_done_callback([&](const result<int>&) { callback_ran.fetch_add(1); });
        return needed.get() + callback_ran.load();
    });
    EXPECT_EQ(waiter.get(), 42);
}

TEST(future, wait_for_on_a_one_worker_pool_runs_queued_work_while_waiting) {
    thread_pool pool(1, "ft");
    promise<int> p;
    auto needed = p.get_future();
    auto waiter = vow::submit(pool, [&] { return needed.wait_for(1h); });
    auto fulfiller = vow::submit(pool, [&] { p.set_value(1); });
    EXPECT_TRUE(waiter.get());
    fulfiller.get();
}

// ---------------------------------------------------------------------------
// Cancellation

TEST(future, cancel_completes_a_pending_future_at_once_with_cancelled_error) {
    promise<int> p;  // a producer that ignores cancellation
    auto f = p.get_future();
    f.cancel();
    EXPECT_TRUE(f.is_ready());
    EXPECT_TRUE(f.is_cancelled());
    EXPECT_THROW(f.get(), vow::cancelled_error);
}

TEST(future, cancel_on_a_done_future_runs_no_hook_and_requests_no_stop) {
    promise<int> p;
    int hooks = 0;
    p.on_cancel([&] { ++hooks; });
    std::stop_token token = p.stop_token();
    future<int> f = p.get_future();
    p.set_value(1);
    f.cancel();
    EXPECT_EQ(hooks, 0);
    EXPECT_FALSE(token.stop_requested());
    EXPECT_FALSE(p.is_cancelled());
    EXPECT_EQ(f.get(), 1);
}

TEST(future, cancel_on_a_done_failed_future_leaves_its_error_to_be_looked_at) {
    promise<int> p;
    future<int> f = p.get_future();
    p.set_exception(std::runtime_error("kept"));
    f.cancel();
    EXPECT_FALSE(f.is_cancelled());
    EXPECT_THROW(f.get(), std::runtime_error);
}

TEST(future, cancel_on_a_done_future_leaves_its_value) {
    auto f = vow::make_ready_future(3);
    f.cancel();
    EXPECT_FALSE(f.is_cancelled());
    EXPECT_EQ(f.get(), 3);
}

TEST(future, cancel_twice_is_harmless) {
    promise<int> p;
    counters hook;
    p.on_cancel(make_counted(hook));
    auto f = p.get_future();
    f.cancel();
    f.cancel();
    EXPECT_EQ(hook.runs.load(), 1);
    EXPECT_THROW(f.get(), vow::cancelled_error);
}

TEST(future, dropping_a_future_does_not_cancel_it) {
    manual_executor ex;
    counters c;
    { auto f = vow::submit(ex, count_calls(c, [] { return 1; })); }
    ex.run_all();
    EXPECT_TRUE(c.ran_once());
}

TEST(future, cancel_skips_a_queued_submit_task) {
    manual_executor ex;
    counters c;
    auto f = vow::submit(ex, count_calls(c, [] { return 1; }));
    f.cancel();
    EXPECT_TRUE(f.is_cancelled());
    EXPECT_EQ(ex.run_all(), 1u);
    EXPECT_TRUE(c.destroyed_unrun());
    EXPECT_THROW(f.get(), vow::cancelled_error);
}

TEST(future, a_running_task_sees_its_stop_token_when_cancelled) {
    thread_pool pool(1, "ft");
    std::latch started{1};
    std::atomic<bool> saw_stop{false};
    auto f = vow::submit(pool, [&](std::stop_token st) {
        started.count_down();
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        saw_stop = cv.wait(lock, st, [] { return false; }) == false && st.stop_requested();
        return 1;
    });
    started.wait();
    f.cancel();
    EXPECT_TRUE(f.is_cancelled());  // at once, while the task may still run
    EXPECT_THROW(f.get(), vow::cancelled_error);
    pool.join();  // the task returns only once it saw the stop request
    EXPECT_TRUE(saw_stop.load());
}

TEST(future, cancel_of_a_then_chain_reaches_the_promise_at_its_head) {
    promise<int> p;
    counters hook, steps;
    p.on_cancel(make_counted(hook));
    auto token = p.stop_token();
    auto tail = p.get_future()
                    .then(count_calls(steps, [](int v) { return v; }))
                    .then([](int v) { return v; })
                    .then_result([](result<int> r) { return r.value(); });
    tail.cancel();
    EXPECT_TRUE(tail.is_cancelled());
    EXPECT_EQ(hook.runs.load(), 1);
    EXPECT_TRUE(p.is_cancelled());
    EXPECT_TRUE(token.stop_requested());
    EXPECT_NO_THROW(p.set_value(1));  // late and harmless
    EXPECT_TRUE(steps.destroyed_unrun());
    EXPECT_THROW(tail.get(), vow::cancelled_error);
}

TEST(future, cancel_of_a_then_chain_skips_the_queued_submit_task_at_its_head) {
    manual_executor ex;
    counters task;
    auto tail = vow::submit(ex, count_calls(task, [] { return 1; })).then([](int v) { return v; });
    tail.cancel();
    ex.run_until_idle();
    EXPECT_TRUE(task.destroyed_unrun());
    EXPECT_THROW(tail.get(), vow::cancelled_error);
}

TEST(future, cancel_skips_a_continuation_that_is_queued_but_not_started) {
    manual_executor ex;
    counters c;
    auto g = vow::make_ready_future(1).then(ex, count_calls(c, [](int v) { return v; }));
    EXPECT_EQ(ex.pending(), 1u);
    g.cancel();
    ex.run_all();
    EXPECT_TRUE(c.destroyed_unrun());
    EXPECT_THROW(g.get(), vow::cancelled_error);
}

TEST(future, cancel_after_f_returned_a_pending_future_reaches_that_future) {
    promise<int> inner;
    counters hook;
    inner.on_cancel(make_counted(hook));
    auto g = vow::make_ready_future().then([&] { return inner.get_future(); });
    ASSERT_FALSE(g.is_ready());
    g.cancel();
    EXPECT_EQ(hook.runs.load(), 1);
    EXPECT_TRUE(inner.is_cancelled());
    EXPECT_THROW(g.get(), vow::cancelled_error);
}

TEST(future, continuations_of_a_cancelled_future_see_cancelled_error) {
    promise<int> p;
    auto f = p.get_future();
    bool callback_saw_cancel = false;
    f.add_done_callback([&](const result<int>& r) { callback_saw_cancel = r.is_cancelled(); });
    f.cancel();
    EXPECT_TRUE(callback_saw_cancel);
    counters skipped;
    auto g = std::move(f)
                 .then(count_calls(skipped, [](int v) { return v; }))
                 .then_result([](result<int> r) { return holds_error<vow::cancelled_error>(r); });
    EXPECT_TRUE(g.get());
    EXPECT_TRUE(skipped.destroyed_unrun());
}

TEST(future, a_cancelled_error_is_a_vow_error) {
    promise<void> p;
    auto f = p.get_future();
    f.cancel();
    EXPECT_THROW(f.get(), vow::error);
}

// ---------------------------------------------------------------------------
// Unobserved errors

TEST(future, a_dropped_failed_future_is_reported_once_to_the_unobserved_error_handler) {
    unobserved_errors errors;
    { auto f = vow::make_exceptional_future<int>(std::runtime_error("lost")); }
    EXPECT_EQ(errors.calls(), 1);
    EXPECT_TRUE(errors.last_is<std::runtime_error>());
}

TEST(future, a_failure_observed_through_get_is_not_reported) {
    unobserved_errors errors;
    {
        auto f = vow::make_exceptional_future<int>(std::runtime_error("seen"));
        EXPECT_THROW(f.get(), std::runtime_error);
    }
    {
        auto f = vow::make_exceptional_future<int>(std::runtime_error("seen"));
        EXPECT_TRUE(f.get_result().has_exception());
    }
    EXPECT_EQ(errors.calls(), 0);
}

TEST(future, a_failure_observed_through_then_result_or_a_done_callback_is_not_reported) {
    unobserved_errors errors;
    {
        auto f = vow::make_exceptional_future<int>(std::runtime_error("seen"))
                     .then_result([](result<int> r) { return r.has_exception(); });
        EXPECT_TRUE(f.get());
    }
    {
        auto f = vow::make_exceptional_future<int>(std::runtime_error("seen"));
        f.add_done_callback([](const result<int>&) {});
    }
    EXPECT_EQ(errors.calls(), 0);
}

TEST(future, an_error_flowing_through_a_dropped_chain_is_reported_once) {
    unobserved_errors errors;
    {
        promise<int> p;
        auto tail = p.get_future().then([](int v) { return v; }).then([](int v) { return v; });
        p.set_exception(std::runtime_error("lost"));
    }
    EXPECT_EQ(errors.calls(), 1);
    EXPECT_TRUE(errors.last_is<std::runtime_error>());
}

TEST(future, a_cancelled_future_is_not_reported) {
    unobserved_errors errors;
    {
        promise<int> p;
        auto f = p.get_future().then([](int v) { return v; });
        f.cancel();
    }
    {
        manual_executor ex;
        auto f = vow::submit(ex, [] { return 1; });
        f.cancel();
        ex.run_all();
    }
    EXPECT_EQ(errors.calls(), 0);
}

TEST(future, the_default_unobserved_error_handler_is_restored) {
    auto* before = vow::set_unobserved_error_handler(nullptr);  // null restores the default
    {
        unobserved_errors errors;
        { auto f = vow::make_exceptional_future<int>(std::runtime_error("x")); }
        EXPECT_EQ(errors.calls(), 1);
    }
    auto* after = vow::set_unobserved_error_handler(before);
    EXPECT_EQ(before, after);
    EXPECT_NE(after, nullptr);
}

// ---------------------------------------------------------------------------
// Lifetime counting of continuations

TEST(future, a_then_callable_runs_once_and_is_destroyed_once) {
    counters c;
    promise<int> p;
    auto g = p.get_future().then(count_calls(c, [](int v) { return v + 1; }));
    EXPECT_EQ(c.runs.load(), 0);
    EXPECT_EQ(c.destroyed.load(), 0);
    p.set_value(1);
    EXPECT_TRUE(c.ran_once());  // destroyed right after its call, not with the future
    EXPECT_EQ(g.get(), 2);
}

TEST(future, a_then_callable_is_destroyed_once_unrun_on_cancel) {
    counters c;
    promise<int> p;
    auto g = p.get_future().then(count_calls(c, [](int v) { return v; }));
    g.cancel();
    EXPECT_TRUE(c.destroyed_unrun());
    p.set_value(1);
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(future, a_then_callable_is_destroyed_once_unrun_on_broken_promise) {
    counters c;
    future<int> g;
    {
        promise<int> p;
        g = p.get_future().then(count_calls(c, [](int v) { return v; }));
        EXPECT_EQ(c.destroyed.load(), 0);
    }
    EXPECT_TRUE(c.destroyed_unrun());
    EXPECT_THROW(g.get(), vow::broken_promise);
}

TEST(future, a_then_callable_is_destroyed_once_when_the_chain_is_dropped_pending) {
    counters c;
    {
        promise<int> p;
        { auto g = p.get_future().then(count_calls(c, [](int v) { return v; })); }
        EXPECT_EQ(c.destroyed.load(), 0);  // dropping a future does not cancel
        p.set_value(1);
    }
    EXPECT_TRUE(c.ran_once());
}

TEST(future, a_then_callable_that_throws_is_destroyed_once) {
    counters c;
    auto g = vow::make_ready_future(1).then(count_calls(c, [](int) -> int { throw std::runtime_error("x"); }));
    EXPECT_TRUE(c.ran_once());
    EXPECT_THROW(g.get(), std::runtime_error);
}

// ---------------------------------------------------------------------------
// Long chains (stack depth)

TEST(future, a_100000_long_chain_of_then_on_ready_futures_does_not_overflow_the_stack) {
    auto f = vow::make_ready_future(0);
    for (int i = 0; i < long_chain; ++i) f = std::move(f).then([](int v) { return v + 1; });
    EXPECT_EQ(f.get(), long_chain);
}

TEST(future, a_100000_long_chain_built_on_a_pending_promise_then_fulfilled_does_not_overflow) {
    promise<int> p;
    auto f = p.get_future();
    for (int i = 0; i < long_chain; ++i) f = std::move(f).then([](int v) { return v + 1; });
    EXPECT_FALSE(f.is_ready());
    p.set_value(0);
    EXPECT_EQ(f.get(), long_chain);
}

TEST(future, a_100000_long_pending_chain_whose_head_fails_does_not_overflow) {
    promise<int> p;
    auto f = p.get_future();
    for (int i = 0; i < long_chain; ++i) f = std::move(f).then([](int v) { return v + 1; });
    p.set_exception(std::runtime_error("head"));
    EXPECT_THROW(f.get(), std::runtime_error);
}

TEST(future, a_100000_long_pending_chain_whose_promise_breaks_does_not_overflow) {
    future<int> f;
    {
        promise<int> p;
        f = p.get_future();
        for (int i = 0; i < long_chain; ++i) f = std::move(f).then([](int v) { return v + 1; });
    }
    EXPECT_THROW(f.get(), vow::broken_promise);
}

TEST(future, a_100000_long_chain_on_a_void_promise_then_fulfilled_does_not_overflow) {
    promise<void> p;
    int steps = 0;
    auto f = p.get_future();
    for (int i = 0; i < long_chain; ++i) f = std::move(f).then([&steps] { ++steps; });
    p.set_value();
    f.get();
    EXPECT_EQ(steps, long_chain);
}

// An asynchronous loop: each step is a task that returns the future of the
// next step, so 100,000 unwrapped futures nest inside each other.
future<int> count_steps(manual_executor* ex, int steps_left) {
    if (steps_left == 0) return vow::make_ready_future(0);
    return vow::submit(*ex, [ex, steps_left] {
        return count_steps(ex, steps_left - 1).then_inline([](int v) { return v; });
    });
}

future<int> count_steps_unwrapped_only(manual_executor* ex, int steps_left) {
    if (steps_left == 0) return vow::make_ready_future(0);
    return vow::submit(*ex, [ex, steps_left] { return count_steps_unwrapped_only(ex, steps_left - 1); });
}

TEST(future, an_asynchronous_loop_of_100000_unwrapped_futures_does_not_overflow) {
    manual_executor ex;
    auto f = count_steps_unwrapped_only(&ex, long_chain);
    ex.run_until_idle();
    EXPECT_EQ(f.get(), 0);
    auto g = count_steps(&ex, long_chain);
    ex.run_until_idle();
    EXPECT_EQ(g.get(), 0);
}

TEST(future, cancelling_the_tail_of_a_100000_long_chain_reaches_the_head_promise) {
    promise<int> p;
    counters hook;
    p.on_cancel(make_counted(hook));
    auto f = p.get_future();
    for (int i = 0; i < long_chain; ++i) f = std::move(f).then([](int v) { return v + 1; });
    f.cancel();
    EXPECT_EQ(hook.runs.load(), 1);
    EXPECT_TRUE(p.is_cancelled());
    EXPECT_THROW(f.get(), vow::cancelled_error);
}

// ---------------------------------------------------------------------------
// Races, hammered from two threads (run these under TSan)

constexpr int rounds = 5'000;

TEST(future_race, set_value_races_with_then) {
    std::optional<promise<int>> p;
    future<int> f, g;
    std::optional<counters> c;
    vow_test::race(
        rounds,
        [&] {
            g = {};
            c.emplace();
            p.emplace();
            f = p->get_future();
        },
        [&] { p->set_value(1); },
        [&] { g = std::move(f).then(count_calls(*c, [](int v) { return v + 1; })); },
        [&] {
            EXPECT_EQ(g.get(), 2);
            EXPECT_TRUE(c->ran_once());
        });
}

TEST(future_race, set_value_races_with_then_on_a_pool) {
    thread_pool pool(2, "ft");
    std::optional<promise<int>> p;
    future<int> f, g;
    std::optional<counters> c;
    vow_test::race(
        rounds,
        [&] {
            g = {};
            c.emplace();
            p.emplace();
            f = p->get_future();
        },
        [&] { p->set_value(1); },
        [&] {
            g = std::move(f).then(pool, count_calls(*c, [&](int v) { return pool.running_in_this_thread() ? v : -1; }));
        },
        [&] {
            EXPECT_EQ(g.get(), 1);
            c->wait_destroyed(1);
            EXPECT_TRUE(c->ran_once());
        });
}

TEST(future_race, set_value_races_with_add_done_callback) {
    std::optional<promise<int>> p;
    future<int> f;
    std::optional<counters> first, second;
    std::atomic<int> sequence{0};
    int first_at = 0, second_at = 0;  // written by whichever thread runs the callbacks
    vow_test::race(
        rounds,
        [&] {
            first.emplace();
            second.emplace();
            sequence = 0;
            first_at = second_at = -1;
            p.emplace();
            f = p->get_future();
        },
        [&] { p->set_value(1); },
        [&] {
            f.add_done_callback(count_calls(*first, [&](const result<int>& r) { first_at = sequence++ + r.value(); }));
            f.add_done_callback(count_calls(*second, [&](const result<int>& r) { second_at = sequence++ + r.value(); }));
        },
        [&] {
            EXPECT_EQ(f.get(), 1);  // waits for the callbacks too
            EXPECT_TRUE(first->ran_once());
            EXPECT_TRUE(second->ran_once());
            EXPECT_EQ(first_at, 1);
            EXPECT_EQ(second_at, 2);
        });
}

TEST(future_race, set_value_races_with_add_done_callback_and_then_on_a_pool) {
    // The callbacks and the consuming continuation run on pool workers: the
    // continuation must still see every callback finished.
    thread_pool pool(3, "ft");
    std::optional<promise<int>> p;
    future<int> f, g;
    std::optional<counters> first, second;
    std::atomic<int> finished{0};
    auto callback = [&](const result<int>& r) {
        int spin = 0;
        for (int i = 0; i < 200; ++i) spin += r.value();
        if (spin == 200) finished.fetch_add(1);
    };
    vow_test::race(
        2'000,
        [&] {
            g = {};
            finished = 0;
            first.emplace();
            second.emplace();
            p.emplace();
            f = p->get_future().via(pool);
            f.add_done_callback(count_calls(*first, callback));
        },
        [&] { p->set_value(1); },
        [&] {
            f.add_done_callback(count_calls(*second, callback));
            g = std::move(f).then([&](int v) { return finished.load() + v; });
        },
        [&] {
            EXPECT_EQ(g.get(), 3);
            first->wait_destroyed(1);
            second->wait_destroyed(1);
            EXPECT_TRUE(first->ran_once());
            EXPECT_TRUE(second->ran_once());
        });
}

TEST(future_race, set_value_races_with_cancel) {
    std::optional<promise<int>> p;
    future<int> f;
    std::optional<counters> hook;
    int values = 0, cancels = 0;
    vow_test::race(
        rounds,
        [&] {
            hook.emplace();
            p.emplace();
            p->on_cancel(make_counted(*hook));
            f = p->get_future();
        },
        [&] { EXPECT_NO_THROW(p->set_value(1)); },
        [&] { f.cancel(); },
        [&] {
            ASSERT_TRUE(f.is_ready());
            const bool cancelled = f.is_cancelled();
            result<int> r = f.get_result();
            if (cancelled) {
                EXPECT_TRUE(r.is_cancelled());
                ++cancels;
            } else {
                EXPECT_EQ(r.value(), 1);
                ++values;
            }
            EXPECT_LE(hook->runs.load(), 1);
            p.reset();
            EXPECT_EQ(hook->destroyed.load(), 1);
        });
    EXPECT_EQ(values + cancels, rounds);
    RecordProperty("rounds_won_by_set_value", values);  // how evenly the race was hit
}

TEST(future_race, set_value_races_with_cancel_of_a_then_chain) {
    std::optional<promise<int>> p;
    future<int> g;
    std::optional<counters> step;
    vow_test::race(
        rounds,
        [&] {
            step.emplace();
            p.emplace();
            g = p->get_future().then(count_calls(*step, [](int v) { return v + 1; }));
        },
        [&] { EXPECT_NO_THROW(p->set_value(1)); },
        [&] { g.cancel(); },
        [&] {
            result<int> r = g.get_result();
            if (r.has_value()) {
                EXPECT_EQ(r.value(), 2);
                EXPECT_EQ(step->runs.load(), 1);
            } else {
                EXPECT_TRUE(r.is_cancelled());
                EXPECT_LE(step->runs.load(), 1);
            }
            p.reset();
            EXPECT_EQ(step->destroyed.load(), 1);
        });
}

TEST(future_race, cancel_and_destruction_of_the_future_race_with_destruction_of_the_promise) {
    std::optional<promise<int>> p;
    future<int> g;
    std::optional<counters> hook, step;
    vow_test::race(
        rounds,
        [&] {
            hook.emplace();
            step.emplace();
            p.emplace();
            p->on_cancel(make_counted(*hook));
            g = p->get_future().then(count_calls(*step, [](int v) { return v; }));
        },
        [&] {
            g.cancel();
            g = {};
        },
        [&] { p.reset(); },  // broken promise
        [&] {
            EXPECT_EQ(step->runs.load(), 0);
            EXPECT_EQ(step->destroyed.load(), 1);
            EXPECT_LE(hook->runs.load(), 1);
            EXPECT_EQ(hook->destroyed.load(), 1);
        });
}

TEST(future_race, cancel_and_destruction_of_the_future_race_with_set_value_and_destruction_of_the_promise) {
    std::optional<promise<int>> p;
    future<int> g;
    std::optional<counters> step;
    vow_test::race(
        rounds,
        [&] {
            step.emplace();
            p.emplace();
            g = p->get_future().then(count_calls(*step, [](int v) { return v; }));
        },
        [&] {
            g.cancel();
            g = {};
        },
        [&] {
            EXPECT_NO_THROW(p->set_value(1));
            p.reset();
        },
        [&] {
            EXPECT_LE(step->runs.load(), 1);
            EXPECT_EQ(step->destroyed.load(), 1);
        });
}

TEST(future_race, cancel_races_with_a_pool_task_finishing) {
    thread_pool pool(1, "ft");
    future<int> f;
    std::optional<counters> task;
    std::latch* started = nullptr;
    std::optional<std::latch> started_storage;
    vow_test::race(
        2'000,
        [&] {
            task.emplace();
            started_storage.emplace(1);
            started = &*started_storage;
            f = vow::submit(pool, count_calls(*task, [started] {
                                started->count_down();
                                return 1;
                            }));
            started->wait();
        },
        [&] { f.cancel(); },
        [&] { (void)0; },
        [&] {
            result<int> r = f.get_result();
            EXPECT_TRUE(r.has_value() ? r.value() == 1 : r.is_cancelled());
            task->wait_destroyed(1);
            EXPECT_TRUE(task->ran_once());
        });
}

TEST(future_race, wait_for_races_with_set_value) {
    std::optional<promise<int>> p;
    future<int> f;
    bool ready = false;
    vow_test::race(
        rounds,
        [&] {
            p.emplace();
            f = p->get_future();
        },
        [&] { ready = f.wait_for(20us); },
        [&] { p->set_value(7); },
        [&] {
            if (ready) {
                EXPECT_TRUE(f.is_ready());
            }
            EXPECT_TRUE(f.wait_for(1h));
            EXPECT_EQ(f.get(), 7);
        });
}

TEST(future_race, wait_races_with_set_value) {
    std::optional<promise<int>> p;
    future<int> f;
    vow_test::race(
        rounds,
        [&] {
            p.emplace();
            f = p->get_future();
        },
        [&] { f.wait(); },
        [&] { p->set_value(7); },
        [&] { EXPECT_EQ(f.get(), 7); });
}

TEST(future_race, get_with_done_callbacks_races_with_set_value) {
    std::optional<promise<int>> p;
    future<int> f;
    std::optional<counters> cb;
    int got = 0;
    vow_test::race(
        rounds,
        [&] {
            cb.emplace();
            p.emplace();
            f = p->get_future();
            f.add_done_callback(count_calls(*cb, [](const result<int>&) {}));
        },
        [&] { got = f.get(); },
        [&] { p->set_value(7); },
        [&] {
            EXPECT_EQ(got, 7);
            EXPECT_TRUE(cb->ran_once());
        });
}

}  // namespace
