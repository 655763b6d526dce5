// request_options::decode_content against the loopback server's /encoded/N
// routes: gzip and both forms of deflate decoded by get(), download() and
// stream(); sizes and progress count decoded bytes; corrupt, cut and unknown
// encodings fail typed; a decompression bomb stops at max_download_size.
#include "vow/http/client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "../../src/http/content_decoder.hpp"
#include "http_test_support.hpp"
#include "vow/http/loopback_server.hpp"

namespace {

namespace fs = std::filesystem;
using vow::http::loopback_server;
using namespace vow_http_test;

loopback_server& server() {
    static loopback_server s({.tls = false});
    return s;
}

vow::http::request_options decoding() {
    vow::http::request_options o;
    o.decode_content = true;
    return o;
}

class content_encoding : public ::testing::Test {
protected:
    content_encoding() {
        dir_ = fs::temp_directory_path() / ("vow_encoding_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    ~content_encoding() override { fs::remove_all(dir_); }
    vow::http::client client_;
    fs::path dir_;
};

TEST_F(content_encoding, get_decodes_gzip_deflate_and_raw_deflate_and_asks_for_them) {
    for (std::string coding : {"gzip", "deflate", "raw-deflate", "identity"}) {
        for (std::string framing : {"", "&chunked=1"}) {
            auto r = get_within(client_.get(server().http_url("/encoded/300000?coding=" + coding + framing), decoding()));
            EXPECT_EQ(r.body, loopback_server::body(300000)) << coding << framing;
        }
    }
    auto sent = get_within(client_.get(server().http_url("/echo-headers"), decoding())).body;
    EXPECT_NE(sent.find("Accept-Encoding: gzip, deflate\r\n"), std::string::npos) << sent;
}

TEST_F(content_encoding, without_decode_content_the_body_is_kept_as_sent_and_identity_is_asked_for) {
    auto r = get_within(client_.get(server().http_url("/encoded/1000?coding=gzip")));
    EXPECT_NE(r.body, loopback_server::body(1000));
    EXPECT_EQ(r.body.substr(0, 2), "\x1f\x8b");  // gzip's magic
    auto sent = get_within(client_.get(server().http_url("/echo-headers"))).body;
    EXPECT_NE(sent.find("Accept-Encoding: identity\r\n"), std::string::npos) << sent;
}

TEST_F(content_encoding, download_saves_the_decoded_body_and_counts_decoded_bytes) {
    auto o = decoding();
    std::mutex m;
    vow::http::progress last;
    o.on_progress = [&](const vow::http::progress& p) {
        std::lock_guard lock(m);
        last = p;
    };
    auto r = get_within(client_.download(server().http_url("/encoded/500000?coding=gzip"), dir_ / "f.bin", o));
    EXPECT_EQ(r.size, 500000u);
    EXPECT_EQ(r.transferred, 500000u);
    EXPECT_EQ(read_file(dir_ / "f.bin"), loopback_server::body(500000));
    std::lock_guard lock(m);
    EXPECT_EQ(last.received, 500000u);
    EXPECT_FALSE(last.total.has_value());  // the Content-Length is the encoded size
}

TEST_F(content_encoding, a_decoded_download_replaces_a_part_file_instead_of_resuming_it) {
    std::ofstream(dir_ / "f.bin.part") << "stale bytes";
    auto r = get_within(client_.download(server().http_url("/encoded/20000?coding=deflate"), dir_ / "f.bin", decoding()));
    EXPECT_EQ(r.resumed_from, 0u);
    EXPECT_EQ(read_file(dir_ / "f.bin"), loopback_server::body(20000));
}

TEST_F(content_encoding, stream_hands_the_sink_decoded_bytes) {
    std::string got;
    auto r = get_within(client_.stream(
        server().http_url("/encoded/700000?coding=gzip&chunked=1"), [&](std::span<const char> s) { got.append(s.data(), s.size()); },
        decoding()));
    EXPECT_EQ(r.size, 700000u);
    EXPECT_EQ(got, loopback_server::body(700000));
}

TEST_F(content_encoding, a_corrupt_stream_is_a_protocol_error_and_leaves_no_file) {
    for (std::string coding : {"gzip", "deflate", "raw-deflate"}) {
        auto e = failure_of<vow::http::protocol_error>(
            client_.download(server().http_url("/encoded/100000?corrupt=1&coding=" + coding), dir_ / "f.bin", decoding()));
        EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
        EXPECT_FALSE(fs::exists(dir_ / "f.bin")) << coding;
    }
}

TEST_F(content_encoding, a_stream_cut_short_is_a_protocol_error) {
    for (std::string framing : {"", "&chunked=1"}) {
        auto e = failure_of<vow::http::protocol_error>(
            client_.get(server().http_url("/encoded/100000?coding=gzip&cut=5000" + framing), decoding()));
        EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
}

TEST_F(content_encoding, an_encoding_that_cannot_be_decoded_is_an_unsupported_encoding_error) {
    for (std::string coding : {"br", "gzip,%20gzip"}) {
        auto e = failure_of<vow::http::unsupported_encoding_error>(
            client_.get(server().http_url("/encoded/100?coding=" + coding), decoding()));
        EXPECT_NE(std::string(e.what()).find("Content-Encoding"), std::string::npos) << e.what();
    }
}

TEST_F(content_encoding, a_decompression_bomb_stops_at_max_download_size_counted_in_decoded_bytes) {
    auto o = decoding();
    o.max_download_size = 1 << 20;
    // 64 MiB of zeros: about 64 KiB on the wire, under the cap.
    auto e = failure_of<vow::http::body_limit_error>(
        client_.download(server().http_url("/encoded/67108864?zeros=1&coding=gzip"), dir_ / "bomb.bin", o));
    EXPECT_NE(std::string(e.what()).find("max_download_size"), std::string::npos) << e.what();
    EXPECT_FALSE(fs::exists(dir_ / "bomb.bin"));
    EXPECT_LE(fs::exists(dir_ / "bomb.bin.part") ? fs::file_size(dir_ / "bomb.bin.part") : 0, 1u << 20);

    auto in_memory = decoding();
    in_memory.max_body_size = 1 << 20;
    failure_of<vow::http::body_limit_error>(
        client_.get(server().http_url("/encoded/67108864?zeros=1&coding=deflate"), in_memory));
}

// The decoder alone, fed a byte at a time: zlib's two-byte header is told
// from a raw stream even when its bytes come in separate reads.
TEST(content_decoder, a_deflate_body_fed_one_byte_at_a_time_decodes_whole) {
    vow::http::client client;
    for (std::string coding : {"deflate", "raw-deflate", "gzip"}) {
        auto wire = get_within(client.get(server().http_url("/encoded/5000?coding=" + coding))).body;
        auto decoder = vow::http::detail::content_decoder::for_encoding(
            coding == "gzip" ? "gzip" : "deflate", "test");
        std::string out;
        char buffer[7];
        for (char c : wire) {
            std::span<const char> in(&c, 1);
            for (;;) {
                auto step = decoder->decode(in, buffer);
                out.append(buffer, step.produced);
                in = in.subspan(step.consumed);
                if (in.empty() && step.produced < sizeof buffer) break;
            }
        }
        decoder->finish();
        EXPECT_EQ(out, loopback_server::body(5000)) << coding;
    }
    EXPECT_EQ(vow::http::detail::content_decoder::for_encoding(std::string("identity"), "t"), nullptr);
    EXPECT_EQ(vow::http::detail::content_decoder::for_encoding(std::nullopt, "t"), nullptr);
}

}  // namespace
