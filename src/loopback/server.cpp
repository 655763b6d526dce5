// The loopback server (vow::http_loopback): the accept loops, one session per
// connection, the routes and the fault injection. See
// include/vow/http/loopback_server.hpp for the routes.
//
// Details the header leaves open, fixed here:
// - Every response carries "Server: vow-loopback" and Content-Length (or
//   Transfer-Encoding: chunked for /bytes/N?chunked=1); 204 and 304 carry neither.
// - /bytes/N sends ETag "n-N" (with the quotes; "S" with ?etag=S), Last-Modified
//   "Wed, 21 Oct 2015 07:28:00 GMT" and Accept-Ranges: bytes. A Range the server
//   does not serve (several ranges, malformed, last < first) is ignored: 200.
//   If-Range matching neither the ETag nor Last-Modified also gives 200.
// - A fault (stall_after, reset_after, short_after; the first one present in
//   that order: reset, short, stall) counts bytes of the body actually sent in
//   this response (after Range) and applies only when K < that length. With
//   chunked=1 the bytes are payload bytes and the last chunk is never sent.
// - ?key=S counts the request under S on every route. ?fail=M or ?faults=M
//   without ?key count under the empty key "".
// - ?fail=M answers the first M requests with ?status=C (default 503), the body
//   "injected failure\n" and, when ?retry_after=R is given, Retry-After: R.
// - Redirects (302 unless /redirect-code/C) have an empty body. ?to=T is
//   percent-decoded; it defaults to "/bytes/16".
//     /redirect/N?to=T   N > 0: Location: /redirect/<N-1>?to=<T percent-encoded>
//                        N == 0: Location: T
//     /redirect-relative?to=T  Location: T without its leading '/' characters,
//                        e.g. to=/bytes/10 gives "Location: bytes/10", which
//                        resolves against /redirect-relative to /bytes/10.
//     /redirect-loop     Location: /redirect-loop
//     /to-http?to=T      Location: http://127.0.0.1:<http_port>T
// - /garbage writes "HTTP/1.1 abc garbage\r\n\r\n" and a line of text, then
//   closes (TLS: after close_notify).
// - /big-headers: 200 with one header "X-Big: " of 1 MiB of 'x', empty body.
// - /echo-headers: the request's raw header block, byte for byte (request line
//   included, up to and including the blank line), as text/plain.
// - A request the parser rejects (or a header block over 64 KiB, a body over
//   1 MiB) closes the connection without an answer.
//
// Threads: `options.threads` threads run one io_context. Each connection lives
// on its own strand, so a session's handlers never run concurrently. Shared
// state: the per-key counters (mutex) and the connection counter (atomic).
// The destructor stops the io_context, joins the threads and then destroys it,
// which destroys every pending handler and with it every session and socket.
#include "vow/http/loopback_server.hpp"

#include "encoding.hpp"
#include "request.hpp"
#include "tls.hpp"
#include "../support/thread_name.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace vow::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace loopback_detail;

// The body pattern repeats every 65521 bytes: a prime, so no power-of-two
// offset error (a lost 4 KiB page, a shifted 256-byte block) can go unseen.
constexpr std::uint64_t pattern_period = 65521;
// Largest body write; the precomputed pattern holds one period plus this, so
// a slice starting anywhere in the period is contiguous.
constexpr std::size_t max_slice = 512 * 1024;
constexpr std::string_view last_modified = "Wed, 21 Oct 2015 07:28:00 GMT";
constexpr std::string_view default_redirect_target = "/bytes/16";
constexpr std::size_t request_header_limit = 64 * 1024;
constexpr std::uint64_t request_body_limit = 1024 * 1024;
constexpr std::size_t request_buffer_limit = request_header_limit + request_body_limit + 64 * 1024;

// ?rate=B sends rate_slice(B) bytes every rate_tick(B): B/10 bytes every
// 100 ms, or for B < 10 one byte every 1/B seconds.
constexpr std::uint64_t rate_slice(std::uint64_t rate) noexcept { return rate >= 10 ? rate / 10 : 1; }
constexpr std::chrono::milliseconds rate_tick(std::uint64_t rate) noexcept {
    return std::chrono::milliseconds(rate >= 10 ? 100 : static_cast<std::chrono::milliseconds::rep>(1000 / rate));
}

// A 64-bit finaliser (splitmix64's) over the position in the period.
constexpr char pattern_byte(std::uint64_t j) noexcept {
    std::uint64_t x = j + 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return static_cast<char>(static_cast<unsigned char>(x & 0xff));
}

// One period plus max_slice bytes, built once on first use.
const std::vector<char>& pattern() {
    static const std::vector<char> table = [] {
        std::vector<char> bytes(pattern_period + max_slice);
        for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = pattern_byte(i % pattern_period);
        return bytes;
    }();
    return table;
}

std::string reason_of(unsigned code) {
    auto status = bhttp::int_to_status(code);
    if (status == bhttp::status::unknown) return "Status";
    auto reason = bhttp::obsolete_reason(status);
    return std::string(reason.data(), reason.size());
}

std::string_view trim(std::string_view text) noexcept {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

std::string_view to_view(beast::string_view text) noexcept { return {text.data(), text.size()}; }

std::string to_hex(std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    do {
        out.insert(out.begin(), digits[n & 0xf]);
        n >>= 4;
    } while (n != 0);
    return out;
}

}  // namespace

namespace {

// What sessions share with the server object (and its public accessors).
struct server_state {
    // The 1-based number of this request among those with `key` (any thread).
    std::size_t count_request(std::string_view key) {
        std::lock_guard lock(keys_mutex);
        auto it = key_counts.find(key);
        if (it == key_counts.end()) it = key_counts.emplace(std::string(key), 0).first;
        return ++it->second;
    }
    // Body bytes of /bytes responses written for requests with ?key=S.
    void count_body_bytes(std::string_view key, std::uint64_t n) {
        std::lock_guard lock(keys_mutex);
        auto it = key_bytes.find(key);
        if (it == key_bytes.end()) it = key_bytes.emplace(std::string(key), 0).first;
        it->second += n;
    }
    std::uint64_t body_bytes_with_key(std::string_view key) const {
        std::lock_guard lock(keys_mutex);
        auto it = key_bytes.find(key);
        return it == key_bytes.end() ? 0 : it->second;
    }
    std::size_t requests_with_key(std::string_view key) const {
        std::lock_guard lock(keys_mutex);
        auto it = key_counts.find(key);
        return it == key_counts.end() ? 0 : it->second;
    }

    // Set before the threads start, read-only afterwards.
    unsigned short http_port = 0;
    unsigned short https_port = 0;
    std::string ca_pem;
    // Read by tests from any thread; seq_cst: a statistic read rarely, no hot path.
    std::atomic<std::size_t> connections{0};

    // Plain-HTTP connections this server ended by sending its FIN.
    void note_fin_sent() {
        {
            std::lock_guard lock(fins_mutex);
            ++fins_sent;
        }
        fins_changed.notify_all();
    }
    bool wait_for_fins_sent(std::size_t at_least, std::chrono::milliseconds bound) const {
        std::unique_lock lock(fins_mutex);
        return fins_changed.wait_for(lock, bound, [&] { return fins_sent >= at_least; });
    }
    std::size_t fins_sent_so_far() const {
        std::lock_guard lock(fins_mutex);
        return fins_sent;
    }

private:
    mutable std::mutex fins_mutex;
    mutable std::condition_variable fins_changed;
    std::size_t fins_sent = 0;  // guarded by fins_mutex

    mutable std::mutex keys_mutex;
    std::map<std::string, std::size_t, std::less<>> key_counts;  // guarded by keys_mutex
    std::map<std::string, std::uint64_t, std::less<>> key_bytes;  // guarded by keys_mutex
};

}  // namespace

class loopback_server::impl {
public:
    explicit impl(options opts);
    ~impl();

    // Declared before the io_context: sessions refer to it until they are gone.
    server_state state;

private:
    template <bool Tls>
    void accept(tcp::acceptor& acceptor);
    static unsigned short listen(tcp::acceptor& acceptor);

    // Declared before the io_context: TLS streams need it until they are gone.
    asio::ssl::context ssl_{asio::ssl::context::tls_server};
    asio::io_context ioc_;
    tcp::acceptor http_acceptor_{ioc_};
    tcp::acceptor https_acceptor_{ioc_};
    std::vector<std::thread> threads_;
};

namespace {

enum class fault_kind { none, stall, reset, truncate };

// What the body phase of a /bytes response sends.
struct body_plan {
    std::uint64_t first = 0;    // absolute offset of the first body byte
    std::uint64_t to_send = 0;  // body bytes to send before the fault (or all)
    std::uint64_t rate = 0;     // bytes per second; 0 is unlimited
    fault_kind fault = fault_kind::none;
    bool chunked = false;
    bool to_close = false;  // no length: the body ends when the connection closes
};

// What /chunked-framing sends after its head: one data chunk, then the last
// chunk's line with `ext_left` bytes of extension, then `trailer_left` bytes
// of trailer fields; written in pieces, so any size costs no memory.
struct framing_plan {
    std::uint64_t body = 0;
    std::uint64_t ext_left = 0;
    std::uint64_t trailer_left = 0;
    int stage = 0;  // 0: data chunk, 1: extension, 2: trailers, 3: done
};

// What happens once the response header (or small response) is written.
enum class then_do { next_request, send_body, send_framing, close_gracefully, wait_for_close };

// One connection. All handlers run on the socket's strand; the session lives
// as long as one of its handlers is pending.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
public:
    static constexpr bool is_tls = !std::is_same_v<Stream, tcp::socket>;

    template <class... Args>
    session(server_state& server, Args&&... stream_args)
        : server_(server),
          stream_(std::forward<Args>(stream_args)...),
          buffer_(request_buffer_limit),
          timer_(stream_.get_executor()) {}

    void start() {
        if constexpr (is_tls) {
            stream_.async_handshake(asio::ssl::stream_base::server,
                                    [self = this->shared_from_this()](const error_code& ec) {
                                        if (ec) return self->close();
                                        self->read_request();
                                    });
        } else {
            read_request();
        }
    }

private:
    tcp::socket& socket() { return beast::get_lowest_layer(stream_); }

    void read_request() {
        parser_.emplace();
        parser_->header_limit(request_header_limit);
        parser_->body_limit(request_body_limit);
        raw_header_.clear();
        header_captured_ = false;
        parse_buffered();
    }

    // Feeds what is buffered to the parser; reads more when it needs more.
    void parse_buffered() {
        while (buffer_.size() > 0) {
            error_code ec;
            auto used = parser_->put(buffer_.data(), ec);
            if (!header_captured_ && parser_->is_header_done()) {
                // The parser takes the whole header block in one put.
                raw_header_.assign(static_cast<const char*>(buffer_.data().data()), used);
                header_captured_ = true;
            }
            buffer_.consume(used);
            if (ec == bhttp::error::need_more) break;
            if (ec) return close();
            if (parser_->is_done()) return handle_request();
            if (used == 0) break;
        }
        auto room = buffer_.max_size() - buffer_.size();
        if (room == 0) return close();
        stream_.async_read_some(buffer_.prepare(std::min<std::size_t>(room, 64 * 1024)),
                                [self = this->shared_from_this()](const error_code& ec, std::size_t n) {
                                    if (ec) return self->close();
                                    self->buffer_.commit(n);
                                    self->parse_buffered();
                                });
    }

    void handle_request();
    void serve_bytes(std::string_view count_text, const query_params& query, std::size_t request_number);

    // --- building responses -------------------------------------------------

    void begin(unsigned code) {
        response_.clear();
        response_ += "HTTP/1.1 ";
        response_ += std::to_string(code);
        response_ += ' ';
        response_ += reason_override_ ? std::string_view(*reason_override_) : reason_of(code);
        reason_override_.reset();
        response_ += "\r\nServer: vow-loopback\r\n";
    }
    void field(std::string_view name, std::string_view value) {
        response_ += name;
        response_ += ": ";
        response_ += value;
        response_ += "\r\n";
    }
    void end_header() {
        if (!keep_alive_) field("Connection", "close");
        else if (http_10_) field("Connection", "keep-alive");
        response_ += "\r\n";
    }
    // A complete response with a small body, then the next request.
    void small_response(unsigned code, std::string_view body, std::string_view content_type = "text/plain") {
        begin(code);
        if (code != 204 && code != 304) {
            if (!body.empty()) field("Content-Type", content_type);
            field("Content-Length", std::to_string(body.size()));
        }
        end_header();
        if (!head_ && code != 204 && code != 304) response_ += body;
        write_response(then_do::next_request);
    }
    void redirect(unsigned code, std::string_view location) {
        begin(code);
        field("Location", location);
        field("Content-Length", "0");
        end_header();
        write_response(then_do::next_request);
    }

    void write_response(then_do next) { write_response_from(0, next); }

    // Writes response_ from `offset`: at once, or in split_-byte pieces (?split=N).
    void write_response_from(std::size_t offset, then_do next) {
        const std::size_t n = split_ > 0 ? std::min(split_, response_.size() - offset) : response_.size() - offset;
        asio::async_write(stream_, asio::buffer(response_.data() + offset, n),
                          [self = this->shared_from_this(), next, end = offset + n](const error_code& ec, std::size_t) {
                              if (ec) return self->close();
                              if (end < self->response_.size()) return self->write_response_from(end, next);
                              switch (next) {
                                  case then_do::next_request: return self->after_response();
                                  case then_do::send_body: return self->send_body();
                                  case then_do::send_framing: return self->send_framing();
                                  case then_do::close_gracefully: return self->close_gracefully();
                                  case then_do::wait_for_close: return self->wait_for_close();
                              }
                          });
    }

    // --- the body of /bytes -------------------------------------------------

    void send_body() {
        auto remaining = plan_.to_send - sent_;
        if (remaining == 0) return finish_body();
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, max_slice));
        if (plan_.rate != 0) n = static_cast<std::size_t>(std::min<std::uint64_t>(n, rate_slice(plan_.rate)));
        const char* data = pattern().data() + (plan_.first + sent_) % pattern_period;
        auto on_written = [self = this->shared_from_this(), n](const error_code& ec, std::size_t) {
            if (ec) return self->close();
            self->sent_ += n;
            if (self->body_key_) self->server_.count_body_bytes(*self->body_key_, n);
            if (self->plan_.rate != 0 && self->sent_ < self->plan_.to_send) {
                self->timer_.expires_after(rate_tick(self->plan_.rate));
                self->timer_.async_wait([self](const error_code& wait_ec) {
                    if (wait_ec) return self->close();
                    self->send_body();
                });
                return;
            }
            self->send_body();
        };
        if (plan_.chunked) {
            chunk_prefix_ = to_hex(n) + "\r\n";
            std::array<asio::const_buffer, 3> buffers{asio::buffer(chunk_prefix_), asio::buffer(data, n),
                                                      asio::buffer("\r\n", 2)};
            asio::async_write(stream_, buffers, std::move(on_written));
        } else {
            asio::async_write(stream_, asio::buffer(data, n), std::move(on_written));
        }
    }

    void finish_body() {
        switch (plan_.fault) {
            case fault_kind::none:
                if (plan_.chunked) {
                    response_ = "0\r\n\r\n";
                    return write_response(then_do::next_request);
                }
                if (plan_.to_close) return close_gracefully();
                return after_response();
            case fault_kind::stall: return wait_for_close();
            case fault_kind::reset: return reset();
            case fault_kind::truncate: return close_gracefully();
        }
    }

    // --- /chunked-framing ------------------------------------------------------

    void send_framing() {
        constexpr std::uint64_t piece = 64 * 1024;
        auto& f = framing_;
        response_.clear();
        switch (f.stage) {
            case 0:
                if (f.body > 0) {
                    response_ = to_hex(static_cast<std::size_t>(f.body)) + "\r\n";
                    response_.append(pattern().data(), static_cast<std::size_t>(f.body));
                    response_ += "\r\n";
                }
                response_ += f.ext_left > 0 ? "0;x=" : "0";
                f.stage = 1;
                break;
            case 1:
                if (f.ext_left > 0) {
                    auto n = std::min(f.ext_left, piece);
                    response_.assign(static_cast<std::size_t>(n), 'e');
                    f.ext_left -= n;
                    break;
                }
                response_ = "\r\n";
                f.stage = 2;
                break;
            case 2:
                // Fields of up to 1 KiB ("X-Pad: ppp...\r\n"), never shorter than 10 bytes.
                while (f.trailer_left > 0 && response_.size() < piece) {
                    auto line = std::max<std::uint64_t>(std::min<std::uint64_t>(f.trailer_left, 1024), 10);
                    response_ += "X-Pad: ";
                    response_.append(static_cast<std::size_t>(line - 9), 'p');
                    response_ += "\r\n";
                    f.trailer_left -= std::min(line, f.trailer_left);
                }
                if (response_.empty()) {
                    response_ = "\r\n";
                    f.stage = 3;
                    return write_response(then_do::next_request);
                }
                break;
        }
        write_response(then_do::send_framing);
    }

    // --- endings --------------------------------------------------------------

    void after_response() {
        if (keep_alive_ && !drop_after_response_) return read_request();
        close_gracefully();
    }

    // Reads and discards until the peer closes (or the server stops).
    void wait_for_close() {
        stream_.async_read_some(asio::buffer(drain_),
                                [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                                    if (ec) return self->close();
                                    self->wait_for_close();
                                });
    }

    void close_gracefully() {
        if constexpr (is_tls) {
            // close_notify, then wait for the peer's (or its close).
            stream_.async_shutdown([self = this->shared_from_this()](const error_code&) { self->close(); });
        } else {
            error_code ignored;
            socket().shutdown(tcp::socket::shutdown_send, ignored);
            server_.note_fin_sent();
            wait_for_close();
        }
    }

    void reset() {
        error_code ignored;
        socket().set_option(asio::socket_base::linger(true, 0), ignored);
        socket().close(ignored);
    }

    void close() {
        error_code ignored;
        timer_.cancel();
        socket().close(ignored);
    }

    server_state& server_;  // outlives every session (see the file comment)
    Stream stream_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    std::string raw_header_;  // the current request's header block, byte for byte
    std::optional<std::string> reason_override_;  // /status/C?reason=R: the next response's reason phrase
    bool header_captured_ = false;
    bool keep_alive_ = false;
    bool http_10_ = false;
    bool head_ = false;
    std::size_t split_ = 0;  // ?split=N: write response_ in N-byte pieces (0: at once)
    bool drop_after_response_ = false;  // ?drop_after_response=1: close although keep-alive was announced
    std::string response_;      // the header (or whole small response) being written
    std::string chunk_prefix_;  // the size line of the chunk being written
    body_plan plan_;
    framing_plan framing_;
    std::uint64_t sent_ = 0;
    std::optional<std::string> body_key_;  // ?key= of the /bytes response being sent
    asio::steady_timer timer_;
    std::array<char, 4096> drain_{};
};

template <class Stream>
void session<Stream>::handle_request() {
    const auto& request = parser_->get();
    keep_alive_ = request.keep_alive();
    http_10_ = request.version() == 10;
    head_ = request.method() == bhttp::verb::head;

    std::string_view target = to_view(request.target());
    auto question = target.find('?');
    std::string_view path = target.substr(0, question);
    query_params query(question == std::string_view::npos ? std::string_view{} : target.substr(question + 1));

    drop_after_response_ = query.text("drop_after_response").value_or("") == "1";
    split_ = static_cast<std::size_t>(std::min<std::uint64_t>(query.number("split").value_or(0), max_slice));

    std::size_t request_number = 0;
    if (auto key = query.text("key"); key || query.has("fail") || query.has("faults"))
        request_number = server_.count_request(key.value_or(std::string{}));

    auto rest_after = [&](std::string_view prefix) -> std::optional<std::string_view> {
        if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
        return path.substr(prefix.size());
    };
    auto redirect_target = [&] { return query.text("to").value_or(std::string(default_redirect_target)); };

    if (auto count = rest_after("/bytes/")) return serve_bytes(*count, query, request_number);
    if (auto code_text = rest_after("/status/")) {
        auto code = parse_uint(*code_text);
        if (!code || *code < 200 || *code > 999) return small_response(400, "bad status\n");
        if (auto reason = query.text("reason")) {
            // Any bytes a hostile server might send, except those that end the line.
            std::erase_if(*reason, [](char c) { return c == '\r' || c == '\n'; });
            reason_override_ = std::move(*reason);
        }
        return small_response(static_cast<unsigned>(*code), "");
    }
    if (auto hops_text = rest_after("/redirect/")) {
        auto hops = parse_uint(*hops_text);
        if (!hops) return small_response(404, "not found\n");
        auto to = redirect_target();
        if (*hops == 0) return redirect(302, to);
        return redirect(302, "/redirect/" + std::to_string(*hops - 1) + "?to=" + percent_encode(to));
    }
    if (auto code_text = rest_after("/redirect-code/")) {
        auto code = parse_uint(*code_text);
        if (!code || *code < 300 || *code > 399) return small_response(400, "bad redirect status\n");
        return redirect(static_cast<unsigned>(*code), redirect_target());
    }
    if (path == "/redirect-relative") {
        auto to = redirect_target();
        auto start = to.find_first_not_of('/');
        return redirect(302, start == std::string::npos ? std::string{} : to.substr(start));
    }
    if (path == "/redirect-loop") return redirect(302, "/redirect-loop");
    if (path == "/to-http")
        return redirect(302, "http://127.0.0.1:" + std::to_string(server_.http_port) + redirect_target());
    if (path == "/garbage") {
        response_ = "HTTP/1.1 abc garbage\r\n\r\nthis is not an HTTP response\r\n";
        return write_response(then_do::close_gracefully);
    }
    if (path == "/big-headers") {
        begin(200);
        field("X-Big", std::string(1024 * 1024, 'x'));
        field("Content-Length", "0");
        end_header();
        return write_response(then_do::next_request);
    }
    if (auto count_text = rest_after("/informational/")) {
        // K interim responses, then 200 with /bytes/N's first N bytes.
        auto count = parse_uint(*count_text);
        auto code = query.number("code").value_or(103);
        if (!count || code < 100 || code > 199) return small_response(400, "bad interim response\n");
        const auto length = std::min<std::uint64_t>(query.number("body").value_or(16), max_slice);
        std::string interim;
        for (std::uint64_t i = 0; i < std::min<std::uint64_t>(*count, 1000); ++i) {
            interim += "HTTP/1.1 " + std::to_string(code) + " " +
                       (code == 103 ? std::string("Early Hints") : reason_of(static_cast<unsigned>(code))) + "\r\n";
            if (code == 103) interim += "Link: </style.css>; rel=preload; as=style\r\n";
            interim += "\r\n";
        }
        begin(200);
        field("Content-Type", "application/octet-stream");
        field("Content-Length", std::to_string(length));
        end_header();
        response_ = interim + response_;
        if (!head_) response_.append(pattern().data(), static_cast<std::size_t>(length));
        return write_response(then_do::next_request);
    }
    if (path == "/chunked-framing") {
        framing_ = framing_plan{};
        framing_.body = std::min<std::uint64_t>(query.number("body").value_or(16), max_slice);
        framing_.ext_left = query.number("ext").value_or(0);
        framing_.trailer_left = query.number("trailer").value_or(0);
        begin(200);
        field("Content-Type", "application/octet-stream");
        field("Transfer-Encoding", "chunked");
        end_header();
        if (head_) return write_response(then_do::next_request);
        return write_response(then_do::send_framing);
    }
    if (path == "/partial") {
        // 206 whatever was asked: Content-Range as given, K bytes of the
        // pattern from `first` (default: the whole range).
        const auto first = query.number("first").value_or(0);
        const auto last = query.number("last").value_or(first + 15);
        if (last < first) return small_response(400, "bad range\n");
        const auto send = std::min<std::uint64_t>(query.number("send").value_or(last - first + 1), max_slice);
        auto total = query.text("total").value_or(std::to_string(last + 1));
        plan_ = body_plan{};
        sent_ = 0;
        plan_.first = first;
        plan_.to_send = head_ ? 0 : send;
        plan_.chunked = query.text("chunked").value_or("") == "1";
        begin(206);
        field("Content-Type", "application/octet-stream");
        field("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + total);
        if (plan_.chunked) field("Transfer-Encoding", "chunked");
        else field("Content-Length", std::to_string(send));
        end_header();
        if (head_) return write_response(then_do::next_request);
        return write_response(then_do::send_body);
    }
    if (path == "/long-reason") {
        auto length = std::min<std::uint64_t>(query.number("length").value_or(2000), 60 * 1024);
        response_ = "HTTP/1.1 200 " + std::string(static_cast<std::size_t>(length), 'r') +
                    "\r\nServer: vow-loopback\r\nContent-Length: 0\r\n";
        if (!keep_alive_) response_ += "Connection: close\r\n";
        response_ += "\r\n";
        return write_response(then_do::next_request);
    }
    if (path == "/long-location") {
        auto length = std::min<std::uint64_t>(query.number("length").value_or(10000), 60 * 1024);
        return redirect(302, "/bytes/16?pad=" + std::string(static_cast<std::size_t>(length), 'a'));
    }
    if (auto count_text = rest_after("/encoded/")) {
        // /bytes/N's body (or N zeros) compressed; see encoding.hpp.
        auto size = parse_uint(*count_text);
        const bool zeros = query.text("zeros").value_or("") == "1";
        if (!size || *size > (zeros ? (1ull << 30) : std::uint64_t{8} << 20))
            return small_response(400, "bad encoded body size\n");
        encoding_request asked;
        asked.coding = query.text("coding").value_or("gzip");
        asked.size = *size;
        asked.zeros = zeros;
        asked.corrupt = query.text("corrupt").value_or("") == "1";
        auto encoded = encode_body(asked, zeros ? std::string() : loopback_server::body(*size));
        if (auto cut = query.number("cut")) encoded.bytes.resize(std::min<std::size_t>(encoded.bytes.size(), *cut));
        const bool chunked = query.text("chunked").value_or("") == "1";
        begin(200);
        field("Content-Type", "application/octet-stream");
        field("Content-Encoding", encoded.content_encoding);
        if (chunked) field("Transfer-Encoding", "chunked");
        else field("Content-Length", std::to_string(encoded.bytes.size()));
        end_header();
        if (!head_) {
            if (!chunked) {
                response_ += encoded.bytes;
            } else {
                char size_line[32];
                std::snprintf(size_line, sizeof size_line, "%zx\r\n", encoded.bytes.size());
                if (!encoded.bytes.empty()) response_ += size_line + encoded.bytes + "\r\n";
                response_ += "0\r\n\r\n";
            }
        }
        return write_response(then_do::next_request);
    }
    if (path == "/hang") return wait_for_close();
    if (path == "/echo-headers") return small_response(200, raw_header_);
    small_response(404, "not found\n");
}

template <class Stream>
void session<Stream>::serve_bytes(std::string_view count_text, const query_params& query,
                                  std::size_t request_number) {
    // "/bytes/N/NAME" serves the same N bytes under a file name of the test's choosing.
    count_text = count_text.substr(0, count_text.find('/'));
    auto size_opt = parse_uint(count_text);
    if (!size_opt) return small_response(404, "not found\n");
    const std::uint64_t size = *size_opt;
    const auto& request = parser_->get();

    if (auto fail = query.number("fail"); fail && request_number <= *fail) {
        auto code = query.number("status").value_or(503);
        if (code < 200 || code > 999) code = 503;
        begin(static_cast<unsigned>(code));
        if (auto retry_after = query.text("retry_after")) field("Retry-After", *retry_after);
        constexpr std::string_view body = "injected failure\n";
        field("Content-Type", "text/plain");
        field("Content-Length", std::to_string(body.size()));
        end_header();
        if (!head_) response_ += body;
        return write_response(then_do::next_request);
    }

    // ?etag=S: another version of the same bytes, as a changed file of the same size.
    std::string etag = "\"" + query.text("etag").value_or("n-" + std::to_string(size)) + "\"";
    if (auto after = query.number("etag_after"); after && request_number > *after)
        etag = "\"n-" + std::to_string(size) + "-changed\"";
    const bool ranges = query.text("ranges").value_or("1") != "0";
    range_request range;
    if (auto it = request.find(bhttp::field::range); ranges && it != request.end()) {
        bool honour = true;
        if (auto if_range = request.find(bhttp::field::if_range);
            if_range != request.end() && query.text("ignore_if_range").value_or("") != "1") {
            auto validator = trim(to_view(if_range->value()));
            honour = validator == etag || validator == last_modified;
        }
        if (honour) range = parse_range(to_view(it->value()), size);
    }
    if (range.kind == range_kind::unsatisfiable) {
        begin(416);
        field("Content-Range", "bytes */" + std::to_string(size));
        field("Content-Length", "0");
        end_header();
        return write_response(then_do::next_request);
    }
    const bool partial = range.kind == range_kind::satisfiable;
    const std::uint64_t first = partial ? range.range.first : 0;
    const std::uint64_t length = partial ? range.range.length : size;

    plan_ = body_plan{};
    sent_ = 0;
    body_key_ = query.text("key");
    plan_.first = first;
    plan_.to_send = head_ ? 0 : length;
    plan_.rate = query.number("rate").value_or(0);
    auto chunked_flag = query.text("chunked");
    plan_.chunked = chunked_flag && (*chunked_flag == "1" || *chunked_flag == "true");
    plan_.to_close = !plan_.chunked && query.text("to_close").value_or("") == "1";
    if (plan_.to_close) keep_alive_ = false;

    auto faults = query.number("faults");
    if (!head_ && (!faults || request_number <= *faults)) {
        std::optional<std::uint64_t> limit;
        if ((limit = query.number("reset_after"))) plan_.fault = fault_kind::reset;
        else if ((limit = query.number("short_after"))) plan_.fault = fault_kind::truncate;
        else if ((limit = query.number("stall_after"))) plan_.fault = fault_kind::stall;
        if (limit && *limit < length) plan_.to_send = *limit;
        else plan_.fault = fault_kind::none;
    }

    begin(partial ? 206 : 200);
    field("Content-Type", "application/octet-stream");
    if (ranges) field("Accept-Ranges", "bytes");
    field("ETag", etag);
    field("Last-Modified", last_modified);
    if (auto disposition = query.text("disposition")) {
        std::erase_if(*disposition, [](char c) { return c == '\r' || c == '\n'; });
        field("Content-Disposition", *disposition);
    }
    if (partial)
        field("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(first + length - 1) + "/" +
                                   std::to_string(size));
    if (plan_.chunked) field("Transfer-Encoding", "chunked");
    else if (!plan_.to_close) field("Content-Length", std::to_string(length));
    end_header();
    if (head_) {
        plan_.chunked = false;  // no body at all, not even the last chunk
        return write_response(then_do::next_request);
    }
    write_response(then_do::send_body);
}

}  // namespace

loopback_server::impl::impl(options opts) {
    // Built before any server thread can use it, so it also outlives a server
    // that is itself a static (destroyed in reverse order of construction).
    (void)pattern();
    if (opts.tls) {
        auto identity = make_identity(opts.certificate);
        state.ca_pem = identity.ca_pem;
        ssl_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
        ssl_.use_certificate_chain(asio::buffer(identity.certificate_pem));
        ssl_.use_private_key(asio::buffer(identity.private_key_pem), asio::ssl::context::pem);
    }
    state.http_port = listen(http_acceptor_);
    accept<false>(http_acceptor_);
    if (opts.tls) {
        state.https_port = listen(https_acceptor_);
        accept<true>(https_acceptor_);
    }
    const int thread_count = std::max(1, opts.threads);
    threads_.reserve(static_cast<std::size_t>(thread_count));
    for (int i = 0; i < thread_count; ++i) {
        threads_.emplace_back([this, i] {
            vow::detail::name_this_thread("vow-loopback", static_cast<std::size_t>(i));
            // A handler that throws (it should not) must not take the process down.
            for (;;) {
                try {
                    ioc_.run();
                    return;
                } catch (...) {
                }
            }
        });
    }
}

loopback_server::impl::~impl() {
    ioc_.stop();
    for (auto& thread : threads_) thread.join();
    // The members then go in reverse order: the acceptors, then the io_context,
    // whose destruction destroys the pending handlers and so every session.
}

unsigned short loopback_server::impl::listen(tcp::acceptor& acceptor) {
    tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), 0);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    return acceptor.local_endpoint().port();
}

template <bool Tls>
void loopback_server::impl::accept(tcp::acceptor& acceptor) {
    acceptor.async_accept(asio::make_strand(ioc_), [this, &acceptor](const error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        if (!ec) {
            state.connections.fetch_add(1);
            error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            if constexpr (Tls) {
                std::make_shared<session<asio::ssl::stream<tcp::socket>>>(state, std::move(socket), ssl_)->start();
            } else {
                std::make_shared<session<tcp::socket>>(state, std::move(socket))->start();
            }
        }
        accept<Tls>(acceptor);
    });
}

// --- loopback_server ---------------------------------------------------------

loopback_server::loopback_server() : loopback_server(options{}) {}
loopback_server::loopback_server(options opts) : impl_(std::make_unique<impl>(opts)) {}
loopback_server::~loopback_server() = default;

unsigned short loopback_server::http_port() const noexcept { return impl_->state.http_port; }
unsigned short loopback_server::https_port() const noexcept { return impl_->state.https_port; }

std::string loopback_server::http_url(std::string_view target) const {
    return "http://127.0.0.1:" + std::to_string(impl_->state.http_port) + std::string(target);
}
std::string loopback_server::https_url(std::string_view target) const {
    return "https://127.0.0.1:" + std::to_string(impl_->state.https_port) + std::string(target);
}

const std::string& loopback_server::ca_pem() const noexcept { return impl_->state.ca_pem; }

std::size_t loopback_server::requests_with_key(std::string_view key) const { return impl_->state.requests_with_key(key); }
std::uint64_t loopback_server::body_bytes_with_key(std::string_view key) const {
    return impl_->state.body_bytes_with_key(key);
}
std::size_t loopback_server::connections_accepted() const noexcept { return impl_->state.connections.load(); }

std::size_t loopback_server::fins_sent() const { return impl_->state.fins_sent_so_far(); }

bool loopback_server::wait_for_fins_sent(std::size_t at_least, std::chrono::milliseconds bound) const {
    return impl_->state.wait_for_fins_sent(at_least, bound);
}

char loopback_server::byte_at(std::uint64_t i) noexcept { return pattern_byte(i % pattern_period); }

std::string loopback_server::body(std::uint64_t n) {
    std::string out;
    out.reserve(static_cast<std::size_t>(n));
    const auto& table = pattern();
    std::uint64_t i = 0;
    while (i < n) {
        auto start = i % pattern_period;
        auto len = std::min<std::uint64_t>(n - i, pattern_period);
        out.append(table.data() + start, static_cast<std::size_t>(len));
        i += len;
    }
    return out;
}

}  // namespace vow::http
