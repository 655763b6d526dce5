#include "slot_limits.hpp"

namespace vow::http::detail {

bool slot_limits::has_room(const std::string& origin) const {
    if (in_flight_ >= global_) return false;
    auto it = by_host_.find(origin);
    return it == by_host_.end() || it->second < per_host_;
}

bool slot_limits::try_acquire(const std::string& origin, const std::shared_ptr<slot_waiter>& op) {
    std::lock_guard lock(mutex_);
    if (waiters_.empty() && has_room(origin)) {
        ++in_flight_;
        ++by_host_[origin];
        return true;
    }
    waiters_.push_back({origin, op});
    grant_waiters();  // others queued for a host with room may go now
    return false;
}

bool slot_limits::withdraw(slot_waiter* op) {
    std::lock_guard lock(mutex_);
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->op.get() == op) {
            waiters_.erase(it);
            return false;
        }
    }
    return true;  // granted already: the caller holds a slot
}

void slot_limits::release(const std::string& origin) {
    std::lock_guard lock(mutex_);
    --in_flight_;
    if (auto it = by_host_.find(origin); it != by_host_.end() && --it->second == 0) by_host_.erase(it);
    grant_waiters();
}

void slot_limits::grant_waiters() {
    // FIFO, but a waiter for a full host does not block one for another host.
    for (auto it = waiters_.begin(); it != waiters_.end() && in_flight_ < global_;) {
        if (!has_room(it->origin)) {
            ++it;
            continue;
        }
        ++in_flight_;
        ++by_host_[it->origin];
        it->op->slot_granted();
        it = waiters_.erase(it);
    }
}

}  // namespace vow::http::detail
