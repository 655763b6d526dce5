// How a request fails: every stage ends in check_stopped() or fail(), which
// turn what happened (cancel, a timeout or watch that closed the socket, a
// Beast or socket error) into one typed error that names the phase.
#include "request.hpp"
#include "request_stages.hpp"
#include "vow/errors.hpp"
#include "vow/http/errors.hpp"

namespace vow::http::detail {

void request_op::check_stopped(const target_url& url) {
    if (cancelled_) throw cancelled_error();
    if (total_expired_)
        throw timeout_error("total timeout: " + url.text + " did not finish within " +
                            seconds_text(options_.total_timeout));
}

void request_op::fail(beast::error_code ec, const char* phase, const target_url& url) {
    check_stopped(url);
    std::string where = std::string(phase) + " " + url.text;
    if (speed_expired_)
        throw timeout_error("low speed: the body of " + url.text + " came at " + std::to_string(speed_seen_) +
                            " bytes/s over " + seconds_text(options_.low_speed_time) + ", under the " +
                            std::to_string(options_.low_speed_limit) + " bytes/s of low_speed_limit");
    if (connect_expired_ && std::string_view(phase) == "TLS handshake failed with")
        throw timeout_error("connect timeout: the TLS handshake with " + url.origin() + " did not complete within " +
                            seconds_text(options_.connect_timeout) + " (is it a plain-HTTP port?)");
    if (connect_expired_ || (ec == beast::error::timeout && std::string_view(phase) == "connecting to"))
        throw timeout_error("connect timeout: no connection to " + url.origin() + " within " +
                            seconds_text(options_.connect_timeout));
    // The stream's own deadline (beast::error::timeout) covers a whole write
    // or head read, however many bytes trickle meanwhile: it is named by its
    // phase. Only the body's watch (idle_expired_) means "no byte for that long".
    const std::string_view phase_name(phase);
    if (!idle_expired_ && ec == beast::error::timeout && phase_name == "sending to")
        throw timeout_error("send timeout: the request to " + url.text + " was not sent within " +
                            seconds_text(options_.idle_timeout) + " (idle_timeout)");
    if (!idle_expired_ && ec == beast::error::timeout && phase_name == "reading the response of")
        throw timeout_error("response timeout: no complete response head from " + url.text + " within " +
                            seconds_text(options_.idle_timeout) + " (idle_timeout)");
    if (idle_expired_ || ec == beast::error::timeout)
        throw timeout_error("idle timeout: no data from " + url.text + " for " + seconds_text(options_.idle_timeout));
    if (ec == bhttp::error::header_limit)
        throw protocol_error("the response head from " + url.text + " is larger than " +
                             std::to_string(header_limit) + " bytes");
    if (ec.category() == beast::error_code(bhttp::error::end_of_stream).category() && ec != bhttp::error::end_of_stream &&
        ec != bhttp::error::partial_message)
        throw protocol_error("malformed response from " + url.text + ": " + ec.message());
    if (ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream)
        throw transport_error(ec, "connection closed early " + where);
    throw transport_error(ec, where);
}

}  // namespace vow::http::detail
