#include "vow/strand.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "counted.hpp"
#include "vow/errors.hpp"
#include "vow/inline_executor.hpp"
#include "vow/manual_executor.hpp"
#include "vow/thread_pool.hpp"

namespace {

using vow::manual_executor;
using vow::strand;
using vow_test::counters;
using vow_test::make_counted;

TEST(strand, runs_tasks_in_the_order_they_were_accepted) {
    manual_executor ex;
    strand s(ex);
    std::vector<int> order;
    for (int i = 0; i < 10; ++i) s.execute([&, i] { order.push_back(i); });
    ex.run_until_idle();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(strand, has_no_thread_of_its_own_and_posts_one_turn_for_many_tasks) {
    manual_executor ex;
    strand s(ex);
    counters c;
    for (int i = 0; i < 5; ++i) s.execute(make_counted(c));
    EXPECT_EQ(c.runs.load(), 0);  // nothing runs until the wrapped executor runs the turn
    EXPECT_EQ(ex.pending(), 1u);  // one turn, not one post per task
    EXPECT_TRUE(ex.run_one());
    EXPECT_EQ(c.runs.load(), 5);
    EXPECT_EQ(c.destroyed.load(), 5);
    EXPECT_EQ(ex.pending(), 0u);
}

TEST(strand, a_turn_runs_at_most_batch_tasks_and_lets_other_work_in_between) {
    manual_executor ex;
    strand s(ex, 4);
    std::vector<std::string> log;
    for (int i = 0; i < 10; ++i) s.execute([&, i] { log.push_back("s" + std::to_string(i)); });
    ex.execute([&] { log.push_back("other"); });

    ASSERT_TRUE(ex.run_one());  // first turn: four tasks, then it re-posts itself behind "other"
    EXPECT_EQ(log, (std::vector<std::string>{"s0", "s1", "s2", "s3"}));
    EXPECT_EQ(ex.pending(), 2u);
    ex.run_until_idle();
    EXPECT_EQ(log, (std::vector<std::string>{"s0", "s1", "s2", "s3", "other", "s4", "s5", "s6", "s7", "s8",
                                             "s9"}));
}

TEST(strand, a_busy_strand_does_not_starve_work_posted_while_it_runs) {
    manual_executor ex;
    strand s(ex, 2);
    std::vector<std::string> log;
    // Each strand task posts one piece of other work to the executor; with a
    // batch of two, that work runs after every second strand task.
    for (int i = 0; i < 6; ++i)
        s.execute([&, i] {
            log.push_back("s" + std::to_string(i));
            ex.execute([&, i] { log.push_back("o" + std::to_string(i)); });
        });
    ex.run_until_idle();
    EXPECT_EQ(log, (std::vector<std::string>{"s0", "s1", "o0", "o1", "s2", "s3", "o2", "o3", "s4", "s5", "o4",
                                             "o5"}));
}

TEST(strand, a_batch_of_zero_runs_one_task_per_turn) {
    manual_executor ex;
    strand s(ex, 0);
    counters c;
    for (int i = 0; i < 3; ++i) s.execute(make_counted(c));
    EXPECT_TRUE(ex.run_one());
    EXPECT_EQ(c.runs.load(), 1);
    EXPECT_EQ(ex.run_until_idle(), 2u);
    EXPECT_EQ(c.runs.load(), 3);
}

TEST(strand, a_task_posted_from_inside_the_strand_runs_after_the_current_one_in_fifo_order) {
    manual_executor ex;
    strand s(ex);
    std::vector<std::string> log;
    s.execute([&] {
        log.push_back("first begins");
        s.execute([&] { log.push_back("posted from first"); });
        log.push_back("first ends");
    });
    s.execute([&] { log.push_back("second"); });
    ex.run_until_idle();
    EXPECT_EQ(log, (std::vector<std::string>{"first begins", "first ends", "second", "posted from first"}));
}

TEST(strand, never_runs_two_tasks_at_once_and_keeps_each_producers_order) {
    constexpr int producers = 4;
    constexpr int per_producer = 2'000;
    counters c;
    vow::thread_pool pool(4, "strand-tp");
    strand s(pool, 8);  // a small batch: turns hop between workers often
    std::atomic<int> inside{0};
    std::atomic<int> overlaps{0};
    std::atomic<int> off_pool{0};
    // Written only by strand tasks, without a lock: the strand is the lock
    // (TSan checks that one task happens-before the next).
    std::vector<int> next_expected(producers, 0);
    int out_of_order = 0;

    std::latch start(producers);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            start.arrive_and_wait();
            for (int i = 0; i < per_producer; ++i)
                s.execute(make_counted(c, [&, p, i] {
                    if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
                    if (!pool.running_in_this_thread()) off_pool.fetch_add(1);
                    if (next_expected[p] != i) ++out_of_order;
                    next_expected[p] = i + 1;
                    inside.fetch_sub(1);
                }));
        });
    for (std::thread& t : threads) t.join();
    c.wait_destroyed(producers * per_producer);

    EXPECT_EQ(overlaps.load(), 0);
    EXPECT_EQ(off_pool.load(), 0);
    EXPECT_EQ(c.runs.load(), producers * per_producer);
    pool.join();  // then the strand's writes are visible here
    EXPECT_EQ(out_of_order, 0);
    for (int p = 0; p < producers; ++p) EXPECT_EQ(next_expected[p], per_producer);
}

TEST(strand, two_strands_on_one_pool_each_stay_serial) {
    constexpr int per_strand = 2'000;
    counters c;
    vow::thread_pool pool(2, "strand-tp");
    strand a(pool, 4), b(pool, 4);
    std::atomic<int> inside_a{0}, inside_b{0}, overlaps{0};
    std::thread other([&] {
        for (int i = 0; i < per_strand; ++i)
            b.execute(make_counted(c, [&] {
                if (inside_b.fetch_add(1) != 0) overlaps.fetch_add(1);
                inside_b.fetch_sub(1);
            }));
    });
    for (int i = 0; i < per_strand; ++i)
        a.execute(make_counted(c, [&] {
            if (inside_a.fetch_add(1) != 0) overlaps.fetch_add(1);
            inside_a.fetch_sub(1);
        }));
    other.join();
    c.wait_destroyed(2 * per_strand);
    EXPECT_EQ(overlaps.load(), 0);
    EXPECT_EQ(c.runs.load(), 2 * per_strand);
}

TEST(strand, running_in_this_thread_is_true_only_inside_its_own_tasks) {
    manual_executor ex;
    strand s(ex);
    strand other(ex);
    bool inside = false, inside_other = true, inner_running = false;
    EXPECT_FALSE(s.running_in_this_thread());
    s.execute([&] {
        inside = s.running_in_this_thread();
        inside_other = other.running_in_this_thread();
        inner_running = ex.running_in_this_thread();
    });
    ex.run_until_idle();
    EXPECT_TRUE(inside);
    EXPECT_FALSE(inside_other);
    EXPECT_TRUE(inner_running);
    EXPECT_FALSE(s.running_in_this_thread());
}

TEST(strand, running_in_this_thread_holds_for_both_strands_when_nested) {
    manual_executor ex;
    strand outer(ex);
    strand nested(outer);
    bool in_outer = false, in_nested = false;
    nested.execute([&] {
        in_outer = outer.running_in_this_thread();
        in_nested = nested.running_in_this_thread();
    });
    ex.run_until_idle();
    EXPECT_TRUE(in_outer);
    EXPECT_TRUE(in_nested);
    EXPECT_EQ(&nested.inner(), &outer);
    EXPECT_EQ(&outer.inner(), &ex);
}

TEST(strand, over_an_inline_executor_runs_at_once_and_still_serialises) {
    vow::inline_executor ex;
    strand s(ex);
    std::vector<std::string> log;
    s.execute([&] {
        log.push_back("outer begins");
        s.execute([&] { log.push_back("inner"); });
        log.push_back("outer ends");
    });
    EXPECT_EQ(log, (std::vector<std::string>{"outer begins", "outer ends", "inner"}));
}

TEST(strand, execute_throws_and_destroys_the_task_unrun_when_the_inner_executor_rejects_the_turn) {
    manual_executor ex;
    strand s(ex);
    ex.shutdown();
    counters c;
    EXPECT_THROW(s.execute(make_counted(c)), vow::executor_shut_down);
    EXPECT_TRUE(c.destroyed_unrun());
    counters again;  // the strand is not left believing a turn is scheduled
    EXPECT_THROW(s.execute(make_counted(again)), vow::executor_shut_down);
    EXPECT_TRUE(again.destroyed_unrun());
}

TEST(strand, tasks_queued_behind_a_turn_the_inner_executor_drops_are_destroyed_unrun_once) {
    manual_executor ex;
    strand s(ex);
    counters c;
    for (int i = 0; i < 3; ++i) s.execute(make_counted(c));
    EXPECT_EQ(ex.shutdown(), 1u);  // the turn
    EXPECT_EQ(c.runs.load(), 0);
    EXPECT_EQ(c.destroyed.load(), 3);
}

TEST(strand, tasks_left_when_the_inner_executor_rejects_a_re_post_are_destroyed_unrun_once) {
    manual_executor ex;
    strand s(ex, 2);
    counters ran, dropped;
    s.execute(make_counted(ran, [&] { ex.shutdown(); }));
    s.execute(make_counted(ran));
    s.execute(make_counted(dropped));
    s.execute(make_counted(dropped));
    EXPECT_EQ(ex.run_until_idle(), 1u);
    EXPECT_EQ(ran.runs.load(), 2);
    EXPECT_EQ(ran.destroyed.load(), 2);
    EXPECT_EQ(dropped.runs.load(), 0);
    EXPECT_EQ(dropped.destroyed.load(), 2);
}

TEST(strand, tasks_dropped_by_a_pool_shutdown_now_are_destroyed_unrun_once) {
    counters blocked, queued;
    vow::thread_pool pool(1, "strand-tp");
    std::latch started(1), release(1);
    pool.execute(make_counted(blocked, [&] {
        started.count_down();
        release.wait();
    }));
    started.wait();
    strand s(pool);
    for (int i = 0; i < 3; ++i) s.execute(make_counted(queued));
    EXPECT_EQ(pool.shutdown_now(), 1u);  // the strand's turn
    EXPECT_EQ(queued.runs.load(), 0);
    EXPECT_EQ(queued.destroyed.load(), 3);
    release.count_down();
    pool.join();
    EXPECT_TRUE(blocked.ran_once());
}

TEST(strand, queued_tasks_still_run_after_the_strand_object_is_destroyed) {
    manual_executor ex;
    counters c;
    std::vector<int> order;
    {
        strand s(ex, 2);
        for (int i = 0; i < 5; ++i) s.execute(make_counted(c, [&, i] { order.push_back(i); }));
    }
    ex.run_until_idle();
    EXPECT_EQ(c.runs.load(), 5);
    EXPECT_EQ(c.destroyed.load(), 5);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(strand, is_usable_through_the_abstract_executor) {
    manual_executor ex;
    strand concrete(ex);
    vow::executor& e = concrete;
    counters c;
    e.execute(make_counted(c));
    ex.run_until_idle();
    EXPECT_TRUE(c.ran_once());
}

}  // namespace
