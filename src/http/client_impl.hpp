// client::impl: the I/O workers (one io_context and thread each), their
// keep-alive pools, and the global and per-host limits on requests in flight.
#pragma once

#include <cstddef>
#include <deque>
#include <list>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "asio.hpp"
#include "connection.hpp"
#include "idle_index.hpp"
#include "proxy_route.hpp"
#include "rate_limiter.hpp"
#include "request_handles.hpp"
#include "vow/http/client.hpp"

namespace vow::http::detail {

struct io_worker {
    explicit io_worker(std::size_t index) : index(index) {}
    const std::size_t index;  // in client_core's workers
    asio::io_context ctx{1};
    asio::executor_work_guard<asio::io_context::executor_type> work{ctx.get_executor()};
    std::thread thread;
    // Touched only on this worker's thread:
    std::map<std::string, std::deque<std::unique_ptr<connection>>> idle;  // by origin
    std::unordered_set<live_request*> live;                                // to abort at shutdown
};

// Admission: a request holds one slot of its origin from connect to the end
// of its response. Thread-safe; waiters are woken on their own I/O thread.
class slot_limits {
public:
    slot_limits(std::size_t global, std::size_t per_host) : global_(global), per_host_(per_host) {}

    // True: the slot is held. False: `op` is queued and will be told by
    // slot_granted().
    bool try_acquire(const std::string& origin, const std::shared_ptr<slot_waiter>& op);
    // A queued op gave up (cancel, timeout). True when it holds a slot anyway
    // (granted meanwhile), which the caller must then release.
    bool withdraw(slot_waiter* op);
    void release(const std::string& origin);

private:
    bool has_room(const std::string& origin) const;
    void grant_waiters();  // mutex held

    struct waiter {
        std::string origin;
        std::shared_ptr<slot_waiter> op;
    };
    std::mutex mutex_;
    std::size_t global_, per_host_;
    std::size_t in_flight_ = 0;                  // guarded by mutex_
    std::map<std::string, std::size_t> by_host_;  // guarded by mutex_
    std::list<waiter> waiters_;                  // guarded by mutex_, FIFO
};

class client_core : public std::enable_shared_from_this<client_core> {
public:
    explicit client_core(client_options options);
    ~client_core();

    // Cancels every request in flight and joins the I/O threads. Idempotent.
    // Requests started after it (a retry's next attempt) fail at once.
    void shutdown();
    bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
    // Runs `spawn` unless the client is shut down; false when it is. Holding
    // the lock across the spawn means no request slips in after shutdown
    // drained the I/O threads.
    template <class F>
    bool spawn_unless_closed(F&& spawn) {
        std::lock_guard lock(start_mutex_);
        if (closed()) return false;
        spawn();
        return true;
    }

    // Where a new request to `origin` runs: on a worker with an idle
    // connection to it, which is then promised to the request (it passes
    // `promised` to take_idle, or to unpromise if it never gets there);
    // otherwise the next worker in turn.
    struct placement {
        io_worker& worker;
        bool promised;
    };
    placement pick_worker(const std::string& origin);
    void unpromise(io_worker& w, const std::string& origin) { idle_index_.unpromise(origin, w.index); }
    executor& completion_executor() noexcept { return *completion_; }
    timer& retry_timer() noexcept { return *retry_timer_; }
    ssl::context& tls_context() noexcept { return tls_; }
    slot_limits& limits() noexcept { return limits_; }
    const proxy_routes& proxies() const noexcept { return proxies_; }
    // The cap of client_options::max_bytes_per_second; null when there is none.
    rate_limiter* rate() noexcept { return rate_ ? &*rate_ : nullptr; }
    const client_options& options() const noexcept { return options_; }

    // Pool, on the worker's thread. take_idle returns null when the worker
    // has no connection the request may take, or the one it took had been
    // closed by the server (checked before any request is sent on it).
    std::unique_ptr<connection> take_idle(io_worker& w, const std::string& origin, bool promised);
    void put_idle(io_worker& w, std::unique_ptr<connection> c);

private:
    client_options options_;
    executor* completion_;
    timer* retry_timer_;
    ssl::context tls_;
    proxy_routes proxies_;
    slot_limits limits_;
    std::optional<rate_limiter> rate_;
    std::vector<std::unique_ptr<io_worker>> workers_;
    idle_index idle_index_;
    std::size_t idle_cap_;  // idle connections per origin, over all workers
    std::atomic<std::size_t> next_worker_{0};
    std::once_flag shut_down_;
    std::mutex start_mutex_;         // orders spawns against shutdown
    std::atomic<bool> closed_{false};
};

}  // namespace vow::http::detail
