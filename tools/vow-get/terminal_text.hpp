// Columns of text on a terminal: how wide a UTF-8 line is drawn, and the same
// line cut to a width with an ellipsis, so that the progress display never
// lets a line wrap (a wrapped line is what garbles a redraw).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vow_get {

// The columns `text` takes: one per code point, two for East Asian wide and
// fullwidth ones (and emoji), none for combining marks. A byte that is not
// part of valid UTF-8 counts as one column (printable() turns it into '?'
// or U+FFFD, both one column wide).
std::size_t display_width(std::string_view text);

// `text` when it fits in `width` columns, else its longest start that fits in
// width - 1 columns followed by "…" (never cutting a UTF-8 sequence).
std::string cut_to_width(std::string_view text, std::size_t width);

}  // namespace vow_get
