// promise<T>: the producing end of a future. Fulfil it once with set_value or
// set_exception; destroying it unfulfilled breaks the future (broken_promise).
#pragma once

#include <exception>
#include <stop_token>
#include <utility>

#include "vow/future.hpp"

namespace vow {

// Thread safety: a promise is used by one producer thread at a time; it may
// race freely with its future's consumer and with cancel() from any thread.
// Destructor: an unfulfilled promise whose future was retrieved completes it
// with broken_promise.
template <class T>
class promise {
public:
    promise() : state_(detail::state<T>::create()) {}
    promise(promise&&) noexcept = default;
    promise& operator=(promise&& other) noexcept {
        if (this != &other) {
            abandon();
            state_ = std::move(other.state_);
            future_retrieved_ = other.future_retrieved_;
            satisfied_ = other.satisfied_;
        }
        return *this;
    }
    promise(const promise&) = delete;
    promise& operator=(const promise&) = delete;
    ~promise() { abandon(); }

    // The future, bound to the inline executor. Only once (usage_error after).
    future<T> get_future() {
        auto& s = checked();
        if (future_retrieved_) throw usage_error("vow: promise::get_future called twice");
        future_retrieved_ = true;
        s.bind(inline_executor::instance());
        return detail::then_access<T>::make(detail::state_ptr<detail::state<T>>(&s));
    }

    // Fulfils the future. Losing to a cancel or a timeout is a harmless no-op;
    // fulfilling twice otherwise throws usage_error.
    // (satisfied_ is written before the result is published: once it is, the
    // consumer may destroy this promise.)
    template <class... Args>
    void set_value(Args&&... args) {
        auto& s = checked();
        const bool before = std::exchange(satisfied_, true);
        if (!s.set_value(std::forward<Args>(args)...)) already_satisfied(s, before);
    }
    void set_exception(std::exception_ptr e) {
        auto& s = checked();
        const bool before = std::exchange(satisfied_, true);
        if (!s.fail(std::move(e))) already_satisfied(s, before);
    }
    template <class E>
    void set_exception(E&& e) {
        set_exception(std::make_exception_ptr(std::forward<E>(e)));
    }
    // Fulfils with a value or an exception, whichever `r` holds.
    void set_result(result<T> r) {
        auto& s = checked();
        const bool before = std::exchange(satisfied_, true);
        if (!s.try_claim()) return already_satisfied(s, before);
        detail::complete_claimed(s, std::move(r));
    }

    // Cancellation as the producer sees it.
    bool is_cancelled() const noexcept { return state_ && state_->cancel_requested(); }
    std::stop_token stop_token() { return checked().stop_token(); }
    // Runs `hook` once when the future is cancelled (at once if it already is),
    // on the cancelling thread. E.g. close the socket the work is reading.
    // Once the future completes otherwise, its hooks can never run: they are
    // destroyed then (a later one at once), so what they capture is freed.
    template <class F>
    void on_cancel(F&& hook) {
        checked().on_cancel(std::forward<F>(hook));
    }

    bool valid() const noexcept { return static_cast<bool>(state_); }

private:
    detail::state<T>& checked() const {
        if (!state_) throw usage_error("vow: use of a moved-from promise");
        return *state_;
    }
    // The state was claimed already: by this promise before (an error, unless
    // cancelled since), or by a cancel or a timeout. A timeout claims first and
    // marks the cancel after, so the cancel mark alone would miss it.
    void already_satisfied(detail::state<T>& s, bool satisfied_before) const {
        if (satisfied_before && !s.cancel_requested()) throw usage_error("vow: promise already satisfied");
    }
    void abandon() noexcept {
        if (!state_) return;
        if (future_retrieved_) {
            if (!state_->is_claimed()) state_->fail(std::make_exception_ptr(broken_promise()));
        } else {
            state_->release();  // the reference reserved for the future
        }
        state_ = {};
    }

    detail::state_ptr<detail::state<T>> state_;
    bool future_retrieved_ = false;
    bool satisfied_ = false;  // this promise fulfilled the state
};

}  // namespace vow
