// naive_pool: the floor every pool benchmark is measured against — one mutex,
// one condition_variable, one std::deque of std::function. Bench-only.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vow_bench {

// Thread safety: post() from any thread; join() from one thread, once.
// Destructor: joins, which first runs every queued task.
class naive_pool {
public:
    explicit naive_pool(std::size_t threads) {
        workers_.reserve(threads);
        for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
    }
    ~naive_pool() { join(); }

    naive_pool(const naive_pool&) = delete;
    naive_pool& operator=(const naive_pool&) = delete;

    void post(std::function<void()> f) {
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(f));
        }
        ready_.notify_one();
    }

    // Tells the workers to exit once the queue is empty, then joins them: every
    // task posted before join() runs.
    void join() {
        {
            std::lock_guard lock(mutex_);
            closing_ = true;
        }
        ready_.notify_all();
        for (std::thread& t : workers_)
            if (t.joinable()) t.join();
    }

private:
    void work() {
        std::unique_lock lock(mutex_);
        for (;;) {
            ready_.wait(lock, [this] { return closing_ || !queue_.empty(); });
            if (queue_.empty()) return;  // closing and drained
            std::function<void()> f = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            f();
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> queue_;  // guarded by mutex_
    bool closing_ = false;                     // guarded by mutex_
    std::vector<std::thread> workers_;
};

}  // namespace vow_bench
