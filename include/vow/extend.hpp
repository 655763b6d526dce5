// The extension layer: what a combinator is built from. Public and stable:
// vow's own combinators (when_*, hedge, ...) use nothing else, and neither
// need yours. docs/writing-combinators.md walks through writing one.
//
//   completion<T>      the output: many producers may race to complete it, the
//                      first wins, the others learn they lost (return false)
//   input<T>           watches one input future without a done-callback and
//                      takes its result out by move (move-only T works);
//                      cancel_handle cancels it later from any thread
//   owned_task         a task that does something (fail the output) if an
//                      executor or timer destroys it unrun
//   countdown          "the last of n arrivals" for fan-in
//   call_attempt       calls an attempt factory with the attempt's number, or none
//   timer_entry        a timer task of your own type that the timer builds in
//                      reused memory: a deadline with no allocation (timeout)
//
// Cancellation both ways: completion::on_cancel / stop_token tell a producer
// that the output was cancelled (the hook then cancels the inputs, say);
// input<T>::cancel passes a cancel on to an input still running. A completed
// output destroys its hooks, so a hook may capture the combinator's shared
// context (which owns the completion) without making a reference cycle.
//
// input<T>, cancel_handle, timer_entry, can_take_now/take_now and is_future_v
// are defined in vow/detail/extend_core.hpp (vow/future.hpp needs them for
// within()); they are part of this header's stable API all the same.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

// future.hpp first: it includes timeout.hpp, and with it extend_core.hpp, at
// its end (for within()).
#include "vow/future.hpp"
#include "vow/detail/extend_core.hpp"  // input<T>, cancel_handle, timer_entry
#include "vow/errors.hpp"
#include "vow/executor.hpp"
#include "vow/inline_executor.hpp"
#include "vow/result.hpp"
#include "vow/timer.hpp"

namespace vow::ext {

template <class T>
class completion;

namespace detail_ext {
struct access;
}

// A non-owning view of an output: everything a producer does with it. Valid
// while someone holds a reference (a completion<T>, the context of
// make_completion_with). All members may be called from any thread at once.
template <class T>
class completion_view {
public:
    completion_view() noexcept = default;

    // Complete the output unless it is complete already. Return false when
    // another producer (or a cancel) won: the value is then dropped.
    template <class... Args>
    bool set_value(Args&&... args) const {
        return s_->set_value(std::forward<Args>(args)...);
    }
    bool set_exception(std::exception_ptr e) const noexcept { return s_->fail(std::move(e)); }
    bool set_result(result<T>&& r) const noexcept {
        if (!s_->try_claim()) return false;
        detail::complete_claimed(*s_, std::move(r));
        return true;
    }

    // Two steps, for a winner that must act between winning and publishing
    // (cancel the other inputs first, so whoever sees the output sees them
    // already told to stop):  if (auto c = done.claim()) { stop(); c.set_value(v); }
    class claim;
    claim try_claim() const noexcept;

    // True once a producer or a cancel won (the output is complete or about to be).
    bool is_claimed() const noexcept { return s_->is_claimed(); }
    bool cancel_requested() const noexcept { return s_->cancel_requested(); }
    // Stopped when the output is cancelled.
    std::stop_token stop_token() const { return s_->stop_token(); }
    // Runs `hook` once, on the cancelling thread, when the output is cancelled
    // (at once if it already is). Destroyed unrun once the output completes
    // otherwise: it may capture what owns this completion without a cycle.
    template <class F>
    void on_cancel(F&& hook) const {
        s_->on_cancel(std::forward<F>(hook));
    }

    // An owning handle to the same output (one reference count increment).
    completion<T> share() const noexcept;

    explicit operator bool() const noexcept { return s_ != nullptr; }

protected:
    template <class>
    friend class completion;
    friend struct detail_ext::access;
    explicit completion_view(detail::state<T>* s) noexcept : s_(s) {}

    detail::state<T>* s_ = nullptr;
};

// The winner's side of completion_view::try_claim(). Move-only; destroyed
// without completing, it fails the output with broken_promise.
template <class T>
class completion_view<T>::claim {
public:
    claim(claim&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    claim& operator=(claim&&) = delete;
    ~claim() {
        if (s_) set_exception(std::make_exception_ptr(broken_promise()));
    }
    explicit operator bool() const noexcept { return s_ != nullptr; }

    template <class... Args>
    void set_value(Args&&... args) noexcept {
        auto* s = std::exchange(s_, nullptr);
        try {
            s->store_value(std::forward<Args>(args)...);
        } catch (...) {
            s->store_exception(std::current_exception());
        }
        s->publish();
    }
    void set_exception(std::exception_ptr e) noexcept {
        auto* s = std::exchange(s_, nullptr);
        s->store_exception(std::move(e));
        s->publish();
    }
    void set_result(result<T>&& r) noexcept { detail::complete_claimed(*std::exchange(s_, nullptr), std::move(r)); }

private:
    friend class completion_view<T>;
    explicit claim(detail::state<T>* s) noexcept : s_(s) {}
    detail::state<T>* s_;  // non-null while won and not yet completed
};

template <class T>
typename completion_view<T>::claim completion_view<T>::try_claim() const noexcept {
    return claim(s_->try_claim() ? s_ : nullptr);
}

// An owning, copyable handle to an output. Copies may be handed to producers
// on different threads. Dropping every handle does not complete the output:
// a combinator must complete it (owned_task helps when work is dropped).
template <class T>
class completion : public completion_view<T> {
public:
    completion() noexcept = default;
    completion(const completion& o) noexcept : completion_view<T>(o.s_) {
        if (this->s_) this->s_->add_ref();
    }
    completion(completion&& o) noexcept : completion_view<T>(std::exchange(o.s_, nullptr)) {}
    completion& operator=(completion o) noexcept {
        std::swap(this->s_, o.s_);
        return *this;
    }
    ~completion() {
        if (this->s_) this->s_->release();
    }

    // Gives up this handle's reference without dropping it: the caller now
    // owns it and hands it back with adopt(). For a reference that a group
    // owns together (the inputs in flight of a fan-in; the last one adopts).
    completion_view<T> detach() noexcept { return completion_view<T>(std::exchange(this->s_, nullptr)); }
    static completion adopt(completion_view<T> v) noexcept { return completion(v.s_); }

private:
    template <class>
    friend class completion_view;
    friend struct detail_ext::access;
    explicit completion(detail::state<T>* s) noexcept : completion_view<T>(s) {}  // adopts
};

namespace detail_ext {
// Builds handles from states; the layer's own business.
struct access {
    template <class T>
    static completion<T> adopt(vow::detail::state<T>* s) noexcept {
        return completion<T>(s);
    }
    template <class T>
    static completion_view<T> view(vow::detail::state<T>* s) noexcept {
        return completion_view<T>(s);
    }
};
}  // namespace detail_ext

template <class T>
completion<T> completion_view<T>::share() const noexcept {
    s_->add_ref();
    return completion<T>(s_);
}

// For combinators that start attempts (retry, hedge): calls the user's
// factory with the attempt's number (1 for the first) when it takes one,
// else with nothing.
template <class F>
auto call_attempt(F& f, int attempt) {
    if constexpr (std::is_invocable_v<F&, int>) {
        return f(attempt);
    } else {
        return f();
    }
}

// A new output: the handle producers complete, and the future the caller
// returns, bound to `ex` (its then() callables run there). One allocation.
template <class T>
std::pair<completion<T>, future<T>> make_completion(executor& ex = inline_executor::instance()) {
    auto* s = detail::state<T>::create();  // two references: one each
    s->bind(ex);
    return {detail_ext::access::adopt(s), detail::then_access<T>::make(detail::state_ptr<detail::state<T>>(s))};
}

namespace detail_ext {
// The output's state with the combinator's context in the same allocation.
// Ctx is a base so that completion_of can get from the context back here.
template <class T, class Ctx>
class context_state final : public vow::detail::state<T>, public Ctx {
public:
    template <class... A>
    explicit context_state(A&&... args) : Ctx(std::forward<A>(args)...) {}
};
}  // namespace detail_ext

template <class T, class Ctx>
struct made_with {
    completion<T> done;
    Ctx& context;
    future<T> output;
};

// Like make_completion, with a context of type Ctx (built from `args`) in the
// same allocation as the output: it lives exactly as long as the output's
// state, i.e. as long as the future or any completion handle. Ctx must be a
// class that is not final. Returns {done, context, output}.
template <class T, class Ctx, class... A>
made_with<T, Ctx> make_completion_with(executor& ex, A&&... args) {
    auto* s = new detail_ext::context_state<T, Ctx>(std::forward<A>(args)...);
    s->bind(ex);
    return {detail_ext::access::adopt<T>(s), static_cast<Ctx&>(*s),
            detail::then_access<T>::make(detail::state_ptr<detail::state<T>>(s))};
}

// The output whose context `context` is (it must come from
// make_completion_with<T, Ctx>). No reference count change.
template <class T, class Ctx>
completion_view<T> completion_of(Ctx& context) noexcept {
    return detail_ext::access::view<T>(static_cast<detail_ext::context_state<T, Ctx>*>(&context));
}

// Calls fn(result<T>&&) once, on the completing thread, when `f` completes.
// One allocation (as a then() costs); for one-off watches outside a context.
template <class T, class F>
void observe(future<T>&& f, F&& fn) {
    struct watcher final : input<T> {
        explicit watcher(F&& g) : fn(std::forward<F>(g)) {}
        std::decay_t<F> fn;
        void on_arrival() noexcept override {
            fn(this->take());
            delete this;
        }
    };
    if (!f.valid()) throw usage_error("vow: invalid future passed to observe");
    auto* w = new watcher(std::forward<F>(fn));
    w->hold(std::move(f));
    w->listen();
}

// A task that runs `run()` once, or, if an executor or timer destroys it
// unrun (shut down), calls `dropped()` instead. Move-only.
template <class Run, class Drop>
class owned_task {
public:
    owned_task(Run run, Drop dropped) : run_(std::move(run)), dropped_(std::move(dropped)) {}
    owned_task(owned_task&& o) noexcept(std::is_nothrow_move_constructible_v<Run> &&
                                        std::is_nothrow_move_constructible_v<Drop>)
        : run_(std::move(o.run_)), dropped_(std::move(o.dropped_)), armed_(std::exchange(o.armed_, false)) {}
    owned_task& operator=(owned_task&&) = delete;
    ~owned_task() {
        if (armed_) dropped_();
    }
    void operator()() {
        armed_ = false;
        run_();
    }

private:
    Run run_;
    Drop dropped_;
    bool armed_ = true;  // false once run or moved from
};

// The usual owned task: runs `run()` -- or `run(done)`, handing over the
// task's own reference to the output, when run takes a completion<T>& --
// and, destroyed unrun, fails `done` with executor_shut_down (a no-op if
// `done` is complete already). The task holds a reference to the output.
template <class T, class F>
class completion_task {
public:
    completion_task(completion<T> done, F run) : done_(std::move(done)), run_(std::move(run)) {}
    completion_task(completion_task&&) noexcept(std::is_nothrow_move_constructible_v<F>) = default;
    completion_task& operator=(completion_task&&) = delete;
    ~completion_task() {
        if (done_) done_.set_exception(std::make_exception_ptr(executor_shut_down()));
    }
    void operator()() {
        completion<T> done = std::move(done_);  // disarms the destructor
        if constexpr (std::is_invocable_v<F&, completion<T>&>) {
            run_(done);
        } else {
            run_();
        }
    }

private:
    completion<T> done_;  // null once run or moved from
    F run_;
};

template <class T, class F>
completion_task<T, F> task_for(completion<T> done, F run) {
    return completion_task<T, F>(std::move(done), std::move(run));
}

// Fan-in: n arrivals expected; the one that brings the count to zero learns
// it was the last (and sees every other arrival's writes).
class countdown {
public:
    explicit countdown(std::size_t n) noexcept : remaining_(n) {}
    countdown(const countdown&) = delete;
    countdown& operator=(const countdown&) = delete;

    // Counts `k` arrivals at once; true for the caller that completed the count.
    bool arrive(std::size_t k = 1) noexcept {
        // acq_rel: the last arrival must see every other arrival's writes.
        return remaining_.fetch_sub(k, std::memory_order_acq_rel) == k;
    }
    std::size_t remaining() const noexcept { return remaining_.load(std::memory_order_acquire); }

private:
    std::atomic<std::size_t> remaining_;
};

}  // namespace vow::ext
