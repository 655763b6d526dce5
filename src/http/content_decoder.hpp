// content_decoder: undoes a response's Content-Encoding (gzip, or deflate in
// its zlib wrapping or raw, as curl accepts both) with zlib, for
// request_options::decode_content. It inflates into the caller's buffer a
// piece at a time, so memory stays bounded whatever the body expands to;
// the caller counts the decoded bytes against its limits.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vow::http::detail {

class content_decoder {
public:
    enum class coding { gzip, deflate };

    // The decoder a Content-Encoding value asks for: none for an absent,
    // empty or "identity" one. Throws unsupported_encoding_error for any other
    // coding, or for more than one (e.g. "gzip, gzip"). `url` is for messages.
    static std::unique_ptr<content_decoder> for_encoding(const std::optional<std::string>& content_encoding,
                                                         const std::string& url);

    content_decoder(coding c, std::string url);
    ~content_decoder();
    content_decoder(const content_decoder&) = delete;
    content_decoder& operator=(const content_decoder&) = delete;

    struct step {
        std::size_t consumed;  // of `in`
        std::size_t produced;  // into `out`
    };
    // Decodes what it can of `in` into `out` (not empty). Call again with the
    // rest of `in` while consumed < in.size() or produced == out.size().
    // Throws protocol_error for a corrupt stream. Bytes after the end of the
    // stream are ignored.
    step decode(std::span<const char> in, std::span<char> out);
    // After the body's last byte: throws protocol_error if the stream did not end.
    void finish() const;

private:
    void start(bool raw);

    struct stream;
    std::unique_ptr<stream> z_;
    coding coding_;
    std::string url_;
    std::string prefix_;  // deflate: the first bytes, until they tell zlib-wrapped from raw
    bool started_ = false;
    bool ended_ = false;
};

}  // namespace vow::http::detail
