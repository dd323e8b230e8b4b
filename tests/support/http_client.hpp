// Blocking HTTP/1.1 and raw TCP clients for end-to-end tests, over plain POSIX sockets.
//
// Every wait is bounded by a timeout; failures throw std::runtime_error naming the peer and what
// went wrong. A tcp_client belongs to one thread at a time.

#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "support/unique_fd.hpp"

namespace pinwheel::test {

/// A parsed HTTP response.
struct http_response {
  /// The status code, e.g. 200.
  int status = 0;
  /// Header fields by lower-case name; repeated fields are joined with ", ".
  std::map<std::string, std::string> headers;
  /// The body, de-chunked where it was chunked.
  std::string body;
};

/// GET `target` on a new connection to host:port with `Connection: close`; throws
/// std::runtime_error (message says what failed: connect refused, reset, timeout, malformed reply)
/// on any failure.
http_response http_get(std::uint16_t port, const std::string& target,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5),
                       const std::string& host = "127.0.0.1");

/// A loopback TCP port that was free a moment ago (bind port 0, read it, close): only for a
/// port nobody should listen on. A server a test starts binds port 0 and reports its port,
/// since another test running in parallel may take this one in the meantime.
std::uint16_t free_port(const std::string& host = "127.0.0.1");

/// Reads `fd` until end of stream or `timeout`; "RESET" if the connection was reset.
std::string read_all(int fd, std::chrono::milliseconds timeout);

/// A plain blocking TCP client socket for raw tests (half-close, keep-alive, pipelining).
class tcp_client {
 public:
  /// Connects to host:port (a numeric IPv4 or IPv6 address); throws on failure.
  tcp_client(std::uint16_t port, const std::string& host = "127.0.0.1");
  /// As above, giving up on the connect after `timeout`.
  tcp_client(std::uint16_t port, const std::string& host, std::chrono::milliseconds timeout);
  ~tcp_client();

  tcp_client(const tcp_client&) = delete;
  tcp_client& operator=(const tcp_client&) = delete;

  /// Sends all of `data`; throws on failure or after 10 s without progress.
  void send_all(std::string_view data);

  /// Stops sending: shutdown(SHUT_WR), so the peer reads end-of-stream.
  void shutdown_write();

  /// As the free read_all: "RESET" also when the peer reset the connection before the
  /// constructor saw it established (accepted and reset at once, as a proxy with no backend
  /// does).
  std::string read_all(std::chrono::milliseconds timeout);

  /// Reads until EOF or timeout; returns what was read (throws on reset).
  std::string read_until_eof(std::chrono::milliseconds timeout);

  /// Reads one full HTTP response (status line, headers, Content-Length body); throws on
  /// failure/timeout.
  http_response read_response(std::chrono::milliseconds timeout);

  /// As above; `after_head` says the request was HEAD, so no body follows the headers.
  http_response read_response(std::chrono::milliseconds timeout, bool after_head);

  /// True once a read has seen the peer's end-of-stream.
  bool peer_closed() const;

  /// The socket, for checks this class does not offer.
  int fd() const;

 private:
  /// Reads what is available into pending_, waiting until `deadline`; false on EOF.
  bool read_more(std::chrono::steady_clock::time_point deadline, std::string_view waiting_for);
  /// Takes the next `length` bytes of the stream, reading as needed.
  std::string take(std::size_t length, std::chrono::steady_clock::time_point deadline,
                   std::string_view waiting_for);
  /// Takes the next line, without its CRLF, reading as needed.
  std::string take_line(std::chrono::steady_clock::time_point deadline,
                        std::string_view waiting_for);

  /// "host:port", for messages.
  std::string peer_;
  unique_fd socket_;
  /// Bytes read but not yet consumed, e.g. the start of a pipelined response.
  std::string pending_;
  bool peer_closed_ = false;
  /// The connect's own result was ECONNRESET: it was established, then reset, before we looked.
  bool reset_while_connecting_ = false;
};

}  // namespace pinwheel::test
