// moodycamel's queue uses std::atomic_thread_fence, which ThreadSanitizer
// does not model; g++ says so (-Wtsan) for each fence. vow's own fences are
// made visible to TSan (support/full_fence.hpp); moodycamel's are covered by
// the tests' suppressions (tests/tsan.supp).
#if defined(__SANITIZE_THREAD__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wtsan"
#endif

#include "vow/thread_pool.hpp"

#include <array>
#include <atomic>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

#include "support/call_stack.hpp"
#include "support/cpu_relax.hpp"
#include "support/full_fence.hpp"
#include "support/futex.hpp"
#include "support/spin_lock.hpp"
#include "support/thread_name.hpp"
#include "vow/errors.hpp"

// Design (chosen by bench/executor_bench.cpp, see docs/benchmarks.md):
// - One shared moodycamel::ConcurrentQueue. Each posting thread enqueues
//   through its own producer token (cached per thread), so posts from
//   different threads do not contend.
// - Each worker takes up to `batch_capacity` tasks from the queue at once into
//   a small batch of its own, and runs them in place. A batch stays visible:
//   stats() counts it as queued, shutdown_now() drops it, idle workers and
//   helping threads take from it.
// - Idle workers spin briefly, then park on a futex. A producer wakes a
//   parked worker only when no worker is already searching for work.
//
// Wake-up protocol (impl's "wake-up protocol" section, and worker_loop)
// ---------------------------------------------------------------------
// `idle` counts the workers that are searching (polling for work) and those
// that are parked (asleep on their futex, `park`).
//
//                       batch and queue empty
//        ┌─────────┐ ──────────────────────────▶ ┌───────────┐
//        │ running │                             │ searching │
//        └─────────┘ ◀────────────────────────── └───────────┘
//             ▲              finds a task           │     ▲
//             │                        spin_tries   │     │ woken: the waker
//             │ its last look          polls find   │     │ counted it as
//             │ finds a task           nothing      ▼     │ searching
//             │                                  ┌───────────┐
//             └───────────────────────────────── │  parked   │ ──▶ exits: the pool
//                                                └───────────┘     closes, nothing left
//
//   transition                    `idle`                 and then
//   running   → searching         searching+1
//   searching → running           searching-1            the last searcher wakes a
//                                                        successor if more work waits
//   searching → parked            searching-1, parked+1  full_fence, one last look for
//                                                        work, futex_wait(park, parked)
//   parked    → running           parked-1               (the worker's own CAS on park)
//   parked    → searching         parked-1, searching+1  (done by the waker: wake_one
//                                                        wakes one, wake_all every one)
//
// The parking word: awake ──▶ parked ──▶ notified ──▶ awake
//                     ▲          │  waker's CAS    worker, on waking
//                     └──────────┘  worker's CAS: its last look found work,
//                                   or the pool is closing
//
// Why no task waits while every worker sleeps: a producer and a parking
// worker each write, fence, then read what the other wrote. With seq_cst
// fences on both sides, at least one of them sees the other.
//
//   producer (execute)                    worker (parking)
//   ──────────────────                    ────────────────
//   queue.enqueue(task)                   park = parked; idle: parked+1
//   full_fence()                          full_fence()
//   read idle: nobody searching and       look for work once more:
//   somebody parked? ──▶ wake_one()         found? ──▶ park = awake, run it
//                                           none?  ──▶ futex_wait(park, parked)
//
// The same pairing guards every other hand-over: a searcher that stops
// searching (stop_searching_found_work, wake_one giving its count back) fences
// and looks at the queue once more, because a producer may have skipped its
// wake-up while it was counted as searching.

namespace vow {

namespace {

enum pool_state : int { open = 0, draining = 1, dropping = 2 };

// A worker's parking word (its futex).
enum park_state : std::uint32_t {
    awake = 0,     // running, searching, or on its way to park
    parked = 1,    // asleep or about to be; counted as parked in `idle`
    notified = 2,  // woken by wake_one()/wake_all(), which counted it as searching instead
};

// Moodycamel's default is 32: bigger blocks mean fewer block hand-overs.
struct queue_traits : moodycamel::ConcurrentQueueDefaultTraits {
    static constexpr std::size_t BLOCK_SIZE = 256;
};

// The most tasks a worker takes from the queue at once: one trip to the shared
// queue's indices per batch instead of per task.
constexpr std::size_t batch_capacity = 32;

// Polls of the queue before a searching worker parks. Short: long enough to
// catch a producer that is mid-burst, far too short to burn a core.
constexpr int spin_tries = 64;

using detail::cpu_relax;
using detail::full_fence;
using detail::futex_wait;
using detail::futex_wake;
using detail::spin_lock;

// The pool whose worker the calling thread is (for blocking waits to help).
thread_local thread_pool::impl* this_thread_pool = nullptr;

}  // namespace

struct thread_pool::impl {
    // One per worker, on cache lines of its own. Written by its worker, except
    // `park` (also by wakers) and the batch (by anyone holding batch_lock).
    struct alignas(64) worker_slot {
        std::atomic<std::uint64_t> completed{0};  // relaxed: a statistic
        std::atomic<bool> running{false};         // relaxed: a statistic
        std::atomic<std::uint32_t> park{awake};   // seq_cst: part of the wake-up protocol

        // Tasks the worker took from the queue and has not started. The worker
        // runs them in place: a claimed entry is left alone until it refills.
        spin_lock batch_lock;
        std::atomic<std::uint32_t> batch_left{0};  // written under batch_lock; read without it as a hint
        std::uint32_t batch_next = 0;              // guarded by batch_lock: first unclaimed entry
        std::array<task, batch_capacity> batch;    // unclaimed entries guarded by batch_lock
    };

    explicit impl(std::size_t n) : slots(n) {}

    moodycamel::ConcurrentQueue<task, queue_traits> queue;

    // Own cache line, read by every execute() and rarely written.
    alignas(64) std::atomic<int> state{open};  // seq_cst: part of the wake-up and straggler protocols
    std::atomic<bool> stopped{false};          // seq_cst: set before join()'s last drain, see execute()
    std::atomic<std::uint64_t> rejected{0};             // relaxed: a statistic
    std::atomic<std::uint64_t> completed_elsewhere{0};  // run by join()/try_run_one(); relaxed

    // Wake-up protocol (after Go's and Tokio's schedulers). `idle` packs how many
    // workers are searching (polling for work; low half) and how many are parked
    // (high half). A producer enqueues, fences, and wakes a parked worker only
    // when nobody searches, as a searcher will find the task. The waker counts
    // the woken worker as searching, so a burst of posts wakes one worker, not
    // one per post. A searcher that finds work while more is queued wakes the
    // next one. Whoever stops searching updates `idle`, fences, and looks for
    // work once more: with seq_cst on both sides of every hand-over, one side
    // always sees the other, so no task waits for a parked worker while others
    // sleep. Own cache line: every execute() reads it.
    static constexpr std::uint64_t one_searching = 1;
    static constexpr std::uint64_t one_parked = std::uint64_t{1} << 32;
    static std::uint32_t searching_in(std::uint64_t w) noexcept { return static_cast<std::uint32_t>(w); }
    static std::uint32_t parked_in(std::uint64_t w) noexcept { return static_cast<std::uint32_t>(w >> 32); }
    alignas(64) std::atomic<std::uint64_t> idle{0};
    std::atomic<std::size_t> next_wake{0};  // relaxed: rotates which parked worker wakes first

    alignas(64) std::vector<worker_slot> slots;

    std::mutex threads_mutex;  // guards `threads` (join may be called from several threads)
    std::vector<std::thread> threads;

    // ---- wake-up protocol --------------------------------------------------

    // Any thread, after making work visible: wakes a worker if it might wait.
    void notify_work() {
        full_fence();
        std::uint64_t w = idle.load(std::memory_order_relaxed);
        if (searching_in(w) == 0 && parked_in(w) != 0) wake_one();
    }

    // Turns one parked worker into a searcher, unless someone searches already.
    void wake_one() {
        for (int attempt = 0;; ++attempt) {
            if (attempt > 0) attempt < 64 ? cpu_relax() : std::this_thread::yield();
            std::uint64_t w = idle.load(std::memory_order_seq_cst);
            do {
                if (searching_in(w) != 0 || parked_in(w) == 0) return;
            } while (!idle.compare_exchange_weak(w, w + one_searching, std::memory_order_seq_cst));
            // We now hold a searcher's count for the worker we are about to wake.
            const std::size_t n = slots.size();
            const std::size_t first = next_wake.fetch_add(1, std::memory_order_relaxed);
            for (std::size_t k = 0; k < n; ++k) {
                worker_slot& slot = slots[(first + k) % n];
                std::uint32_t expected = parked;
                if (slot.park.compare_exchange_strong(expected, notified, std::memory_order_seq_cst)) {
                    idle.fetch_sub(one_parked, std::memory_order_seq_cst);
                    futex_wake(slot.park);
                    return;
                }
            }
            // Nobody parked after all: every worker counted as parked is leaving
            // its parking spot, or about to enter it and look for work first. Give
            // the count back and, like any searcher that stops, look for work once
            // more (a producer may have skipped its wake-up because of our count);
            // if there is some, try again until that worker is found or has left.
            idle.fetch_sub(one_searching, std::memory_order_seq_cst);
            full_fence();
            if (queue.size_approx() == 0 && !any_batch_left()) return;
        }
    }

    // Wakes every parked worker (shutdown).
    void wake_all() {
        for (worker_slot& slot : slots) {
            std::uint32_t expected = parked;
            if (slot.park.compare_exchange_strong(expected, notified, std::memory_order_seq_cst)) {
                idle.fetch_add(one_searching - one_parked, std::memory_order_seq_cst);
                futex_wake(slot.park);
            }
        }
    }

    // A searcher found a task: it stops searching. If it was the last searcher
    // and more work is waiting, another worker takes over the search.
    void stop_searching_found_work(const worker_slot& own) {
        std::uint64_t before = idle.fetch_sub(one_searching, std::memory_order_seq_cst);
        if (searching_in(before) == 1 && parked_in(before) != 0) {
            full_fence();
            if (queue.size_approx() != 0 || own.batch_left.load(std::memory_order_relaxed) != 0) wake_one();
        }
    }

    // ---- batches -----------------------------------------------------------

    static bool pop_batch_locked(worker_slot& slot, task& t) {
        std::uint32_t left = slot.batch_left.load(std::memory_order_relaxed);
        if (left == 0) return false;
        t = std::move(slot.batch[slot.batch_next++]);
        slot.batch_left.store(left - 1, std::memory_order_relaxed);
        return true;
    }

    // Any thread: moves the next unclaimed task of `slot`'s batch into `t`.
    // `wait`: wait for the lock rather than give up.
    static bool take_from_batch(worker_slot& slot, task& t, bool wait) {
        if (slot.batch_left.load(std::memory_order_relaxed) == 0) return false;
        if (wait) {
            slot.batch_lock.lock();
        } else if (!slot.batch_lock.try_lock()) {
            return false;
        }
        bool got = pop_batch_locked(slot, t);
        slot.batch_lock.unlock();
        return got;
    }

    // The owner: claims the next task of its batch, to run in place.
    static task* claim_own(worker_slot& slot) {
        if (slot.batch_left.load(std::memory_order_relaxed) == 0) return nullptr;
        std::lock_guard lock(slot.batch_lock);
        std::uint32_t left = slot.batch_left.load(std::memory_order_relaxed);
        if (left == 0) return nullptr;
        slot.batch_left.store(left - 1, std::memory_order_relaxed);
        return &slot.batch[slot.batch_next++];
    }

    // The owner, with its batch used up: refills it from the queue and claims
    // the first task. Under the lock, so shutdown_now() sees tasks either in the
    // queue or in the batch, never in between.
    task* refill(worker_slot& slot, moodycamel::ConsumerToken& token) {
        std::lock_guard lock(slot.batch_lock);
        if (state.load(std::memory_order_acquire) == dropping) return nullptr;
        std::size_t n = queue.try_dequeue_bulk(token, slot.batch.begin(), batch_capacity);
        if (n == 0) return nullptr;
        slot.batch_next = 1;
        slot.batch_left.store(static_cast<std::uint32_t>(n - 1), std::memory_order_relaxed);
        return &slot.batch[0];
    }

    // Any thread: one task from the queue or from any worker's batch.
    bool take_any(task& t) {
        if (queue.try_dequeue(t)) return true;
        for (worker_slot& slot : slots)
            if (take_from_batch(slot, t, true)) return true;
        return false;
    }

    bool any_batch_left() const noexcept {
        for (const worker_slot& slot : slots)
            if (slot.batch_left.load(std::memory_order_relaxed) != 0) return true;
        return false;
    }

    // ---- running and dropping ----------------------------------------------

    static void run(task& t) {
        t();
        t.reset();
    }

    void worker_loop(std::size_t index) {
        detail::call_stack::frame running_here(this);
        this_thread_pool = this;
        worker_slot& slot = slots[index];
        moodycamel::ConsumerToken token(queue);
        task stolen;
        task* t = nullptr;       // the task to run: an entry of our batch, or `stolen`
        bool searching = false;  // we hold one of idle's searching counts

        auto run_counted = [&] {
            if (searching) {
                searching = false;
                stop_searching_found_work(slot);
            }
            slot.running.store(true, std::memory_order_relaxed);
            run(*t);
            slot.running.store(false, std::memory_order_relaxed);
            slot.completed.store(slot.completed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        };
        // Our batch first, then a new batch from the queue. Leftovers of a new
        // batch must not wait for a parked worker nobody wakes (one of them may
        // be what the first task waits for); a searcher checks in run_counted.
        auto find_work = [&] {
            if ((t = claim_own(slot)) != nullptr) return true;
            if ((t = refill(slot, token)) == nullptr) return false;
            if (!searching && slot.batch_left.load(std::memory_order_relaxed) != 0) notify_work();
            return true;
        };
        // Another worker's batch. `wait`: also when its owner holds the lock.
        auto steal = [&](bool wait) {
            for (std::size_t k = 1; k < slots.size(); ++k) {
                if (take_from_batch(slots[(index + k) % slots.size()], stolen, wait)) {
                    t = &stolen;
                    return true;
                }
            }
            return false;
        };
        auto leave = [&] {
            if (searching) idle.fetch_sub(one_searching, std::memory_order_seq_cst);
        };

        for (;;) {
            if (state.load(std::memory_order_acquire) == dropping) return leave();  // shutdown_now drops the batch
            if (find_work()) {
                run_counted();
                continue;
            }

            if (!searching) {
                idle.fetch_add(one_searching, std::memory_order_seq_cst);
                searching = true;
            }
            bool found = false;
            for (int i = 0; i < spin_tries && !found; ++i) {
                cpu_relax();
                found = find_work() || steal(false);
            }
            if (found) {
                run_counted();
                continue;
            }

            // Park: publish the parking word, stop searching and count as parked
            // in one step, fence, and look for work one last time. (A waker may
            // notify us before we count ourselves: the parked half of `idle` then
            // dips below zero for a moment, which costs at most a futile wake-up.)
            slot.park.store(parked, std::memory_order_seq_cst);
            idle.fetch_add(one_parked - one_searching, std::memory_order_seq_cst);
            searching = false;
            full_fence();
            bool have_work = find_work() || steal(true);
            if (have_work || state.load(std::memory_order_acquire) != open) {
                std::uint32_t expected = parked;
                if (slot.park.compare_exchange_strong(expected, awake, std::memory_order_seq_cst)) {
                    idle.fetch_sub(one_parked, std::memory_order_seq_cst);
                } else {
                    slot.park.store(awake, std::memory_order_relaxed);  // notified meanwhile: now a searcher
                    searching = true;
                }
                if (have_work) {
                    run_counted();
                    continue;
                }
                // Draining and nothing left to take: done. Work posted later by
                // another worker is run by that worker, and join() runs stragglers.
                return leave();
            }
            while (slot.park.load(std::memory_order_seq_cst) == parked) futex_wait(slot.park, parked);
            slot.park.store(awake, std::memory_order_relaxed);  // the waker counted us as searching
            searching = true;
        }
    }

    // Destroys every task waiting in the queue or in a batch, unrun (each owner
    // learns through its task's destructor, run outside any lock here).
    std::size_t drop_queued() {
        std::size_t dropped = 0;
        task t;
        while (queue.try_dequeue(t)) {
            t.reset();
            ++dropped;
        }
        for (worker_slot& slot : slots) {
            std::array<task, batch_capacity> doomed;
            std::size_t n = 0;
            {
                std::lock_guard lock(slot.batch_lock);
                while (pop_batch_locked(slot, doomed[n])) ++n;
            }
            dropped += n;
        }
        rejected.fetch_add(dropped, std::memory_order_relaxed);
        return dropped;
    }

    // After shutdown: runs (or, after shutdown_now, drops) whatever is still
    // queued, on the calling thread.
    void finish_stragglers() {
        if (state.load(std::memory_order_acquire) == dropping) {
            drop_queued();
            return;
        }
        detail::call_stack::frame running_here(this);
        task t;
        while (take_any(t)) {
            run(t);
            completed_elsewhere.fetch_add(1, std::memory_order_relaxed);
        }
    }
};

namespace {

// The moodycamel producer tokens of the pools this thread posts to. A token
// makes enqueue take the queue's explicit-producer path: no per-post lookup of
// the thread's implicit producer, no contention with other posting threads,
// and a cheaper dequeue. Only this thread touches it.
//
// An entry holds its pool's state strongly: execute() goes on using it after
// the enqueue, when the task may already have run and its owner destroyed the
// pool. So a destroyed pool's queue lives on until the entry is evicted (at
// most four per thread) or the thread exits. The reference also keeps the
// state's address from being reused while the entry exists, so the address
// identifies the pool.
class producer_tokens {
public:
    producer_tokens() noexcept { alive_ = true; }
    ~producer_tokens() { alive_ = false; }  // then the entries go
    producer_tokens(const producer_tokens&) = delete;
    producer_tokens& operator=(const producer_tokens&) = delete;

    // This thread's tokens, or null while the thread is exiting.
    static producer_tokens* for_this_thread() noexcept {
        thread_local producer_tokens tokens;
        return alive_ ? &tokens : nullptr;
    }

    // The token for `pool` (alive: the caller holds it), made on first use.
    // The pool of an entry evicted to make room may be kept alive by `evicted`
    // for the caller to release after its enqueue: the last release destroys
    // that pool's leftover tasks, whose destructors may post again.
    moodycamel::ProducerToken& get(const std::shared_ptr<thread_pool::impl>& pool,
                                   std::shared_ptr<thread_pool::impl>& evicted) {
        for (entry& e : entries_)
            if (e.key == pool.get()) return e.token();
        entry& e = entries_[next_victim_];
        next_victim_ = (next_victim_ + 1) % entries_.size();
        evicted = e.clear();
        e.set(pool);
        return e.token();
    }

private:
    class entry {
    public:
        entry() noexcept = default;
        entry(const entry&) = delete;
        entry& operator=(const entry&) = delete;
        ~entry() { (void)clear(); }

        void set(const std::shared_ptr<thread_pool::impl>& pool) {
            ::new (static_cast<void*>(storage_)) moodycamel::ProducerToken(pool->queue);
            pool_ = pool;
            key = pool.get();
        }
        moodycamel::ProducerToken& token() noexcept {
            return *std::launder(reinterpret_cast<moodycamel::ProducerToken*>(storage_));
        }
        // Returns the pool's state, for the caller to release.
        [[nodiscard]] std::shared_ptr<thread_pool::impl> clear() noexcept {
            if (key == nullptr) return nullptr;
            token().~ProducerToken();  // touches the queue, which pool_ keeps
            key = nullptr;
            return std::move(pool_);
        }

        const thread_pool::impl* key = nullptr;  // non-null while a token is held

    private:
        std::shared_ptr<thread_pool::impl> pool_;
        alignas(moodycamel::ProducerToken) unsigned char storage_[sizeof(moodycamel::ProducerToken)];
    };

    std::array<entry, 4> entries_;
    std::size_t next_victim_ = 0;
    // Trivially destructible, so still readable while the thread's objects are
    // destroyed: true exactly while this thread's `tokens` exists.
    static inline thread_local bool alive_ = false;
};

}  // namespace

thread_pool::thread_pool(std::size_t threads, std::string name) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    impl_ = std::make_shared<impl>(threads);
    impl_->threads.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) {
        // Each worker shares ownership, so a pool destroyed from its own worker
        // leaves that worker a valid queue to finish.
        impl_->threads.emplace_back([state = impl_, i, name] {
            detail::name_this_thread(name, i);
            state->worker_loop(i);
        });
    }
}

thread_pool::~thread_pool() { join(); }

void thread_pool::execute(task t) {
    // Once the task is queued it may run at once and lead its owner to
    // destroy this pool while we are still here (notify_work, the straggler
    // check): from then on only `state` is used, which this thread's token
    // entry keeps alive (a strong reference, taken once per thread and pool).
    impl* const state = impl_.get();
    std::shared_ptr<impl> keep;
    int s = state->state.load(std::memory_order_acquire);
    if (s != open && !(s == draining && running_in_this_thread())) {
        t.reset();
        state->rejected.fetch_add(1, std::memory_order_relaxed);
        throw executor_shut_down();
    }
    std::shared_ptr<impl> evicted;  // released last, after the enqueue
    bool queued;
    if (producer_tokens* tokens = producer_tokens::for_this_thread()) {
        queued = state->queue.enqueue(tokens->get(impl_, evicted), std::move(t));
    } else {
        keep = impl_;  // this thread is exiting: no entry holds the pool
        queued = state->queue.enqueue(std::move(t));
    }
    if (!queued) throw std::bad_alloc();  // `t` was not taken: it is destroyed unrun
    state->notify_work();
    // Accepted just as join() finished (it set `stopped` and fenced before its
    // last look at the queue): that look may have missed the task, so it is
    // finished here. Behind notify_work()'s fence, one side always sees the other.
    // (A worker of this pool needs no help: it finishes the queue before it exits.)
    if (state->stopped.load(std::memory_order_relaxed) && !detail::call_stack::contains(state))
        state->finish_stragglers();
}

bool thread_pool::running_in_this_thread() const noexcept { return detail::call_stack::contains(impl_.get()); }

void thread_pool::shutdown() {
    int expected = open;
    if (impl_->state.compare_exchange_strong(expected, draining, std::memory_order_seq_cst)) impl_->wake_all();
}

std::size_t thread_pool::shutdown_now() {
    impl_->state.store(dropping, std::memory_order_seq_cst);
    impl_->stopped.store(true, std::memory_order_seq_cst);
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
    // A task accepted just as the pool began draining can miss every worker; it
    // was accepted, so it runs (or is dropped after shutdown_now). One accepted
    // even later is finished by its execute(), which sees `stopped`.
    impl_->stopped.store(true, std::memory_order_seq_cst);
    full_fence();
    impl_->finish_stragglers();
}

bool thread_pool::try_run_one() {
    task t;
    if (!impl_->take_any(t)) return false;
    detail::call_stack::frame running_here(impl_.get());
    impl::run(t);
    impl_->completed_elsewhere.fetch_add(1, std::memory_order_relaxed);
    return true;
}

bool thread_pool::this_thread_is_worker() noexcept { return this_thread_pool != nullptr; }

bool thread_pool::run_one_for_this_worker() {
    impl* pool = this_thread_pool;
    task t;
    if (pool == nullptr || !pool->take_any(t)) return false;
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
        s.queued += slot.batch_left.load(std::memory_order_relaxed);
        s.running += slot.running.load(std::memory_order_relaxed) ? 1 : 0;
        s.completed += slot.completed.load(std::memory_order_relaxed);
    }
    s.completed += impl_->completed_elsewhere.load(std::memory_order_relaxed);
    s.rejected = impl_->rejected.load(std::memory_order_relaxed);
    return s;
}

std::size_t thread_pool::size() const noexcept { return impl_->slots.size(); }

}  // namespace vow
