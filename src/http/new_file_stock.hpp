// new_file_stock: unnamed files (O_TMPFILE) made ahead of need in one
// folder, by a thread of its own, for a batch of downloads into that folder
// (client::make_files_ahead). part_file takes one where it would make one.
//
// Why a thread: where making a file is dear (ext4 without a journal looks
// up, for each new inode, every inode deleted in the last minutes), the same
// creates made from two I/O threads at once cost the kernel about twice the
// CPU and go no faster. Made here, one after another on one CPU, they
// overlap the network instead (docs/benchmarks.md, seventh and eighth pass).
//
// The maker, under `mutex_`:
//
//   filling --(ahead_ ready)--> resting --(a take leaves low_mark() ready)--> filling
//      |                           |
//      +-- count_ made, a create failed, or stop() --> done (no more are made)
//
// take() pops a ready file; while the stock is empty and the maker not done,
// it waits for the next one. Empty and done, it returns -1: the caller makes
// its own file, and so meets the create's error itself if there was one.
// Files not taken are closed by stop() (and the destructor); being unnamed,
// they leave nothing behind.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace vow::http::detail {

// An unnamed file in `folder` (O_TMPFILE, write only), or -1 with errno set
// where there is none: the file system cannot make one, or /proc (through
// which one is linked in without privileges) is not there.
int make_unnamed_file(const std::filesystem::path& folder);

class new_file_stock {
public:
    // Starts making at once. At most `count` files are ever made, and at
    // most `ahead` (at least 1) are ready at a time: the descriptors it holds.
    new_file_stock(std::filesystem::path folder, std::size_t count, std::size_t ahead);
    ~new_file_stock();  // stop()
    new_file_stock(const new_file_stock&) = delete;
    new_file_stock& operator=(const new_file_stock&) = delete;

    const std::filesystem::path& folder() const noexcept { return folder_; }

    // A file made for the caller, who owns the descriptor from now on; -1
    // when the stock has no more to give. Any thread; may wait for the maker.
    int take();
    // Stops the maker, joins it and closes the files not taken; takes after
    // it return -1. Idempotent. Not from the maker itself.
    void stop();

private:
    void make_files();  // the maker's thread
    std::size_t low_mark() const noexcept { return ahead_ / 2; }

    const std::filesystem::path folder_;
    const std::size_t count_;
    const std::size_t ahead_;
    std::mutex mutex_;                   // guards all below but maker_
    std::condition_variable file_ready_; // takers wait on it
    std::condition_variable room_;       // the resting maker waits on it
    std::deque<int> ready_;
    std::size_t made_ = 0;
    bool done_ = false;      // nothing more is made
    bool stopping_ = false;  // stop() was called
    std::thread maker_;      // started last: the fields above are set before it runs
};

// A client's stocks, by folder. Any thread.
class new_file_stocks {
public:
    void add(std::shared_ptr<new_file_stock> stock);
    void remove(const new_file_stock* stock) noexcept;
    // The stock for new files in `folder` (as a download's path names its
    // folder: "out/x" is in "out", "x" in "."), or null.
    std::shared_ptr<new_file_stock> find(const std::filesystem::path& folder) const;

private:
    static std::filesystem::path key_of(const std::filesystem::path& folder);

    mutable std::mutex mutex_;  // guards stocks_
    std::vector<std::pair<std::filesystem::path, std::shared_ptr<new_file_stock>>> stocks_;
    // Lets find() skip the lock when there are none. Relaxed: a find that
    // misses a stock just added only makes its own file.
    std::atomic<std::size_t> size_{0};
};

}  // namespace vow::http::detail
