// libFuzzer target: the Retry-After parser (delta-seconds or an HTTP date).
// Any bytes give a delay that is not negative, or nothing.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "vow/http/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
    auto delay = vow::http::parse_retry_after(input, now);
    if (delay && delay->count() < 0) __builtin_trap();
    return 0;
}
