#include "demo.hpp"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "exit_codes.hpp"
#include "format.hpp"
#include "jobs.hpp"
#include "progress_view.hpp"
#include "signals.hpp"
#include "vow/errors.hpp"
#include "vow/http/client.hpp"
#include "vow/http/errors.hpp"
#include "vow/http/loopback_server.hpp"
#include "vow/http/retry.hpp"
#include "vow/thread_pool.hpp"

namespace vow_get {
namespace {

using clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// What a case showed, and whether that is what it was meant to show.
struct verdict {
    bool expected = false;
    std::string story;
};

struct demo_case {
    std::string name;
    std::string target;  // on the loopback server
    std::uint64_t size;  // of the full body
    std::function<void(vow::http::request_options&)> adjust;  // per-case options
    std::function<verdict(const job_outcome&, const std::string& byte_check)> judge;
};

constexpr std::uint64_t KiB = 1024, MiB = 1024 * KiB;
constexpr std::uint64_t large_size = 64 * MiB;
constexpr std::uint64_t slow_size = 3 * MiB, slow_rate = 768 * KiB;
constexpr std::uint64_t flaky_size = 1 * MiB;
constexpr std::uint64_t reset_size = 8 * MiB, reset_at = 3 * MiB;
constexpr std::uint64_t stall_size = 4 * MiB, stall_at = 1 * MiB;
constexpr auto stall_idle_timeout = std::chrono::seconds(2);

// "byte-exact" when the file holds exactly the server's bytes, else why not.
std::string check_bytes(const fs::path& path, std::uint64_t size) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "file missing";
    std::vector<char> buf(1 << 20);
    std::uint64_t pos = 0;
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        auto n = static_cast<std::uint64_t>(in.gcount());
        for (std::uint64_t k = 0; k < n; ++k) {
            if (buf[k] != vow::http::loopback_server::byte_at(pos + k)) {
                return "MISMATCH at byte " + std::to_string(pos + k);
            }
        }
        pos += n;
    }
    if (pos != size) return "WRONG SIZE " + std::to_string(pos) + " (want " + std::to_string(size) + ")";
    return "byte-exact";
}

std::string failure_of(const job_outcome& o) { return o.why ? o.why->message : std::string("?"); }

std::vector<demo_case> demo_cases() {
    std::vector<demo_case> cases;
    cases.push_back({"large.bin", "/bytes/" + std::to_string(large_size), large_size, nullptr,
                     [](const job_outcome& o, const std::string& bytes) {
                         if (o.state != job_state::done) return verdict{false, "failed: " + failure_of(o)};
                         double s = std::chrono::duration<double>(o.elapsed).count();
                         return verdict{bytes == "byte-exact",
                                        format_bytes(o.result->size) + " streamed to disk in " +
                                            format_seconds(o.elapsed) + " (" +
                                            format_rate(static_cast<double>(o.result->transferred) / s) +
                                            "), " + bytes};
                     }});
    cases.push_back({"slow.bin",
                     "/bytes/" + std::to_string(slow_size) + "?rate=" + std::to_string(slow_rate), slow_size,
                     nullptr, [](const job_outcome& o, const std::string& bytes) {
                         if (o.state != job_state::done) return verdict{false, "failed: " + failure_of(o)};
                         return verdict{bytes == "byte-exact",
                                        "server limited to " + format_rate(slow_rate) + ": " +
                                            format_bytes(o.result->size) + " in " + format_seconds(o.elapsed) +
                                            ", " + bytes};
                     }});
    cases.push_back({"flaky.bin",
                     "/bytes/" + std::to_string(flaky_size) + "?fail=2&status=503&retry_after=1&key=demo-flaky",
                     flaky_size, nullptr, [](const job_outcome& o, const std::string& bytes) {
                         if (o.state != job_state::done) return verdict{false, "failed: " + failure_of(o)};
                         bool all_503 = !o.retries.empty();
                         std::string waits;
                         for (const auto& r : o.retries) {
                             all_503 = all_503 && r.why.http_status == 503u;
                             waits += (waits.empty() ? "" : ", ") + format_seconds(r.delay);
                         }
                         return verdict{o.retries.size() == 2 && all_503 && bytes == "byte-exact",
                                        std::to_string(o.retries.size()) +
                                            " retries after HTTP 503 with Retry-After: 1 (waited " + waits +
                                            "), then done, " + bytes};
                     }});
    cases.push_back({"resumed.bin",
                     "/bytes/" + std::to_string(reset_size) + "?rate=" + std::to_string(4 * MiB) +
                         "&reset_after=" + std::to_string(reset_at) + "&faults=1&key=demo-reset",
                     reset_size, nullptr, [](const job_outcome& o, const std::string& bytes) {
                         if (o.state != job_state::done) return verdict{false, "failed: " + failure_of(o)};
                         std::string why = o.retries.empty() ? "no retry?" : o.retries.front().why.message;
                         return verdict{!o.retries.empty() && o.result->resumed_from > 0 && bytes == "byte-exact",
                                        "connection reset mid-body (" + why + "); the retry resumed from " +
                                            format_bytes(o.result->resumed_from) + " with a Range request (status " +
                                            std::to_string(o.result->status) + "), " + bytes};
                     }});
    cases.push_back({"stalled.bin",
                     "/bytes/" + std::to_string(stall_size) + "?stall_after=" + std::to_string(stall_at),
                     stall_size,
                     [](vow::http::request_options& o) {
                         o.idle_timeout = stall_idle_timeout;
                         o.retry.reset();  // show the timeout itself, once
                     },
                     [](const job_outcome& o, const std::string&) {
                         bool timed_out = false;
                         try {
                             if (o.error) std::rethrow_exception(o.error);
                         } catch (const vow::timeout_error&) {
                             timed_out = true;
                         } catch (...) {
                         }
                         if (o.state == job_state::done) return verdict{false, "finished, but should have stalled"};
                         return verdict{timed_out, "server went silent after " + format_bytes(stall_at) +
                                                       "; gave up after the " +
                                                       std::to_string(stall_idle_timeout.count()) +
                                                       " s idle timeout as expected: " + failure_of(o) +
                                                       " (.part kept for a resume)"};
                     }});
    cases.push_back({"missing.bin", "/status/404", 0, nullptr, [](const job_outcome& o, const std::string&) {
                         bool is_404 = o.state == job_state::failed && o.why && o.why->http_status == 404u;
                         return verdict{is_404 && o.retries.empty(),
                                        "failed as expected with " + failure_of(o) + ", not retried (" +
                                            std::to_string(o.retries.size()) + " retries)"};
                     }});
    return cases;
}

fs::path make_temp_dir() {
    std::string templ = (fs::temp_directory_path() / "vow-get-demo-XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    return templ;
}

}  // namespace

int run_demo(const config& cfg) {
    auto started = clock::now();
    const bool keep_files = cfg.output_dir_given;
    fs::path dir = keep_files ? cfg.output_dir : make_temp_dir();
    fs::create_directories(dir);
    auto cases = demo_cases();

    // Destroyed in reverse: client, callback pool, view, pipe, then the server.
    vow::http::loopback_server server(vow::http::loopback_server::options{false, 2});
    wakeup_pipe wake;
    wake.catch_interrupts();
    progress_view view(choose_view_mode(cfg.quiet));
    vow::thread_pool callbacks(2, "vow-get-cb");
    vow::http::client_options client_opts;
    client_opts.completion_executor = &callbacks;
    client_opts.max_connections = cases.size();
    client_opts.max_connections_per_host = cases.size();
    client_opts.user_agent = std::string("vow-get/") + VOW_GET_VERSION + " (demo)";
    vow::http::client client(client_opts);

    std::vector<job> jobs;
    for (const auto& c : cases) {
        vow::http::request_options options;
        options.retry = vow::http::retry_policy(4);
        if (c.adjust) c.adjust(options);
        fs::path path = dir / c.name;
        std::error_code ec;
        fs::remove(path, ec);  // a leftover from an earlier demo would spoil the story
        fs::remove(fs::path(path) += ".part", ec);
        jobs.push_back(job{server.http_url(c.target), path, c.name,
                           std::make_shared<const vow::http::request_options>(std::move(options)), std::nullopt});
    }

    view.info("vow-get demo: a fault-injecting server on " + server.http_url("/") + ", " +
              std::to_string(jobs.size()) + " downloads at once into " + dir.string());
    auto report = run_jobs(client, jobs, jobs.size(), view, wake, cfg.json);
    if (report.interrupt_signal != 0) return summarize(jobs, report, view);

    bool all_expected = true;
    view.important("what each case showed:");
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& o = report.outcomes[i];
        std::string bytes = o.state == job_state::done ? check_bytes(jobs[i].path, cases[i].size) : "";
        verdict v = cases[i].judge(o, bytes);
        all_expected = all_expected && v.expected;
        view.important(std::string(v.expected ? "  ok          " : "  UNEXPECTED  ") + cases[i].name + ": " + v.story);
    }
    auto took = clock::now() - started;
    if (!keep_files) {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    view.important(std::string(all_expected ? "demo: every case behaved as expected" : "demo: SOME CASES DID NOT") +
                   " in " + format_seconds(took) +
                   (keep_files ? " (files kept in " + dir.string() + ")" : " (temporary files removed)"));
    return all_expected ? exit_ok : exit_some_failed;
}

}  // namespace vow_get
