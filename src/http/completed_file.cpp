#include "completed_file.hpp"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <charconv>

#include "vow/http/client.hpp"

namespace vow::http {

namespace detail {

namespace {
constexpr const char* validator_attribute = "user.vow.validator";
constexpr std::size_t max_validator_bytes = 4096;  // an ETag or a date; more is not ours
}  // namespace

std::optional<std::string> validator_of(const header_map& h) {
    if (auto etag = h.find("ETag"); etag && etag->rfind("W/", 0) != 0) return etag;
    return h.find("Last-Modified");
}

void record_validator(const std::filesystem::path& file, const std::optional<std::string>& validator) noexcept {
    if (!validator || validator->size() > max_validator_bytes) return;
    (void)::lsetxattr(file.c_str(), validator_attribute, validator->data(), validator->size(), 0);
}

void record_validator(int fd, const std::optional<std::string>& validator) noexcept {
    if (!validator || validator->size() > max_validator_bytes) return;
    (void)::fsetxattr(fd, validator_attribute, validator->data(), validator->size(), 0);
}

std::optional<std::string> recorded_validator(const std::filesystem::path& file) {
    std::string value(max_validator_bytes, '\0');
    ssize_t n = ::lgetxattr(file.c_str(), validator_attribute, value.data(), value.size());
    if (n < 0) return std::nullopt;
    value.resize(static_cast<std::size_t>(n));
    return value;
}

}  // namespace detail

bool is_complete_copy(const std::filesystem::path& file, const header_map& response_headers) {
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    auto length = response_headers.find("Content-Length");
    if (!length) return false;
    std::uint64_t size = 0;
    auto [end, ec] = std::from_chars(length->data(), length->data() + length->size(), size);
    if (ec != std::errc() || end != length->data() + length->size()) return false;
    if (size != static_cast<std::uint64_t>(st.st_size)) return false;
    auto recorded = detail::recorded_validator(file);
    return !recorded || detail::validator_of(response_headers) == recorded;
}

}  // namespace vow::http
