#include "vow/inline_executor.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "counted.hpp"

namespace {

using vow::inline_executor;
using vow_test::counters;
using vow_test::make_counted;

std::uintptr_t stack_address() {
    volatile char marker = 0;
    return reinterpret_cast<std::uintptr_t>(&marker);
}

TEST(inline_executor, runs_the_task_on_the_calling_thread_before_execute_returns) {
    inline_executor ex;
    std::thread::id ran_on;
    bool ran = false;
    ex.execute([&] {
        ran = true;
        ran_on = std::this_thread::get_id();
    });
    EXPECT_TRUE(ran);
    EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(inline_executor, every_task_runs_once_and_is_destroyed_once) {
    inline_executor ex;
    counters c;
    ex.execute(make_counted(c));
    EXPECT_TRUE(c.ran_once());
}

TEST(inline_executor, a_task_scheduled_from_a_task_runs_after_the_current_one_returns) {
    inline_executor ex;
    std::vector<std::string> log;
    ex.execute([&] {
        log.push_back("outer begins");
        ex.execute([&] { log.push_back("inner"); });
        log.push_back("outer ends");
    });
    EXPECT_EQ(log, (std::vector<std::string>{"outer begins", "outer ends", "inner"}));
}

TEST(inline_executor, nested_tasks_run_in_fifo_order) {
    inline_executor ex;
    std::vector<int> order;
    ex.execute([&] {
        order.push_back(0);
        for (int i = 1; i <= 3; ++i)
            ex.execute([&, i] {
                order.push_back(i);
                ex.execute([&, i] { order.push_back(10 + i); });
            });
    });
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 11, 12, 13}));
}

TEST(inline_executor, a_100000_long_chain_that_schedules_inline_runs_in_constant_stack_depth) {
    constexpr int chain_length = 100'000;
    inline_executor ex;
    int steps = 0;
    std::uintptr_t base = 0;
    std::uintptr_t deepest = 0;  // the largest distance below `base` seen in a step
    std::function<void()> step = [&] {
        std::uintptr_t here = stack_address();
        if (base == 0) base = here;
        if (base > here && base - here > deepest) deepest = base - here;
        if (++steps < chain_length) ex.execute([&] { step(); });
    };
    ex.execute([&] { step(); });
    EXPECT_EQ(steps, chain_length);
    // Nested calls would use at least ~100 bytes a step (megabytes in all);
    // trampolined, every step starts at the same depth.
    EXPECT_LT(deepest, 4096u);
}

TEST(inline_executor, a_100000_long_chain_of_counted_tasks_destroys_each_exactly_once) {
    constexpr int chain_length = 100'000;
    inline_executor ex;
    counters c;
    int steps = 0;
    std::function<void()> schedule_next = [&] {
        if (steps++ < chain_length) ex.execute(make_counted(c, [&] { schedule_next(); }));
    };
    schedule_next();
    EXPECT_EQ(c.runs.load(), chain_length);
    EXPECT_EQ(c.destroyed.load(), chain_length);
}

TEST(inline_executor, running_in_this_thread_is_true_only_inside_an_inline_task) {
    inline_executor ex;
    EXPECT_FALSE(ex.running_in_this_thread());
    bool inside = false;
    bool inside_nested = false;
    ex.execute([&] {
        inside = ex.running_in_this_thread();
        ex.execute([&] { inside_nested = ex.running_in_this_thread(); });
    });
    EXPECT_TRUE(inside);
    EXPECT_TRUE(inside_nested);
    EXPECT_FALSE(ex.running_in_this_thread());
}

TEST(inline_executor, another_thread_is_not_affected_by_a_running_inline_task) {
    inline_executor ex;
    bool other_thread_sees_running = true;
    bool other_thread_ran_at_once = false;
    ex.execute([&] {
        std::thread other([&] {
            other_thread_sees_running = ex.running_in_this_thread();
            bool ran = false;
            ex.execute([&] { ran = true; });
            other_thread_ran_at_once = ran;  // not queued behind this thread's task
        });
        other.join();
    });
    EXPECT_FALSE(other_thread_sees_running);
    EXPECT_TRUE(other_thread_ran_at_once);
}

TEST(inline_executor, instance_is_one_shared_executor) {
    inline_executor& a = inline_executor::instance();
    inline_executor& b = inline_executor::instance();
    EXPECT_EQ(&a, &b);
    bool ran = false;
    a.execute([&] { ran = true; });
    EXPECT_TRUE(ran);
}

TEST(inline_executor, is_usable_through_the_abstract_executor) {
    inline_executor concrete;
    vow::executor& ex = concrete;
    counters c;
    ex.execute(make_counted(c));
    EXPECT_TRUE(c.ran_once());
}

// A continuation queues itself (detail::trampoline_item) rather than a task;
// it must keep its place among the tasks.
struct recording_item final : vow::detail::trampoline_item {
    std::vector<std::string>* log;
    std::string name;
    recording_item(std::vector<std::string>* l, std::string n) : log(l), name(std::move(n)) {}
    void run_queued() noexcept override { log->push_back(name); }
};

TEST(inline_executor, items_run_at_once_when_idle_and_in_fifo_order_with_tasks_when_busy) {
    inline_executor ex;
    std::vector<std::string> log;
    recording_item alone(&log, "alone");
    vow::detail::run_inline(alone);
    EXPECT_EQ(log, std::vector<std::string>{"alone"});

    log.clear();
    recording_item second(&log, "item 2");
    recording_item fourth(&log, "item 4");
    ex.execute([&] {
        log.push_back("task 1");
        vow::detail::run_inline(second);
        ex.execute([&] { log.push_back("task 3"); });
        vow::detail::run_inline(fourth);
        log.push_back("task 1 returns");
    });
    EXPECT_EQ(log, (std::vector<std::string>{"task 1", "task 1 returns", "item 2", "task 3", "item 4"}));
}

}  // namespace
