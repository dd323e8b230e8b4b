#include "http_connection.hpp"

#include <charconv>
#include <iostream>

#include "proxy_protocol/header_parser.hpp"

namespace pinwheel::demo {

namespace {

// How long a connection may sit without a request before it is closed.
constexpr std::chrono::seconds idle_timeout(60);
// How long to wait for the client to close after our last answer before giving up on it.
constexpr std::chrono::seconds linger_timeout(2);

std::string to_text(const asio::ip::tcp::endpoint& e) {
  std::string host = e.address().to_string();
  return (e.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(e.port());
}

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

}  // namespace

http_connection::http_connection(asio::ip::tcp::socket socket, const identity& self)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), self_(self) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

asio::awaitable<void> http_connection::run() {
  deadline_ = std::chrono::steady_clock::now() + idle_timeout;
  asio::co_spawn(
      socket_.get_executor(), [self = shared_from_this()] { return self->watchdog(); },
      asio::detached);

  std::error_code ec;
  client_ = to_text(socket_.remote_endpoint(ec));
  if (self_.proxy_protocol && !co_await read_proxy_header()) {
    socket_.close(ec);
    timer_.cancel();
    co_return;
  }
  for (;;) {
    // Answers queued by the last read (or by bytes that came with the PROXY header).
    if (!out_.empty()) {
      co_await asio::async_write(socket_, asio::buffer(out_),
                                 asio::redirect_error(asio::use_awaitable, ec));
      out_.clear();
      if (ec) break;
      deadline_ = std::chrono::steady_clock::now() + idle_timeout;
    }
    if (closing_) break;
    const std::size_t n = co_await socket_.async_read_some(
        asio::buffer(buffer_), asio::redirect_error(asio::use_awaitable, ec));
    // eof, reset, timeout or stop(): there is nobody left to answer.
    if (ec) break;
    parse(buffer_.data(), n);
    deadline_ = std::chrono::steady_clock::now() + idle_timeout;
  }
  if (closing_ && !ec) co_await lingering_close();

  socket_.close(ec);
  timer_.cancel();
}

void http_connection::stop() {
  std::error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
}

asio::awaitable<bool> http_connection::read_proxy_header() {
  using proxy_protocol::parse_result;
  std::size_t have = 0;
  for (;;) {
    std::error_code ec;
    const std::size_t n =
        co_await socket_.async_read_some(asio::buffer(buffer_.data() + have, buffer_.size() - have),
                                         asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    have += n;
    parse_result r = proxy_protocol::parse_header(std::string_view(buffer_.data(), have));
    if (r.what == parse_result::status::incomplete) continue;
    if (r.what == parse_result::status::invalid) {
      std::cerr << "pinwheel-backend: dropped a connection from " << client_
                << ": bad PROXY header: " << r.error << '\n';
      co_return false;
    }
    // LOCAL / UNKNOWN (a health check): the connection's own peer is the client.
    if (r.header.source) client_ = to_text(*r.header.source);
    if (have > r.consumed) parse(buffer_.data() + r.consumed, have - r.consumed);
    co_return true;
  }
}

void http_connection::parse(const char* data, std::size_t length) {
  http_parser_execute(&parser_, &parser_settings(), data, length);
  // The last answer is queued and the parser paused; whatever follows it is dropped.
  if (closing_) return;
  const auto error = HTTP_PARSER_ERRNO(&parser_);
  if (error != HPE_OK) {
    queue_response(bad_request(http_errno_description(error)), false, false);
    closing_ = true;
  }
}

void http_connection::queue_response(const response& r, bool head, bool keep_alive) {
  out_ += "HTTP/1.1 ";
  append_number(out_, r.status);
  out_ += ' ';
  out_ += http_status_str(static_cast<http_status>(r.status));
  out_ += "\r\nContent-Type: ";
  out_ += r.content_type;
  out_ += "\r\nContent-Length: ";
  append_number(out_, r.body.size());
  if (!r.allow.empty()) {
    out_ += "\r\nAllow: ";
    out_ += r.allow;
  }
  out_ += keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
  if (!head) out_ += r.body;
}

asio::awaitable<void> http_connection::watchdog() {
  std::error_code ec;
  while (socket_.is_open()) {
    if (deadline_ <= std::chrono::steady_clock::now()) {
      socket_.close(ec);
      break;
    }
    // Wakes at the deadline in force now; if I/O pushed it further meanwhile, waits again.
    timer_.expires_at(deadline_);
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> http_connection::lingering_close() {
  // Closing with unread input would make the kernel send a reset, which can destroy the answer
  // (a 400, say) before the client reads it; so shut down sending only and drain what is left.
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  deadline_ = std::chrono::steady_clock::now() + linger_timeout;
  // The watchdog sleeps until the old, later deadline; wake it to take up this one.
  timer_.cancel();
  while (!ec) {
    co_await socket_.async_read_some(asio::buffer(buffer_),
                                     asio::redirect_error(asio::use_awaitable, ec));
  }
}

int http_connection::on_message_begin(http_parser* parser) {
  static_cast<http_connection*>(parser->data)->target_.clear();
  return 0;
}

int http_connection::on_url(http_parser* parser, const char* at, std::size_t length) {
  static_cast<http_connection*>(parser->data)->target_.append(at, length);
  return 0;
}

int http_connection::on_headers_complete(http_parser* parser) {
  auto* self = static_cast<http_connection*>(parser->data);
  // An upgrade (or CONNECT) would switch protocols after this message; we answer and close.
  self->keep_alive_ = http_should_keep_alive(parser) != 0 && parser->upgrade == 0;
  return 0;
}

int http_connection::on_message_complete(http_parser* parser) {
  auto* self = static_cast<http_connection*>(parser->data);
  const auto method = static_cast<http_method>(parser->method);
  // http_parser takes any one-digit version; only 1.x has the framing we speak.
  if (parser->http_major != 1) {
    self->keep_alive_ = false;
    self->queue_response(http_version_not_supported(), method == HTTP_HEAD, false);
  } else {
    self->queue_response(route(http_method_str(method), self->target_, self->self_, self->client_),
                         method == HTTP_HEAD, self->keep_alive_);
  }
  if (!self->keep_alive_) {
    self->closing_ = true;
    http_parser_pause(parser, 1);
  }
  return 0;
}

const http_parser_settings& http_connection::parser_settings() {
  static const http_parser_settings settings = [] {
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_message_begin = &on_message_begin;
    s.on_url = &on_url;
    s.on_headers_complete = &on_headers_complete;
    s.on_message_complete = &on_message_complete;
    return s;
  }();
  return settings;
}

}  // namespace pinwheel::demo
