#include "jobs.hpp"

#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <system_error>

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
    vow::future<vow::http::download_result> future;
    std::shared_ptr<retry_log> retries;
    clock::time_point started;
};

clock::duration seconds_to_duration(double s) {
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
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
    std::set<std::string> used;
    auto options = request_options_from(cfg);
    for (const auto& url : cfg.urls) {
        std::string base = vow::http::file_name_for(url);
        std::string name = base;
        for (int n = 1; !used.insert(name).second; ++n) name = base + "." + std::to_string(n);
        jobs.push_back(job{url, cfg.output_dir / name, name, options});
    }
    return jobs;
}

vow::http::client_options client_options_from(const config& cfg) {
    vow::http::client_options o;
    o.max_connections = cfg.jobs;
    o.max_connections_per_host = cfg.per_host;
    o.tls.ca_file = cfg.ca_file;
    o.tls.insecure = cfg.insecure;
    o.tls.verify_peer = !cfg.insecure;
    o.user_agent = std::string("vow-get/") + VOW_GET_VERSION;
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
    o.sha256 = cfg.sha256;
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
    bool stopping = false;

    auto launch = [&](std::size_t i) {
        const job& j = jobs[i];
        auto log = std::make_shared<retry_log>();
        vow::http::request_options options = j.options;
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
        view.started(i, j.name, j.url);
        in_flight f{i, {}, log, clock::now()};
        try {
            f.future = client.download(j.url, j.path, std::move(options));
        } catch (...) {
            f.future = vow::make_exceptional_future<vow::http::download_result>(std::current_exception());
        }
        f.future.add_done_callback([&wake](const vow::result<vow::http::download_result>&) { wake.notify(); });
        flying.push_back(std::move(f));
    };

    auto finish = [&](in_flight& f) {
        job_outcome& out = report.outcomes[f.index];
        out.elapsed = clock::now() - f.started;
        {
            std::lock_guard lock(f.retries->mutex);
            out.retries = f.retries->records;
        }
        vow::result<vow::http::download_result> r = f.future.get_result();
        item_report rep{jobs[f.index].url, jobs[f.index].path.string(), static_cast<int>(out.retries.size()),
                        std::chrono::duration<double>(out.elapsed).count(), std::nullopt, std::nullopt};
        if (r.has_value()) {
            out.state = job_state::done;
            out.result = std::move(r).value();
            view.finished(f.index, *out.result);
            rep.result = out.result;
        } else {
            out.error = r.exception();
            out.why = describe_error(out.error);
            rep.error = out.why;
            if (stopping && r.is_cancelled()) {
                out.state = job_state::cancelled;
                view.cancelled(f.index);
            } else {
                out.state = job_state::failed;
                view.failed(f.index, *out.why);
            }
        }
        if (json) view.print_to(1, json_line(rep));  // stdout
    };

    for (;;) {
        if (!stopping && wakeup_pipe::interrupt_signal() != 0) {
            stopping = true;
            report.interrupt_signal = wakeup_pipe::interrupt_signal();
            for (auto& f : flying) f.future.cancel();  // completes them now; the client closes the sockets
        }
        for (auto it = flying.begin(); it != flying.end();) {
            if (it->future.is_ready()) {
                finish(*it);
                it = flying.erase(it);
            } else {
                ++it;
            }
        }
        while (!stopping && flying.size() < parallel && next < jobs.size()) launch(next++);
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
    if (failed > 0) return exit_some_failed;
    view.info("all " + std::to_string(done) + " done");
    return exit_ok;
}

}  // namespace vow_get
