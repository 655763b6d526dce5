// A child process for end-to-end tests: spawned without a shell (argv as
// given), its stdout and stderr captured through pipes, or both through a
// pseudo-terminal; waited for with a bound, then killed if it overstays.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace vow_test {

struct process_result {
    int exit_code = -1;    // when it exited
    int term_signal = 0;   // when a signal ended it
    bool timed_out = false;  // it overstayed and was killed
    std::string out;       // stdout (with a pty: everything the terminal showed)
    std::string err;       // stderr (empty with a pty)
};

class child_process {
public:
    enum class io { pipes, terminal };

    // Starts argv[0] (a path) with the given arguments; stdin is /dev/null.
    // With io::terminal the child gets a pty of `columns` x 24 as its
    // controlling terminal and stdin/stdout/stderr.
    child_process(std::vector<std::string> argv, io mode = io::pipes, unsigned short columns = 100);
    ~child_process();  // kills and reaps a child still running
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    void send_signal(int sig);
    // Waits at most `limit` for the child to exit and its output to end.
    process_result wait(std::chrono::milliseconds limit);

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    std::string out_, err_;
    std::thread out_reader_, err_reader_;
};

// Runs to completion (at most `limit`) and returns what it did.
process_result run(std::vector<std::string> argv, std::chrono::milliseconds limit = std::chrono::seconds(60));

}  // namespace vow_test
