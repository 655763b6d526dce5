// The state behind future<T>::within / vow::timeout: completes with the input's
// result, or with timeout_error at the deadline (cancelling the input).
#pragma once

#include "vow/detail/future_state.hpp"
#include "vow/errors.hpp"
#include "vow/timer.hpp"

namespace vow::detail {

template <class T>
class timeout_state final : public state<T>, public callback_node {
public:
    // One allocation for the state and node, one for the timer entry.
    static state_ptr<state<T>> start(state_ptr<state<T>> input, timer& t, timer::time_point deadline) {
        auto* self = new timeout_state();
        self->consumes = true;
        self->bind(input->bound_executor());
        self->input_ = std::move(input);
        self->set_upstream(self->input_.get());  // a cancel of the result reaches the input
        self->add_ref();                          // held by the timer task
        try {
            self->deadline_ = t.schedule_at(deadline, expire_task(self));
        } catch (const executor_shut_down&) {
            // The timer refused: expire_task's destructor failed the result with
            // executor_shut_down and cancelled the input, as sleep_until does.
        } catch (...) {
            self->release();  // the list's reference: the input is never attached
            self->release();
            throw;
        }
        // Attached last: on_ready reads deadline_, which is set by now.
        self->input_->attach(self);  // the list holds one of the two initial references
        return state_ptr<state<T>>(self);
    }

    void on_ready(state_base&) noexcept override {
        this->drop_upstream();
        auto& r = input_->get_result();
        if (r.has_exception()) input_->mark_observed();
        complete_from(static_cast<state<T>&>(*this), std::move(r));
        deadline_.cancel();  // the common case: the timeout never fires, free its entry now
        this->release();
    }

private:
    // Runs at the deadline on the timer's thread.
    class expire_task {
    public:
        explicit expire_task(timeout_state* s) noexcept : self_(s) {}
        expire_task(expire_task&& o) noexcept : self_(std::exchange(o.self_, nullptr)) {}
        expire_task& operator=(expire_task&&) = delete;
        // Dropped unrun: a no-op once the result is complete (the input finished
        // or the result was cancelled); otherwise the timer is gone, and the
        // result must not wait forever for a deadline that can no longer fire.
        ~expire_task() {
            if (!self_) return;
            if (self_->fail(std::make_exception_ptr(executor_shut_down()))) self_->input_->request_cancel();
            self_->release();
        }
        void operator()() {
            timeout_state* self = std::exchange(self_, nullptr);
            // Claim, cancel the input, then publish: whoever sees the timeout sees
            // the input already told to stop.
            if (self->try_claim()) {
                self->input_->request_cancel();
                self->store_exception(std::make_exception_ptr(timeout_error("vow: deadline exceeded")));
                self->publish();
            }
            self->release();
        }

    private:
        timeout_state* self_;
    };

    timeout_state() = default;

    state_ptr<state<T>> input_;  // set before the timer and the node exist; read-only after
    timer_handle deadline_;      // written before attach; read by on_ready
};

}  // namespace vow::detail
