// run_jobs: the batch. Each download is launched, and its end recorded, on
// whichever thread completes the one before it (the client's I/O threads, or
// the callbacks' pool): a job that ends starts the next one right there, so
// the per-file path never waits for another thread. The calling thread
// launches the first ones, then sleeps until the batch is over or a signal
// comes (and draws the bars at each tick when there are bars).
//
//   pump():     while fewer than `parallel` are active and jobs are left, launch one
//   launch(i):  active + 1 and next + 1 (by pump), then the job's future, its end hooked
//   on_end(i):  outcome i recorded, active - 1, then pump()
//   over:       active == 0, every job launched or the batch stopping, and no pump running
//
// One thread pumps at a time (pump_requests): a pump asked for while one
// runs makes that one go round again. A download that fails at once ends
// inside launch(), and its pump() leaves the launching to the running pump.
//
// Why not vow::bounded_map, which also starts the next call as one ends:
// cancelling its output completes it at once, while the downloads in flight
// still end, and record their outcomes, on other threads. After Ctrl-C the
// batch must know when the last of them has let go of its state before the
// report is read; `over` says exactly that.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "content_disposition.hpp"
#include "folder_names.hpp"
#include "jobs.hpp"
#include "json_output.hpp"
#include "vow/http/retry.hpp"

namespace vow_get {
namespace {

using clock = std::chrono::steady_clock;
using vow::http::download_result;

// Written by the retry hook on the client's executor, read when the download has ended.
struct retry_log {
    std::mutex mutex;  // guards records
    std::vector<retry_record> records;
};

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

// -O -: the body goes to stdout through client::stream. A retried stream
// starts over from byte 0, which stdout cannot take back: once a byte has
// been written, no failure is retried.
vow::future<download_result> stream_to_stdout(vow::http::client& client, const std::string& url,
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
        download_result r;
        r.path = "-";
        r.size = s.size;
        r.transferred = s.size;
        r.status = s.status;
        r.url = std::move(s.url);
        return r;
    });
}

// --content-disposition: renames the finished file to the server's name in
// the same folder, never onto a name another item of the batch uses (its
// file, .part or .part.meta) and, without --overwrite, never onto anything
// already there (RENAME_NOREPLACE; NAME.1, NAME.2, ... instead). Returns
// the new path, or nullopt when the response named no usable file or it
// already has that name.
std::optional<std::filesystem::path> rename_by_disposition(const job& j, const download_result& r,
                                                           taken_names& taken) {
    auto header = r.headers.find("Content-Disposition");
    auto suggested = header ? disposition_filename(*header) : std::nullopt;
    auto base = suggested ? safe_base_name(*suggested) : std::nullopt;
    if (!base || r.path.filename() == *base) return std::nullopt;
    const auto folder = r.path.parent_path();
    for (int n = 0; n < 1000; ++n) {
        auto candidate = folder / (n == 0 ? *base : *base + "." + std::to_string(n));
        if (taken.contains(candidate.string())) continue;
        const unsigned flags = j.overwrite ? 0 : RENAME_NOREPLACE;
        if (::renameat2(AT_FDCWD, r.path.c_str(), AT_FDCWD, candidate.c_str(), flags) == 0) {
            taken.add(candidate.string());
            return candidate;
        }
        if (errno != EEXIST) {
            throw std::system_error(errno, std::generic_category(),
                                    "cannot rename " + r.path.string() + " to " + candidate.string());
        }
    }
    return std::nullopt;
}

// The counters the callbacks share with run_jobs. A callback may still be
// returning after run_jobs has seen the batch over: from the moment its job
// has ended (active - 1) it touches nothing else.
struct batch_counts {
    batch_counts(std::size_t jobs, std::size_t parallel, wakeup_pipe& wake)
        : jobs(jobs), parallel(parallel), wake(wake) {}

    const std::size_t jobs;
    const std::size_t parallel;
    wakeup_pipe& wake;                   // outlives the client (see main)
    std::atomic<std::size_t> next{0};    // the next job to launch; the pumping thread's
    std::atomic<std::size_t> active{0};  // launched and not ended
    std::atomic<int> pump_requests{0};   // > 0 while a thread pumps
    std::atomic<bool> stopping{false};   // a signal came: nothing more is launched

    // All orders are sequentially consistent. A launch adds to `active`
    // before it reads `stopping` and takes a job, so whoever reads `stopping`
    // (or `next`) and then `active` sees that launch. A pump holds
    // `pump_requests` until it has let go of the batch: a job it launched
    // may end (and take `active` back to 0) while launch() is still running.
    bool over() const {
        return (stopping.load() || next.load() == jobs) && active.load() == 0 && pump_requests.load() == 0;
    }
};

// run_jobs' own state, on its stack: used by a callback only until its job has ended.
struct batch {
    vow::http::client& client;
    const std::vector<job>& jobs;
    progress_view& view;
    bool json;
    run_report& report;
    std::shared_ptr<batch_counts> counts;
    std::vector<clock::time_point> started;
    std::vector<std::shared_ptr<retry_log>> retries;
    std::mutex futures_mutex;  // guards futures and ended
    std::vector<vow::future<download_result>> futures;  // kept to cancel them; reset at the end
    std::vector<char> ended;
    std::mutex taken_mutex;  // guards taken
    // Every file the batch writes: a --content-disposition rename never takes one.
    taken_names taken;
};

void pump(const std::shared_ptr<batch_counts>& counts, batch* b);

// The download's options, with the runner's progress and retry hooks. The
// view and the jobs outlive the client (see main), so the hooks may hold them.
vow::http::request_options options_for(batch& b, std::size_t i) {
    vow::http::request_options options = *b.jobs[i].options;
    // Only bars show progress: without them the library has no reports to make.
    auto user_progress = options.on_progress;
    if (b.view.mode() == view_mode::bars) {
        options.on_progress = [&view = b.view, i, user_progress](const vow::http::progress& p) {
            view.progressed(i, p);
            if (user_progress) user_progress(p);
        };
    }
    if (options.retry) {
        auto user_hook = options.retry->on_retry;
        options.retry->on_retry = [&view = b.view, i, log = b.retries[i], user_hook](
                                      int attempt, const std::exception_ptr& e, vow::retry_policy::duration delay) {
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
}

// The job's download. With a file already at its name (job::existing), a
// HEAD first: the file is complete when its size is the server's and, when a
// validator was recorded on it at completion, the validator is the server's
// (vow::http::is_complete_copy); otherwise (or when the HEAD failed) the
// download goes to job::path. The continuation holds only what outlives the
// client: a cancelled batch may be over before it runs.
vow::future<download_result> download_of(batch& b, std::size_t i) {
    const job& j = b.jobs[i];
    auto options = options_for(b, i);
    if (j.to_stdout) return stream_to_stdout(b.client, j.url, std::move(options));
    if (!j.existing) return b.client.download(j.url, j.path, std::move(options));
    auto head = options;
    head.method = "HEAD";
    head.on_progress = nullptr;
    head.decode_content = false;  // the length of the file as saved: the decoded one
    // A HEAD has no body: any Content-Length is an answer, not over max_body_size.
    head.max_body_size = std::numeric_limits<std::uint64_t>::max();
    return b.client.get(j.url, std::move(head))
        .then_result([&client = b.client, &j, options = std::move(options)](
                         vow::result<vow::http::response> r) mutable -> vow::future<download_result> {
            if (r.has_exception() && r.is_cancelled()) return vow::make_exceptional_future<download_result>(r.exception());
            if (r.has_value() && r.value().status >= 200 && r.value().status <= 299 &&
                vow::http::is_complete_copy(*j.existing, r.value().headers)) {
                std::error_code ec;
                download_result done;
                done.path = *j.existing;
                done.size = std::filesystem::file_size(*j.existing, ec);
                done.status = r.value().status;
                done.url = r.value().url;
                done.already_complete = true;
                return vow::make_ready_future(std::move(done));
            }
            return client.download(j.url, j.path, std::move(options));
        });
}

// What the report keeps of a download's result: all but the response's
// headers, which only the --content-disposition rename reads (from the
// result itself). The report holds an outcome per job until the batch ends.
download_result kept_of(const download_result& r) {
    download_result kept;
    kept.path = r.path;
    kept.size = r.size;
    kept.transferred = r.transferred;
    kept.resumed_from = r.resumed_from;
    kept.status = r.status;
    kept.url = r.url;
    kept.sha256 = r.sha256;
    kept.already_complete = r.already_complete;
    return kept;
}

// Records the outcome of job i, on the thread that ended it.
void finish(batch& b, std::size_t i, const vow::result<download_result>& ended) {
    job_outcome& out = b.report.outcomes[i];
    out.elapsed = clock::now() - b.started[i];
    {
        std::lock_guard lock(b.retries[i]->mutex);
        out.retries = std::move(b.retries[i]->records);
    }
    vow::result<download_result> r = ended.has_value() ? vow::result<download_result>(kept_of(ended.value()))
                                                       : vow::result<download_result>(ended.exception());
    const bool already_complete = r.has_value() && r.value().already_complete;
    if (r.has_value() && b.jobs[i].rename_by_disposition && !already_complete) {
        try {
            std::lock_guard lock(b.taken_mutex);
            if (auto renamed = rename_by_disposition(b.jobs[i], ended.value(), b.taken)) {
                b.view.info("rename " + r.value().path.filename().string() + " -> " + renamed->filename().string() +
                            "  (Content-Disposition)");
                r.value().path = *renamed;
            }
        } catch (...) {
            r = vow::result<download_result>(std::current_exception());
        }
    }
    if (r.has_value()) {
        out.state = job_state::done;
        out.result = std::move(r).value();
        out.already_complete = already_complete;
        b.view.finished(i, *out.result, already_complete);
    } else {
        out.error = r.exception();
        out.why = describe_error(out.error);
        if (b.counts->stopping.load() && r.is_cancelled()) {
            out.state = job_state::cancelled;
            b.view.cancelled(i);
        } else {
            out.state = job_state::failed;
            b.view.failed(i, *out.why);
        }
    }
    if (!b.json) return;
    // Built only for --json: it copies the result.
    item_report rep{vow::http::redacted_url(b.jobs[i].url),
                    out.result ? out.result->path.string() : b.jobs[i].path.string(),
                    static_cast<int>(out.retries.size()), std::chrono::duration<double>(out.elapsed).count(),
                    out.result, out.why, out.already_complete};
    b.view.print_to(1, json_line(rep));  // stdout
}

// Job i's future is done: record it, free its slot, launch what fits. May
// run inside launch(i), when the download failed before it began.
void on_end(batch& b, const std::shared_ptr<batch_counts>& counts, std::size_t i,
            const vow::result<download_result>& r) {
    finish(b, i, r);
    vow::future<download_result> spent;  // dropped after the lock: it may be the last owner of the state
    {
        std::lock_guard lock(b.futures_mutex);
        b.ended[i] = 1;
        spent = std::move(b.futures[i]);
    }
    counts->active.fetch_sub(1);
    // From here on `b` may be gone, unless pump() finds a job to launch,
    // which it does only while run_jobs waits for it.
    pump(counts, &b);
    if (counts->over()) counts->wake.notify();
}

void launch(batch& b, std::size_t i) {
    const job& j = b.jobs[i];
    b.view.started(i, j.name, j.url);
    b.started[i] = clock::now();
    b.retries[i] = std::make_shared<retry_log>();
    vow::future<download_result> f;
    try {
        f = download_of(b, i);
    } catch (...) {
        f = vow::make_exceptional_future<download_result>(std::current_exception());
    }
    // May run at once (a download that failed before it began), and then
    // finds no future kept for it.
    f.add_done_callback([&b, counts = b.counts, i](const vow::result<download_result>& r) { on_end(b, counts, i, r); });
    {
        std::lock_guard lock(b.futures_mutex);
        if (!b.ended[i]) b.futures[i] = std::move(f);
    }
    // A stop that came while this one was being launched missed it: cancel it here.
    if (b.counts->stopping.load()) {
        std::unique_lock lock(b.futures_mutex);
        auto mine = std::move(b.futures[i]);
        lock.unlock();
        mine.cancel();  // its end runs now, on this thread, and takes the lock
    }
}

void pump(const std::shared_ptr<batch_counts>& counts, batch* b) {
    if (counts->pump_requests.fetch_add(1) != 0) return;  // the running pump goes round again
    for (;;) {
        for (;;) {
            // active first (see batch_counts::over), then whether to launch at all.
            const std::size_t now_active = counts->active.fetch_add(1) + 1;
            const std::size_t i = counts->next.load();
            if (counts->stopping.load() || i == counts->jobs || now_active > counts->parallel) {
                counts->active.fetch_sub(1);
                break;
            }
            counts->next.store(i + 1);
            launch(*b, i);
        }
        int alone = 1;
        if (counts->pump_requests.compare_exchange_strong(alone, 0)) break;
        counts->pump_requests.store(1);
    }
    if (counts->over()) counts->wake.notify();  // the launch given up may have been what run_jobs waited for
}

// New files are made ahead for each folder the batch starts many new files
// in (client::make_files_ahead): the jobs with nothing at their name.
std::vector<vow::http::files_made_ahead> make_files_ahead(vow::http::client& client, const std::vector<job>& jobs) {
    std::map<std::filesystem::path, std::size_t> new_files;
    for (const auto& j : jobs)
        if (!j.to_stdout && !j.existing) ++new_files[j.path.parent_path()];
    std::vector<vow::http::files_made_ahead> made;
    for (const auto& [folder, count] : new_files) made.push_back(client.make_files_ahead(folder, count));
    return made;
}

}  // namespace

run_report run_jobs(vow::http::client& client, const std::vector<job>& jobs, std::size_t parallel,
                    progress_view& view, wakeup_pipe& wake, bool json) {
    run_report report;
    report.outcomes.resize(jobs.size());
    view.set_total_items(jobs.size());
    // The renames stay in the output folder (no -O, no out=), so its way of
    // comparing names is theirs.
    const auto renamed = std::find_if(jobs.begin(), jobs.end(), [](const job& j) { return j.rename_by_disposition; });
    const bool exact_names = renamed == jobs.end() || folder_names_compare_exactly(renamed->path.parent_path());
    batch b{client, jobs, view, json, report, std::make_shared<batch_counts>(jobs.size(), parallel, wake),
            {}, {}, {}, {}, {}, {}, taken_names(exact_names)};
    b.started.resize(jobs.size());
    b.retries.resize(jobs.size());
    b.futures.resize(jobs.size());
    b.ended.resize(jobs.size());
    // Every name a job writes is kept from the renames: its file, and the
    // .part and .part.meta a later job would take a file there for its own.
    if (renamed != jobs.end())
        for (const auto& j : jobs)
            for (const char* suffix : names_written_suffixes) b.taken.add(j.path.string() + suffix);

    const auto files_ahead = make_files_ahead(client, jobs);
    pump(b.counts, &b);
    for (;;) {
        if (!b.counts->stopping.load() && wakeup_pipe::interrupt_signal() != 0) {
            report.interrupt_signal = wakeup_pipe::interrupt_signal();
            b.counts->stopping.store(true);
            // Cancelled outside the lock: each one's end runs now, on this thread, and takes it.
            std::vector<vow::future<download_result>> in_flight;
            {
                std::lock_guard lock(b.futures_mutex);
                for (auto& f : b.futures)
                    if (f.valid()) in_flight.push_back(std::move(f));
            }
            for (auto& f : in_flight) f.cancel();  // the client closes their sockets
        }
        if (b.counts->over()) break;
        view.tick();
        wake.wait(100);
    }
    view.close();
    return report;
}

}  // namespace vow_get
