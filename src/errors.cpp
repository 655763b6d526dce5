#include "vow/errors.hpp"

namespace vow {

broken_promise::broken_promise() : error("vow: broken promise (promise destroyed unfulfilled)") {}

cancelled_error::cancelled_error() : error("vow: operation cancelled") {}
cancelled_error::cancelled_error(const std::string& what) : error(what) {}

timeout_error::timeout_error() : error("vow: timed out") {}
timeout_error::timeout_error(const std::string& what) : error(what) {}

executor_shut_down::executor_shut_down() : error("vow: executor shut down, task not run") {}

}  // namespace vow

#include "vow/result.hpp"

namespace vow::detail {

bool is_cancelled_exception(const std::exception_ptr& e) noexcept {
    if (!e) return false;
    try {
        std::rethrow_exception(e);
    } catch (const cancelled_error&) {
        return true;
    } catch (...) {
        return false;
    }
}

}  // namespace vow::detail
