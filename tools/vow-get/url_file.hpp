// The -i file: one URL per line, each optionally followed by indented option
// lines that apply to it only (aria2's input-file format):
//
//   https://example.org/a.iso
//     out=debian.iso
//     checksum=sha-256=<64 hex digits>
//     header=Authorization: Bearer xyz
//
// Blank lines and lines starting with '#' are skipped; an indented line that
// does not start with KEY= is a URL, as before options existed. Any bad line makes the
// whole file a usage error that names its line; nothing is downloaded.
#pragma once

#include <istream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "header_field.hpp"

namespace vow_get {

// What an input file line may set for its URL.
struct url_options {
    std::optional<std::string> out;      // out=NAME: a file name, no folder
    std::optional<std::string> sha256;   // checksum=sha-256=HEX, lower-cased
    std::vector<header_field> headers;   // header=Name: value, in order
};

struct url_entry {
    std::string url;
    url_options options;
};

// A bad line: `line` is 1-based.
class url_file_error : public std::runtime_error {
public:
    url_file_error(std::size_t line, const std::string& message)
        : std::runtime_error("line " + std::to_string(line) + ": " + message) {}
};

// Throws url_file_error for the first bad line.
std::vector<url_entry> parse_url_file(std::istream& in);

bool is_sha256_hex(const std::string& s);

}  // namespace vow_get
