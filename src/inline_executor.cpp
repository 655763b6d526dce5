#include "vow/inline_executor.hpp"

#include <deque>

namespace vow {

namespace {

struct trampoline {
    bool active = false;
    std::deque<task> pending;
};

thread_local trampoline this_thread_trampoline;

}  // namespace

void inline_executor::execute(task t) {
    trampoline& tr = this_thread_trampoline;
    if (tr.active) {
        tr.pending.push_back(std::move(t));
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
        task next = std::move(tr.pending.front());
        tr.pending.pop_front();
        next();
    }
}

bool inline_executor::running_in_this_thread() const noexcept { return this_thread_trampoline.active; }

inline_executor& inline_executor::instance() noexcept {
    static inline_executor shared;
    return shared;
}

}  // namespace vow
