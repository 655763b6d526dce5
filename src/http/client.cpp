#include "vow/http/client.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include <sys/resource.h>

#include "client_impl.hpp"
#include "consumers.hpp"
#include "part_file.hpp"
#include "request.hpp"
#include "segmented_download.hpp"
#include "url.hpp"
#include "vow/bounded.hpp"
#include "vow/promise.hpp"
#include "vow/retry.hpp"

namespace vow::http {

namespace {

using detail::client_core;

// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 3.1).
bool is_scheme(std::string_view s) {
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (s.empty() || !alpha(s.front())) return false;
    return std::all_of(s.begin(), s.end(),
                       [&](char c) { return alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'; });
}

// Starts one request on an I/O worker; its deliver step completes the
// consumer's future on the user side.
template <class Result, class Consumer>
future<Result> start(const std::shared_ptr<client_core>& core, const std::string& url_text, request_options options,
                     std::unique_ptr<Consumer> consumer) {
    detail::target_url url;
    try {
        url = detail::parse_url(url_text);
    } catch (...) {
        return make_exceptional_future<Result>(std::current_exception()).via(core->completion_executor());
    }
    auto fut = consumer->get_future().via(core->completion_executor());
    auto place = core->pick_worker(core->proxies().pool_key(url));
    std::make_shared<detail::request_op>(detail::client_core::env_of(core), place.worker, place.promised, std::move(url),
                                         std::move(options), std::move(consumer))
        ->start();
    return fut;
}

// Wraps `attempt` in vow::retry when the options ask for it. Takes
// `options` over: the caller has no use for them after.
template <class Result, class Attempt>
future<Result> with_retry(client_core& core, request_options& options, Attempt attempt) {
    if (!options.retry) return attempt(std::move(options));
    auto policy = std::move(*options.retry);
    options.retry.reset();
    return vow::retry(
        std::move(policy),
        [attempt, options = std::move(options)]() mutable {
            auto attempted = attempt(options);
            options.part_known_absent = false;  // what held as the call started; a retry looks
            return attempted;
        },
        core.retry_timer(),
        core.completion_executor());
}

bool anything_at(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::symlink_status(p, ec).type() != std::filesystem::file_type::not_found;
}

// Whether a split left a .part of `url` at `path` (its meta has ranges):
// its bytes are not one prefix, so one connection resumes it range by range.
bool split_part_left(const std::filesystem::path& path, const std::string& url, const request_options& o) {
    if (o.segments != 1 || !o.resume || o.decode_content || o.part_known_absent) return false;
    try {
        auto meta = detail::part_file(path).stored_meta();
        return meta && !meta->ranges.empty() && meta->url == detail::redacted(url);
    } catch (...) {
        return false;  // the download itself meets what is wrong with it
    }
}

// One connection. Each attempt of a retried download resumes from the .part
// the last one left.
future<download_result> fetch_single(const std::shared_ptr<client_core>& core, const std::string& url,
                                     std::filesystem::path path, request_options options) {
    // A download that never replaces a file looks at the final name again
    // before each retry: a file that came there since the call began fails
    // it at once (the end would refuse it too, after the rest of the body).
    // The .part stays, to resume once the name is free.
    const bool never_replace = options.if_exists != existing_file_policy::replace;
    auto new_files = core->new_files().find(path.parent_path());
    return with_retry<download_result>(*core, options, [core, url, path, never_replace, new_files,
                                                        retry = false](request_options o) mutable {
        if (std::exchange(retry, true) && never_replace && anything_at(path)) {
            const std::string part = path.string() + ".part";
            return make_exceptional_future<download_result>(
                       detail::final_name_taken(path, anything_at(part) ? "the download is kept as " + part : ""))
                .via(core->completion_executor());
        }
        auto consumer = std::make_unique<detail::file_consumer>(
            path, detail::redacted(url), o.resume && !o.decode_content, o.sha256, o.part_known_absent,
            o.if_exists == existing_file_policy::replace);
        consumer->take_new_files_from(new_files);
        return start<download_result>(core, url, std::move(o), std::move(consumer));
    });
}

// Several ranges (segmented_download.hpp); it falls back to fetch_single.
future<download_result> fetch_split(const std::shared_ptr<client_core>& core, const std::string& url,
                                    std::filesystem::path path, request_options options) {
    detail::split_hooks hooks;
    hooks.start = [core](const std::string& u, request_options o, std::unique_ptr<detail::split_consumer> c) {
        return start<detail::split_outcome>(core, u, std::move(o), std::move(c));
    };
    hooks.single = [core, url, path](request_options o) {
        o.segments = 1;
        o.part_known_absent = false;  // the split may have made one
        return fetch_single(core, url, path, std::move(o));
    };
    return detail::segmented_download(*core, url, std::move(path), std::move(options), std::move(hooks));
}

future<download_result> fetch_to(const std::shared_ptr<client_core>& core, const std::string& url,
                                 std::filesystem::path path, request_options options) {
    if (options.segments < 1)
        return make_exceptional_future<download_result>(
                   std::make_exception_ptr(usage_error("vow::http: request_options::segments must be at least 1")))
            .via(core->completion_executor());
    if ((options.segments > 1 && !options.decode_content) || split_part_left(path, url, options))
        return fetch_split(core, url, std::move(path), std::move(options));
    return fetch_single(core, url, std::move(path), std::move(options));
}

// NAME.1, NAME.2, ...: the first with nothing there (its .part may be, and is resumed).
std::filesystem::path numbered_name(const std::filesystem::path& path) {
    for (int n = 1;; ++n) {
        auto candidate = path;
        candidate += "." + std::to_string(n);
        if (!anything_at(candidate)) return candidate;
    }
}

// existing_file_policy::keep: a HEAD tells whether the file there is already
// complete; if not (or the HEAD failed), the download goes to a numbered name.
future<download_result> keep_or_number(const std::shared_ptr<client_core>& core, const std::string& url,
                                       std::filesystem::path path, request_options options) {
    request_options head = options;
    head.method = "HEAD";
    head.body.clear();
    head.on_progress = nullptr;
    head.decode_content = false;  // the length as saved: the identity one
    auto check = with_retry<response>(*core, head, [core, url](request_options o) {
        // No body comes, and the Content-Length of any size is the answer, never over a limit.
        auto any_size = std::numeric_limits<std::uint64_t>::max();
        return start<response>(core, url, std::move(o), std::make_unique<detail::memory_consumer>(any_size));
    });
    return std::move(check).then_result(
        [core, url, path = std::move(path), options = std::move(options)](result<response> r) mutable {
            if (r.has_exception() && r.is_cancelled())
                return make_exceptional_future<download_result>(r.exception());
            if (r.has_value() && r.value().status / 100 == 2 && is_complete_copy(path, r.value().headers)) {
                download_result done;
                std::error_code ec;
                done.size = std::filesystem::file_size(path, ec);
                done.path = std::move(path);
                done.status = r.value().status;
                done.url = std::move(r.value().url);
                done.headers = std::move(r.value().headers);
                done.already_complete = true;
                return make_ready_future(std::move(done));
            }
            options.part_known_absent = false;  // it was said of `path`, not of the numbered name
            return fetch_to(core, url, numbered_name(path), std::move(options));
        });
}

future<download_result> start_download(const std::shared_ptr<client_core>& core, const std::string& url,
                                       std::filesystem::path path, request_options options) {
    if (options.if_exists == existing_file_policy::replace || options.path_known_free || !anything_at(path))
        return fetch_to(core, url, std::move(path), std::move(options));
    if (options.if_exists == existing_file_policy::fail)
        return make_exceptional_future<download_result>(
                   std::make_exception_ptr(file_error(std::make_error_code(std::errc::file_exists),
                                                      path.string() + " is already there (if_exists = fail)")))
            .via(core->completion_executor());
    return keep_or_number(core, url, std::move(path), std::move(options));
}

// FNV-1a, 64 bits: a stable short fingerprint (not a security measure).
std::uint64_t fingerprint(std::string_view text) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

// Keeps a name within max_file_name_bytes: its start, cut at a UTF-8
// character boundary, then "~" and 12 hex digits of a fingerprint of the
// whole name, then its extension when that is short. Two long names that
// differ anywhere stay distinct.
std::string shorten_file_name(std::string name) {
    if (name.size() <= max_file_name_bytes) return name;
    std::string extension;
    if (auto dot = name.rfind('.'); dot != std::string::npos && dot > 0 && name.size() - dot <= 16)
        extension = name.substr(dot);
    char tag[16];
    std::snprintf(tag, sizeof tag, "~%012llx",
                  static_cast<unsigned long long>(fingerprint(name) & 0xffffffffffffull));
    std::size_t keep = max_file_name_bytes - extension.size() - std::strlen(tag);
    // Do not cut a UTF-8 sequence: back up over continuation bytes (10xxxxxx).
    while (keep > 0 && (static_cast<unsigned char>(name[keep]) & 0xc0) == 0x80) --keep;
    return name.substr(0, keep) + tag + extension;
}

}  // namespace

client::client(client_options options) : core_(std::make_shared<client_core>(std::move(options))) {}

client::~client() {
    if (core_->on_an_io_thread()) {
        // Destroyed by a continuation on one of its own I/O threads (an
        // inline completion executor), which cannot join itself: another
        // thread closes it, joining this one once the continuation is over.
        detail::close_in_background(std::move(core_));
        return;
    }
    core_->shutdown();
}

future<response> client::get(const std::string& url) { return get(url, core_->options().defaults); }

future<response> client::get(const std::string& url, request_options options) {
    return with_retry<response>(*core_, options, [core = core_, url](request_options o) {
        auto limit = o.max_body_size;
        return start<response>(core, url, std::move(o), std::make_unique<detail::memory_consumer>(limit));
    });
}

future<download_result> client::download(const std::string& url, std::filesystem::path path) {
    return download(url, std::move(path), core_->options().defaults);
}

future<download_result> client::download(const std::string& url, std::filesystem::path path,
                                         request_options options) {
    return start_download(core_, url, std::move(path), std::move(options));
}

future<stream_result> client::stream(const std::string& url, sink body_sink) {
    return stream(url, std::move(body_sink), core_->options().defaults);
}

future<stream_result> client::stream(const std::string& url, sink body_sink, request_options options) {
    // A retried stream starts over: the sink sees the body again from byte 0.
    return with_retry<stream_result>(*core_, options, [core = core_, url, body_sink](request_options o) {
        return start<stream_result>(core, url, std::move(o), std::make_unique<detail::sink_consumer>(body_sink));
    });
}

files_made_ahead::files_made_ahead() noexcept = default;
files_made_ahead::files_made_ahead(std::shared_ptr<detail::client_core> core,
                                   std::shared_ptr<detail::new_file_stock> stock) noexcept
    : core_(std::move(core)), stock_(std::move(stock)) {}
files_made_ahead::files_made_ahead(files_made_ahead&&) noexcept = default;
files_made_ahead& files_made_ahead::operator=(files_made_ahead&& other) noexcept {
    if (this != &other) {
        release();
        core_ = std::move(other.core_);
        stock_ = std::move(other.stock_);
    }
    return *this;
}
files_made_ahead::~files_made_ahead() { release(); }

void files_made_ahead::release() noexcept {
    if (stock_) {
        core_->new_files().remove(stock_.get());
        stock_->stop();  // a download still holding it makes its own files from now on
    }
    stock_.reset();
    core_.reset();
}

files_made_ahead client::make_files_ahead(std::filesystem::path folder, std::size_t count) {
    constexpr std::size_t fewest = 16;  // below it, a thread of its own is not worth it
    // At most 32 ready: enough to keep ahead of the I/O threads. At most a
    // 16th of the descriptors the process may open, so the stock never
    // takes the ones its downloads and connections need.
    std::size_t ahead = 32;
    rlimit open_files{};
    if (::getrlimit(RLIMIT_NOFILE, &open_files) == 0 && open_files.rlim_cur != RLIM_INFINITY)
        ahead = std::min<std::size_t>(ahead, open_files.rlim_cur / 16);
    if (count < fewest || ahead == 0) return {};
    auto stock = std::make_shared<detail::new_file_stock>(std::move(folder), count, ahead);
    core_->new_files().add(stock);
    return files_made_ahead(core_, std::move(stock));
}

future<std::vector<result<download_result>>> client::download_all(std::vector<batch_item> items,
                                                                  std::filesystem::path folder,
                                                                  request_options options) {
    auto limit = std::max<std::size_t>(1, core_->options().max_connections);
    const auto in_folder = static_cast<std::size_t>(std::count_if(items.begin(), items.end(), [](const batch_item& i) {
        return i.path.empty() || (i.path.is_relative() && !i.path.has_parent_path());
    }));
    // Held by the mapper: the files not taken are closed when the batch's state goes.
    auto ahead = std::make_shared<files_made_ahead>(make_files_ahead(folder, in_folder));
    return bounded_map(
        std::move(items), limit,
        [core = core_, folder, options, ahead](batch_item& item) {
            auto path = item.path.empty() ? folder / file_name_for(item.url)
                                          : (item.path.is_absolute() ? item.path : folder / item.path);
            return start_download(core, item.url, path, options);
        },
        core_->completion_executor());
}

executor& client::completion_executor() noexcept { return core_->completion_executor(); }

const client_options& client::options() const noexcept { return core_->options(); }

std::string redacted_url(const std::string& url) { return detail::redacted(url); }

// By hand, not by parsing: a long list names every URL before the first is
// fetched, and a parse costs more than all the rest of the naming. A URL's
// path runs from the '/' after "scheme://authority" to its '?' or '#'
// (RFC 3986 3); neither may appear unencoded before it. Without a
// "scheme://", the text up to its '?' or '#' counts as the path.
std::string file_name_for(const std::string& url) {
    std::string_view path = url;
    path = path.substr(0, path.find_first_of("?#"));
    const auto scheme_end = path.find("://");
    if (scheme_end != std::string_view::npos && is_scheme(path.substr(0, scheme_end))) {
        auto authority_end = path.find('/', scheme_end + 3);
        path = authority_end == std::string_view::npos ? std::string_view() : path.substr(authority_end);
    }
    std::string name(path.substr(path.rfind('/') + 1));
    if (name.empty() || name == "." || name == "..") name = "index.html";
    return shorten_file_name(std::move(name));
}

}  // namespace vow::http
