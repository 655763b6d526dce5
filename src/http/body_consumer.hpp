// body_consumer: what the request's stages need of whatever the body
// becomes (a string, a file, a user's sink: consumers.hpp), and the one
// step that completes the request's future with it. The request knows only
// this interface.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "asio.hpp"
#include "url.hpp"
#include "vow/unique_function.hpp"
#include "vow/http/headers.hpp"

namespace vow::http::detail {

class request_op;

struct response_head {
    unsigned status = 0;
    std::string reason;
    header_map headers;
    std::optional<std::uint64_t> content_length;
};

// Where the body goes. Called on the worker's thread, in this order:
// add_request_headers, on_head, on_data..., on_end; or on_abandon on
// failure. Then complete(), once, on the user side.
class body_consumer {
public:
    enum class verdict {
        read_body,  // the body follows
        restart,    // drop this response, send the request again (416 of a stale .part)
    };
    virtual ~body_consumer() = default;
    virtual void add_request_headers(bhttp::fields&) {}
    // The final (non-redirect) response head. Throws to fail the request.
    virtual verdict on_head(const response_head& head, const target_url& url) = 0;
    virtual awaitable<void> on_data(request_op& op, const char* data, std::size_t n) = 0;
    virtual void on_end(const target_url& url) = 0;
    virtual void on_abandon() noexcept {}

    // The deliver step, once, on the user side when the request is over:
    // completes the request's future with the result, or with `error`.
    virtual void complete(std::exception_ptr error) = 0;
    // Runs `hook` when the request's future is cancelled (on that thread).
    virtual void on_cancel(unique_function<void()> hook) = 0;
    // Body bytes already held before this response (a resumed .part).
    virtual std::uint64_t already_have() const noexcept { return 0; }

    // Body bytes per read, at most: large, so that a fast body costs few
    // reads and few hand-offs to user code.
    static constexpr std::size_t read_size = 1024 * 1024;
    // Before a body is read, with its length if known: a small body gets
    // buffers of its own size, not read_size.
    void fit_buffers(std::optional<std::uint64_t> body_length) noexcept {
        constexpr std::uint64_t smallest = 16 * 1024;
        buffer_size_ = body_length ? static_cast<std::size_t>(std::clamp<std::uint64_t>(*body_length, smallest, read_size))
                                   : read_size;
    }
    // The buffer the next read fills; on_data gets a part of it. The consumer
    // owns it, so it outlives a hand-off to user code even if the read fails.
    virtual std::span<char> next_buffer() { return owned_buffer(0); }
    // Waits until every byte handed on has been consumed; before on_end.
    virtual awaitable<void> drain(request_op&) { co_return; }

protected:
    std::size_t buffer_size() const noexcept { return buffer_size_; }
    // Called only with no hand-off in flight from `which` (it may reallocate).
    std::span<char> owned_buffer(int which) {
        auto& b = buffers_[which];
        if (b.capacity < buffer_size_) {
            b.bytes.reset(new char[buffer_size_]);
            b.capacity = buffer_size_;
        }
        return {b.bytes.get(), buffer_size_};
    }

private:
    struct buffer {
        std::unique_ptr<char[]> bytes;
        std::size_t capacity = 0;
    };
    buffer buffers_[2];
    std::size_t buffer_size_ = read_size;
};

}  // namespace vow::http::detail
