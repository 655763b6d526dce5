#include "vow/hedge.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>

#include "combinator_support.hpp"
#include "vow/errors.hpp"
#include "vow/manual_executor.hpp"
#include "vow/promise.hpp"
#include "vow/timer.hpp"

namespace {

using namespace std::chrono_literals;
using vow::future;
using vow::manual_executor;
using vow::manual_timer;
using vow::promise;
using vow_ctest::calls;
using vow_ctest::counted_fn;

// The attempts started so far: their promises, their numbers, and what each
// one's producer saw of a cancel.
template <class T>
struct attempt_log {
    struct entry {
        promise<T> p;
        int number = 0;
        int cancel_hooks = 0;
    };
    std::deque<entry> started;

    auto maker() {
        return [this](int number) {
            auto& e = started.emplace_back();
            e.number = number;
            e.p.on_cancel([&e] { ++e.cancel_hooks; });
            return e.p.get_future();
        };
    }
};

struct hedge_fixture : ::testing::Test {
    manual_timer timer;
    manual_executor ex;
    attempt_log<int> log;

    future<int> start(int max_attempts, vow::timer::duration delay = 10ms) {
        auto out = vow::hedge(log.maker(), delay, max_attempts, timer, ex);
        ex.run_until_idle();
        return out;
    }
    void advance(vow::timer::duration d) {
        timer.advance(d);
        ex.run_until_idle();
    }
};

TEST_F(hedge_fixture, an_attempt_that_succeeds_before_the_delay_is_the_only_one) {
    auto out = start(3);
    ASSERT_EQ(log.started.size(), 1u);
    EXPECT_EQ(log.started[0].number, 1);
    log.started[0].p.set_value(7);
    ex.run_until_idle();
    EXPECT_EQ(out.get(), 7);
    advance(1s);
    EXPECT_EQ(log.started.size(), 1u);
    EXPECT_EQ(timer.pending(), 0u);  // the hedge timer was cancelled
}

TEST_F(hedge_fixture, a_second_attempt_starts_exactly_at_the_delay_and_not_before) {
    auto out = start(3);
    advance(10ms - 1ns);
    EXPECT_EQ(log.started.size(), 1u);
    advance(1ns);
    ASSERT_EQ(log.started.size(), 2u);
    EXPECT_EQ(log.started[1].number, 2);
    out.cancel();
}

TEST_F(hedge_fixture, the_first_success_wins_and_every_other_attempt_is_cancelled) {
    auto out = start(3);
    advance(10ms);
    advance(10ms);
    ASSERT_EQ(log.started.size(), 3u);
    log.started[1].p.set_value(2);
    ex.run_until_idle();
    EXPECT_EQ(out.get(), 2);
    EXPECT_EQ(log.started[0].cancel_hooks, 1);
    EXPECT_EQ(log.started[1].cancel_hooks, 0);  // the winner is left alone
    EXPECT_EQ(log.started[2].cancel_hooks, 1);
}

TEST_F(hedge_fixture, no_more_than_max_attempts_ever_start) {
    auto out = start(2);
    advance(10ms);
    advance(1s);
    EXPECT_EQ(log.started.size(), 2u);
    EXPECT_EQ(timer.pending(), 0u);
    out.cancel();
}

TEST_F(hedge_fixture, when_every_attempt_fails_it_fails_with_all_failed_holding_each_error_in_attempt_order) {
    auto out = start(3);
    advance(10ms);
    advance(10ms);
    ASSERT_EQ(log.started.size(), 3u);
    log.started[2].p.set_exception(std::runtime_error("third"));
    log.started[0].p.set_exception(std::runtime_error("first"));
    EXPECT_FALSE(out.is_ready());
    log.started[1].p.set_exception(std::runtime_error("second"));
    ex.run_until_idle();
    try {
        out.get();
        FAIL() << "expected all_failed";
    } catch (const vow::all_failed& e) {
        ASSERT_EQ(e.errors().size(), 3u);
        const char* expected[] = {"first", "second", "third"};
        for (std::size_t i = 0; i < 3; ++i) {
            try {
                std::rethrow_exception(e.errors()[i]);
            } catch (const std::runtime_error& err) {
                EXPECT_EQ(std::string(err.what()), expected[i]);
            }
        }
    }
}

TEST_F(hedge_fixture, a_failure_with_nothing_else_in_flight_starts_the_next_attempt_at_once) {
    auto out = start(3);
    log.started[0].p.set_exception(std::runtime_error("refused"));
    ex.run_until_idle();
    ASSERT_EQ(log.started.size(), 2u);  // no wait for the delay
    advance(10ms - 1ns);                // the old hedge is stale; the new one is 10 ms after the start
    EXPECT_EQ(log.started.size(), 2u);
    advance(1ns);
    EXPECT_EQ(log.started.size(), 3u);
    log.started[2].p.set_value(3);
    ex.run_until_idle();
    EXPECT_EQ(out.get(), 3);
}

TEST_F(hedge_fixture, an_attempt_that_throws_counts_as_a_failed_attempt) {
    int calls_made = 0;
    auto out = vow::hedge(
        [&]() -> future<int> {
            if (++calls_made == 1) throw std::runtime_error("cannot start");
            return vow::make_ready_future(5);
        },
        10ms, 2, timer, ex);
    ex.run_until_idle();
    EXPECT_EQ(calls_made, 2);
    EXPECT_EQ(out.get(), 5);
}

TEST_F(hedge_fixture, cancelling_the_result_cancels_the_attempts_in_flight_and_starts_no_more) {
    auto out = start(4);
    advance(10ms);
    ASSERT_EQ(log.started.size(), 2u);
    out.cancel();
    EXPECT_TRUE(out.is_cancelled());
    EXPECT_EQ(log.started[0].cancel_hooks, 1);
    EXPECT_EQ(log.started[1].cancel_hooks, 1);
    EXPECT_EQ(timer.pending(), 0u);
    advance(1s);
    EXPECT_EQ(log.started.size(), 2u);
}

TEST_F(hedge_fixture, a_late_success_after_a_cancel_is_dropped_quietly) {
    auto out = start(2);
    out.cancel();
    log.started[0].p.set_value(1);  // loses to the cancel; no usage_error
    ex.run_until_idle();
    EXPECT_TRUE(out.is_cancelled());
}

TEST(hedge, a_move_only_value_is_moved_out_of_the_winning_attempt) {
    manual_timer timer;
    manual_executor ex;
    attempt_log<std::unique_ptr<int>> log;
    auto out = vow::hedge(log.maker(), 5ms, 2, timer, ex);
    ex.run_until_idle();
    log.started[0].p.set_value(std::make_unique<int>(42));
    ex.run_until_idle();
    EXPECT_EQ(*out.get(), 42);
}

TEST(hedge, a_timer_destroyed_before_the_next_attempt_starts_fails_the_result_with_executor_shut_down) {
    manual_executor ex;
    attempt_log<int> log;
    future<int> out;
    {
        manual_timer timer;
        out = vow::hedge(log.maker(), 5ms, 2, timer, ex);
        ex.run_until_idle();
    }
    EXPECT_THROW(out.get(), vow::executor_shut_down);
    EXPECT_EQ(log.started[0].cancel_hooks, 1);  // the attempt in flight is not left running
}

TEST(hedge, an_executor_that_refuses_the_first_attempt_fails_the_result_with_executor_shut_down) {
    manual_timer timer;
    manual_executor ex;
    ex.shutdown();
    auto out = vow::hedge([] { return vow::make_ready_future(1); }, 5ms, 2, timer, ex);
    EXPECT_THROW(out.get(), vow::executor_shut_down);
}

TEST(hedge, make_attempt_is_destroyed_once_when_the_result_is_done_and_dropped) {
    calls c;
    {
        manual_timer timer;
        manual_executor ex;
        auto out = vow::hedge(counted_fn(c, [] { return vow::make_ready_future(1); }), 5ms, 3, timer, ex);
        ex.run_until_idle();
        EXPECT_EQ(out.get(), 1);
        EXPECT_EQ(c.runs.load(), 1);
    }
    EXPECT_EQ(c.destroyed.load(), 1);
}

TEST(hedge, bad_arguments_are_usage_errors) {
    manual_timer timer;
    manual_executor ex;
    auto make = [] { return vow::make_ready_future(1); };
    EXPECT_THROW(vow::hedge(make, 5ms, 0, timer, ex), vow::usage_error);
    EXPECT_THROW(vow::hedge(make, -1ms, 2, timer, ex), vow::usage_error);
}

}  // namespace
