// connection: one TCP (or TLS over TCP) connection to an origin, with the
// read buffer that carries bytes between responses. Owned by one request at
// a time, or idle in its worker's pool. Used only on its worker's I/O thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "asio.hpp"

namespace vow::http::detail {

struct connection {
    connection(asio::io_context& ctx, ssl::context* tls_context, std::string origin)
        : origin(std::move(origin)) {
        if (tls_context) {
            tls.emplace(ctx, *tls_context);
        } else {
            plain.emplace(ctx);
        }
        // Room for a head and a small body in one read (Beast would start at
        // 512 bytes and take a small body's rest in a second read).
        buffer.reserve(initial_buffer);
    }
    static constexpr std::size_t initial_buffer = 32 * 1024;

    beast::tcp_stream& lowest() { return tls ? tls->next_layer() : *plain; }
    void close() noexcept {
        beast::error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().close();
    }

    std::optional<beast::tcp_stream> plain;
    std::optional<ssl::stream<beast::tcp_stream>> tls;
    beast::flat_buffer buffer;  // bytes read past the last response's header
    std::string origin;
    std::chrono::steady_clock::time_point idle_since{};
    int requests = 0;  // served on this connection so far
};

}  // namespace vow::http::detail
