// The read-body stage: the body of a final 2xx head, into the consumer.
//
//   Content-Length:     bytes already buffered, then straight from the
//                       socket into the consumer's buffer (batched, see
//                       batch_bytes)
//   chunked / to close: through the parser, its framing held under
//                       chunk_framing_limit
//
// Every read is paced by the rate limiter (client_options::
// max_bytes_per_second) and, for an encoded body, inflated by the content
// decoder (request_options::decode_content) before take_body counts it
// against max_download_size and hands it on. The idle watch and the
// minimum-speed guard (request_body_watch.cpp) close the socket when the
// server stalls or trickles; fail() then names which.
#include <cstring>

#include "request_env.hpp"
#include "request.hpp"
#include "request_stages.hpp"
#include "vow/http/errors.hpp"

namespace vow::http::detail {

void request_op::choose_decoder(bool has_body, response_head& head, const target_url& url) {
    decoder_.reset();
    if (!has_body || !options_.decode_content) return;
    decoder_ = content_decoder::for_encoding(head.headers.find("Content-Encoding"), url.text);
    // The length on the wire is not the decoded body's: sizes are unknown until the end.
    if (decoder_) head.content_length.reset();
}

awaitable<bool> request_op::read_body(connection& c, response_parser& parser, const target_url& url) {
    if (parser.is_done()) co_return parser.keep_alive();

    std::optional<std::uint64_t> body_length;  // a Content-Length body's
    if (auto n = parser.content_length(); n && !parser.chunked()) body_length = *n;
    consumer_->fit_buffers(decoder_ ? std::nullopt : body_length);  // decoded: of unknown size
    start_idle_watch(c);
    start_speed_watch();
    struct stop_watch {
        request_op* op;
        connection& c;
        ~stop_watch() {
            op->stop_idle_watch();
            op->stop_speed_watch();
            op->batching_ = false;
            op->set_low_watermark(c, 1);  // the next response's head is read byte by byte
        }
    } on_exit{this, c};

    if (body_length) {
        // Fast path for a Content-Length body: the bytes already buffered,
        // then straight from the socket into the consumer's buffer (one copy
        // fewer than going through the parser).
        raw_body_ = true;
        std::uint64_t left = *body_length;
        while (left > 0 && c.buffer.size() > 0) {
            auto buf = body_buffer();
            auto take = static_cast<std::size_t>(std::min<std::uint64_t>({left, c.buffer.size(), buf.size()}));
            take = co_await pace(take, url);
            std::memcpy(buf.data(), c.buffer.data().data(), take);
            c.buffer.consume(take);
            left -= take;
            co_await take_body(buf.data(), take, url);
        }
        // Paced reads are small: batching them would only delay them.
        if (left > batch_bytes && !env_->rate) start_batching();
        while (left > 0) {
            check_stopped(url);
            auto buf = body_buffer();
            auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
            want = co_await pace(want, url);
            // Never more than the body has left: its last bytes must wake us.
            // Over TLS the socket read comes from the TLS layer, which may
            // already hold part of a record: keep a record's worth of slack.
            const bool near_end = c.tls && left < batch_bytes + tls_record_slack;
            set_low_watermark(c, batching_ && !near_end ? std::min(want, batch_bytes) : 1);
            read_started_ = std::chrono::steady_clock::now();
            reading_body_ = true;
            auto [ec, n] = co_await on_stream(c, [&](auto& s) {
                return s.async_read_some(asio::buffer(buf.data(), want), nothrow);
            });
            reading_body_ = false;
            paced(want, n);
            if (n > 0) {
                if (!batching_ && n >= batch_bytes / 2 && left - n > batch_bytes) start_batching();
                left -= n;
                co_await take_body(buf.data(), n, url);
            }
            if (ec && left > 0) {
                if (ec == asio::error::eof || ec == ssl::error::stream_truncated)
                    throw transport_error(beast::error_code(bhttp::error::partial_message),
                                          "body of " + url.text + " ended after " +
                                              std::to_string(*body_length - left) + " of " + std::to_string(*body_length) +
                                              " bytes");
                fail(ec, "reading the body of", url);
            }
        }
        if (decoder_) decoder_->finish();
        co_await consumer_->drain(*this);
        // The idle watch may have closed the socket just as the last read completed.
        co_return parser.keep_alive() && c.buffer.size() == 0 && !idle_expired_;
    }

    // Chunked or read-until-close bodies go through the parser. It needs a
    // chunk-size line, or the last chunk with its trailers, whole in the read
    // buffer: capping the buffer bounds what hostile framing can make us hold.
    struct framing_cap {
        beast::flat_buffer& buffer;
        std::size_t before = buffer.max_size();
        ~framing_cap() { buffer.max_size(before); }
    } cap{c.buffer};
    c.buffer.max_size(std::max(chunk_framing_limit, c.buffer.size()));
    while (!parser.is_done()) {
        check_stopped(url);
        auto buf = body_buffer();
        buf = buf.first(co_await pace(buf.size(), url));
        parser.get().body().data = buf.data();
        parser.get().body().size = buf.size();
        read_started_ = std::chrono::steady_clock::now();
        reading_body_ = true;
        auto [ec, n] = co_await on_stream(c, [&](auto& s) { return bhttp::async_read_some(s, c.buffer, parser, nothrow); });
        reading_body_ = false;
        (void)n;
        std::size_t got = buf.size() - parser.get().body().size;
        paced(buf.size(), got);
        if (got > 0) {
            co_await take_body(buf.data(), got, url);
        }
        if (ec == bhttp::error::need_buffer) continue;
        if (ec == ssl::error::stream_truncated && parser.is_done()) break;
        if (!idle_expired_ && !speed_expired_ && !cancelled_ && !total_expired_ &&
            (ec == bhttp::error::partial_message || ec == asio::error::eof || ec == ssl::error::stream_truncated))
            throw transport_error(beast::error_code(bhttp::error::partial_message),
                                  "body of " + url.text + " ended after " +
                                      std::to_string(body_received_ - consumer_->already_have()) + " bytes" +
                                      (parser.chunked() ? ", before its last chunk" : ""));
        if (ec == bhttp::error::buffer_overflow) {
            const auto held = c.buffer.data();
            throw protocol_error(chunk_framing_overflow(
                std::string_view(static_cast<const char*>(held.data()), held.size()), url.text));
        }
        if (ec) fail(ec, "reading the body of", url);
    }
    if (decoder_) decoder_->finish();
    co_await consumer_->drain(*this);
    co_return parser.keep_alive() && !idle_expired_;
}

std::span<char> request_op::body_buffer() {
    if (!decoder_) return consumer_->next_buffer();
    // Encoded bytes are read into a buffer of their own and inflated into the consumer's.
    if (!encoded_buffer_) encoded_buffer_.reset(new char[encoded_buffer_size]);
    return {encoded_buffer_.get(), encoded_buffer_size};
}

awaitable<void> request_op::take_body(const char* data, std::size_t n, const target_url& url) {
    if (!decoder_) {
        check_download_size(body_received_ + n, false, url);
        note_body_bytes(n);
        co_await consumer_->on_data(*this, data, n);
        co_return;
    }
    std::span<const char> in(data, n);
    for (;;) {
        auto out = consumer_->next_buffer();
        const auto step = decoder_->decode(in, out);
        in = in.subspan(step.consumed);
        if (step.produced > 0) {
            // Decoded bytes are what the caps bound: a small body that inflates hugely stops here.
            check_download_size(body_received_ + step.produced, false, url);
            note_body_bytes(step.produced);
            co_await consumer_->on_data(*this, out.data(), step.produced);
        }
        if (in.empty() && step.produced < out.size()) co_return;
    }
}

awaitable<std::size_t> request_op::pace(std::size_t want, const target_url& url) {
    rate_limiter* rate = env_->rate;
    if (!rate || want == 0) co_return want;
    const auto turn = rate->reserve(want, std::chrono::steady_clock::now());
    if (turn.start > std::chrono::steady_clock::now()) {
        rate_timer_.expires_at(turn.start);
        co_await rate_timer_.async_wait(nothrow);
        if (cancelled_ || total_expired_) {
            rate->give_back(turn.bytes);
            check_stopped(url);
        }
    }
    co_return turn.bytes;
}

void request_op::paced(std::size_t granted, std::size_t took) noexcept {
    if (rate_limiter* rate = env_->rate; rate && took < granted) rate->give_back(granted - took);
}

void request_op::check_download_size(std::uint64_t total, bool announced, const target_url& url) const {
    const auto& cap = options_.max_download_size;
    if (!cap || total <= *cap) return;
    throw body_limit_error("body of " + url.text + (announced ? " is " + std::to_string(total) + " bytes" : " grew past") +
                           ", more than max_download_size (" + std::to_string(*cap) + " bytes)");
}

}  // namespace vow::http::detail
