#include "tinyproxy.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace vow_test {

namespace {

constexpr std::string_view ready_line = "Accepting connections";

}  // namespace

unsigned short tinyproxy::unused_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) throw std::runtime_error("socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(s);
        throw std::runtime_error("cannot bind a loopback port");
    }
    ::close(s);
    return ntohs(a.sin_port);
}

tinyproxy::tinyproxy(std::vector<std::string> config_lines) {
    std::string pattern = (std::filesystem::temp_directory_path() / "vow-tinyproxy-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    // Another process may take the port between unused_port() and tinyproxy's bind.
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (start(config_lines)) return;
    }
    std::string last = log();
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("tinyproxy could not listen on a free loopback port:\n" + last);
}

bool tinyproxy::start(const std::vector<std::string>& config_lines) {
    port_ = unused_port();
    const auto conf = dir_ / "tinyproxy.conf";
    {
        std::ofstream out(conf);
        out << "Port " << port_ << "\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 30\nMaxClients 64\n"
            << "LogLevel Info\n";
        for (const auto& line : config_lines) out << line << "\n";
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    std::string conf_text = conf.string();
    std::string program = "tinyproxy", foreground = "-d", config_flag = "-c";
    char* argv[] = {program.data(), foreground.data(), config_flag.data(), conf_text.data(), nullptr};
    const int rc = ::posix_spawnp(&pid_, "tinyproxy", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        pid_ = -1;
        std::filesystem::remove_all(dir_);
        throw std::runtime_error(std::string("cannot run tinyproxy (") + std::strerror(rc) +
                                 "): the proxy tests need Debian's tinyproxy; ./build.sh test installs it "
                                 "(apt-get install tinyproxy)");
    }
    {
        std::lock_guard lock(mutex_);
        log_.clear();
        ended_ = false;
    }
    reader_ = std::thread([this, fd = fds[0]] { read_log(fd); });
    std::unique_lock lock(mutex_);
    const bool settled = changed_.wait_for(lock, std::chrono::seconds(20), [&] {
        return ended_ || log_.find(ready_line) != std::string::npos;
    });
    const bool ready = settled && log_.find(ready_line) != std::string::npos;
    const std::string seen = log_;
    lock.unlock();
    if (ready) return true;
    stop();
    if (!settled) throw std::runtime_error("tinyproxy did not start within 20 s:\n" + seen);
    if (seen.find("in use") != std::string::npos || seen.find("listening socket") != std::string::npos)
        return false;
    throw std::runtime_error("tinyproxy exited at start:\n" + seen);
}

void tinyproxy::read_log(int fd) {
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        std::lock_guard lock(mutex_);
        log_.append(buf, static_cast<std::size_t>(n));
        changed_.notify_all();
    }
    ::close(fd);
    std::lock_guard lock(mutex_);
    ended_ = true;
    changed_.notify_all();
}

void tinyproxy::stop() noexcept {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
    if (reader_.joinable()) reader_.join();  // its output ends with the process
}

tinyproxy::~tinyproxy() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::string tinyproxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string tinyproxy::url_with(std::string_view userinfo) const {
    return "http://" + std::string(userinfo) + "@127.0.0.1:" + std::to_string(port_);
}

std::string tinyproxy::log() const {
    std::lock_guard lock(mutex_);
    return log_;
}

bool tinyproxy::wait_for_log(std::string_view text, std::chrono::milliseconds bound) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, bound, [&] { return log_.find(text) != std::string::npos; });
}

}  // namespace vow_test
