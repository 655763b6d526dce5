// A small strict parser for the flat JSON objects vow-get --json prints
// (string, number, true/false/null values; no nesting). It rejects anything
// else, so a malformed line fails the test instead of passing unnoticed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace vow_test {

struct json_null {};
using json_value = std::variant<json_null, bool, double, std::string>;
using flat_object = std::map<std::string, json_value>;

// nullopt when `text` is not exactly one flat JSON object.
std::optional<flat_object> parse_flat_object(std::string_view text);

}  // namespace vow_test
