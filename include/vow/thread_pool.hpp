// thread_pool: a fixed set of named worker threads sharing one lock-free
// queue (moodycamel::ConcurrentQueue), from which each worker takes small
// batches that idle workers may steal. The default executor is one of these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "vow/executor.hpp"

namespace vow {

// Shutdown states: open -> draining (shutdown(): new work from outside is
// rejected, queued work runs) -> stopped (join() returned, or shutdown_now()).
//
// Thread safety: every member function may be called from any thread,
// including from one of the pool's own workers.
//
// Destructor: drains (every queued task runs) and joins. Called from one of the
// pool's own workers, it joins the other workers and leaves the calling worker
// to finish the queue and exit on its own, so it never self-joins or deadlocks.
//
// While draining, tasks posted from the pool's own workers are still accepted:
// they are continuations of queued work, and dropping them would strand it.
class thread_pool final : public executor {
public:
    enum class state { open, draining, stopped };

    struct stats_snapshot {
        std::size_t queued = 0;     // accepted, not yet started (approximate while busy)
        std::size_t running = 0;    // being run by a worker right now
        std::uint64_t completed = 0;
        std::uint64_t rejected = 0;  // refused by execute() or dropped by shutdown_now()
    };

    // `threads == 0` means one worker per hardware thread. Workers are named
    // "<name>-<index>" (visible in top, gdb, perf).
    explicit thread_pool(std::size_t threads = 0, std::string name = "vow-pool");
    ~thread_pool() override;

    // Queues `t`. Throws executor_shut_down (after destroying `t`) when the pool
    // no longer accepts work.
    void execute(task t) override;
    bool running_in_this_thread() const noexcept override;

    // Stops accepting work from outside; queued work still runs. Non-blocking.
    void shutdown();
    // Stops accepting work and destroys every queued task unrun (each owner
    // learns through its task's destructor). Returns how many were dropped.
    // Tasks already running finish.
    std::size_t shutdown_now();
    // shutdown(), then waits for the workers to finish the queue and exit.
    void join();

    // Runs one queued task on the calling thread, if there is one. Blocking
    // waits on a worker use it so a pool cannot deadlock on its own queue.
    bool try_run_one();

    // For blocking waits (future::get on a worker): whether the calling thread
    // is a worker of some thread_pool, and running one queued task of that pool.
    static bool this_thread_is_worker() noexcept;
    static bool run_one_for_this_worker();

    state current_state() const noexcept;
    stats_snapshot stats() const noexcept;
    std::size_t size() const noexcept;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace vow
