// What a finished download leaves for later runs to check: the validator of
// the response that completed it (strong ETag, else Last-Modified), kept in
// the file's extended attribute "user.vow.validator", so that "is this file
// already complete?" can be answered from a HEAD response without fetching
// the body again and without a second file beside it. A file system without
// user extended attributes keeps no record; the check is then by size alone.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "vow/http/headers.hpp"

namespace vow::http::detail {

// A validator If-Range may carry: a strong ETag, else Last-Modified.
std::optional<std::string> validator_of(const header_map& h);

// Records `validator` on `file` (a symlink there is not followed). Does
// nothing without one; a failure (no xattr support) leaves no record.
void record_validator(const std::filesystem::path& file, const std::optional<std::string>& validator) noexcept;

// The same on an open descriptor: a file not yet linked into its folder.
void record_validator(int fd, const std::optional<std::string>& validator) noexcept;

// The validator recorded on `file`, if any.
std::optional<std::string> recorded_validator(const std::filesystem::path& file);

}  // namespace vow::http::detail
