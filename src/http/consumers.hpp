// The three things a body can become: a string in memory (get), a file
// (download, with resume and checksum) and calls to a user's sink (stream).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>

#include "body_consumer.hpp"
#include "part_file.hpp"
#include "vow/future.hpp"
#include "vow/http/client.hpp"
#include "vow/promise.hpp"

namespace vow::http::detail {

// A validator If-Range may carry: a strong ETag, else Last-Modified.
std::optional<std::string> validator_of(const header_map& h);

// A consumer that makes a Result of the body and completes the request's
// future with it: the request's deliver step calls complete() once.
template <class Result>
class consumer_of : public body_consumer {
public:
    future<Result> get_future() { return promise_.get_future(); }
    void complete(std::exception_ptr error) final {
        if (error) {
            promise_.set_exception(std::move(error));
        } else {
            promise_.set_value(std::move(result_));
        }
    }
    void on_cancel(unique_function<void()> hook) final { promise_.on_cancel(std::move(hook)); }

protected:
    Result result_;

private:
    promise<Result> promise_;
};

// Throws status_error for a status outside 2xx.
void require_success(const response_head& head, const target_url& url);

class memory_consumer final : public consumer_of<response> {
public:
    explicit memory_consumer(std::uint64_t limit) : limit_(limit) {}
    verdict on_head(const response_head& head, const target_url& url) override;
    awaitable<void> on_data(request_op& op, const char* data, std::size_t n) override;
    void on_end(const target_url& url) override;

private:
    std::uint64_t limit_;
    std::string url_;  // of the response being read, for messages
};

class file_consumer final : public consumer_of<download_result> {
public:
    // `url` is what the download was asked for: a .part is resumed only when
    // its .part.meta names the same URL.
    // `part_known_absent`: the first request does not look for a .part to resume.
    // Without `replace_existing`, a file at `path` as the body ends is not
    // replaced (part_file::never_replace).
    file_consumer(std::filesystem::path path, std::string url, bool resume, std::optional<std::string> sha256,
                  bool part_known_absent = false, bool replace_existing = true);
    // A new file is taken from `stock` (null: none) where one is made (part_file).
    void take_new_files_from(std::shared_ptr<new_file_stock> stock) noexcept {
        file_.take_new_files_from(std::move(stock));
    }
    void add_request_headers(bhttp::fields& fields) override;
    verdict on_head(const response_head& head, const target_url& url) override;
    awaitable<void> on_data(request_op& op, const char* data, std::size_t n) override;
    void on_end(const target_url& url) override;
    void on_abandon() noexcept override { file_.close(); }
    std::uint64_t already_have() const noexcept override { return have_; }

private:
    void require_unchanged_part() const;
    // The .part restarts: this response is dropped and the request goes again without a range.
    verdict restart();

    part_file file_;
    std::string url_;
    std::optional<part_meta> stored_;  // the .part.meta the range was asked from
    bool resume_;
    bool part_known_absent_;  // until the first request is made
    std::optional<std::string> expected_sha256_;
    std::uint64_t asked_from_ = 0;  // the Range sent, 0 for none
    std::uint64_t have_ = 0;        // bytes kept from the .part for this response
    bool already_complete_ = false; // a 416 confirmed the .part is the whole file
    std::optional<std::uint64_t> expected_size_;  // of the whole file, when this response tells it
};

// A sink call's progress. The I/O thread moves idle -> busy (a hand-off),
// busy -> pending (it holds bytes and starts a read that may block) and
// busy/pending -> waited_for (it blocks on the call). The call moves each to
// idle: from pending it asks the I/O thread to flush, from waited_for it
// wakes it.
enum class sink_state : std::uint8_t { idle, busy, pending, waited_for };

class sink_consumer final : public consumer_of<stream_result> {
public:
    explicit sink_consumer(std::function<void(std::span<const char>)> sink) : sink_(std::move(sink)) {}
    verdict on_head(const response_head& head, const target_url& url) override;
    // Reads fill a buffer in place; the sink gets the bytes not yet handed
    // on, one call at a time, while later reads go on behind them. Reading
    // goes on without a hand-off only while more bytes are already waiting
    // (so a fast body reaches the sink in large spans, with few hand-offs
    // between threads); bytes that came before a read that may block go to
    // the sink at once, or as soon as the call in flight returns (a pausing
    // stream is never held back). A full buffer waits for the sink and reads
    // go on in the other one: at most one call and two buffers in flight.
    awaitable<void> on_data(request_op& op, const char* data, std::size_t n) override;
    std::span<char> next_buffer() override;
    awaitable<void> drain(request_op& op) override;
    void on_end(const target_url& url) override;
    void on_abandon() noexcept override { closed_ = true; }

private:
    class call;  // a sink call on the user side
    // Whether no call is in flight; rethrows what the last call threw.
    bool sink_idle();
    awaitable<void> wait_for_sink(request_op& op);
    void hand_off(request_op& op);
    void call_done(request_op& op) noexcept;  // from the call, on any thread
    void flush(request_op& op);  // on the I/O thread, after call_done from pending

    std::function<void(std::span<const char>)> sink_;
    std::exception_ptr sink_error_;  // written by a call before it marks the sink idle
    std::atomic<sink_state> state_{sink_state::idle};
    // I/O thread only:
    int current_ = 0;           // the buffer reads fill
    std::size_t handed_ = 0;    // its bytes before this went to the sink
    std::size_t filled_ = 0;    // its bytes before this are read
    bool closed_ = false;       // on_end or on_abandon: no more hand-offs
};

}  // namespace vow::http::detail
