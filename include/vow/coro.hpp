// Coroutines: a function returning vow::future<T> may use co_await/co_return.
// co_await works on any vow::future; co_await vow::resume_on(ex) moves the rest
// of the coroutine onto an executor.
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <utility>

#include "vow/future.hpp"
#include "vow/inline_executor.hpp"

namespace vow {

// co_await resume_on(ex): continue on `ex`; later co_awaits resume there too.
// If `ex` refuses the resumption (shut down) or drops it later (shutdown_now),
// the coroutine is destroyed without resuming and its future fails with
// executor_shut_down.
struct resume_on {
    explicit resume_on(executor& e) noexcept : ex(&e) {}
    executor* ex;
};

namespace detail {

class coro_promise_base {
public:
    state_base& shared_state() const noexcept { return *state_; }
    executor* resume_executor() const noexcept { return resume_ex_; }
    void set_resume_executor(executor* ex) noexcept { resume_ex_ = ex; }

    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { state_->fail(std::current_exception()); }

    // Cancelling the coroutine's future makes its next co_await throw.
    void throw_if_cancelled() const {
        if (state_->cancel_requested()) throw cancelled_error();
    }

protected:
    explicit coro_promise_base(state_base* s) noexcept : state_(s) {}
    ~coro_promise_base() { state_->release(); }

    state_base* state_;           // the producer's reference
    executor* resume_ex_ = nullptr;  // null: resume on the completing thread
};

// Resumes `h` on `ex`; a resumption the executor drops destroys the coroutine
// and fails its future with executor_shut_down.
class resume_task {
public:
    resume_task(std::coroutine_handle<> h, state_base* s) noexcept : h_(h), s_(s) {}
    resume_task(resume_task&& o) noexcept : h_(std::exchange(o.h_, nullptr)), s_(o.s_) {}
    resume_task& operator=(resume_task&&) = delete;
    ~resume_task() {
        if (!h_) return;
        s_->fail(std::make_exception_ptr(executor_shut_down()));
        h_.destroy();
    }
    void operator()() { std::exchange(h_, nullptr).resume(); }

private:
    std::coroutine_handle<> h_;
    state_base* s_;
};

template <class U>
class future_awaiter final : public callback_node {
public:
    future_awaiter(state_ptr<state<U>> s, coro_promise_base& p) noexcept : awaited_(std::move(s)), promise_(p) {
        consumes = true;
    }

    bool await_ready() const {
        promise_.throw_if_cancelled();
        return awaited_->is_ready() && !awaited_->has_done_callbacks();
    }
    bool await_suspend(std::coroutine_handle<> h) {
        handle_ = h;
        promise_.shared_state().set_upstream(awaited_.get());  // a cancel reaches what we wait on
        awaited_->attach(this);
        // Whoever of us and on_ready comes second resumes: if the future completed
        // during attach, do not suspend at all. Nothing in the frame is touched
        // after this exchange, since another thread may resume it at once.
        return !raced_.exchange(true, std::memory_order_acq_rel);
    }
    U await_resume() {
        promise_.shared_state().drop_upstream();
        promise_.throw_if_cancelled();
        auto& r = awaited_->get_result();
        if (r.has_exception()) awaited_->mark_observed();
        if constexpr (std::is_void_v<U>) {
            r.value();
        } else {
            return std::move(r).value();
        }
    }

    void on_ready(state_base&) noexcept override {
        if (!raced_.exchange(true, std::memory_order_acq_rel)) return;  // await_suspend resumes
        executor* ex = promise_.resume_executor();
        if (ex == nullptr) ex = &inline_executor::instance();  // trampolined: no deep stacks
        try {
            ex->execute(resume_task(handle_, &promise_.shared_state()));
        } catch (...) {
            // Refused: resume_task's destructor failed the future and destroyed the frame.
        }
    }

private:
    state_ptr<state<U>> awaited_;
    coro_promise_base& promise_;
    std::coroutine_handle<> handle_;
    std::atomic<bool> raced_{false};
};

class resume_on_awaiter {
public:
    resume_on_awaiter(executor& ex, coro_promise_base& p) noexcept : ex_(ex), promise_(p) {}
    bool await_ready() const {
        promise_.throw_if_cancelled();
        return false;
    }
    bool await_suspend(std::coroutine_handle<> h) {
        promise_.set_resume_executor(&ex_);
        executor& ex = ex_;
        try {
            ex.execute(resume_task(h, &promise_.shared_state()));
        } catch (...) {
            // Refused: resume_task's destructor failed the future and destroyed the frame.
        }
        return true;  // the frame may already be running elsewhere, or gone: touch nothing
    }
    void await_resume() const { promise_.throw_if_cancelled(); }

private:
    executor& ex_;
    coro_promise_base& promise_;
};

// What a vow coroutine may co_await: vow futures, resume_on, and any other
// awaitable unchanged. Shared by coro_promise<T> and coro_promise<void>.
class coro_awaits : public coro_promise_base {
public:
    template <class U>
    future_awaiter<U> await_transform(future<U>&& f) {
        if (!f.valid()) throw usage_error("vow: co_await on an invalid future");
        return future_awaiter<U>(then_access<U>::take(f), *this);
    }
    template <class U>
    future_awaiter<U> await_transform(future<U>& f) {
        return await_transform(std::move(f));
    }
    resume_on_awaiter await_transform(resume_on r) { return resume_on_awaiter(*r.ex, *this); }
    template <class A>
    A&& await_transform(A&& other) {
        return std::forward<A>(other);
    }

protected:
    using coro_promise_base::coro_promise_base;
};

template <class T>
class coro_promise : public coro_awaits {
public:
    coro_promise() : coro_awaits(state<T>::create()) {}

    future<T> get_return_object() {
        state_->bind(inline_executor::instance());
        return then_access<T>::make(state_ptr<state<T>>(static_cast<state<T>*>(state_)));
    }

    template <class V>
    void return_value(V&& v) {
        static_cast<state<T>*>(state_)->set_value(std::forward<V>(v));
    }

};

template <>
class coro_promise<void> : public coro_awaits {
public:
    coro_promise() : coro_awaits(state<void>::create()) {}

    future<void> get_return_object() {
        state_->bind(inline_executor::instance());
        return then_access<void>::make(state_ptr<state<void>>(static_cast<state<void>*>(state_)));
    }
    void return_void() { static_cast<state<void>*>(state_)->set_value(); }

};

}  // namespace detail
}  // namespace vow

template <class T, class... Args>
struct std::coroutine_traits<vow::future<T>, Args...> {
    using promise_type = vow::detail::coro_promise<T>;
};
