#include "vow/manual_executor.hpp"

#include "support/call_stack.hpp"
#include "vow/errors.hpp"

namespace vow {

manual_executor::~manual_executor() { shutdown(); }

void manual_executor::execute(task t) {
    {
        std::lock_guard lock(mutex_);
        if (!shut_down_) {
            queue_.push_back(std::move(t));
            return;
        }
    }
    t.reset();  // outside the lock: a destructor may run user code
    throw executor_shut_down();
}

bool manual_executor::running_in_this_thread() const noexcept { return detail::call_stack::contains(this); }

bool manual_executor::pop(task& out) {
    std::lock_guard lock(mutex_);
    if (queue_.empty()) return false;
    out = std::move(queue_.front());
    queue_.pop_front();
    return true;
}

bool manual_executor::run_one() {
    task t;
    if (!pop(t)) return false;
    detail::call_stack::frame running_here(this);
    t();
    return true;
}

std::size_t manual_executor::run_all() {
    std::size_t n = pending();
    std::size_t ran = 0;
    while (ran < n && run_one()) ++ran;
    return ran;
}

std::size_t manual_executor::run_until_idle() {
    std::size_t ran = 0;
    while (run_one()) ++ran;
    return ran;
}

std::size_t manual_executor::pending() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

std::size_t manual_executor::shutdown() {
    std::deque<task> doomed;
    {
        std::lock_guard lock(mutex_);
        shut_down_ = true;
        doomed.swap(queue_);
    }
    return doomed.size();  // destroyed unrun as `doomed` goes out of scope, outside the lock
}

}  // namespace vow
