// The errors vow reports. Every one derives from vow::error, so a single
// `catch (const vow::error&)` handles all of the library's failures.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vow {

// Root of every error the library throws or stores in a result.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A promise was destroyed without being fulfilled.
class broken_promise : public error {
public:
    broken_promise();
};

// The operation was cancelled (future::cancel, a stop request, a combinator).
class cancelled_error : public error {
public:
    cancelled_error();
    explicit cancelled_error(const std::string& what);
};

// A deadline passed. The message says which one (connect, idle, total, ...).
class timeout_error : public error {
public:
    timeout_error();
    explicit timeout_error(const std::string& what);
};

// An executor refused a task, or dropped it unrun, because it was shut down.
class executor_shut_down : public error {
public:
    executor_shut_down();
};

// The API was used in a way its contract forbids (a future retrieved twice,
// a promise fulfilled twice, a moved-from future used).
class usage_error : public error {
public:
    using error::error;
};

// Every alternative failed (first_success, hedge); errors() holds each one's
// exception, in input (or attempt) order.
class all_failed : public error {
public:
    explicit all_failed(std::vector<std::exception_ptr> errors)
        : error("vow: every alternative failed (" + std::to_string(errors.size()) + " errors)"),
          errors_(std::move(errors)) {}
    const std::vector<std::exception_ptr>& errors() const noexcept { return errors_; }

private:
    std::vector<std::exception_ptr> errors_;
};

}  // namespace vow
