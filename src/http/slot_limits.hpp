// Admission control for requests: how many may hold a connection at once,
// in all and per origin.
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "request_handles.hpp"

namespace vow::http::detail {

// Admission: a request holds one slot of its origin from connect to the end
// of its response. Thread-safe; waiters are woken on their own I/O thread.
class slot_limits {
public:
    slot_limits(std::size_t global, std::size_t per_host) : global_(global), per_host_(per_host) {}

    // True: the slot is held. False: `op` is queued and will be told by
    // slot_granted().
    bool try_acquire(const std::string& origin, const std::shared_ptr<slot_waiter>& op);
    // A queued op gave up (cancel, timeout). True when it holds a slot anyway
    // (granted meanwhile), which the caller must then release.
    bool withdraw(slot_waiter* op);
    void release(const std::string& origin);

private:
    bool has_room(const std::string& origin) const;
    void grant_waiters();  // mutex held

    struct waiter {
        std::string origin;
        std::shared_ptr<slot_waiter> op;
    };
    std::mutex mutex_;
    std::size_t global_, per_host_;
    std::size_t in_flight_ = 0;                  // guarded by mutex_
    std::map<std::string, std::size_t> by_host_;  // guarded by mutex_
    std::list<waiter> waiters_;                  // guarded by mutex_, FIFO
};

}  // namespace vow::http::detail
