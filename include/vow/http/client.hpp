// vow::http::client: HTTP/1.1 and HTTPS on Boost.Beast, returning vow futures.
// It owns its I/O thread(s) and a keep-alive connection pool; every future it
// returns completes on the executor the user picked, never on an I/O thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vow/executor.hpp"
#include "vow/future.hpp"
#include "vow/http/errors.hpp"
#include "vow/http/headers.hpp"
#include "vow/http/options.hpp"
#include "vow/http/proxy.hpp"
#include "vow/http/time_limit.hpp"
#include "vow/timer.hpp"

namespace vow::http {

namespace detail {
class client_core;
class new_file_stock;
}

struct response {
    unsigned status = 0;
    std::string reason;
    header_map headers;
    std::string body;
    std::string url;  // after redirects
};

struct download_result {
    std::filesystem::path path;       // the final file
    std::uint64_t size = 0;           // its size in bytes
    std::uint64_t transferred = 0;    // body bytes received by the attempt that finished it
    std::uint64_t resumed_from = 0;   // bytes already in .part when the last attempt started
    unsigned status = 0;              // 200, 206, or 416 for an already complete file
    std::string url;                  // after redirects
    std::optional<std::string> sha256;  // hex, when one was asked for
    header_map headers;               // of the response that completed the file (e.g. Content-Disposition)
    // existing_file_policy::keep found the file at `path` complete: nothing
    // was downloaded (status and headers are the HEAD's).
    bool already_complete = false;
};

// The result of streaming a body to a sink.
struct stream_result {
    unsigned status = 0;
    header_map headers;
    std::uint64_t size = 0;
    std::string url;
};

struct tls_options {
    bool verify_peer = true;              // system CAs + host name verification
    std::optional<std::string> ca_file;   // PEM file of extra trusted CAs
    std::optional<std::string> ca_pem;    // the same, given in memory
    bool insecure = false;                // skip verification: for tests only
};

struct client_options {
    int io_threads = 1;
    executor* completion_executor = nullptr;  // default: vow::default_executor()
    timer* retry_timer = nullptr;             // backoffs of options.retry; default: vow::default_timer()
    tls_options tls;
    // No proxy by default, whatever the environment says; opt in with
    // proxy_settings::from_environment() (vow/http/proxy.hpp). A proxy URL
    // vow cannot use makes the constructor throw invalid_url.
    proxy_settings proxy;
    std::size_t max_connections = 64;         // in flight, all hosts together
    std::size_t max_connections_per_host = 8;
    std::size_t max_idle_per_host = 0;        // kept alive per origin, all I/O threads; 0: max_connections_per_host
    time_limit idle_keep_alive = std::chrono::seconds(30);  // a pooled connection idle longer is closed (saturates)
    std::string user_agent = "vow-http/0.1";
    // A cap on the body bytes per second of all the client's requests
    // together (curl's --limit-rate, but for the whole client): the requests
    // in flight share it fairly, each read taking its turn, and a request
    // that must wait sleeps on a timer of its I/O thread. Bytes are counted
    // as they come off the connection (before any decoding). Waiting for the
    // cap is not idleness: the idle timeout counts only time spent in a read.
    // Unset or 0: no cap (0 as in curl).
    std::optional<std::uint64_t> max_bytes_per_second;
    request_options defaults;                 // used by the overloads without options
};

// One entry of download_all().
struct batch_item {
    std::string url;
    std::filesystem::path path;  // empty: the URL's last path segment, in the folder
};

// What client::make_files_ahead returns. While it lives, the client makes
// new files for downloads into its folder ahead of need; dropping it (or
// moving another into it) stops that and closes the files made and not
// taken, which, unnamed, leave nothing on disk. An empty one does nothing.
class files_made_ahead {
public:
    files_made_ahead() noexcept;
    files_made_ahead(files_made_ahead&&) noexcept;
    files_made_ahead& operator=(files_made_ahead&&) noexcept;
    ~files_made_ahead();
    // Whether files are being made ahead (false: an empty one).
    bool active() const noexcept { return stock_ != nullptr; }

private:
    friend class client;
    files_made_ahead(std::shared_ptr<detail::client_core> core, std::shared_ptr<detail::new_file_stock> stock) noexcept;
    void release() noexcept;
    std::shared_ptr<detail::client_core> core_;
    std::shared_ptr<detail::new_file_stock> stock_;
};

class client {
public:
    explicit client(client_options options = {});
    // Cancels what is in flight (their futures fail with cancelled_error) and
    // joins the I/O threads. Requests started later (a retry's next attempt)
    // fail at once with cancelled_error. Run on one of its own I/O threads
    // (a continuation under an inline completion executor), it returns at
    // once and a thread of the library's does that (joined at exit); other
    // requests' callbacks may run until it has.
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // The response with its body in memory (at most options.max_body_size).
    // Non-2xx fails with status_error.
    future<response> get(const std::string& url);
    future<response> get(const std::string& url, request_options options);

    // Streams the body to `path`.part, then renames it to `path`. Resumes an
    // existing .part when options.resume; the .part stays on failure or cancel.
    future<download_result> download(const std::string& url, std::filesystem::path path);
    future<download_result> download(const std::string& url, std::filesystem::path path,
                                     request_options options);

    // Body bytes go to `sink`, in order, on the completion executor, one call at
    // a time; the next read waits for the sink, so memory stays bounded. A sink
    // that throws fails the request with that exception.
    using sink = std::function<void(std::span<const char>)>;
    future<stream_result> stream(const std::string& url, sink body_sink);
    future<stream_result> stream(const std::string& url, sink body_sink, request_options options);

    // Downloads every item into `folder`, at most max_connections in flight and
    // max_connections_per_host per host; one result per item, in input order.
    future<std::vector<result<download_result>>> download_all(std::vector<batch_item> items,
                                                              std::filesystem::path folder,
                                                              request_options options);

    // Says that about `count` new files are to be downloaded into `folder`
    // (a batch). Until the handle is dropped, a thread of the client's
    // makes up to 32 of them ahead (unnamed, O_TMPFILE: nothing shows in the
    // folder), and a download into `folder` that starts a small new file
    // (at most 1 MiB, its length known) takes one instead of making its own.
    // Where making a file is dear (ext4 without a journal, soon after many
    // deletes) that keeps the creates on one CPU, alongside the network,
    // instead of contending from every I/O thread. Fewer than 16 files, or
    // no O_TMPFILE there, and nothing is made ahead. download_all does it
    // for its folder.
    [[nodiscard]] files_made_ahead make_files_ahead(std::filesystem::path folder, std::size_t count);

    executor& completion_executor() noexcept;
    const client_options& options() const noexcept;

private:
    std::shared_ptr<detail::client_core> core_;
};

// `url` with the password of a user:password@ replaced by "***": what may be
// printed or logged. Every URL the library puts in a message or a result is
// already redacted; the password is sent only as Basic authentication.
std::string redacted_url(const std::string& url);

// Whether `file` already holds the whole body a 2xx response to a HEAD (or
// GET) for it describes, checked without the body: it is a regular file (not
// a symlink) of the response's Content-Length and, when download() recorded
// a validator on it at completion (the ETag, else Last-Modified, kept in
// the extended attribute user.vow.validator), the response's validator is
// the same. A file with no record (made by other means, a copy, a file system
// without user extended attributes) is checked by its size alone.
bool is_complete_copy(const std::filesystem::path& file, const header_map& response_headers);

// The longest name file_name_for() returns, in bytes: room is left under the
// usual 255-byte limit for ".part.meta" and a ".N" suffix.
inline constexpr std::size_t max_file_name_bytes = 240;

// The file name wget would use: the URL's last path segment, or "index.html".
// A longer name than max_file_name_bytes is shortened: its start, "~" and 12
// hex digits of a hash of the whole name, then its extension (when at most
// 16 bytes), so two long names stay distinct.
std::string file_name_for(const std::string& url);

}  // namespace vow::http
