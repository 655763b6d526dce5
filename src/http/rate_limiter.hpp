// rate_limiter: the client's cap on body bytes per second, shared by every
// request of the client on every I/O thread (client_options::max_bytes_per_second).
//
// It schedules reads rather than counting tokens: each read reserves its
// bytes and is told when it may start. Reservations are served in the order
// they are made, so every download in flight gets its turn (no download
// starves however many share the cap), and each read asks for at most
// chunk() bytes, so one download never holds the line for long. The reads
// let start by time T took at most rate * (T - first start) + one chunk.
//
// The clock is the caller's: every call takes `now`, so tests drive it with
// a manual clock. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace vow::http::detail {

class rate_limiter {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    // bytes_per_second > 0.
    explicit rate_limiter(std::uint64_t bytes_per_second);

    // The most one read may reserve: a tenth of a second's worth, between 1
    // byte and 64 KiB.
    std::size_t chunk() const noexcept { return chunk_; }

    struct grant {
        std::size_t bytes;  // what the read may take: min(wanted, chunk()), at least 1
        time_point start;   // not before this (<= now: at once)
    };
    // Reserves a read of up to `wanted` bytes (> 0).
    grant reserve(std::size_t wanted, time_point now);
    // A read took fewer bytes than it reserved (the socket had fewer, or it
    // was cancelled): the rest goes back to the schedule.
    void give_back(std::size_t unused) noexcept;

private:
    std::chrono::nanoseconds time_for(std::size_t bytes) const noexcept;

    const std::uint64_t rate_;
    const std::size_t chunk_;
    std::mutex mutex_;
    time_point paid_until_{};  // when every byte reserved so far has been paid for at rate_; guarded by mutex_
};

}  // namespace vow::http::detail
