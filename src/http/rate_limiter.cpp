#include "rate_limiter.hpp"

#include <algorithm>

namespace vow::http::detail {

namespace {
constexpr std::uint64_t largest_chunk = 64 * 1024;
}

rate_limiter::rate_limiter(std::uint64_t bytes_per_second)
    : rate_(std::max<std::uint64_t>(bytes_per_second, 1)),
      chunk_(static_cast<std::size_t>(std::clamp<std::uint64_t>(rate_ / 10, 1, largest_chunk))) {}

std::chrono::nanoseconds rate_limiter::time_for(std::size_t bytes) const noexcept {
    // bytes * 1e9 / rate without overflow for any read size (at most 64 KiB).
    const auto ns = static_cast<long double>(bytes) * 1e9L / static_cast<long double>(rate_);
    return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

rate_limiter::grant rate_limiter::reserve(std::size_t wanted, time_point now) {
    const std::size_t bytes = std::clamp<std::size_t>(wanted, 1, chunk_);
    std::lock_guard lock(mutex_);
    // An idle stretch saves up nothing: the schedule restarts at now.
    const time_point start = std::max(paid_until_, now);
    paid_until_ = start + time_for(bytes);
    return {bytes, start};
}

void rate_limiter::give_back(std::size_t unused) noexcept {
    if (unused == 0) return;
    std::lock_guard lock(mutex_);
    paid_until_ -= time_for(unused);
}

}  // namespace vow::http::detail
