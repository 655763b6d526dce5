// The jobs of a run (a file name for each URL, none written twice) and the
// batch that runs them with at most N in flight, one client::download per
// item so each one reports its own start, retries, progress and end. A
// download that ends starts the next on the thread that ended it
// (run_jobs.cpp); the calling thread sleeps on the wakeup pipe until all
// have ended or a SIGINT/SIGTERM comes, which cancels every download in
// flight (their .part files stay) and starts nothing more.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "error_text.hpp"
#include "progress_view.hpp"
#include "signals.hpp"
#include "vow/http/client.hpp"

namespace vow_get {

struct job {
    std::string url;
    std::filesystem::path path;  // the final file; path.part while incomplete
    std::string name;            // what the view shows
    // The runner adds its progress and retry hooks to a copy. URLs without
    // options of their own share one.
    std::shared_ptr<const vow::http::request_options> options;
    // The file already at the item's own name (without --overwrite): a HEAD
    // request checks it first; when the server's size equals its size and,
    // if a validator (ETag, else Last-Modified) was recorded on it when a
    // download completed it, the server's validator is that one
    // (vow::http::is_complete_copy), the item is done ("already complete")
    // without a download, else the download goes to `path` (NAME.1, NAME.2, ...).
    std::optional<std::filesystem::path> existing;
    // -O -: the body is streamed to stdout (path is "-"); nothing is written
    // to disk and a retry happens only while no byte has been written.
    bool to_stdout = false;
    // --content-disposition without a name of the user's (-O, out=): once
    // complete, the file is renamed to the server's suggested name.
    bool rename_by_disposition = false;
    bool overwrite = false;  // --overwrite: that rename may replace a file
};

enum class job_state { not_started, done, failed, cancelled };

struct retry_record {
    int attempt = 0;  // the attempt that failed, 1-based
    error_description why;
    std::chrono::steady_clock::duration delay{};
};

struct job_outcome {
    job_state state = job_state::not_started;
    std::optional<vow::http::download_result> result;  // when done
    bool already_complete = false;                     // done by the check of `existing`, no download
    std::exception_ptr error;                          // when failed or cancelled
    std::optional<error_description> why;              // when failed or cancelled
    std::vector<retry_record> retries;
    std::chrono::steady_clock::duration elapsed{};
};

struct run_report {
    std::vector<job_outcome> outcomes;  // one per job, in job order
    int interrupt_signal = 0;           // SIGINT/SIGTERM that stopped the run, or 0
};

// What a job saved as NAME writes: NAME + each of these (the file, its
// .part and its .part.meta). No two jobs of a batch share any of them.
inline constexpr const char* names_written_suffixes[] = {"", ".part", ".part.meta"};

// Jobs for the config's URLs: each saved under file_name_for(url) (or -O FILE)
// in the output folder; a name used twice in one run gets ".1", ".2", ... like wget. A job's
// NAME.part and NAME.part.meta count as used too. Unless cfg.overwrite, a name
// already on disk is never written: see job::existing.
std::vector<job> jobs_from(const config& cfg);
vow::http::client_options client_options_from(const config& cfg);
vow::http::request_options request_options_from(const config& cfg);

// Runs `jobs`; prints one JSON line per finished item on stdout when `json`.
// The client's completion executor runs the batch's bookkeeping, the
// view's calls and those lines: one that may block on stdout must not be
// the I/O threads (see main).
run_report run_jobs(vow::http::client& client, const std::vector<job>& jobs, std::size_t parallel,
                    progress_view& view, wakeup_pipe& wake, bool json);

// Prints the failures, or what Ctrl-C left unfinished, and returns the exit code.
int summarize(const std::vector<job>& jobs, const run_report& report, progress_view& view);

}  // namespace vow_get
