#include "vow/inline_executor.hpp"

#include <utility>
#include <vector>

namespace vow {

namespace {

// What waits to run: an item that runs itself, or (item == null) a task.
struct queued {
    detail::trampoline_item* item = nullptr;
    task t;
};

// The work handed over while some runs, first in first out. A ring over a
// vector rather than a std::deque: a chain of continuations queues one entry
// at a time, and a deque would allocate and free a chunk every few of them.
// A free slot holds no item and an empty task, so queueing an item writes
// one pointer.
//
// An item queued while nothing else waits (a chain of thens: each link queues
// the next and returns) goes to a slot of its own in front of the ring, as
// the oldest entry: FIFO order holds, and the ring's indices are not touched.
class queue_ring {
public:
    bool empty() const noexcept { return count_ == 0 && front_item_ == nullptr; }
    void push(detail::trampoline_item& item) {
        if (count_ == 0 && front_item_ == nullptr) {
            front_item_ = &item;
            return;
        }
        next_free().item = &item;
    }
    void push(task t) { next_free().t = std::move(t); }

    // Takes the oldest entry out and runs it (its slot is free again first,
    // so that what it queues may reuse it).
    void run_front() {
        if (front_item_ != nullptr) {
            std::exchange(front_item_, nullptr)->run_queued();
            return;
        }
        queued& front = slots_[first_];
        first_ = (first_ + 1) & (slots_.size() - 1);
        --count_;
        if (detail::trampoline_item* item = std::exchange(front.item, nullptr)) {
            item->run_queued();
        } else {
            task t = std::move(front.t);
            t();
        }
    }

private:
    queued& next_free() {
        if (count_ == slots_.size()) grow();
        queued& slot = slots_[(first_ + count_) & (slots_.size() - 1)];
        ++count_;
        return slot;
    }
    void grow() {
        std::vector<queued> bigger(slots_.empty() ? 16 : 2 * slots_.size());
        for (std::size_t i = 0; i < count_; ++i) {
            queued& from = slots_[(first_ + i) & (slots_.size() - 1)];
            bigger[i].item = std::exchange(from.item, nullptr);
            bigger[i].t = std::move(from.t);
        }
        slots_.swap(bigger);
        first_ = 0;
    }

    detail::trampoline_item* front_item_ = nullptr;  // older than all in slots_
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
template <class Run>
void run_trampolined(trampoline& tr, Run&& first) {
    tr.active = true;
    struct reset_on_exit {
        trampoline& tr;
        ~reset_on_exit() { tr.active = false; }
    } guard{tr};
    first();
    while (!tr.pending.empty()) tr.pending.run_front();
}

}  // namespace

void inline_executor::execute(task t) {
    trampoline& tr = this_thread_trampoline;
    if (tr.active) {
        tr.pending.push(std::move(t));
        return;
    }
    run_trampolined(tr, [&] {
        t();
        t.reset();  // destroyed before what it queued runs, as a queued task is
    });
}

void detail::run_inline(trampoline_item& item) {
    trampoline& tr = this_thread_trampoline;
    if (tr.active) {
        try {
            tr.pending.push(item);
        } catch (...) {
            item.run_queued();  // the queue cannot grow: nested, but never lost
        }
        return;
    }
    run_trampolined(tr, [&] { item.run_queued(); });
}

bool inline_executor::running_in_this_thread() const noexcept { return this_thread_trampoline.active; }

constinit inline_executor inline_executor::shared_;

}  // namespace vow
