// SIGINT/SIGTERM for vow-get: the handlers only record the signal and write a
// byte to a self-pipe; the main loop polls that pipe and does the real work
// (cancelling the downloads). The same pipe wakes the loop when a download ends.
// A second signal gets the default action: a stuck shutdown can still be killed.
#pragma once

#include <atomic>

namespace vow_get {

class wakeup_pipe {
public:
    wakeup_pipe();   // non-blocking, close-on-exec
    ~wakeup_pipe();  // uninstalls the handlers if this pipe had them
    wakeup_pipe(const wakeup_pipe&) = delete;
    wakeup_pipe& operator=(const wakeup_pipe&) = delete;

    // Wakes wait(); any thread, async-signal-safe.
    void notify() noexcept;
    // Blocks until notify() or a signal, or `timeout_ms` passes; drains the pipe.
    void wait(int timeout_ms) noexcept;

    // Installs SIGINT and SIGTERM handlers that write to this pipe (one pipe at a time).
    void catch_interrupts();
    // The signal received (SIGINT or SIGTERM), 0 if none yet.
    static int interrupt_signal() noexcept;

private:
    std::atomic<bool> notified_{false};  // a byte is in the pipe, or about to be
    int read_fd_ = -1;
    int write_fd_ = -1;
    bool handlers_installed_ = false;
};

}  // namespace vow_get
