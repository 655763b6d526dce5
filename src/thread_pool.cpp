#include "vow/thread_pool.hpp"

#include <pthread.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

#include "call_stack.hpp"
#include "vow/errors.hpp"

namespace vow {

namespace {

enum pool_state : int { open = 0, draining = 1, dropping = 2 };

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Tries before a worker with nothing to do goes to sleep. Short: long enough
// to catch a producer that is mid-burst, far too short to burn a core.
constexpr int spin_tries = 64;

}  // namespace

namespace {
// The pool whose worker the calling thread is (for blocking waits to help).
thread_local thread_pool::impl* this_thread_pool = nullptr;
}  // namespace

struct thread_pool::impl {
    // One cache line per worker: written only by its own worker.
    struct alignas(64) worker_slot {
        std::atomic<std::uint64_t> completed{0};  // relaxed: a statistic
        std::atomic<bool> running{false};         // relaxed: a statistic
    };

    explicit impl(std::size_t n) : slots(n) {}

    moodycamel::ConcurrentQueue<task> queue;
    std::atomic<int> state{open};  // release on change so workers see queued work before it
    std::atomic<bool> stopped{false};
    std::atomic<std::uint64_t> rejected{0};           // relaxed: a statistic
    std::atomic<std::uint64_t> completed_elsewhere{0};  // run by join()/try_run_one(); relaxed

    // Sleeping protocol (an event count): a worker reads `epoch`, announces itself
    // in `sleepers`, re-checks the queue, then waits for `epoch` to change. A
    // producer enqueues, fences, and bumps `epoch` only if someone sleeps. The
    // seq_cst fence on both sides means one of them always sees the other.
    std::atomic<int> sleepers{0};
    std::atomic<std::uint32_t> epoch{0};

    std::vector<worker_slot> slots;

    std::mutex threads_mutex;  // guards `threads` (join may be called from several threads)
    std::vector<std::thread> threads;

    void wake_one() {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (sleepers.load(std::memory_order_relaxed) > 0) {
            epoch.fetch_add(1, std::memory_order_release);
            epoch.notify_one();
        }
    }

    void wake_all() {
        epoch.fetch_add(1, std::memory_order_seq_cst);
        epoch.notify_all();
    }

    static void run(task& t) { t(); t.reset(); }

    void worker_loop(std::size_t index) {
        detail::call_stack::frame running_here(this);
        this_thread_pool = this;
        worker_slot& slot = slots[index];
        moodycamel::ConsumerToken token(queue);
        task t;
        auto run_counted = [&] {
            slot.running.store(true, std::memory_order_relaxed);
            run(t);
            slot.running.store(false, std::memory_order_relaxed);
            slot.completed.store(slot.completed.load(std::memory_order_relaxed) + 1,
                                 std::memory_order_relaxed);
        };
        for (;;) {
            if (state.load(std::memory_order_acquire) == dropping) return;
            if (queue.try_dequeue(token, t)) { run_counted(); continue; }

            bool found = false;
            for (int i = 0; i < spin_tries && !found; ++i) {
                cpu_relax();
                found = queue.try_dequeue(token, t);
            }
            if (found) { run_counted(); continue; }

            std::uint32_t seen = epoch.load(std::memory_order_acquire);
            sleepers.fetch_add(1, std::memory_order_seq_cst);
            std::atomic_thread_fence(std::memory_order_seq_cst);
            if (queue.try_dequeue(token, t)) {
                sleepers.fetch_sub(1, std::memory_order_relaxed);
                run_counted();
                continue;
            }
            if (state.load(std::memory_order_acquire) != open) {
                // Draining with an empty queue: done. Work posted later by another
                // worker is run by that worker, and join() runs any straggler.
                sleepers.fetch_sub(1, std::memory_order_relaxed);
                return;
            }
            epoch.wait(seen, std::memory_order_acquire);
            sleepers.fetch_sub(1, std::memory_order_relaxed);
        }
    }

    std::size_t drop_queued() {
        std::size_t dropped = 0;
        task t;
        while (queue.try_dequeue(t)) {
            t.reset();  // the owner learns through the task's destructor
            ++dropped;
        }
        rejected.fetch_add(dropped, std::memory_order_relaxed);
        return dropped;
    }
};

namespace {

void name_this_thread(const std::string& name, std::size_t index) {
    std::string full = name + "-" + std::to_string(index);
    if (full.size() > 15) full.erase(0, full.size() - 15);  // Linux limit; keep the index
    pthread_setname_np(pthread_self(), full.c_str());
}

}  // namespace

thread_pool::thread_pool(std::size_t threads, std::string name) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    impl_ = std::make_shared<impl>(threads);
    impl_->threads.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) {
        // Each worker shares ownership, so a pool destroyed from its own worker
        // leaves that worker a valid queue to finish.
        impl_->threads.emplace_back([state = impl_, i, name] {
            name_this_thread(name, i);
            state->worker_loop(i);
        });
    }
}

thread_pool::~thread_pool() { join(); }

void thread_pool::execute(task t) {
    int s = impl_->state.load(std::memory_order_acquire);
    if (s != open && !(s == draining && running_in_this_thread())) {
        t.reset();
        impl_->rejected.fetch_add(1, std::memory_order_relaxed);
        throw executor_shut_down();
    }
    impl_->queue.enqueue(std::move(t));
    impl_->wake_one();
}

bool thread_pool::running_in_this_thread() const noexcept {
    return detail::call_stack::contains(impl_.get());
}

void thread_pool::shutdown() {
    int expected = open;
    if (impl_->state.compare_exchange_strong(expected, draining, std::memory_order_acq_rel))
        impl_->wake_all();
}

std::size_t thread_pool::shutdown_now() {
    impl_->state.store(dropping, std::memory_order_release);
    impl_->stopped.store(true, std::memory_order_release);
    impl_->wake_all();
    return impl_->drop_queued();
}

void thread_pool::join() {
    shutdown();
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(impl_->threads_mutex);
        threads.swap(impl_->threads);
    }
    bool on_worker = false;
    for (std::thread& th : threads) {
        if (th.get_id() == std::this_thread::get_id()) {
            th.detach();  // our own worker: it finishes the queue and exits by itself
            on_worker = true;
        } else if (th.joinable()) {
            th.join();
        }
    }
    if (on_worker) return;
    // A task accepted just as the pool began draining can miss every worker;
    // it was accepted, so it runs (or is dropped after shutdown_now).
    if (impl_->state.load(std::memory_order_acquire) == dropping) {
        impl_->drop_queued();
    } else {
        detail::call_stack::frame running_here(impl_.get());
        task t;
        while (impl_->queue.try_dequeue(t)) {
            impl::run(t);
            impl_->completed_elsewhere.fetch_add(1, std::memory_order_relaxed);
        }
    }
    impl_->stopped.store(true, std::memory_order_release);
}

bool thread_pool::try_run_one() {
    task t;
    if (!impl_->queue.try_dequeue(t)) return false;
    detail::call_stack::frame running_here(impl_.get());
    impl::run(t);
    impl_->completed_elsewhere.fetch_add(1, std::memory_order_relaxed);
    return true;
}

bool thread_pool::this_thread_is_worker() noexcept { return this_thread_pool != nullptr; }

bool thread_pool::run_one_for_this_worker() {
    impl* pool = this_thread_pool;
    task t;
    if (pool == nullptr || !pool->queue.try_dequeue(t)) return false;
    impl::run(t);
    pool->completed_elsewhere.fetch_add(1, std::memory_order_relaxed);
    return true;
}

thread_pool::state thread_pool::current_state() const noexcept {
    if (impl_->stopped.load(std::memory_order_acquire)) return state::stopped;
    return impl_->state.load(std::memory_order_acquire) == open ? state::open : state::draining;
}

thread_pool::stats_snapshot thread_pool::stats() const noexcept {
    stats_snapshot s;
    s.queued = impl_->queue.size_approx();
    for (const auto& slot : impl_->slots) {
        s.running += slot.running.load(std::memory_order_relaxed) ? 1 : 0;
        s.completed += slot.completed.load(std::memory_order_relaxed);
    }
    s.completed += impl_->completed_elsewhere.load(std::memory_order_relaxed);
    s.rejected = impl_->rejected.load(std::memory_order_relaxed);
    return s;
}

std::size_t thread_pool::size() const noexcept { return impl_->slots.size(); }

}  // namespace vow
