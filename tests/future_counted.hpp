// Counting helpers for the futures tests: callables of any signature whose runs
// and destructions are counted (built on counted.hpp's `counters`), and a guard
// that counts what reaches the unobserved-error handler.
#pragma once

#include <atomic>
#include <concepts>
#include <exception>
#include <functional>
#include <mutex>
#include <type_traits>
#include <utility>

#include "counted.hpp"
#include "vow/future.hpp"

namespace vow_test {

// A move-only callable that forwards its arguments to `body` and returns what
// `body` returns; counts its runs and the destruction of its live instance in
// `counters` (moved-from shells are not counted). For then/add_done_callback/
// submit, whose callables take arguments, unlike counted<Body>.
template <class Body>
class counted_fn {
public:
    counted_fn(counters& c, Body body) noexcept(std::is_nothrow_move_constructible_v<Body>)
        : counters_(&c), body_(std::move(body)) {}
    counted_fn(counted_fn&& other) noexcept(std::is_nothrow_move_constructible_v<Body>)
        : counters_(std::exchange(other.counters_, nullptr)), body_(std::move(other.body_)) {}
    counted_fn& operator=(counted_fn&&) = delete;
    counted_fn(const counted_fn&) = delete;
    counted_fn& operator=(const counted_fn&) = delete;
    ~counted_fn() {
        if (counters_ != nullptr) {
            counters_->destroyed.fetch_add(1);
            counters_->destroyed.notify_all();
        }
    }

    template <class... Args>
        requires std::invocable<Body&, Args...>
    std::invoke_result_t<Body&, Args...> operator()(Args&&... args) {
        counters_->runs.fetch_add(1);
        return std::invoke(body_, std::forward<Args>(args)...);
    }

private:
    counters* counters_;
    Body body_;
};

template <class Body>
counted_fn<Body> count_calls(counters& c, Body body) {
    return counted_fn<Body>(c, std::move(body));
}

// While alive, replaces the unobserved-error handler with one that counts its
// calls and keeps the last exception; restores the previous handler after.
class unobserved_errors {
public:
    unobserved_errors() {
        calls_.store(0);
        {
            std::lock_guard lock(mutex_);
            last_ = nullptr;
        }
        previous_ = vow::set_unobserved_error_handler(&record);
    }
    ~unobserved_errors() {
        vow::set_unobserved_error_handler(previous_);
        std::lock_guard lock(mutex_);
        last_ = nullptr;
    }
    unobserved_errors(const unobserved_errors&) = delete;
    unobserved_errors& operator=(const unobserved_errors&) = delete;

    int calls() const noexcept { return calls_.load(); }
    std::exception_ptr last() const {
        std::lock_guard lock(mutex_);
        return last_;
    }
    // True when the last reported exception is of type E.
    template <class E>
    bool last_is() const {
        std::exception_ptr e = last();
        if (!e) return false;
        try {
            std::rethrow_exception(e);
        } catch (const E&) {
            return true;
        } catch (...) {
            return false;
        }
    }

private:
    static void record(std::exception_ptr e) noexcept {
        {
            std::lock_guard lock(mutex_);
            last_ = std::move(e);
        }
        calls_.fetch_add(1);
    }

    static inline std::atomic<int> calls_{0};
    static inline std::mutex mutex_;
    static inline std::exception_ptr last_;  // guarded by mutex_
    vow::unobserved_error_handler previous_ = nullptr;
};

// True when `r` holds an exception of type E.
template <class E, class R>
bool holds_error(const R& r) {
    if (!r.has_exception()) return false;
    try {
        std::rethrow_exception(r.exception());
    } catch (const E&) {
        return true;
    } catch (...) {
        return false;
    }
}

}  // namespace vow_test
