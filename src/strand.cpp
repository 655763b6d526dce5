#include "vow/strand.hpp"

#include <deque>
#include <mutex>

#include "support/call_stack.hpp"

namespace vow {

struct strand::state : std::enable_shared_from_this<strand::state> {
    state(executor& e, std::size_t b) : inner(e), batch(b == 0 ? 1 : b) {}

    executor& inner;
    const std::size_t batch;

    std::mutex mutex;
    std::deque<task> queue;  // guarded by mutex
    bool scheduled = false;  // guarded by mutex: a turn is queued on or running in `inner`

    // Destroys every queued task unrun and forgets the turn (used when `inner`
    // rejects a turn). The destructors run outside the lock.
    void drop_all() noexcept {
        std::deque<task> doomed;
        {
            std::lock_guard lock(mutex);
            doomed.swap(queue);
            scheduled = false;
        }
    }

    void schedule_turn();
    void run_turn();
};

namespace {

// The task a strand posts to its executor. If the executor destroys it unrun,
// the strand's queued tasks are destroyed too, so none is left behind forever.
class turn {
public:
    explicit turn(std::shared_ptr<strand::state> s) noexcept : state_(std::move(s)) {}
    turn(turn&& other) noexcept = default;
    turn& operator=(turn&&) = delete;
    ~turn() {
        if (state_) state_->drop_all();
    }
    void operator()() { std::exchange(state_, nullptr)->run_turn(); }

private:
    std::shared_ptr<strand::state> state_;
};

}  // namespace

void strand::state::schedule_turn() { inner.execute(turn(shared_from_this())); }

void strand::state::run_turn() {
    detail::call_stack::frame running_here(this);
    for (std::size_t n = 0; n < batch; ++n) {
        task t;
        {
            std::lock_guard lock(mutex);
            if (queue.empty()) {
                scheduled = false;
                return;
            }
            t = std::move(queue.front());
            queue.pop_front();
        }
        t();
    }
    {
        std::lock_guard lock(mutex);
        if (queue.empty()) {
            scheduled = false;
            return;
        }
    }
    try {
        schedule_turn();  // more work: yield the thread and come back in line
    } catch (...) {
        // `inner` shut down; the turn's destructor already dropped the queue.
    }
}

strand::strand(executor& inner, std::size_t batch) : state_(std::make_shared<state>(inner, batch)) {}

strand::~strand() = default;

void strand::execute(task t) {
    {
        std::lock_guard lock(state_->mutex);
        state_->queue.push_back(std::move(t));
        if (state_->scheduled) return;
        state_->scheduled = true;
    }
    state_->schedule_turn();
}

bool strand::running_in_this_thread() const noexcept { return detail::call_stack::contains(state_.get()); }

executor& strand::inner() const noexcept { return state_->inner; }

}  // namespace vow
