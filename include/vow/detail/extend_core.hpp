// Part of the extension layer (vow/extend.hpp; include that, not this): the
// pieces that need nothing above the futures layer -- input<T>,
// cancel_handle, timer_entry and friends. vow/future.hpp defines within()
// through vow/timeout.hpp at its end, and the timeout uses these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>

#include "vow/future.hpp"  // first: see above
#include "vow/detail/timer_node.hpp"
#include "vow/errors.hpp"
#include "vow/result.hpp"
#include "vow/timer.hpp"

namespace vow::ext {

// True for a vow::future<U> (what a make_attempt-style callable must return).
template <class F>
inline constexpr bool is_future_v = vow::detail::is_future<std::remove_cvref_t<F>>::value;

// A copyable handle that cancels one input later, from any thread, without
// touching the input<T> that watches it (take it under your lock, cancel
// after unlocking: a cancel runs the input producer's hooks). Holds a
// reference to the input's state. Cancelling an input that is done does
// nothing.
class cancel_handle {
public:
    cancel_handle() noexcept = default;
    void cancel() const noexcept {
        if (s_ && !s_->is_ready()) s_->request_cancel();
    }
    explicit operator bool() const noexcept { return static_cast<bool>(s_); }

private:
    template <class>
    friend class input;
    explicit cancel_handle(vow::detail::state_base* s) noexcept
        : s_(vow::detail::state_ptr<vow::detail::state_base>::share(s)) {}
    vow::detail::state_ptr<vow::detail::state_base> s_;
};

// Watches one input future: on_arrival() is called once, on the completing
// thread, when it completes. No done-callback, no allocation: embed an input
// in the combinator's context (one per input). Subclass it and override
// on_arrival (noexcept; keep it short, hand real work to an executor).
//
// Thread safety: hold/listen/take/reset by one thread at a time (arrival
// included); cancel() from any thread while the input is held (or use a
// cancel_handle when another thread may reset it).
template <class T>
class input : private vow::detail::callback_node {
public:
    input() noexcept { consumes = true; }  // runs after the input's done-callbacks
    input(const input&) = delete;
    input& operator=(const input&) = delete;

    // Takes over `f` (usage_error if it is not valid). Cancels reach it
    // through cancel() only: holding does not link it to the output.
    void hold(future<T>&& f) {
        if (!f.valid()) throw usage_error("vow: invalid future passed to a combinator");
        s_ = vow::detail::then_access<T>::take(f);
    }
    // Watches `f` in place instead: `f` stays valid and keeps its result (do
    // not take() it); this input only shares its state. For a deadline on
    // the very future it guards (vow::timeout).
    void watch(const future<T>& f) noexcept {
        s_ = vow::detail::state_ptr<vow::detail::state<T>>::share(&vow::detail::then_access<T>::peek(f));
        consumes = false;  // it reads nothing: no need to wait for done-callbacks
    }
    // Asks for on_arrival() once the held input completes; at once, on this
    // thread, if it has. At most once per hold.
    void listen() noexcept { s_->attach(this); }

    bool held() const noexcept { return static_cast<bool>(s_); }
    bool is_ready() const noexcept { return s_->is_ready(); }
    // Ready, and no done-callback of the input may still be reading the
    // result: take() or peek() may move it out now, without listening.
    bool can_take_now() const noexcept { return s_->is_ready() && !s_->has_done_callbacks(); }

    // The outcome, moved out (after arrival or is_ready()). Counts as looking
    // at an error (it is not reported as unobserved).
    result<T> take() noexcept(std::is_nothrow_move_constructible_v<result<T>>) {
        auto& r = s_->get_result();
        if (r.has_exception()) s_->mark_observed();
        return std::move(r);
    }
    // The outcome, left in place (after arrival or is_ready()).
    result<T>& peek() noexcept {
        auto& r = s_->get_result();
        if (r.has_exception()) s_->mark_observed();
        return r;
    }

    // Cancels the input if it is still running; one that is done is left alone
    // (its producer delivered; a stop request would only confuse it).
    void cancel() const noexcept {
        if (s_ && !s_->is_ready()) s_->request_cancel();
    }
    // Completes the held input itself with `e` unless it is complete already,
    // as a deadline does: its work is told to stop (stop token, on_cancel
    // hooks, what it waits on) before the error is published, and the error
    // is not a cancellation (whoever holds the future should look at it).
    // Returns false when the input was complete already.
    bool expire(std::exception_ptr e) noexcept {
        auto s = s_;  // publishing may run on_arrival, which may reset() this input
        if (!s->try_claim()) return false;
        s->store_exception(std::move(e));
        s->request_stop_claimed();
        s->publish();
        return true;
    }
    // A handle that can cancel the held input from any thread.
    ext::cancel_handle cancel_handle() const noexcept { return ext::cancel_handle(s_.get()); }
    // Lets go of the input (after arrival, or to drop one never listened to).
    // Then hold() may watch another.
    void reset() noexcept { s_ = {}; }

protected:
    ~input() = default;
    // The input completed. Called exactly once per listen().
    virtual void on_arrival() noexcept = 0;

private:
    void on_ready(vow::detail::state_base&) noexcept final { on_arrival(); }
    vow::detail::state_ptr<vow::detail::state<T>> s_;
};

// True when `f` is done and its result can be taken at once (get_result()
// neither blocks nor races with a done-callback still reading it): the
// check behind a fan-in's path for inputs that are all done already.
template <class T>
bool can_take_now(const future<T>& f) noexcept {
    if (!f.valid()) return false;
    auto& s = vow::detail::then_access<T>::peek(f);
    return s.is_ready() && !s.has_done_callbacks();
}

// Consumes `f`, for which can_take_now(f) holds: calls fn(result<T>&) on its
// result in place (move out what you need; an error counts as looked at),
// then drops the future. Returns what fn returns. No copy of the result.
template <class T, class F>
decltype(auto) take_now(future<T>&& f, F&& fn) {
    auto s = vow::detail::then_access<T>::take(f);  // dropped on return
    auto& r = s->get_result();
    if (r.has_exception()) s->mark_observed();
    return std::forward<F>(fn)(r);
}

// Timer entries that cost no allocation. A timer_entry is a timer task of
// your own type that real_timer and manual_timer build in the memory of an
// entry they released before (a steady stream of timeouts allocates
// nothing). It has two references, the timer's and yours; exactly one of
// claim(fired) -- the timer, at the deadline, then fire() -- and
// claim(cancelled) -- you, when the deadline no longer matters, or the timer,
// when it stops, then drop() -- wins.
class timer_entry : public vow::detail::timer_node {
protected:
    // `block_size`: as passed to the constructor by schedule_entry (0 when
    // the entry was made with new).
    timer_entry(timer::time_point deadline, std::uint16_t block_size) noexcept
        : vow::detail::timer_node(deadline, block_size) {}
    ~timer_entry() override = default;
};

// Has `t` build E(deadline, block_size, args...) and schedule it. E derives
// from timer_entry; its constructor must not throw (it runs under the
// timer's lock: no user code either). Returns the entry, with one reference
// for the caller, or null when `t` is a timer that takes only tasks (then
// allocate E yourself, with block_size 0, and schedule a task). A stopped
// timer builds the entry, drops it (claim(cancelled), drop()) and returns it.
template <class E, class... A>
E* schedule_entry(timer& t, timer::time_point deadline, A&&... args) {
    static_assert(std::is_base_of_v<timer_entry, E>, "E must derive from vow::ext::timer_entry");
    static_assert(std::is_nothrow_constructible_v<E, timer::time_point, std::uint16_t, A&&...>,
                  "E's constructor runs under the timer's lock and must not throw");
    static_assert(sizeof(E) <= UINT16_MAX);
    struct birth {
        timer::time_point deadline;
        std::tuple<A&&...> args;
        static vow::detail::timer_node* construct(void* memory, void* context) noexcept {
            auto* b = static_cast<birth*>(context);
            return std::apply(
                [&](auto&&... a) {
                    return ::new (memory) E(b->deadline, static_cast<std::uint16_t>(sizeof(E)), std::forward<A>(a)...);
                },
                b->args);
        }
    };
    birth b{deadline, std::forward_as_tuple(std::forward<A>(args)...)};
    auto* n = vow::detail::timer_access::schedule_entry(t, vow::detail::entry_factory{sizeof(E), &birth::construct, &b});
    return static_cast<E*>(n);
}

// The deadline of a timeout of `d` on `t`: never before t.now() + d; on
// real_timer, a deadline of a second or more is read from a cheaper, coarser
// clock and may fire up to two of its ticks (a few ms) late.
inline timer::time_point timeout_deadline(const timer& t, timer::duration d) {
    return vow::detail::timer_access::timeout_deadline(t, d);
}

}  // namespace vow::ext
