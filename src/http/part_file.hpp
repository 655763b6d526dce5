// part_file: the `path.part` a download streams into, what it is a part of
// (the URL, the validator - ETag or Last-Modified - and the total size)
// remembered beside it in `path.part.meta` so that only a matching .part is
// resumed, an
// optional running SHA-256, and the rename to `path` that only success does.
// The folder is untrusted: no name is opened through a symlink, new files are
// created with O_EXCL, and a symlink at any of the three names is a file_error.
// Used from one I/O thread at a time, but for write_at (segments).
//
// A small new file (at most 1 MiB, length known, no .part there) is written
// as an unnamed file in the folder (O_TMPFILE) and linked in under its final
// name at commit: no .part appears and no rename is needed, and the new
// inode is allocated without holding the folder's lock, so that several
// threads can create files in one folder at once (a plain create holds the
// lock while ext4 searches for a free inode). One left incomplete is linked
// in as the .part, with its meta, so it resumes as any other. Where the file
// system has no O_TMPFILE, the .part is named from the start. With a
// new_file_stock for the folder, the unnamed file is one it made ahead.
#pragma once

#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vow::http::detail {

class new_file_stock;

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

// The error of a download that finds something at its final name and does
// not replace it: file_error (file exists). `what_became`: of the bytes that
// came so far ("the download is kept as X"), or empty.
std::exception_ptr final_name_taken(const std::filesystem::path& final, const std::string& what_became);

// One range of a segmented download: bytes [start, end) of the file, of
// which the first `done` are in the .part.
struct part_range {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    std::uint64_t done = 0;
    bool operator==(const part_range&) const = default;
};

// What a .part is a part of, as `path.part.meta` records it. Format 1 has
// the url, validator and total lines; format 2 (a segmented download) adds
// one "range START END DONE" line per segment, in order, covering [0, total).
// A format-1 meta is read as before (no ranges).
struct part_meta {
    std::string url;                       // the URL the download was asked for
    std::optional<std::string> validator;  // strong ETag, else Last-Modified
    std::optional<std::uint64_t> total;    // the whole file's size, when known
    std::vector<part_range> ranges;        // a segmented download's; empty for format 1
};

class part_file {
public:
    explicit part_file(std::filesystem::path final_path);
    ~part_file();
    part_file(const part_file&) = delete;
    part_file& operator=(const part_file&) = delete;

    const std::filesystem::path& final_path() const noexcept { return final_; }
    const std::filesystem::path& part_path() const noexcept { return part_; }

    // open() takes its unnamed file from `stock` (made for the final path's
    // folder) where it would make one, and makes its own when none is left.
    void take_new_files_from(std::shared_ptr<new_file_stock> stock) noexcept { new_files_ = std::move(stock); }

    // Bytes already in the .part file (0 when there is none). Remembers
    // whether there was one, for open(). A symlink there is a file_error.
    std::uint64_t existing_size();
    // What existing_size() would find when the caller knows there is no .part.
    void known_absent() noexcept { part_seen_ = false; }
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

    // A segmented download: opens the .part for positioned writes (keeping
    // its bytes, or new and empty) and writes `meta` (with its ranges) at once.
    void open_positioned(bool keep_existing, part_meta meta);
    // Writes at `offset`; safe from several threads at once (pwrite), but not
    // alongside open/close/commit.
    void write_at(std::uint64_t offset, const char* data, std::size_t n) const;
    // Rewrites the meta file with `meta` (a segmented download's progress).
    void save_meta(part_meta meta);
    // The .part's size on disk now (the open descriptor's).
    std::uint64_t size_on_disk() const;
    // Hex SHA-256 of the .part's bytes as they are on disk now.
    std::string digest_of_file() const;

    // A file at the final path as the download completes is not replaced:
    // commit() throws file_error (file exists) and leaves the download as
    // the .part, with its meta, to resume.
    void never_replace() noexcept { replace_final_ = false; }

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

    // Links the unnamed file in at the final name; a regular file there is
    // replaced through the .part and a rename, anything else refused.
    void link_unnamed_as_final();
    // Links it in as `to`, replacing a regular file there; throws file_error.
    void link_unnamed(const std::filesystem::path& to) const;

    void flush_held();  // writes held_ out; throws file_error
    // never_replace() met a file at the final name: keeps what came as the
    // .part with its meta (as far as it can), closes, throws file_error.
    [[noreturn]] void refuse_taken_final();

    std::shared_ptr<new_file_stock> new_files_;  // may be null
    int fd_ = -1;
    bool unnamed_ = false;  // fd_ is an O_TMPFILE not yet linked in
    // A small body (its length known, at most held_limit) that comes in
    // pieces is held here and written in one call when the last piece
    // comes; one that comes in one piece is written straight from it.
    static constexpr std::uint64_t held_limit = 64 * 1024;
    std::size_t hold_ = 0;  // the small body's length; 0: write as it comes
    std::vector<char> held_;
    std::uint64_t size_ = 0;
    part_meta meta_data_;
    bool meta_written_ = false;
    bool part_seen_ = true;  // false once existing_size() found no .part
    bool replace_final_ = true;
    std::optional<sha256> hash_;
};

}  // namespace vow::http::detail
