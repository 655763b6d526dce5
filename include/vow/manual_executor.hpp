// manual_executor: tasks run only when the caller says so. The tool for
// deterministic tests: nothing happens behind the test's back.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>

#include "vow/executor.hpp"

namespace vow {

// Thread safety: execute and the run_* functions may be called from any thread;
// tasks run on the thread that calls run_*, never under the internal lock.
// Destructor: destroys queued tasks unrun (their owners learn through the
// task's destructor).
class manual_executor final : public executor {
public:
    manual_executor() = default;
    ~manual_executor() override;

    // Throws executor_shut_down after shutdown().
    void execute(task t) override;
    bool running_in_this_thread() const noexcept override;

    // Runs the oldest queued task. Returns false when there was none.
    bool run_one();
    // Runs the tasks queued at the time of the call (not those they queue).
    std::size_t run_all();
    // Runs tasks until the queue is empty, including those queued meanwhile.
    std::size_t run_until_idle();

    std::size_t pending() const;
    // Rejects new work and destroys queued tasks unrun; returns how many.
    std::size_t shutdown();

private:
    bool pop(task& out);

    mutable std::mutex mutex_;
    std::deque<task> queue_;  // guarded by mutex_
    bool shut_down_ = false;  // guarded by mutex_
};

}  // namespace vow
