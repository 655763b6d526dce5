#include "vow/coro.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
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

using vow::future;
using vow::manual_executor;
using vow::promise;
using vow::result;
using vow::thread_pool;
using vow_test::counters;
using vow_test::make_counted;

// Coroutines are free functions taking their inputs by value or pointer: a
// lambda's captures would dangle once the coroutine suspends.

future<int> return_forty_two() { co_return 42; }

future<void> set_flag(bool* flag) {
    *flag = true;
    co_return;
}

future<int> add_one(future<int> f) {
    int v = co_await std::move(f);
    co_return v + 1;
}

future<int> add_one_awaiting_an_lvalue(future<int> f) {
    int v = co_await f;  // consumes f, like co_await std::move(f)
    co_return v + 1;
}

future<void> await_void(future<void> f, bool* after) {
    co_await std::move(f);
    *after = true;
}

future<std::unique_ptr<int>> double_it(future<std::unique_ptr<int>> f) {
    std::unique_ptr<int> p = co_await std::move(f);
    *p *= 2;
    co_return p;
}

future<int> throw_before_any_await() {
    throw std::runtime_error("early");
    co_return 0;
}

future<int> throw_after_an_await(future<int> f) {
    (void)co_await std::move(f);
    throw std::domain_error("late");
}

future<std::string> catch_the_awaited_error(future<int> f) {
    try {
        co_await std::move(f);
    } catch (const std::exception& e) {
        co_return std::string("caught:") + e.what();
    }
    co_return "no error";
}

future<int> sum_of_ready_futures(int n) {
    int sum = 0;
    for (int i = 0; i < n; ++i) sum += co_await vow::make_ready_future(1);
    co_return sum;
}

future<long> sum_of_pending_futures(std::vector<future<int>>* futures) {
    long sum = 0;
    for (auto& f : *futures) sum += co_await std::move(f);
    co_return sum;
}

future<int> sum_of_submitted_tasks(vow::executor* ex, int n) {
    int sum = 0;
    for (int i = 0; i < n; ++i) sum += co_await vow::submit(*ex, [] { return 1; });
    co_return sum;
}

struct placement {
    bool on_pool_after_resume_on = false;
    bool on_pool_after_await = false;
    std::thread::id caller;
    bool left_caller = false;
};

future<int> hop_onto(thread_pool* pool, future<int> pending, placement* where) {
    co_await vow::resume_on(*pool);
    where->on_pool_after_resume_on = pool->running_in_this_thread();
    where->left_caller = std::this_thread::get_id() != where->caller;
    int v = co_await std::move(pending);  // completed on the test thread; resumes on the pool
    where->on_pool_after_await = pool->running_in_this_thread();
    co_return v;
}

future<int> hop_onto_manual(manual_executor* ex, bool* resumed) {
    co_await vow::resume_on(*ex);
    *resumed = true;
    co_return 1;
}

struct cancel_probe {
    future<int>* self = nullptr;  // the coroutine's own future, to cancel from inside
    bool first_await_returned = false;
    bool next_await_threw = false;
    bool reached_end = false;
};

future<int> cancel_myself_between_awaits(future<int> first, cancel_probe* probe) {
    int v = co_await std::move(first);
    probe->first_await_returned = true;
    probe->self->cancel();
    try {
        v += co_await vow::make_ready_future(1);  // ready, yet it must throw
    } catch (const vow::cancelled_error&) {
        probe->next_await_threw = true;
    }
    probe->reached_end = true;
    co_return v;
}

future<int> await_one(future<int> f, bool* threw_cancelled) {
    try {
        co_return co_await std::move(f);
    } catch (const vow::cancelled_error&) {
        *threw_cancelled = true;
        throw;
    }
}

future<int> nested(int depth) {
    if (depth == 0) co_return 0;
    int v = co_await nested(depth - 1);
    co_return v + 1;
}

// The guard is destroyed with the coroutine frame.
future<int> await_with_guard(future<int> f, counters* frame) {
    vow_test::counted<> guard(*frame);
    int v = co_await std::move(f);
    co_return v;
}

TEST(coro, co_return_of_a_value_completes_the_future) {
    auto f = return_forty_two();
    EXPECT_TRUE(f.is_ready());
    EXPECT_EQ(f.get(), 42);
}

TEST(coro, co_return_of_void_completes_the_future) {
    bool flag = false;
    future<void> f = set_flag(&flag);
    EXPECT_TRUE(flag);
    EXPECT_NO_THROW(f.get());
}

TEST(coro, co_await_of_a_ready_future_continues_at_once) {
    auto f = add_one(vow::make_ready_future(1));
    EXPECT_TRUE(f.is_ready());
    EXPECT_EQ(f.get(), 2);
}

TEST(coro, co_await_of_a_pending_future_resumes_when_it_completes) {
    promise<int> p;
    auto f = add_one(p.get_future());
    EXPECT_FALSE(f.is_ready());
    p.set_value(9);
    EXPECT_EQ(f.get(), 10);
}

TEST(coro, co_await_of_a_future_completed_on_another_thread) {
    promise<int> p;
    auto f = add_one(p.get_future());
    std::thread producer([&] { p.set_value(1); });
    EXPECT_EQ(f.get(), 2);
    producer.join();
}

TEST(coro, co_await_of_an_lvalue_future_waits_for_it_too) {
    promise<int> p;
    auto f = add_one_awaiting_an_lvalue(p.get_future());
    EXPECT_FALSE(f.is_ready());
    p.set_value(1);
    EXPECT_EQ(f.get(), 2);
}

TEST(coro, co_await_of_a_void_future) {
    promise<void> p;
    bool after = false;
    auto f = await_void(p.get_future(), &after);
    EXPECT_FALSE(after);
    p.set_value();
    EXPECT_TRUE(after);
    EXPECT_NO_THROW(f.get());
}

TEST(coro, co_await_hands_over_a_move_only_value) {
    promise<std::unique_ptr<int>> p;
    auto f = double_it(p.get_future());
    p.set_value(std::make_unique<int>(21));
    EXPECT_EQ(*f.get(), 42);
}

TEST(coro, an_exception_thrown_before_any_await_fails_the_future) {
    EXPECT_THROW(throw_before_any_await().get(), std::runtime_error);
}

TEST(coro, an_exception_thrown_after_an_await_fails_the_future) {
    promise<int> p;
    auto f = throw_after_an_await(p.get_future());
    p.set_value(1);
    EXPECT_THROW(f.get(), std::domain_error);
}

TEST(coro, the_error_of_an_awaited_future_is_thrown_by_co_await) {
    promise<int> p;
    auto f = catch_the_awaited_error(p.get_future());
    p.set_exception(std::runtime_error("bad"));
    EXPECT_EQ(f.get(), "caught:bad");
}

TEST(coro, an_error_of_an_awaited_future_propagates_to_the_coroutines_future) {
    auto f = add_one(vow::make_exceptional_future<int>(std::out_of_range("range")));
    EXPECT_THROW(f.get(), std::out_of_range);
}

TEST(coro, a_coroutine_future_can_be_chained_with_then) {
    promise<int> p;
    auto f = add_one(p.get_future()).then([](int v) { return v * 10; });
    p.set_value(1);
    EXPECT_EQ(f.get(), 20);
}

TEST(coro, co_await_of_a_submitted_task_waits_for_the_executor) {
    manual_executor ex;
    auto f = sum_of_submitted_tasks(&ex, 3);
    EXPECT_FALSE(f.is_ready());
    EXPECT_EQ(ex.pending(), 1u);
    ex.run_until_idle();
    EXPECT_EQ(f.get(), 3);
}

TEST(coro, resume_on_moves_the_coroutine_onto_a_pool_worker_and_keeps_it_there) {
    thread_pool pool(2, "co");
    promise<int> p;
    placement where;
    where.caller = std::this_thread::get_id();
    auto f = hop_onto(&pool, p.get_future(), &where);
    p.set_value(7);  // completes on this thread; the coroutine must resume on the pool
    EXPECT_EQ(f.get(), 7);
    EXPECT_TRUE(where.on_pool_after_resume_on);
    EXPECT_TRUE(where.left_caller);
    EXPECT_TRUE(where.on_pool_after_await);
}

TEST(coro, resume_on_a_manual_executor_resumes_only_when_it_runs) {
    manual_executor ex;
    bool resumed = false;
    auto f = hop_onto_manual(&ex, &resumed);
    EXPECT_FALSE(resumed);
    EXPECT_EQ(ex.pending(), 1u);
    ex.run_all();
    EXPECT_TRUE(resumed);
    EXPECT_EQ(f.get(), 1);
}

TEST(coro, resume_on_a_shut_down_executor_fails_the_future_with_executor_shut_down) {
    manual_executor ex;
    ex.shutdown();
    bool resumed = false;
    auto f = hop_onto_manual(&ex, &resumed);
    EXPECT_THROW(f.get(), vow::executor_shut_down);
    EXPECT_FALSE(resumed);
}

TEST(coro, a_resumption_dropped_by_its_executor_fails_the_future_with_executor_shut_down) {
    manual_executor ex;
    bool resumed = false;
    auto f = hop_onto_manual(&ex, &resumed);
    ex.shutdown();
    EXPECT_THROW(f.get(), vow::executor_shut_down);
    EXPECT_FALSE(resumed);
}

TEST(coro, cancelling_the_coroutines_future_makes_its_next_co_await_throw_cancelled_error) {
    promise<int> first;
    cancel_probe probe;
    future<int> f = cancel_myself_between_awaits(first.get_future(), &probe);
    probe.self = &f;
    first.set_value(1);  // resumes the coroutine, which cancels its own future
    EXPECT_TRUE(probe.first_await_returned);
    EXPECT_TRUE(probe.next_await_threw);
    EXPECT_TRUE(probe.reached_end);
    EXPECT_TRUE(f.is_cancelled());
    EXPECT_THROW(f.get(), vow::cancelled_error);
}

TEST(coro, a_cancel_while_suspended_reaches_the_awaited_promise_and_throws_in_the_coroutine) {
    promise<int> awaited;
    counters hook;
    awaited.on_cancel(make_counted(hook));
    bool threw_cancelled = false;
    auto f = await_one(awaited.get_future(), &threw_cancelled);
    ASSERT_FALSE(f.is_ready());
    f.cancel();
    EXPECT_TRUE(f.is_cancelled());
    EXPECT_TRUE(hook.ran_once());
    EXPECT_TRUE(awaited.is_cancelled());
    EXPECT_TRUE(threw_cancelled);
    EXPECT_NO_THROW(awaited.set_value(1));  // late and harmless
    EXPECT_THROW(f.get(), vow::cancelled_error);
}

TEST(coro, a_cancel_while_waiting_for_resume_on_throws_when_the_coroutine_resumes) {
    manual_executor ex;
    bool resumed = false;
    auto f = hop_onto_manual(&ex, &resumed);
    f.cancel();
    EXPECT_TRUE(f.is_cancelled());
    ex.run_all();
    EXPECT_FALSE(resumed);
    EXPECT_THROW(f.get(), vow::cancelled_error);
}

TEST(coro, a_coroutine_awaiting_10000_ready_futures_does_not_overflow) {
    EXPECT_EQ(sum_of_ready_futures(10'000).get(), 10'000);
}

TEST(coro, a_coroutine_awaiting_10000_pending_futures_in_a_loop_does_not_overflow) {
    constexpr int n = 10'000;
    std::vector<promise<int>> promises(n);
    std::vector<future<int>> futures;
    futures.reserve(n);
    for (auto& p : promises) futures.push_back(p.get_future());
    auto f = sum_of_pending_futures(&futures);
    for (auto& p : promises) p.set_value(1);
    EXPECT_EQ(f.get(), n);
}

TEST(coro, a_coroutine_awaiting_10000_futures_fulfilled_before_the_loop_does_not_overflow) {
    constexpr int n = 10'000;
    std::vector<future<int>> futures;
    futures.reserve(n);
    for (int i = 0; i < n; ++i) {
        promise<int> p;
        futures.push_back(p.get_future());
        p.set_value(1);
    }
    EXPECT_EQ(sum_of_pending_futures(&futures).get(), n);
}

TEST(coro, a_coroutine_awaiting_10000_tasks_on_a_manual_executor_does_not_overflow) {
    manual_executor ex;
    auto f = sum_of_submitted_tasks(&ex, 10'000);
    ex.run_until_idle();
    EXPECT_EQ(f.get(), 10'000);
}

TEST(coro, coroutines_awaiting_coroutines_return_through_every_level) {
    EXPECT_EQ(nested(100).get(), 100);
}

TEST(coro, an_awaited_failed_future_is_not_reported_as_unobserved) {
    vow_test::unobserved_errors errors;
    auto f = catch_the_awaited_error(vow::make_exceptional_future<int>(std::runtime_error("x")));
    EXPECT_EQ(f.get(), "caught:x");
    EXPECT_EQ(errors.calls(), 0);
}

TEST(coro_race, co_await_races_with_set_value) {
    std::optional<promise<int>> p;
    future<int> awaited, f;
    std::optional<counters> frame;
    vow_test::race(
        5'000,
        [&] {
            f = {};
            frame.emplace();
            p.emplace();
            awaited = p->get_future();
        },
        [&] { p->set_value(4); },
        [&] { f = await_with_guard(std::move(awaited), &*frame); },
        [&] {
            EXPECT_EQ(f.get(), 4);
            EXPECT_EQ(frame->destroyed.load(), 1);
        });
}

TEST(coro_race, cancel_races_with_the_completion_of_the_awaited_future) {
    std::optional<promise<int>> p;
    future<int> f;
    std::optional<counters> frame;
    int values = 0, cancels = 0;
    vow_test::race(
        5'000,
        [&] {
            frame.emplace();
            p.emplace();
            f = await_with_guard(p->get_future(), &*frame);
        },
        [&] { EXPECT_NO_THROW(p->set_value(4)); },
        [&] { f.cancel(); },
        [&] {
            result<int> r = f.get_result();
            if (r.has_value()) {
                EXPECT_EQ(r.value(), 4);
                ++values;
            } else {
                EXPECT_TRUE(r.is_cancelled());
                ++cancels;
            }
            EXPECT_EQ(frame->destroyed.load(), 1);
        });
    EXPECT_EQ(values + cancels, 5'000);
    RecordProperty("rounds_won_by_set_value", values);  // how evenly the race was hit
}

}  // namespace
