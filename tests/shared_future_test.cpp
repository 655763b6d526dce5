#include "vow/shared_future.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "future_counted.hpp"
#include "race.hpp"
#include "vow/errors.hpp"
#include "vow/future.hpp"
#include "vow/manual_executor.hpp"
#include "vow/promise.hpp"
#include "vow/thread_pool.hpp"

namespace {

using namespace std::chrono_literals;
using vow::future;
using vow::manual_executor;
using vow::promise;
using vow::result;
using vow::shared_future;
using vow_test::count_calls;
using vow_test::counters;
using vow_test::holds_error;
using vow_test::unobserved_errors;

static_assert(std::is_copy_constructible_v<shared_future<int>>);
static_assert(std::is_copy_assignable_v<shared_future<int>>);

TEST(shared_future, share_consumes_the_future_and_every_copy_sees_the_value) {
    promise<int> p;
    auto f = p.get_future();
    shared_future<int> a = std::move(f).share();
    EXPECT_FALSE(f.valid());  // NOLINT(bugprone-use-after-move): the point of the test
    shared_future<int> b = a;
    shared_future<int> c;
    c = b;
    EXPECT_FALSE(a.is_ready());
    p.set_value(4);
    EXPECT_EQ(a.get(), 4);
    EXPECT_EQ(b.get(), 4);
    EXPECT_EQ(c.get(), 4);
    EXPECT_EQ(a.get(), 4);  // get() does not consume
    EXPECT_TRUE(a.valid());
}

TEST(shared_future, get_returns_a_const_reference_into_the_shared_state) {
    auto a = vow::make_ready_future(std::string("shared")).share();
    auto b = a;
    static_assert(std::is_same_v<decltype(a.get()), const std::string&>);
    EXPECT_EQ(&a.get(), &b.get());
}

TEST(shared_future, a_move_only_value_is_read_through_a_const_reference) {
    auto a = vow::make_ready_future(std::make_unique<int>(3)).share();
    auto b = a;
    EXPECT_EQ(*a.get(), 3);
    EXPECT_EQ(a.get().get(), b.get().get());
}

TEST(shared_future, a_void_shared_future_completes) {
    promise<void> p;
    auto a = p.get_future().share();
    auto b = a;
    p.set_value();
    EXPECT_NO_THROW(a.get());
    EXPECT_NO_THROW(b.get());
}

TEST(shared_future, get_rethrows_the_error_in_every_copy) {
    promise<int> p;
    auto a = p.get_future().share();
    auto b = a;
    p.set_exception(std::runtime_error("shared failure"));
    EXPECT_THROW(a.get(), std::runtime_error);
    EXPECT_THROW(b.get(), std::runtime_error);
    EXPECT_TRUE(holds_error<std::runtime_error>(a.get_result()));
}

TEST(shared_future, get_from_several_threads_returns_the_same_value_to_each) {
    constexpr int readers = 4;
    promise<std::vector<int>> p;
    shared_future<std::vector<int>> shared = p.get_future().share();
    std::latch ready{readers};
    std::atomic<int> correct{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < readers; ++i)
        threads.emplace_back([&ready, &correct, copy = shared] {
            ready.count_down();
            if (copy.get() == std::vector<int>{1, 2, 3}) correct.fetch_add(1);
        });
    ready.wait();
    p.set_value(std::vector<int>{1, 2, 3});
    for (auto& t : threads) t.join();
    EXPECT_EQ(correct.load(), readers);
}

TEST(shared_future, wait_for_times_out_on_a_never_fulfilled_promise) {
    promise<int> p;
    auto a = p.get_future().share();
    EXPECT_FALSE(a.wait_for(1ms));
    EXPECT_FALSE(a.is_ready());
    p.set_value(1);
    EXPECT_TRUE(a.wait_for(1h));
    a.wait();
}

TEST(shared_future, wait_until_times_out_at_a_past_deadline_and_returns_true_once_done) {
    promise<int> p;
    auto a = p.get_future().share();
    EXPECT_FALSE(a.wait_until(std::chrono::steady_clock::now() + 1ms));
    EXPECT_FALSE(a.wait_until(std::chrono::system_clock::now() - 1h));  // any clock; already past
    p.set_value(1);
    EXPECT_TRUE(a.wait_until(std::chrono::steady_clock::now() + 1h));
    EXPECT_TRUE(a.wait_until(std::chrono::system_clock::now() - 1h));  // done wins over a past deadline
}

TEST(shared_future, copies_wait_until_on_several_threads_at_once) {
    promise<int> p;
    auto a = p.get_future().share();
    constexpr int waiters = 4;
    std::latch started(waiters);
    std::atomic<int> done{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < waiters; ++i) {
        threads.emplace_back([&, copy = a] {
            started.count_down();
            if (copy.wait_until(std::chrono::steady_clock::now() + 1h)) done.fetch_add(1);
        });
    }
    started.wait();
    p.set_value(1);
    for (auto& t : threads) t.join();
    EXPECT_EQ(done.load(), waiters);
}

TEST(shared_future, an_invalid_shared_future_throws_usage_error) {
    shared_future<int> a;
    EXPECT_FALSE(a.valid());
    EXPECT_THROW(a.get(), vow::usage_error);
    EXPECT_THROW(a.then([](const int& v) { return v; }), vow::usage_error);
    future<int> invalid;
    EXPECT_THROW(std::move(invalid).share(), vow::usage_error);
}

TEST(shared_future, then_passes_a_const_reference_to_each_continuation) {
    promise<std::unique_ptr<int>> p;
    auto a = p.get_future().share();
    auto b = a;
    auto fa = a.then([](const std::unique_ptr<int>& v) { return *v + 1; });
    auto fb = b.then([](const std::unique_ptr<int>& v) { return *v + 2; });
    static_assert(std::is_same_v<decltype(fa), future<int>>);
    p.set_value(std::make_unique<int>(10));
    EXPECT_EQ(fa.get(), 11);
    EXPECT_EQ(fb.get(), 12);
    EXPECT_EQ(*a.get(), 10);  // the continuations did not move the value out
}

TEST(shared_future, then_on_a_void_shared_future_calls_f_without_arguments) {
    auto a = vow::make_ready_future().share();
    auto f = a.then([] { return 3; });
    EXPECT_EQ(f.get(), 3);
}

TEST(shared_future, then_unwraps_a_returned_future) {
    promise<int> inner;
    auto a = vow::make_ready_future(1).share();
    auto f = a.then([&](const int& v) { return inner.get_future().then([v](int w) { return v + w; }); });
    static_assert(std::is_same_v<decltype(f), future<int>>);
    inner.set_value(2);
    EXPECT_EQ(f.get(), 3);
}

TEST(shared_future, an_error_skips_f_and_flows_on) {
    counters c;
    auto a = vow::make_exceptional_future<int>(std::runtime_error("x")).share();
    auto f = a.then(count_calls(c, [](const int& v) { return v; }));
    EXPECT_THROW(f.get(), std::runtime_error);
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(shared_future, then_runs_on_the_bound_executor_or_the_given_one) {
    manual_executor bound, other;
    auto a = vow::submit(bound, [] { return 5; }).share();
    bool on_bound = false, on_other = false;
    auto f = a.then([&](const int& v) {
        on_bound = bound.running_in_this_thread();
        return v;
    });
    auto g = a.then(other, [&](const int& v) {
        on_other = other.running_in_this_thread();
        return v;
    });
    bound.run_until_idle();
    EXPECT_TRUE(on_bound);
    EXPECT_FALSE(g.is_ready());
    other.run_until_idle();
    EXPECT_TRUE(on_other);
    EXPECT_EQ(f.get() + g.get(), 10);
}

TEST(shared_future, add_done_callback_runs_each_callback_in_order_on_every_copy) {
    promise<int> p;
    auto a = p.get_future().share();
    auto b = a;
    std::vector<int> order;
    a.add_done_callback([&](const result<int>& r) { order.push_back(r.value()); });
    b.add_done_callback([&](const result<int>& r) { order.push_back(r.value() * 10); });
    p.set_value(1);
    EXPECT_EQ(order, (std::vector<int>{1, 10}));
    counters late;
    a.add_done_callback(count_calls(late, [](const result<int>&) {}));  // done: at once
    EXPECT_TRUE(late.ran_once());
}

// A shared then-continuation on the inline executor runs inside publish, before
// the done-callback node does: the window in which the state is done but its
// callbacks have not been started yet. A callback added from another thread in
// that window must not start a second runner: callbacks run one at a time, in
// the order added.
TEST(shared_future, a_done_callback_added_while_the_result_is_being_published_keeps_the_order) {
    promise<int> p;
    auto shared = p.get_future().share();
    const auto main_thread = std::this_thread::get_id();
    std::mutex m;
    std::vector<int> order;  // guarded by m
    auto record = [&](int i) {
        std::lock_guard lock(m);
        order.push_back(i);
    };
    std::atomic<bool> step{false};  // cb1 started off the main thread, or thread B's add returned
    std::latch release{1};          // lets a cb1 running off the main thread finish
    std::latch b_go{1};

    auto in_window = shared.then([&](const int&) {  // runs inside publish, on this thread
        b_go.count_down();
        step.wait(false);
    });
    shared.add_done_callback([&](const result<int>&) {  // cb1: attaches the callback node
        if (std::this_thread::get_id() != main_thread) {
            step = true;
            step.notify_all();
            release.wait();
        }
        record(1);
    });
    std::thread b([&, copy = shared] {
        b_go.wait();
        copy.add_done_callback([&](const result<int>&) { record(2); });  // cb2, in the window
        step = true;
        step.notify_all();
    });
    p.set_value(1);
    shared.add_done_callback([&](const result<int>&) { record(3); });  // cb3, after publish
    release.count_down();
    b.join();
    in_window.get();
    std::lock_guard lock(m);
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(shared_future, a_dropped_failed_shared_future_is_reported_once) {
    unobserved_errors errors;
    {
        auto a = vow::make_exceptional_future<int>(std::runtime_error("lost")).share();
        auto b = a;
        auto c = b;
    }
    EXPECT_EQ(errors.calls(), 1);
}

TEST(shared_future, a_failure_read_through_one_copy_is_not_reported) {
    unobserved_errors errors;
    {
        auto a = vow::make_exceptional_future<int>(std::runtime_error("seen")).share();
        auto b = a;
        EXPECT_THROW(b.get(), std::runtime_error);
    }
    EXPECT_EQ(errors.calls(), 0);
}

TEST(shared_future_race, copies_chain_and_add_callbacks_while_the_value_is_set) {
    vow::thread_pool pool(2, "sf");
    std::optional<promise<int>> p;
    shared_future<int> a;
    future<int> from_then;
    std::optional<counters> cb, cont;
    vow_test::race(
        5'000,
        [&] {
            cb.emplace();
            cont.emplace();
            p.emplace();
            a = p->get_future().share();
            from_then = {};
        },
        [&] { p->set_value(3); },
        [&] {
            shared_future<int> mine = a;  // each thread uses its own copy
            mine.add_done_callback(count_calls(*cb, [](const result<int>& r) { EXPECT_EQ(r.value(), 3); }));
            from_then = mine.then(pool, count_calls(*cont, [](const int& v) { return v * 2; }));
        },
        [&] {
            EXPECT_EQ(a.get(), 3);
            EXPECT_EQ(from_then.get(), 6);
            EXPECT_TRUE(cb->ran_once());
            EXPECT_TRUE(cont->ran_once());
        });
}

}  // namespace
