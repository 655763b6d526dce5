#include "client_impl.hpp"

#include <openssl/ssl.h>

#include <fstream>
#include <future>

#include "../thread_name.hpp"
#include "request.hpp"
#include "vow/errors.hpp"
#include "vow/http/errors.hpp"

namespace vow::http::detail {

// --- slot_limits -----------------------------------------------------------

bool slot_limits::has_room(const std::string& origin) const {
    if (in_flight_ >= global_) return false;
    auto it = by_host_.find(origin);
    return it == by_host_.end() || it->second < per_host_;
}

bool slot_limits::try_acquire(const std::string& origin, const std::shared_ptr<request_op>& op) {
    std::lock_guard lock(mutex_);
    if (waiters_.empty() && has_room(origin)) {
        ++in_flight_;
        ++by_host_[origin];
        return true;
    }
    waiters_.push_back({origin, op});
    grant_waiters();  // others queued for a host with room may go now
    return false;
}

bool slot_limits::withdraw(request_op* op) {
    std::lock_guard lock(mutex_);
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->op.get() == op) {
            waiters_.erase(it);
            return false;
        }
    }
    return true;  // granted already: the caller holds a slot
}

void slot_limits::release(const std::string& origin) {
    std::lock_guard lock(mutex_);
    --in_flight_;
    if (auto it = by_host_.find(origin); it != by_host_.end() && --it->second == 0) by_host_.erase(it);
    grant_waiters();
}

void slot_limits::grant_waiters() {
    // FIFO, but a waiter for a full host does not block one for another host.
    for (auto it = waiters_.begin(); it != waiters_.end() && in_flight_ < global_;) {
        if (!has_room(it->origin)) {
            ++it;
            continue;
        }
        ++in_flight_;
        ++by_host_[it->origin];
        it->op->slot_granted_.store(true, std::memory_order_release);
        it->op->nudge();
        it = waiters_.erase(it);
    }
}

// --- client_core -----------------------------------------------------------

namespace {

// OpenSSL frees its global locks in an exit handler it registers when first
// initialised. Initialised here, as the library loads, that handler runs after
// the exit-time destruction of vow's default pool and timer (built later, so
// destroyed first): a pool thread still dropping a client's TLS context at
// exit is joined before OpenSSL tears down under it.
const bool openssl_initialised_at_load = OPENSSL_init_ssl(0, nullptr) == 1;

void configure_tls(ssl::context& ctx, const tls_options& tls) {
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx.set_default_verify_paths();
    if (tls.ca_file) ctx.load_verify_file(*tls.ca_file);
    if (tls.ca_pem) ctx.add_certificate_authority(asio::buffer(*tls.ca_pem));
}

}  // namespace

client_core::client_core(client_options options)
    : options_(std::move(options)),
      completion_(options_.completion_executor ? options_.completion_executor : &default_executor()),
      retry_timer_(options_.retry_timer ? options_.retry_timer : &default_timer()),
      tls_(ssl::context::tls_client),
      limits_(std::max<std::size_t>(1, options_.max_connections),
              std::max<std::size_t>(1, options_.max_connections_per_host)) {
    try {
        configure_tls(tls_, options_.tls);
    } catch (const boost::system::system_error& e) {
        throw transport_error(e.code(), "cannot load the trusted CAs");
    }
    int n = std::max(1, options_.io_threads);
    for (int i = 0; i < n; ++i) {
        auto w = std::make_unique<io_worker>();
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
        {
            std::lock_guard lock(start_mutex_);
            closed_.store(true, std::memory_order_release);
        }
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

io_worker& client_core::pick_worker() {
    return *workers_[next_worker_.fetch_add(1, std::memory_order_relaxed) % workers_.size()];
}

std::unique_ptr<connection> client_core::take_idle(io_worker& w, const std::string& origin) {
    auto it = w.idle.find(origin);
    if (it == w.idle.end()) return nullptr;
    auto now = std::chrono::steady_clock::now();
    while (!it->second.empty()) {
        auto c = std::move(it->second.back());
        it->second.pop_back();
        if (now - c->idle_since < options_.idle_keep_alive) return c;
        c->close();
    }
    return nullptr;
}

void client_core::put_idle(io_worker& w, std::unique_ptr<connection> c) {
    auto& list = w.idle[c->origin];
    c->idle_since = std::chrono::steady_clock::now();
    c->lowest().expires_never();
    list.push_back(std::move(c));
    while (list.size() > options_.max_idle_per_host) {
        list.front()->close();
        list.pop_front();
    }
}

}  // namespace vow::http::detail
