#include "vow/http/retry.hpp"

#include <array>

#include "vow/errors.hpp"
#include "vow/http/errors.hpp"

namespace vow::http {

namespace {

bool is_idempotent(const std::string& method) {
    static constexpr std::array<std::string_view, 6> idempotent = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"};
    for (auto m : idempotent) {
        if (method == m) return true;
    }
    return false;
}

// Seconds as the timer's duration, saturating at its largest value instead of
// overflowing (Retry-After: 10000000000 is more nanoseconds than fit).
vow::timer::duration saturating_duration(std::chrono::seconds s) {
    using duration = vow::timer::duration;
    constexpr auto largest = std::chrono::duration_cast<std::chrono::seconds>(duration::max());
    if (s >= largest) return duration::max();
    if (s.count() <= 0) return duration::zero();
    return std::chrono::duration_cast<duration>(s);
}

bool is_retryable_status(unsigned s) {
    return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

}  // namespace

bool is_retryable(const std::exception_ptr& error) {
    if (!error) return false;
    try {
        std::rethrow_exception(error);
    } catch (const status_error& e) {
        return is_retryable_status(e.status());
    } catch (const proxy_error& e) {
        return e.status() == 502 || e.status() == 503 || e.status() == 504;  // the proxy could not reach the origin
    } catch (const tls_verify_error&) {
        return false;  // the same certificate fails the same way next time
    } catch (const transport_error&) {
        return true;
    } catch (const timeout_error&) {
        return true;
    } catch (...) {
        return false;
    }
}

std::optional<vow::timer::duration> retry_after_hint(const std::exception_ptr& error) {
    if (!error) return std::nullopt;
    try {
        std::rethrow_exception(error);
    } catch (const status_error& e) {
        if (auto d = e.retry_after()) return saturating_duration(*d);
    } catch (...) {
    }
    return std::nullopt;
}

vow::retry_policy retry_policy(int max_attempts, const std::string& method) {
    vow::retry_policy p;
    p.max_attempts = max_attempts;
    p.initial_delay = std::chrono::milliseconds(250);
    p.max_delay = std::chrono::seconds(30);
    p.jitter_mode = jitter::full;
    if (is_idempotent(method)) {
        p.retry_if = is_retryable;
    } else {
        p.retry_if = [](const std::exception_ptr&) { return false; };
    }
    p.delay_hint = retry_after_hint;
    return p;
}

}  // namespace vow::http
