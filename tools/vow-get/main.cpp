// vow-get: downloads URLs concurrently with vow::http, or runs --demo.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <variant>

#include "cli.hpp"
#include "demo.hpp"
#include "exit_codes.hpp"
#include "jobs.hpp"
#include "progress_view.hpp"
#include "signals.hpp"
#include "vow/http/client.hpp"
#include "vow/inline_executor.hpp"
#include "vow/thread_pool.hpp"

namespace {

int download_urls(const vow_get::config& cfg) {
    std::error_code ec;
    std::filesystem::create_directories(cfg.output_dir, ec);
    if (ec) {
        std::fprintf(stderr, "vow-get: cannot create %s: %s\n", cfg.output_dir.string().c_str(),
                     ec.message().c_str());
        return vow_get::exit_some_failed;
    }
    auto jobs = vow_get::jobs_from(cfg);

    // Declaration order is destruction order in reverse: the client goes first
    // (cancelling and joining its I/O), then the pool runs what callbacks are
    // left, and only then do the view and the pipe those callbacks use go away.
    vow_get::wakeup_pipe wake;
    wake.catch_interrupts();
    vow_get::progress_view view(vow_get::choose_view_mode(cfg.quiet));
    view.label_decoded(cfg.compressed);
    // The callbacks (a download's end and the next one's start, progress
    // figures) are short and never wait, so they run on the I/O thread that
    // completes them: no hand-off to another thread per file. Writing to
    // stdout can block, so a download to stdout, or --json's lines, have them
    // on a pool of their own.
    std::optional<vow::thread_pool> callbacks;
    auto options = vow_get::client_options_from(cfg);
    options.completion_executor = &vow::inline_executor::instance();
    if (cfg.json || std::any_of(jobs.begin(), jobs.end(), [](const vow_get::job& j) { return j.to_stdout; }))
        options.completion_executor = &callbacks.emplace(2, "vow-get-cb");
    vow::http::client client(options);
    if (cfg.insecure)
        view.important("warning: --insecure: TLS certificates and host names are not verified; "
                       "anyone on the path can read and change these downloads");

    auto report = vow_get::run_jobs(client, jobs, cfg.jobs, view, wake, cfg.json);
    return vow_get::summarize(jobs, report, view);
}

}  // namespace

int main(int argc, char** argv) {
    auto parsed = vow_get::parse_command_line(argc, argv);
    if (auto* stop = std::get_if<vow_get::exit_now>(&parsed)) return stop->code;
    const auto& cfg = std::get<vow_get::config>(parsed);
    try {
        return cfg.demo ? vow_get::run_demo(cfg) : download_urls(cfg);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vow-get: %s\n", e.what());
        return vow_get::exit_some_failed;
    }
}
