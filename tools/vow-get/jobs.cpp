#include "jobs.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <system_error>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "content_disposition.hpp"
#include "exit_codes.hpp"
#include "format.hpp"
#include "json_output.hpp"
#include "vow/http/retry.hpp"

namespace vow_get {
namespace {

using clock = std::chrono::steady_clock;

// Written by the retry hook on the client's executor, read by the loop when
// the download has ended.
struct retry_log {
    std::mutex mutex;  // guards records
    std::vector<retry_record> records;
};

struct in_flight {
    std::size_t index;
    vow::future<vow::http::download_result> future;  // unset while `check` runs
    std::shared_ptr<retry_log> retries;
    clock::time_point started;
    std::optional<vow::future<vow::http::response>> check;  // the HEAD for job::existing
    bool already_complete = false;
};

// Saturates: a timeout of 1e30 s means "no limit to speak of", not an
// overflow into the past. The ceiling (about 31 years) leaves room for the
// client to add it to the current time.
clock::duration seconds_to_duration(double s) {
    constexpr double ceiling_s = 1e9;
    if (!(s > 0)) return clock::duration::zero();
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(std::min(s, ceiling_s)));
}

// Writes the body to stdout; throws when stdout does not take it (a full
// disk, a closed pipe with SIGPIPE ignored), which fails the download.
void write_to_stdout(std::span<const char> bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(1, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::system_error(errno, std::generic_category(), "cannot write to stdout");
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

// The URL's own header= lines come after the command line's, and replace
// every -H of the same name (several -H of one name are all sent; so are
// several header= lines).
vow::http::request_options with_own_headers(vow::http::request_options options, const url_options& own) {
    std::erase_if(options.headers, [&](const auto& given) {
        return std::any_of(own.headers.begin(), own.headers.end(),
                           [&](const auto& mine) { return vow::http::iequals(mine.first, given.first); });
    });
    options.headers.insert(options.headers.end(), own.headers.begin(), own.headers.end());
    return options;
}

// -O -: the body goes to stdout through client::stream. A retried stream
// starts over from byte 0, which stdout cannot take back: once a byte has
// been written, no failure is retried.
vow::future<vow::http::download_result> stream_to_stdout(vow::http::client& client, const std::string& url,
                                                         vow::http::request_options options) {
    auto written = std::make_shared<std::atomic<std::uint64_t>>(0);
    if (options.retry) {
        vow::retry_policy rule;  // only to ask the policy's own rule
        rule.retry_if = options.retry->retry_if;
        options.retry->retry_if = [written, rule](const std::exception_ptr& e) {
            return written->load(std::memory_order_relaxed) == 0 && rule.should_retry(e);
        };
    }
    auto sink = [written](std::span<const char> bytes) {
        write_to_stdout(bytes);
        // Relaxed: the sink and the retry decision run one after the other on the client's side.
        written->fetch_add(bytes.size(), std::memory_order_relaxed);
    };
    return client.stream(url, sink, std::move(options)).then([](vow::http::stream_result s) {
        vow::http::download_result r;
        r.path = "-";
        r.size = s.size;
        r.transferred = s.size;
        r.status = s.status;
        r.url = std::move(s.url);
        return r;
    });
}

// --content-disposition: renames the finished file to the server's name in
// the same folder, never onto a name another item of the batch uses and,
// without --overwrite, never onto anything already there (RENAME_NOREPLACE;
// NAME.1, NAME.2, ... instead). Returns the new path, or nullopt when the
// response named no usable file or it already has that name.
std::optional<std::filesystem::path> rename_by_disposition(const job& j, const vow::http::download_result& r,
                                                           std::set<std::filesystem::path>& taken) {
    auto header = r.headers.find("Content-Disposition");
    auto suggested = header ? disposition_filename(*header) : std::nullopt;
    auto base = suggested ? safe_base_name(*suggested) : std::nullopt;
    if (!base || r.path.filename() == *base) return std::nullopt;
    const auto folder = r.path.parent_path();
    for (int n = 0; n < 1000; ++n) {
        auto candidate = folder / (n == 0 ? *base : *base + "." + std::to_string(n));
        if (taken.contains(candidate)) continue;
        const unsigned flags = j.overwrite ? 0 : RENAME_NOREPLACE;
        if (::renameat2(AT_FDCWD, r.path.c_str(), AT_FDCWD, candidate.c_str(), flags) == 0) {
            taken.insert(candidate);
            return candidate;
        }
        if (errno != EEXIST) {
            throw std::system_error(errno, std::generic_category(),
                                    "cannot rename " + r.path.string() + " to " + candidate.string());
        }
    }
    return std::nullopt;
}

std::uint64_t part_size(const std::filesystem::path& path) {
    std::error_code ec;
    auto part = path;
    part += ".part";
    auto n = std::filesystem::file_size(part, ec);
    return ec ? 0 : n;
}

}  // namespace

std::vector<job> jobs_from(const config& cfg) {
    std::vector<job> jobs;
    // Every name a job writes: NAME, NAME.part and NAME.part.meta. A name is
    // free only when all three are, so "x" and "x.part" in one batch cannot
    // write into each other's files.
    std::set<std::string> used;
    auto is_free = [&](const std::string& name) {
        return !used.contains(name) && !used.contains(name + ".part") && !used.contains(name + ".part.meta");
    };
    auto reserve = [&](const std::string& name) { used.insert({name, name + ".part", name + ".part.meta"}); };
    // Without --overwrite a file on disk is never replaced, nor is anything
    // at that name that is not a regular file (a symlink is not followed).
    auto on_disk = [&](const std::string& name) {
        std::error_code ec;
        return !cfg.overwrite && std::filesystem::symlink_status(cfg.output_dir / name, ec).type() !=
                                     std::filesystem::file_type::not_found;
    };
    auto options = request_options_from(cfg);
    if (cfg.output_file && *cfg.output_file == "-") {
        vow::http::request_options own_options = with_own_headers(options, cfg.per_url.at(0));
        jobs.push_back(job{cfg.urls.at(0), "-", "-", std::move(own_options), std::nullopt, true, false, false});
        return jobs;
    }
    for (std::size_t i = 0; i < cfg.urls.size(); ++i) {
        const std::string& url = cfg.urls[i];
        const url_options& own = cfg.per_url.at(i);
        std::string base = cfg.output_file ? cfg.output_file->string()
                           : own.out       ? *own.out
                                           : vow::http::file_name_for(url);
        std::string name = base;
        for (int n = 1; !is_free(name); ++n) name = base + "." + std::to_string(n);
        std::optional<std::filesystem::path> existing;
        if (on_disk(name)) {
            std::error_code ec;
            if (std::filesystem::is_regular_file(std::filesystem::symlink_status(cfg.output_dir / name, ec)))
                existing = cfg.output_dir / name;
            reserve(name);
            const std::string taken = name;
            for (int n = 1; !is_free(name) || on_disk(name); ++n) name = taken + "." + std::to_string(n);
        }
        reserve(name);
        vow::http::request_options own_options = with_own_headers(options, own);
        if (own.sha256) own_options.sha256 = own.sha256;
        jobs.push_back(job{url, cfg.output_dir / name, name, std::move(own_options), existing, false,
                           cfg.content_disposition && !cfg.output_file && !own.out, cfg.overwrite});
    }
    return jobs;
}

vow::http::client_options client_options_from(const config& cfg) {
    vow::http::client_options o;
    o.max_connections = cfg.jobs * static_cast<std::size_t>(cfg.split);  // each download may use --split
    o.max_connections_per_host = cfg.per_host;
    o.proxy = cfg.proxy;
    o.tls.ca_file = cfg.ca_file;
    o.tls.insecure = cfg.insecure;
    o.tls.verify_peer = !cfg.insecure;
    o.user_agent = cfg.user_agent ? *cfg.user_agent : std::string("vow-get/") + VOW_GET_VERSION;
    o.max_bytes_per_second = cfg.limit_rate;
    // Two I/O threads when downloads run side by side: each creates its
    // files at the same time as the other (see docs/http.md, "Small new
    // files"), and either takes the network while the other is in the disk.
    o.io_threads = cfg.jobs > 1 ? 2 : 1;
    return o;
}

vow::http::request_options request_options_from(const config& cfg) {
    vow::http::request_options o;
    if (cfg.total_timeout_s) o.total_timeout = seconds_to_duration(*cfg.total_timeout_s);
    if (cfg.connect_timeout_s) o.connect_timeout = seconds_to_duration(*cfg.connect_timeout_s);
    if (cfg.idle_timeout_s) o.idle_timeout = seconds_to_duration(*cfg.idle_timeout_s);
    o.max_download_size = cfg.max_filesize;
    // As curl's -Y / -y: a time alone guards against 1 byte/s; a limit alone is measured over 30 s.
    if (cfg.speed_limit || cfg.speed_time_s) o.low_speed_limit = cfg.speed_limit.value_or(1);
    if (cfg.speed_time_s) o.low_speed_time = seconds_to_duration(*cfg.speed_time_s);
    o.resume = cfg.resume;
    o.decode_content = cfg.compressed;
    o.segments = cfg.split;
    o.sha256 = cfg.sha256;
    // --user first, so that an Authorization given with -H wins, as with curl.
    // The library sends neither to another origin after a redirect.
    if (cfg.user) o.headers.emplace_back("Authorization", vow::http::basic_authorization(cfg.user->first, cfg.user->second));
    o.headers.insert(o.headers.end(), cfg.headers.begin(), cfg.headers.end());
    if (cfg.max_redirects) o.max_redirects = *cfg.max_redirects;
    o.retry = vow::http::retry_policy(cfg.retries + 1);
    return o;
}

run_report run_jobs(vow::http::client& client, const std::vector<job>& jobs, std::size_t parallel,
                    progress_view& view, wakeup_pipe& wake, bool json) {
    run_report report;
    report.outcomes.resize(jobs.size());
    view.set_total_items(jobs.size());
    std::vector<in_flight> flying;
    std::size_t next = 0;
    // Every file the batch writes: a --content-disposition rename never takes one.
    std::set<std::filesystem::path> taken;
    for (const auto& j : jobs) taken.insert(j.path);
    bool stopping = false;

    // The download's options, with the runner's progress and retry hooks.
    auto options_for = [&](std::size_t i, const std::shared_ptr<retry_log>& log) {
        vow::http::request_options options = jobs[i].options;
        // The view outlives the client (see main), so the hooks may hold it by reference.
        auto user_progress = options.on_progress;
        options.on_progress = [&view, i, user_progress](const vow::http::progress& p) {
            view.progressed(i, p);
            if (user_progress) user_progress(p);
        };
        if (options.retry) {
            auto user_hook = options.retry->on_retry;
            options.retry->on_retry = [&view, i, log, user_hook](int attempt, const std::exception_ptr& e,
                                                                 vow::retry_policy::duration delay) {
                retry_record rec{attempt, describe_error(e), std::chrono::duration_cast<clock::duration>(delay)};
                view.retrying(i, attempt, rec.why, rec.delay);
                {
                    std::lock_guard lock(log->mutex);
                    log->records.push_back(std::move(rec));
                }
                if (user_hook) user_hook(attempt, e, delay);
            };
        }
        return options;
    };
    // The loop is woken once a batch of downloads has ended (an eighth of
    // -j), not for each: every wake-up takes a core from an I/O thread, for
    // little work. Near the end of the list, and for a HEAD check (which
    // holds up its download), each one wakes it.
    // Shared with the callbacks: one may still be running on an I/O thread
    // after its future is ready and this function has returned (the pipe
    // outlives the client; see main).
    struct end_count {
        std::atomic<std::size_t> unseen{0};
        std::atomic<bool> all_launched{false};
    };
    auto ends = std::make_shared<end_count>();
    const std::size_t wake_batch = std::max<std::size_t>(1, parallel / 8);
    auto wake_on_done = [&wake, ends, wake_batch](auto& future) {
        future.add_done_callback([&wake, ends, wake_batch](const auto&) {
            const auto ended = ends->unseen.fetch_add(1, std::memory_order_relaxed) + 1;
            if (ended >= wake_batch || ends->all_launched.load(std::memory_order_relaxed)) wake.notify();
        });
    };
    auto wake_on_check = [&wake](auto& future) {
        future.add_done_callback([&wake](const auto&) { wake.notify(); });
    };
    auto start_download = [&](in_flight& f) {
        const job& j = jobs[f.index];
        try {
            f.future = j.to_stdout ? stream_to_stdout(client, j.url, options_for(f.index, f.retries))
                                   : client.download(j.url, j.path, options_for(f.index, f.retries));
        } catch (...) {
            f.future = vow::make_exceptional_future<vow::http::download_result>(std::current_exception());
        }
        wake_on_done(f.future);
    };

    auto launch = [&](std::size_t i) {
        const job& j = jobs[i];
        view.started(i, j.name, vow::http::redacted_url(j.url));
        in_flight f{i, {}, std::make_shared<retry_log>(), clock::now(), std::nullopt};
        if (j.existing) {
            // Is the file already there complete? Ask for the size, not the body.
            auto options = options_for(i, f.retries);
            options.method = "HEAD";
            options.on_progress = nullptr;
            options.decode_content = false;  // the length of the file as saved: the decoded one
            // A HEAD has no body: any Content-Length is an answer, not over max_body_size.
            options.max_body_size = std::numeric_limits<std::uint64_t>::max();
            try {
                f.check = client.get(j.url, std::move(options));
            } catch (...) {
                f.check = vow::make_exceptional_future<vow::http::response>(std::current_exception());
            }
            wake_on_check(*f.check);
        } else {
            start_download(f);
        }
        flying.push_back(std::move(f));
    };

    // A finished HEAD check: the existing file is complete when its size is
    // the server's and, when a validator was recorded on it at completion,
    // the validator is the server's (vow::http::is_complete_copy); otherwise
    // (or when the check failed) the download starts, to NAME.1 etc.
    auto checked = [&](in_flight& f) {
        const job& j = jobs[f.index];
        vow::result<vow::http::response> r = f.check->get_result();
        f.check.reset();
        if (r.has_value() && r.value().status >= 200 && r.value().status <= 299 &&
            vow::http::is_complete_copy(*j.existing, r.value().headers)) {
            std::error_code ec;
            vow::http::download_result done;
            done.path = *j.existing;
            done.size = std::filesystem::file_size(*j.existing, ec);
            done.status = r.value().status;
            done.url = r.value().url;
            done.already_complete = true;
            f.future = vow::make_ready_future(std::move(done));
            f.already_complete = true;
            return;
        }
        start_download(f);
    };

    auto finish = [&](in_flight& f) {
        job_outcome& out = report.outcomes[f.index];
        out.elapsed = clock::now() - f.started;
        {
            std::lock_guard lock(f.retries->mutex);
            out.retries = f.retries->records;
        }
        vow::result<vow::http::download_result> r = f.future.get_result();
        if (r.has_value() && jobs[f.index].rename_by_disposition && !f.already_complete) {
            try {
                if (auto renamed = rename_by_disposition(jobs[f.index], r.value(), taken)) {
                    view.info("rename " + r.value().path.filename().string() + " -> " + renamed->filename().string() +
                              "  (Content-Disposition)");
                    r.value().path = *renamed;
                }
            } catch (...) {
                r = vow::result<vow::http::download_result>(std::current_exception());
            }
        }
        if (r.has_value()) {
            out.state = job_state::done;
            out.result = std::move(r).value();
            out.already_complete = f.already_complete;
            view.finished(f.index, *out.result, f.already_complete);
        } else {
            out.error = r.exception();
            out.why = describe_error(out.error);
            if (stopping && r.is_cancelled()) {
                out.state = job_state::cancelled;
                view.cancelled(f.index);
            } else {
                out.state = job_state::failed;
                view.failed(f.index, *out.why);
            }
        }
        if (!json) return;
        // Built only for --json: it copies the result.
        item_report rep{vow::http::redacted_url(jobs[f.index].url),
                        out.result ? out.result->path.string() : jobs[f.index].path.string(),
                        static_cast<int>(out.retries.size()), std::chrono::duration<double>(out.elapsed).count(),
                        out.result, out.why, out.already_complete};
        view.print_to(1, json_line(rep));  // stdout
    };

    for (;;) {
        if (!stopping && wakeup_pipe::interrupt_signal() != 0) {
            stopping = true;
            report.interrupt_signal = wakeup_pipe::interrupt_signal();
            for (auto& f : flying) {  // completes them now; the client closes the sockets
                if (f.check) {
                    f.check->cancel();
                    f.check.reset();
                    f.future = vow::make_exceptional_future<vow::http::download_result>(
                        std::make_exception_ptr(vow::cancelled_error("vow-get: interrupted")));
                } else {
                    f.future.cancel();
                }
            }
        }
        ends->unseen.store(0, std::memory_order_relaxed);  // ends from here on count for the next wake
        for (auto it = flying.begin(); it != flying.end();) {
            if (it->check && it->check->is_ready()) checked(*it);
            if (!it->check && it->future.is_ready()) {
                finish(*it);
                it = flying.erase(it);
            } else {
                ++it;
            }
        }
        while (!stopping && flying.size() < parallel && next < jobs.size()) launch(next++);
        if (next == jobs.size()) ends->all_launched.store(true, std::memory_order_relaxed);
        if (flying.empty() && (stopping || next == jobs.size())) break;
        view.tick();
        wake.wait(100);
    }
    view.close();
    return report;
}

int summarize(const std::vector<job>& jobs, const run_report& report, progress_view& view) {
    std::size_t failed = 0, done = 0;
    for (const auto& o : report.outcomes) {
        failed += o.state == job_state::failed;
        done += o.state == job_state::done;
    }
    if (failed > 0) {
        view.important(std::to_string(failed) + " of " + std::to_string(jobs.size()) + " failed:");
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            const auto& o = report.outcomes[i];
            if (o.state == job_state::failed) view.important("  " + jobs[i].name + ": " + o.why->message);
        }
    }
    if (report.interrupt_signal != 0) {
        view.important(std::string("interrupted by ") + (report.interrupt_signal == SIGTERM ? "SIGTERM" : "SIGINT") +
                       "; " + std::to_string(done) + " of " + std::to_string(jobs.size()) +
                       " done; unfinished (run the same command again to resume):");
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            const auto& o = report.outcomes[i];
            if (o.state == job_state::cancelled) {
                std::uint64_t kept = part_size(jobs[i].path);
                view.important("  " + jobs[i].name + ": " +
                               (kept > 0 ? format_bytes(kept) + " kept in " + jobs[i].name + ".part"
                                         : std::string("nothing received yet")));
            } else if (o.state == job_state::not_started) {
                view.important("  " + jobs[i].name + ": not started");
            }
        }
        return exit_interrupted;
    }
    if (failed > 0) {
        view.info(std::to_string(done) + " of " + std::to_string(jobs.size()) + " done: " + view.finished_summary());
        return exit_some_failed;
    }
    view.info("all " + std::to_string(done) + " done: " + view.finished_summary());
    return exit_ok;
}

}  // namespace vow_get
