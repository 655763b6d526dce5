#include "vow/detail/future_state.hpp"

#include <cassert>
#include <condition_variable>
#include <cstdio>

#include "support/cpu_relax.hpp"
#include "vow/thread_pool.hpp"

#include "vow/errors.hpp"
#include "vow/future.hpp"

namespace vow {

namespace {

void print_unobserved(std::exception_ptr e) noexcept {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "vow: unobserved exception in a dropped future: %s\n", ex.what());
    } catch (...) {
        std::fprintf(stderr, "vow: unobserved exception of unknown type in a dropped future\n");
    }
}

std::mutex handler_mutex;
unobserved_error_handler current_handler = print_unobserved;  // guarded by handler_mutex

}  // namespace

unobserved_error_handler set_unobserved_error_handler(unobserved_error_handler h) noexcept {
    std::lock_guard lock(handler_mutex);
    unobserved_error_handler previous = current_handler;
    current_handler = h ? h : print_unobserved;
    return previous;
}

}  // namespace vow

namespace vow::detail {

void report_unobserved(std::exception_ptr e) noexcept {
    unobserved_error_handler h;
    {
        std::lock_guard lock(handler_mutex);
        h = current_handler;
    }
    h(std::move(e));  // user code: never under our lock
}

namespace {

// A blocked thread's node. The waiter owns it; mutex+condvar (rather than an
// atomic wait) so that the signalling thread is done touching it before the
// waiter can return and destroy it.
struct blocking_waiter final : callback_node {
    std::mutex m;
    std::condition_variable cv;
    bool ready = false;  // guarded by m

    void on_ready(state_base&) noexcept override {
        std::lock_guard lock(m);
        ready = true;
        cv.notify_one();
    }
    void wait() {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return ready; });
    }
};

// A timed waiter may give up before the state completes, so the node is shared
// between the waiter and the state's list; the last of the two frees it.
struct timed_waiter final : callback_node {
    std::mutex m;
    std::condition_variable cv;
    bool ready = false;               // guarded by m
    std::atomic<int> owners{2};       // waiter + list; acq_rel on release

    void on_ready(state_base&) noexcept override {
        {
            std::lock_guard lock(m);
            ready = true;
            cv.notify_one();
        }
        release();
    }
    void release() noexcept {
        if (owners.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
};

// Brief spin before blocking: a cross-thread handoff usually completes within a
// few microseconds, far cheaper to catch than a futex sleep and wake-up.
constexpr int spin_before_blocking = 500;

// Waiting on a worker of a pool that must itself run the completing task would
// deadlock a small pool: such a wait runs the pool's queued work meanwhile, and
// blocks only in short slices when there is none. Returns false when the
// calling thread is not a pool worker.
// A consuming wait (get) is over only once the done-callbacks ran too, which
// the node learns last (on_ready is deferred until then).
bool help_while_waiting(state_base& s, const std::chrono::steady_clock::time_point* deadline,
                        bool consumes = false) {
    if (!thread_pool::this_thread_is_worker()) return false;
    auto* w = new timed_waiter;
    w->consumes = consumes;
    s.attach(w);
    auto over = [&] {
        if (!consumes) return s.is_ready();
        std::lock_guard lock(w->m);
        return w->ready;
    };
    for (;;) {
        while (!over() && thread_pool::run_one_for_this_worker()) {
        }
        auto now = std::chrono::steady_clock::now();
        if (over() || (deadline && now >= *deadline)) break;
        auto slice = now + std::chrono::milliseconds(1);
        if (deadline && *deadline < slice) slice = *deadline;
        std::unique_lock lock(w->m);
        if (w->cv.wait_until(lock, slice, [&] { return w->ready; })) break;
    }
    w->release();
    return true;
}

}  // namespace

// The side block: what only some states need. Guarded by `mutex` unless noted.
struct state_base::extras {
    class callbacks_node final : public callback_node {
    public:
        void on_ready(state_base& s) noexcept override { s.schedule_done_callbacks(); }
    };

    std::mutex mutex;
    std::vector<unique_function<void(state_base&)>> done_callbacks;
    bool callbacks_node_attached = false;
    bool callbacks_node_fired = false;  // publish reached the node; not merely is_ready()
    bool callbacks_running = false;
    callback_node* deferred_consumer = nullptr;
    std::stop_source stop_source{std::nostopstate};
    std::vector<unique_function<void()>> cancel_hooks;
    callbacks_node runner_node;  // not guarded: attached once, by the consumer
};

void state_base::destroy_links() noexcept {
    if (state_base* up = upstream_.load(std::memory_order_relaxed)) up->release();
    delete extras_.load(std::memory_order_relaxed);
}

state_base::extras& state_base::ensure_extras() {
    extras* e = extras_.load(std::memory_order_seq_cst);
    if (e != nullptr) return *e;
    auto* fresh = new extras;
    if (extras_.compare_exchange_strong(e, fresh, std::memory_order_seq_cst)) return *fresh;
    delete fresh;  // another thread won; `e` is its block
    return *e;
}

void state_base::finish_publish(callback_node* list) noexcept {
    if (extras_.load(std::memory_order_acquire) != nullptr) drop_cancel_hooks();
    callback_node* in_order = nullptr;
    while (list != nullptr) {  // the list is LIFO; reverse to run in attach order
        callback_node* next = list->next;
        list->next = in_order;
        in_order = list;
        list = next;
    }
    while (in_order != nullptr) {
        callback_node* next = in_order->next;  // read first: on_ready may free the node
        run_node(in_order);
        in_order = next;
    }
}

bool state_base::fail(std::exception_ptr e) noexcept {
    if (!try_claim()) return false;
    store_exception(std::move(e));
    publish();
    return true;
}

void state_base::attach(callback_node* n) noexcept { push_node(n, false); }

void state_base::attach_last(callback_node* n) noexcept { push_node(n, true); }

void state_base::push_node(callback_node* n, bool seal) noexcept {
    callback_node* top = seal ? reinterpret_cast<callback_node*>(reinterpret_cast<std::uintptr_t>(n) | sealed_bit) : n;
    callback_node* h = head_.load(std::memory_order_acquire);
    for (;;) {
        if (h == done_tag()) {
            run_node(n);
            return;
        }
        // An attach after the last consumer's would be lost by publish's store.
        assert(!is_sealed(h) && "vow: a node attached after the future's last consumer");
        n->next = h;
        // release: the node's contents; acquire on failure: may see done.
        if (head_.compare_exchange_weak(h, top, std::memory_order_release, std::memory_order_acquire)) return;
    }
}

void state_base::run_node(callback_node* n) noexcept {
    if (n->consumes && has_done_callbacks()) {
        extras& x = *extras_.load(std::memory_order_acquire);  // allocated before the bit was set
        std::lock_guard lock(x.mutex);
        if (x.callbacks_running || !x.done_callbacks.empty()) {
            x.deferred_consumer = n;  // the callback runner starts it when done
            return;
        }
    }
    n->on_ready(*this);
}

void state_base::add_done_callback(unique_function<void(state_base&)> cb) {
    extras& x = ensure_extras();
    bool attach_runner = false;
    bool run_now = false;
    {
        std::lock_guard lock(x.mutex);
        flags_.fetch_or(done_callbacks_bit, std::memory_order_relaxed);  // published by attach's release
        x.done_callbacks.push_back(std::move(cb));
        if (!x.callbacks_node_attached) {
            x.callbacks_node_attached = true;
            attach_runner = true;
        } else if (x.callbacks_node_fired && !x.callbacks_running) {
            // Done and runner idle: start another round. Not on is_ready() alone: until
            // publish reaches the node, it will start the round with this callback in it.
            x.callbacks_running = true;
            run_now = true;
        }
    }
    if (attach_runner) {
        attach(&x.runner_node);
    } else if (run_now) {
        schedule_done_callbacks();
    }
}

void state_base::schedule_done_callbacks() noexcept {
    {
        extras& x = *extras_.load(std::memory_order_acquire);
        std::lock_guard lock(x.mutex);
        x.callbacks_node_fired = true;
        x.callbacks_running = true;
    }
    add_ref();
    struct runner {
        state_base* s;
        bool ran = false;
        runner(state_base* st) noexcept : s(st) {}
        runner(runner&& o) noexcept : s(std::exchange(o.s, nullptr)), ran(o.ran) {}
        runner& operator=(runner&&) = delete;
        void operator()() {
            ran = true;
            s->run_done_callbacks();
        }
        ~runner() {
            if (!s) return;
            if (!ran) s->run_done_callbacks();  // executor refused: never drop a callback
            s->release();
        }
    };
    try {
        bound_executor().execute(runner(this));
    } catch (...) {
        // Refused: the runner's destructor ran the callbacks on this thread.
    }
}

void state_base::run_done_callbacks() noexcept {
    mark_observed();
    extras& x = *extras_.load(std::memory_order_acquire);
    for (;;) {
        std::vector<unique_function<void(state_base&)>> batch;
        callback_node* consumer = nullptr;
        {
            std::lock_guard lock(x.mutex);
            if (x.done_callbacks.empty()) {
                x.callbacks_running = false;
                consumer = std::exchange(x.deferred_consumer, nullptr);
            } else {
                batch.swap(x.done_callbacks);
            }
        }
        if (batch.empty()) {
            if (consumer) consumer->on_ready(*this);
            return;
        }
        for (auto& cb : batch) {
            try {
                cb(*this);
            } catch (...) {
                report_unobserved(std::current_exception());  // like Python: log, go on
            }
        }
    }
}

void state_base::wait() {
    if (is_ready()) return;
    for (int i = 0; i < spin_before_blocking; ++i) {
        cpu_relax();
        if (is_ready()) return;
    }
    if (help_while_waiting(*this, nullptr)) return;
    blocking_waiter w;
    attach(&w);
    w.wait();
}

bool state_base::wait_until(std::chrono::steady_clock::time_point deadline) {
    if (is_ready()) return true;
    if (help_while_waiting(*this, &deadline)) return is_ready();
    auto* w = new timed_waiter;
    attach(w);
    bool ready;
    {
        std::unique_lock lock(w->m);
        ready = w->cv.wait_until(lock, deadline, [&] { return w->ready; });
    }
    w->release();
    return ready;
}

void state_base::wait_consumable_slow() {
    if (!has_done_callbacks()) {
        wait();
        return;
    }
    if (help_while_waiting(*this, nullptr, true)) return;
    blocking_waiter w;
    w.consumes = true;
    attach(&w);
    w.wait();
}

void state_base::request_cancel() noexcept {
    // Done (or being completed by its producer): nothing left to cancel, and
    // nobody to tell -- no stop request, no hooks (Python's cancel() too).
    if (is_claimed()) return;
    // Iterative, not recursive: a cancel may travel up a chain of 100,000 thens.
    state_base* up = cancel_this(true);
    while (up != nullptr) {
        state_base* next = up->is_claimed() ? nullptr : up->cancel_this(true);  // a done one is left alone
        up->release();
        up = next;
    }
}

void state_base::request_stop_claimed() noexcept {
    if (state_base* up = cancel_this(false)) {
        up->request_cancel();
        up->release();
    }
}

state_base* state_base::cancel_this(bool mark_observed) noexcept {
    const std::uint32_t bits = mark_observed ? (cancel_bit | observed_bit) : cancel_bit;
    // seq_cst, and extras_ read after it: pairs with on_cancel/stop_token, which
    // publish extras_ and then read cancel_bit (see extras_).
    if (flags_.fetch_or(bits, std::memory_order_seq_cst) & cancel_bit) return nullptr;
    std::stop_source source{std::nostopstate};
    std::vector<unique_function<void()>> hooks;
    if (extras* x = extras_.load(std::memory_order_seq_cst)) {
        std::lock_guard lock(x->mutex);
        source = x->stop_source;
        hooks.swap(x->cancel_hooks);
    }
    if (!is_claimed()) fail(std::make_exception_ptr(cancelled_error()));
    if (source.stop_possible()) source.request_stop();
    for (auto& hook : hooks) {
        try {
            hook();
        } catch (...) {
            report_unobserved(std::current_exception());
        }
    }
    return upstream_.exchange(nullptr, std::memory_order_acq_rel);  // the caller owns this reference
}

std::stop_token state_base::stop_token() {
    extras& x = ensure_extras();
    std::lock_guard lock(x.mutex);
    if (!x.stop_source.stop_possible()) {
        x.stop_source = std::stop_source();
        if ((flags_.load(std::memory_order_seq_cst) & cancel_bit) != 0) x.stop_source.request_stop();
    }
    return x.stop_source.get_token();
}

void state_base::on_cancel(unique_function<void()> hook) {
    extras& x = ensure_extras();
    {
        std::lock_guard lock(x.mutex);
        if ((flags_.load(std::memory_order_seq_cst) & cancel_bit) == 0) {
            // Done without a cancel: no cancel can matter any more, and a stored
            // hook would only keep what it captures alive (see drop_cancel_hooks).
            // Checked under the mutex, so publish either sees this hook or we see done.
            if (is_ready()) return;  // `hook` is destroyed unrun, outside the lock
            x.cancel_hooks.push_back(std::move(hook));
            return;
        }
    }
    hook();  // already cancelled: run at once, outside the lock
}

void state_base::drop_cancel_hooks() noexcept {
    // acquire: pairs with the CAS that published the block.
    extras* x = extras_.load(std::memory_order_acquire);
    if (x == nullptr) return;  // the common path: one load, nothing else
    std::vector<unique_function<void()>> hooks;
    {
        std::lock_guard lock(x->mutex);
        hooks.swap(x->cancel_hooks);
    }
    // Destroyed here, outside the lock. A hook may hold the last reference to a
    // combinator's context (the reason this exists: a hook capturing the
    // context that owns this state would otherwise keep both alive forever);
    // the publisher holds its own reference, so `this` outlives the hooks.
}

void state_base::set_upstream(state_base* up) noexcept {
    up->add_ref();
    if (state_base* old = upstream_.exchange(up, std::memory_order_acq_rel)) old->release();
    // A cancel that came before the link existed must still reach `up`.
    if (cancel_requested()) {
        if (state_base* mine = upstream_.exchange(nullptr, std::memory_order_acq_rel)) {
            mine->request_cancel();
            mine->release();
        }
    }
}

void state_base::drop_upstream() noexcept {
    if (state_base* up = upstream_.exchange(nullptr, std::memory_order_acq_rel)) up->release();
}

void state_base::report_if_unobserved(const std::exception_ptr& e) const noexcept {
    if (exception_was_observed() || is_cancelled_exception(e)) return;
    report_unobserved(e);
}

}  // namespace vow::detail
