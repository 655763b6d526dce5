#include "child_process.hpp"

#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <pty.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace vow_test {
namespace {

void read_all(int fd, std::string& into) {
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            into.append(buf, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;  // EOF, or EIO from a pty whose child side is gone
        }
    }
    ::close(fd);
}

void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

child_process::child_process(std::vector<std::string> argv, io mode, unsigned short columns) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);

    if (mode == io::terminal) {
        // A terminal that draws: whatever TERM the tests run under (CI often says "dumb").
        std::vector<std::string> env_strings{"TERM=xterm-256color"};
        for (char** e = environ; *e; ++e) {
            if (std::string_view(*e).substr(0, 5) != "TERM=") env_strings.emplace_back(*e);
        }
        std::vector<char*> env;
        for (auto& e : env_strings) env.push_back(e.data());
        env.push_back(nullptr);
        int master = -1;
        winsize ws{};
        ws.ws_col = columns;
        ws.ws_row = 24;
        pid_ = ::forkpty(&master, nullptr, nullptr, &ws);
        if (pid_ < 0) throw_errno("forkpty");
        if (pid_ == 0) {
            // Only async-signal-safe calls between fork and exec.
            ::execve(args[0], args.data(), env.data());
            ::_exit(127);
        }
        ::fcntl(master, F_SETFD, FD_CLOEXEC);
        out_reader_ = std::thread(read_all, master, std::ref(out_));
        return;
    }

    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw_errno("pipe2");
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw_errno("pipe2");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0) {
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        throw std::system_error(rc, std::generic_category(), "posix_spawn");
    }
    out_reader_ = std::thread(read_all, out_pipe[0], std::ref(out_));
    err_reader_ = std::thread(read_all, err_pipe[0], std::ref(err_));
}

child_process::~child_process() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status;
        ::waitpid(pid_, &status, 0);
    }
    if (out_reader_.joinable()) out_reader_.join();
    if (err_reader_.joinable()) err_reader_.join();
}

void child_process::send_signal(int sig) {
    if (!reaped_) ::kill(pid_, sig);
}

process_result child_process::wait(std::chrono::milliseconds limit) {
    process_result r;
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
        pid_t got = ::waitpid(pid_, &status, WNOHANG);
        if (got == pid_) break;
        if (got < 0 && errno != EINTR) throw_errno("waitpid");
        if (std::chrono::steady_clock::now() > deadline) {
            r.timed_out = true;
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        // Polling another process's exit: there is no event to wait on here.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    reaped_ = true;
    if (out_reader_.joinable()) out_reader_.join();
    if (err_reader_.joinable()) err_reader_.join();
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
    r.out = std::move(out_);
    r.err = std::move(err_);
    return r;
}

process_result run(std::vector<std::string> argv, std::chrono::milliseconds limit) {
    child_process child(std::move(argv));
    return child.wait(limit);
}

}  // namespace vow_test
