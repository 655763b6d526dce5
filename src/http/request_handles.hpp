// What the client core needs of a request, and no more: request_op
// implements both, and client_impl.hpp knows requests only through them.
#pragma once

namespace vow::http::detail {

// A request in flight on a worker, cancelled when the client shuts down.
class live_request {
public:
    // From any thread.
    virtual void cancel() = 0;

protected:
    ~live_request() = default;
};

// A request queued for an admission slot: told, from any thread, that it
// holds one now.
class slot_waiter {
public:
    virtual void slot_granted() = 0;

protected:
    ~slot_waiter() = default;
};

}  // namespace vow::http::detail
