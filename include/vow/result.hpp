// result<T>: the outcome of an asynchronous operation, either a value or an
// exception. It is what add_done_callback and then_result hand to user code.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "vow/errors.hpp"

namespace vow {

namespace detail {
// True when `e` holds a vow::cancelled_error (or a type derived from it).
bool is_cancelled_exception(const std::exception_ptr& e) noexcept;
}  // namespace detail

// Holds a T or a non-null std::exception_ptr; never both, never neither.
template <class T>
class result {
    static_assert(!std::is_reference_v<T>, "result<T&> is not supported; use std::reference_wrapper");

public:
    using value_type = T;

    template <class... Args>
    explicit result(std::in_place_t, Args&&... args)
        : storage_(std::in_place_index<0>, std::forward<Args>(args)...) {}
    result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}
    // A null exception_ptr would make a result with neither value nor error:
    // it is stored as a usage_error instead.
    result(std::exception_ptr e) : storage_(std::in_place_index<1>, e ? std::move(e) : null_error()) {}

    bool has_value() const noexcept { return storage_.index() == 0; }
    bool has_exception() const noexcept { return storage_.index() == 1; }
    explicit operator bool() const noexcept { return has_value(); }
    bool is_cancelled() const noexcept { return has_exception() && detail::is_cancelled_exception(exception()); }

    // The value; rethrows the stored exception when there is none.
    T& value() & { check(); return std::get<0>(storage_); }
    const T& value() const& { check(); return std::get<0>(storage_); }
    T&& value() && { check(); return std::get<0>(std::move(storage_)); }

    // The stored exception, or null when this holds a value.
    std::exception_ptr exception() const noexcept {
        return has_exception() ? std::get<1>(storage_) : std::exception_ptr{};
    }

private:
    static std::exception_ptr null_error() {
        return std::make_exception_ptr(usage_error("vow: result built from a null exception_ptr"));
    }
    void check() const {
        if (has_exception()) std::rethrow_exception(std::get<1>(storage_));
    }
    std::variant<T, std::exception_ptr> storage_;
};

template <>
class result<void> {
public:
    using value_type = void;

    result() noexcept = default;
    explicit result(std::in_place_t) noexcept {}
    result(std::exception_ptr e) noexcept : error_(std::move(e)) {}

    bool has_value() const noexcept { return !error_; }
    bool has_exception() const noexcept { return static_cast<bool>(error_); }
    explicit operator bool() const noexcept { return has_value(); }
    bool is_cancelled() const noexcept { return error_ && detail::is_cancelled_exception(error_); }

    void value() const {
        if (error_) std::rethrow_exception(error_);
    }
    std::exception_ptr exception() const noexcept { return error_; }

private:
    std::exception_ptr error_;
};

}  // namespace vow
