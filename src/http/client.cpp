#include "vow/http/client.hpp"

#include <cstdio>
#include <cstring>
#include <string_view>

#include "client_impl.hpp"
#include "consumers.hpp"
#include "request.hpp"
#include "url.hpp"
#include "vow/bounded.hpp"
#include "vow/promise.hpp"
#include "vow/retry.hpp"

namespace vow::http {

namespace {

using detail::client_core;

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
    std::make_shared<detail::request_op>(core, place.worker, place.promised, std::move(url), std::move(options),
                                         std::move(consumer))
        ->start();
    return fut;
}

// Wraps `attempt` in vow::retry when the options ask for it.
template <class Result, class Attempt>
future<Result> with_retry(client_core& core, request_options& options, Attempt attempt) {
    if (!options.retry) return attempt(std::move(options));
    auto policy = std::move(*options.retry);
    options.retry.reset();
    return vow::retry(
        std::move(policy), [attempt, options]() mutable { return attempt(options); }, core.retry_timer(),
        core.completion_executor());
}

// Each attempt of a retried download resumes from the .part the last one left.
future<download_result> start_download(const std::shared_ptr<client_core>& core, const std::string& url,
                                       std::filesystem::path path, request_options options) {
    return with_retry<download_result>(*core, options, [core, url, path](request_options o) {
        auto consumer = std::make_unique<detail::file_consumer>(path, detail::redacted(url),
                                                                o.resume && !o.decode_content, o.sha256);
        return start<download_result>(core, url, std::move(o), std::move(consumer));
    });
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

client::~client() { core_->shutdown(); }

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

future<std::vector<result<download_result>>> client::download_all(std::vector<batch_item> items,
                                                                  std::filesystem::path folder,
                                                                  request_options options) {
    auto limit = std::max<std::size_t>(1, core_->options().max_connections);
    return bounded_map(
        std::move(items), limit,
        [core = core_, folder, options](batch_item& item) {
            auto path = item.path.empty() ? folder / file_name_for(item.url)
                                          : (item.path.is_absolute() ? item.path : folder / item.path);
            return start_download(core, item.url, path, options);
        },
        core_->completion_executor());
}

executor& client::completion_executor() noexcept { return core_->completion_executor(); }

const client_options& client::options() const noexcept { return core_->options(); }

std::string redacted_url(const std::string& url) { return detail::redacted(url); }

std::string file_name_for(const std::string& url) {
    std::string name;
    try {
        auto t = detail::parse_url(url);
        auto path = t.target.substr(0, t.target.find('?'));
        name = path.substr(path.rfind('/') + 1);
    } catch (const invalid_url&) {
        auto path = url.substr(0, url.find_first_of("?#"));
        name = path.substr(path.rfind('/') + 1);
    }
    if (name.empty() || name == "." || name == "..") name = "index.html";
    return shorten_file_name(std::move(name));
}

}  // namespace vow::http
