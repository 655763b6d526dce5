#include "vow/manual_executor.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <latch>
#include <thread>
#include <utility>
#include <vector>

#include "counted.hpp"
#include "vow/errors.hpp"

namespace {

using vow::manual_executor;
using vow_test::counters;
using vow_test::make_counted;

TEST(manual_executor, nothing_runs_until_the_caller_says_so) {
    manual_executor ex;
    counters c;
    ex.execute(make_counted(c));
    EXPECT_EQ(ex.pending(), 1u);
    EXPECT_EQ(c.runs.load(), 0);
    EXPECT_TRUE(ex.run_one());
    EXPECT_TRUE(c.ran_once());
    EXPECT_EQ(ex.pending(), 0u);
}

TEST(manual_executor, run_one_on_an_empty_queue_returns_false) {
    manual_executor ex;
    EXPECT_FALSE(ex.run_one());
    EXPECT_EQ(ex.run_all(), 0u);
    EXPECT_EQ(ex.run_until_idle(), 0u);
}

TEST(manual_executor, run_one_runs_the_oldest_task_only) {
    manual_executor ex;
    std::vector<int> order;
    for (int i = 0; i < 3; ++i) ex.execute([&, i] { order.push_back(i); });
    EXPECT_TRUE(ex.run_one());
    EXPECT_EQ(order, std::vector<int>{0});
    EXPECT_TRUE(ex.run_one());
    EXPECT_TRUE(ex.run_one());
    EXPECT_FALSE(ex.run_one());
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(manual_executor, run_all_runs_what_was_queued_at_the_call_but_not_what_those_tasks_queue) {
    manual_executor ex;
    std::vector<int> order;
    for (int i = 0; i < 3; ++i)
        ex.execute([&, i] {
            order.push_back(i);
            ex.execute([&, i] { order.push_back(10 + i); });
        });
    EXPECT_EQ(ex.run_all(), 3u);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(ex.pending(), 3u);
    EXPECT_EQ(ex.run_all(), 3u);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 10, 11, 12}));
}

TEST(manual_executor, run_until_idle_also_runs_tasks_queued_meanwhile) {
    manual_executor ex;
    int depth = 0;
    std::function<void()> again = [&] {
        if (++depth < 5) ex.execute([&] { again(); });
    };
    ex.execute([&] { again(); });
    EXPECT_EQ(ex.run_until_idle(), 5u);
    EXPECT_EQ(depth, 5);
    EXPECT_EQ(ex.pending(), 0u);
}

TEST(manual_executor, tasks_run_on_the_thread_that_calls_run) {
    manual_executor ex;
    std::thread::id ran_on;
    ex.execute([&] { ran_on = std::this_thread::get_id(); });
    std::thread runner([&] { ex.run_one(); });
    std::thread::id runner_id = runner.get_id();
    runner.join();
    EXPECT_EQ(ran_on, runner_id);
}

TEST(manual_executor, running_in_this_thread_is_true_only_inside_its_own_task) {
    manual_executor ex;
    manual_executor other;
    bool inside = false;
    bool inside_other = true;
    ex.execute([&] {
        inside = ex.running_in_this_thread();
        inside_other = other.running_in_this_thread();
    });
    EXPECT_FALSE(ex.running_in_this_thread());
    ex.run_one();
    EXPECT_TRUE(inside);
    EXPECT_FALSE(inside_other);
    EXPECT_FALSE(ex.running_in_this_thread());
}

TEST(manual_executor, shutdown_destroys_every_queued_task_unrun_and_says_how_many) {
    manual_executor ex;
    counters c;
    for (int i = 0; i < 4; ++i) ex.execute(make_counted(c));
    EXPECT_EQ(ex.shutdown(), 4u);
    EXPECT_EQ(c.runs.load(), 0);
    EXPECT_EQ(c.destroyed.load(), 4);
    EXPECT_EQ(ex.pending(), 0u);
    EXPECT_FALSE(ex.run_one());
}

TEST(manual_executor, execute_after_shutdown_throws_and_destroys_the_task_unrun) {
    manual_executor ex;
    ex.shutdown();
    counters c;
    EXPECT_THROW(ex.execute(make_counted(c)), vow::executor_shut_down);
    EXPECT_TRUE(c.destroyed_unrun());
    EXPECT_EQ(ex.pending(), 0u);
}

TEST(manual_executor, a_task_destroyed_by_shutdown_may_schedule_on_the_executor_and_is_rejected) {
    // The queued tasks are destroyed outside the lock: a destructor that calls
    // back into the executor must not deadlock, and is rejected.
    manual_executor ex;
    counters inner;
    bool rejected = false;
    struct reschedules_on_destruction {
        manual_executor* ex;
        counters* inner;
        bool* rejected;
        reschedules_on_destruction(manual_executor* e, counters* c, bool* r) : ex(e), inner(c), rejected(r) {}
        reschedules_on_destruction(reschedules_on_destruction&& o) noexcept
            : ex(std::exchange(o.ex, nullptr)), inner(o.inner), rejected(o.rejected) {}
        ~reschedules_on_destruction() {
            if (ex == nullptr) return;
            try {
                ex->execute(make_counted(*inner));
            } catch (const vow::executor_shut_down&) {
                *rejected = true;
            }
        }
        void operator()() {}
    };
    ex.execute(reschedules_on_destruction(&ex, &inner, &rejected));
    EXPECT_EQ(ex.shutdown(), 1u);
    EXPECT_TRUE(rejected);
    EXPECT_TRUE(inner.destroyed_unrun());
}

TEST(manual_executor, a_task_can_shut_the_executor_down_and_the_rest_is_dropped) {
    manual_executor ex;
    counters later;
    ex.execute([&] { EXPECT_EQ(ex.shutdown(), 2u); });
    ex.execute(make_counted(later));
    ex.execute(make_counted(later));
    EXPECT_EQ(ex.run_until_idle(), 1u);
    EXPECT_EQ(later.runs.load(), 0);
    EXPECT_EQ(later.destroyed.load(), 2);
}

TEST(manual_executor, the_destructor_destroys_queued_tasks_unrun) {
    counters c;
    {
        manual_executor ex;
        ex.execute(make_counted(c));
        ex.execute(make_counted(c));
    }
    EXPECT_EQ(c.runs.load(), 0);
    EXPECT_EQ(c.destroyed.load(), 2);
}

TEST(manual_executor, a_task_is_destroyed_right_after_it_runs) {
    manual_executor ex;
    counters c;
    ex.execute(make_counted(c));
    ex.run_one();
    EXPECT_TRUE(c.ran_once());
}

TEST(manual_executor, several_threads_may_queue_concurrently_and_nothing_is_lost) {
    constexpr int producers = 4;
    constexpr int per_producer = 1000;
    manual_executor ex;
    counters c;
    std::latch start(producers);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&] {
            start.arrive_and_wait();
            for (int i = 0; i < per_producer; ++i) ex.execute(make_counted(c));
        });
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(ex.pending(), std::size_t{producers * per_producer});
    EXPECT_EQ(ex.run_until_idle(), std::size_t{producers * per_producer});
    EXPECT_EQ(c.runs.load(), producers * per_producer);
    EXPECT_EQ(c.destroyed.load(), producers * per_producer);
}

TEST(manual_executor, one_thread_may_run_while_another_queues) {
    constexpr int total = 2000;
    manual_executor ex;
    counters c;
    std::thread producer([&] {
        for (int i = 0; i < total; ++i) ex.execute(make_counted(c));
    });
    int ran = 0;
    while (ran < total) ran += ex.run_one() ? 1 : 0;
    producer.join();
    EXPECT_EQ(c.runs.load(), total);
    EXPECT_EQ(c.destroyed.load(), total);
}

}  // namespace
