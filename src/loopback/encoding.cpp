#include "encoding.hpp"

#include <zlib.h>

#include <algorithm>
#include <new>
#include <vector>

namespace vow::http::loopback_detail {

namespace {

// Deflates `size` bytes, taken from `plain` or zeros, with the window bits
// zlib's deflateInit2 takes: 15 zlib-wrapped, 31 gzip, -15 raw.
std::string deflate_bytes(std::string_view plain, std::uint64_t size, bool zeros, int window_bits) {
    z_stream z{};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::bad_alloc();
    static const std::vector<char> zero_block(64 * 1024, '\0');
    std::string out;
    std::vector<char> buffer(64 * 1024);
    std::uint64_t fed = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (z.avail_in == 0 && fed < size) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(size - fed, zero_block.size()));
            const char* from = zeros ? zero_block.data() : plain.data() + fed;
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(from));
            z.avail_in = static_cast<uInt>(n);
            fed += n;
        }
        z.next_out = reinterpret_cast<Bytef*>(buffer.data());
        z.avail_out = static_cast<uInt>(buffer.size());
        rc = deflate(&z, fed == size && z.avail_in == 0 ? Z_FINISH : Z_NO_FLUSH);
        out.append(buffer.data(), buffer.size() - z.avail_out);
    }
    deflateEnd(&z);
    return out;
}

}  // namespace

encoded_body encode_body(const encoding_request& request, std::string_view plain) {
    int window_bits = 0;
    std::size_t header_size = 0;  // where the compressed data starts
    std::string name = request.coding;
    if (request.coding == "gzip") {
        window_bits = 15 + 16;
        header_size = 10;
    } else if (request.coding == "deflate") {
        window_bits = 15;
        header_size = 2;
    } else if (request.coding == "raw-deflate") {
        window_bits = -15;
        name = "deflate";
    } else {
        // identity, or a coding the server only names (br, "gzip, gzip", ...)
        return {name, request.zeros ? std::string(static_cast<std::size_t>(request.size), '\0')
                                    : std::string(plain.substr(0, static_cast<std::size_t>(request.size)))};
    }
    encoded_body out{name, deflate_bytes(plain, request.size, request.zeros, window_bits)};
    // 0xff opens a final block of type 3, which does not exist.
    if (request.corrupt && out.bytes.size() > header_size) out.bytes[header_size] = static_cast<char>(0xff);
    return out;
}

}  // namespace vow::http::loopback_detail
