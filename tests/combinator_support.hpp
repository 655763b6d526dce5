// Helpers shared by the combinator tests (when, time, retry, bounded): lifetime
// counting for values and callables, pending futures that fail with each kind
// of error vow produces, and a guard that counts unobserved errors.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <concepts>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "vow/errors.hpp"
#include "vow/future.hpp"
#include "vow/manual_executor.hpp"
#include "vow/promise.hpp"
#include "vow/result.hpp"
#include "vow/timer.hpp"

namespace vow_ctest {

// Constructions (copies and moves included) and destructions of the `tracked`
// values made from it. Declare it before anything that may hold such a value.
struct lifetimes {
    std::atomic<int> constructed{0};
    std::atomic<int> destroyed{0};
    int alive() const noexcept { return constructed.load() - destroyed.load(); }
};

// A value whose every construction and destruction is counted.
class tracked {
public:
    tracked(lifetimes& l, int v) noexcept : lifetimes_(&l), value(v) { lifetimes_->constructed.fetch_add(1); }
    tracked(const tracked& o) noexcept : lifetimes_(o.lifetimes_), value(o.value) {
        lifetimes_->constructed.fetch_add(1);
    }
    tracked(tracked&& o) noexcept : lifetimes_(o.lifetimes_), value(o.value) { lifetimes_->constructed.fetch_add(1); }
    tracked& operator=(const tracked&) = default;
    tracked& operator=(tracked&&) = default;
    ~tracked() { lifetimes_->destroyed.fetch_add(1); }

private:
    lifetimes* lifetimes_;

public:
    int value;
};

// Runs and destructions of the live (not moved-from) instance of a counted_fn.
struct calls {
    std::atomic<int> runs{0};
    std::atomic<int> destroyed{0};
};

// A move-only callable forwarding to `body`, counting its runs and the
// destruction of its live instance.
template <class Body>
class counted_fn {
public:
    counted_fn(calls& c, Body body) : calls_(&c), body_(std::move(body)) {}
    counted_fn(counted_fn&& o) noexcept(std::is_nothrow_move_constructible_v<Body>)
        : calls_(std::exchange(o.calls_, nullptr)), body_(std::move(o.body_)) {}
    counted_fn& operator=(counted_fn&&) = delete;
    counted_fn(const counted_fn&) = delete;
    counted_fn& operator=(const counted_fn&) = delete;
    ~counted_fn() {
        if (calls_ != nullptr) calls_->destroyed.fetch_add(1);
    }

    template <class... Args>
        requires std::invocable<Body&, Args...>
    std::invoke_result_t<Body&, Args...> operator()(Args&&... args) {
        calls_->runs.fetch_add(1);
        return std::invoke(body_, std::forward<Args>(args)...);
    }

private:
    calls* calls_;
    Body body_;
};

template <class Body>
counted_fn<Body> counted(calls& c, Body body) {
    return counted_fn<Body>(c, std::move(body));
}

// True when `e` holds an exception of type E (or derived from it).
template <class E>
bool holds(const std::exception_ptr& e) {
    if (!e) return false;
    try {
        std::rethrow_exception(e);
    } catch (const E&) {
        return true;
    } catch (...) {
        return false;
    }
}

template <class E, class T>
bool holds(const vow::result<T>& r) {
    return holds<E>(r.exception());
}

inline std::string message_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "<not a std::exception>";
    }
}

// The outcome of a future the test expects to be done already. A future that
// is not done is a test failure (cancelled so that the test never hangs).
template <class T>
vow::result<T> take_ready(vow::future<T>& f) {
    if (!f.is_ready()) {
        ADD_FAILURE() << "the future is not ready";
        f.cancel();
    }
    return f.get_result();
}

// The kinds of error vow produces, each made the way vow makes it.
enum class error_kind { std_exception, timeout, broken_promise, executor_shut_down };
inline constexpr error_kind every_error_kind[] = {error_kind::std_exception, error_kind::timeout,
                                                  error_kind::broken_promise, error_kind::executor_shut_down};

inline const char* name_of(error_kind k) {
    switch (k) {
        case error_kind::std_exception: return "std::out_of_range";
        case error_kind::timeout: return "vow::timeout_error";
        case error_kind::broken_promise: return "vow::broken_promise";
        case error_kind::executor_shut_down: return "vow::executor_shut_down";
    }
    return "?";
}

inline bool is_kind(error_kind k, const std::exception_ptr& e) {
    switch (k) {
        case error_kind::std_exception: return holds<std::out_of_range>(e);
        case error_kind::timeout: return holds<vow::timeout_error>(e);
        case error_kind::broken_promise: return holds<vow::broken_promise>(e);
        case error_kind::executor_shut_down: return holds<vow::executor_shut_down>(e);
    }
    return false;
}

// A pending future<int> that fails with an error of `kind` when fail() is
// called: a set_exception, a within() deadline passing on a manual clock, a
// promise dropped unfulfilled, or a submit() to an executor that shuts down.
// Not movable (it owns the clock and the executor).
class failing_input {
public:
    explicit failing_input(error_kind kind) : kind_(kind) {}
    failing_input(const failing_input&) = delete;
    failing_input& operator=(const failing_input&) = delete;

    vow::future<int> get_future() {
        switch (kind_) {
            case error_kind::std_exception:
            case error_kind::broken_promise: return promise_.emplace().get_future();
            case error_kind::timeout: return promise_.emplace().get_future().within(std::chrono::milliseconds(1), timer_);
            case error_kind::executor_shut_down: return vow::submit(executor_, [] { return 1; });
        }
        return {};
    }

    void fail() {
        switch (kind_) {
            case error_kind::std_exception: promise_->set_exception(std::out_of_range("input failed")); break;
            case error_kind::timeout: timer_.advance(std::chrono::milliseconds(1)); break;
            case error_kind::broken_promise: promise_.reset(); break;
            case error_kind::executor_shut_down: executor_.shutdown(); break;
        }
    }

    error_kind kind() const noexcept { return kind_; }

private:
    error_kind kind_;
    vow::manual_timer timer_;
    vow::manual_executor executor_;
    std::optional<vow::promise<int>> promise_;
};

// A timer that refuses every task, as a timer that is shut down does: it
// destroys the task unrun and throws executor_shut_down.
class refusing_timer final : public vow::timer {
public:
    time_point now() const override { return time_point{} + std::chrono::hours(1); }
    vow::timer_handle schedule_at(time_point, vow::task t) override {
        t.reset();
        refused.fetch_add(1);
        throw vow::executor_shut_down();
    }
    std::size_t pending() const override { return 0; }

    std::atomic<int> refused{0};
};

// While alive, counts what reaches the unobserved-error handler.
class unobserved_errors {
public:
    unobserved_errors() : previous_(vow::set_unobserved_error_handler(&record)) { count_.store(0); }
    ~unobserved_errors() { vow::set_unobserved_error_handler(previous_); }
    unobserved_errors(const unobserved_errors&) = delete;
    unobserved_errors& operator=(const unobserved_errors&) = delete;

    int count() const noexcept { return count_.load(); }

private:
    static void record(std::exception_ptr) noexcept { count_.fetch_add(1); }
    static inline std::atomic<int> count_{0};
    vow::unobserved_error_handler previous_;
};

}  // namespace vow_ctest
