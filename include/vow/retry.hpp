// retry(policy, make_attempt): runs attempts until one succeeds, with capped
// exponential backoff and jitter, a total deadline, a predicate for which
// errors are worth retrying, a delay hint taken from the error (Retry-After)
// and an on_retry hook. Works for any future; HTTP is one user.
#pragma once

#include <chrono>
#include <cmath>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <type_traits>
#include <utility>

#include "vow/errors.hpp"
#include "vow/executor.hpp"
#include "vow/extend.hpp"
#include "vow/future.hpp"
#include "vow/result.hpp"
#include "vow/timer.hpp"

namespace vow {

enum class jitter {
    none,   // delay = base
    full,   // delay = uniform(0, base)
    equal,  // delay = base/2 + uniform(0, base/2)
};

struct retry_policy {
    using duration = timer::duration;

    int max_attempts = 3;  // including the first
    duration initial_delay = std::chrono::milliseconds(100);
    double multiplier = 2.0;
    duration max_delay = std::chrono::seconds(30);  // caps the backoff and any hint
    jitter jitter_mode = jitter::full;
    // Total budget from the retry() call: at the deadline the
    // attempt in flight is cancelled and the retry fails with timeout_error; a
    // backoff that would end past it is not waited for (the last error is kept).
    std::optional<duration> deadline;
    // Which errors are worth another attempt. Unset: any error but cancellation.
    std::function<bool(const std::exception_ptr&)> retry_if;
    // A delay the error asks for (e.g. HTTP Retry-After); used instead of the
    // backoff when present, capped by max_delay.
    std::function<std::optional<duration>(const std::exception_ptr&)> delay_hint;
    // Called before each backoff with the number of the attempt that failed.
    std::function<void(int attempt, const std::exception_ptr& error, duration delay)> on_retry;
    // Uniform draws in [0, 1) for the jitter. Unset: a per-thread Mersenne twister.
    std::function<double()> random;

    // The backoff after failed attempt number `attempt` (1-based) for a draw `u`:
    // base = min(max_delay, initial_delay * multiplier^(attempt-1)), then jitter.
    duration backoff(int attempt, double u) const {
        double base = static_cast<double>(initial_delay.count()) * std::pow(multiplier, attempt - 1);
        base = std::min(base, static_cast<double>(max_delay.count()));
        double d = base;
        if (jitter_mode == jitter::full) d = u * base;
        if (jitter_mode == jitter::equal) d = base / 2 + u * (base / 2);
        return duration(static_cast<duration::rep>(d));
    }

    bool should_retry(const std::exception_ptr& e) const;
    double draw() const;
};

// make_attempt() or make_attempt(int attempt) returns a future<T>; attempts run
// on `ex`, backoffs on `t`. The result is bound to `ex`. Cancelling it cancels
// the attempt in flight and the pending backoff; nothing starts after.
template <class MakeAttempt>
auto retry(retry_policy policy, MakeAttempt make_attempt, timer& t = default_timer(),
           executor& ex = default_executor());

namespace retrying {

// Lives in the output's allocation (ext::make_completion_with). References
// to the output: each task queued on the executor or the timer holds one, the
// attempt in flight holds one; the cancel hook holds none.
template <class T, class F>
class context {
public:
    context(retry_policy p, F f, timer& t, executor& ex)
        : policy_(std::move(p)), make_attempt_(std::move(f)), timer_(t), ex_(ex) {
        watch_.owner = this;
    }

    void start(ext::completion<T> done) {
        started_at_ = timer_.now();
        done.on_cancel([this] { stop_everything(); });  // `this` lives in the output
        if (policy_.deadline) {
            auto expire = [this] { fail_and_stop(std::make_exception_ptr(timeout_error("vow: retry deadline exceeded"))); };
            try {
                timer_handle h = timer_.schedule_at(timer::saturating_add(*started_at_, *policy_.deadline),
                                                    owned(done, std::move(expire)));
                std::lock_guard lock(mutex_);
                deadline_ = h;
            } catch (const executor_shut_down&) {
                // The task's drop action failed the retry.
            }
        }
        launch(std::move(done));
    }

private:
    struct attempt_watch final : ext::input<T> {
        context* owner = nullptr;
        ext::completion<T> keep;  // the output, while an attempt is in flight
        void on_arrival() noexcept override { owner->arrived(); }
    };

    ext::completion_view<T> done() noexcept { return ext::completion_of<T>(*this); }

    // A task that runs `run`; dropped unrun, it fails the retry with
    // executor_shut_down (a no-op after our own cancel: the retry is complete).
    template <class Run>
    auto owned(const ext::completion<T>& done, Run run) {
        auto dropped = [this, done] { fail_and_stop(std::make_exception_ptr(executor_shut_down())); };
        return ext::owned_task<Run, decltype(dropped)>(std::move(run), std::move(dropped));
    }

    void launch(ext::completion<T> done) {
        if (done.is_claimed()) return;
        try {
            ex_.execute(owned(done, [this, done] { run_attempt(done); }));
        } catch (const executor_shut_down&) {
            // The task's drop action failed the retry.
        }
    }

    void run_attempt(const ext::completion<T>& done) {
        int attempt;
        {
            std::lock_guard lock(mutex_);
            if (done.is_claimed()) return;  // cancelled or timed out meanwhile
            attempt = ++attempts_;
        }
        future<T> f;
        try {
            f = ext::call_attempt(make_attempt_, attempt);
            if (!f.valid()) throw broken_promise();
        } catch (...) {
            failed(done, std::current_exception());
            return;
        }
        watch_.hold(std::move(f));
        watch_.keep = done;
        {
            std::lock_guard lock(mutex_);
            current_ = watch_.cancel_handle();
        }
        if (done.is_claimed()) watch_.cancel();  // a cancel raced with the start
        watch_.listen();
    }

    // The attempt in flight finished (on its completing thread).
    void arrived() noexcept {
        ext::completion<T> keep = std::move(watch_.keep);  // dropped last
        result<T> r = watch_.take();
        watch_.reset();
        if (r.has_value()) {
            if (keep.set_result(std::move(r))) stop_everything();
        } else {
            failed(keep, r.exception());
        }
    }

    void failed(const ext::completion<T>& done, std::exception_ptr e) noexcept {
        int attempt;
        {
            std::lock_guard lock(mutex_);
            attempt = attempts_;
            current_ = {};
        }
        if (done.is_claimed()) return;
        try {
            if (attempt >= policy_.max_attempts || !policy_.should_retry(e)) return fail_and_stop(e);
            retry_policy::duration delay = policy_.backoff(attempt, policy_.draw());
            if (policy_.delay_hint) {
                if (auto hint = policy_.delay_hint(e)) delay = std::min(*hint, policy_.max_delay);
            }
            if (policy_.deadline && timer_.deadline_after(delay) >= timer::saturating_add(*started_at_, *policy_.deadline)) {
                return fail_and_stop(e);  // no time left to wait for another attempt
            }
            if (policy_.on_retry) policy_.on_retry(attempt, e, delay);
            // The backoff ended: start the next attempt on the executor.
            timer_handle h = timer_.schedule_after(delay, owned(done, [this, done] { launch(done); }));
            std::lock_guard lock(mutex_);
            backoff_ = h;
        } catch (...) {
            fail_and_stop(std::current_exception());  // a hook threw, or the timer is gone
        }
        if (done.is_claimed()) stop_everything();  // cancelled while we scheduled
    }

    void fail_and_stop(std::exception_ptr e) noexcept {
        if (done().set_exception(std::move(e))) stop_everything();
    }

    // Cancels the attempt in flight, the backoff and the deadline timer, outside
    // the mutex (each runs other code: the attempt's hooks, the tasks' drops).
    void stop_everything() noexcept {
        ext::cancel_handle current;
        timer_handle backoff, deadline;
        {
            std::lock_guard lock(mutex_);
            current = std::exchange(current_, {});
            backoff = std::exchange(backoff_, {});
            deadline = std::exchange(deadline_, {});
        }
        current.cancel();  // a finished attempt is left alone
        backoff.cancel();
        deadline.cancel();
    }

    const retry_policy policy_;
    F make_attempt_;  // called only by run_attempt, one attempt at a time
    timer& timer_;
    executor& ex_;
    std::optional<timer::time_point> started_at_;  // set by start() before anything runs
    attempt_watch watch_;  // one attempt at a time: its start, then its arrival

    std::mutex mutex_;  // guards the fields below
    int attempts_ = 0;
    ext::cancel_handle current_;  // the attempt in flight
    timer_handle backoff_;
    timer_handle deadline_;
};

}  // namespace retrying

inline bool retry_policy::should_retry(const std::exception_ptr& e) const {
    if (retry_if) return retry_if(e);
    return !result<void>(e).is_cancelled();
}

inline double retry_policy::draw() const {
    if (random) return random();
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

template <class MakeAttempt>
auto retry(retry_policy policy, MakeAttempt make_attempt, timer& t, executor& ex) {
    using Fut = decltype(ext::call_attempt(make_attempt, 1));
    static_assert(ext::is_future_v<Fut>, "make_attempt must return a vow::future");
    using T = typename Fut::value_type;
    if (policy.max_attempts < 1) throw usage_error("vow: retry_policy.max_attempts must be at least 1");
    auto [done, context, output] = ext::make_completion_with<T, retrying::context<T, MakeAttempt>>(
        ex, std::move(policy), std::move(make_attempt), t, ex);
    context.start(std::move(done));
    return std::move(output);
}

}  // namespace vow
