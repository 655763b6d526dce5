// A real HTTP proxy for tests: Debian's tinyproxy, run in the foreground on a
// free loopback port with a config file of its own in a temporary folder.
// Ready once it logs that it accepts connections (no sleeping, no polling);
// killed and reaped by the destructor. A missing tinyproxy throws: the tests
// that need it fail loudly instead of skipping (./build.sh installs it).
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace vow_test {

class tinyproxy {
public:
    // `config_lines` are added to the config (e.g. "ConnectPort 443",
    // "BasicAuth user pass"); Port, Listen, Allow and the log level are set.
    explicit tinyproxy(std::vector<std::string> config_lines = {});
    ~tinyproxy();
    tinyproxy(const tinyproxy&) = delete;
    tinyproxy& operator=(const tinyproxy&) = delete;

    unsigned short port() const noexcept { return port_; }
    // "http://127.0.0.1:<port>"
    std::string url() const;
    // "http://<userinfo>@127.0.0.1:<port>"
    std::string url_with(std::string_view userinfo) const;
    // What it has logged so far.
    std::string log() const;
    // Waits (at most `bound`) until its log holds `text`.
    bool wait_for_log(std::string_view text, std::chrono::milliseconds bound = std::chrono::seconds(10)) const;

    // A loopback port where nothing listens (bound, then closed at once).
    static unsigned short unused_port();

private:
    bool start(const std::vector<std::string>& config_lines);  // false: the port was taken meanwhile
    void stop() noexcept;
    void read_log(int fd);

    std::filesystem::path dir_;
    unsigned short port_ = 0;
    pid_t pid_ = -1;
    std::thread reader_;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::string log_;    // guarded by mutex_
    bool ended_ = false;  // its output ended; guarded by mutex_
};

}  // namespace vow_test
