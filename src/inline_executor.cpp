#include "vow/inline_executor.hpp"

#include <vector>

namespace vow {

namespace {

// What waits to run: a task, or an item that runs itself (then item != null).
struct queued {
    detail::trampoline_item* item = nullptr;
    task t;

    void run() {
        if (item != nullptr) {
            item->run_queued();
        } else {
            t();
        }
    }
};

// The work handed over while some runs, first in first out. A ring over a
// vector rather than a std::deque: a chain of continuations queues one entry
// at a time, and a deque would allocate and free a chunk every few of them.
class queue_ring {
public:
    bool empty() const noexcept { return count_ == 0; }
    void push(queued q) {
        if (count_ == slots_.size()) grow();
        slots_[(first_ + count_) & (slots_.size() - 1)] = std::move(q);
        ++count_;
    }
    queued pop() noexcept {
        queued q = std::move(slots_[first_]);
        first_ = (first_ + 1) & (slots_.size() - 1);
        --count_;
        return q;
    }

private:
    void grow() {
        std::vector<queued> bigger(slots_.empty() ? 16 : 2 * slots_.size());
        for (std::size_t i = 0; i < count_; ++i) bigger[i] = std::move(slots_[(first_ + i) & (slots_.size() - 1)]);
        slots_.swap(bigger);
        first_ = 0;
    }

    std::vector<queued> slots_;  // a power of two long, or empty
    std::size_t first_ = 0;
    std::size_t count_ = 0;
};

struct trampoline {
    bool active = false;
    queue_ring pending;
};

thread_local trampoline this_thread_trampoline;

// Runs `first`, then everything queued meanwhile, with the trampoline active.
void run_trampolined(trampoline& tr, queued first) {
    tr.active = true;
    struct reset_on_exit {
        trampoline& tr;
        ~reset_on_exit() { tr.active = false; }
    } guard{tr};
    first.run();
    first.t.reset();
    while (!tr.pending.empty()) {
        queued next = tr.pending.pop();
        next.run();
    }
}

}  // namespace

void inline_executor::execute(task t) {
    trampoline& tr = this_thread_trampoline;
    if (tr.active) {
        tr.pending.push(queued{nullptr, std::move(t)});
        return;
    }
    run_trampolined(tr, queued{nullptr, std::move(t)});
}

void detail::run_inline(trampoline_item& item) {
    trampoline& tr = this_thread_trampoline;
    if (tr.active) {
        try {
            tr.pending.push(queued{&item, nullptr});
        } catch (...) {
            item.run_queued();  // the queue cannot grow: nested, but never lost
        }
        return;
    }
    run_trampolined(tr, queued{&item, nullptr});
}

bool inline_executor::running_in_this_thread() const noexcept { return this_thread_trampoline.active; }

constinit inline_executor inline_executor::shared_;

}  // namespace vow
