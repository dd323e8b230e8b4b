// One downstream HTTP/1.1 connection: read, parse with http_parser, answer, repeat.
//
// Requests are answered in the order they arrive, pipelined ones included: every request found in
// one read is answered, and the answers go out together in one write. A request that cannot be
// parsed gets 400 and ends the connection. Lives on the server's single thread; no locking.

#pragma once

#include <http_parser.h>

#include <array>
#include <asio.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "routes.hpp"

namespace pinwheel::demo {

class http_connection : public std::enable_shared_from_this<http_connection> {
 public:
  /// Takes over an accepted socket; `self` is what /whoami reports.
  http_connection(asio::ip::tcp::socket socket, const identity& self);

  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  /// Serves requests until the client closes, an error, the idle timeout or stop().
  asio::awaitable<void> run();

  /// Closes the socket; run() then finishes promptly.
  void stop();

 private:
  static int on_message_begin(http_parser* parser);
  static int on_url(http_parser* parser, const char* at, std::size_t length);
  static int on_headers_complete(http_parser* parser);
  static int on_message_complete(http_parser* parser);
  static const http_parser_settings& parser_settings();

  /// With --proxy-protocol: reads the PROXY header, sets client_ from it, and feeds whatever
  /// followed it to parse(). False when the connection is to be dropped (bad header, closed).
  asio::awaitable<bool> read_proxy_header();
  /// Feeds `length` bytes at `data` to the parser, queueing an answer for each full request.
  void parse(const char* data, std::size_t length);
  /// Queues `r` in out_; `head` drops the body, `keep_alive` picks the Connection header.
  void queue_response(const response& r, bool head, bool keep_alive);
  /// Closes the socket whenever deadline_ passes; ends once the socket is closed.
  asio::awaitable<void> watchdog();
  /// After the last answer: stop sending, then read and drop until the client closes too.
  asio::awaitable<void> lingering_close();

  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;
  identity self_;
  /// "ip:port" of the client: the connection's peer, or the PROXY header's source.
  std::string client_;
  http_parser parser_;
  /// The request target of the message being parsed, gathered across reads.
  std::string target_;
  /// Whether the message being parsed allows another request after it.
  bool keep_alive_ = true;
  /// Set once the last answer is queued: nothing more is parsed.
  bool closing_ = false;
  std::array<char, 16 * 1024> buffer_;
  std::string out_;
};

}  // namespace pinwheel::demo
