// Timers: run a task at a point in time. real_timer follows the steady clock on
// one thread of its own; manual_timer follows a virtual clock that only moves
// when a test calls advance(), so timeouts and backoff are tested instantly.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <utility>

#include "vow/executor.hpp"

namespace vow {

namespace detail {
class timer_node;
class timer_core;
struct timer_access;

// How within() has a timer build its entry: `construct` builds it in `size`
// bytes of memory the timer provides, passing `context` on. Must not throw.
struct entry_factory {
    std::size_t size;
    timer_node* (*construct)(void* memory, void* context) noexcept;
    void* context;
};
}  // namespace detail

// Refers to one scheduled task. Copyable and cheap; may outlive its timer
// (then cancel() simply returns false).
class timer_handle {
public:
    timer_handle() noexcept = default;
    timer_handle(const timer_handle& other) noexcept;
    timer_handle(timer_handle&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
    timer_handle& operator=(timer_handle other) noexcept {
        std::swap(node_, other.node_);
        return *this;
    }
    ~timer_handle();

    // Prevents the task from running if it has not fired yet, and destroys it
    // unrun on the calling thread, outside any lock. O(1): the timer drops the
    // entry lazily. Returns true when this call prevented the task from running.
    bool cancel() const;
    // True while the task is scheduled and has neither fired nor been cancelled.
    bool pending() const;

private:
    friend class detail::timer_core;
    explicit timer_handle(detail::timer_node* n) noexcept : node_(n) {}  // adopts a reference
    detail::timer_node* node_ = nullptr;
};

class timer {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;
    using duration = clock::duration;

    virtual ~timer() = default;

    virtual time_point now() const = 0;
    // Runs `t` once `now() >= when` (on the timer's thread for real_timer, on
    // the thread calling advance() for manual_timer). Tasks with equal deadlines
    // run in the order they were scheduled. Keep tasks short: hand real work to
    // an executor. Throws executor_shut_down after the timer is shut down.
    virtual timer_handle schedule_at(time_point when, task t) = 0;

    timer_handle schedule_after(duration d, task t) { return schedule_at(deadline_after(d), std::move(t)); }

    // now() + d, saturating at time_point::max() instead of overflowing.
    time_point deadline_after(duration d) const { return saturating_add(now(), d); }
    static time_point saturating_add(time_point t, duration d) noexcept {
        if (d > duration::zero() && t > time_point::max() - d) return time_point::max();
        return t + d;
    }

    // Tasks scheduled and not yet fired or cancelled. O(n) (it also sweeps
    // cancelled entries): for tests and diagnostics.
    virtual std::size_t pending() const = 0;

protected:
    timer() = default;
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;

private:
    friend struct detail::timer_access;
    // Builds an entry of within() with `make` and schedules it; the timer takes
    // one of its references, the caller has the other. The timer may build it
    // in the memory of an entry it released before. When stopping, the timer
    // drops the entry itself (claim, drop(), release) before returning it.
    // Returns null when this timer only takes tasks: the caller then allocates
    // the entry and goes through schedule_at. real_timer and manual_timer take
    // entries; the default suits any other timer.
    virtual detail::timer_node* schedule_entry(const detail::entry_factory& /*make*/) { return nullptr; }
    // The deadline of a timeout of `d` (within()): never before now() + d.
    // real_timer reads a cheaper, coarser clock for timeouts of a second or
    // more, which may make them fire up to two clock ticks (a few ms) late.
    virtual time_point timeout_deadline(duration d) const { return deadline_after(d); }
};

namespace detail {
struct timer_access {
    static timer_node* schedule_entry(timer& t, const entry_factory& make) { return t.schedule_entry(make); }
    static timer::time_point timeout_deadline(const timer& t, timer::duration d) { return t.timeout_deadline(d); }
};
}  // namespace detail

// Thread safety: all members may be called from any thread, also from a task.
// Destructor: stops the thread; tasks not yet fired are destroyed unrun.
class real_timer final : public timer {
public:
    real_timer();
    ~real_timer() override;

    time_point now() const override;
    timer_handle schedule_at(time_point when, task t) override;
    std::size_t pending() const override;

private:
    detail::timer_node* schedule_entry(const detail::entry_factory& make) override;
    time_point timeout_deadline(duration d) const override;

    std::shared_ptr<detail::timer_core> core_;
    std::thread thread_;
};

// A virtual clock starting at time_point{} + 1h (so "now - d" stays positive).
// Thread safety: all members may be called from any thread; tasks run on the
// thread that calls advance()/advance_to()/run_due(), never under a lock.
// Destructor: tasks not yet fired are destroyed unrun.
class manual_timer final : public timer {
public:
    manual_timer();
    ~manual_timer() override;

    time_point now() const override;
    timer_handle schedule_at(time_point when, task t) override;
    std::size_t pending() const override;

    // Moves the clock forward by `d`, firing every task that falls due on the
    // way, in deadline order. While a task runs, now() equals its deadline, so
    // tasks it schedules within the window fire in the same call.
    // Returns the number of tasks fired.
    std::size_t advance(duration d);
    std::size_t advance_to(time_point t);
    // Fires the tasks already due at now() without moving the clock.
    std::size_t run_due();
    // The earliest pending deadline, or time_point::max() when none.
    time_point next_deadline() const;

private:
    detail::timer_node* schedule_entry(const detail::entry_factory& make) override;

    std::shared_ptr<detail::timer_core> core_;
};

}  // namespace vow
