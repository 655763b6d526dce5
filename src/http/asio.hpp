// The Asio/Beast names vow::http's sources share, in one place.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace vow::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

template <class T = void>
using awaitable = asio::awaitable<T>;

// Completion token for `auto [ec, n] = co_await op(..., nothrow)`: errors are
// values here because each one is mapped to a typed vow error.
inline constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace vow::http::detail
