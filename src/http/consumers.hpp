// The three things a body can become: a string in memory (get), a file
// (download, with resume and checksum) and calls to a user's sink (stream).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>

#include "part_file.hpp"
#include "request.hpp"
#include "vow/http/client.hpp"

namespace vow::http::detail {

// Throws status_error for a status outside 2xx.
void require_success(const response_head& head, const target_url& url);

class memory_consumer final : public body_consumer {
public:
    explicit memory_consumer(std::uint64_t limit) : limit_(limit) {}
    verdict on_head(const response_head& head, const target_url& url) override;
    awaitable<void> on_data(request_op& op, const char* data, std::size_t n) override;
    void on_end(const target_url& url) override;
    response take_result() { return std::move(response_); }

private:
    std::uint64_t limit_;
    response response_;
};

class file_consumer final : public body_consumer {
public:
    file_consumer(std::filesystem::path path, bool resume, std::optional<std::string> sha256);
    void add_request_headers(bhttp::fields& fields) override;
    verdict on_head(const response_head& head, const target_url& url) override;
    awaitable<void> on_data(request_op& op, const char* data, std::size_t n) override;
    void on_end(const target_url& url) override;
    void on_abandon() noexcept override { file_.close(); }
    std::uint64_t already_have() const noexcept override { return have_; }
    download_result take_result() { return std::move(result_); }

private:
    part_file file_;
    bool resume_;
    std::optional<std::string> expected_sha256_;
    std::uint64_t asked_from_ = 0;  // the Range sent, 0 for none
    std::uint64_t have_ = 0;        // bytes kept from the .part for this response
    bool already_complete_ = false; // a 416 confirmed the .part is the whole file
    download_result result_;
};

// A sink call's progress: the I/O thread moves idle -> busy (hand-off) and
// busy -> waited_for (it blocks on the call); the call moves either to idle.
enum class sink_state : std::uint8_t { idle, busy, waited_for };

class sink_consumer final : public body_consumer {
public:
    explicit sink_consumer(std::function<void(std::span<const char>)> sink) : sink_(std::move(sink)) {}
    verdict on_head(const response_head& head, const target_url& url) override;
    // Bytes collect in one buffer while the sink works on the other, as long
    // as more are already waiting in the socket; before a read that may block,
    // or when the buffer is full, what was read goes to the sink (after the
    // call in flight). So reads overlap the sink's work, a fast body reaches
    // the sink in large spans (few hand-offs between threads), a pausing one
    // is not held back, and at most one call and two buffers are in flight.
    awaitable<void> on_data(request_op& op, const char* data, std::size_t n) override;
    std::span<char> next_buffer() override;
    awaitable<void> drain(request_op& op) override;
    void on_end(const target_url& url) override;
    stream_result take_result() { return std::move(result_); }

private:
    std::function<void(std::span<const char>)> sink_;
    // Whether no call is in flight; rethrows what the last call threw.
    bool sink_idle();
    awaitable<void> wait_for_sink(request_op& op);
    void hand_off(request_op& op);

    std::exception_ptr sink_error_;  // written by a call before it marks the sink idle
    std::atomic<sink_state> state_{sink_state::idle};
    int current_ = 0;                // the buffer reads fill
    std::size_t filled_ = 0;         // bytes in it not handed off yet
    stream_result result_;
};

}  // namespace vow::http::detail
