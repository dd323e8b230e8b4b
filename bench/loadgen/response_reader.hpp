// Reads one HTTP/1.1 response from the bytes a connection delivers (http_parser does the
// parsing: Content-Length, chunked and close-delimited bodies, keep-alive).
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <string>

namespace pinwheel::loadgen {

class response_reader {
 public:
  enum class state { incomplete, complete, bad };

  /// `body_limit`: how many bytes of the body to keep (0: none).
  explicit response_reader(std::size_t body_limit);
  response_reader(const response_reader&) = delete;
  response_reader& operator=(const response_reader&) = delete;

  /// Parses more bytes of the response.
  state feed(const char* data, std::size_t size);
  /// The connection ended: completes a close-delimited body, otherwise the response is cut.
  state finish();

  /// True once any byte has arrived.
  bool started() const { return started_; }
  int status() const { return static_cast<int>(parser_.status_code); }
  /// Whether the connection may carry another request afterwards.
  bool keep_alive() const { return keep_alive_; }
  /// The first `body_limit` bytes of the body.
  const std::string& body() const { return body_; }

 private:
  static int on_body(http_parser* p, const char* at, std::size_t length);
  static int on_message_complete(http_parser* p);

  http_parser parser_;
  http_parser_settings settings_;
  std::size_t body_limit_;
  std::string body_;
  bool started_ = false;
  bool complete_ = false;
  bool keep_alive_ = false;
};

}  // namespace pinwheel::loadgen
