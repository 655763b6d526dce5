// Linux futex wait and wake on a 32-bit atomic: how an idle pool worker sleeps
// without a mutex and how another thread wakes exactly one sleeper.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace vow::detail {

// Sleeps while `word == expected`. May return early (a spurious wake-up, a
// signal): callers check the word again in a loop.
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

// Wakes at most one thread sleeping in futex_wait on `word`.
inline void futex_wake(std::atomic<std::uint32_t>& word) noexcept {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace vow::detail
