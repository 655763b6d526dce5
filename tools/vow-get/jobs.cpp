#include "jobs.hpp"

#include <algorithm>
#include <csignal>
#include <iterator>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "exit_codes.hpp"
#include "folder_names.hpp"
#include "format.hpp"
#include "vow/http/retry.hpp"

namespace vow_get {
namespace {

using clock = std::chrono::steady_clock;

// Saturates: a timeout of 1e30 s means "no limit to speak of", not an
// overflow into the past. The ceiling (about 31 years) leaves room for the
// client to add it to the current time.
clock::duration seconds_to_duration(double s) {
    constexpr double ceiling_s = 1e9;
    if (!(s > 0)) return clock::duration::zero();
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(std::min(s, ceiling_s)));
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

std::uint64_t part_size(const std::filesystem::path& path) {
    std::error_code ec;
    auto part = path;
    part += ".part";
    auto n = std::filesystem::file_size(part, ec);
    return ec ? 0 : n;
}

// Whether `entry` is a name a job may be saved under: a BASE of `bases`, or
// BASE.N, BASE.N.M, ... (a name taken twice gets a number, and so may that).
bool is_base_or_numbered(std::string_view entry, const std::unordered_set<std::string>& bases) {
    for (;;) {
        if (bases.contains(std::string(entry))) return true;
        const auto dot = entry.rfind('.');
        if (dot == std::string_view::npos || dot + 1 == entry.size()) return false;
        const auto number = entry.substr(dot + 1);
        if (!std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
        entry = entry.substr(0, dot);
    }
}

// The entries of `folder` that a job could be saved under (see
// is_base_or_numbered) and their .part files, or none when the folder cannot
// be read (each name is then looked up). One listing costs less than a
// lookup per name for a long list of URLs: each lookup of a name not there
// is a search of the folder. Only those entries are kept, so a large folder
// costs time, not memory. Used only where names compare as bytes
// (folder_names.hpp): elsewhere "not listed" would not mean "free".
std::optional<std::unordered_set<std::string>> names_in(const std::filesystem::path& folder,
                                                        const std::unordered_set<std::string>& bases) {
    std::error_code ec;
    std::filesystem::directory_iterator it(folder, ec);
    if (ec) return std::nullopt;
    std::unordered_set<std::string> names;
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
        std::string entry = it->path().filename().string();
        std::string_view name = entry;
        // NAME.part is kept for the job at NAME, which resumes it (and may itself be a base).
        const bool part_of_one =
            name.ends_with(".part") && is_base_or_numbered(name.substr(0, name.size() - 5), bases);
        if (part_of_one || is_base_or_numbered(name, bases)) names.insert(std::move(entry));
    }
    if (ec) return std::nullopt;
    return names;
}

}  // namespace

std::vector<job> jobs_from(const config& cfg) {
    std::vector<job> jobs;
    jobs.reserve(cfg.urls.size());
    // Every name a job writes: NAME, NAME.part and NAME.part.meta. A name is
    // free only when all three are, so "x" and "x.part" in one batch cannot
    // write into each other's files.
    // Where the folder matches names without regard to case, so does this.
    const bool exact_names = folder_names_compare_exactly(cfg.output_dir);
    taken_names used(exact_names);
    auto is_free = [&](const std::string& name) {
        return std::none_of(std::begin(names_written_suffixes), std::end(names_written_suffixes),
                            [&](const char* suffix) { return used.contains(name + suffix); });
    };
    auto reserve = [&](const std::string& name) {
        for (const char* suffix : names_written_suffixes) used.add(name + suffix);
    };
    // Without --overwrite a file on disk is never replaced, nor is anything
    // at that name that is not a regular file (a symlink is not followed).
    // A long list reads the folder once; a name with a folder of its own
    // (-O DIR/FILE) is looked up where it is.
    auto base_of = [&](std::size_t i) {
        const url_options& own = cfg.per_url.at(i);
        return cfg.output_file ? cfg.output_file->string() : own.out ? *own.out : vow::http::file_name_for(cfg.urls[i]);
    };
    std::vector<std::string> bases;
    bases.reserve(cfg.urls.size());
    for (std::size_t i = 0; i < cfg.urls.size(); ++i) bases.push_back(base_of(i));
    constexpr std::size_t list_folder_from = 16;
    std::optional<std::unordered_set<std::string>> listed;
    if (!cfg.overwrite && cfg.urls.size() >= list_folder_from && exact_names)
        listed = names_in(cfg.output_dir, std::unordered_set<std::string>(bases.begin(), bases.end()));
    // Whether the listing can answer for `name`. It has no "." nor "..":
    // those, like a name with a folder, are looked up.
    auto listing_answers = [&](const std::string& name) {
        return listed && name.find('/') == std::string::npos && name != "." && name != "..";
    };
    auto on_disk = [&](const std::string& name) {
        if (cfg.overwrite) return false;
        if (listing_answers(name)) return listed->contains(name);
        std::error_code ec;
        return std::filesystem::symlink_status(cfg.output_dir / name, ec).type() !=
               std::filesystem::file_type::not_found;
    };
    // The command line's options, shared by every URL without options of its
    // own; with a listing, a second set for the names it shows without a
    // .part, so that download() does not look for one.
    auto options = std::make_shared<const vow::http::request_options>(request_options_from(cfg));
    std::shared_ptr<vow::http::request_options> options_without_part;
    if (listed) {
        options_without_part = std::make_shared<vow::http::request_options>(*options);
        options_without_part->part_known_absent = true;
    }
    auto options_of = [&](const url_options& own, bool no_part) -> std::shared_ptr<const vow::http::request_options> {
        if (own.headers.empty() && !own.sha256) return no_part ? options_without_part : options;
        auto mine = std::make_shared<vow::http::request_options>(with_own_headers(*options, own));
        if (own.sha256) mine->sha256 = own.sha256;
        mine->part_known_absent = no_part;
        return mine;
    };
    if (cfg.output_file && *cfg.output_file == "-") {
        jobs.push_back(
            job{cfg.urls.at(0), "-", "-", options_of(cfg.per_url.at(0), false), std::nullopt, true, false, false});
        return jobs;
    }
    for (std::size_t i = 0; i < cfg.urls.size(); ++i) {
        const std::string& url = cfg.urls[i];
        const url_options& own = cfg.per_url.at(i);
        const std::string& base = bases[i];
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
        const bool no_part = listing_answers(name) && !listed->contains(name + ".part");
        jobs.push_back(job{url, cfg.output_dir / name, name, options_of(own, no_part), existing, false,
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
    // Without --overwrite the names are chosen free (jobs_from), so they are
    // not looked up again; one taken meanwhile is not replaced as the
    // download ends (a file_error; the download stays as the .part).
    if (!cfg.overwrite) {
        o.if_exists = vow::http::existing_file_policy::fail;
        o.path_known_free = true;
    }
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
