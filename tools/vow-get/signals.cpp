#include "signals.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace vow_get {
namespace {

// Written by the handler, read by the main loop; lock-free atomics are
// async-signal-safe, and seq_cst keeps the reasoning simple (rare writes).
std::atomic<int> received_signal{0};
std::atomic<int> signal_write_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free);

struct sigaction previous_int;
struct sigaction previous_term;

extern "C" void on_interrupt(int sig) {
    int saved = errno;
    int expected = 0;
    received_signal.compare_exchange_strong(expected, sig);
    int fd = signal_write_fd.load();
    if (fd >= 0) {
        char byte = 's';
        [[maybe_unused]] auto n = ::write(fd, &byte, 1);  // a full pipe already wakes the reader
    }
    errno = saved;
}

}  // namespace

wakeup_pipe::wakeup_pipe() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        throw std::system_error(errno, std::generic_category(), "pipe2");
    }
    read_fd_ = fds[0];
    write_fd_ = fds[1];
}

wakeup_pipe::~wakeup_pipe() {
    if (handlers_installed_) {
        ::sigaction(SIGINT, &previous_int, nullptr);
        ::sigaction(SIGTERM, &previous_term, nullptr);
        signal_write_fd.store(-1);
    }
    ::close(read_fd_);
    ::close(write_fd_);
}

void wakeup_pipe::notify() noexcept {
    // One byte per wait is enough: later notifies before the reader wakes
    // cost no write (and wake no one).
    if (notified_.exchange(true, std::memory_order_acq_rel)) return;
    char byte = 'w';
    [[maybe_unused]] auto n = ::write(write_fd_, &byte, 1);
}

void wakeup_pipe::wait(int timeout_ms) noexcept {
    pollfd p{read_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) {
        char buf[256];
        while (::read(read_fd_, buf, sizeof buf) > 0) {
        }
    }
    // A read-modify-write, so that what a notify published before it is
    // seen by the caller's next look; a notify after this writes again.
    notified_.exchange(false, std::memory_order_acq_rel);
}

void wakeup_pipe::catch_interrupts() {
    signal_write_fd.store(write_fd_);
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_RESETHAND;  // a second Ctrl-C kills at once, as usual
    ::sigaction(SIGINT, &sa, &previous_int);
    ::sigaction(SIGTERM, &sa, &previous_term);
    handlers_installed_ = true;
}

int wakeup_pipe::interrupt_signal() noexcept {
    return received_signal.load();
}

}  // namespace vow_get
