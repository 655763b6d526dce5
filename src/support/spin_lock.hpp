// A test-and-test-and-set spin lock for critical sections of a few moves, where
// the holder is almost never descheduled (a pool worker's batch). Spins with
// cpu_relax, then yields in case the holder was preempted.
#pragma once

#include <atomic>
#include <thread>

#include "cpu_relax.hpp"

namespace vow::detail {

class spin_lock {
public:
    void lock() noexcept {
        for (int spins = 0; locked_.exchange(true, std::memory_order_acquire);) {
            while (locked_.load(std::memory_order_relaxed)) {
                if (++spins < 64) {
                    cpu_relax();
                } else {
                    std::this_thread::yield();  // the holder was preempted
                }
            }
        }
    }
    bool try_lock() noexcept {
        return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};  // acquire on taking, release on giving back
};

}  // namespace vow::detail
