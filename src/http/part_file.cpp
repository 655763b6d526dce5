#include "part_file.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <string_view>
#include <system_error>

#include "completed_file.hpp"
#include "new_file_stock.hpp"
#include "vow/http/errors.hpp"

namespace vow::http::detail {

namespace {

// Throws file_error for errno, read before the message is built (building it
// allocates, which may change errno).
[[noreturn]] void throw_errno(const char* doing, const std::filesystem::path& p) {
    std::error_code error(errno, std::generic_category());
    throw file_error(error, std::string(doing) + p.string());
}

[[noreturn]] void throw_not_regular(const std::filesystem::path& p) {
    throw file_error(std::make_error_code(std::errc::too_many_symbolic_link_levels),
                     p.string() + " is a symbolic link or not a regular file; it is not followed");
}

// Opens an existing `p` (no O_CREAT) without following a symlink at it; it
// must be a regular file with one link (a hard link to a file elsewhere would
// let writes reach it). Returns -1 with errno set when it does not exist.
int open_existing(const std::filesystem::path& p, int flags) {
    int fd = ::open(p.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ELOOP) throw_not_regular(p);
        return -1;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || ((flags & O_ACCMODE) != O_RDONLY && st.st_nlink != 1)) {
        ::close(fd);
        throw_not_regular(p);
    }
    return fd;
}

// A symlink, or anything but a regular file, at `p` is someone else's: a file_error.
void refuse_unless_regular(const std::filesystem::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) throw_not_regular(p);
}

// Runs `make`, which makes `p` without ever replacing what is there (false
// with errno set on failure). When `p` is taken, a regular file there is
// removed and `make` runs once more; anything else there is a file_error.
// False with errno set on other failures.
template <class Make>
bool make_replacing_a_regular_file(const std::filesystem::path& p, Make make) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (make()) return true;
        if (errno != EEXIST) return false;
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0) continue;  // gone meanwhile
        if (!S_ISREG(st.st_mode)) throw_not_regular(p);
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw_errno("cannot remove ", p);
    }
    errno = EEXIST;
    return false;
}

// Creates `p` anew with O_EXCL and without following a symlink, replacing a
// regular file there (make_replacing_a_regular_file). Returns -1 with errno
// set on other failures.
int create_fresh(const std::filesystem::path& p, int access = O_WRONLY) {
    int fd = -1;
    make_replacing_a_regular_file(p, [&] {
        fd = ::open(p.c_str(), access | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        return fd >= 0;
    });
    return fd;
}

void rename_or_throw(const std::filesystem::path& from, const std::filesystem::path& to) {
    std::error_code ec;
    std::filesystem::rename(from, to, ec);
    if (ec) throw file_error(ec, "cannot rename " + from.string() + " to " + to.string());
}

// Renames `from` to `to` unless something is at `to` (false then). Where the
// file system has no RENAME_NOREPLACE, a look first and a plain rename.
bool rename_unless_taken(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
    if (errno == EEXIST) return false;
    if (errno != EINVAL && errno != ENOSYS) {
        std::error_code error(errno, std::generic_category());
        throw file_error(error, "cannot rename " + from.string() + " to " + to.string());
    }
    struct stat st {};
    if (::lstat(to.c_str(), &st) == 0 || errno != ENOENT) return false;  // taken, or not known to be free
    rename_or_throw(from, to);
    return true;
}

void write_all(int fd, const char* data, std::size_t n, const std::filesystem::path& p) {
    while (n > 0) {
        ssize_t w = ::write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw_errno("cannot write ", p);
        }
        data += w;
        n -= static_cast<std::size_t>(w);
    }
}

// Links the unnamed file `fd` in as `to`: by the descriptor itself where the
// process may (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; it fails with ENOENT
// without it), else through /proc, the documented way without privileges
// (open(2), O_TMPFILE). False with errno set on failure.
bool link_in(int fd, const std::filesystem::path& to) {
    static std::atomic<bool> by_descriptor{true};
    if (by_descriptor.load(std::memory_order_relaxed)) {
        if (::linkat(fd, "", AT_FDCWD, to.c_str(), AT_EMPTY_PATH) == 0) return true;
        if (errno != ENOENT && errno != EPERM) return false;
        by_descriptor.store(false, std::memory_order_relaxed);
    }
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    return ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, to.c_str(), AT_SYMLINK_FOLLOW) == 0;
}

std::filesystem::path with_suffix(const std::filesystem::path& p, const char* suffix) {
    auto copy = p;
    copy += suffix;
    return copy;
}

}  // namespace

void sha256::ctx_deleter::operator()(void* p) const noexcept { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(p)); }

sha256::sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_) throw std::bad_alloc();
    reset();
}
sha256::~sha256() = default;

void sha256::reset() { EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), EVP_sha256(), nullptr); }

void sha256::update(const char* data, std::size_t n) {
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_.get()), data, n);
}

std::string sha256::hex_digest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), md, &len);
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += digits[md[i] >> 4];
        out += digits[md[i] & 15];
    }
    return out;
}

part_file::part_file(std::filesystem::path final_path)
    : final_(std::move(final_path)), part_(with_suffix(final_, ".part")), meta_(with_suffix(final_, ".part.meta")) {}

part_file::~part_file() { close(); }

std::uint64_t part_file::existing_size() {
    struct stat st {};
    part_seen_ = ::lstat(part_.c_str(), &st) == 0;
    if (!part_seen_) return 0;
    if (!S_ISREG(st.st_mode)) throw_not_regular(part_);
    return static_cast<std::uint64_t>(st.st_size);
}

// The meta file: a first line naming the format, then "key value" lines.
constexpr std::string_view meta_format = "vow-part-meta 1";
constexpr std::string_view meta_format_ranges = "vow-part-meta 2";

namespace {

std::optional<std::uint64_t> parse_number(std::string_view text) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return n;
}

// "START END DONE" of a range line.
std::optional<part_range> parse_range_line(std::string_view value) {
    part_range r;
    std::uint64_t* fields[] = {&r.start, &r.end, &r.done};
    for (int i = 0; i < 3; ++i) {
        auto space = i < 2 ? value.find(' ') : value.size();
        if (space == std::string_view::npos) return std::nullopt;
        auto n = parse_number(value.substr(0, space));
        if (!n) return std::nullopt;
        *fields[i] = *n;
        value.remove_prefix(std::min(value.size(), space + 1));
    }
    if (r.start >= r.end || r.done > r.end - r.start) return std::nullopt;
    return r;
}

// Format 2's ranges must tile [0, total) in order.
bool ranges_fit(const part_meta& meta) {
    if (meta.ranges.empty()) return false;
    if (!meta.total) return false;
    std::uint64_t at = 0;
    for (const auto& r : meta.ranges) {
        if (r.start != at) return false;
        at = r.end;
    }
    return at == *meta.total;
}

}  // namespace

std::optional<part_meta> part_file::stored_meta() const {
    int fd = open_existing(meta_, O_RDONLY);
    if (fd < 0) return std::nullopt;
    std::string text(16 * 1024, '\0');
    ssize_t n = ::read(fd, text.data(), text.size());
    ::close(fd);
    if (n <= 0) return std::nullopt;
    text.resize(static_cast<std::size_t>(n));
    std::string_view rest = text;
    auto next_line = [&]() -> std::optional<std::string_view> {
        auto end = rest.find('\n');
        if (end == std::string_view::npos) return std::nullopt;  // cut short: not ours, or torn
        auto line = rest.substr(0, end);
        rest.remove_prefix(end + 1);
        return line;
    };
    auto format = next_line();
    const bool with_ranges = format == meta_format_ranges;
    if (format != meta_format && !with_ranges) return std::nullopt;
    part_meta meta;
    bool has_url = false;
    while (auto line = next_line()) {
        auto space = line->find(' ');
        if (space == std::string_view::npos) return std::nullopt;
        auto key = line->substr(0, space), value = line->substr(space + 1);
        if (key == "url") {
            meta.url = value;
            has_url = true;
        } else if (key == "validator") {
            meta.validator = std::string(value);
        } else if (key == "total") {
            auto total = parse_number(value);
            if (!total) return std::nullopt;
            meta.total = total;
        } else if (key == "range" && with_ranges) {
            auto range = parse_range_line(value);
            if (!range) return std::nullopt;
            meta.ranges.push_back(*range);
        }
    }
    if (!has_url || !rest.empty()) return std::nullopt;
    if (with_ranges && !ranges_fit(meta)) return std::nullopt;
    return meta;
}

void part_file::open(bool keep_existing, part_meta meta, bool hash,
                     std::optional<std::uint64_t> expected_size) {
    close();
    const bool old_part_may_exist = part_seen_;
    constexpr std::uint64_t small_file = 1 << 20;
    const bool small = expected_size && *expected_size <= small_file;
    if (!keep_existing && !old_part_may_exist && small) {
        fd_ = new_files_ ? new_files_->take() : -1;
        if (fd_ < 0) fd_ = make_unnamed_file(final_.parent_path());
    }
    unnamed_ = fd_ >= 0;
    if (!unnamed_) {
        // Never through a symlink: a kept .part must be a regular file of ours,
        // a new one is created with O_EXCL.
        auto open_part = [&] {
            return keep_existing ? open_existing(part_, O_RDWR | O_APPEND) : create_fresh(part_);
        };
        fd_ = open_part();
        if (fd_ < 0 && errno == ENOENT && !keep_existing && !final_.parent_path().empty()) {
            // The folder is missing: made only now, so the common case costs one call.
            std::error_code ec;
            std::filesystem::create_directories(final_.parent_path(), ec);
            if (ec) throw file_error(ec, "cannot create the folder " + final_.parent_path().string());
            fd_ = open_part();
        }
        if (fd_ < 0) throw_errno("cannot open ", part_);
        part_seen_ = true;
    }
    size_ = 0;
    held_.clear();
    hold_ = expected_size && *expected_size <= held_limit ? static_cast<std::size_t>(*expected_size) : 0;
    if (keep_existing) {
        struct stat st {};
        if (::fstat(fd_, &st) != 0) throw_errno("cannot stat ", part_);
        size_ = static_cast<std::uint64_t>(st.st_size);
    }

    meta_data_ = std::move(meta);
    meta_written_ = false;
    if (!small) {
        write_meta();
    } else if (keep_existing) {
        meta_written_ = true;  // the continued .part's meta stays, and goes at commit
    } else if (old_part_may_exist) {
        // A restart must not leave the old .part's meta behind. Without a
        // .part there is none to leave, and the unlink, which takes the
        // folder's lock even when there is nothing to remove, is skipped.
        std::error_code ignored;
        std::filesystem::remove(meta_, ignored);
    }

    hash_.reset();
    if (!hash) return;
    hash_.emplace();
    if (size_ == 0) return;
    // Read through the descriptor we write: the bytes hashed are the bytes kept.
    std::string buf(1 << 16, '\0');
    std::uint64_t at = 0;
    while (at < size_) {
        ssize_t n = ::pread(fd_, buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size_ - at)),
                            static_cast<off_t>(at));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("cannot read ", part_);
        if (n == 0) throw file_error(std::make_error_code(std::errc::io_error), "cannot read " + part_.string());
        hash_->update(buf.data(), static_cast<std::size_t>(n));
        at += static_cast<std::uint64_t>(n);
    }
}

void part_file::open_positioned(bool keep_existing, part_meta meta) {
    close();
    // Read and write: a checksum reads the file back at the end.
    fd_ = keep_existing ? open_existing(part_, O_RDWR) : create_fresh(part_, O_RDWR);
    if (fd_ < 0 && errno == ENOENT && !keep_existing && !final_.parent_path().empty()) {
        std::error_code ec;
        std::filesystem::create_directories(final_.parent_path(), ec);
        if (ec) throw file_error(ec, "cannot create the folder " + final_.parent_path().string());
        fd_ = create_fresh(part_, O_RDWR);
    }
    if (fd_ < 0) throw_errno("cannot open ", part_);
    part_seen_ = true;
    size_ = 0;
    hash_.reset();
    save_meta(std::move(meta));
}

void part_file::write_at(std::uint64_t offset, const char* data, std::size_t n) const {
    while (n > 0) {
        ssize_t w = ::pwrite(fd_, data, n, static_cast<off_t>(offset));
        if (w < 0) {
            if (errno == EINTR) continue;
            throw_errno("cannot write ", part_);
        }
        data += w;
        n -= static_cast<std::size_t>(w);
        offset += static_cast<std::uint64_t>(w);
    }
}

void part_file::save_meta(part_meta meta) {
    meta_data_ = std::move(meta);
    write_meta();
}

std::uint64_t part_file::size_on_disk() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) throw_errno("cannot stat ", part_);
    return static_cast<std::uint64_t>(st.st_size);
}

std::string part_file::digest_of_file() const {
    sha256 hash;
    std::string buf(1 << 16, '\0');
    for (std::uint64_t at = 0;;) {
        ssize_t n = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(at));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("cannot read ", part_);
        if (n == 0) return hash.hex_digest();
        hash.update(buf.data(), static_cast<std::size_t>(n));
        at += static_cast<std::uint64_t>(n);
    }
}

void part_file::write(const char* data, std::size_t n) {
    if (hash_) hash_->update(data, n);
    size_ += n;
    if (hold_ > 0 && (!held_.empty() || n < hold_)) {
        if (held_.empty()) held_.reserve(hold_);
        held_.insert(held_.end(), data, data + n);
        if (held_.size() >= hold_) flush_held();  // the last piece
        return;
    }
    write_all(fd_, data, n, part_);
}

void part_file::flush_held() {
    if (held_.empty()) return;
    // Emptied even when a write fails: the .part then holds what reached the
    // disk, and a resume asks for the rest (writing the held bytes again
    // after a partial write would put some of them in twice).
    struct empty_after {
        std::vector<char>& held;
        ~empty_after() { held.clear(); }
    } empty{held_};
    write_all(fd_, held_.data(), held_.size(), part_);
}

std::string part_file::digest() { return hash_ ? hash_->hex_digest() : std::string(); }

void part_file::link_unnamed(const std::filesystem::path& to) const {
    if (!make_replacing_a_regular_file(to, [&] { return link_in(fd_, to); }))
        throw_errno("cannot link a new file in as ", to);
}

std::exception_ptr final_name_taken(const std::filesystem::path& final, const std::string& what_became) {
    std::string message = "a file is at " + final.string() + " and is not replaced";
    if (!what_became.empty()) message += "; " + what_became;
    return std::make_exception_ptr(file_error(std::make_error_code(std::errc::file_exists), message));
}

void part_file::refuse_taken_final() {
    std::string kept;
    try {
        if (std::exchange(unnamed_, false) && size_ > 0) link_unnamed(part_);
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
        if (size_ > 0) {
            if (!meta_written_) write_meta();  // so that the .part resumes
            kept = "the download is kept as " + part_.string();
        }
    } catch (const std::exception& e) {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));  // an unnamed file's bytes go with it
        kept = std::string("the download could not be kept (") + e.what() + ")";
    }
    std::rethrow_exception(final_name_taken(final_, kept));
}

void part_file::link_unnamed_as_final() {
    if (link_in(fd_, final_)) return;
    if (errno != EEXIST) throw_errno("cannot link a new file in as ", final_);
    if (!replace_final_) refuse_taken_final();
    // Something is at the final name: replaced as a rename replaces it (in
    // one step, through the .part), but never a symlink.
    refuse_unless_regular(final_);
    link_unnamed(part_);
    rename_or_throw(part_, final_);
}

void part_file::commit() {
    flush_held();
    if (unnamed_) {
        // The validator first, so the file never appears without it.
        record_validator(fd_, meta_data_.validator);
        link_unnamed_as_final();
        unnamed_ = false;
        if (::close(std::exchange(fd_, -1)) != 0) {
            std::error_code error(errno, std::generic_category());
            ::unlink(final_.c_str());
            throw file_error(error, "cannot close " + final_.string());
        }
        return;
    }
    if (fd_ >= 0 && ::close(std::exchange(fd_, -1)) != 0) throw_errno("cannot close ", part_);
    if (!replace_final_) {
        if (!rename_unless_taken(part_, final_)) refuse_taken_final();
    } else {
        // rename() replaces a symlink at the final name rather than writing
        // through it, but a symlink there is someone else's: refuse it.
        refuse_unless_regular(final_);
        rename_or_throw(part_, final_);
    }
    record_validator(final_, meta_data_.validator);  // for a later "already complete?" check
    std::error_code ignored;
    if (meta_written_) std::filesystem::remove(meta_, ignored);
}

void part_file::write_meta() {
    meta_written_ = true;
    const bool ranges = !meta_data_.ranges.empty();
    std::string text = std::string(ranges ? meta_format_ranges : meta_format) + "\nurl " + meta_data_.url + '\n';
    if (meta_data_.validator) text += "validator " + *meta_data_.validator + '\n';
    if (meta_data_.total) text += "total " + std::to_string(*meta_data_.total) + '\n';
    for (const auto& r : meta_data_.ranges)
        text += "range " + std::to_string(r.start) + ' ' + std::to_string(r.end) + ' ' + std::to_string(r.done) + '\n';
    int fd = create_fresh(meta_);
    if (fd < 0) throw_errno("cannot create ", meta_);
    try {
        write_all(fd, text.data(), text.size(), meta_);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
}

void part_file::close() noexcept {
    if (fd_ < 0) return;
    try {
        flush_held();  // what came is kept for a resume
    } catch (...) {
        // Not written (a full disk): the .part holds less, and resumes from there.
    }
    hold_ = 0;
    if (std::exchange(unnamed_, false) && size_ > 0) {
        // Left incomplete: named the .part, with its meta, to resume as any
        // other; if it cannot be, the bytes go with the descriptor.
        try {
            link_unnamed(part_);
            part_seen_ = true;
        } catch (...) {
            ::close(std::exchange(fd_, -1));
            return;
        }
    }
    ::close(std::exchange(fd_, -1));
    if (!meta_written_ && size_ > 0) {
        // Left incomplete: make it resumable, if the meta file can be written.
        try {
            write_meta();
        } catch (...) {
        }
    }
}

void part_file::discard() noexcept {
    held_.clear();
    hold_ = 0;
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    if (std::exchange(unnamed_, false)) return;  // it had no name: gone with its descriptor
    std::error_code ignored;
    std::filesystem::remove(part_, ignored);
    std::filesystem::remove(meta_, ignored);
}

}  // namespace vow::http::detail
