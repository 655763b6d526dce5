// --json: one JSON object per finished item, one per line, for scripts.
//   {"url":..,"file":..,"ok":true,"status":200,"size":N,"transferred":N,
//    "resumed_from":N,"retries":K,"seconds":S[,"sha256":".."][,"already_complete":true]}
//   {"url":..,"file":..,"ok":false,"error":"http","message":"HTTP 404 Not Found",
//    "http_status":404,"retries":K,"seconds":S}
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "error_text.hpp"
#include "vow/http/client.hpp"

namespace vow_get {

// `text` as a JSON string literal, quotes included (RFC 8259 escaping;
// invalid UTF-8 bytes become U+FFFD so the output always parses). C0 and C1
// controls (U+0080-U+009F) are written as \u escapes, never raw.
std::string json_string(std::string_view text);

struct item_report {
    std::string url;
    std::string file;
    int retries = 0;
    double seconds = 0;
    std::optional<vow::http::download_result> result;  // set when it succeeded
    std::optional<error_description> error;             // set when it failed
    bool already_complete = false;  // the file was already there, whole: nothing was downloaded
};

// The object for one item, without a trailing newline.
std::string json_line(const item_report& report);

}  // namespace vow_get
