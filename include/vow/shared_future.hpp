// shared_future<T>: a copyable future that many consumers may wait on, read
// (get() returns const T&) and chain from. Made by future<T>::share(), which
// this header defines (future.hpp does not include this one).
#pragma once

#include <chrono>
#include <utility>

#include "vow/future.hpp"

namespace vow {

// Thread safety: distinct copies may be used from different threads at once
// (like std::shared_future); one copy is used by one thread at a time.
// Unlike future, a shared_future cannot cancel: other consumers still want the
// result. Cancel the original future before sharing if you need that.
template <class T>
class shared_future {
public:
    using value_type = T;

    shared_future() noexcept = default;

    bool valid() const noexcept { return static_cast<bool>(state_); }
    bool is_ready() const { return checked().is_ready(); }

    // Waits; returns the value (a reference into the shared state) or rethrows.
    decltype(auto) get() const {
        auto& s = checked();
        s.wait();
        auto& r = s.get_result();
        if (r.has_exception()) s.mark_observed();
        if constexpr (std::is_void_v<T>) {
            r.value();
        } else {
            return std::as_const(r).value();
        }
    }
    const result<T>& get_result() const {
        auto& s = checked();
        s.wait();
        if (s.get_result().has_exception()) s.mark_observed();
        return s.get_result();
    }

    void wait() const { checked().wait(); }
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> d) const {
        auto& s = checked();
        return s.is_ready() || s.wait_until(std::chrono::steady_clock::now() +
                                            std::chrono::ceil<std::chrono::steady_clock::duration>(d));
    }
    // Waits until done or until `t` (on any clock); true when done.
    template <class Clock, class Duration>
    bool wait_until(std::chrono::time_point<Clock, Duration> t) const {
        auto& s = checked();
        return s.is_ready() ||
               s.wait_until(std::chrono::steady_clock::now() +
                            std::chrono::ceil<std::chrono::steady_clock::duration>(t - Clock::now()));
    }

    // f(const T&) (or f() for void) on the bound executor / on `ex`. An error
    // skips f and flows on; a returned future is unwrapped.
    template <class F>
    auto then(F&& f) const {
        return then(checked().bound_executor(), std::forward<F>(f));
    }
    template <class F>
    auto then(executor& ex, F&& f) const {
        checked();
        return detail::attach_continuation<detail::pass::shared_value>(state_, ex, std::forward<F>(f), false);
    }

    template <class F>
    void add_done_callback(F&& f) const {
        checked().add_done_callback([fn = std::forward<F>(f)](detail::state_base& s) mutable {
            fn(std::as_const(static_cast<detail::state<T>&>(s).get_result()));
        });
    }

private:
    template <class>
    friend class future;
    explicit shared_future(detail::state_ptr<detail::state<T>> s) noexcept : state_(std::move(s)) {}

    detail::state<T>& checked() const {
        if (!state_) throw usage_error("vow: use of an invalid shared_future");
        return *state_;
    }

    detail::state_ptr<detail::state<T>> state_;
};

template <class T>
shared_future<T> future<T>::share() && {
    checked();
    return shared_future<T>(std::move(state_));
}

}  // namespace vow
