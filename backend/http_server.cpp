#include "http_server.hpp"

#include <http_parser.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <iostream>

namespace pinwheel::demo {

namespace {

// Larger request heads get 400. http_parser's limit is process-wide; this process has one server.
constexpr std::uint32_t max_header_bytes = 16 * 1024;
// Pause after a failed accept (EMFILE, say) so the loop neither dies nor spins.
constexpr std::chrono::milliseconds accept_backoff(100);

}  // namespace

http_server::http_server(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint,
                         const identity& self)
    : acceptor_(io), backoff_timer_(io), self_(self) {
  http_parser_set_max_header_size(max_header_bytes);
  acceptor_.open(endpoint.protocol());
  // A restarted backend must be able to bind while old connections sit in TIME_WAIT.
  acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
}

http_server::http_server(asio::io_context& io, int listening_fd, const identity& self)
    : acceptor_(io), backoff_timer_(io), self_(self) {
  http_parser_set_max_header_size(max_header_bytes);
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(listening_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::system_error(errno, std::system_category(), "getsockname");
  acceptor_.assign(address.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(),
                   listening_fd);
}

asio::ip::tcp::endpoint http_server::local_endpoint() const { return acceptor_.local_endpoint(); }

void http_server::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
}

void http_server::stop() {
  stopped_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  backoff_timer_.cancel();
  for (const auto& connection : connections_) connection->stop();
  connections_.clear();
}

asio::awaitable<void> http_server::accept_loop() {
  while (!stopped_) {
    std::error_code ec;
    asio::ip::tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    if (ec) {
      std::cerr << "pinwheel-backend: accept failed: " << ec.message() << '\n';
      backoff_timer_.expires_after(accept_backoff);
      co_await backoff_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // Small answers go out in one write each; Nagle would only delay them.
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    auto connection = std::make_shared<http_connection>(std::move(socket), self_);
    connections_.insert(connection);
    asio::co_spawn(acceptor_.get_executor(), serve(std::move(connection)), asio::detached);
  }
}

asio::awaitable<void> http_server::serve(std::shared_ptr<http_connection> connection) {
  co_await connection->run();
  connections_.erase(connection);
}

}  // namespace pinwheel::demo
