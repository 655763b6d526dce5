// Template bodies of future<T>; included at the end of vow/future.hpp.
#pragma once

#include <concepts>
#include <optional>

#include "vow/inline_executor.hpp"

namespace vow::detail {

// How a continuation receives its input.
enum class pass {
    value,         // f(T&&); an error skips f (future::then)
    result,        // f(result<T>&&)         (future::then_result)
    shared_value,  // f(const T&); an error skips f (shared_future::then)
};

template <class T, class F, pass Mode>
struct continuation_call;
template <class T, class F>
struct continuation_call<T, F, pass::value> {
    using type = typename value_call<F, T>::type;
};
template <class T, class F>
struct continuation_call<T, F, pass::result> {
    using type = std::invoke_result_t<F, result<T>&&>;
};
template <class T, class F>
struct continuation_call<T, F, pass::shared_value> {
    using type = std::invoke_result_t<F, const T&>;
};
template <class F>
struct continuation_call<void, F, pass::shared_value> {
    using type = std::invoke_result_t<F>;
};

// Stores `r` into `target`, whose claim the caller won, and publishes it.
template <class T>
void complete_claimed(state<T>& target, result<T>&& r) noexcept {
    if constexpr (std::is_void_v<T>) {
        if (r.has_exception()) target.store_exception(r.exception());
        else target.store_value();
    } else {
        if (r.has_exception()) {
            target.store_exception(r.exception());
        } else {
            try {
                target.store_value(std::move(r).value());
            } catch (...) {
                target.store_exception(std::current_exception());
            }
        }
    }
    target.publish();
}

// Moves a finished result into `target` unless it completed already.
template <class T>
void complete_from(state<T>& target, result<T>&& r) noexcept {
    if (target.try_claim()) complete_claimed(target, std::move(r));
}

// Completes `target` with whatever `inner` completes with (unwrapping a future
// returned by a continuation or a submitted task). A cancel of `target` reaches
// `inner`.
template <class T>
class forwarder final : public callback_node {
public:
    static void link(state<T>& target, state_ptr<state<T>> inner) {
        target.set_upstream(inner.get());
        target.add_ref();
        auto* node = new forwarder(&target);
        inner->attach(node);
    }

    void on_ready(state_base& done) noexcept override {
        auto& in = static_cast<state<T>&>(done);
        target_->drop_upstream();
        if (in.get_result().has_exception()) in.mark_observed();
        in.add_ref();
        // Through the inline trampoline, not directly: an asynchronous loop (a
        // task returning the future of the next step) nests 100,000 forwarders,
        // which would otherwise complete recursively.
        inline_executor::instance().execute(complete_task(std::exchange(target_, nullptr), &in));
        delete this;
    }

private:
    explicit forwarder(state<T>* t) noexcept : target_(t) { consumes = true; }

    // Moves the inner result into the target. Never dropped unrun.
    class complete_task {
    public:
        complete_task(state<T>* target, state<T>* in) noexcept : target_(target), in_(in) {}
        complete_task(complete_task&& o) noexcept
            : target_(std::exchange(o.target_, nullptr)), in_(std::exchange(o.in_, nullptr)) {}
        complete_task& operator=(complete_task&&) = delete;
        ~complete_task() {
            if (target_ != nullptr) (*this)();
        }
        void operator()() {
            state<T>* target = std::exchange(target_, nullptr);
            state<T>* in = std::exchange(in_, nullptr);
            complete_from(*target, std::move(in->get_result()));
            target->release();
            in->release();
        }

    private:
        state<T>* target_;  // owned reference
        state<T>* in_;      // owned reference
    };

    state<T>* target_;  // owned reference
};

// Runs `call` and completes `target` with its outcome; a returned future is
// unwrapped. Exceptions from `call` become the result.
template <class Out, class Call>
void complete_with_call(state<Out>& target, Call&& call) noexcept {
    using R = std::invoke_result_t<Call>;
    try {
        if constexpr (is_future<R>::value) {
            R inner = std::forward<Call>(call)();
            if (!inner.valid()) {
                target.fail(std::make_exception_ptr(broken_promise()));
                return;
            }
            forwarder<Out>::link(target, then_access<Out>::take(inner));
        } else if constexpr (std::is_void_v<R>) {
            std::forward<Call>(call)();
            target.set_value();
        } else {
            target.set_value(std::forward<Call>(call)());
        }
    } catch (...) {
        target.fail(std::current_exception());
    }
}

template <class T>
class then_access {
public:
    static state_ptr<state<T>> take(future<T>& f) noexcept { return std::move(f.state_); }
    static state<T>& peek(const future<T>& f) noexcept { return *f.state_; }  // f must be valid
    static future<T> make(state_ptr<state<T>> s) noexcept { return future<T>(std::move(s)); }
};

// The state of the future that then() returns, which is at the same time the
// node waiting on the upstream future. One allocation per then.
template <class T, class Out, class F, pass Mode>
class then_state final : public state<Out>, public callback_node, public trampoline_item {
public:
    then_state(F&& f, executor& ex) : fn_(std::move(f)), ex_(&ex) { consumes = (Mode != pass::shared_value); }
    then_state(const F& f, executor& ex) : fn_(f), ex_(&ex) { consumes = (Mode != pass::shared_value); }

    // The upstream completed (on the completing thread; holds the list's reference).
    void on_ready(state_base& done) noexcept override {
        auto& up = static_cast<state<T>&>(done);
        // The reference this state held on `up` for passing a cancel on now
        // keeps `up` alive until f has read its result (no add_ref/release
        // pair); a cancel that came first took it, so share one instead.
        state_ptr<state<T>> keep(static_cast<state<T>*>(this->take_upstream()));
        if (!keep) keep = state_ptr<state<T>>::share(&up);
        const bool failed = up.get_result().has_exception();
        if (failed) up.mark_observed();
        if (this->is_ready()) {  // cancelled meanwhile: f never runs
            fn_.reset();
            this->release();
            return;
        }
        if constexpr (Mode != pass::result) {
            if (failed) {  // an error skips f and flows on, without a hop to ex_
                fn_.reset();
                // Through the inline trampoline, not directly: failing a pending
                // chain of 100,000 thens would otherwise recurse once per link.
                inline_executor::instance().execute(fail_task(this, up.get_result().exception()));
                return;
            }
        }
        if (ex_ == &inline_executor::instance()) {
            // The common inline case queues this state itself on the trampoline
            // (run_queued below) instead of a run_task.
            queued_up_ = keep.detach();
            try {
                run_inline(*this);
            } catch (...) {
                // Another task run by the trampoline threw; this one ran or is queued.
            }
            return;
        }
        try {
            ex_->execute(run_task(this, keep.detach()));
        } catch (...) {
            // Refused: run_task's destructor failed this future with executor_shut_down.
        }
    }

private:
    // The last release frees through the final type: no virtual destructor
    // call, and the block goes back to the cache with its size known.
    void destroy() noexcept override { delete this; }

    // The task queued on the executor. Destroyed unrun, it fails the future.
    class run_task {
    public:
        run_task(then_state* self, state<T>* up) noexcept : self_(self), up_(up) {}
        run_task(run_task&& o) noexcept : self_(std::exchange(o.self_, nullptr)), up_(std::exchange(o.up_, nullptr)) {}
        run_task& operator=(run_task&&) = delete;
        ~run_task() {
            if (self_ == nullptr) return;
            self_->fn_.reset();
            self_->fail(std::make_exception_ptr(executor_shut_down()));
            self_->release();
            up_->release();
        }
        void operator()() {
            then_state* self = std::exchange(self_, nullptr);
            state<T>* up = std::exchange(up_, nullptr);
            self->run(*up);
            self->release();
            up->release();
        }

    private:
        then_state* self_;  // owned reference
        state<T>* up_;      // owned reference
    };

    // Fails this future with the upstream's error (on the inline trampoline).
    class fail_task {
    public:
        fail_task(then_state* self, std::exception_ptr e) noexcept : self_(self), error_(std::move(e)) {}
        fail_task(fail_task&& o) noexcept : self_(std::exchange(o.self_, nullptr)), error_(std::move(o.error_)) {}
        fail_task& operator=(fail_task&&) = delete;
        ~fail_task() {
            if (self_ != nullptr) (*this)();  // never dropped: an error must not get lost
        }
        void operator()() {
            then_state* self = std::exchange(self_, nullptr);
            self->fail(std::move(error_));
            self->release();
        }

    private:
        then_state* self_;             // owned reference (the upstream list's)
        std::exception_ptr error_;
    };

    void run_queued() noexcept override {
        state<T>* up = std::exchange(queued_up_, nullptr);
        run(*up);
        this->release();
        up->release();
    }

    void run(state<T>& up) noexcept {
        if (this->is_ready()) {  // cancelled while queued: skip
            fn_.reset();
            return;
        }
        complete_with_call(static_cast<state<Out>&>(*this), [&]() -> decltype(auto) {
            // Destroy the callable right after its single call, even if it throws.
            struct reset_after {
                std::optional<F>& fn;
                ~reset_after() { fn.reset(); }
            } guard{fn_};
            auto& r = up.get_result();
            if constexpr (Mode == pass::result) {
                return std::invoke(*fn_, std::move(r));
            } else if constexpr (std::is_void_v<T>) {
                return std::invoke(*fn_);
            } else if constexpr (Mode == pass::value) {
                return std::invoke(*fn_, std::move(r.value()));
            } else {
                return std::invoke(*fn_, std::as_const(r.value()));
            }
        });
    }

    std::optional<F> fn_;  // touched only by the single thread that runs or drops it
    executor* ex_;
    state<T>* queued_up_ = nullptr;  // owned reference while queued on the inline trampoline
};

// Attaches a then_state to `up` and returns the downstream future.
template <pass Mode, class T, class F>
auto attach_continuation(state_ptr<state<T>> up, executor& ex, F&& f, bool link_cancel) {
    using Raw = typename continuation_call<T, std::decay_t<F>&, Mode>::type;
    using Fut = typename future_for<Raw>::type;
    using Out = typename Fut::value_type;
    auto* s = new then_state<T, Out, std::decay_t<F>, Mode>(std::forward<F>(f), ex);
    s->bind(ex);
    state<T>& upstream = *up;
    // The consumer's reference to `up` becomes the link a cancel travels up by
    // (taken over by on_ready), or is dropped here when there is no such link.
    // A future's then consumes it, nothing attaches after it; a
    // shared_future's then (no cancel link) may have company.
    if (link_cancel) {
        s->adopt_upstream(up.detach());
        upstream.attach_last(s);  // the list holds one of the two initial references
    } else {
        upstream.attach(s);
    }
    return then_access<Out>::make(state_ptr<state<Out>>(static_cast<state<Out>*>(s)));
}

}  // namespace vow::detail

namespace vow {

template <class T>
detail::state<T>& future<T>::checked() const {
    if (!state_) throw usage_error("vow: use of an invalid (moved-from or consumed) future");
    return *state_;
}

template <class T>
bool future<T>::is_ready() const {
    return checked().is_ready();
}

template <class T>
result<T> future<T>::get_result() {
    checked().wait_consumable();
    auto s = std::move(state_);
    auto& r = s->get_result();
    if (r.has_exception()) s->mark_observed();
    return std::move(r);
}

template <class T>
T future<T>::get() {
    if constexpr (std::is_void_v<T>) {
        get_result().value();
    } else {
        return get_result().value();
    }
}

template <class T>
void future<T>::wait() const {
    checked().wait();
}

template <class T>
template <class Rep, class Period>
bool future<T>::wait_for(std::chrono::duration<Rep, Period> d) const {
    auto& s = checked();
    if (s.is_ready()) return true;
    return s.wait_until(std::chrono::steady_clock::now() +
                        std::chrono::ceil<std::chrono::steady_clock::duration>(d));
}

template <class T>
template <class Clock, class Duration>
bool future<T>::wait_until(std::chrono::time_point<Clock, Duration> t) const {
    auto& s = checked();
    if (s.is_ready()) return true;
    return s.wait_until(std::chrono::steady_clock::now() +
                        std::chrono::ceil<std::chrono::steady_clock::duration>(t - Clock::now()));
}

template <class T>
template <class F, bool PassResult>
auto future<T>::chain(executor& ex, F&& f) {
    checked();
    constexpr auto mode = PassResult ? detail::pass::result : detail::pass::value;
    return detail::attach_continuation<mode>(std::move(state_), ex, std::forward<F>(f), true);
}

template <class T>
template <class F>
auto future<T>::then(F&& f) && {
    return chain<F, false>(checked().bound_executor(), std::forward<F>(f));
}

template <class T>
template <class F>
auto future<T>::then(executor& ex, F&& f) && {
    return chain<F, false>(ex, std::forward<F>(f));
}

template <class T>
template <class F>
auto future<T>::then_inline(F&& f) && {
    return chain<F, false>(inline_executor::instance(), std::forward<F>(f));
}

template <class T>
template <class F>
auto future<T>::then_result(F&& f) && {
    return chain<F, true>(checked().bound_executor(), std::forward<F>(f));
}

template <class T>
template <class F>
auto future<T>::then_result(executor& ex, F&& f) && {
    return chain<F, true>(ex, std::forward<F>(f));
}

template <class T>
template <class E, class F>
future<T> future<T>::recover(F&& f) && {
    return std::move(*this).then_result([fn = std::forward<F>(f)](result<T> r) mutable -> T {
        if (r.has_value()) {
            if constexpr (std::is_void_v<T>) {
                return;
            } else {
                return std::move(r).value();
            }
        }
        try {
            std::rethrow_exception(r.exception());
        } catch (const E& e) {
            return fn(e);
        }
    });
}

template <class T>
future<T> future<T>::via(executor& ex) && {
    checked().bind(ex);
    return std::move(*this);
}

template <class T>
template <class F>
void future<T>::add_done_callback(F&& f) {
    checked().add_done_callback([fn = std::forward<F>(f)](detail::state_base& s) mutable {
        fn(std::as_const(static_cast<detail::state<T>&>(s).get_result()));
    });
}

template <class T>
void future<T>::cancel() const noexcept {
    if (state_) state_->request_cancel();
}

template <class T>
bool future<T>::is_cancelled() const noexcept {
    return state_ && state_->is_ready() && state_->get_result().is_cancelled();
}

namespace detail {
// A future completed by `complete(state)` before anyone sees it, bound inline.
template <class T, class Complete>
future<T> completed_future(Complete&& complete) {
    auto* s = state<T>::create();
    s->bind(inline_executor::instance());
    std::forward<Complete>(complete)(*s);
    s->release();  // the producer's reference
    return then_access<T>::make(state_ptr<state<T>>(s));
}
}  // namespace detail

template <class T>
future<std::decay_t<T>> make_ready_future(T&& value) {
    return detail::completed_future<std::decay_t<T>>([&](auto& s) { s.set_value(std::forward<T>(value)); });
}

inline future<void> make_ready_future() {
    return detail::completed_future<void>([](auto& s) { s.set_value(); });
}

template <class T>
future<T> make_exceptional_future(std::exception_ptr e) {
    return detail::completed_future<T>([&](auto& s) { s.fail(std::move(e)); });
}

template <class T, class E>
future<T> make_exceptional_future(E&& e) {
    return make_exceptional_future<T>(std::make_exception_ptr(std::forward<E>(e)));
}

namespace detail {

template <class F>
struct submit_call {
    static constexpr bool takes_token = std::is_invocable_v<F&, std::stop_token>;
    using type = std::conditional_t<takes_token, std::invoke_result<F&, std::stop_token>, std::invoke_result<F&>>;
};

// The task submit() queues. Destroyed unrun, it fails its future.
template <class Out, class F>
class submit_task {
public:
    template <class G>  // G: F, F& or const F& (submit takes lvalue callables too, and copies them)
    submit_task(state<Out>* s, G&& f) : s_(s), fn_(std::forward<G>(f)) {}
    submit_task(submit_task&& o) noexcept(std::is_nothrow_move_constructible_v<F>)
        : s_(std::exchange(o.s_, nullptr)), fn_(std::move(o.fn_)) {}
    submit_task& operator=(submit_task&&) = delete;
    ~submit_task() {
        if (s_ == nullptr) return;
        s_->fail(std::make_exception_ptr(executor_shut_down()));
        s_->release();
    }
    void operator()() {
        state<Out>* s = std::exchange(s_, nullptr);
        if (!s->is_ready()) {  // a cancelled task that has not started is skipped
            complete_with_call(*s, [&]() -> decltype(auto) {
                if constexpr (submit_call<F>::takes_token) {
                    return std::invoke(fn_, s->stop_token());
                } else {
                    return std::invoke(fn_);
                }
            });
        }
        s->release();
    }

private:
    state<Out>* s_;  // owned reference (the producer's)
    F fn_;
};

}  // namespace detail

template <class F>
auto submit(executor& ex, F&& f) {
    using Fn = std::decay_t<F>;
    using Raw = typename detail::submit_call<Fn>::type::type;
    using Fut = typename detail::future_for<Raw>::type;
    using Out = typename Fut::value_type;
    auto* s = detail::state<Out>::create();
    s->bind(ex);
    auto fut = detail::then_access<Out>::make(detail::state_ptr<detail::state<Out>>(s));
    try {
        ex.execute(detail::submit_task<Out, Fn>(s, std::forward<F>(f)));
    } catch (const executor_shut_down&) {
        // The task's destructor already failed the future.
    }
    return fut;
}

}  // namespace vow
