// inline_executor: runs each task on the thread that hands it over.
#pragma once

#include "vow/executor.hpp"

namespace vow {

// Runs a task at once on the calling thread, trampolined: a task handed over
// while another inline task is running on this thread is queued and run right
// after it returns, not nested. So a chain of any length that schedules its
// next step inline runs in constant stack depth, in FIFO order.
//
// Thread safety: stateless apart from a per-thread queue; use from any thread.
// Destructor: nothing to do (the queue belongs to the thread, not the object).
class inline_executor final : public executor {
public:
    constexpr inline_executor() = default;

    void execute(task t) override;
    bool running_in_this_thread() const noexcept override;

    // A shared instance, for code that needs "run it right here".
    static inline_executor& instance() noexcept { return shared_; }

private:
    static inline_executor shared_;  // constant-initialised: no guard on each use
};

namespace detail {

// Something the inline trampoline runs without wrapping it in a task: a
// continuation queues itself, saving the task's type-erased moves and calls on
// the hottest path of a chain. run_queued must not throw.
class trampoline_item {
public:
    virtual void run_queued() noexcept = 0;

protected:
    ~trampoline_item() = default;
};

// Runs item.run_queued() exactly as inline_executor::execute runs a task: at
// once, or after the inline work already running on this thread (FIFO, with
// the tasks), never nested. Like execute, it passes on what a task run from
// here throws; the item itself is never lost.
void run_inline(trampoline_item& item);

}  // namespace detail

}  // namespace vow
