// The state shared by real_timer and manual_timer: an indexed binary min-heap
// of scheduled tasks, so that cancel() removes its entry in O(log n) and a
// million pending-then-cancelled timers leave nothing behind.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "vow/timer.hpp"

namespace vow::detail {

struct timer_node {
    static constexpr std::size_t not_queued = std::numeric_limits<std::size_t>::max();

    timer::time_point deadline;
    std::uint64_t sequence = 0;            // ties: earlier schedule fires first
    std::size_t heap_index = not_queued;   // guarded by the owner's mutex
    task work;                             // guarded by the owner's mutex until popped
    std::weak_ptr<timer_core> owner;
};

class timer_core : public std::enable_shared_from_this<timer_core> {
public:
    mutable std::mutex mutex;
    std::condition_variable wakeup;        // real_timer: the earliest deadline changed or stop
    bool stopping = false;                 // guarded by mutex
    timer::time_point virtual_now{};       // manual_timer only; guarded by mutex

    // Adds a task; returns its handle. Sets `became_first` when it is now the
    // earliest deadline. Throws executor_shut_down when stopping.
    timer_handle push(timer::time_point when, task t, bool& became_first);  // caller does NOT hold mutex

    // With mutex held: the earliest node, or null.
    timer_node* top_locked() const noexcept { return heap_.empty() ? nullptr : heap_.front().get(); }
    // With mutex held: removes the earliest node and returns its task.
    task pop_top_locked();
    // With mutex held: removes `n` if still queued; returns its task (empty if not).
    task remove_locked(timer_node& n);
    // Marks the core stopping and returns every pending task (for destruction
    // outside the lock).
    std::vector<task> stop();

    std::size_t size_locked() const noexcept { return heap_.size(); }

private:
    static bool earlier(const timer_node& a, const timer_node& b) noexcept {
        return a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence);
    }
    void sift_up(std::size_t i) noexcept;
    void sift_down(std::size_t i) noexcept;
    void place(std::size_t i, std::shared_ptr<timer_node> n) noexcept;
    task erase_at(std::size_t i);

    std::vector<std::shared_ptr<timer_node>> heap_;  // guarded by mutex
    std::uint64_t next_sequence_ = 0;                // guarded by mutex
};

}  // namespace vow::detail
