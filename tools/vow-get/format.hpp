// Human-readable sizes, rates and durations for vow-get's output.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vow_get {

// 1536 -> "1.5 KiB"; below 1 KiB plain bytes ("512 B").
std::string format_bytes(std::uint64_t bytes);
// bytes per second -> "3.2 MiB/s".
std::string format_rate(double bytes_per_second);
// 75 s -> "1:15"; 3725 s -> "1:02:05".
std::string format_clock(std::chrono::seconds d);
// 1.25 s -> "1.2 s", 0.25 s -> "250 ms".
std::string format_seconds(std::chrono::steady_clock::duration d);

}  // namespace vow_get
