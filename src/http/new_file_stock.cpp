#include "new_file_stock.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>

namespace vow::http::detail {

int make_unnamed_file(const std::filesystem::path& folder) {
    static const bool proc_fd = ::access("/proc/self/fd", X_OK) == 0;
    if (!proc_fd) {
        errno = ENOENT;
        return -1;
    }
    return ::open(folder.empty() ? "." : folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
}

new_file_stock::new_file_stock(std::filesystem::path folder, std::size_t count, std::size_t ahead)
    : folder_(std::move(folder)), count_(count), ahead_(std::max<std::size_t>(1, ahead)) {
    maker_ = std::thread([this] { make_files(); });
    // Named here rather than by the thread, so the name is there as soon as the stock is.
    ::pthread_setname_np(maker_.native_handle(), "vow-new-files");
}

new_file_stock::~new_file_stock() { stop(); }

int new_file_stock::take() {
    std::unique_lock lock(mutex_);
    file_ready_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (ready_.empty()) return -1;
    const int fd = ready_.front();
    ready_.pop_front();
    // Woken once per drain to the low mark, not at every take: it makes
    // files in runs, and a take costs no wake-up (a futex call) most times.
    if (ready_.size() == low_mark()) room_.notify_one();
    return fd;
}

void new_file_stock::stop() {
    std::deque<int> left;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    room_.notify_one();
    if (maker_.joinable()) maker_.join();
    {
        std::lock_guard lock(mutex_);
        left.swap(ready_);
    }
    for (int fd : left) ::close(fd);
}

void new_file_stock::make_files() {
    std::unique_lock lock(mutex_);
    while (!stopping_ && made_ < count_) {
        room_.wait(lock, [&] { return stopping_ || ready_.size() <= low_mark(); });
        bool failed = false;
        while (!stopping_ && made_ < count_ && ready_.size() < ahead_) {
            lock.unlock();
            const int fd = make_unnamed_file(folder_);
            lock.lock();
            if (fd < 0) {
                failed = true;  // the takers make their own, and meet the error there
                break;
            }
            ++made_;
            ready_.push_back(fd);
            file_ready_.notify_one();  // no system call when no taker waits
        }
        if (failed) break;
    }
    done_ = true;
    lock.unlock();
    file_ready_.notify_all();
}

std::filesystem::path new_file_stocks::key_of(const std::filesystem::path& folder) {
    auto key = (folder.empty() ? std::filesystem::path(".") : folder).lexically_normal();
    if (key.has_parent_path() && !key.has_filename()) key = key.parent_path();  // "out/" is "out"
    return key;
}

void new_file_stocks::add(std::shared_ptr<new_file_stock> stock) {
    auto key = key_of(stock->folder());
    std::lock_guard lock(mutex_);
    stocks_.emplace_back(std::move(key), std::move(stock));
    size_.store(stocks_.size(), std::memory_order_relaxed);
}

void new_file_stocks::remove(const new_file_stock* stock) noexcept {
    std::lock_guard lock(mutex_);
    std::erase_if(stocks_, [&](const auto& entry) { return entry.second.get() == stock; });
    size_.store(stocks_.size(), std::memory_order_relaxed);
}

std::shared_ptr<new_file_stock> new_file_stocks::find(const std::filesystem::path& folder) const {
    if (size_.load(std::memory_order_relaxed) == 0) return nullptr;
    const auto key = key_of(folder);
    std::lock_guard lock(mutex_);
    for (const auto& [k, stock] : stocks_)
        if (k == key) return stock;
    return nullptr;
}

}  // namespace vow::http::detail
