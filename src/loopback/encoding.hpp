// Private helper of loopback_server: the bodies of /encoded/N, compressed
// with zlib the way servers send Content-Encoding: gzip and deflate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vow::http::loopback_detail {

struct encoded_body {
    std::string content_encoding;  // the field's value
    std::string bytes;             // the body as sent
};

struct encoding_request {
    std::string coding = "gzip";  // gzip, deflate (zlib-wrapped), raw-deflate, identity, or any other name
    std::uint64_t size = 0;       // of the decoded body
    bool zeros = false;           // the body is `size` zero bytes (a bomb), not /bytes/N's
    bool corrupt = false;         // the first byte of compressed data is one no inflater accepts
};

// `plain` is /bytes/N's body of `size` bytes (unused when zeros). A coding
// this server does not know is named as given with the body left as is.
encoded_body encode_body(const encoding_request& request, std::string_view plain);

}  // namespace vow::http::loopback_detail
