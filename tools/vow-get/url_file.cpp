#include "url_file.hpp"

#include <cctype>
#include <string_view>
#include <variant>

namespace vow_get {
namespace {

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// out= names one file in the output folder: never a path, "." or "..", nor
// anything a terminal would act on.
void check_out_name(std::size_t line, const std::string& name) {
    if (name.empty()) throw url_file_error(line, "out= needs a file name");
    if (name == "." || name == "..") throw url_file_error(line, "out=" + name + " is not a file name");
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (c == '/') throw url_file_error(line, "out= takes a file name, not a path (no '/')");
        if (u < 0x20 || u == 0x7f) throw url_file_error(line, "out= holds a control character");
    }
}

// An option line is indented and starts with KEY= (KEY of a-z, 0-9, '-');
// any other line is a URL (an indented URL stays a URL, as before options).
bool is_option_line(std::string_view raw, std::string_view text) {
    if (raw.front() != ' ' && raw.front() != '\t') return false;
    std::size_t n = 0;
    while (n < text.size() && (std::islower(static_cast<unsigned char>(text[n])) ||
                               std::isdigit(static_cast<unsigned char>(text[n])) || text[n] == '-'))
        ++n;
    return n > 0 && n < text.size() && text[n] == '=';
}

void apply_option(std::size_t line, std::string_view text, url_options& options) {
    auto eq = text.find('=');
    std::string key(text.substr(0, eq));
    std::string value(text.substr(eq + 1));
    if (key == "out") {
        if (options.out) throw url_file_error(line, "out= given twice for one URL");
        check_out_name(line, value);
        options.out = value;
    } else if (key == "checksum") {
        auto sep = value.find('=');
        std::string algorithm = value.substr(0, sep == std::string::npos ? value.size() : sep);
        if (sep == std::string::npos || (algorithm != "sha-256" && algorithm != "sha256"))
            throw url_file_error(line, "checksum= expects sha-256=HEX (only SHA-256 is supported)");
        std::string hex = value.substr(sep + 1);
        if (!is_sha256_hex(hex)) throw url_file_error(line, "checksum=sha-256= expects 64 hexadecimal digits");
        for (auto& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (options.sha256) throw url_file_error(line, "checksum= given twice for one URL");
        options.sha256 = hex;
    } else if (key == "header") {
        auto parsed = parse_header_field(value);
        if (auto* problem = std::get_if<header_problem>(&parsed)) throw url_file_error(line, "header=: " + problem->message);
        options.headers.push_back(std::get<header_field>(std::move(parsed)));
    } else {
        throw url_file_error(line, "unknown option '" + key + "' (out, checksum and header are supported)");
    }
}

}  // namespace

bool is_sha256_hex(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

std::vector<url_entry> parse_url_file(std::istream& in) {
    std::vector<url_entry> entries;
    std::string raw;
    for (std::size_t line = 1; std::getline(in, raw); ++line) {
        std::string_view text = trimmed(raw);
        if (text.empty() || text.front() == '#') continue;
        if (!is_option_line(raw, text)) {
            entries.push_back(url_entry{std::string(text), {}});
            continue;
        }
        if (entries.empty()) throw url_file_error(line, "an indented option line before any URL");
        apply_option(line, text, entries.back().options);
    }
    return entries;
}

}  // namespace vow_get
