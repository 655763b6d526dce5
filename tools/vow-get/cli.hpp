// The command line of vow-get, parsed by CLI11 into a plain config that the
// rest of the tool reads; nothing else in the tool knows about CLI11.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "url_file.hpp"
#include "vow/http/proxy.hpp"

namespace vow_get {

struct config {
    std::vector<std::string> urls;             // positional URLs, then those of -i, in order
    std::vector<url_options> per_url;          // the same length: each URL's own -i options
    // -O FILE for the single URL: a path, under output_dir when relative; "-"
    // writes the body to stdout.
    std::optional<std::filesystem::path> output_file;
    std::filesystem::path output_dir = ".";    // -o
    bool output_dir_given = false;             // -o was on the command line
    std::optional<std::string> url_file;       // -i ("-" is stdin)
    std::size_t jobs = 4;                      // -j: downloads in flight
    int split = 1;                             // --split: ranges (connections) per large file
    std::size_t per_host = 0;                  // --per-host; 0: jobs * split
    int retries = 3;                           // --retries: extra attempts after the first
    std::optional<double> total_timeout_s;     // --timeout
    std::optional<double> connect_timeout_s;   // --connect-timeout
    std::optional<double> idle_timeout_s;      // --idle-timeout
    std::optional<std::uint64_t> max_filesize; // --max-filesize: bytes
    std::optional<std::uint64_t> speed_limit;  // --speed-limit: bytes per second
    std::optional<double> speed_time_s;        // --speed-time
    std::optional<std::uint64_t> limit_rate;   // --limit-rate: bytes per second, all downloads together; 0: none
    bool compressed = false;                   // --compressed: ask for gzip/deflate, save the decoded body
    std::optional<std::string> sha256;         // --sha256 (one URL only; -i has checksum= per URL)
    std::vector<std::pair<std::string, std::string>> headers;  // -H, checked, in order
    std::optional<std::string> user_agent;     // -A
    std::optional<std::pair<std::string, std::string>> user;  // --user USER[:PASS]
    std::optional<int> max_redirects;          // --max-redirects
    vow::http::proxy_settings proxy;           // the environment's, then --proxy / --noproxy
    std::optional<std::string> ca_file;        // --ca-file
    bool insecure = false;                     // --insecure
    bool resume = true;                        // cleared by --no-resume
    bool overwrite = false;                    // --overwrite: replace a file already at NAME
    bool content_disposition = false;          // --content-disposition: rename to the server's name
    bool quiet = false;                        // -q
    bool json = false;                         // --json
    bool demo = false;                         // --demo
};

// What parsing decided: run with a config, or exit now with this code (after
// --help / --version, or a usage error that has already been printed).
struct exit_now {
    int code;
};

std::variant<config, exit_now> parse_command_line(int argc, char** argv);

}  // namespace vow_get
