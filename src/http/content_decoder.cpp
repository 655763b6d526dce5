#include "content_decoder.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>

#include "vow/http/errors.hpp"

namespace vow::http::detail {

struct content_decoder::stream {
    z_stream z{};
    bool open = false;
    ~stream() {
        if (open) inflateEnd(&z);
    }
};

namespace {

std::string trimmed_lower(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// RFC 1950: a zlib stream opens with CMF, FLG where CM is 8 and CMF*256+FLG
// is a multiple of 31. A raw deflate stream matches only if it opens with a
// non-final stored block whose length's low byte happens to pass the check
// too (rare); such a stream then fails as corrupt rather than decoding wrong,
// as zlib checks the Adler-32 at the end.
bool looks_zlib_wrapped(unsigned char cmf, unsigned char flg) {
    return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
}

}  // namespace

std::unique_ptr<content_decoder> content_decoder::for_encoding(const std::optional<std::string>& content_encoding,
                                                               const std::string& url) {
    if (!content_encoding) return nullptr;
    std::optional<coding> found;
    std::string_view rest = *content_encoding;
    bool several = false;
    while (true) {
        auto comma = rest.find(',');
        auto name = trimmed_lower(rest.substr(0, comma));
        if (!name.empty() && name != "identity") {
            if (found) several = true;
            if (name == "gzip" || name == "x-gzip") {
                found = coding::gzip;
            } else if (name == "deflate") {
                found = coding::deflate;
            } else {
                throw unsupported_encoding_error("the body of " + url + " has Content-Encoding: " + *content_encoding +
                                                 ", which cannot be decoded (gzip and deflate can)");
            }
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (several)
        throw unsupported_encoding_error("the body of " + url + " has Content-Encoding: " + *content_encoding +
                                         ": more than one coding, which cannot be decoded");
    if (!found) return nullptr;
    return std::make_unique<content_decoder>(*found, url);
}

content_decoder::content_decoder(coding c, std::string url)
    : z_(std::make_unique<stream>()), coding_(c), url_(std::move(url)) {
    if (coding_ == coding::gzip) start(false);
}

content_decoder::~content_decoder() = default;

void content_decoder::start(bool raw) {
    // 15: the largest window; +16: gzip only; negative: raw deflate.
    const int window = coding_ == coding::gzip ? 15 + 16 : raw ? -15 : 15;
    if (inflateInit2(&z_->z, window) != Z_OK) throw std::bad_alloc();
    z_->open = true;
    started_ = true;
}

content_decoder::step content_decoder::decode(std::span<const char> in, std::span<char> out) {
    if (ended_) return {in.size(), 0};
    std::size_t from_prefix = 0;
    if (!started_) {
        // Deflate: gather two bytes to see whether zlib's header is there.
        const auto need = std::min(in.size(), 2 - prefix_.size());
        prefix_.append(in.data(), need);
        if (prefix_.size() < 2) return {in.size(), 0};
        start(!looks_zlib_wrapped(static_cast<unsigned char>(prefix_[0]), static_cast<unsigned char>(prefix_[1])));
        from_prefix = need;
    }
    // The gathered prefix goes first (it is at most two bytes: inflate takes
    // them in one call whenever out has room, which it always has here).
    if (!prefix_.empty()) {
        std::string head = std::move(prefix_);
        prefix_.clear();
        z_->z.next_in = reinterpret_cast<Bytef*>(head.data());
        z_->z.avail_in = static_cast<uInt>(head.size());
        z_->z.next_out = reinterpret_cast<Bytef*>(out.data());
        z_->z.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size(), 1u << 30));
        const int rc = inflate(&z_->z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            throw protocol_error("the " + std::string(coding_ == coding::gzip ? "gzip" : "deflate") + " body of " +
                                 url_ + " is corrupt: " + (z_->z.msg ? z_->z.msg : "inflate failed"));
        if (rc == Z_STREAM_END) ended_ = true;
        const auto produced = out.size() - z_->z.avail_out;
        if (z_->z.avail_in != 0) prefix_.assign(head, head.size() - z_->z.avail_in);  // out was full
        return {from_prefix, produced};
    }
    z_->z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_->z.avail_in = static_cast<uInt>(std::min<std::size_t>(in.size(), 1u << 30));
    z_->z.next_out = reinterpret_cast<Bytef*>(out.data());
    z_->z.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size(), 1u << 30));
    const auto before_in = z_->z.avail_in;
    const int rc = inflate(&z_->z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        throw protocol_error("the " + std::string(coding_ == coding::gzip ? "gzip" : "deflate") + " body of " + url_ +
                             " is corrupt: " + (z_->z.msg ? z_->z.msg : "inflate failed"));
    if (rc == Z_STREAM_END) ended_ = true;
    std::size_t consumed = before_in - z_->z.avail_in;
    if (ended_) consumed = in.size();  // what follows the stream is ignored
    return {consumed, out.size() - z_->z.avail_out};
}

void content_decoder::finish() const {
    if (!ended_)
        throw protocol_error("the " + std::string(coding_ == coding::gzip ? "gzip" : "deflate") + " body of " + url_ +
                             " ended before its compressed stream did (truncated)");
}

}  // namespace vow::http::detail
