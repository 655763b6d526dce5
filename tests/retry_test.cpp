#include "vow/retry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <deque>
#include <exception>
#include <latch>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
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
using vow::jitter;
using vow::manual_executor;
using vow::manual_timer;
using vow::promise;
using vow::retry_policy;
using duration = vow::timer::duration;
using time_point = vow::timer::time_point;
using vow_ctest::calls;
using vow_ctest::error_kind;
using vow_ctest::every_error_kind;
using vow_ctest::failing_input;
using vow_ctest::holds;
using vow_ctest::lifetimes;
using vow_ctest::message_of;
using vow_ctest::take_ready;
using vow_ctest::tracked;

// What make_attempt saw: one promise per attempt, its number and the moment
// (on the manual clock) it started.
template <class T = int>
struct attempt_log {
    std::deque<promise<T>> promises;
    std::vector<int> numbers;
    std::vector<time_point> started;
    std::vector<std::stop_token> tokens;

    std::size_t count() const { return numbers.size(); }
    promise<T>& last() { return promises.back(); }
};

// make_attempt(int n): records the attempt and returns the future of a fresh promise.
template <class T>
auto attempts_into(attempt_log<T>& log, vow::timer& t) {
    return [&log, &t](int n) {
        log.numbers.push_back(n);
        log.started.push_back(t.now());
        auto& p = log.promises.emplace_back();
        log.tokens.push_back(p.stop_token());
        return p.get_future();
    };
}

// on_retry, recorded.
struct retry_report {
    int attempt;
    std::exception_ptr error;
    duration delay;
};

// A policy with no jitter and no randomness, so delays are exact.
retry_policy plain_policy(int max_attempts) {
    retry_policy p;
    p.max_attempts = max_attempts;
    p.initial_delay = 100ms;
    p.multiplier = 2.0;
    p.max_delay = 30s;
    p.jitter_mode = jitter::none;
    return p;
}

// ---------------------------------------------------------------------------
// The schedule: delays by the policy's formula, attempts starting on time

constexpr std::uint64_t seed = 0x5eed'2024;

// The expected backoff after failed attempt n (1-based), computed from the
// formula independently of the library: base = min(max_delay,
// initial * multiplier^(n-1)); none: base; full: u*base; equal: base/2 + u*base/2.
std::vector<duration> expected_delays(jitter mode, int failures, double initial_ns, double multiplier, double max_ns) {
    std::mt19937_64 engine(seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<duration> out;
    for (int n = 1; n <= failures; ++n) {
        double u = uniform(engine);
        double base = std::min(max_ns, initial_ns * std::pow(multiplier, n - 1));
        double d = base;
        if (mode == jitter::full) d = u * base;
        if (mode == jitter::equal) d = base / 2 + u * base / 2;
        out.emplace_back(static_cast<duration::rep>(d));
    }
    return out;
}

// Five attempts fail, 10ms after each starts; the sixth succeeds. Checks that
// on_retry reports the formula's delay and that each next attempt starts
// exactly that long after the failure (not a nanosecond earlier).
void expect_schedule_follows_the_formula(jitter mode, const std::vector<duration>& expected) {
    manual_executor ex;
    manual_timer mt;
    retry_policy policy;
    policy.max_attempts = 6;
    policy.initial_delay = 100ms;
    policy.multiplier = 2.0;
    policy.max_delay = 1s;
    policy.jitter_mode = mode;
    policy.random = [engine = std::mt19937_64(seed), uniform = std::uniform_real_distribution<double>(0.0, 1.0)]() mutable {
        return uniform(engine);
    };
    std::vector<retry_report> reports;
    policy.on_retry = [&](int attempt, const std::exception_ptr& e, duration d) { reports.push_back({attempt, e, d}); };

    attempt_log<int> log;
    const time_point t0 = mt.now();
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    ASSERT_EQ(log.count(), 1u);
    EXPECT_EQ(log.started[0], t0);
    for (int n = 1; n <= 5; ++n) {
        SCOPED_TRACE("after failed attempt " + std::to_string(n));
        const duration delay = expected[n - 1];
        mt.advance(10ms);
        const time_point failed_at = mt.now();
        log.last().set_exception(std::runtime_error("attempt " + std::to_string(n)));
        ASSERT_EQ(reports.size(), static_cast<std::size_t>(n));
        EXPECT_EQ(reports.back().attempt, n);
        EXPECT_EQ(message_of(reports.back().error), "attempt " + std::to_string(n));
        EXPECT_EQ(reports.back().delay, delay);
        EXPECT_EQ(mt.next_deadline(), failed_at + delay);
        if (delay > 0ns) {
            mt.advance_to(failed_at + delay - 1ns);
            ex.run_until_idle();
            EXPECT_EQ(log.count(), static_cast<std::size_t>(n));
        }
        mt.advance_to(failed_at + delay);
        ex.run_until_idle();
        ASSERT_EQ(log.count(), static_cast<std::size_t>(n + 1));
        EXPECT_EQ(log.numbers.back(), n + 1);
        EXPECT_EQ(log.started.back(), failed_at + delay);
    }
    log.last().set_value(6);
    EXPECT_EQ(take_ready(f).value(), 6);
    EXPECT_EQ(reports.size(), 5u);
    EXPECT_EQ(mt.pending(), 0u);
}

TEST(retry, without_jitter_the_delays_double_up_to_max_delay) {
    std::vector<duration> expected = expected_delays(jitter::none, 5, 100e6, 2.0, 1e9);
    // The formula, spelled out: 100, 200, 400, 800, then capped at 1000 ms.
    ASSERT_EQ(expected, (std::vector<duration>{100ms, 200ms, 400ms, 800ms, 1000ms}));
    expect_schedule_follows_the_formula(jitter::none, expected);
}

TEST(retry, full_jitter_delays_with_a_fixed_seed_follow_the_formula) {
    std::vector<duration> expected = expected_delays(jitter::full, 5, 100e6, 2.0, 1e9);
    std::vector<duration> bases{100ms, 200ms, 400ms, 800ms, 1000ms};
    for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_LT(expected[i], bases[i]);
    expect_schedule_follows_the_formula(jitter::full, expected);
}

TEST(retry, equal_jitter_delays_with_a_fixed_seed_follow_the_formula) {
    std::vector<duration> expected = expected_delays(jitter::equal, 5, 100e6, 2.0, 1e9);
    std::vector<duration> bases{100ms, 200ms, 400ms, 800ms, 1000ms};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_GE(expected[i], bases[i] / 2);
        EXPECT_LT(expected[i], bases[i]);
    }
    expect_schedule_follows_the_formula(jitter::equal, expected);
}

TEST(retry, backoff_follows_the_formula_for_any_multiplier) {
    retry_policy p;
    p.initial_delay = 30ms;
    p.multiplier = 1.5;
    p.max_delay = 100ms;
    p.jitter_mode = jitter::equal;
    EXPECT_EQ(p.backoff(1, 0.0), 15ms);    // base 30: 15 + 0
    EXPECT_EQ(p.backoff(2, 0.5), 33750us);  // base 45: 22.5 + 11.25
    EXPECT_EQ(p.backoff(4, 0.0), 50ms);    // base 101.25 capped at 100: 50 + 0
    p.jitter_mode = jitter::full;
    EXPECT_EQ(p.backoff(3, 0.5), 33750us);  // base 67.5: 0.5 * 67.5
    p.jitter_mode = jitter::none;
    EXPECT_EQ(p.backoff(3, 0.9), 67500us);
    EXPECT_EQ(p.backoff(60, 0.9), 100ms);
}

// ---------------------------------------------------------------------------
// When retrying stops

TEST(retry, the_first_attempt_runs_on_the_executor_and_its_value_is_the_result) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto f = vow::retry(plain_policy(3), attempts_into(log, mt), mt, ex);
    EXPECT_EQ(log.count(), 0u);  // nothing runs until the executor does
    EXPECT_EQ(ex.run_until_idle(), 1u);
    ASSERT_EQ(log.count(), 1u);
    log.last().set_value(42);
    EXPECT_EQ(take_ready(f).value(), 42);
    EXPECT_EQ(mt.pending(), 0u);
}

TEST(retry, max_attempts_stops_retrying_and_fails_with_the_last_error) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    int hooks = 0;
    auto policy = plain_policy(3);
    policy.on_retry = [&](int, const std::exception_ptr&, duration) { ++hooks; };
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    for (int n = 1; n <= 3; ++n) {
        ex.run_until_idle();
        ASSERT_EQ(log.count(), static_cast<std::size_t>(n));
        log.last().set_exception(std::runtime_error("failure " + std::to_string(n)));
        mt.advance(1h);
    }
    ex.run_until_idle();
    EXPECT_EQ(log.count(), 3u);
    EXPECT_EQ(hooks, 2);
    auto r = take_ready(f);
    ASSERT_TRUE(holds<std::runtime_error>(r));
    EXPECT_EQ(message_of(r.exception()), "failure 3");
    EXPECT_EQ(mt.pending(), 0u);
}

TEST(retry, max_attempts_of_one_means_no_retry) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto f = vow::retry(plain_policy(1), attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    log.last().set_exception(std::runtime_error("once"));
    EXPECT_TRUE(holds<std::runtime_error>(take_ready(f)));
    EXPECT_EQ(mt.pending(), 0u);
}

TEST(retry, max_attempts_below_one_is_a_usage_error) {
    manual_executor ex;
    manual_timer mt;
    calls make;
    EXPECT_THROW(vow::retry(plain_policy(0), vow_ctest::counted(make, [] { return vow::make_ready_future(1); }), mt, ex),
                 vow::usage_error);
    EXPECT_EQ(make.runs.load(), 0);
    EXPECT_EQ(make.destroyed.load(), 1);
}

TEST(retry, retry_if_returning_false_stops_at_once_with_that_error) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto policy = plain_policy(10);
    int asked = 0;
    policy.retry_if = [&](const std::exception_ptr& e) {
        ++asked;
        return holds<std::runtime_error>(e);
    };
    int hooks = 0;
    policy.on_retry = [&](int, const std::exception_ptr&, duration) { ++hooks; };
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    log.last().set_exception(std::runtime_error("worth another go"));
    mt.advance(100ms);
    ex.run_until_idle();
    ASSERT_EQ(log.count(), 2u);
    log.last().set_exception(std::logic_error("hopeless"));
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(hooks, 1);
    auto r = take_ready(f);
    EXPECT_TRUE(holds<std::logic_error>(r));
    EXPECT_EQ(mt.pending(), 0u);
    mt.advance(1h);
    ex.run_until_idle();
    EXPECT_EQ(log.count(), 2u);
}

TEST(retry, by_default_a_cancelled_attempt_is_not_retried) {
    manual_executor ex;
    manual_timer mt;
    int calls_made = 0;
    auto f = vow::retry(
        plain_policy(5),
        [&] {
            ++calls_made;
            promise<int> p;
            auto g = p.get_future();
            g.cancel();
            return g;
        },
        mt, ex);
    ex.run_until_idle();
    EXPECT_EQ(calls_made, 1);
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(f)));
    EXPECT_EQ(mt.pending(), 0u);
}

TEST(retry, by_default_any_other_error_is_retried) {
    for (error_kind kind : every_error_kind) {
        SCOPED_TRACE(vow_ctest::name_of(kind));
        manual_executor ex;
        manual_timer mt;
        std::deque<failing_input> failing;
        auto f = vow::retry(
            plain_policy(2), [&](int n) { return n == 1 ? failing.emplace_back(kind).get_future() : vow::make_ready_future(n); },
            mt, ex);
        ex.run_until_idle();
        ASSERT_EQ(failing.size(), 1u);
        failing.back().fail();
        mt.advance(100ms);
        ex.run_until_idle();
        EXPECT_EQ(take_ready(f).value(), 2);
    }
}

TEST(retry, passes_every_kind_of_error_through_as_the_final_error) {
    for (error_kind kind : every_error_kind) {
        SCOPED_TRACE(vow_ctest::name_of(kind));
        manual_executor ex;
        manual_timer mt;
        std::deque<failing_input> failing;
        auto f = vow::retry(plain_policy(2), [&] { return failing.emplace_back(kind).get_future(); }, mt, ex);
        ex.run_until_idle();
        failing.back().fail();
        mt.advance(100ms);
        ex.run_until_idle();
        ASSERT_EQ(failing.size(), 2u);
        failing.back().fail();
        auto r = take_ready(f);
        EXPECT_TRUE(vow_ctest::is_kind(kind, r.exception())) << message_of(r.exception());
    }
}

// ---------------------------------------------------------------------------
// Delay hints (Retry-After)

struct hinted_error : std::runtime_error {
    explicit hinted_error(duration d) : std::runtime_error("hinted"), hint(d) {}
    duration hint;
};

TEST(retry, a_delay_hint_replaces_the_backoff_and_is_capped_by_max_delay) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto policy = plain_policy(4);
    policy.max_delay = 5s;
    policy.delay_hint = [](const std::exception_ptr& e) -> std::optional<duration> {
        try {
            std::rethrow_exception(e);
        } catch (const hinted_error& h) {
            return h.hint;
        } catch (...) {
            return std::nullopt;
        }
    };
    std::vector<duration> delays;
    policy.on_retry = [&](int, const std::exception_ptr&, duration d) { delays.push_back(d); };
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    ex.run_until_idle();

    // A hint shorter than the backoff (100ms) wins.
    time_point failed_at = mt.now();
    log.last().set_exception(hinted_error(30ms));
    mt.advance(30ms - 1ns);
    ex.run_until_idle();
    EXPECT_EQ(log.count(), 1u);
    mt.advance(1ns);
    ex.run_until_idle();
    ASSERT_EQ(log.count(), 2u);
    EXPECT_EQ(log.started[1], failed_at + 30ms);

    // A hint longer than max_delay is capped.
    failed_at = mt.now();
    log.last().set_exception(hinted_error(1h));
    EXPECT_EQ(mt.next_deadline(), failed_at + 5s);
    mt.advance(5s);
    ex.run_until_idle();
    ASSERT_EQ(log.count(), 3u);
    EXPECT_EQ(log.started[2], failed_at + 5s);

    // No hint: the backoff of attempt 3 (400ms).
    failed_at = mt.now();
    log.last().set_exception(std::runtime_error("no hint"));
    EXPECT_EQ(mt.next_deadline(), failed_at + 400ms);
    mt.advance(400ms);
    ex.run_until_idle();
    ASSERT_EQ(log.count(), 4u);

    EXPECT_EQ(delays, (std::vector<duration>{30ms, 5s, 400ms}));
    log.last().set_value(4);
    EXPECT_EQ(take_ready(f).value(), 4);
}

// ---------------------------------------------------------------------------
// The total deadline

TEST(retry, the_deadline_cancels_the_attempt_in_flight_and_fails_with_timeout_error) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto policy = plain_policy(10);
    policy.deadline = 1s;
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    int hooks = 0;
    log.last().on_cancel([&] { ++hooks; });
    mt.advance(1s - 1ns);
    EXPECT_FALSE(f.is_ready());
    EXPECT_FALSE(log.last().is_cancelled());
    mt.advance(1ns);
    ASSERT_TRUE(f.is_ready());
    EXPECT_TRUE(log.last().is_cancelled());
    EXPECT_TRUE(log.tokens.back().stop_requested());
    EXPECT_EQ(hooks, 1);
    EXPECT_TRUE(holds<vow::timeout_error>(take_ready(f)));
    EXPECT_EQ(mt.pending(), 0u);
    mt.advance(1h);
    ex.run_until_idle();
    EXPECT_EQ(log.count(), 1u);
}

TEST(retry, the_deadline_counts_from_the_first_attempt_across_retries) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto policy = plain_policy(10);
    policy.deadline = 1s;
    const time_point t0 = mt.now();
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    mt.advance(200ms);
    log.last().set_exception(std::runtime_error("1"));  // backoff 100ms, ends at 300ms
    mt.advance(100ms);
    ex.run_until_idle();
    ASSERT_EQ(log.count(), 2u);
    mt.advance_to(t0 + 1s - 1ns);
    EXPECT_FALSE(f.is_ready());
    mt.advance(1ns);
    EXPECT_TRUE(holds<vow::timeout_error>(take_ready(f)));
    EXPECT_TRUE(log.last().is_cancelled());
    EXPECT_FALSE(log.tokens[0].stop_requested());  // the failed attempt was left alone
}

TEST(retry, a_backoff_that_would_end_past_the_deadline_fails_at_once_with_the_last_error) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto policy = plain_policy(10);
    policy.initial_delay = 600ms;
    policy.deadline = 1s;
    int hooks = 0;
    policy.on_retry = [&](int, const std::exception_ptr&, duration) { ++hooks; };
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    log.last().set_exception(std::runtime_error("first"));  // 600ms: ends in time
    mt.advance(600ms);
    ex.run_until_idle();
    ASSERT_EQ(log.count(), 2u);
    mt.advance(100ms);
    log.last().set_exception(std::runtime_error("second"));  // 1200ms: would end at 1.9s
    auto r = take_ready(f);
    ASSERT_TRUE(holds<std::runtime_error>(r));
    EXPECT_EQ(message_of(r.exception()), "second");
    EXPECT_EQ(hooks, 1);
    EXPECT_EQ(mt.pending(), 0u);
}

TEST(retry, a_backoff_ending_one_nanosecond_before_the_deadline_is_waited_for) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto policy = plain_policy(10);
    policy.initial_delay = 1s - 1ns;
    policy.deadline = 1s;
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    log.last().set_exception(std::runtime_error("first"));
    mt.advance(1s - 1ns);
    ex.run_until_idle();
    ASSERT_EQ(log.count(), 2u);  // started, with 1ns left
    mt.advance(1ns);
    EXPECT_TRUE(holds<vow::timeout_error>(take_ready(f)));
    EXPECT_TRUE(log.last().is_cancelled());
}

TEST(retry, a_backoff_ending_exactly_at_the_deadline_is_not_waited_for) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto policy = plain_policy(10);
    policy.initial_delay = 1s;
    policy.deadline = 1s;
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    log.last().set_exception(std::runtime_error("first"));
    auto r = take_ready(f);
    EXPECT_EQ(message_of(r.exception()), "first");
    EXPECT_EQ(mt.pending(), 0u);
}

TEST(retry, the_deadline_passing_before_the_first_attempt_runs_means_make_attempt_is_never_called) {
    manual_executor ex;
    manual_timer mt;
    calls make;
    {
        auto policy = plain_policy(3);
        policy.deadline = 10ms;
        auto f = vow::retry(policy, vow_ctest::counted(make, [] { return vow::make_ready_future(1); }), mt, ex);
        mt.advance(10ms);
        EXPECT_TRUE(holds<vow::timeout_error>(take_ready(f)));
        ex.run_until_idle();
    }
    EXPECT_EQ(make.runs.load(), 0);
    EXPECT_EQ(make.destroyed.load(), 1);
}

// ---------------------------------------------------------------------------
// make_attempt

TEST(retry, make_attempt_receives_the_attempt_number_starting_at_one) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto f = vow::retry(plain_policy(3), attempts_into(log, mt), mt, ex);
    for (int n = 1; n <= 3; ++n) {
        ex.run_until_idle();
        log.last().set_exception(std::runtime_error("x"));
        mt.advance(1h);
    }
    EXPECT_EQ(log.numbers, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(holds<std::runtime_error>(take_ready(f)));
}

TEST(retry, a_make_attempt_that_throws_counts_as_a_failed_attempt) {
    manual_executor ex;
    manual_timer mt;
    std::vector<retry_report> reports;
    auto policy = plain_policy(3);
    policy.on_retry = [&](int n, const std::exception_ptr& e, duration d) { reports.push_back({n, e, d}); };
    auto f = vow::retry(
        policy,
        [](int n) -> future<int> {
            if (n < 3) throw std::out_of_range("thrown by attempt " + std::to_string(n));
            return vow::make_ready_future(n * 10);
        },
        mt, ex);
    ex.run_until_idle();
    mt.advance(100ms);
    ex.run_until_idle();
    mt.advance(200ms);
    ex.run_until_idle();
    EXPECT_EQ(take_ready(f).value(), 30);
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_EQ(reports[0].attempt, 1);
    EXPECT_EQ(message_of(reports[0].error), "thrown by attempt 1");
    EXPECT_EQ(reports[1].attempt, 2);
    EXPECT_EQ(reports[1].delay, 200ms);
}

TEST(retry, a_make_attempt_that_always_throws_fails_with_its_last_exception) {
    manual_executor ex;
    manual_timer mt;
    auto f = vow::retry(
        plain_policy(2), [](int n) -> future<int> { throw std::out_of_range("attempt " + std::to_string(n)); }, mt,
        ex);
    ex.run_until_idle();
    mt.advance(100ms);
    ex.run_until_idle();
    auto r = take_ready(f);
    ASSERT_TRUE(holds<std::out_of_range>(r));
    EXPECT_EQ(message_of(r.exception()), "attempt 2");
}

TEST(retry, an_invalid_future_from_make_attempt_is_a_broken_promise_failure) {
    manual_executor ex;
    manual_timer mt;
    auto f = vow::retry(plain_policy(1), [] { return future<int>{}; }, mt, ex);
    ex.run_until_idle();
    EXPECT_TRUE(holds<vow::broken_promise>(take_ready(f)));
}

TEST(retry, an_on_retry_hook_that_throws_fails_the_retry_with_its_exception) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto policy = plain_policy(3);
    policy.on_retry = [](int, const std::exception_ptr&, duration) { throw std::domain_error("hook"); };
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    log.last().set_exception(std::runtime_error("x"));
    EXPECT_TRUE(holds<std::domain_error>(take_ready(f)));
    EXPECT_EQ(mt.pending(), 0u);
}

// ---------------------------------------------------------------------------
// Cancellation

TEST(retry, cancelling_it_cancels_the_attempt_in_flight_and_starts_nothing_more) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto policy = plain_policy(5);
    policy.deadline = 1h;
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    int hooks = 0;
    log.last().on_cancel([&] { ++hooks; });
    f.cancel();
    EXPECT_TRUE(log.last().is_cancelled());
    EXPECT_TRUE(log.tokens.back().stop_requested());
    EXPECT_EQ(hooks, 1);
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(f)));
    EXPECT_EQ(mt.pending(), 0u);  // the deadline timer is gone too
    mt.advance(2h);
    ex.run_until_idle();
    EXPECT_EQ(log.count(), 1u);
}

TEST(retry, cancelling_it_during_a_backoff_removes_the_backoff_and_starts_nothing_more) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto f = vow::retry(plain_policy(5), attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    log.last().set_exception(std::runtime_error("x"));
    ASSERT_EQ(mt.pending(), 1u);
    f.cancel();
    EXPECT_EQ(mt.pending(), 0u);
    EXPECT_EQ(mt.advance(1h), 0u);
    ex.run_until_idle();
    EXPECT_EQ(log.count(), 1u);
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(f)));
}

TEST(retry, cancelling_it_before_the_first_attempt_runs_means_make_attempt_is_never_called) {
    manual_executor ex;
    manual_timer mt;
    calls make;
    {
        auto f = vow::retry(plain_policy(3), vow_ctest::counted(make, [] { return vow::make_ready_future(1); }), mt, ex);
        f.cancel();
        ex.run_until_idle();
        EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(f)));
    }
    EXPECT_EQ(make.runs.load(), 0);
    EXPECT_EQ(make.destroyed.load(), 1);
}

TEST(retry, a_cancel_from_inside_on_retry_leaves_no_backoff_behind) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    future<int>* self = nullptr;
    auto policy = plain_policy(5);
    policy.on_retry = [&](int, const std::exception_ptr&, duration) { self->cancel(); };
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    self = &f;
    ex.run_until_idle();
    log.last().set_exception(std::runtime_error("x"));
    EXPECT_EQ(mt.pending(), 0u);
    mt.advance(1h);
    ex.run_until_idle();
    EXPECT_EQ(log.count(), 1u);
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(f)));
}

TEST(retry, a_successful_attempt_is_not_asked_to_stop) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto policy = plain_policy(3);
    policy.deadline = 1s;
    auto f = vow::retry(policy, attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    int hooks = 0;
    log.last().on_cancel([&] { ++hooks; });
    log.last().set_value(1);
    EXPECT_EQ(take_ready(f).value(), 1);
    EXPECT_FALSE(log.tokens.back().stop_requested());
    EXPECT_EQ(hooks, 0);
    EXPECT_EQ(mt.pending(), 0u);  // the deadline timer is gone
}

// ---------------------------------------------------------------------------
// Executors and timers that go away

TEST(retry, an_executor_shut_down_before_the_next_attempt_fails_it_with_executor_shut_down) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto f = vow::retry(plain_policy(3), attempts_into(log, mt), mt, ex);
    ex.run_until_idle();
    log.last().set_exception(std::runtime_error("x"));
    ex.shutdown();
    mt.advance(100ms);
    EXPECT_TRUE(holds<vow::executor_shut_down>(take_ready(f)));
    EXPECT_EQ(log.count(), 1u);
}

TEST(retry, a_timer_destroyed_during_a_backoff_fails_it_with_executor_shut_down) {
    manual_executor ex;
    attempt_log<int> log;
    future<int> f;
    {
        manual_timer mt;
        f = vow::retry(plain_policy(3), attempts_into(log, mt), mt, ex);
        ex.run_until_idle();
        log.last().set_exception(std::runtime_error("x"));
        ASSERT_EQ(mt.pending(), 1u);
    }
    EXPECT_TRUE(holds<vow::executor_shut_down>(take_ready(f)));
    ex.run_until_idle();
    EXPECT_EQ(log.count(), 1u);
}

TEST(retry, a_timer_that_refuses_the_deadline_fails_it_with_executor_shut_down_before_any_attempt) {
    manual_executor ex;
    vow_ctest::refusing_timer rt;
    calls make;
    {
        auto policy = plain_policy(3);
        policy.deadline = 1s;
        auto f = vow::retry(policy, vow_ctest::counted(make, [] { return vow::make_ready_future(1); }), rt, ex);
        ex.run_until_idle();
        EXPECT_TRUE(holds<vow::executor_shut_down>(take_ready(f)));
    }
    EXPECT_EQ(make.runs.load(), 0);
    EXPECT_EQ(make.destroyed.load(), 1);
}

TEST(retry, a_timer_that_refuses_the_backoff_fails_it_with_executor_shut_down) {
    manual_executor ex;
    vow_ctest::refusing_timer rt;
    int hooks = 0;
    auto policy = plain_policy(3);
    policy.on_retry = [&](int, const std::exception_ptr&, duration) { ++hooks; };
    auto f = vow::retry(policy, [] { return vow::make_exceptional_future<int>(std::runtime_error("x")); }, rt, ex);
    ex.run_until_idle();
    EXPECT_EQ(rt.refused.load(), 1);
    EXPECT_EQ(hooks, 1);
    EXPECT_TRUE(holds<vow::executor_shut_down>(take_ready(f)));
}

// ---------------------------------------------------------------------------
// Binding and lifetimes

TEST(retry, binds_its_result_to_the_given_executor) {
    manual_executor ex;
    manual_timer mt;
    attempt_log<int> log;
    auto next = vow::retry(plain_policy(1), attempts_into(log, mt), mt, ex).then([&](int v) {
        EXPECT_TRUE(ex.running_in_this_thread());
        return v * 2;
    });
    ex.run_until_idle();
    log.last().set_value(21);
    EXPECT_FALSE(next.is_ready());
    ex.run_until_idle();
    EXPECT_EQ(take_ready(next).value(), 42);
}

// Runs one retry to the end in the given way and checks that make_attempt was
// destroyed exactly once and every value made was destroyed.
template <class Finish>
void expect_no_leak(Finish finish) {
    lifetimes values;
    calls make;
    {
        manual_executor ex;
        manual_timer mt;
        attempt_log<tracked> log;
        auto policy = plain_policy(3);
        policy.deadline = 1h;
        auto f = vow::retry(policy, vow_ctest::counted(make, attempts_into(log, mt)), mt, ex);
        finish(ex, mt, log, values, f);
        ex.run_until_idle();
    }
    EXPECT_EQ(make.destroyed.load(), 1);
    EXPECT_EQ(values.alive(), 0);
}

TEST(retry, make_attempt_and_every_value_are_destroyed_once_after_a_success) {
    expect_no_leak([](manual_executor& ex, manual_timer& mt, attempt_log<tracked>& log, lifetimes& values,
                      future<tracked>& f) {
        ex.run_until_idle();
        log.last().set_exception(std::runtime_error("x"));
        mt.advance(100ms);
        ex.run_until_idle();
        log.last().set_value(tracked(values, 2));
        EXPECT_EQ(take_ready(f).value().value, 2);
    });
}

TEST(retry, make_attempt_is_destroyed_once_after_a_final_failure) {
    expect_no_leak([](manual_executor& ex, manual_timer& mt, attempt_log<tracked>& log, lifetimes&,
                      future<tracked>& f) {
        for (int n = 0; n < 3; ++n) {
            ex.run_until_idle();
            log.last().set_exception(std::runtime_error("x"));
            mt.advance(1s);
        }
        EXPECT_TRUE(holds<std::runtime_error>(take_ready(f)));
    });
}

TEST(retry, make_attempt_and_every_value_are_destroyed_once_after_a_cancel) {
    expect_no_leak([](manual_executor& ex, manual_timer&, attempt_log<tracked>& log, lifetimes& values,
                      future<tracked>& f) {
        ex.run_until_idle();
        f.cancel();
        log.last().set_value(tracked(values, 1));  // too late: dropped
        EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(f)));
    });
}

TEST(retry, make_attempt_is_destroyed_once_after_the_deadline) {
    expect_no_leak([](manual_executor& ex, manual_timer& mt, attempt_log<tracked>&, lifetimes&, future<tracked>& f) {
        ex.run_until_idle();
        mt.advance(1h);
        EXPECT_TRUE(holds<vow::timeout_error>(take_ready(f)));
    });
}

// ---------------------------------------------------------------------------
// A race (for the sanitizers): a cancel from another thread while attempts
// run on a pool and backoffs on the real timer.

TEST(retry_race, a_cancel_while_attempts_run_on_a_pool_stops_them_and_leaks_nothing) {
    calls make;
    std::atomic<int> made{0};
    {
        // The pool outlives the timer, whose thread hands attempts to the pool.
        vow::thread_pool pool(2, "retry-race");
        vow::real_timer rt;
        std::latch third_attempt(1);
        auto policy = plain_policy(1'000'000);
        policy.initial_delay = 0ns;
        auto f = vow::retry(policy,
                            vow_ctest::counted(make,
                                               [&](int n) {
                                                   made.fetch_add(1);
                                                   if (n == 3) third_attempt.count_down();
                                                   return vow::make_exceptional_future<int>(std::runtime_error("x"));
                                               }),
                            rt, pool);
        third_attempt.wait();
        f.cancel();
        const int at_cancel = made.load();
        EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(f)));
        pool.join();
        // An attempt that had already begun may finish; none starts after.
        EXPECT_LE(made.load(), at_cancel + 1);
    }
    EXPECT_EQ(make.destroyed.load(), 1);
}

}  // namespace
