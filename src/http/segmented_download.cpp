#include "segmented_download.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <unistd.h>

#include "client_impl.hpp"
#include "consumers.hpp"
#include "content_range.hpp"
#include "part_file.hpp"
#include "url.hpp"
#include "vow/bounded.hpp"
#include "vow/extend.hpp"
#include "vow/promise.hpp"
#include "vow/retry.hpp"

namespace vow::http::detail {

namespace {

// A range answered 200, or a 206 of another validator: the split stops and
// the download starts over on one connection. Never seen by the user.
class split_abandoned : public protocol_error {
public:
    using protocol_error::protocol_error;
};

// Meta rewrites while a segment runs: at most one per this many bytes of it.
constexpr std::uint64_t meta_save_step = 8ull << 20;

struct segment {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    std::atomic<std::uint64_t> done{0};
    std::uint64_t length() const noexcept { return end - start; }
};

// What the segments share. Segments run on the I/O threads (several at
// once): the file takes positioned writes from all of them, `done` and
// `received` are atomics, the meta is rewritten under `meta_mutex`.
struct split_state {
    std::string meta_url;  // the URL as asked, redacted: what the meta records
    // Where the ranges are asked: the URL as given, so that each range
    // follows any redirect itself, under the client's rules for credentials
    // (asking the redirect's target directly would send them to another origin).
    std::string asked_url;
    std::string url;  // after the probe's redirects: for messages and the result
    std::string validator;
    std::uint64_t total = 0;
    std::deque<segment> segments;
    part_file file;
    std::mutex meta_mutex;
    std::atomic<bool> abandoned{false};  // the split stops; the download starts over on one connection
    std::atomic<std::uint64_t> received{0};  // the whole file's bytes now in the .part (as progress counts them)
    std::uint64_t resumed_from = 0;
    header_map headers;  // of the probe
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    // Progress: one report queued or running at a time; the final one waits
    // for it (user code never runs under report_mutex).
    std::function<void(const progress&)> on_progress;
    executor* user = nullptr;
    std::mutex report_mutex;
    bool report_in_flight = false;
    std::function<void()> after_report;  // the final report, waiting for one in flight

    explicit split_state(std::filesystem::path path) : file(std::move(path)) {}

    part_meta meta() const {
        part_meta m{meta_url, validator, total, {}};
        for (const auto& s : segments) m.ranges.push_back(part_range{s.start, s.end, s.done.load()});
        return m;
    }
    void save_meta() {
        std::lock_guard lock(meta_mutex);
        file.save_meta(meta());
    }
    // Stops the split: every segment throws at its next step.
    [[noreturn]] void abandon(const std::string& why) {
        abandoned = true;
        throw split_abandoned(why);
    }
    void check_abandoned() const {
        if (abandoned) throw split_abandoned("another range of " + url + " stopped the split");
    }

    progress snapshot() const {
        progress p;
        p.received = received.load();
        p.total = total;
        auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        p.bytes_per_second = secs > 0 ? static_cast<double>(p.received - resumed_from) / secs : 0;
        return p;
    }
};

using state_ptr = std::shared_ptr<split_state>;

// Ends a report, run or dropped: hands the turn to what waits for it
// (after_reports), so that the split's last step is never stranded.
void end_report(const state_ptr& s) {
    std::function<void()> next;
    {
        std::lock_guard lock(s->report_mutex);
        next = std::move(s->after_report);
        s->after_report = nullptr;
        s->report_in_flight = next != nullptr;
    }
    if (next) next();
}

// Called by a segment's own throttled progress: reports the whole file.
void report_progress(const state_ptr& s) {
    if (!s->on_progress) return;
    {
        std::lock_guard lock(s->report_mutex);
        if (s->report_in_flight) return;
        s->report_in_flight = true;
    }
    auto report = [s] {
        try {
            s->on_progress(s->snapshot());
        } catch (...) {
            // Progress is advisory; a throwing callback does not fail the transfer.
        }
        end_report(s);
    };
    // Refused or dropped unrun (the executor shut down), the report is skipped
    // but still ends, on the thread that dropped it.
    auto dropped = [s] { end_report(s); };
    try {
        s->user->execute(ext::owned_task<decltype(report), decltype(dropped)>(std::move(report), std::move(dropped)));
    } catch (const executor_shut_down&) {
        // The task's drop action ended the report.
    }
}

// Runs `last` (the final report and the completion) after any report in flight.
void after_reports(const state_ptr& s, std::function<void()> last) {
    {
        std::lock_guard lock(s->report_mutex);
        if (s->report_in_flight) {
            s->after_report = std::move(last);
            return;
        }
        s->report_in_flight = true;
    }
    last();
}

// The HEAD that tells whether and how to split.
class probe_consumer final : public split_consumer {
public:
    verdict on_head(const response_head& head, const target_url& url) override {
        require_success(head, url);
        result_.head = head;
        return verdict::read_body;
    }
    awaitable<void> on_data(request_op&, const char*, std::size_t) override { co_return; }
    void on_end(const target_url& url) override { result_.url = url.text; }
};

// One range: asks for what it still lacks, writes it at its offset.
class segment_consumer final : public split_consumer {
public:
    segment_consumer(state_ptr state, std::size_t index) : s_(std::move(state)), seg_(s_->segments[index]) {}

    void add_request_headers(bhttp::fields& fields) override {
        // All its bytes came but the response failed at its very end (a
        // chunked body's last chunk, say): an empty range cannot be asked
        // for, so its last byte is fetched again.
        if (seg_.done.load() == seg_.length()) {
            seg_.done.store(seg_.length() - 1);
            s_->received -= 1;
        }
        from_ = seg_.start + seg_.done.load();
        fields.set(bhttp::field::range, "bytes=" + std::to_string(from_) + "-" + std::to_string(seg_.end - 1));
        fields.set(bhttp::field::if_range, s_->validator);
    }

    verdict on_head(const response_head& head, const target_url& url) override {
        s_->check_abandoned();
        if (head.status == 200)
            s_->abandon(url.text + " answered 200 to a range request (ranges not served, or the file changed)");
        require_success(head, url);
        if (head.status != 206) throw protocol_error(std::to_string(head.status) + " from " + url.text + " to a range request");
        if (auto v = validator_of(head.headers); v && *v != s_->validator)
            s_->abandon("the validator of " + url.text + " changed from " + s_->validator + " to " + *v);
        auto value = head.headers.find("Content-Range");
        auto range = value ? parse_content_range(*value) : std::nullopt;
        if (!range || range->first != from_ || range->last != seg_.end - 1 || range->total != s_->total ||
            (head.content_length && *head.content_length != seg_.end - from_))
            throw protocol_error("the 206 from " + url.text + " is not the range asked for (bytes " +
                                 std::to_string(from_) + "-" + std::to_string(seg_.end - 1) + "/" +
                                 std::to_string(s_->total) + "): Content-Range " + value.value_or("missing"));
        result_.head = head;
        saved_ = seg_.done.load();
        return verdict::read_body;
    }

    awaitable<void> on_data(request_op&, const char* data, std::size_t n) override {
        s_->check_abandoned();
        const auto done = seg_.done.load();
        if (n > seg_.length() - done) throw protocol_error("a range of " + s_->url + " sent more bytes than asked for");
        s_->file.write_at(seg_.start + done, data, n);
        seg_.done.store(done + n);
        s_->received += n;
        if (done + n - saved_ >= meta_save_step) {
            saved_ = done + n;
            s_->save_meta();
        }
        co_return;
    }

    void on_end(const target_url& url) override {
        if (seg_.done.load() != seg_.length())
            throw protocol_error("a range of " + url.text + " ended " + std::to_string(seg_.length() - seg_.done.load()) +
                                 " bytes short");
        s_->save_meta();
        result_.url = url.text;
    }

    void on_abandon() noexcept override {
        try {
            s_->save_meta();
        } catch (...) {
        }
    }


private:
    state_ptr s_;
    segment& seg_;
    std::uint64_t from_ = 0;
    std::uint64_t saved_ = 0;  // seg_.done when the meta was last saved
};

// `attempt` under the options' retry policy, if any; `keep_going` may stop retries.
template <class Attempt>
auto retried(const std::shared_ptr<client_core>& core, const std::optional<vow::retry_policy>& policy, Attempt attempt,
             std::function<bool()> keep_going = {}) {
    if (!policy) return attempt();
    auto p = *policy;
    if (keep_going) {
        p.retry_if = [inner = std::move(p.retry_if), keep_going](const std::exception_ptr& e) {
            return keep_going() && (!inner || inner(e));
        };
    }
    return vow::retry(std::move(p), std::move(attempt), core->retry_timer(), core->completion_executor());
}

bool has_token(const std::optional<std::string>& value, std::string_view token) {
    if (!value) return false;
    std::string lower = *value;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower.find(token) != std::string::npos;
}

// The ranges of a fresh plan: `n` nearly equal ones covering [0, total).
void plan(split_state& s, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
        auto& seg = s.segments.emplace_back();
        seg.start = s.total / n * i;
        seg.end = i + 1 == n ? s.total : s.total / n * (i + 1);
    }
}

// Everything is in: checks, hashes, renames.
download_result finish(split_state& s, const request_options& options) {
    for (const auto& seg : s.segments)
        if (seg.done.load() != seg.length())
            throw protocol_error("a range of " + s.url + " is incomplete; " + s.file.part_path().string() +
                                 " is not renamed");
    if (auto size = s.file.size_on_disk(); size != s.total)
        throw protocol_error(s.file.part_path().string() + " holds " + std::to_string(size) + " bytes, not the " +
                             std::to_string(s.total) + " of " + s.url + "; it is not renamed");
    download_result r;
    if (options.sha256) {
        std::string expected = *options.sha256;
        for (auto& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto actual = s.file.digest_of_file();
        if (actual != expected) {
            s.file.discard();
            throw checksum_error(expected, actual);
        }
        r.sha256 = actual;
    }
    s.file.commit();
    r.path = s.file.final_path();
    r.size = s.total;
    r.transferred = s.received.load() - s.resumed_from;
    r.resumed_from = s.resumed_from;
    r.status = 206;
    r.url = s.url;
    r.headers = s.headers;
    return r;
}

// Once every range has settled and no report is in flight: the file, a
// failure, or (the split abandoned) the download again over one connection.
future<download_result> settle(split_state& s, result<std::vector<result<split_outcome>>> r,
                               request_options options, const split_hooks& hooks) {
    if (!r.has_value()) return make_exceptional_future<download_result>(r.exception());
    if (s.abandoned) {
        s.file.discard();
        options.resume = false;
        return hooks.single(std::move(options));
    }
    for (auto& each : r.value())
        if (!each.has_value()) {
            s.file.close();  // .part and meta stay, for a resume
            return make_exceptional_future<download_result>(each.exception());
        }
    try {
        auto done = finish(s, options);
        if (s.on_progress) {
            try {
                s.on_progress(s.snapshot());
            } catch (...) {
                // A throwing progress callback must not lose the result.
            }
        }
        return make_ready_future(std::move(done));
    } catch (...) {
        return make_exceptional_future<download_result>(std::current_exception());
    }
}

// The split itself, once the probe said yes.
future<download_result> run_split(const std::shared_ptr<client_core>& core, state_ptr s, request_options options,
                                  split_hooks hooks) {
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < s->segments.size(); ++i)
        if (s->segments[i].done.load() < s->segments[i].length()) pending.push_back(i);

    request_options each = options;
    each.method = "GET";
    each.retry.reset();
    each.sha256.reset();
    each.max_download_size.reset();  // checked against the total before the split
    each.on_progress = [weak = std::weak_ptr<split_state>(s)](const progress&) {
        if (auto s = weak.lock()) report_progress(s);
    };
    auto concurrency = static_cast<std::size_t>(std::max(1, options.segments));
    auto all = bounded_map(
        std::move(pending), concurrency,
        [core, s, each, hooks, retry = options.retry](std::size_t& index) {
            auto attempt = [s, each, hooks, index] {
                return hooks.start(s->asked_url, each, std::make_unique<segment_consumer>(s, index));
            };
            return retried(core, retry, std::move(attempt), [s] { return !s->abandoned.load(); });
        },
        core->completion_executor());
    return std::move(all).then_result(
        [s, options, hooks](result<std::vector<result<split_outcome>>> r) mutable -> future<download_result> {
            // Settled: no report of the split may run alongside what comes
            // next (the final report, or the progress of a download over one
            // connection), so wait for the one in flight, if any.
            promise<void> drained;
            auto ready = drained.get_future();
            after_reports(s, [d = std::make_shared<promise<void>>(std::move(drained))] { d->set_value(); });
            return std::move(ready).then(
                [s, options = std::move(options), hooks = std::move(hooks), r = std::move(r)]() mutable {
                    return settle(*s, std::move(r), std::move(options), hooks);
                });
        });
}

}  // namespace

future<download_result> segmented_download(client_core& core, const std::string& url, std::filesystem::path path,
                                           request_options options, split_hooks hooks) {
    auto s = std::make_shared<split_state>(path);
    if (options.if_exists != existing_file_policy::replace) s->file.never_replace();
    s->meta_url = redacted(url);
    s->asked_url = url;
    s->on_progress = options.on_progress;
    s->user = &core.completion_executor();
    std::optional<part_meta> stored;
    try {
        if (options.resume && s->file.existing_size() > 0) stored = s->file.stored_meta();
    } catch (...) {
        return make_exceptional_future<download_result>(std::current_exception()).via(core.completion_executor());
    }
    if (stored && stored->url != s->meta_url) stored.reset();
    // A format-1 .part (one prefix) resumes as one segment, as before.
    if (stored && stored->ranges.empty()) return hooks.single(std::move(options));

    request_options head = options;
    head.method = "HEAD";
    head.on_progress = nullptr;
    head.sha256.reset();
    // Held, not borrowed: the client may be destroyed while this runs (its
    // requests then fail with cancelled_error).
    auto core_ptr = core.shared_from_this();
    auto probe = retried(core_ptr, options.retry, [hooks, url, head] {
        return hooks.start(url, head, std::make_unique<probe_consumer>());
    });
    return std::move(probe).then_result(
        [core_ptr, s, stored, options, hooks](result<split_outcome> r) mutable -> future<download_result> {
            if (r.is_cancelled()) return make_exceptional_future<download_result>(r.exception());
            // A server that does not answer HEAD well may still serve the file.
            if (!r.has_value()) return hooks.single(std::move(options));
            const auto& h = r.value().head;
            auto validator = validator_of(h.headers);
            const bool splittable = has_token(h.headers.find("Accept-Ranges"), "bytes") && h.content_length &&
                                    validator && *h.content_length >= 2 * min_segment_size &&
                                    !h.headers.find("Content-Encoding").has_value();
            if (!splittable) return hooks.single(std::move(options));
            s->total = *h.content_length;
            if (options.max_download_size && s->total > *options.max_download_size)
                return make_exceptional_future<download_result>(std::make_exception_ptr(body_limit_error(
                    "body of " + r.value().url + " is " + std::to_string(s->total) +
                    " bytes, more than max_download_size (" + std::to_string(*options.max_download_size) +
                    " bytes)")));
            s->url = r.value().url;
            s->validator = *validator;
            s->headers = h.headers;
            bool resume = stored && stored->validator == s->validator && stored->total == s->total;
            try {
                // Bytes recorded as done must still be there (a .part cut short is not continued).
                if (resume) {
                    std::uint64_t needed = 0;
                    for (const auto& range : stored->ranges)
                        if (range.done > 0) needed = std::max(needed, range.start + range.done);
                    if (s->file.existing_size() < needed) resume = false;
                }
            } catch (...) {
                return make_exceptional_future<download_result>(std::current_exception());
            }
            // One connection was asked for, and what a split left cannot be
            // continued: an ordinary download replaces it.
            if (!resume && options.segments == 1) return hooks.single(std::move(options));
            try {
                if (resume) {
                    for (const auto& range : stored->ranges) {
                        auto& seg = s->segments.emplace_back();
                        seg.start = range.start;
                        seg.end = range.end;
                        seg.done.store(range.done);
                        s->resumed_from += range.done;
                    }
                    s->received.store(s->resumed_from);
                } else {
                    auto n = std::min<std::uint64_t>(static_cast<std::uint64_t>(options.segments),
                                                     s->total / min_segment_size);
                    plan(*s, n);
                }
                s->file.open_positioned(resume, s->meta());
            } catch (...) {
                return make_exceptional_future<download_result>(std::current_exception());
            }
            return run_split(core_ptr, s, std::move(options), std::move(hooks));
        });
}

}  // namespace vow::http::detail
