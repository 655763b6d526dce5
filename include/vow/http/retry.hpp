// http::retry_policy(): which HTTP failures are worth another attempt, and how
// long to wait (the server's Retry-After, capped by the policy).
#pragma once

#include <string>

#include "vow/retry.hpp"

namespace vow::http {

// Retries transport errors, timeouts and statuses 408/429/500/502/503/504,
// for idempotent methods only (GET, HEAD, OPTIONS, PUT, DELETE, TRACE); any
// other method gets a policy that never retries. Retry-After becomes the
// delay hint.
vow::retry_policy retry_policy(int max_attempts = 4, const std::string& method = "GET");

// The predicate and the hint on their own, for custom policies.
bool is_retryable(const std::exception_ptr& error);
std::optional<vow::timer::duration> retry_after_hint(const std::exception_ptr& error);

}  // namespace vow::http
