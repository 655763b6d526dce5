// Lifetime counting for callbacks handed to vow (after cppcoro's test/counted.hpp).
// A `counted` callable records in a shared `counters` how often it ran and how
// often a live (not moved-from) instance was destroyed, so a test can check that
// every callback runs at most once and is destroyed exactly once, also when it
// is dropped unrun (cancel, shutdown, rejection).
#pragma once

#include <atomic>
#include <cstddef>
#include <utility>

namespace vow_test {

// Shared by every instance made from it. It must outlive the executor that
// holds them (declare it first), as a destructor may still be notifying.
struct counters {
    std::atomic<int> runs{0};
    std::atomic<int> destroyed{0};  // live instances destroyed (moved-from shells are not counted)

    bool ran_once() const noexcept { return runs.load() == 1 && destroyed.load() == 1; }
    bool destroyed_unrun() const noexcept { return runs.load() == 0 && destroyed.load() == 1; }

    // Blocks until at least `n` instances were destroyed (atomic wait, no sleeping).
    void wait_destroyed(int n) const noexcept {
        for (int seen = destroyed.load(); seen < n; seen = destroyed.load()) destroyed.wait(seen);
    }
};

// The body of a counted callable that does nothing.
struct no_op {
    void operator()() const noexcept {}
};

// A move-only callable: counts its runs and the destruction of its live
// instance, and calls `body` when run. Small (a pointer plus the body), so a
// unique_function stores it inline when the body is small too.
template <class Body = no_op>
class counted {
public:
    explicit counted(counters& c, Body body = Body{}) noexcept : counters_(&c), body_(std::move(body)) {}
    counted(counted&& other) noexcept
        : counters_(std::exchange(other.counters_, nullptr)), body_(std::move(other.body_)) {}
    counted& operator=(counted&&) = delete;
    counted(const counted&) = delete;
    counted& operator=(const counted&) = delete;
    ~counted() {
        if (counters_ != nullptr) {
            counters_->destroyed.fetch_add(1);
            counters_->destroyed.notify_all();
        }
    }

    void operator()() {
        counters_->runs.fetch_add(1);
        body_();
    }

private:
    counters* counters_;
    Body body_;
};

// counted{c, [&] { ... }} without spelling the lambda type.
template <class Body = no_op>
counted<Body> make_counted(counters& c, Body body = Body{}) {
    return counted<Body>(c, std::move(body));
}

}  // namespace vow_test
