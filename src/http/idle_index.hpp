// idle_index: which I/O worker holds idle keep-alive connections to which
// origin. A connection belongs to its worker's io_context and cannot move to
// another, so a new request is started on a worker that has one waiting for
// it; the index also caps the idle connections of an origin over all workers.
//
// Counts per (origin, worker): `idle` connections in that worker's pool, of
// which `promised` are set aside for requests started there and not yet
// running. Placement leaves promised connections alone (promise_one), so
// requests spread over the workers that hold connections. A request that is
// about to send takes a promised one when nothing else is idle there, rather
// than connect anew; the one it was promised to then takes another or
// connects. Thread-safe; one short critical section per call, nothing else
// runs under the lock.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace vow::http::detail {

class idle_index {
public:
    explicit idle_index(std::size_t workers) : workers_(workers) {}

    // A worker with a free idle connection to `origin`, now promised to the
    // caller's request; nullopt when none has one.
    std::optional<std::size_t> promise_one(const std::string& origin);
    // The request that held a promise ended without taking a connection.
    void unpromise(const std::string& origin, std::size_t worker);
    // A connection goes idle in `worker`'s pool; false (close it instead) when
    // the origin already has `cap` idle connections over all workers.
    bool add(const std::string& origin, std::size_t worker, std::size_t cap);
    // A connection leaves `worker`'s pool for a request about to send (which
    // spends its promise, if it holds one; without one it may take a promised
    // connection, see above). False when the pool there is empty.
    bool take(const std::string& origin, std::size_t worker, bool promised);
    // An idle connection was closed while pooled (expired, shut down).
    void remove(const std::string& origin, std::size_t worker);

private:
    struct counts {
        std::size_t idle = 0;
        std::size_t promised = 0;  // <= idle
    };
    std::vector<counts>& of(const std::string& origin);  // mutex_ held
    void forget_if_empty(const std::string& origin);     // mutex_ held

    std::mutex mutex_;
    std::size_t workers_;
    std::unordered_map<std::string, std::vector<counts>> by_origin_;  // guarded by mutex_
};

}  // namespace vow::http::detail
