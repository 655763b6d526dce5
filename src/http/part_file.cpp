#include "part_file.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <system_error>

#include "vow/http/errors.hpp"

namespace vow::http::detail {

namespace {

// Throws file_error for errno, read before the message is built (building it
// allocates, which may change errno).
[[noreturn]] void throw_errno(const char* doing, const std::filesystem::path& p) {
    std::error_code error(errno, std::generic_category());
    throw file_error(error, std::string(doing) + p.string());
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
    std::error_code ec;
    auto n = std::filesystem::file_size(part_, ec);
    part_seen_ = !ec;
    return ec ? 0 : n;
}

std::optional<std::string> part_file::stored_validator() const {
    std::ifstream in(meta_);
    std::string line;
    if (in && std::getline(in, line) && !line.empty()) return line;
    return std::nullopt;
}

void part_file::open(bool keep_existing, const std::optional<std::string>& validator, bool hash,
                     std::optional<std::uint64_t> expected_size) {
    close();
    const bool old_part_may_exist = part_seen_;
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (keep_existing ? O_APPEND : O_TRUNC);
    fd_ = ::open(part_.c_str(), flags, 0644);
    if (fd_ < 0 && errno == ENOENT && !final_.parent_path().empty()) {
        // The folder is missing: made only now, so the common case costs one call.
        std::error_code ec;
        std::filesystem::create_directories(final_.parent_path(), ec);
        if (ec) throw file_error(ec, "cannot create the folder " + final_.parent_path().string());
        fd_ = ::open(part_.c_str(), flags, 0644);
    }
    if (fd_ < 0) throw_errno("cannot open ", part_);
    part_seen_ = true;
    size_ = keep_existing ? existing_size() : 0;

    validator_ = validator;
    meta_written_ = false;
    constexpr std::uint64_t small_file = 1 << 20;
    if (!expected_size || *expected_size > small_file) {
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
    std::ifstream in(part_, std::ios::binary);
    std::string buf(1 << 16, '\0');
    std::uint64_t left = size_;
    while (left > 0 && in.read(buf.data(), static_cast<std::streamsize>(std::min<std::uint64_t>(buf.size(), left)))) {
        hash_->update(buf.data(), static_cast<std::size_t>(in.gcount()));
        left -= static_cast<std::uint64_t>(in.gcount());
    }
    if (left != 0) throw file_error(std::make_error_code(std::errc::io_error), "cannot read " + part_.string());
}

void part_file::write(const char* data, std::size_t n) {
    if (hash_) hash_->update(data, n);
    size_ += n;
    while (n > 0) {
        ssize_t w = ::write(fd_, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw_errno("cannot write ", part_);
        }
        data += w;
        n -= static_cast<std::size_t>(w);
    }
}

std::string part_file::digest() { return hash_ ? hash_->hex_digest() : std::string(); }

void part_file::commit() {
    if (fd_ >= 0 && ::close(std::exchange(fd_, -1)) != 0) throw_errno("cannot close ", part_);
    std::error_code ec;
    std::filesystem::rename(part_, final_, ec);
    if (ec) throw file_error(ec, "cannot rename " + part_.string() + " to " + final_.string());
    if (meta_written_) std::filesystem::remove(meta_, ec);
}

void part_file::write_meta() noexcept {
    std::error_code ignored;
    if (validator_) {
        std::ofstream(meta_, std::ios::trunc) << *validator_ << '\n';
    } else {
        std::filesystem::remove(meta_, ignored);
    }
    meta_written_ = true;
}

void part_file::close() noexcept {
    if (fd_ < 0) return;
    ::close(std::exchange(fd_, -1));
    if (!meta_written_ && size_ > 0) write_meta();  // left incomplete: make it resumable
}

void part_file::discard() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    std::error_code ignored;
    std::filesystem::remove(part_, ignored);
    std::filesystem::remove(meta_, ignored);
}

}  // namespace vow::http::detail
