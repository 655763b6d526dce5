// part_file: the `path.part` a download streams into, what it is a part of
// (the URL, the validator - ETag or Last-Modified - and the total size)
// remembered beside it in `path.part.meta` so that only a matching .part is
// resumed, an
// optional running SHA-256, and the rename to `path` that only success does.
// The folder is untrusted: no name is opened through a symlink, new files are
// created with O_EXCL, and a symlink at any of the three names is a file_error.
// Used from one I/O thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace vow::http::detail {

class sha256 {
public:
    sha256();
    ~sha256();
    sha256(const sha256&) = delete;
    sha256& operator=(const sha256&) = delete;
    void reset();
    void update(const char* data, std::size_t n);
    std::string hex_digest();  // finishes; call reset() to start over

private:
    struct ctx_deleter {
        void operator()(void* p) const noexcept;
    };
    std::unique_ptr<void, ctx_deleter> ctx_;
};

// What a .part is a part of, as `path.part.meta` records it.
struct part_meta {
    std::string url;                       // the URL the download was asked for
    std::optional<std::string> validator;  // strong ETag, else Last-Modified
    std::optional<std::uint64_t> total;    // the whole file's size, when known
};

class part_file {
public:
    explicit part_file(std::filesystem::path final_path);
    ~part_file();
    part_file(const part_file&) = delete;
    part_file& operator=(const part_file&) = delete;

    const std::filesystem::path& final_path() const noexcept { return final_; }
    const std::filesystem::path& part_path() const noexcept { return part_; }

    // Bytes already in the .part file (0 when there is none). Remembers
    // whether there was one, for open(). A symlink there is a file_error.
    std::uint64_t existing_size();
    // What the .part.meta records; unset when there is none or it cannot
    // be read (a .part without one is a foreign leftover, never resumed).
    std::optional<part_meta> stored_meta() const;

    // Opens the .part: keeping its bytes (a 206 continues it) or empty (a 200
    // restarts). `meta` is remembered for the next resume: written at once
    // when `expected_size` (the body still to come) is large or unknown,
    // else only if the file is left incomplete (a small file that completes
    // never pays for the meta file). With `hash`, the kept bytes are hashed
    // first so the digest covers the file.
    void open(bool keep_existing, part_meta meta, bool hash,
              std::optional<std::uint64_t> expected_size = std::nullopt);
    void write(const char* data, std::size_t n);
    std::uint64_t size() const noexcept { return size_; }
    std::string digest();  // hex SHA-256 of the whole file; open(..., hash=true) first

    // Closes, renames .part to the final path (recording the validator on
    // it: completed_file.hpp) and removes the meta file.
    void commit();
    // Closes, leaving .part and meta for a later resume.
    void close() noexcept;
    // Closes and removes .part and meta (they can never become right).
    void discard() noexcept;

private:
    std::filesystem::path final_, part_, meta_;
    void write_meta();  // throws file_error

    int fd_ = -1;
    std::uint64_t size_ = 0;
    part_meta meta_data_;
    bool meta_written_ = false;
    bool part_seen_ = true;  // false once existing_size() found no .part
    std::optional<sha256> hash_;
};

}  // namespace vow::http::detail
