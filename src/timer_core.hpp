// The state shared by real_timer and manual_timer: a binary min-heap of
// scheduled entries with lazy cancellation. Cancelling only flips the entry's
// status (one CAS, no lock) and destroys its work; the heap drops cancelled
// entries when they reach the top or when it sweeps itself, which it does
// whenever it has doubled (or quadrupled, after a sweep that found little to
// drop) since the last sweep. So schedule is O(log n) (O(1)
// for the usual increasing deadlines), cancel is O(1), and a million
// scheduled-then-cancelled timeouts cost memory only until the next sweep.
// The heap keeps each entry's deadline and sequence next to its pointer, so
// sifting never reads an entry (they are scattered over the heap; a timeout's
// entry is usually cold by the time its future completes).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

#include "vow/detail/timer_node.hpp"
#include "vow/timer.hpp"

namespace vow::detail {

// The memory of released timeout entries (all of one size), for push_new to
// build new ones in: with 100,000 timeouts pending and completing, allocating
// and freeing their entries was a third of a timeout's cost. Not thread-safe:
// the core guards it with its mutex.
class spare_blocks {
public:
    spare_blocks() = default;
    spare_blocks(const spare_blocks&) = delete;
    spare_blocks& operator=(const spare_blocks&) = delete;
    ~spare_blocks() { trim(0); }

    // A kept block of `size` bytes, or null.
    void* take(std::size_t size) noexcept {
        if (size != size_ || blocks_.empty()) return nullptr;
        void* block = blocks_.back();
        blocks_.pop_back();
        return block;
    }
    // Whether a block of `size` bytes (0: not reusable) would be kept.
    bool wants(std::size_t size) const noexcept {
        return size != 0 && (size_ == 0 || size == size_) && blocks_.size() < limit_;
    }
    // Keeps a block wants() asked for (frees it if the list cannot grow).
    void keep(void* block, std::size_t size) noexcept {
        try {
            blocks_.push_back(block);
            size_ = size;
        } catch (const std::bad_alloc&) {
            ::operator delete(block, size);
        }
    }
    // At each sweep: keep blocks for as many entries as the heap holds now, or
    // a tenth fewer than before. Steady use keeps its blocks; after a burst
    // they shrink sweep by sweep until they fit the load again.
    void fit(std::size_t heap_size) noexcept {
        limit_ = std::max({std::size_t{1024}, heap_size, limit_ - limit_ / 10});
        trim(limit_);
    }

private:
    void trim(std::size_t n) noexcept {
        while (blocks_.size() > n) {
            ::operator delete(blocks_.back(), size_);
            blocks_.pop_back();
        }
    }

    std::vector<void*> blocks_;
    std::size_t size_ = 0;  // 0 until a block is kept
    std::size_t limit_ = 1024;
};

// The entry schedule_at() makes: a task, run or destroyed by the claim's winner.
class task_node final : public timer_node {
public:
    task_node(timer::time_point d, task t) noexcept : timer_node(d), work_(std::move(t)) {}
    void fire() override {
        task due = std::move(work_);
        due();
    }
    void drop() noexcept override { task doomed = std::move(work_); }

private:
    task work_;  // owned by whoever wins claim()
};

class timer_core {
public:
    struct slot {
        timer::time_point deadline;
        std::uint64_t sequence;  // ties: earlier schedule fires first
        timer_node* node;        // holds one reference
    };

    mutable std::mutex mutex;
    std::condition_variable wakeup;   // real_timer: the earliest deadline changed, or stop
    bool stopping = false;            // guarded by mutex
    timer::time_point virtual_now{};  // manual_timer only; guarded by mutex

    // A handle adopting one reference of `n` (timer_handle's constructor is ours).
    static timer_handle make_handle(timer_node* n) noexcept { return timer_handle(n); }

    // Adds an entry holding one of its references for the heap. Sets
    // `became_first` when it is now the earliest. Returns false (the heap took
    // nothing) when stopping.
    bool push(timer_node* n, bool& became_first);
    // Builds an entry of within() with `make`, in the memory of a released
    // entry when there is one, and adds it as push() does. When stopping, drops
    // it instead (claim, drop(), release the heap's reference; outside the
    // lock). Returns the entry. Throws only before building it (bad_alloc).
    timer_node* push_new(const entry_factory& make, bool& became_first);

    // With mutex held: drops cancelled entries from the top; returns the
    // earliest scheduled entry, or null.
    timer_node* top_locked() noexcept;
    // With mutex held: the earliest deadline in the heap (top_locked() first).
    timer::time_point top_deadline_locked() const noexcept { return heap_.front().deadline; }
    // With mutex held: removes the top entry and returns it (the heap's reference).
    timer_node* pop_top_locked() noexcept;
    // With mutex held: sweeps cancelled entries; returns how many are scheduled.
    std::size_t sweep_locked() noexcept;
    // Marks the core stopping; returns every entry (for cancelling outside the lock).
    std::vector<slot> stop();

    ~timer_core();

private:
    struct later {
        bool operator()(const slot& a, const slot& b) const noexcept {
            return a.deadline > b.deadline || (a.deadline == b.deadline && a.sequence > b.sequence);
        }
    };

    // With mutex held: sweeps when due and makes room for one more slot, so
    // that push_locked cannot throw.
    void prepare_push_locked();
    void push_locked(timer_node* n, bool& became_first) noexcept;
    // With mutex held: releases the heap's reference of `n`; when it was the
    // last, keeps the entry's memory for push_new if it may.
    void release_locked(timer_node* n) noexcept;

    std::vector<slot> heap_;           // guarded by mutex
    std::uint64_t next_sequence_ = 0;  // guarded by mutex
    std::size_t sweep_at_ = 1024;      // guarded by mutex: sweep when the heap reaches this size
    spare_blocks spare_;               // guarded by mutex
};

}  // namespace vow::detail
