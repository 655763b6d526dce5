// client::impl: the I/O workers (one io_context and thread each), their
// keep-alive pools, and the global and per-host limits on requests in flight.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "asio.hpp"
#include "connection.hpp"
#include "idle_index.hpp"
#include "io_worker.hpp"
#include "new_file_stock.hpp"
#include "proxy_route.hpp"
#include "rate_limiter.hpp"
#include "request_env.hpp"
#include "slot_limits.hpp"
#include "vow/http/client.hpp"

namespace vow::http::detail {

// The client's shared state: options, TLS context, proxy routes, admission,
// rate limit, I/O threads and their idle connections. A request sees it only
// through request_env (request_env.hpp).
class client_core final : public std::enable_shared_from_this<client_core>,
                          public connection_source,
                          public request_gate {
public:
    explicit client_core(client_options options);
    ~client_core();

    // Cancels every request in flight and joins the I/O threads. Idempotent.
    // Requests started after it (a retry's next attempt) fail at once.
    void shutdown();
    // Whether the calling thread is one of this client's I/O threads (a
    // continuation run there by an inline completion executor).
    bool on_an_io_thread() const;
    bool closed() const noexcept override { return closed_.load(std::memory_order_acquire); }
    // No request slips in after shutdown drained the I/O threads: shutdown
    // sets closed_, then waits for the spawns it may have raced with. Counted,
    // not locked: a spawn on a worker's own thread runs the request's first
    // steps inline (co_spawn dispatches), and a lock held across them made
    // the I/O threads wait for each other. Both sides are sequentially
    // consistent, and must stay so (an acquire load or a release store
    // here lets the store of one side pass the load that follows it): a
    // spawn that read closed_ as false is seen by shutdown's read of
    // spawning_. Spawn runs no user code, so nothing in it waits on shutdown.
    bool spawn_unless_closed(unique_function<void()> spawn) override {
        struct counted {
            std::atomic<int>& n;
            explicit counted(std::atomic<int>& count) : n(count) { n.fetch_add(1, std::memory_order_seq_cst); }
            ~counted() { n.fetch_sub(1, std::memory_order_seq_cst); }
        } in_progress{spawning_};
        if (closed_.load(std::memory_order_seq_cst)) return false;
        spawn();
        return true;
    }
    // What requests see of this core; shares its ownership.
    static std::shared_ptr<request_env> env_of(const std::shared_ptr<client_core>& core) {
        return std::shared_ptr<request_env>(core, &core->env_);
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
    void unpromise(io_worker& w, const std::string& origin) override { idle_index_.unpromise(origin, w.index); }
    executor& completion_executor() noexcept { return *completion_; }
    timer& retry_timer() noexcept { return *retry_timer_; }
    slot_limits& limits() noexcept { return limits_; }
    const proxy_routes& proxies() const noexcept { return proxies_; }
    // The cap of client_options::max_bytes_per_second; null when there is none.
    rate_limiter* rate() noexcept { return rate_ ? &*rate_ : nullptr; }
    const client_options& options() const noexcept { return options_; }
    // client::make_files_ahead's stocks; a download takes its new file from its folder's.
    new_file_stocks& new_files() noexcept { return new_files_; }

    // Pool, on the worker's thread. take_idle returns null when the worker
    // has no connection the request may take, or the one it took had been
    // closed by the server (checked before any request is sent on it).
    std::unique_ptr<connection> take_idle(io_worker& w, const std::string& origin, bool promised) override;
    void put_idle(io_worker& w, std::unique_ptr<connection> c) override;

private:
    client_options options_;
    executor* completion_;
    timer* retry_timer_;
    tls_context tls_;
    proxy_routes proxies_;
    slot_limits limits_;
    std::optional<rate_limiter> rate_;
    std::vector<std::unique_ptr<io_worker>> workers_;
    idle_index idle_index_;
    std::size_t idle_cap_;  // idle connections per origin, over all workers
    std::atomic<std::size_t> next_worker_{0};
    std::once_flag shut_down_;
    std::atomic<int> spawning_{0};   // spawns in progress, waited for by shutdown
    std::atomic<bool> closed_{false};
    new_file_stocks new_files_;
    request_env env_;                // refers to the members above
};

// Closes `core` (shutdown, then its last owner let go) on a thread of the
// library's own, joined at exit: for a client destroyed on one of its own
// I/O threads, which cannot join itself.
void close_in_background(std::shared_ptr<client_core> core);

}  // namespace vow::http::detail
