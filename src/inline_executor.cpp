#include "vow/inline_executor.hpp"

#include <vector>

namespace vow {

namespace {

// The tasks handed over while one runs, first in first out. A ring over a
// vector rather than a std::deque: a chain of continuations queues one task at
// a time, and a deque would allocate and free a chunk every few of them.
class task_ring {
public:
    bool empty() const noexcept { return count_ == 0; }
    void push(task t) {
        if (count_ == slots_.size()) grow();
        slots_[(first_ + count_) & (slots_.size() - 1)] = std::move(t);
        ++count_;
    }
    task pop() noexcept {
        task t = std::move(slots_[first_]);
        first_ = (first_ + 1) & (slots_.size() - 1);
        --count_;
        return t;
    }

private:
    void grow() {
        std::vector<task> bigger(slots_.empty() ? 16 : 2 * slots_.size());
        for (std::size_t i = 0; i < count_; ++i) bigger[i] = std::move(slots_[(first_ + i) & (slots_.size() - 1)]);
        slots_.swap(bigger);
        first_ = 0;
    }

    std::vector<task> slots_;  // a power of two long, or empty
    std::size_t first_ = 0;
    std::size_t count_ = 0;
};

struct trampoline {
    bool active = false;
    task_ring pending;
};

thread_local trampoline this_thread_trampoline;

}  // namespace

void inline_executor::execute(task t) {
    trampoline& tr = this_thread_trampoline;
    if (tr.active) {
        tr.pending.push(std::move(t));
        return;
    }
    tr.active = true;
    struct reset_on_exit {
        trampoline& tr;
        ~reset_on_exit() { tr.active = false; }
    } guard{tr};
    t();
    t.reset();
    while (!tr.pending.empty()) {
        task next = tr.pending.pop();
        next();
    }
}

bool inline_executor::running_in_this_thread() const noexcept { return this_thread_trampoline.active; }

constinit inline_executor inline_executor::shared_;

}  // namespace vow
