#include "client_impl.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "../support/thread_name.hpp"
#include "vow/errors.hpp"
#include "vow/http/errors.hpp"

namespace vow::http::detail {

// --- client_core -----------------------------------------------------------

namespace {

// OpenSSL frees its global locks in an exit handler it registers when first
// initialised. Initialised here, as the library loads, that handler runs after
// the exit-time destruction of vow's default pool and timer (built later, so
// destroyed first): a pool thread still dropping a client's TLS context at
// exit is joined before OpenSSL tears down under it.
const bool openssl_initialised_at_load = OPENSSL_init_ssl(0, nullptr) == 1;

// The threads that finish closing clients destroyed on their own I/O
// threads. Joined at exit: made on first use, after OpenSSL's exit handler
// was registered (above), so joined before that handler runs. Each new one
// first joins those that are done, so they do not pile up.
class background_closers {
public:
    static background_closers& instance() {
        static background_closers closers;
        return closers;
    }
    void close(std::shared_ptr<client_core> core) {
        auto done = std::make_shared<std::atomic<bool>>(false);
        std::lock_guard lock(mutex_);
        std::erase_if(closers_, [](closer& c) {
            if (!c.done->load()) return false;
            c.thread.join();
            return true;
        });
        closers_.push_back({std::thread([core = std::move(core), done]() mutable {
                                core->shutdown();
                                core.reset();  // the client's last owner, in all likelihood
                                done->store(true);
                            }),
                            done});
    }
    ~background_closers() {
        for (auto& c : closers_) c.thread.join();
    }

private:
    struct closer {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::mutex mutex_;
    std::vector<closer> closers_;
};

}  // namespace

void close_in_background(std::shared_ptr<client_core> core) { background_closers::instance().close(std::move(core)); }

client_core::client_core(client_options options)
    : options_(std::move(options)),
      completion_(options_.completion_executor ? options_.completion_executor : &default_executor()),
      retry_timer_(options_.retry_timer ? options_.retry_timer : &default_timer()),
      tls_(options_.tls),
      proxies_(options_.proxy),
      limits_(std::max<std::size_t>(1, options_.max_connections),
              std::max<std::size_t>(1, options_.max_connections_per_host)),
      idle_index_(static_cast<std::size_t>(std::max(1, options_.io_threads))),
      idle_cap_(options_.max_idle_per_host ? options_.max_idle_per_host
                                           : std::max<std::size_t>(1, options_.max_connections_per_host)),
      env_{*this, *this, limits_, options_, proxies_, tls_, nullptr, *completion_} {
    if (options_.max_bytes_per_second.value_or(0) > 0) rate_.emplace(*options_.max_bytes_per_second);
    env_.rate = rate_ ? &*rate_ : nullptr;
    int n = std::max(1, options_.io_threads);
    for (int i = 0; i < n; ++i) {
        auto w = std::make_unique<io_worker>(static_cast<std::size_t>(i));
        io_worker* raw = w.get();
        w->thread = std::thread([raw, i] {
            vow::detail::name_this_thread("vow-http-io", static_cast<std::size_t>(i));
            raw->ctx.run();
        });
        workers_.push_back(std::move(w));
    }
}

client_core::~client_core() { shutdown(); }

void client_core::shutdown() {
    std::call_once(shut_down_, [this] {
        closed_.store(true, std::memory_order_seq_cst);  // seq_cst: see spawn_unless_closed
        // A spawn that saw the client open finishes putting its request on
        // a worker first (briefly: up to the request's first wait).
        while (spawning_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
        for (auto& w : workers_) {
            asio::post(w->ctx, [w = w.get()] {
                for (auto* op : w->live) op->cancel();
                w->idle.clear();
            });
            w->work.reset();
        }
        for (auto& w : workers_) {
            if (w->thread.joinable()) w->thread.join();
        }
    });
}

bool client_core::on_an_io_thread() const {
    return std::any_of(workers_.begin(), workers_.end(),
                       [](const auto& w) { return w->ctx.get_executor().running_in_this_thread(); });
}

client_core::placement client_core::pick_worker(const std::string& origin) {
    if (auto w = idle_index_.promise_one(origin)) return {*workers_[*w], true};
    return {*workers_[next_worker_.fetch_add(1, std::memory_order_relaxed) % workers_.size()], false};
}

namespace {

// Whether a pooled connection is still open and quiet: a FIN (read returns
// 0) or unexpected bytes mean the server closed it or is closing it, and a
// request sent on it would fail. One non-blocking peek, no data consumed.
bool still_open(connection& c) {
    auto& socket = c.lowest().socket();
    if (!socket.is_open()) return false;
    char byte;
    ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::unique_ptr<connection> client_core::take_idle(io_worker& w, const std::string& origin, bool promised) {
    auto it = w.idle.find(origin);
    if (it == w.idle.end() || it->second.empty()) {
        if (promised) idle_index_.unpromise(origin, w.index);
        return nullptr;
    }
    if (!idle_index_.take(origin, w.index, promised)) return nullptr;
    // The most recently used: the one least likely to have been closed.
    auto c = std::move(it->second.back());
    it->second.pop_back();
    if (it->second.empty()) w.idle.erase(it);
    if (std::chrono::steady_clock::now() - c->idle_since >= options_.idle_keep_alive || !still_open(*c)) {
        c->close();
        return nullptr;
    }
    return c;
}

void client_core::put_idle(io_worker& w, std::unique_ptr<connection> c) {
    auto& list = w.idle[c->origin];
    auto now = std::chrono::steady_clock::now();
    // The oldest first: those idle too long are closed, not kept for good.
    while (!list.empty() && now - list.front()->idle_since >= options_.idle_keep_alive) {
        list.front()->close();
        list.pop_front();
        idle_index_.remove(c->origin, w.index);
    }
    if (!idle_index_.add(c->origin, w.index, idle_cap_)) {
        c->close();
        if (list.empty()) w.idle.erase(c->origin);
        return;
    }
    c->idle_since = now;
    c->lowest().expires_never();
    list.push_back(std::move(c));
}

}  // namespace vow::http::detail
