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
#include "vow/future.hpp"
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

namespace detail {

template <class F>
auto call_attempt(F& f, int attempt) {
    if constexpr (std::is_invocable_v<F&, int>) {
        return f(attempt);
    } else {
        return f();
    }
}

template <class T, class F>
class retry_op final : public state<T>, public callback_node {
public:
    retry_op(retry_policy p, F f, timer& t, executor& ex)
        : policy_(std::move(p)), make_attempt_(std::move(f)), timer_(t), ex_(ex) {
        consumes = true;
    }

    void start() {
        started_at_ = timer_.now();
        this->on_cancel([this] { stop_everything(); });
        if (policy_.deadline) {
            this->add_ref();
            try {
                timer_handle h = timer_.schedule_at(timer::saturating_add(*started_at_, *policy_.deadline), deadline_task(this));
                std::lock_guard lock(mutex_);
                deadline_ = h;
            } catch (const executor_shut_down&) {
                // deadline_task's destructor failed the retry.
            }
        }
        launch();
    }

    // The attempt in flight finished (on its completing thread).
    void on_ready(state_base& s) noexcept override {
        auto& r = static_cast<state<T>&>(s).get_result();
        if (r.has_exception()) s.mark_observed();
        if (r.has_value()) {
            complete_from(static_cast<state<T>&>(*this), std::move(r));
            finished();
        } else {
            failed(r.exception());
        }
        this->release();  // the reference the attempt's list held
    }

private:
    // Tasks hold a reference to the op; one destroyed unrun fails the retry.
    template <class Run>
    class op_task {
    public:
        explicit op_task(retry_op* op) noexcept : op_(op) {}
        op_task(op_task&& o) noexcept : op_(std::exchange(o.op_, nullptr)) {}
        op_task& operator=(op_task&&) = delete;
        ~op_task() {
            if (!op_) return;
            Run::dropped(*op_);
            op_->release();
        }
        void operator()() {
            retry_op* op = std::exchange(op_, nullptr);
            Run::run(*op);
            op->release();
        }

    private:
        retry_op* op_;
    };

    struct attempt_run {
        static void run(retry_op& op) { op.run_attempt(); }
        static void dropped(retry_op& op) { op.fail_and_stop(std::make_exception_ptr(executor_shut_down())); }
    };
    struct wake_run {  // the backoff ended: start the next attempt on the executor
        static void run(retry_op& op) { op.launch(); }
        // After our own cancel the retry is already complete and this is a no-op;
        // otherwise the timer was destroyed and the retry must not hang.
        static void dropped(retry_op& op) { op.fail_and_stop(std::make_exception_ptr(executor_shut_down())); }
    };
    struct deadline_run {
        static void run(retry_op& op) {
            op.fail_and_stop(std::make_exception_ptr(timeout_error("vow: retry deadline exceeded")));
        }
        static void dropped(retry_op& op) { op.fail_and_stop(std::make_exception_ptr(executor_shut_down())); }
    };
    using attempt_task = op_task<attempt_run>;
    using wake_task = op_task<wake_run>;
    using deadline_task = op_task<deadline_run>;

    void launch() {
        if (this->is_claimed()) return;
        this->add_ref();
        try {
            ex_.execute(attempt_task(this));
        } catch (const executor_shut_down&) {
            // attempt_task's destructor failed the retry.
        }
    }

    void run_attempt() {
        int attempt;
        {
            std::lock_guard lock(mutex_);
            if (this->is_claimed()) return;  // cancelled or timed out meanwhile
            attempt = ++attempts_;
        }
        future<T> f;
        try {
            f = call_attempt(make_attempt_, attempt);
            if (!f.valid()) throw broken_promise();
        } catch (...) {
            failed(std::current_exception());
            return;
        }
        state_ptr<state<T>> current = then_access<T>::take(f);
        {
            std::lock_guard lock(mutex_);
            current_ = current;
        }
        if (this->is_claimed()) current->request_cancel();  // a cancel raced with the start
        this->add_ref();  // held by the attempt's list until on_ready
        current->attach(this);
    }

    void failed(std::exception_ptr e) noexcept {
        int attempt;
        {
            std::lock_guard lock(mutex_);
            attempt = attempts_;
            current_ = {};
        }
        if (this->is_claimed()) return;
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
            this->add_ref();
            timer_handle h = timer_.schedule_after(delay, wake_task(this));
            std::lock_guard lock(mutex_);
            backoff_ = h;
        } catch (...) {
            fail_and_stop(std::current_exception());  // a hook threw, or the timer is gone
        }
        if (this->is_claimed()) stop_everything();  // cancelled while we scheduled
    }

    void fail_and_stop(std::exception_ptr e) noexcept {
        if (this->fail(std::move(e))) stop_everything();
    }

    void finished() noexcept { stop_everything(); }

    // Cancels the attempt in flight, the backoff and the deadline timer.
    void stop_everything() noexcept {
        state_ptr<state<T>> current;
        timer_handle backoff, deadline;
        {
            std::lock_guard lock(mutex_);
            current = std::move(current_);
            current_ = {};
            backoff = std::exchange(backoff_, {});
            deadline = std::exchange(deadline_, {});
        }
        if (current && !current->is_ready()) current->request_cancel();  // a finished attempt is left alone
        backoff.cancel();
        deadline.cancel();
    }

    const retry_policy policy_;
    F make_attempt_;  // called only by run_attempt, one attempt at a time
    timer& timer_;
    executor& ex_;
    std::optional<timer::time_point> started_at_;  // set by start() before anything runs

    std::mutex mutex_;                // guards the fields below
    int attempts_ = 0;
    state_ptr<state<T>> current_;     // the attempt in flight
    timer_handle backoff_;
    timer_handle deadline_;
};

}  // namespace detail

inline bool retry_policy::should_retry(const std::exception_ptr& e) const {
    if (retry_if) return retry_if(e);
    return !detail::is_cancelled_exception(e);
}

inline double retry_policy::draw() const {
    if (random) return random();
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

template <class MakeAttempt>
auto retry(retry_policy policy, MakeAttempt make_attempt, timer& t, executor& ex) {
    using Fut = decltype(detail::call_attempt(make_attempt, 1));
    static_assert(detail::is_future<Fut>::value, "make_attempt must return a vow::future");
    using T = typename Fut::value_type;
    if (policy.max_attempts < 1) throw usage_error("vow: retry_policy.max_attempts must be at least 1");
    auto* op = new detail::retry_op<T, MakeAttempt>(std::move(policy), std::move(make_attempt), t, ex);
    op->bind(ex);
    // Two initial references: the returned future, and the run itself (dropped here
    // once the first tasks hold their own).
    auto out = detail::then_access<T>::make(detail::state_ptr<detail::state<T>>(op));
    op->start();
    op->release();
    return out;
}

}  // namespace vow
