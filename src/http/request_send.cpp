// The send stage: the request message of one hop (request line, the
// client's own fields, the caller's, credentials, the resume range), and
// its bytes as request_op::start_exchange writes them under the idle timeout.
#include "request_env.hpp"
#include "request.hpp"
#include "request_stages.hpp"

namespace vow::http::detail {

namespace {

// Fields the client sets itself: one of them in request_options::headers
// replaces the client's (the last one given wins). Any other field is sent
// as often as it is given, in order, as curl does.
bool is_set_by_client(const std::string& name) {
    for (const char* own : {"Host", "User-Agent", "Accept-Encoding", "Authorization", "Content-Length",
                            "Transfer-Encoding", "Connection"})
        if (iequals(name, own)) return true;
    return false;
}

bool is_credential(const std::string& name) {
    return iequals(name, "Authorization") || iequals(name, "Proxy-Authorization") || iequals(name, "Cookie");
}

// "http://host[:port]/path?query": the request target sent to a proxy.
std::string absolute_target(const target_url& url) {
    return "http://" + bracketed(url.host) + (url.port == "80" ? "" : ":" + url.port) + url.target;
}

}  // namespace

bhttp::request<bhttp::string_body> request_op::build_request(const hop& h, exchange& ex) {
    const target_url& url = h.url;
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(h.method),
                                           ex.absolute_form ? absolute_target(url) : url.target, 11};
    if (req.method() == bhttp::verb::unknown) req.method_string(h.method);
    req.set(bhttp::field::host, (url.port == (url.tls ? "443" : "80")) ? url.host : url.host + ":" + url.port);
    req.set(bhttp::field::user_agent, env_->options.user_agent);
    req.set(bhttp::field::accept_encoding, options_.decode_content ? "gzip, deflate" : "identity");
    // Credentials stay with the origin they were meant for.
    const bool same_origin = options_.headers.empty() || url.origin() == url_.origin();
    for (const auto& [name, value] : options_.headers) {
        if (!same_origin && is_credential(name)) continue;
        if (is_set_by_client(name)) {
            req.set(name, value);
        } else {
            req.insert(name, value);
        }
    }
    // user:password@ in this hop's URL, unless the caller set Authorization.
    if (!url.authorization.empty() && req.find(bhttp::field::authorization) == req.end())
        req.set(bhttp::field::authorization, url.authorization);
    if (ex.absolute_form && !ex.proxy->authorization.empty() &&
        req.find(bhttp::field::proxy_authorization) == req.end())
        req.set(bhttp::field::proxy_authorization, ex.proxy->authorization);
    consumer_->add_request_headers(req.base());
    ex.asked_range = req.find(bhttp::field::range) != req.end();
    if (!h.body.empty() || h.method == "POST" || h.method == "PUT") {
        req.body() = h.body;
        req.prepare_payload();
    }
    return req;
}

// One flat copy, written in one go: Beast's serializer would walk the
// message as a chain of seven buffers or more, which costs more per small
// request than the copy (a GET's head is about 100 bytes). The same bytes:
// request line, the fields in order, the blank line, the body (string_body:
// sized by Content-Length, never chunked).
std::string wire_bytes(const bhttp::request<bhttp::string_body>& req) {
    std::string out;
    out.reserve(128 + req.body().size());
    out.append(req.method_string()).append(" ").append(req.target()).append(" HTTP/1.1\r\n");
    for (const auto& field : req) out.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
    out.append("\r\n").append(req.body());
    return out;
}

}  // namespace vow::http::detail
