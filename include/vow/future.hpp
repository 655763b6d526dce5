// future<T>: the consuming end of an asynchronous result, with continuations
// (then, then_result, recover), Python-style done-callbacks, cancellation and
// blocking waits. Created by promise<T>::get_future(), vow::submit, or the
// make_*_future helpers.
#pragma once

#include <chrono>
#include <exception>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "vow/detail/future_state.hpp"
#include "vow/errors.hpp"
#include "vow/executor.hpp"
#include "vow/result.hpp"
#include "vow/timer.hpp"

namespace vow {

template <class T>
class future;
template <class T>
class shared_future;
template <class T>
class promise;

namespace detail {
template <class T>
struct is_future : std::false_type {};
template <class T>
struct is_future<future<T>> : std::true_type {};

// future<R> for a callable returning R, and future<U> when it returns future<U>.
template <class R>
struct future_for {
    using type = future<R>;
};
template <class U>
struct future_for<future<U>> {
    using type = future<U>;
};

template <class F, class T>
struct value_call {
    using type = std::invoke_result_t<F, T&&>;
};
template <class F>
struct value_call<F, void> {
    using type = std::invoke_result_t<F>;
};

template <class T>
class then_access;
}  // namespace detail

// Called with every exception that a dropped future held and nobody observed
// (through get, then, add_done_callback, ...). The default prints one line to
// stderr. Returns the previous handler. The handler must not throw.
using unobserved_error_handler = void (*)(std::exception_ptr);
unobserved_error_handler set_unobserved_error_handler(unobserved_error_handler h) noexcept;

// Semantics (see docs/futures.md for the full story):
// - Move-only and single-consumer: one thread uses a future object at a time.
//   share() gives a copyable shared_future.
// - Bound to an executor: then(f) and done-callbacks run there. promise futures
//   are bound to the (trampolined) inline executor, submit() futures to the
//   executor they ran on, via(ex) rebinds. Nothing ever starts a thread.
// - then(f): f(T) (or f() for void); an error skips f and flows on; a future
//   returned by f is unwrapped. Continuations never run under a library lock.
// - add_done_callback(f): f(const result<T>&); several allowed, run in the order
//   added, on the bound executor (at once if already done), all before a then
//   or get() consumes the value. An exception from f is reported to the
//   unobserved-error handler.
// - cancel(): completes the future at once with cancelled_error and sends a
//   stop request upstream: a queued submit() task is skipped, a running one
//   sees its stop_token, a promise sees on_cancel/stop_token, a then chain
//   passes it to what it waits on. On a future already done (or being
//   completed) it does nothing at all: no hooks, no stop request. Dropping a
//   future does not cancel.
// - get() on a thread_pool worker runs that pool's queued work while it waits,
//   so a 1-worker pool cannot deadlock on its own queue.
template <class T>
class future {
public:
    using value_type = T;

    future() noexcept = default;
    future(future&&) noexcept = default;
    future& operator=(future&&) noexcept = default;
    future(const future&) = delete;
    future& operator=(const future&) = delete;
    ~future() = default;

    bool valid() const noexcept { return static_cast<bool>(state_); }
    bool is_ready() const;

    // Waits, then returns the value or rethrows the stored exception. Consumes
    // the future (valid() is false afterwards).
    T get();
    // The outcome as a result<T> instead of throwing. Consumes the future.
    result<T> get_result();

    void wait() const;
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> d) const;
    template <class Clock, class Duration>
    bool wait_until(std::chrono::time_point<Clock, Duration> t) const;

    template <class F>
    auto then(F&& f) &&;
    template <class F>
    auto then(executor& ex, F&& f) &&;
    // Runs f on whichever thread completes this future (trampolined, so long
    // chains do not grow the stack).
    template <class F>
    auto then_inline(F&& f) &&;
    // f(result<T>): sees values and errors alike.
    template <class F>
    auto then_result(F&& f) &&;
    template <class F>
    auto then_result(executor& ex, F&& f) &&;
    // f(const E&) -> T replaces an error of type E; other errors flow on.
    template <class E, class F>
    future<T> recover(F&& f) &&;
    // The same future, bound to `ex` for what follows.
    future<T> via(executor& ex) &&;

    template <class F>
    void add_done_callback(F&& f);

    // Completes with cancelled_error and requests stop upstream; does nothing
    // if already done. Safe to call from any thread, and more than once.
    void cancel() const noexcept;
    bool is_cancelled() const noexcept;

    // The same result, or timeout_error if it is not done within `d` (the
    // input is then cancelled). The deadline runs on `t`.
    template <class Rep, class Period>
    future<T> within(std::chrono::duration<Rep, Period> d, timer& t = default_timer()) &&;

    // A copyable shared_future of the same result. Defined in
    // vow/shared_future.hpp: include it to call share().
    shared_future<T> share() &&;

    executor& bound_executor() const { return checked().bound_executor(); }

private:
    template <class>
    friend class future;
    template <class>
    friend class promise;
    template <class>
    friend class shared_future;
    template <class>
    friend class detail::then_access;

    explicit future(detail::state_ptr<detail::state<T>> s) noexcept : state_(std::move(s)) {}
    detail::state<T>& checked() const;
    template <class F, bool PassResult>
    auto chain(executor& ex, F&& f);

    detail::state_ptr<detail::state<T>> state_;
};

// A future already completed with `value` (bound to the inline executor).
template <class T>
future<std::decay_t<T>> make_ready_future(T&& value);
future<void> make_ready_future();
template <class T>
future<T> make_exceptional_future(std::exception_ptr e);
template <class T, class E>
future<T> make_exceptional_future(E&& e);

// Runs f on `ex` and returns a future of its outcome, bound to `ex`. f may take
// a std::stop_token (stopped when the future is cancelled); a cancelled task
// that has not started is skipped. If `ex` refuses the task, the future fails
// with executor_shut_down (submit itself does not throw).
template <class F>
auto submit(executor& ex, F&& f);

}  // namespace vow

#include "vow/detail/future_impl.hpp"
// within() is the timeout combinator, offered as a member: it is defined
// there, on the extension layer like every combinator.
#include "vow/timeout.hpp"
