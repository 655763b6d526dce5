#include "flat_json.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace vow_test {
namespace {

class parser {
public:
    explicit parser(std::string_view s) : s_(s) {}

    std::optional<flat_object> object() {
        flat_object out;
        skip_ws();
        if (!eat('{')) return std::nullopt;
        skip_ws();
        if (eat('}')) return finish(out);
        for (;;) {
            skip_ws();
            auto key = string();
            if (!key) return std::nullopt;
            skip_ws();
            if (!eat(':')) return std::nullopt;
            skip_ws();
            auto v = value();
            if (!v) return std::nullopt;
            if (!out.emplace(*key, *v).second) return std::nullopt;  // duplicate key
            skip_ws();
            if (eat(',')) continue;
            if (eat('}')) return finish(out);
            return std::nullopt;
        }
    }

private:
    std::optional<flat_object> finish(flat_object& out) {
        skip_ws();
        if (i_ != s_.size()) return std::nullopt;
        return std::move(out);
    }

    std::optional<json_value> value() {
        if (i_ >= s_.size()) return std::nullopt;
        char c = s_[i_];
        if (c == '"') {
            auto s = string();
            if (!s) return std::nullopt;
            return json_value{*s};
        }
        if (literal("true")) return json_value{true};
        if (literal("false")) return json_value{false};
        if (literal("null")) return json_value{json_null{}};
        return number();
    }

    std::optional<json_value> number() {
        std::size_t start = i_;
        if (i_ < s_.size() && s_[i_] == '-') ++i_;
        while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' ||
                                  s_[i_] == 'e' || s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-')) {
            ++i_;
        }
        if (i_ == start) return std::nullopt;
        std::string text(s_.substr(start, i_ - start));
        char* end = nullptr;
        double d = std::strtod(text.c_str(), &end);
        if (end != text.c_str() + text.size()) return std::nullopt;
        return json_value{d};
    }

    std::optional<std::string> string() {
        if (!eat('"')) return std::nullopt;
        std::string out;
        while (i_ < s_.size()) {
            char c = s_[i_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;  // must be escaped
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size()) return std::nullopt;
            char e = s_[i_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    if (i_ + 4 > s_.size()) return std::nullopt;
                    unsigned cp = 0;
                    auto [p, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, cp, 16);
                    if (ec != std::errc() || p != s_.data() + i_ + 4) return std::nullopt;
                    i_ += 4;
                    append_utf8(out, cp);
                    break;
                }
                default: return std::nullopt;
            }
        }
        return std::nullopt;
    }

    static void append_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) return false;
        i_ += word.size();
        return true;
    }
    bool eat(char c) {
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void skip_ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace

std::optional<flat_object> parse_flat_object(std::string_view text) { return parser(text).object(); }

}  // namespace vow_test
