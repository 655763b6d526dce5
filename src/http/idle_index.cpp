#include "idle_index.hpp"

#include <algorithm>

namespace vow::http::detail {

std::vector<idle_index::counts>& idle_index::of(const std::string& origin) {
    auto& v = by_origin_[origin];
    if (v.empty()) v.resize(workers_);
    return v;
}

void idle_index::forget_if_empty(const std::string& origin) {
    auto it = by_origin_.find(origin);
    if (it == by_origin_.end()) return;
    bool empty = std::all_of(it->second.begin(), it->second.end(), [](const counts& c) { return c.idle == 0; });
    if (empty) by_origin_.erase(it);
}

std::optional<std::size_t> idle_index::promise_one(const std::string& origin) {
    std::lock_guard lock(mutex_);
    auto it = by_origin_.find(origin);
    if (it == by_origin_.end()) return std::nullopt;
    auto& v = it->second;
    // The worker with the most free connections: spreads a batch's requests
    // over the workers as evenly as its connections are.
    auto best = std::max_element(v.begin(), v.end(), [](const counts& a, const counts& b) {
        return a.idle - a.promised < b.idle - b.promised;
    });
    if (best->idle == best->promised) return std::nullopt;
    ++best->promised;
    return static_cast<std::size_t>(best - v.begin());
}

void idle_index::unpromise(const std::string& origin, std::size_t worker) {
    std::lock_guard lock(mutex_);
    auto it = by_origin_.find(origin);
    if (it == by_origin_.end()) return;
    auto& c = it->second[worker];
    if (c.promised > 0) --c.promised;
}

bool idle_index::add(const std::string& origin, std::size_t worker, std::size_t cap) {
    std::lock_guard lock(mutex_);
    auto& v = of(origin);
    std::size_t total = 0;
    for (const auto& c : v) total += c.idle;
    if (total >= cap) {
        forget_if_empty(origin);
        return false;
    }
    ++v[worker].idle;
    return true;
}

bool idle_index::take(const std::string& origin, std::size_t worker, bool promised) {
    std::lock_guard lock(mutex_);
    auto it = by_origin_.find(origin);
    if (it == by_origin_.end()) return false;
    auto& c = it->second[worker];
    if (c.idle == 0) return false;  // none left (a promised one was closed or taken meanwhile)
    // The taker holds a slot of the origin and sends now; a request a
    // connection is promised to has not started, and may wait for a slot
    // behind the taker. So a taker without a promise takes a promised
    // connection too, rather than open one more than the requests in flight:
    // the request it was promised to takes another when it runs, or connects.
    if (c.promised > 0 && (promised || c.idle == c.promised)) --c.promised;
    --c.idle;
    forget_if_empty(origin);
    return true;
}

void idle_index::remove(const std::string& origin, std::size_t worker) {
    std::lock_guard lock(mutex_);
    auto it = by_origin_.find(origin);
    if (it == by_origin_.end()) return;
    auto& c = it->second[worker];
    if (c.idle > 0) --c.idle;
    c.promised = std::min(c.promised, c.idle);  // a promise of a closed connection is void
    forget_if_empty(origin);
}

}  // namespace vow::http::detail
