// One I/O thread of a client: its io_context, and what only that thread
// touches (its idle connections, its requests in flight).
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>

#include "asio.hpp"
#include "connection.hpp"
#include "request_handles.hpp"

namespace vow::http::detail {

struct io_worker {
    explicit io_worker(std::size_t index) : index(index) {}
    const std::size_t index;  // in client_core's workers
    asio::io_context ctx{1};
    asio::executor_work_guard<asio::io_context::executor_type> work{ctx.get_executor()};
    std::thread thread;
    // Touched only on this worker's thread:
    std::map<std::string, std::deque<std::unique_ptr<connection>>> idle;  // by origin
    std::unordered_set<live_request*> live;                                // to abort at shutdown
};

}  // namespace vow::http::detail
