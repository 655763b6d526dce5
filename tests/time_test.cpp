#include "vow/time.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <latch>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "combinator_support.hpp"
#include "vow/errors.hpp"
#include "vow/manual_executor.hpp"
#include "vow/promise.hpp"
#include "vow/thread_pool.hpp"
#include "vow/timer.hpp"

namespace {

using namespace std::chrono_literals;
using vow::future;
using vow::manual_executor;
using vow::manual_timer;
using vow::promise;
using vow_ctest::calls;
using vow_ctest::error_kind;
using vow_ctest::every_error_kind;
using vow_ctest::failing_input;
using vow_ctest::holds;
using vow_ctest::lifetimes;
using vow_ctest::take_ready;
using vow_ctest::tracked;

// ---------------------------------------------------------------------------
// sleep_for / sleep_until on the manual clock

TEST(sleep, sleep_for_completes_exactly_at_its_deadline_and_not_one_nanosecond_before) {
    manual_executor ex;
    manual_timer mt;
    auto start = mt.now();
    future<void> f = vow::sleep_for(10ms, mt, ex);
    EXPECT_EQ(mt.pending(), 1u);
    EXPECT_EQ(mt.next_deadline(), start + 10ms);
    mt.advance(10ms - 1ns);
    EXPECT_FALSE(f.is_ready());
    mt.advance(1ns);
    EXPECT_TRUE(take_ready(f).has_value());
    EXPECT_EQ(mt.pending(), 0u);
}

TEST(sleep, sleep_until_completes_when_the_clock_reaches_the_time_point) {
    manual_executor ex;
    manual_timer mt;
    auto when = mt.now() + 3s;
    future<void> f = vow::sleep_until(when, mt, ex);
    mt.advance_to(when - 1ns);
    EXPECT_FALSE(f.is_ready());
    mt.advance_to(when);
    EXPECT_TRUE(take_ready(f).has_value());
}

TEST(sleep, sleep_for_zero_completes_on_the_next_turn_of_the_timer) {
    manual_executor ex;
    manual_timer mt;
    future<void> f = vow::sleep_for(0ns, mt, ex);
    EXPECT_FALSE(f.is_ready());  // the timer fires tasks; the caller's thread never does
    mt.run_due();
    EXPECT_TRUE(take_ready(f).has_value());
}

TEST(sleep, cancelling_a_sleep_removes_its_timer_entry) {
    manual_executor ex;
    manual_timer mt;
    future<void> f = vow::sleep_for(1h, mt, ex);
    ASSERT_EQ(mt.pending(), 1u);
    f.cancel();
    EXPECT_EQ(mt.pending(), 0u);
    EXPECT_EQ(mt.next_deadline(), vow::timer::time_point::max());
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(f)));
    EXPECT_EQ(mt.advance(2h), 0u);  // nothing fires later
}

TEST(sleep, continuations_run_on_the_given_executor_not_on_the_thread_that_advances_the_clock) {
    manual_executor ex;
    manual_timer mt;
    bool ran_on_executor = false;
    int runs = 0;
    auto next = vow::sleep_for(5ms, mt, ex).then([&] {
        ++runs;
        ran_on_executor = ex.running_in_this_thread();
    });
    mt.advance(5ms);
    EXPECT_EQ(runs, 0);  // not run by the timer task
    EXPECT_EQ(ex.pending(), 1u);
    EXPECT_EQ(ex.run_until_idle(), 1u);
    EXPECT_EQ(runs, 1);
    EXPECT_TRUE(ran_on_executor);
    EXPECT_TRUE(take_ready(next).has_value());
}

TEST(sleep, done_callbacks_run_on_the_given_executor) {
    manual_executor ex;
    manual_timer mt;
    future<void> f = vow::sleep_for(5ms, mt, ex);
    bool ran_on_executor = false;
    f.add_done_callback([&](const vow::result<void>& r) { ran_on_executor = r.has_value() && ex.running_in_this_thread(); });
    mt.advance(5ms);
    EXPECT_FALSE(ran_on_executor);
    ex.run_until_idle();
    EXPECT_TRUE(ran_on_executor);
}

TEST(sleep, a_continuation_of_a_cancelled_sleep_never_runs_and_is_destroyed_once) {
    calls continuation;
    {
        manual_executor ex;
        manual_timer mt;
        auto f = vow::sleep_for(1s, mt, ex);
        auto next = std::move(f).then(vow_ctest::counted(continuation, [] {}));
        next.cancel();  // reaches the sleep through the then
        EXPECT_EQ(mt.pending(), 0u);
        mt.advance(2s);
        ex.run_until_idle();
        EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(next)));
    }
    EXPECT_EQ(continuation.runs.load(), 0);
    EXPECT_EQ(continuation.destroyed.load(), 1);
}

TEST(sleep, a_sleep_whose_timer_is_destroyed_fails_with_executor_shut_down) {
    manual_executor ex;
    future<void> f;
    {
        manual_timer mt;
        f = vow::sleep_for(1s, mt, ex);
    }
    EXPECT_TRUE(holds<vow::executor_shut_down>(take_ready(f)));
}

TEST(sleep, a_sleep_on_a_timer_that_refuses_it_fails_at_once_with_executor_shut_down) {
    manual_executor ex;
    vow_ctest::refusing_timer rt;
    future<void> f = vow::sleep_for(1s, rt, ex);
    EXPECT_EQ(rt.refused.load(), 1);
    EXPECT_TRUE(holds<vow::executor_shut_down>(take_ready(f)));
}

// ---------------------------------------------------------------------------
// timeout / within on the manual clock

TEST(timeout, within_fails_with_timeout_error_exactly_at_the_deadline_and_cancels_the_input) {
    manual_timer mt;
    promise<int> p;
    std::stop_token token = p.stop_token();
    int hooks = 0;
    p.on_cancel([&] { ++hooks; });
    auto f = p.get_future().within(10ms, mt);
    mt.advance(10ms - 1ns);
    EXPECT_FALSE(f.is_ready());
    EXPECT_FALSE(p.is_cancelled());
    mt.advance(1ns);
    ASSERT_TRUE(f.is_ready());
    EXPECT_TRUE(p.is_cancelled());
    EXPECT_TRUE(token.stop_requested());
    EXPECT_EQ(hooks, 1);
    p.set_value(1);  // too late: harmless
    EXPECT_TRUE(holds<vow::timeout_error>(take_ready(f)));
    EXPECT_EQ(mt.pending(), 0u);
}

TEST(timeout, the_free_function_fires_exactly_at_the_deadline_too) {
    manual_timer mt;
    promise<void> p;
    future<void> f = vow::timeout(p.get_future(), 250ms, mt);
    mt.advance(250ms - 1ns);
    EXPECT_FALSE(f.is_ready());
    mt.advance(1ns);
    EXPECT_TRUE(holds<vow::timeout_error>(take_ready(f)));
    EXPECT_TRUE(p.is_cancelled());
}

TEST(timeout, a_deadline_finer_than_the_clock_is_rounded_up_not_down) {
    manual_timer mt;
    promise<int> p;
    auto f = p.get_future().within(std::chrono::duration<double, std::nano>(0.5), mt);
    mt.run_due();
    EXPECT_FALSE(f.is_ready());
    mt.advance(1ns);
    EXPECT_TRUE(holds<vow::timeout_error>(take_ready(f)));
}

TEST(timeout, an_input_that_finishes_first_gives_its_value_and_leaves_no_pending_timer) {
    manual_timer mt;
    promise<int> p;
    std::stop_token token = p.stop_token();
    auto f = p.get_future().within(10ms, mt);
    ASSERT_EQ(mt.pending(), 1u);
    mt.advance(10ms - 1ns);
    p.set_value(42);
    EXPECT_EQ(mt.pending(), 0u);
    EXPECT_EQ(take_ready(f).value(), 42);
    EXPECT_FALSE(token.stop_requested());
    EXPECT_EQ(mt.advance(1h), 0u);
}

TEST(timeout, an_input_that_fails_first_passes_every_kind_of_error_through) {
    for (error_kind kind : every_error_kind) {
        SCOPED_TRACE(vow_ctest::name_of(kind));
        manual_timer mt;
        failing_input failing(kind);
        auto f = failing.get_future().within(1h, mt);
        failing.fail();
        auto r = take_ready(f);
        EXPECT_TRUE(vow_ctest::is_kind(kind, r.exception())) << vow_ctest::message_of(r.exception());
        EXPECT_EQ(mt.pending(), 0u);
    }
}

TEST(timeout, cancelling_the_result_cancels_the_input_and_removes_the_timer_entry) {
    manual_timer mt;
    promise<int> p;
    std::stop_token token = p.stop_token();
    int hooks = 0;
    p.on_cancel([&] { ++hooks; });
    auto f = vow::timeout(p.get_future(), 1s, mt);
    f.cancel();
    EXPECT_TRUE(p.is_cancelled());
    EXPECT_TRUE(token.stop_requested());
    EXPECT_EQ(hooks, 1);
    EXPECT_EQ(mt.pending(), 0u);
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(f)));
}

TEST(timeout, the_deadline_skips_a_submitted_task_that_has_not_started) {
    manual_executor ex;
    manual_timer mt;
    calls task;
    {
        auto f = vow::submit(ex, vow_ctest::counted(task, [] { return 1; })).within(5ms, mt);
        mt.advance(5ms);
        EXPECT_TRUE(holds<vow::timeout_error>(take_ready(f)));
        ex.run_until_idle();
    }
    EXPECT_EQ(task.runs.load(), 0);
    EXPECT_EQ(task.destroyed.load(), 1);
}

TEST(timeout, the_result_keeps_the_executor_binding_of_the_input) {
    manual_executor ex;
    manual_timer mt;
    promise<int> p;
    auto f = p.get_future().via(ex).within(1s, mt);
    EXPECT_EQ(&f.bound_executor(), &ex);
    auto next = std::move(f).then([](int v) { return v + 1; });
    p.set_value(1);
    EXPECT_FALSE(next.is_ready());
    ex.run_until_idle();
    EXPECT_EQ(take_ready(next).value(), 2);
}

TEST(timeout, a_move_only_value_passes_through) {
    manual_timer mt;
    promise<std::unique_ptr<int>> p;
    auto f = vow::timeout(p.get_future(), 1s, mt);
    p.set_value(std::make_unique<int>(9));
    auto r = take_ready(f);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r.value(), 9);
}

TEST(timeout, every_value_it_holds_is_destroyed_whether_or_not_it_fires) {
    lifetimes values;
    {
        manual_timer mt;
        promise<tracked> in_time;
        promise<tracked> late;
        auto a = in_time.get_future().within(1s, mt);
        auto b = late.get_future().within(1s, mt);
        in_time.set_value(tracked(values, 1));
        mt.advance(1s);
        late.set_value(tracked(values, 2));  // cancelled already: dropped
        EXPECT_EQ(take_ready(a).value().value, 1);
        EXPECT_TRUE(holds<vow::timeout_error>(take_ready(b)));
    }
    EXPECT_GT(values.constructed.load(), 0);
    EXPECT_EQ(values.alive(), 0);
}

TEST(timeout, nested_deadlines_the_inner_one_fires_first) {
    manual_timer mt;
    promise<int> p;
    auto f = p.get_future().within(1s, mt).within(2s, mt);
    mt.advance(1s);
    auto r = take_ready(f);
    EXPECT_TRUE(holds<vow::timeout_error>(r));
    EXPECT_TRUE(p.is_cancelled());
    EXPECT_EQ(mt.pending(), 0u);
}

TEST(timeout, within_on_a_future_already_done_is_done_at_once_and_leaves_no_timer) {
    manual_timer mt;
    auto f = vow::make_ready_future(3).within(1s, mt);
    EXPECT_EQ(mt.pending(), 0u);
    EXPECT_EQ(take_ready(f).value(), 3);
}

TEST(timeout, a_timeout_whose_timer_is_destroyed_fails_with_executor_shut_down_and_cancels_the_input) {
    promise<int> p;
    future<int> f;
    {
        manual_timer mt;
        f = p.get_future().within(1s, mt);
    }
    // The deadline can never fire now: waiting on for the input could be forever.
    EXPECT_TRUE(holds<vow::executor_shut_down>(take_ready(f)));
    EXPECT_TRUE(p.is_cancelled());
}

TEST(timeout, a_timeout_on_a_timer_that_refuses_it_fails_with_executor_shut_down_and_cancels_the_input) {
    vow_ctest::refusing_timer rt;
    promise<int> p;
    future<int> f;
    ASSERT_NO_THROW(f = p.get_future().within(1s, rt));
    EXPECT_EQ(rt.refused.load(), 1);
    EXPECT_TRUE(holds<vow::executor_shut_down>(take_ready(f)));
    EXPECT_TRUE(p.is_cancelled());
}

TEST(timeout, a_timer_destroyed_after_the_input_finished_changes_nothing) {
    promise<int> p;
    future<int> f;
    {
        manual_timer mt;
        f = p.get_future().within(1s, mt);
        p.set_value(1);
    }
    EXPECT_EQ(take_ready(f).value(), 1);
    EXPECT_FALSE(p.is_cancelled());
}

// A timer that takes only tasks (no timeout entries): within() goes through
// schedule_at on it. The clock and the firing are a manual_timer's.
class task_only_timer final : public vow::timer {
public:
    time_point now() const override { return clock_.now(); }
    vow::timer_handle schedule_at(time_point when, vow::task t) override {
        ++scheduled;
        return clock_.schedule_at(when, std::move(t));
    }
    std::size_t pending() const override { return clock_.pending(); }
    std::size_t advance(duration d) { return clock_.advance(d); }

    int scheduled = 0;

private:
    manual_timer clock_;
};

TEST(timeout, on_a_timer_that_takes_only_tasks_fires_at_the_deadline_and_cancels_the_input) {
    task_only_timer tt;
    promise<int> p;
    auto f = p.get_future().within(10ms, tt);
    EXPECT_EQ(tt.scheduled, 1);
    tt.advance(10ms - 1ns);
    EXPECT_FALSE(f.is_ready());
    tt.advance(1ns);
    EXPECT_TRUE(holds<vow::timeout_error>(take_ready(f)));
    EXPECT_TRUE(p.is_cancelled());
    EXPECT_EQ(tt.pending(), 0u);
}

TEST(timeout, on_a_timer_that_takes_only_tasks_an_input_done_first_removes_the_task) {
    lifetimes values;
    {
        task_only_timer tt;
        promise<tracked> p;
        auto f = p.get_future().within(1s, tt);
        ASSERT_EQ(tt.pending(), 1u);
        p.set_value(tracked(values, 5));
        EXPECT_EQ(tt.pending(), 0u);
        EXPECT_EQ(tt.advance(1h), 0u);
        EXPECT_EQ(take_ready(f).value().value, 5);
    }
    EXPECT_EQ(values.alive(), 0);
}

TEST(timeout, a_timed_out_future_dropped_unread_reports_its_timeout_error) {
    vow_ctest::unobserved_errors unobserved;
    {
        manual_timer mt;
        promise<int> p;
        auto f = p.get_future().within(1s, mt);
        mt.advance(1s);
        EXPECT_TRUE(f.is_ready());
    }
    EXPECT_EQ(unobserved.count(), 1);
}

TEST(timeout, a_done_callback_added_before_within_sees_the_timeout_error) {
    manual_timer mt;
    promise<int> p;
    auto f = p.get_future();
    bool saw_timeout = false;
    f.add_done_callback([&](const vow::result<int>& r) { saw_timeout = holds<vow::timeout_error>(r); });
    auto timed = std::move(f).within(1s, mt);
    mt.advance(1s);
    EXPECT_TRUE(saw_timeout);
    EXPECT_TRUE(holds<vow::timeout_error>(take_ready(timed)));
}

TEST(timeout, many_timeouts_each_end_exactly_once_whichever_side_wins) {
    lifetimes values;
    {
        manual_timer mt;
        std::vector<promise<tracked>> ps(100);
        std::vector<future<tracked>> fs;
        for (auto& p : ps) fs.push_back(p.get_future().within(1s, mt));
        for (std::size_t i = 0; i < ps.size(); i += 2) ps[i].set_value(tracked(values, static_cast<int>(i)));
        EXPECT_EQ(mt.pending(), 50u);
        EXPECT_EQ(mt.advance(1s), 50u);
        for (std::size_t i = 0; i < fs.size(); ++i) {
            auto r = take_ready(fs[i]);
            if (i % 2 == 0) {
                EXPECT_EQ(r.value().value, static_cast<int>(i));
            } else {
                EXPECT_TRUE(holds<vow::timeout_error>(r));
                EXPECT_TRUE(ps[i].is_cancelled());
            }
        }
        EXPECT_EQ(mt.pending(), 0u);
    }
    EXPECT_EQ(values.alive(), 0);
}

// The timer builds a timeout entry in the memory of one it released before
// (the sweep in pending() releases the entries of finished timeouts). Rounds of
// different value types and deadlines, each half finishing and half timing
// out, check that a rebuilt entry guards its own future and deadline only.
TEST(timeout, timeouts_built_in_the_memory_of_released_ones_each_guard_their_own_future) {
    lifetimes values;
    {
        manual_timer mt;
        for (int round = 1; round <= 4; ++round) {
            const auto deadline = round * 1s;
            std::vector<promise<tracked>> tracked_inputs(200);
            std::vector<promise<std::string>> text_inputs(200);
            std::vector<future<tracked>> timed_tracked;
            std::vector<future<std::string>> timed_text;
            for (auto& p : tracked_inputs) timed_tracked.push_back(p.get_future().within(deadline, mt));
            for (auto& p : text_inputs) timed_text.push_back(p.get_future().within(deadline, mt));
            for (std::size_t i = 0; i < 200; i += 2) {
                tracked_inputs[i].set_value(tracked(values, round * 1000 + static_cast<int>(i)));
                text_inputs[i].set_value(std::to_string(i));
            }
            EXPECT_EQ(mt.pending(), 200u);  // sweeps: the finished ones' memory is kept for the next round
            mt.advance(deadline - 1ns);
            EXPECT_EQ(mt.pending(), 200u) << "round " << round;
            EXPECT_EQ(mt.advance(1ns), 200u) << "round " << round;
            for (std::size_t i = 0; i < 200; ++i) {
                auto a = take_ready(timed_tracked[i]);
                auto b = take_ready(timed_text[i]);
                if (i % 2 == 0) {
                    EXPECT_EQ(a.value().value, round * 1000 + static_cast<int>(i));
                    EXPECT_EQ(b.value(), std::to_string(i));
                } else {
                    EXPECT_TRUE(holds<vow::timeout_error>(a));
                    EXPECT_TRUE(holds<vow::timeout_error>(b));
                    EXPECT_TRUE(tracked_inputs[i].is_cancelled());
                    EXPECT_TRUE(text_inputs[i].is_cancelled());
                }
            }
            EXPECT_EQ(mt.pending(), 0u);
        }
    }
    EXPECT_EQ(values.alive(), 0);
}

// ---------------------------------------------------------------------------
// The real clock: bounded, and few.

TEST(real_clock, a_timeout_deadline_is_never_before_now_plus_the_duration_and_long_ones_are_at_most_a_few_ms_late) {
    vow::real_timer rt;
    for (auto d : {vow::timer::duration(5ms), vow::timer::duration(1s), vow::timer::duration(30s),
                   vow::timer::duration(1h)}) {
        for (int i = 0; i < 1000; ++i) {
            auto before = std::chrono::steady_clock::now();
            auto deadline = vow::detail::timer_access::timeout_deadline(rt, d);
            auto after = std::chrono::steady_clock::now();
            ASSERT_GE(deadline, before + d);
            ASSERT_LE(deadline, after + d + (d < 1s ? 0ms : 50ms));
        }
    }
}


TEST(real_clock, sleep_for_on_the_default_timer_completes) {
    auto start = std::chrono::steady_clock::now();
    future<void> f = vow::sleep_for(5ms);
    ASSERT_TRUE(f.wait_for(5s));
    EXPECT_NO_THROW(f.get());
    EXPECT_GE(std::chrono::steady_clock::now() - start, 5ms);
}

TEST(real_clock, within_on_the_default_timer_times_out_a_never_fulfilled_promise) {
    promise<int> p;
    promise<void> saw_cancel;  // the stop request follows the timeout, on the timer's thread
    auto cancel_seen = saw_cancel.get_future();
    p.on_cancel([&] { saw_cancel.set_value(); });
    auto f = p.get_future().within(1ms);
    ASSERT_TRUE(f.wait_for(5s));
    EXPECT_THROW(f.get(), vow::timeout_error);
    EXPECT_TRUE(cancel_seen.wait_for(5s));
    EXPECT_TRUE(p.is_cancelled());
}

TEST(real_clock, sleep_continuations_run_on_the_given_executor_not_on_the_timer_thread) {
    // The pool outlives the timer: the timer's thread may still be inside
    // pool.execute() when the continuation has already run.
    vow::thread_pool pool(1, "sleep-test");
    vow::real_timer rt;
    std::thread::id timer_thread;
    std::latch timer_seen(1);
    rt.schedule_after(0ns, [&] {
        timer_thread = std::this_thread::get_id();
        timer_seen.count_down();
    });
    timer_seen.wait();
    bool on_pool = false;
    std::thread::id ran_on;
    auto next = vow::sleep_for(1ms, rt, pool).then([&] {
        on_pool = pool.running_in_this_thread();
        ran_on = std::this_thread::get_id();
    });
    ASSERT_TRUE(next.wait_for(5s));
    EXPECT_NO_THROW(next.get());
    EXPECT_TRUE(on_pool);
    EXPECT_NE(ran_on, timer_thread);
}

TEST(real_clock, a_deadline_racing_the_value_gives_one_or_the_other_and_leaks_nothing) {
    lifetimes values;
    {
        vow::real_timer rt;
        for (int round = 0; round < 2000; ++round) {
            promise<tracked> p;
            auto f = p.get_future().within(0ns, rt);  // due at once, on the timer's thread
            // Spread the value over the time the timer thread takes to wake and
            // fire (a busy wait of 0-63 us: jitter, not synchronisation).
            const auto spread_until = std::chrono::steady_clock::now() + std::chrono::microseconds(round % 64);
            while (std::chrono::steady_clock::now() < spread_until) {
            }
            // A value that loses to the deadline is dropped without complaint,
            // also while the timeout is still on its way to cancelling.
            ASSERT_NO_THROW(p.set_value(tracked(values, round))) << "round " << round;
            ASSERT_TRUE(f.wait_for(5s));
            auto r = f.get_result();
            if (r.has_value()) {
                EXPECT_EQ(r.value().value, round);
            } else {
                EXPECT_TRUE(holds<vow::timeout_error>(r)) << vow_ctest::message_of(r.exception());
            }
        }
    }
    EXPECT_EQ(values.alive(), 0);
}

}  // namespace
