// loopback_server: a Boost.Beast HTTP and HTTPS server on 127.0.0.1 that
// injects faults on demand. Tests, benchmarks and `vow-get --demo` use it.
// It binds port 0 (the OS picks) and generates its certificate at start-up
// (self-signed unless options.certificate says otherwise); trust it with ca_pem().
//
// Routes (every fault is chosen by the request, so one server serves all tests):
//   /bytes/N              N deterministic bytes (byte i == byte_at(i)); honours
//                         Range: bytes=a- and bytes=a-b (206, 416 past the end)
//                         and If-Range; sends ETag "n-N" and a fixed Last-Modified.
//     ?etag=S             sends ETag "S" instead (If-Range matches it): the
//                         same bytes as another version, e.g. a changed file
//                         of the same size
//     ?chunked=1          Transfer-Encoding: chunked instead of Content-Length
//     ?to_close=1         neither Content-Length nor chunked: the body ends
//                         when the server closes the connection
//     ?disposition=D      sends Content-Disposition: D (percent-decoded; CR and
//                         LF dropped), e.g. attachment; filename="a.txt"
//     ?rate=B             at most B body bytes per second (slow): B/10 bytes
//                         every 100 ms (B < 10: one byte every 1/B s)
//     ?stall_after=K      send K body bytes, then nothing (the connection stays open)
//     ?reset_after=K      send K body bytes, then reset the connection (RST)
//     ?short_after=K      announce the full length, send K bytes, close cleanly
//     ?ranges=0           no Accept-Ranges, and Range is ignored (always 200)
//     ?etag_after=M&key=S requests with this key after the first M get another
//                         ETag ("n-N-changed"): the file changed (If-Range
//                         naming the old one gets 200)
//     ?ignore_if_range=1  honour Range whatever If-Range says
//     ?faults=M&key=S     apply the stall/reset/short fault to the first M
//                         requests with this key only (default: every request)
//     ?fail=M&status=C&retry_after=R&key=S
//                         the first M requests with key S get status C (e.g. 503,
//                         429) with Retry-After: R (seconds) when R is given
//   /status/C             an empty response with status C (404, 500, ...)
//   /redirect/N?to=T      N redirects (302) in a chain, then Location: T:
//                         /redirect/N sends Location: /redirect/<N-1>?to=<T
//                         percent-encoded>; /redirect/0 sends Location: T.
//                         T is percent-decoded; every ?to= defaults to /bytes/16.
//   /redirect-code/C?to=T one redirect with status C (301, 303, 307, 308)
//   /redirect-relative?to=T  Location is a relative reference: T without its
//                         leading '/', e.g. to=/bytes/10 sends
//                         "Location: bytes/10" (resolves to /bytes/10)
//   /redirect-loop        redirects to itself forever
//   /to-http?to=T         (over HTTPS) redirects to http://127.0.0.1:<http_port>T
//   /garbage              a garbage status line, then close
//   /big-headers          a response whose header block is 1 MiB
//   /informational/K?code=C&body=N
//                         K interim responses with status C (default 103, with
//                         a Link field), then 200 with the first N bytes of
//                         /bytes/N's body (N defaults to 16)
//   /chunked-framing?body=N&ext=S&trailer=T
//                         chunked: one chunk of /bytes/N's first N bytes, then
//                         the last chunk with S bytes of chunk extension and
//                         T bytes of trailer fields (any size: sent in pieces)
//   /partial?first=A&last=B&total=T&send=K&chunked=1
//                         206 whatever the request asked, with Content-Range:
//                         bytes A-B/T (T may be *; default B+1) and K body
//                         bytes from offset A (default B-A+1); Content-Length
//                         K, or chunked
//   /long-reason?length=L 200 whose reason phrase is L bytes (default 2000)
//   /long-location?length=L  302 to /bytes/16?pad=<L bytes> (default 10000)
//   /encoded/N?coding=C   /bytes/N's first N bytes (N <= 8 MiB) compressed with zlib,
//                         with Content-Encoding: C for C = gzip (the default) or
//                         deflate (zlib-wrapped); raw-deflate sends a raw deflate
//                         stream as "deflate"; identity, or any other name (br),
//                         sends the body as is under that name
//     &zeros=1            N zero bytes instead (N <= 1 GiB): a decompression bomb
//     &corrupt=1          the compressed data's first byte is one no inflater takes
//     &cut=K              only the first K bytes of the encoded body (a cut stream
//                         with a consistent Content-Length)
//     &chunked=1          Transfer-Encoding: chunked instead of Content-Length
//   /hang                 reads the request and never answers
//   /echo-headers         200 with the request's header block as the body
// On any route:
//     ?split=N            write the head (and a small response's body, and
//                         /chunked-framing's pieces) N bytes at a time: the
//                         client parses it across many reads
//     ?drop_after_response=1  close the connection after the response although
//                         it was announced keep-alive (a pooled connection
//                         that has gone stale)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace vow::http {

class loopback_server {
public:
    // The HTTPS side's certificate, made at start-up: tests of what a client
    // says about a certificate it rejects (expired, unknown issuer).
    struct certificate_options {
        // false: self-signed, it is its own CA. true: signed by a separate CA
        // made alongside (valid from an hour ago for a day); the server sends
        // the leaf alone, and ca_pem() is that CA.
        bool signed_by_separate_ca = false;
        // The server certificate's validity, relative to start-up: negative
        // values are in the past (both negative: an expired certificate).
        std::chrono::seconds not_before = std::chrono::hours(-1);
        std::chrono::seconds not_after = std::chrono::hours(24);
    };

    struct options {
        bool tls = true;   // also listen for HTTPS on a second port
        int threads = 1;   // I/O threads of the server
        certificate_options certificate{};
    };

    loopback_server();
    explicit loopback_server(options opts);
    // Stops listening, closes every connection and joins the threads.
    ~loopback_server();
    loopback_server(const loopback_server&) = delete;
    loopback_server& operator=(const loopback_server&) = delete;

    unsigned short http_port() const noexcept;
    unsigned short https_port() const noexcept;  // 0 when options.tls is false
    // "http://127.0.0.1:<port>" + target; target starts with '/'.
    std::string http_url(std::string_view target) const;
    std::string https_url(std::string_view target) const;

    // The CA (PEM) to trust for the HTTPS side: the self-signed certificate it
    // presents, or the separate CA that signed it. The certificate names
    // 127.0.0.1 and localhost.
    const std::string& ca_pem() const noexcept;

    // Requests seen so far with ?key=S (faults and fail counters use the same count).
    std::size_t requests_with_key(std::string_view key) const;
    // Body bytes of /bytes responses written so far for requests with ?key=S
    // (what a resume must not fetch twice).
    std::uint64_t body_bytes_with_key(std::string_view key) const;
    // TCP connections accepted so far (both ports): tests of keep-alive reuse.
    std::size_t connections_accepted() const noexcept;
    // Plain-HTTP connections the server ended cleanly by sending its FIN
    // (close after a response, ?drop_after_response=1, ?short_after=K), and a
    // wait until at least `at_least` were: false if `bound` passed first.
    std::size_t fins_sent() const;
    bool wait_for_fins_sent(std::size_t at_least, std::chrono::milliseconds bound) const;

    // Byte i of every /bytes/N body, and the first n of them.
    static char byte_at(std::uint64_t i) noexcept;
    static std::string body(std::uint64_t n);

private:
    class impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace vow::http
