// segmented_download: one large file fetched as several byte ranges over
// several connections at once into the same .part (request_options::segments,
// vow-get --split N). It is an orchestration layer above single requests:
//
//   HEAD probe -> plan (or the ranges a .part.meta recorded) -> one ranged GET
//   per unfinished range, at most `segments` at a time, each retried and
//   resumed on its own -> all done: size check, checksum, rename
//
// Falls back to the ordinary single-connection download when the server gives
// no Accept-Ranges: bytes, no length or no validator, when the file is smaller
// than two segments, when a .part with a format-1 meta is to be resumed, or
// when the probe fails. When a range request is answered 200 (ranges ignored
// after all, or If-Range found the file changed) or a 206 carries another
// validator than the probe's, the split is abandoned: the .part is discarded
// and the file downloaded again over one connection.
//
// A download with segments = 1 comes here too when a split left a .part of
// its URL (a format-2 meta): its ranges are resumed one at a time over one
// connection; when they cannot be (another validator or total, a HEAD that
// fails), the ordinary download replaces the .part.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "consumers.hpp"
#include "request.hpp"
#include "vow/future.hpp"
#include "vow/http/client.hpp"

namespace vow::http::detail {

class client_core;

// The smallest range a file is split into: a file under two of them is not split.
inline constexpr std::uint64_t min_segment_size = 1 << 20;

// What a request of a segmented download hands back: the final head and URL.
struct split_outcome {
    response_head head;
    std::string url;
};

// The consumers of a segmented download's requests (the probe, the segments).
class split_consumer : public consumer_of<split_outcome> {};

// How the orchestration starts requests, given by the client.
struct split_hooks {
    // One request whose body goes to `consumer` (no retry).
    std::function<future<split_outcome>(const std::string& url, request_options, std::unique_ptr<split_consumer>)>
        start;
    // The ordinary single-connection download with these options (retried as they say).
    std::function<future<download_result>(request_options)> single;
};

// `options.segments` > 1 (or a split's .part to resume) and !decode_content.
// `url` as asked; the meta records it redacted.
future<download_result> segmented_download(client_core& core, const std::string& url, std::filesystem::path path,
                                           request_options options, split_hooks hooks);

}  // namespace vow::http::detail
