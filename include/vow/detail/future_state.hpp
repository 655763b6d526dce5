// The shared state behind promise<T>/future<T>. The part that does not depend
// on T (completion, callbacks, waiting, cancellation) is state_base, compiled
// once in src/future_state.cpp; state<T> adds only the result storage.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <optional>
#include <stop_token>
#include <utility>
#include <vector>

#include "vow/detail/block_cache.hpp"
#include "vow/executor.hpp"
#include "vow/result.hpp"
#include "vow/unique_function.hpp"

namespace vow::detail {

class state_base;

// Something waiting for a state to complete: a then-continuation, the
// add_done_callback runner, a blocked get(). on_ready is called exactly once,
// after the result is published; it must not throw.
class callback_node {
public:
    virtual void on_ready(state_base& s) noexcept = 0;

    callback_node* next = nullptr;  // owned by the state's list until on_ready
    bool consumes = false;          // true for then/get: must wait for done-callbacks

protected:
    ~callback_node() = default;
};

// State machine (the atomic `head_` plus the `claimed` bit of `flags_`):
//
//     pending --try_claim()--> claimed --publish()--> done
//        |                        |
//        +-- attach(node): node pushed on head_ (any state but done)
//        +-- attach_last(node): the same, and head_ is sealed: nothing
//            attaches after it
//
// - pending: no result. Nodes attached by the consumer queue up on head_.
// - sealed (a bit of head_, in pending or claimed): the future was consumed
//   by then(); its node is the last that will ever be attached, so publish()
//   may store done_tag rather than exchange it.
// - claimed: exactly one completer (producer set_value/set_exception, cancel(),
//   broken promise, a timeout) won try_claim() and is writing the result. Any
//   other completer loses and drops its value: a late set_value after cancel is
//   harmless.
// - done: head_ == done_tag; the result is immutable and visible to every
//   thread that saw done with acquire. publish() took the list and ran its
//   nodes in the order attached; a node attached after done runs at once on
//   the attaching thread.
//
// Who may call what:
// - try_claim/publish/fail: any thread (the producer, or any thread that cancels).
// - attach, add_done_callback, the blocking waits: any thread, concurrently.
//   A future's single consumer calls them, but so do the copies of a
//   shared_future, each on its own thread: attach is a lock-free push (or runs
//   the node at once when done), add_done_callback takes the extras mutex, and
//   each waiter has a node of its own. attach_last: only the future's single
//   consumer, as it gives the future up (then); nothing attaches after it.
// - request_cancel, on_cancel, stop_token: any thread.
//
// Layout: the common path (create, complete, attach one continuation, get)
// touches only the few words below. What only some futures need --
// done-callbacks, cancellation hooks, a stop_source -- lives in a side block
// (`extras`, src/future_state.cpp) that the first such use allocates with a CAS.
//
// Lifetime: intrusive reference count; the promise and the future each hold
// one, a queued continuation holds one, a then-continuation holds one on the
// future it waits on (released as soon as that one completes).
class state_base {
public:
    state_base(const state_base&) = delete;
    state_base& operator=(const state_base&) = delete;

    // Every state, whatever derives from it, lives in a block of the
    // per-thread block cache (vow/detail/block_cache.hpp); the virtual
    // destructor hands the sized delete the most-derived size.
    static void* operator new(std::size_t size) { return cached_allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept { cached_free(p, size); }
    static void* operator new(std::size_t size, std::align_val_t a) { return ::operator new(size, a); }
    static void operator delete(void* p, std::size_t, std::align_val_t a) noexcept {
        ::operator delete(p, a);  // unsized: clang declares the sized forms only with -fsized-deallocation
    }

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        // The last owner skips the read-modify-write: a count of 1 that we own
        // cannot grow (adding a reference needs one). acquire/acq_rel: the last
        // owner must see every write of the others before destroying.
        if (refs_.load(std::memory_order_acquire) == 1 || refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
            destroy();
    }

    bool is_ready() const noexcept { return head_.load(std::memory_order_acquire) == done_tag(); }

    // Completion, for producers: claim, then write the result, then publish.
    bool try_claim() noexcept {
        // acq_rel: a winner must see a cancel's writes; losers must not write.
        return (flags_.fetch_or(claimed_bit, std::memory_order_acq_rel) & claimed_bit) == 0;
    }
    void publish() noexcept {
        // acquire: the nodes' contents, and whether the last consumer is in.
        callback_node* list = head_.load(std::memory_order_acquire);
        if (is_sealed(list)) {
            // Nobody attaches after the last consumer and only the claim winner
            // publishes: head_ cannot change any more, so a store will do.
            // release: publishes the result.
            head_.store(done_tag(), std::memory_order_release);
        } else {
            // acq_rel: release publishes the result; acquire sees the nodes' contents.
            list = head_.exchange(done_tag(), std::memory_order_acq_rel);
        }
        list = unsealed(list);
        // acquire: pairs with the CAS that published the side block.
        if (extras_.load(std::memory_order_acquire) == nullptr) {
            if (list == nullptr) return;
            if (list->next == nullptr) {  // a chain's common case: one node, no done-callbacks
                list->on_ready(*this);
                return;
            }
        }
        finish_publish(list);
    }
    bool is_claimed() const noexcept { return (flags_.load(std::memory_order_acquire) & claimed_bit) != 0; }
    // claim + store the exception + publish. Returns false if already completed.
    bool fail(std::exception_ptr e) noexcept;

    // Consumers.
    void attach(callback_node* n) noexcept;
    // attach for the future's last consumer (then, which consumes the
    // future): nothing may attach after it, which lets publish skip a
    // read-modify-write.
    void attach_last(callback_node* n) noexcept;
    void add_done_callback(unique_function<void(state_base&)> cb);
    void wait();                                                        // until done
    bool wait_until(std::chrono::steady_clock::time_point deadline);    // until done or deadline
    void wait_consumable() {  // until done and every done-callback has run (before a get())
        if (!has_done_callbacks() && is_ready()) return;
        wait_consumable_slow();
    }
    bool has_done_callbacks() const noexcept {
        // relaxed: set by the consumer itself, or seen through head_'s acquire by publish.
        return (flags_.load(std::memory_order_relaxed) & done_callbacks_bit) != 0;
    }
    void mark_observed() noexcept { flags_.fetch_or(observed_bit, std::memory_order_relaxed); }
    bool exception_was_observed() const noexcept {
        return (flags_.load(std::memory_order_relaxed) & observed_bit) != 0;
    }

    // The executor that then(f) and done-callbacks run on.
    executor& bound_executor() const noexcept { return *executor_.load(std::memory_order_acquire); }
    void bind(executor& ex) noexcept { executor_.store(&ex, std::memory_order_release); }

    // Cancellation (any thread): completes the state with cancelled_error,
    // requests stop on its stop_token, runs on_cancel hooks and forwards the
    // request upstream. Does nothing once the state is claimed (done, or
    // being completed). Idempotent.
    void request_cancel() noexcept;
    // The same stop request for a state whose claim the caller already won
    // (a timeout writing timeout_error): the result is not marked observed.
    void request_stop_claimed() noexcept;
    bool cancel_requested() const noexcept {
        return (flags_.load(std::memory_order_acquire) & cancel_bit) != 0;
    }
    std::stop_token stop_token();
    void on_cancel(unique_function<void()> hook);
    // The state this one waits on (then/unwrap/co_await); a cancel is passed to
    // it. Takes a reference; it is dropped when `up` completes (drop_upstream).
    void set_upstream(state_base* up) noexcept;
    void drop_upstream() noexcept;
    // set_upstream for a state nobody else can reach yet (no cancel can have
    // come): takes over the caller's reference to `up` instead of adding one.
    void adopt_upstream(state_base* up) noexcept { upstream_.store(up, std::memory_order_relaxed); }
    // Unlinks the upstream and hands its reference to the caller; null when a
    // cancel took it first (and passed the cancel on).
    state_base* take_upstream() noexcept { return upstream_.exchange(nullptr, std::memory_order_acq_rel); }

    // Store an exception into the result storage (the caller won try_claim).
    virtual void store_exception(std::exception_ptr e) noexcept = 0;
    virtual std::exception_ptr stored_exception() const noexcept = 0;

protected:
    state_base() noexcept = default;
    virtual ~state_base() {
        // relaxed: we are the last owner (release() synchronised with the others).
        if (upstream_.load(std::memory_order_relaxed) != nullptr || extras_.load(std::memory_order_relaxed) != nullptr)
            destroy_links();
    }
    virtual void destroy() noexcept { delete this; }
    // From a derived destructor: hands an exception nobody looked at to the
    // unobserved-error handler (cancellations are never reported).
    void report_if_unobserved(const std::exception_ptr& e) const noexcept;

private:
    struct extras;  // the side block; defined in src/future_state.cpp

    static constexpr std::uint32_t claimed_bit = 1;
    static constexpr std::uint32_t cancel_bit = 2;
    static constexpr std::uint32_t observed_bit = 4;
    static constexpr std::uint32_t done_callbacks_bit = 8;  // set by the consumer before attaching a consumer

    static callback_node* done_tag() noexcept {
        // Never dereferenced: a unique address meaning "done, list consumed".
        return reinterpret_cast<callback_node*>(&done_tag_byte);
    }
    alignas(callback_node) static inline char done_tag_byte = 0;
    // The low bit of head_ (nodes are aligned): the node on top is the last
    // consumer's, the list is sealed (attach_last).
    static constexpr std::uintptr_t sealed_bit = 1;
    static bool is_sealed(callback_node* h) noexcept { return (reinterpret_cast<std::uintptr_t>(h) & sealed_bit) != 0; }
    static callback_node* unsealed(callback_node* h) noexcept {
        return reinterpret_cast<callback_node*>(reinterpret_cast<std::uintptr_t>(h) & ~sealed_bit);
    }
    void push_node(callback_node* n, bool seal) noexcept;
    void finish_publish(callback_node* list) noexcept;  // runs the nodes, drops the cancel hooks
    void wait_consumable_slow();
    void destroy_links() noexcept;  // the destructor's rare part: upstream link, side block
    void run_node(callback_node* n) noexcept;
    state_base* cancel_this(bool mark_observed) noexcept;  // returns the upstream reference to pass the cancel on
    void run_done_callbacks() noexcept;
    void schedule_done_callbacks() noexcept;
    void drop_cancel_hooks() noexcept;  // at publish: a done state's hooks can never run
    extras& ensure_extras();

    std::atomic<std::uint32_t> refs_{2};      // promise + future
    std::atomic<std::uint32_t> flags_{0};     // claimed / cancel requested / observed / has done-callbacks
    std::atomic<callback_node*> head_{nullptr};  // attached nodes (LIFO), maybe sealed_bit; or done_tag
    std::atomic<state_base*> upstream_{nullptr};  // exchange() hands it to exactly one of cancel/drop
    std::atomic<executor*> executor_{nullptr};  // set by the consumer (via); read by the callback runner
    // Allocated once by whoever first needs it (CAS), freed with the state.
    // seq_cst where it pairs with cancel_bit: a hook registration and a cancel
    // each write one of the two and read the other, and one must see the other.
    std::atomic<extras*> extras_{nullptr};
};

// Adds the result storage. The result lives in `storage_` once claimed.
template <class T>
class state : public state_base {
public:
    state() noexcept = default;

    template <class... Args>
    void store_value(Args&&... args) {
        ::new (static_cast<void*>(&storage_)) result<T>(std::in_place, std::forward<Args>(args)...);
        constructed_ = true;
    }
    void store_exception(std::exception_ptr e) noexcept override {
        ::new (static_cast<void*>(&storage_)) result<T>(std::move(e));
        constructed_ = true;
    }
    std::exception_ptr stored_exception() const noexcept override {
        return constructed_ ? get_result().exception() : nullptr;
    }

    // Only after done (is_ready() with acquire, or from a node's on_ready).
    result<T>& get_result() noexcept { return *std::launder(reinterpret_cast<result<T>*>(&storage_)); }
    const result<T>& get_result() const noexcept {
        return *std::launder(reinterpret_cast<const result<T>*>(&storage_));
    }

    // Completes with a value unless already completed. Returns whether it did.
    template <class... Args>
    bool set_value(Args&&... args) {
        if (!try_claim()) return false;
        try {
            store_value(std::forward<Args>(args)...);
        } catch (...) {
            store_exception(std::current_exception());
        }
        publish();
        return true;
    }

    static state* create() { return new state(); }

private:
protected:
    ~state() override {
        if (!constructed_) return;
        if (get_result().has_exception()) report_if_unobserved(get_result().exception());
        get_result().~result<T>();
    }

    alignas(result<T>) unsigned char storage_[sizeof(result<T>)];
    bool constructed_ = false;  // written by the claimer before publish
};

// An owning pointer to a state (one reference).
template <class S>
class state_ptr {
public:
    state_ptr() noexcept = default;
    explicit state_ptr(S* s) noexcept : s_(s) {}  // adopts a reference
    state_ptr(const state_ptr& o) noexcept : s_(o.s_) {
        if (s_) s_->add_ref();
    }
    state_ptr(state_ptr&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    state_ptr& operator=(state_ptr o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~state_ptr() {
        if (s_) s_->release();
    }

    static state_ptr share(S* s) noexcept {
        s->add_ref();
        return state_ptr(s);
    }

    S* get() const noexcept { return s_; }
    S* operator->() const noexcept { return s_; }
    S& operator*() const noexcept { return *s_; }
    explicit operator bool() const noexcept { return s_ != nullptr; }
    S* detach() noexcept { return std::exchange(s_, nullptr); }

private:
    S* s_ = nullptr;
};

// Reports an exception nobody observed (see set_unobserved_error_handler).
void report_unobserved(std::exception_ptr e) noexcept;

}  // namespace vow::detail
