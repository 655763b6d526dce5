// --content-disposition: the file name a server suggests in its
// Content-Disposition header (RFC 6266), made safe to create in the output
// folder. The server is untrusted: the name it sends is only ever a base name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vow_get {

// The filename* parameter when it is UTF-8 (RFC 8187: UTF-8'lang'percent-
// encoded), else the filename parameter (a token or a quoted string), as sent.
// nullopt when the header has neither or does not parse.
std::optional<std::string> disposition_filename(std::string_view header);

// `name` reduced to a safe base name: only what follows its last '/' or '\',
// control characters (C0, DEL, C1) dropped, leading dots and blanks dropped,
// at most 240 bytes (not cutting a UTF-8 sequence). nullopt when nothing is left.
std::optional<std::string> safe_base_name(std::string_view name);

}  // namespace vow_get
