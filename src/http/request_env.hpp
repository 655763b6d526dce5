// What a request needs from the client that runs it, and nothing more: two
// small interfaces (the client's open/closed state, its idle connections)
// and the settings it reads. The client core provides them (client_impl.hpp);
// a request never sees the core itself.
#pragma once

#include <memory>
#include <string>

#include "asio.hpp"
#include "connection.hpp"
#include "proxy_route.hpp"
#include "rate_limiter.hpp"
#include "slot_limits.hpp"
#include "tls_context.hpp"
#include "vow/executor.hpp"
#include "vow/http/client.hpp"
#include "vow/unique_function.hpp"

namespace vow::http::detail {

struct io_worker;

// Whether the client still takes work.
class request_gate {
public:
    virtual bool closed() const noexcept = 0;
    // Runs `spawn` unless the client is shut down; false when it is.
    virtual bool spawn_unless_closed(unique_function<void()> spawn) = 0;

protected:
    ~request_gate() = default;
};

// The idle connections, on the worker's own thread. take_idle returns null
// when there is none the request may take (or the one taken had been closed
// by the server); `promised` and unpromise: see client_core::pick_worker.
class connection_source {
public:
    virtual std::unique_ptr<connection> take_idle(io_worker& w, const std::string& pool_key, bool promised) = 0;
    virtual void put_idle(io_worker& w, std::unique_ptr<connection> c) = 0;
    virtual void unpromise(io_worker& w, const std::string& pool_key) = 0;

protected:
    ~connection_source() = default;
};

// Everything a request uses of its client. Shared through the client core's
// ownership: a request keeps the client's state alive while it runs.
struct request_env {
    request_gate& gate;
    connection_source& connections;
    slot_limits& limits;                  // admission
    const client_options& options;        // user agent, TLS settings
    const proxy_routes& proxies;
    tls_context& tls;                     // its system CAs loaded on first use
    rate_limiter* rate;                   // null without max_bytes_per_second
    executor& user_side;                  // where results and progress go
};

}  // namespace vow::http::detail
