// strand: serialises tasks on top of any executor. FIFO, never two of its
// tasks at once, and no thread of its own.
#pragma once

#include <cstddef>
#include <memory>

#include "vow/executor.hpp"

namespace vow {

// Tasks run in the order execute() accepted them, one at a time, on threads of
// the wrapped executor. A turn runs at most `batch` tasks and then yields its
// thread back (re-posting itself), so a busy strand cannot starve the pool.
//
// Thread safety: all members may be called from any thread.
// Destructor: queued tasks still run (each turn keeps the strand's state alive),
// as long as the wrapped executor outlives them. If the wrapped executor rejects
// a turn (shut down), the tasks queued on the strand are destroyed unrun.
class strand final : public executor {
public:
    static constexpr std::size_t default_batch = 64;

    explicit strand(executor& inner, std::size_t batch = default_batch);
    // A strand over another strand (without this, `strand(other)` would pick
    // the deleted copy constructor).
    explicit strand(strand& inner, std::size_t batch = default_batch)
        : strand(static_cast<executor&>(inner), batch) {}
    ~strand() override;

    // Throws executor_shut_down when the wrapped executor rejects the turn.
    void execute(task t) override;
    // True inside a task of this strand (also when strands are nested).
    bool running_in_this_thread() const noexcept override;

    executor& inner() const noexcept;

    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace vow
