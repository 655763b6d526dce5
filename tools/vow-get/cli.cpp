#include "cli.hpp"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "exit_codes.hpp"
#include "header_field.hpp"
#include "proxy_options.hpp"

namespace vow_get {
namespace {

// Reads URLs and their option lines from a file (or stdin for "-"); a bad
// line is a usage error of -i that names the file and the line.
std::vector<url_entry> read_url_file(const std::string& name) {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (name != "-") {
        file.open(name);
        if (!file) throw CLI::ValidationError("--input-file", "cannot read " + name);
        in = &file;
    }
    try {
        return parse_url_file(*in);
    } catch (const url_file_error& e) {
        throw CLI::ValidationError("--input-file", (name == "-" ? std::string("stdin") : name) + ": " + e.what());
    }
}

// Seconds that make sense as a timeout: a finite number above 0 ("nan",
// "inf" and "-1" are usage errors; CLI11's PositiveNumber lets nan and inf by).
const CLI::Validator finite_positive_seconds(
    [](std::string& text) -> std::string {
        double v = 0;
        try {
            std::size_t used = 0;
            v = std::stod(text, &used);
            if (used != text.size()) return "'" + text + "' is not a number of seconds";
        } catch (const std::exception&) {
            return "'" + text + "' is not a number of seconds";
        }
        if (!std::isfinite(v) || v <= 0) return "'" + text + "' must be a finite number of seconds above 0";
        return {};
    },
    "SECONDS");

// A rate as curl's --limit-rate takes it: whole bytes, optionally followed
// by K, M or G (1024, 1024^2, 1024^3; either case).
std::optional<std::uint64_t> parse_rate(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == 0 || digits + 1 < text.size()) return std::nullopt;
    std::uint64_t scale = 1;
    if (digits < text.size()) {
        switch (std::toupper(static_cast<unsigned char>(text[digits]))) {
            case 'K': scale = 1ull << 10; break;
            case 'M': scale = 1ull << 20; break;
            case 'G': scale = 1ull << 30; break;
            default: return std::nullopt;
        }
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    if (value > std::numeric_limits<std::uint64_t>::max() / scale) return std::nullopt;
    return value * scale;
}

}  // namespace

std::variant<config, exit_now> parse_command_line(int argc, char** argv) {
    config cfg;
    CLI::App app{"vow-get: download files concurrently, with retries, timeouts and resume.\n"
                 "Each file is saved under the last path segment of its URL, with a .part\n"
                 "file beside it until it is complete. Ctrl-C keeps .part files; run the\n"
                 "same command again to resume. Only GET is sent (-H, -A and --user shape\n"
                 "it); there is no --method, --data or upload.",
                 "vow-get"};
    app.set_version_flag("--version", std::string("vow-get ") + VOW_GET_VERSION);
    app.add_option("URL", cfg.urls, "URLs to download (http:// or https://)");
    app.add_option("-o,--output-dir", cfg.output_dir, "folder to save the files in (default: .)");
    app.add_option("-O,--output", cfg.output_file,
                   "save the single URL as FILE (under -o DIR when relative); '-': write it to stdout")
        ->type_name("FILE");
    app.add_option("-i,--input-file", cfg.url_file, "read more URLs from FILE, one per line ('-': stdin), each optionally followed\n"
                   "by indented out=NAME, checksum=sha-256=HEX and header=NAME: VALUE lines");
    app.add_option("-j,--jobs", cfg.jobs, "downloads in flight at once")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
        ->capture_default_str();
    app.add_option("--split", cfg.split,
                   "fetch each large file as N byte ranges over N connections (as aria2's -s/-x):\n"
                   "faster from a server that limits each connection or is far away, not on a\n"
                   "fast local link; only files of 2 MiB or more whose server serves ranges")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_option("--per-host", cfg.per_host, "connections per host (default: -j times --split)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
    app.add_option("--retries", cfg.retries, "extra attempts after a retryable failure")
        ->check(CLI::Range(0, 100))
        ->capture_default_str();
    app.add_option("--timeout", cfg.total_timeout_s, "total seconds allowed per attempt (default 3600)")
        ->check(finite_positive_seconds);
    app.add_option("--connect-timeout", cfg.connect_timeout_s,
                   "seconds for resolve + connect + TLS handshake (default 10)")
        ->check(finite_positive_seconds);
    app.add_option("--idle-timeout", cfg.idle_timeout_s,
                   "seconds without a byte before giving up (default 30)")
        ->check(finite_positive_seconds);
    // AsSizeValue would wrap "-5" around to a huge unsigned size.
    const CLI::Validator not_negative(
        [](std::string& text) { return text.find('-') == std::string::npos ? std::string() : "must not be negative"; },
        "", "not negative");
    app.add_option("--max-filesize", cfg.max_filesize,
                   "fail a file larger than SIZE bytes (suffixes k, M, G: powers of 1024)")
        ->check(not_negative)
        ->transform(CLI::AsSizeValue(false));
    app.add_option("--speed-limit", cfg.speed_limit,
                   "fail a body slower than N bytes/s over --speed-time (suffixes k, M, G)")
        ->check(not_negative)
        ->transform(CLI::AsSizeValue(false));
    app.add_option("--speed-time", cfg.speed_time_s,
                   "seconds the --speed-limit is measured over (default 30; alone: limit 1 byte/s)")
        ->check(finite_positive_seconds);
    std::optional<std::string> limit_rate_arg;
    app.add_option("--limit-rate", limit_rate_arg,
                   "at most RATE bytes/s for all downloads together, shared fairly (suffixes K, M, G:\n"
                   "powers of 1024; 0: no limit)")
        ->type_name("RATE");
    app.add_flag("--compressed", cfg.compressed,
                 "ask for a gzip or deflate body and save it decoded (sizes and progress count\n"
                 "decoded bytes; such a download restarts instead of resuming)");
    app.add_option("--sha256", cfg.sha256, "expected SHA-256 (hex) of the file; one URL only");
    std::vector<std::string> header_args;
    app.add_option("-H,--header", header_args, "send this request header ('Name: value'); repeatable")
        ->type_name("'NAME: VALUE'")
        ->allow_extra_args(false);  // one header per -H: the next word is a URL
    app.add_option("-A,--user-agent", cfg.user_agent, "send this User-Agent (default: vow-get/VERSION)");
    std::optional<std::string> user_arg;
    app.add_option("--user", user_arg, "Basic authentication as USER with password PASS (empty without ':')")
        ->type_name("USER[:PASS]");
    app.add_option("--max-redirects", cfg.max_redirects, "redirects to follow at most (default 10)")
        ->check(CLI::Range(0, 100));
    std::optional<std::string> proxy_arg, noproxy_arg;
    app.add_option("--proxy", proxy_arg, "use this http:// proxy (http://[USER:PASS@]HOST[:PORT]; '' for none),\n"
                   "instead of http_proxy, https_proxy and all_proxy")
        ->type_name("URL");
    app.add_option("--noproxy", noproxy_arg, "hosts to reach without the proxy (comma-separated, '*' for all),\n"
                   "instead of no_proxy")
        ->type_name("LIST");
    app.add_option("--ca-file", cfg.ca_file, "PEM file of extra CAs to trust")->check(CLI::ExistingFile);
    app.add_flag("--insecure", cfg.insecure, "do not verify TLS certificates (testing only)");
    bool no_resume = false;
    app.add_flag("--no-resume", no_resume, "start over instead of continuing a .part file");
    app.add_flag("--overwrite", cfg.overwrite,
                 "replace a file already at NAME (default: skip it when complete, else save as NAME.1)");
    app.add_flag("--content-disposition", cfg.content_disposition,
                 "once a file is complete, rename it to the server's Content-Disposition filename\n"
                 "(a safe base name; not with -O or out=)");
    app.add_flag("-q,--quiet", cfg.quiet, "no progress output; failures are still reported");
    app.add_flag("--json", cfg.json, "print one JSON object per finished item on stdout");
    app.add_flag("--demo", cfg.demo,
                 "download a scripted set from an in-process fault-injecting server");

    try {
        app.parse(argc, argv);
        cfg.resume = !no_resume;
        cfg.output_dir_given = app.count("-o") > 0;
        cfg.per_url.resize(cfg.urls.size());
        if (cfg.url_file) {
            for (auto& entry : read_url_file(*cfg.url_file)) {
                cfg.urls.push_back(std::move(entry.url));
                cfg.per_url.push_back(std::move(entry.options));
            }
        }
        if (cfg.demo && !cfg.urls.empty()) {
            throw CLI::ValidationError("--demo", "takes no URLs");
        }
        if (!cfg.demo && cfg.urls.empty()) {
            throw CLI::ValidationError("URL", "no URL given (try --help, or --demo)");
        }
        for (const auto& text : header_args) {
            auto parsed = parse_header_field(text);
            if (auto* problem = std::get_if<header_problem>(&parsed))
                throw CLI::ValidationError("--header", problem->message);
            cfg.headers.push_back(std::get<header_field>(std::move(parsed)));
        }
        if (limit_rate_arg) {
            cfg.limit_rate = parse_rate(*limit_rate_arg);
            if (!cfg.limit_rate)
                throw CLI::ValidationError("--limit-rate", "'" + *limit_rate_arg +
                                                               "' is not a rate: give bytes per second, optionally "
                                                               "with K, M or G (e.g. 500K, 2M)");
        }
        if (cfg.user_agent && !fits_in_header_value(*cfg.user_agent))
            throw CLI::ValidationError("--user-agent", "holds a control character");
        if (user_arg) {
            if (user_arg->empty()) throw CLI::ValidationError("--user", "expects USER or USER:PASS");
            auto colon = user_arg->find(':');
            if (colon == std::string::npos) {
                cfg.user.emplace(*user_arg, "");
            } else {
                cfg.user.emplace(user_arg->substr(0, colon), user_arg->substr(colon + 1));
            }
        }
        if (cfg.output_file) {
            if (cfg.output_file->empty()) throw CLI::ValidationError("--output", "expects a file name or '-'");
            if (cfg.urls.size() != 1) {
                throw CLI::ValidationError("--output", "names one file, so it needs exactly one URL (got " +
                                                           std::to_string(cfg.urls.size()) + ")");
            }
            if (*cfg.output_file == "-" && cfg.json) {
                throw CLI::ValidationError("--output", "'-' writes the body to stdout, where --json writes too");
            }
            if (*cfg.output_file == "-" && (cfg.sha256 || cfg.per_url.at(0).sha256)) {
                throw CLI::ValidationError("--output", "'-' streams the body as it comes, so no checksum can "
                                                       "be checked before it is written");
            }
        }
        if (cfg.sha256) {
            if (!is_sha256_hex(*cfg.sha256)) {
                throw CLI::ValidationError("--sha256", "expects 64 hexadecimal digits");
            }
            if (cfg.urls.size() != 1) {
                throw CLI::ValidationError("--sha256", "needs exactly one URL (for several, give each its "
                                                       "checksum=sha-256=HEX line in an -i file)");
            }
        }
        if (cfg.per_host == 0) cfg.per_host = cfg.jobs * static_cast<std::size_t>(cfg.split);
        try {
            cfg.proxy = choose_proxies(proxy_arg, noproxy_arg);
        } catch (const proxy_problem& p) {
            throw CLI::ValidationError(p.source, p.message);
        }
    } catch (const CLI::ParseError& e) {
        // --help and --version arrive here too, with exit code 0.
        int code = app.exit(e);
        return exit_now{code == 0 ? exit_ok : exit_usage};
    }
    return cfg;
}

}  // namespace vow_get
