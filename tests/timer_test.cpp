#include "vow/timer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "counted.hpp"
#include "vow/errors.hpp"

namespace {

using namespace std::chrono_literals;
using vow::manual_timer;
using vow::real_timer;
using vow::timer;
using vow::timer_handle;
using vow_test::counters;
using vow_test::make_counted;

// ---- manual_timer: the virtual clock ----------------------------------------

TEST(manual_timer, starts_an_hour_past_the_epoch_and_moves_only_when_advanced) {
    manual_timer t;
    const timer::time_point start = t.now();
    EXPECT_EQ(start, timer::time_point{} + 1h);
    EXPECT_EQ(t.now(), start);
    EXPECT_EQ(t.advance(5s), 0u);
    EXPECT_EQ(t.now(), start + 5s);
    EXPECT_EQ(t.advance_to(start + 1min), 0u);
    EXPECT_EQ(t.now(), start + 1min);
}

TEST(manual_timer, nothing_fires_until_the_clock_reaches_the_deadline) {
    manual_timer t;
    counters c;
    timer_handle h = t.schedule_after(10s, make_counted(c));
    EXPECT_EQ(t.advance(9s), 0u);
    EXPECT_EQ(c.runs.load(), 0);
    EXPECT_TRUE(h.pending());
    EXPECT_EQ(t.advance(1s), 1u);  // a deadline equal to now is due
    EXPECT_TRUE(c.ran_once());
    EXPECT_FALSE(h.pending());
    EXPECT_EQ(t.pending(), 0u);
}

TEST(manual_timer, fires_in_deadline_order_not_in_scheduling_order) {
    manual_timer t;
    std::vector<int> order;
    for (int seconds : {30, 10, 50, 20, 40}) t.schedule_after(std::chrono::seconds(seconds), [&, seconds] {
        order.push_back(seconds);
    });
    EXPECT_EQ(t.advance(1min), 5u);
    EXPECT_EQ(order, (std::vector<int>{10, 20, 30, 40, 50}));
}

TEST(manual_timer, tasks_with_equal_deadlines_fire_in_the_order_they_were_scheduled) {
    manual_timer t;
    constexpr int tasks = 1000;
    std::mt19937 rng(12345);
    std::vector<std::pair<int, int>> scheduled;  // (deadline in seconds, scheduling index)
    std::vector<std::pair<int, int>> fired;
    for (int i = 0; i < tasks; ++i) {
        int deadline = static_cast<int>(rng() % 5);  // many ties on five deadlines
        scheduled.emplace_back(deadline, i);
        t.schedule_after(std::chrono::seconds(deadline), [&fired, deadline, i] { fired.emplace_back(deadline, i); });
    }
    EXPECT_EQ(t.advance(10s), std::size_t{tasks});
    std::stable_sort(scheduled.begin(), scheduled.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    EXPECT_EQ(fired, scheduled);
}

TEST(manual_timer, advance_fires_exactly_the_tasks_that_are_due) {
    manual_timer t;
    counters early, on_time, late;
    t.schedule_after(1s, make_counted(early));
    t.schedule_after(2s, make_counted(on_time));
    t.schedule_after(2s + 1ns, make_counted(late));
    EXPECT_EQ(t.advance(2s), 2u);
    EXPECT_TRUE(early.ran_once());
    EXPECT_TRUE(on_time.ran_once());
    EXPECT_EQ(late.runs.load(), 0);
    EXPECT_EQ(late.destroyed.load(), 0);
    EXPECT_EQ(t.pending(), 1u);
    EXPECT_EQ(t.advance(1ns), 1u);
    EXPECT_TRUE(late.ran_once());
}

TEST(manual_timer, now_equals_the_tasks_deadline_while_it_runs) {
    manual_timer t;
    const timer::time_point start = t.now();
    std::vector<timer::time_point> seen;
    t.schedule_after(3s, [&] { seen.push_back(t.now()); });
    t.schedule_after(7s, [&] { seen.push_back(t.now()); });
    t.advance(10s);
    EXPECT_EQ(seen, (std::vector<timer::time_point>{start + 3s, start + 7s}));
    EXPECT_EQ(t.now(), start + 10s);
}

TEST(manual_timer, a_task_scheduled_by_a_firing_task_within_the_window_fires_in_the_same_advance) {
    manual_timer t;
    const timer::time_point start = t.now();
    std::vector<std::pair<int, timer::time_point>> log;
    counters outside_window;
    t.schedule_after(2s, [&] {
        log.emplace_back(1, t.now());
        t.schedule_after(3s, [&] {  // due at start + 5s: inside the window
            log.emplace_back(2, t.now());
            t.schedule_after(0s, [&] { log.emplace_back(3, t.now()); });  // due at once
        });
        t.schedule_after(9s, make_counted(outside_window));  // start + 11s: outside
    });
    EXPECT_EQ(t.advance(10s), 3u);
    EXPECT_EQ(log, (std::vector<std::pair<int, timer::time_point>>{
                       {1, start + 2s}, {2, start + 5s}, {3, start + 5s}}));
    EXPECT_EQ(outside_window.runs.load(), 0);
    EXPECT_EQ(t.pending(), 1u);
    EXPECT_EQ(t.advance(1s), 1u);
    EXPECT_TRUE(outside_window.ran_once());
}

TEST(manual_timer, a_deadline_already_past_fires_on_run_due_without_moving_the_clock) {
    manual_timer t;
    const timer::time_point start = t.now();
    counters c;
    t.schedule_at(start - 1s, make_counted(c));
    EXPECT_EQ(c.runs.load(), 0);  // scheduling never runs a task inline
    EXPECT_EQ(t.run_due(), 1u);
    EXPECT_TRUE(c.ran_once());
    EXPECT_EQ(t.now(), start);
}

TEST(manual_timer, advancing_to_an_earlier_time_fires_nothing_and_never_moves_the_clock_back) {
    manual_timer t;
    const timer::time_point start = t.now();
    counters c;
    t.schedule_after(1s, make_counted(c));
    EXPECT_EQ(t.advance_to(start - 1min), 0u);
    EXPECT_EQ(t.now(), start);
    EXPECT_EQ(c.runs.load(), 0);
}

TEST(manual_timer, next_deadline_is_the_earliest_pending_one) {
    manual_timer t;
    EXPECT_EQ(t.next_deadline(), timer::time_point::max());
    timer_handle late = t.schedule_after(5s, [] {});
    timer_handle soon = t.schedule_after(2s, [] {});
    EXPECT_EQ(t.next_deadline(), t.now() + 2s);
    soon.cancel();
    EXPECT_EQ(t.next_deadline(), t.now() + 5s);
    late.cancel();
    EXPECT_EQ(t.next_deadline(), timer::time_point::max());
}

// ---- cancellation -------------------------------------------------------------

TEST(manual_timer, cancel_before_fire_destroys_the_task_unrun_exactly_once) {
    manual_timer t;
    counters c;
    timer_handle h = t.schedule_after(1s, make_counted(c));
    EXPECT_TRUE(h.pending());
    EXPECT_TRUE(h.cancel());
    EXPECT_TRUE(c.destroyed_unrun());  // destroyed by cancel(), not later
    EXPECT_FALSE(h.pending());
    EXPECT_EQ(t.pending(), 0u);
    EXPECT_FALSE(h.cancel());  // a second cancel prevents nothing
    EXPECT_EQ(t.advance(1min), 0u);
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(manual_timer, cancel_after_fire_returns_false) {
    manual_timer t;
    counters c;
    timer_handle h = t.schedule_after(1s, make_counted(c));
    t.advance(1s);
    EXPECT_FALSE(h.cancel());
    EXPECT_TRUE(c.ran_once());
}

TEST(manual_timer, copies_of_a_handle_refer_to_the_same_task) {
    manual_timer t;
    counters c;
    timer_handle h = t.schedule_after(1s, make_counted(c));
    timer_handle copy = h;
    EXPECT_TRUE(copy.cancel());
    EXPECT_FALSE(h.pending());
    EXPECT_FALSE(h.cancel());
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(manual_timer, a_default_handle_cancels_nothing) {
    timer_handle h;
    EXPECT_FALSE(h.pending());
    EXPECT_FALSE(h.cancel());
}

TEST(manual_timer, cancelling_some_timers_keeps_the_others_in_deadline_order) {
    manual_timer t;
    std::mt19937 rng(7);
    constexpr int tasks = 500;
    std::vector<timer_handle> handles;
    std::vector<int> deadlines(tasks);
    std::iota(deadlines.begin(), deadlines.end(), 0);
    std::shuffle(deadlines.begin(), deadlines.end(), rng);
    std::vector<int> fired;
    counters c;
    for (int d : deadlines)
        handles.push_back(t.schedule_after(std::chrono::milliseconds(d), make_counted(c, [&fired, d] {
            fired.push_back(d);
        })));
    std::vector<int> kept;
    for (int i = 0; i < tasks; ++i) {
        if (rng() % 2 == 0) {
            EXPECT_TRUE(handles[i].cancel());
        } else {
            kept.push_back(deadlines[i]);
        }
    }
    std::sort(kept.begin(), kept.end());
    EXPECT_EQ(t.pending(), kept.size());
    EXPECT_EQ(t.advance(1s), kept.size());
    EXPECT_EQ(fired, kept);
    EXPECT_EQ(c.runs.load(), static_cast<int>(kept.size()));
    EXPECT_EQ(c.destroyed.load(), tasks);
}

// A task whose destructor calls back into its timer: schedules another task
// and asks how many are pending. It proves destruction happens outside the
// timer's lock (a non-recursive mutex would deadlock here).
struct calls_back_on_destruction {
    timer* owner;
    counters* rescheduled;
    std::size_t* pending_seen;
    calls_back_on_destruction(timer* t, counters* c, std::size_t* p) : owner(t), rescheduled(c), pending_seen(p) {}
    calls_back_on_destruction(calls_back_on_destruction&& o) noexcept
        : owner(std::exchange(o.owner, nullptr)), rescheduled(o.rescheduled), pending_seen(o.pending_seen) {}
    ~calls_back_on_destruction() {
        if (owner == nullptr) return;
        *pending_seen = owner->pending();
        try {
            owner->schedule_after(1s, make_counted(*rescheduled));
        } catch (const vow::executor_shut_down&) {
            // the timer is being destroyed: rejected, and destroyed unrun
        }
    }
    void operator()() {}
};

TEST(manual_timer, a_cancelled_task_is_destroyed_outside_the_lock_so_its_destructor_may_use_the_timer) {
    manual_timer t;
    counters rescheduled;
    std::size_t pending_seen = 99;
    timer_handle h = t.schedule_after(1s, calls_back_on_destruction(&t, &rescheduled, &pending_seen));
    EXPECT_TRUE(h.cancel());
    EXPECT_EQ(pending_seen, 0u);
    EXPECT_EQ(t.pending(), 1u);
    EXPECT_EQ(t.advance(1s), 1u);
    EXPECT_TRUE(rescheduled.ran_once());
}

TEST(manual_timer, a_fired_task_is_destroyed_outside_the_lock_so_its_destructor_may_use_the_timer) {
    manual_timer t;
    counters rescheduled;
    std::size_t pending_seen = 99;
    t.schedule_after(1s, calls_back_on_destruction(&t, &rescheduled, &pending_seen));
    EXPECT_EQ(t.advance(1s), 1u);
    EXPECT_EQ(pending_seen, 0u);
    EXPECT_EQ(t.pending(), 1u);
    EXPECT_EQ(rescheduled.destroyed.load(), 0);
}

TEST(manual_timer, a_firing_task_can_cancel_another_task_due_at_the_same_time) {
    manual_timer t;
    counters victim;
    timer_handle victim_handle;
    bool cancelled = false;
    t.schedule_after(1s, [&] { cancelled = victim_handle.cancel(); });
    victim_handle = t.schedule_after(1s, make_counted(victim));
    EXPECT_EQ(t.advance(1s), 1u);
    EXPECT_TRUE(cancelled);
    EXPECT_TRUE(victim.destroyed_unrun());
}

TEST(manual_timer, a_firing_task_cancelling_itself_gets_false) {
    manual_timer t;
    timer_handle self;
    bool cancelled = true;
    bool was_pending = true;
    self = t.schedule_after(1s, [&] {
        was_pending = self.pending();
        cancelled = self.cancel();
    });
    t.advance(1s);
    EXPECT_FALSE(was_pending);
    EXPECT_FALSE(cancelled);
}

TEST(manual_timer, a_handle_may_outlive_its_timer) {
    counters c;
    timer_handle h;
    {
        manual_timer t;
        h = t.schedule_after(1s, make_counted(c));
    }
    EXPECT_TRUE(c.destroyed_unrun());  // the timer's destructor destroyed it
    EXPECT_FALSE(h.pending());
    EXPECT_FALSE(h.cancel());
    EXPECT_EQ(c.destroyed.load(), 1);
}

TEST(manual_timer, the_destructor_destroys_pending_tasks_unrun_exactly_once) {
    counters c;
    {
        manual_timer t;
        for (int i = 0; i < 10; ++i) t.schedule_after(std::chrono::seconds(i + 1), make_counted(c));
        t.advance(3s);
    }
    EXPECT_EQ(c.runs.load(), 3);
    EXPECT_EQ(c.destroyed.load(), 10);
}

// The full million in every build: it takes about 1 s optimised and under 10 s
// under TSan or ASan, so it needs no scaling down for the sanitizer builds.
constexpr int many_timers = 1'000'000;

TEST(manual_timer, a_million_pending_timers_scheduled_then_cancelled_leave_nothing_behind) {
    manual_timer t;
    counters c;
    std::vector<timer_handle> handles;
    handles.reserve(many_timers);
    for (int i = 0; i < many_timers; ++i) {
        // Deadlines spread out of order, with ties, so cancel() removes from the
        // middle of the heap.
        auto delay = std::chrono::milliseconds((static_cast<long long>(i) * 7919) % 100'003);
        handles.push_back(t.schedule_after(1s + delay, make_counted(c)));
    }
    EXPECT_EQ(t.pending(), std::size_t{many_timers});
    int cancelled = 0;
    for (const timer_handle& h : handles) cancelled += h.cancel() ? 1 : 0;
    EXPECT_EQ(cancelled, many_timers);
    EXPECT_EQ(t.pending(), 0u);
    EXPECT_EQ(t.next_deadline(), timer::time_point::max());
    EXPECT_EQ(c.runs.load(), 0);
    EXPECT_EQ(c.destroyed.load(), many_timers);
    EXPECT_EQ(t.advance(1h), 0u);
}

TEST(manual_timer, several_threads_may_schedule_and_cancel_while_another_advances) {
    constexpr int threads = 4;
    constexpr int per_thread = 2000;
    manual_timer t;
    counters c;
    std::atomic<bool> producing{true};
    std::latch start(threads + 1);
    std::vector<std::thread> producers;
    std::atomic<int> cancelled{0};
    for (int p = 0; p < threads; ++p)
        producers.emplace_back([&] {
            start.arrive_and_wait();
            for (int i = 0; i < per_thread; ++i) {
                timer_handle h = t.schedule_after(std::chrono::milliseconds(i % 7), make_counted(c));
                if (i % 3 == 0 && h.cancel()) cancelled.fetch_add(1);
            }
        });
    std::thread advancer([&] {
        start.arrive_and_wait();
        while (producing.load()) t.advance(1ms);
    });
    for (std::thread& p : producers) p.join();
    producing = false;
    advancer.join();
    t.advance(1min);
    EXPECT_EQ(t.pending(), 0u);
    EXPECT_EQ(c.runs.load() + cancelled.load(), threads * per_thread);
    EXPECT_EQ(c.destroyed.load(), threads * per_thread);
}

TEST(manual_timer, is_usable_through_the_abstract_timer) {
    manual_timer concrete;
    timer& t = concrete;
    counters c;
    t.schedule_after(1s, make_counted(c));
    EXPECT_EQ(t.pending(), 1u);
    concrete.advance(1s);
    EXPECT_TRUE(c.ran_once());
}

// ---- real_timer: bounded real-clock tests --------------------------------------

constexpr auto generous = 10s;  // an upper bound for a wait, never a way to synchronise

// Blocks the timer's thread inside a task until released, so a test can line
// up several tasks before any of them can fire.
class timer_gate {
public:
    explicit timer_gate(timer& t) {
        t.schedule_after(0s, [this] {
            entered_.count_down();
            release_.wait();
        });
        entered_.wait();
    }
    void release() { release_.count_down(); }

private:
    std::latch entered_{1};
    std::latch release_{1};
};

TEST(real_timer, fires_due_tasks_in_deadline_order_and_equal_deadlines_in_scheduling_order) {
    real_timer t;
    std::vector<int> order;  // written on the timer's thread only
    std::promise<void> all_fired;
    timer_gate gate(t);
    const timer::time_point base = t.now();
    t.schedule_at(base + 3ms, [&] { order.push_back(3); });
    t.schedule_at(base + 1ms, [&] { order.push_back(1); });
    t.schedule_at(base + 2ms, [&] { order.push_back(20); });
    t.schedule_at(base + 2ms, [&] { order.push_back(21); });
    t.schedule_at(base + 4ms, [&] { all_fired.set_value(); });
    gate.release();
    ASSERT_EQ(all_fired.get_future().wait_for(generous), std::future_status::ready);
    EXPECT_EQ(order, (std::vector<int>{1, 20, 21, 3}));
}

TEST(real_timer, never_fires_a_task_before_its_deadline) {
    real_timer t;
    std::promise<timer::time_point> fired_at;
    const timer::time_point deadline = t.now() + 20ms;
    t.schedule_at(deadline, [&] { fired_at.set_value(timer::clock::now()); });
    std::future<timer::time_point> f = fired_at.get_future();
    ASSERT_EQ(f.wait_for(generous), std::future_status::ready);
    EXPECT_GE(f.get(), deadline);
}

TEST(real_timer, an_earlier_task_scheduled_later_wakes_the_timer_thread) {
    real_timer t;
    counters far;
    std::promise<void> near_fired;
    t.schedule_after(1h, make_counted(far));  // the thread now sleeps until an hour from now
    t.schedule_after(1ms, [&] { near_fired.set_value(); });
    ASSERT_EQ(near_fired.get_future().wait_for(generous), std::future_status::ready);
    EXPECT_EQ(far.runs.load(), 0);
    EXPECT_EQ(t.pending(), 1u);
}

TEST(real_timer, cancel_before_fire_destroys_the_task_unrun_and_others_still_fire) {
    real_timer t;
    counters cancelled;
    std::promise<void> later_fired;
    timer_handle h = t.schedule_after(5ms, make_counted(cancelled));
    t.schedule_after(10ms, [&] { later_fired.set_value(); });
    EXPECT_TRUE(h.cancel());
    EXPECT_TRUE(cancelled.destroyed_unrun());
    ASSERT_EQ(later_fired.get_future().wait_for(generous), std::future_status::ready);
    EXPECT_TRUE(cancelled.destroyed_unrun());
    EXPECT_FALSE(h.cancel());
}

TEST(real_timer, cancel_after_fire_returns_false) {
    real_timer t;
    counters c;
    std::promise<void> fired;
    timer_handle h = t.schedule_after(0s, make_counted(c, [&] { fired.set_value(); }));
    ASSERT_EQ(fired.get_future().wait_for(generous), std::future_status::ready);
    c.wait_destroyed(1);
    EXPECT_FALSE(h.cancel());
    EXPECT_TRUE(c.ran_once());
}

TEST(real_timer, the_destructor_destroys_pending_tasks_unrun_exactly_once) {
    counters c;
    timer_handle h;
    {
        real_timer t;
        for (int i = 0; i < 10; ++i) h = t.schedule_after(1h + std::chrono::seconds(i), make_counted(c));
    }
    EXPECT_EQ(c.runs.load(), 0);
    EXPECT_EQ(c.destroyed.load(), 10);
    EXPECT_FALSE(h.cancel());  // the handle outlived its timer
}

TEST(real_timer, schedule_after_the_timer_stopped_is_rejected_and_the_task_destroyed_unrun) {
    counters rescheduled;
    std::size_t pending_seen = 99;
    {
        real_timer t;
        // Destroyed by ~real_timer; its destructor tries to schedule again and
        // is refused (outside any lock, so no deadlock either).
        t.schedule_after(1h, calls_back_on_destruction(&t, &rescheduled, &pending_seen));
    }
    EXPECT_EQ(pending_seen, 0u);
    EXPECT_TRUE(rescheduled.destroyed_unrun());
}

TEST(real_timer, a_timer_destroyed_by_its_own_task_does_not_deadlock) {
    // The timer's thread outlives the timer here (it is detached), so what the
    // tasks touch is shared with them.
    struct scenario {
        counters pending_task;
        std::latch scheduled{1};
        std::promise<void> destroyed;
    };
    auto s = std::make_shared<scenario>();
    auto* t = new real_timer;
    t->schedule_after(1h, make_counted(s->pending_task, [s] {}));
    t->schedule_after(0s, [t, s] {
        s->scheduled.wait();  // the test is done calling into *t
        delete t;             // must not join the timer's own thread
        s->destroyed.set_value();
    });
    s->scheduled.count_down();
    ASSERT_EQ(s->destroyed.get_future().wait_for(generous), std::future_status::ready);
    EXPECT_TRUE(s->pending_task.destroyed_unrun());
}

TEST(real_timer, tasks_scheduled_from_several_threads_all_fire_once) {
    constexpr int threads = 4;
    constexpr int per_thread = 250;
    counters c;
    real_timer t;
    std::vector<std::thread> producers;
    for (int p = 0; p < threads; ++p)
        producers.emplace_back([&, p] {
            for (int i = 0; i < per_thread; ++i)
                t.schedule_after(std::chrono::microseconds((i * 37 + p) % 2000), make_counted(c));
        });
    for (std::thread& p : producers) p.join();
    c.wait_destroyed(threads * per_thread);
    EXPECT_EQ(c.runs.load(), threads * per_thread);
    EXPECT_EQ(t.pending(), 0u);
}

}  // namespace
