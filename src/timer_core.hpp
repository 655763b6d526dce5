// The state shared by real_timer and manual_timer: a binary min-heap of
// scheduled entries with lazy cancellation. cancel() only flips the entry's
// status (one CAS, no lock) and destroys its task; the heap drops cancelled
// entries when they reach the top or when it sweeps itself, which it does
// whenever it has doubled since the last sweep. So schedule is O(log n) (O(1)
// for the usual increasing deadlines), cancel is O(1), and a million
// scheduled-then-cancelled timeouts cost memory only until the next sweep.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "vow/timer.hpp"

namespace vow::detail {

struct timer_node {
    enum status_value : std::uint8_t { scheduled, fired, cancelled };

    timer_node(timer::time_point d, task t) noexcept : deadline(d), work(std::move(t)) {}

    void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    // Moves the entry out of `scheduled`; exactly one caller (fire or cancel)
    // wins and so owns `work`. acq_rel: the winner sees the task's contents.
    bool claim(status_value to) noexcept {
        std::uint8_t expected = scheduled;
        return status.compare_exchange_strong(expected, to, std::memory_order_acq_rel);
    }
    bool is_scheduled() const noexcept { return status.load(std::memory_order_acquire) == scheduled; }

    std::atomic<std::uint32_t> refs{2};  // the handle's and the heap's
    std::atomic<std::uint8_t> status{scheduled};
    const timer::time_point deadline;
    std::uint64_t sequence = 0;  // ties: earlier schedule fires first; set under the core's mutex
    task work;                   // owned by whoever wins claim()
};

class timer_core {
public:
    mutable std::mutex mutex;
    std::condition_variable wakeup;   // real_timer: the earliest deadline changed, or stop
    bool stopping = false;            // guarded by mutex
    timer::time_point virtual_now{};  // manual_timer only; guarded by mutex

    // Adds a task. Sets `became_first` when it is now the earliest entry.
    // Throws executor_shut_down (after destroying `t`) when stopping.
    timer_handle push(timer::time_point when, task t, bool& became_first);

    // With mutex held: drops cancelled entries from the top; returns the
    // earliest scheduled entry, or null.
    timer_node* top_locked() noexcept;
    // With mutex held: removes the top entry and returns it (the heap's reference).
    timer_node* pop_top_locked() noexcept;
    // With mutex held: sweeps cancelled entries; returns how many are scheduled.
    std::size_t sweep_locked() noexcept;
    // Marks the core stopping; returns every entry (for cancelling outside the lock).
    std::vector<timer_node*> stop();

    ~timer_core();

private:
    struct later {
        bool operator()(const timer_node* a, const timer_node* b) const noexcept {
            return a->deadline > b->deadline || (a->deadline == b->deadline && a->sequence > b->sequence);
        }
    };

    std::vector<timer_node*> heap_;   // guarded by mutex; each holds one reference
    std::uint64_t next_sequence_ = 0;  // guarded by mutex
    std::size_t sweep_at_ = 1024;      // guarded by mutex: sweep when the heap reaches this size
};

}  // namespace vow::detail
