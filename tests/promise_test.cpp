#include "vow/promise.hpp"

#include <gtest/gtest.h>

#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "future_counted.hpp"
#include "vow/errors.hpp"
#include "vow/future.hpp"

namespace {

using vow::future;
using vow::promise;
using vow::result;
using vow_test::counters;
using vow_test::holds_error;
using vow_test::make_counted;
using vow_test::unobserved_errors;

TEST(promise, set_value_completes_the_future) {
    promise<int> p;
    auto f = p.get_future();
    EXPECT_FALSE(f.is_ready());
    p.set_value(5);
    EXPECT_TRUE(f.is_ready());
    EXPECT_EQ(f.get(), 5);
}

TEST(promise, set_value_constructs_the_value_in_place_from_several_arguments) {
    promise<std::string> p;
    auto f = p.get_future();
    p.set_value(3, 'x');
    EXPECT_EQ(f.get(), "xxx");
}

TEST(promise, a_void_promise_completes_with_set_value_without_arguments) {
    promise<void> p;
    auto f = p.get_future();
    p.set_value();
    EXPECT_NO_THROW(f.get());
}

TEST(promise, a_move_only_value_is_handed_over) {
    promise<std::unique_ptr<int>> p;
    auto f = p.get_future();
    p.set_value(std::make_unique<int>(9));
    EXPECT_EQ(*f.get(), 9);
}

TEST(promise, set_exception_makes_get_rethrow) {
    promise<int> p;
    auto f = p.get_future();
    p.set_exception(std::overflow_error("big"));
    EXPECT_THROW(f.get(), std::overflow_error);
}

TEST(promise, set_exception_accepts_an_exception_ptr) {
    promise<void> p;
    auto f = p.get_future();
    p.set_exception(std::make_exception_ptr(vow::timeout_error()));
    EXPECT_THROW(f.get(), vow::timeout_error);
}

TEST(promise, set_result_completes_with_a_value_or_an_error) {
    promise<int> a, b;
    auto fa = a.get_future();
    auto fb = b.get_future();
    a.set_result(result<int>(4));
    b.set_result(result<int>(std::make_exception_ptr(std::runtime_error("r"))));
    EXPECT_EQ(fa.get(), 4);
    EXPECT_THROW(fb.get(), std::runtime_error);
}

TEST(promise, a_value_whose_construction_throws_becomes_the_error) {
    struct picky {
        explicit picky(int v) {
            if (v < 0) throw std::invalid_argument("negative");
        }
    };
    promise<picky> p;
    auto f = p.get_future();
    EXPECT_NO_THROW(p.set_value(-1));
    EXPECT_THROW(f.get(), std::invalid_argument);
}

TEST(promise, get_future_twice_throws_usage_error) {
    promise<int> p;
    auto f = p.get_future();
    EXPECT_THROW(p.get_future(), vow::usage_error);
}

TEST(promise, set_value_twice_throws_usage_error) {
    promise<int> p;
    auto f = p.get_future();
    p.set_value(1);
    EXPECT_THROW(p.set_value(2), vow::usage_error);
    EXPECT_THROW(p.set_exception(std::runtime_error("late")), vow::usage_error);
    EXPECT_THROW(p.set_result(result<int>(3)), vow::usage_error);
    EXPECT_EQ(f.get(), 1);
}

TEST(promise, set_exception_then_set_value_throws_usage_error) {
    promise<void> p;
    auto f = p.get_future();
    p.set_exception(std::runtime_error("first"));
    EXPECT_THROW(p.set_value(), vow::usage_error);
    EXPECT_THROW(f.get(), std::runtime_error);
}

TEST(promise, set_value_after_cancel_is_harmless) {
    promise<int> p;
    auto f = p.get_future();
    f.cancel();
    EXPECT_NO_THROW(p.set_value(1));
    EXPECT_NO_THROW(p.set_exception(std::runtime_error("late")));
    EXPECT_NO_THROW(p.set_result(result<int>(2)));
    EXPECT_THROW(f.get(), vow::cancelled_error);
}

TEST(promise, a_promise_destroyed_unfulfilled_breaks_its_future) {
    future<int> f;
    {
        promise<int> p;
        f = p.get_future();
    }
    EXPECT_TRUE(f.is_ready());
    EXPECT_THROW(f.get(), vow::broken_promise);
}

TEST(promise, a_broken_promise_is_a_vow_error) {
    future<void> f;
    { f = promise<void>().get_future(); }
    EXPECT_THROW(f.get(), vow::error);
}

TEST(promise, a_promise_destroyed_without_its_future_retrieved_reports_nothing) {
    unobserved_errors errors;
    { promise<int> p; }
    EXPECT_EQ(errors.calls(), 0);
}

TEST(promise, move_assigning_over_an_unfulfilled_promise_breaks_its_future) {
    promise<int> p;
    auto old_future = p.get_future();
    promise<int> q;
    auto new_future = q.get_future();
    p = std::move(q);
    EXPECT_THROW(old_future.get(), vow::broken_promise);
    p.set_value(3);
    EXPECT_EQ(new_future.get(), 3);
}

TEST(promise, a_moved_promise_keeps_its_future_and_the_moved_from_one_throws_usage_error) {
    promise<int> p;
    auto f = p.get_future();
    promise<int> q = std::move(p);
    EXPECT_FALSE(p.valid());  // NOLINT(bugprone-use-after-move): the point of the test
    EXPECT_THROW(p.set_value(1), vow::usage_error);
    EXPECT_THROW(p.get_future(), vow::usage_error);
    q.set_value(2);
    EXPECT_EQ(f.get(), 2);
}

TEST(promise, a_fulfilled_promise_moved_elsewhere_still_refuses_a_second_value) {
    promise<int> p;
    auto f = p.get_future();
    p.set_value(1);
    promise<int> q = std::move(p);
    EXPECT_THROW(q.set_value(2), vow::usage_error);
    promise<int> r;
    r = std::move(q);
    EXPECT_THROW(r.set_exception(std::runtime_error("late")), vow::usage_error);
    EXPECT_EQ(f.get(), 1);
}

TEST(promise, set_value_from_another_thread_wakes_a_blocked_get) {
    promise<int> p;
    auto f = p.get_future();
    std::latch go{1};
    std::thread producer([&] {
        go.wait();
        p.set_value(12);
    });
    go.count_down();
    EXPECT_EQ(f.get(), 12);
    producer.join();
}

// ---------------------------------------------------------------------------
// Cancellation as the producer sees it

TEST(promise, is_cancelled_reflects_a_cancel_of_the_future) {
    promise<int> p;
    auto f = p.get_future();
    EXPECT_FALSE(p.is_cancelled());
    f.cancel();
    EXPECT_TRUE(p.is_cancelled());
}

TEST(promise, on_cancel_runs_once_on_the_cancelling_thread) {
    promise<int> p;
    auto f = p.get_future();
    counters c;
    std::thread::id ran_on;
    p.on_cancel(make_counted(c, [&] { ran_on = std::this_thread::get_id(); }));
    EXPECT_EQ(c.runs.load(), 0);
    std::thread::id canceller;
    std::thread t([&] {
        canceller = std::this_thread::get_id();
        f.cancel();
        f.cancel();
    });
    t.join();
    EXPECT_TRUE(c.ran_once());
    EXPECT_EQ(ran_on, canceller);
}

TEST(promise, on_cancel_after_the_cancel_runs_at_once) {
    promise<int> p;
    auto f = p.get_future();
    f.cancel();
    counters c;
    p.on_cancel(make_counted(c));
    EXPECT_TRUE(c.ran_once());
}

TEST(promise, several_on_cancel_hooks_all_run) {
    promise<int> p;
    auto f = p.get_future();
    counters a, b;
    p.on_cancel(make_counted(a));
    p.on_cancel(make_counted(b));
    f.cancel();
    EXPECT_TRUE(a.ran_once());
    EXPECT_TRUE(b.ran_once());
}

TEST(promise, an_on_cancel_hook_is_destroyed_once_unrun_when_no_cancel_comes) {
    counters c;
    {
        promise<int> p;
        auto f = p.get_future();
        p.on_cancel(make_counted(c));
        p.set_value(1);
        EXPECT_EQ(f.get(), 1);
        EXPECT_EQ(c.runs.load(), 0);
    }
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(promise, an_on_cancel_hook_is_destroyed_once_unrun_on_broken_promise) {
    counters c;
    future<int> f;
    {
        promise<int> p;
        f = p.get_future();
        p.on_cancel(make_counted(c));
    }
    EXPECT_THROW(f.get(), vow::broken_promise);
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(promise, an_exception_from_an_on_cancel_hook_goes_to_the_unobserved_error_handler) {
    unobserved_errors errors;
    promise<int> p;
    auto f = p.get_future();
    p.on_cancel([] { throw std::runtime_error("hook"); });
    counters after;
    p.on_cancel(make_counted(after));
    EXPECT_NO_THROW(f.cancel());
    EXPECT_TRUE(after.ran_once());
    EXPECT_EQ(errors.calls(), 1);
    EXPECT_TRUE(errors.last_is<std::runtime_error>());
}

TEST(promise, stop_token_is_stopped_by_a_cancel) {
    promise<int> p;
    auto f = p.get_future();
    std::stop_token st = p.stop_token();
    EXPECT_TRUE(st.stop_possible());
    EXPECT_FALSE(st.stop_requested());
    bool callback_ran = false;
    std::stop_callback cb(st, [&] { callback_ran = true; });
    f.cancel();
    EXPECT_TRUE(st.stop_requested());
    EXPECT_TRUE(callback_ran);
}

TEST(promise, stop_token_taken_after_a_cancel_is_already_stopped) {
    promise<int> p;
    auto f = p.get_future();
    f.cancel();
    EXPECT_TRUE(p.stop_token().stop_requested());
}

TEST(promise, stop_token_is_not_stopped_by_fulfilment) {
    promise<int> p;
    auto f = p.get_future();
    std::stop_token st = p.stop_token();
    p.set_value(1);
    EXPECT_EQ(f.get(), 1);
    EXPECT_FALSE(st.stop_requested());
}

TEST(promise, a_cancel_is_not_reported_as_unobserved_even_after_a_late_set_exception) {
    unobserved_errors errors;
    {
        promise<int> p;
        auto f = p.get_future();
        f.cancel();
        p.set_exception(std::runtime_error("late"));
    }
    EXPECT_EQ(errors.calls(), 0);
}

TEST(promise_race, on_cancel_races_with_cancel) {
    // The hook runs exactly once whether it was registered before or after the cancel.
    for (int i = 0; i < 2'000; ++i) {
        promise<int> p;
        auto f = p.get_future();
        counters c;
        std::latch go{2};
        std::thread t([&] {
            go.arrive_and_wait();
            f.cancel();
        });
        go.arrive_and_wait();
        p.on_cancel(make_counted(c));
        t.join();
        ASSERT_TRUE(c.ran_once()) << "round " << i;
    }
}

TEST(promise_race, stop_token_races_with_cancel) {
    for (int i = 0; i < 2'000; ++i) {
        promise<int> p;
        auto f = p.get_future();
        std::latch go{2};
        std::thread t([&] {
            go.arrive_and_wait();
            f.cancel();
        });
        go.arrive_and_wait();
        std::stop_token st = p.stop_token();
        t.join();
        ASSERT_TRUE(st.stop_requested()) << "round " << i;
    }
}

}  // namespace
