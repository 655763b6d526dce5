// What a request may be told: timeouts, a minimum speed, redirects, body
// limits, progress, resume and checksum. Defaults are finite: no request can
// hang forever.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vow/http/time_limit.hpp"
#include "vow/retry.hpp"

namespace vow::http {

// A snapshot of a transfer's body bytes (never header or chunk framing).
struct progress {
    std::uint64_t received = 0;              // body bytes of this file so far, resumed part included
    std::optional<std::uint64_t> total;      // full size when the server said it
    double bytes_per_second = 0;             // over this attempt
};

// download(): what happens to a file already at the final path (anything
// there: a symlink or a folder counts too).
enum class existing_file_policy {
    replace,  // the new download replaces it (a symlink there is a file_error)
    // It is never touched. When it is already complete (a HEAD answers with
    // its size and, when one was recorded at completion, its validator: see
    // is_complete_copy in client.hpp) the download is skipped and its
    // download_result says already_complete; otherwise the new file is
    // saved as NAME.1, NAME.2, ... (the first name with nothing there), as wget.
    keep,
    fail,  // file_error (file exists) before anything is sent (unless path_known_free)
    // With keep and fail, a file that appears at the path while the download
    // runs is not replaced either: file_error (file exists), and the
    // download stays as path.part, to complete once the name is free. A
    // retry looks first: it fails so at once, without fetching the rest.
};

struct request_options {
    using duration = std::chrono::steady_clock::duration;

    std::string method = "GET";
    std::string body;  // sent as-is; set Content-Type in `headers`
    // Sent in order; a name given twice is sent twice (as curl does), except
    // the fields the client sets itself (Host, User-Agent, Accept-Encoding,
    // Authorization, Content-Length, Transfer-Encoding, Connection): for those
    // the last one given replaces the client's. Credentials (Authorization,
    // Proxy-Authorization, Cookie) are not sent to another origin after a redirect.
    std::vector<std::pair<std::string, std::string>> headers;

    // Time limits saturate (vow/http/time_limit.hpp): a huge value such as
    // std::chrono::seconds::max() means no limit to speak of (about 100
    // years), never an overflow; a negative one is zero.
    time_limit connect_timeout = std::chrono::seconds(10);  // resolve + TCP connect + TLS handshake
    time_limit idle_timeout = std::chrono::seconds(30);     // no byte sent or received for this long
    time_limit total_timeout = std::chrono::hours(1);       // the whole request, redirects included, from its first connection slot

    // The minimum-speed guard (curl's -Y / -y): the body fails with
    // timeout_error when fewer than low_speed_limit bytes per second came over
    // a window of low_speed_time (time spent waiting for a busy sink is left
    // out). 0 (the default) turns it off.
    std::uint64_t low_speed_limit = 0;
    time_limit low_speed_time = std::chrono::seconds(30);

    int max_redirects = 10;
    bool allow_https_to_http = false;

    // get(): a body larger than this fails with body_limit_error.
    std::uint64_t max_body_size = 64ull << 20;
    // Every call: a file larger than this (a resumed part included) fails with
    // body_limit_error: at once when the response announces its length, else
    // (chunked, or read to close) as soon as the body grows past it. Unset: no cap.
    std::optional<std::uint64_t> max_download_size;

    // Ask for a compressed body and decode it (curl's --compressed): the
    // request sends Accept-Encoding: gzip, deflate, and a response with
    // Content-Encoding gzip or deflate (zlib-wrapped or raw) is inflated as it
    // comes; identity or none is taken as is. What get(), download() and
    // stream() deliver, what progress and sizes count, and what
    // max_body_size / max_download_size bound are the decoded bytes (so a
    // decompression bomb stops at the cap); the Content-Length is then the
    // encoded size, so progress::total stays unset. Another coding (br, or
    // two of them) fails with unsupported_encoding_error; a corrupt or cut
    // stream with protocol_error. download() does not resume while decoding
    // (a Range would count encoded bytes): an existing .part is replaced, and
    // a retry starts over. Off: Accept-Encoding: identity, the body as sent.
    bool decode_content = false;

    // Called on the client's executor a few times a second, and once at the end.
    std::function<void(const progress&)> on_progress;
    time_limit progress_interval = std::chrono::milliseconds(250);

    // download(): continue an existing `path.part` with Range/If-Range.
    bool resume = true;
    // download(): the caller knows there is no `path.part` as the call
    // starts (it has just read the folder): the first attempt does not look
    // for one, a lookup that costs a search of the folder. A retry looks as
    // usual, as does a download that if_exists = keep sends to a numbered
    // name; ignored with segments > 1 (a split always looks). A .part there
    // after all is not resumed: it is left beside the file or replaced.
    bool part_known_absent = false;
    // download(): a file already at `path`. The default replaces it.
    existing_file_policy if_exists = existing_file_policy::replace;
    // download(): the caller has just made sure nothing is at `path` (it
    // chose the name from a listing of the folder): if_exists = fail or keep
    // does not look again as the call starts. The end still never replaces
    // a file that is there by then.
    bool path_known_free = false;
    // download(): fetch one large file as this many byte ranges over as many
    // connections at once (aria2's -s/-x), written in place into the same
    // .part. Only when the server answers HEAD with Accept-Ranges: bytes, a
    // Content-Length, and an ETag or Last-Modified (every range is asked with
    // If-Range, and a 206 of another validator stops the split), and the file
    // is at least two ranges of 1 MiB (fewer ranges for a smaller file);
    // otherwise, and always with decode_content, one connection as usual. A
    // range answered 200 (the server ignored it, or the file changed) makes
    // the download start over on one connection. Each range is retried and
    // resumed on its own (`retry`), and .part.meta records each range's
    // progress, so an interrupted split resumes exactly (with segments > 1;
    // with 1, such a .part is replaced). Ranges count against
    // max_connections_per_host and share max_bytes_per_second; progress
    // counts all of them; max_download_size is checked against the length
    // first; low_speed_limit applies to each connection. Helps when each
    // connection is slow (a per-connection rate limit, a long round trip),
    // not on loopback or when the disk is the bottleneck. 0 is a usage_error.
    int segments = 1;
    // download(): hex SHA-256 the finished file must have before it is renamed.
    std::optional<std::string> sha256;

    // When set, the request is retried by vow::retry with this policy; build
    // one with http::retry_policy(). Each retry of a download resumes.
    std::optional<vow::retry_policy> retry;
};

}  // namespace vow::http
