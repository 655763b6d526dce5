// One scheduled entry of real_timer/manual_timer. schedule_at() wraps a task in
// one; within() has the timer build its own kind (the timeout, which is at the
// same time a node waiting on the future it guards) in memory the timer reuses,
// so a timeout usually costs no allocation at all.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace vow::detail {

// States: scheduled --claim(fired)--> fired      (the timer runs fire())
//                   --claim(cancelled)--> cancelled (drop(), or the owner's own cancel)
// Exactly one claim wins; the winner owns the entry's work. The timer's heap
// drops cancelled entries lazily (when they reach the top, or in a sweep).
class timer_node {
public:
    enum status_value : std::uint8_t { scheduled, fired, cancelled };

    // `block_size`: see reusable_size().
    explicit timer_node(std::chrono::steady_clock::time_point d, std::uint16_t block_size = 0) noexcept
        : deadline(d), block_size_(block_size) {}
    timer_node(const timer_node&) = delete;
    timer_node& operator=(const timer_node&) = delete;

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (drop_ref()) delete this;
    }
    // release(), except that the last owner destroys the entry without freeing
    // its memory and returns that memory (reusable_size() bytes) for the timer
    // to build another entry in. Null when other owners remain.
    void* release_keeping_memory() noexcept {
        if (!drop_ref()) return nullptr;
        void* memory = dynamic_cast<void*>(this);  // the whole object's address
        this->~timer_node();                       // virtual: the whole object's destructor
        return memory;
    }
    // The size of the entry's memory when it came from ::operator new(size) and
    // holds exactly one object of that size, so the timer may build another
    // entry in it; 0 when it may not.
    std::size_t reusable_size() const noexcept { return block_size_; }
    // Moves the entry out of `scheduled`; exactly one caller wins.
    // acq_rel: the winner sees the entry's contents, whoever wrote them.
    bool claim(status_value to) noexcept {
        std::uint8_t expected = scheduled;
        return status_.compare_exchange_strong(expected, to, std::memory_order_acq_rel);
    }
    bool is_scheduled() const noexcept { return status_.load(std::memory_order_acquire) == scheduled; }

    // Called once, by whoever won claim(fired): the timer, at the deadline, on
    // its thread (outside its lock). May throw what a task throws.
    virtual void fire() = 0;
    // Called once, by whoever won claim(cancelled) on the entry's behalf when
    // it can never fire (the timer stopped or refused it): destroys the work
    // unrun, outside any lock.
    virtual void drop() noexcept = 0;

    const std::chrono::steady_clock::time_point deadline;

protected:
    virtual ~timer_node() = default;

private:
    // Drops one reference; true for the last one. The last owner skips the
    // read-modify-write (a count of 1 that we own cannot grow).
    // acquire/acq_rel: it sees every write of the others.
    bool drop_ref() noexcept {
        return refs_.load(std::memory_order_acquire) == 1 || refs_.fetch_sub(1, std::memory_order_acq_rel) == 1;
    }

    std::atomic<std::uint32_t> refs_{2};  // the heap's and the owner's (a handle, or a timeout's future)
    std::atomic<std::uint8_t> status_{scheduled};
    const std::uint16_t block_size_;  // see reusable_size(); fits in the padding after status_
};

}  // namespace vow::detail
