#include "json_output.hpp"

#include <cstdio>

namespace vow_get {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = at(i);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > s.size()) return 0;
    if (len == 2 && c < 0xc2) return 0;  // overlong
    for (std::size_t k = 1; k < len; ++k) {
        if ((at(i + k) & 0xc0) != 0x80) return 0;
    }
    return len;
}

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}

}  // namespace

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size();) {
        auto c = static_cast<unsigned char>(text[i]);
        switch (c) {
            case '"': out += "\\\""; ++i; continue;
            case '\\': out += "\\\\"; ++i; continue;
            case '\n': out += "\\n"; ++i; continue;
            case '\r': out += "\\r"; ++i; continue;
            case '\t': out += "\\t"; ++i; continue;
            case '\b': out += "\\b"; ++i; continue;
            case '\f': out += "\\f"; ++i; continue;
            default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            ++i;
            continue;
        }
        std::size_t len = utf8_sequence(text, i);
        if (len == 0) {
            out += "\\ufffd";
            ++i;
            continue;
        }
        if (len == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
            // U+0080-U+009F, the C1 controls: escaped, so a terminal showing
            // the JSON never sees them (U+009B is CSI to a UTF-8 terminal).
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(text[i + 1]));
            out += buf;
            i += len;
            continue;
        }
        out.append(text.substr(i, len));
        i += len;
    }
    out += '"';
    return out;
}

std::string json_line(const item_report& report) {
    std::string out = "{\"url\":" + json_string(report.url) + ",\"file\":" + json_string(report.file);
    if (report.result) {
        const auto& r = *report.result;
        out += ",\"ok\":true,\"status\":" + std::to_string(r.status) + ",\"size\":" + std::to_string(r.size) +
               ",\"transferred\":" + std::to_string(r.transferred) +
               ",\"resumed_from\":" + std::to_string(r.resumed_from);
        if (r.sha256) out += ",\"sha256\":" + json_string(*r.sha256);
        if (report.already_complete) out += ",\"already_complete\":true";
    } else {
        out += ",\"ok\":false";
        if (report.error) {
            out += ",\"error\":" + json_string(report.error->kind) + ",\"message\":" + json_string(report.error->message);
            if (report.error->http_status) out += ",\"http_status\":" + std::to_string(*report.error->http_status);
        }
    }
    out += ",\"retries\":" + std::to_string(report.retries) + ",\"seconds\":" + number(report.seconds) + "}";
    return out;
}

}  // namespace vow_get
