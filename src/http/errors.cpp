#include "vow/http/errors.hpp"

#include <charconv>
#include <ctime>

namespace vow::http {

namespace {

// The length of the valid UTF-8 sequence at text[i] (2 to 4), or 0, and its code point.
std::size_t utf8_sequence(std::string_view text, std::size_t i, char32_t& code_point) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t len = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 && lead <= 0xdf ? 2 : 0;
    if (lead > 0xf4) len = 0;
    if (len == 0 || i + len > text.size()) return 0;
    char32_t cp = lead & (0xff >> (len + 1));
    for (std::size_t k = 1; k < len; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3f);
    }
    const char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < smallest[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;  // overlong, surrogate
    code_point = cp;
    return len;
}

std::string status_message(unsigned status, const std::string& reason, const std::string& url) {
    std::string m = "HTTP " + std::to_string(status);
    if (!reason.empty()) m += " " + printable_text(reason);
    if (!url.empty()) m += " from " + url;
    return m;
}

// "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate, the form RFC 9110 requires senders to use).
// In whole seconds: a date centuries away stays representable (in the system
// clock's nanoseconds it would overflow past 2262).
std::optional<std::chrono::sys_seconds> parse_imf_fixdate(const std::string& s) {
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (s.size() != 29 || s[3] != ',' || s.compare(26, 3, "GMT") != 0) return std::nullopt;
    auto number = [&](std::size_t at, std::size_t len) -> int {
        int v = -1;
        auto [p, ec] = std::from_chars(s.data() + at, s.data() + at + len, v);
        return (ec == std::errc() && p == s.data() + at + len) ? v : -1;
    };
    int day = number(5, 2), year = number(12, 4), hour = number(17, 2), minute = number(20, 2),
        second = number(23, 2);
    int month = -1;
    for (int m = 0; m < 12; ++m) {
        if (s.compare(8, 3, months[m]) == 0) month = m;
    }
    if (day < 1 || day > 31 || year < 1970 || month < 0 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 60)
        return std::nullopt;
    using namespace std::chrono;
    auto ymd = year_month_day{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month + 1)},
                              std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok()) return std::nullopt;
    return sys_days{ymd} + hours{hour} + minutes{minute} + seconds{second};
}

}  // namespace

std::string printable_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto u = static_cast<unsigned char>(text[i]);
        if (u < 0x80) {
            out += (u < 0x20 || u == 0x7f) ? '?' : text[i];  // C0 controls and DEL
            ++i;
            continue;
        }
        char32_t cp = 0;
        if (std::size_t len = utf8_sequence(text, i, cp)) {
            // C1 controls encoded as UTF-8 (U+009B is CSI to a UTF-8 terminal).
            if (cp >= 0x80 && cp <= 0x9f) {
                out += '?';
            } else {
                out.append(text.substr(i, len));
            }
            i += len;
            continue;
        }
        // Not UTF-8: a raw C1 byte (0x9b is CSI to an 8-bit terminal) becomes
        // '?'; any other stray byte is harmless and kept.
        out += (u <= 0x9f) ? '?' : text[i];
        ++i;
    }
    return out;
}

status_error::status_error(unsigned status, std::string reason, header_map headers, std::string url)
    : vow::error(status_message(status, reason, url)),
      status_(status),
      reason_(std::move(reason)),
      headers_(std::move(headers)),
      url_(std::move(url)) {
    if (auto v = headers_.find("Retry-After")) retry_after_ = parse_retry_after(*v, std::chrono::system_clock::now());
}

namespace {

std::string proxy_message(unsigned status, const std::string& reason, const std::string& proxy,
                          const std::string& url) {
    std::string m = "proxy " + proxy + " answered " + std::to_string(status);
    if (!reason.empty()) m += " " + printable_text(reason);
    m += " for " + url;
    // 407 is the standard answer; some proxies (tinyproxy 1.11) answer CONNECT with 401.
    if (status == 407 || status == 401)
        m += " (proxy authentication failed: give the right user:password@ in the proxy URL)";
    return m;
}

}  // namespace

proxy_error::proxy_error(unsigned status, std::string reason, std::string proxy, std::string url)
    : vow::error(proxy_message(status, reason, proxy, url)),
      status_(status),
      reason_(std::move(reason)),
      proxy_(std::move(proxy)),
      url_(std::move(url)) {}

transport_error::transport_error(std::error_code code, const std::string& what)
    : vow::error(what + ": " + code.message()), code_(code) {}

tls_verify_error::tls_verify_error(std::error_code code, long verify_result, std::string reason,
                                   const std::string& url)
    : transport_error(code, "TLS certificate of " + url + " not accepted: " + reason),
      verify_result_(verify_result),
      reason_(std::move(reason)) {}

checksum_error::checksum_error(std::string expected, std::string actual)
    : vow::error("SHA-256 mismatch: expected " + expected + ", got " + actual),
      expected_(std::move(expected)),
      actual_(std::move(actual)) {}

file_error::file_error(std::error_code code, const std::string& what)
    : vow::error(what + ": " + code.message()), code_(code) {}

std::optional<std::chrono::seconds> parse_retry_after(const std::string& raw,
                                                      std::chrono::system_clock::time_point now) {
    auto first = raw.find_first_not_of(" \t");
    auto last = raw.find_last_not_of(" \t");
    if (first == std::string::npos) return std::nullopt;
    std::string value = raw.substr(first, last - first + 1);
    if (value.find_first_not_of("0123456789") == std::string::npos) {
        std::chrono::seconds::rep secs = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
        // More digits than fit: as long as can be said (the retry policy caps it).
        if (ec == std::errc::result_out_of_range) return std::chrono::seconds::max();
        if (ec != std::errc() || p != value.data() + value.size()) return std::nullopt;
        return std::chrono::seconds(secs);
    }
    auto at = parse_imf_fixdate(value);
    if (!at) return std::nullopt;
    auto delta = *at - std::chrono::floor<std::chrono::seconds>(now);
    return delta.count() > 0 ? delta : std::chrono::seconds(0);
}

}  // namespace vow::http
