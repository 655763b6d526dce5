// hedge(make_attempt, delay, max_attempts): hedged requests, as in "The Tail
// at Scale" (Dean and Barroso). Start one attempt; if it has not finished
// after `delay`, start another, up to max_attempts in all; the first success
// wins and every other attempt is cancelled. Written only on vow/extend.hpp,
// as the worked example of docs/writing-combinators.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "vow/errors.hpp"
#include "vow/executor.hpp"
#include "vow/extend.hpp"
#include "vow/future.hpp"
#include "vow/timer.hpp"

namespace vow {

// make_attempt() or make_attempt(int attempt) (1-based) returns a future<T>.
// Attempts start on `ex` (on a multi-threaded executor, make_attempt may run
// on several threads at once); the hedging delay runs on `t`. The next attempt
// starts `delay` after the latest one started, or at once when every attempt
// started so far has failed. The result (bound to `ex`) is the first success;
// once it is known, the other attempts are cancelled and no more start. When
// all max_attempts fail it fails with all_failed, every error inside in
// attempt order. Cancelling it cancels the attempts in flight and the timer.
// If `ex` or `t` is shut down while an attempt still has to start, it fails
// with executor_shut_down.
template <class MakeAttempt>
auto hedge(MakeAttempt make_attempt, timer::duration delay, int max_attempts, timer& t = default_timer(),
           executor& ex = default_executor());

namespace hedging {

// Lives in the output's allocation (ext::make_completion_with). References to
// the output: each task queued on the executor or the timer holds one, each
// attempt in flight holds one; the hook registered on the output holds none.
template <class T, class F>
class context {
public:
    context(F f, timer::duration delay, int max_attempts, timer& t, executor& ex)
        : make_attempt_(std::move(f)),
          delay_(delay),
          max_attempts_(max_attempts),
          timer_(t),
          ex_(ex),
          attempts_(std::make_unique<attempt[]>(static_cast<std::size_t>(max_attempts))),
          errors_(static_cast<std::size_t>(max_attempts)) {}

    void start(ext::completion<T> done) {
        for (int i = 0; i < max_attempts_; ++i) attempts_[i].owner = this;
        done.on_cancel([this] { stop(); });  // `this` lives in the output: no reference
        launch(std::move(done));
    }

private:
    struct attempt final : ext::input<T> {
        context* owner = nullptr;
        int index = 0;
        ext::completion<T> keep;         // the output, while this attempt is in flight
        std::atomic<bool> held{false};   // release/acquire: stop() reads the input only after hold()
        void on_arrival() noexcept override { owner->arrived(*this); }
    };

    ext::completion_view<T> done() noexcept { return ext::completion_of<T>(*this); }

    // A task that runs `run`; dropped unrun (executor or timer shut down), it
    // fails the output with executor_shut_down and stops the attempts in flight.
    template <class Run>
    auto owned(const ext::completion<T>& done, Run run) {
        auto dropped = [this, done] {
            if (done.set_exception(std::make_exception_ptr(executor_shut_down()))) stop();
        };
        return ext::owned_task<Run, decltype(dropped)>(std::move(run), std::move(dropped));
    }

    // Queues the start of the next attempt on the executor.
    void launch(ext::completion<T> done) {
        try {
            ex_.execute(owned(done, [this, done] { run_attempt(done); }));
        } catch (const executor_shut_down&) {
            // The task's drop action failed the output.
        }
    }

    // On the executor: starts one attempt and schedules the hedge after it.
    void run_attempt(const ext::completion<T>& done) noexcept {
        int index = 0;
        std::uint64_t generation = 0;
        {
            std::lock_guard lock(mutex_);
            if (done.is_claimed() || started_ == max_attempts_) return;
            index = started_++;
            generation = ++generation_;
        }
        if (index + 1 < max_attempts_) schedule_hedge(done, generation);
        future<T> f;
        try {
            f = ext::call_attempt(make_attempt_, index + 1);
            if (!f.valid()) throw broken_promise();
        } catch (...) {
            return failed(index, std::current_exception());
        }
        attempt& a = attempts_[index];
        a.index = index;
        a.keep = done;
        a.hold(std::move(f));
        a.held.store(true, std::memory_order_release);
        if (done.is_claimed()) a.cancel();  // the output completed while we started it
        a.listen();
    }

    // After `delay`, start another attempt unless one started since.
    void schedule_hedge(const ext::completion<T>& done, std::uint64_t generation) noexcept {
        auto fire = [this, done, generation] {
            {
                std::lock_guard lock(mutex_);
                if (generation != generation_) return;
            }
            launch(done);
        };
        try {
            timer_handle h = timer_.schedule_after(delay_, owned(done, std::move(fire)));
            std::lock_guard lock(mutex_);
            hedge_timers_.push_back(std::move(h));
        } catch (const executor_shut_down&) {
            // The timer refused: the task's drop action failed the output.
        } catch (...) {
            done.set_exception(std::current_exception());  // out of memory
        }
    }

    void arrived(attempt& a) noexcept {
        ext::completion<T> keep = std::move(a.keep);  // dropped last: it may free this context
        result<T> r = a.take();
        if (r.has_value()) {
            if (auto c = keep.try_claim()) {  // stop the others first, then publish
                stop();
                c.set_result(std::move(r));
            }
            return;
        }
        failed(a.index, r.exception());
    }

    void failed(int index, std::exception_ptr e) noexcept {
        bool all_failed_now = false;
        bool start_next = false;
        std::vector<std::exception_ptr> errors;
        {
            std::lock_guard lock(mutex_);
            errors_[static_cast<std::size_t>(index)] = std::move(e);
            ++failed_;
            all_failed_now = failed_ == max_attempts_;
            start_next = failed_ == started_ && started_ < max_attempts_;  // nothing left in flight
            if (all_failed_now) errors = std::move(errors_);
            if (start_next) ++generation_;  // the pending hedge is now stale
        }
        if (all_failed_now) {
            done().set_exception(std::make_exception_ptr(all_failed(std::move(errors))));
            stop();
        } else if (start_next && !done().is_claimed()) {
            try {
                launch(done().share());
            } catch (...) {
                done().set_exception(std::current_exception());
            }
        }
    }

    // The output is complete (or cancelled): cancel the attempts in flight and
    // the pending hedges. Outside the mutex: both run other people's code.
    void stop() noexcept {
        std::vector<timer_handle> timers;
        {
            std::lock_guard lock(mutex_);
            timers.swap(hedge_timers_);
        }
        for (auto& h : timers) h.cancel();  // a dropped hedge task fails the output: a no-op now
        for (int i = 0; i < max_attempts_; ++i)
            if (attempts_[i].held.load(std::memory_order_acquire)) attempts_[i].cancel();
    }

    F make_attempt_;
    const timer::duration delay_;
    const int max_attempts_;
    timer& timer_;
    executor& ex_;
    std::unique_ptr<attempt[]> attempts_;  // one per possible attempt, made once

    std::mutex mutex_;  // guards the fields below
    int started_ = 0;
    int failed_ = 0;
    std::uint64_t generation_ = 0;  // counts starts: a hedge timer of an older start does nothing
    std::vector<std::exception_ptr> errors_;
    std::vector<timer_handle> hedge_timers_;
};

}  // namespace hedging

template <class MakeAttempt>
auto hedge(MakeAttempt make_attempt, timer::duration delay, int max_attempts, timer& t, executor& ex) {
    using Fut = decltype(ext::call_attempt(make_attempt, 1));
    static_assert(ext::is_future_v<Fut>, "make_attempt must return a vow::future");
    using T = typename Fut::value_type;
    if (max_attempts < 1) throw usage_error("vow: hedge needs max_attempts of at least 1");
    if (delay < timer::duration::zero()) throw usage_error("vow: hedge needs a delay of zero or more");
    auto [done, context, output] = ext::make_completion_with<T, hedging::context<T, MakeAttempt>>(
        ex, std::move(make_attempt), delay, max_attempts, t, ex);
    context.start(std::move(done));
    return std::move(output);
}

}  // namespace vow
