// libFuzzer target: the whole response path. A raw TCP server on loopback
// answers every request with the input bytes and closes; the client reads
// them as a server's reply through get() (body in memory) or download() (body
// to a file), with tight limits. Any reply gives a response or a typed
// vow::error within the timeouts; nothing crashes, leaks or grows without
// bound (libFuzzer's -rss_limit_mb checks the memory).
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "vow/errors.hpp"
#include "vow/http/client.hpp"

namespace {

// Serves `reply` to each connection: reads the request head (up to a blank
// line or 64 KiB), writes the reply, closes. One connection at a time.
class raw_server {
public:
    raw_server() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0)
            std::abort();
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
        thread_.detach();  // lives as long as the process
    }
    unsigned short port() const { return port_; }
    void set_reply(std::string reply) {
        std::lock_guard lock(mutex_);
        reply_ = std::move(reply);
    }

private:
    void serve() {
        for (;;) {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) continue;
            std::string head;
            char buf[4096];
            while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
                auto n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                head.append(buf, static_cast<std::size_t>(n));
            }
            std::string reply;
            {
                std::lock_guard lock(mutex_);
                reply = reply_;
            }
            for (std::size_t sent = 0; sent < reply.size();) {
                auto n = ::send(c, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
                if (n <= 0) break;
                sent += static_cast<std::size_t>(n);
            }
            ::shutdown(c, SHUT_WR);
            ::close(c);
        }
    }

    int fd_ = -1;
    unsigned short port_ = 0;
    std::thread thread_;
    std::mutex mutex_;
    std::string reply_;  // guarded by mutex_
};

struct fixture {
    raw_server server;
    vow::http::client client;
    vow::http::request_options options;
    std::filesystem::path folder;

    fixture() {
        options.connect_timeout = std::chrono::seconds(2);
        options.idle_timeout = std::chrono::milliseconds(500);
        options.total_timeout = std::chrono::seconds(3);
        options.max_body_size = 1 << 20;
        options.max_redirects = 0;  // a Location may name any host: never follow
        options.resume = false;
        folder = std::filesystem::temp_directory_path() / ("vow-fuzz-response-" + std::to_string(::getpid()));
        std::filesystem::create_directories(folder);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fixture f;
    if (size == 0) return 0;
    // The first byte picks the consumer; the rest is the server's reply.
    const bool to_file = data[0] & 1;
    f.server.set_reply(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
    const std::string url = "http://127.0.0.1:" + std::to_string(f.server.port()) + "/x";
    try {
        if (to_file) {
            auto path = f.folder / "x";
            auto fut = f.client.download(url, path, f.options);
            std::move(fut).get();
            std::filesystem::remove(path);
        } else {
            auto fut = f.client.get(url, f.options);
            std::move(fut).get();
        }
    } catch (const vow::error&) {
        // a typed failure is a correct answer to a bad reply
    }
    std::error_code ec;
    std::filesystem::remove(f.folder / "x.part", ec);
    return 0;
}
