// A request header given on the command line (-H 'Name: value') or in an
// input file (header=Name: value), checked before anything is sent: a name
// that is an HTTP token, a value without control characters (no CR/LF can
// split the request), and none of the fields vow-get sets itself.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vow_get {

using header_field = std::pair<std::string, std::string>;

// The field, or a message saying what is wrong with `text`.
struct header_problem {
    std::string message;
};
std::variant<header_field, header_problem> parse_header_field(std::string_view text);

// Whether `text` holds no control character (C0 other than tab, DEL): what
// may go into a header value as given (-A, --user's value is encoded).
bool fits_in_header_value(std::string_view text);

}  // namespace vow_get
