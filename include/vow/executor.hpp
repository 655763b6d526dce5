// The abstract executor every vow executor derives from, and the task type it
// runs. This header knows nothing of futures; `submit` lives with them.
#pragma once

#include "vow/unique_function.hpp"

namespace vow {

// A unit of work. Executors run each task exactly once, or destroy it unrun.
using task = unique_function<void()>;

// Contract of every executor:
// - execute(t) either accepts t, which is then run exactly once or (only if the
//   executor is shut down with shutdown_now or destroyed) destroyed unrun; or it
//   rejects t: t is destroyed unrun and execute throws vow::executor_shut_down.
//   No task is ever lost silently. Owners that need to learn about a drop (a
//   future's task) do so in the task's destructor.
// - execute may be called from any thread, including from inside a task.
// - An exception escaping a task is passed to std::terminate: wrap work that
//   may throw (futures do this for you).
class executor {
public:
    virtual ~executor() = default;

    virtual void execute(task t) = 0;

    // True when the calling thread is currently running a task of this
    // executor. Used to avoid blocking a worker on its own queue.
    virtual bool running_in_this_thread() const noexcept { return false; }

protected:
    constexpr executor() = default;
    executor(const executor&) = delete;
    executor& operator=(const executor&) = delete;
};

class timer;

// vow's process-wide defaults, created on first use: a thread_pool with one
// worker per hardware thread, and a real-clock timer with one thread.
executor& default_executor();
timer& default_timer();

}  // namespace vow
