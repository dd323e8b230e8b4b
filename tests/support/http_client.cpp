#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace pinwheel::test {

namespace {

using std::chrono::steady_clock;

constexpr std::chrono::seconds default_connect_timeout(5);
// send_all has no timeout argument; a peer that stops reading this long is stuck.
constexpr std::chrono::seconds send_stall_timeout(10);
// Limits that turn a runaway reply into an error rather than a hang or an exhausted test.
constexpr std::size_t max_line_bytes = 64 * 1024;
constexpr std::size_t max_body_bytes = 64 * 1024 * 1024;

struct socket_address {
  sockaddr_storage storage = {};
  socklen_t length = 0;
};

socket_address numeric_address(const std::string& host, std::uint16_t port) {
  socket_address address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address.length = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address.length = sizeof *v6;
  } else {
    throw std::runtime_error("'" + host + "' is not a numeric IPv4 or IPv6 address");
  }
  return address;
}

std::string host_and_port(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string error_text(int error) { return std::system_category().message(error); }

std::string milliseconds_text(steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// Waits until `fd` is ready for `events` (or has an error to report); false once `deadline` passes.
bool wait_ready(int fd, short events, steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady_clock::now());
    pollfd p = {fd, events, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (ready > 0) return true;
    if (ready == 0 && steady_clock::now() >= deadline) return false;
    if (ready < 0 && errno != EINTR) throw std::runtime_error("poll failed: " + error_text(errno));
  }
}

std::string trim(std::string_view s) {
  const std::size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const std::size_t last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Parses all of `text` as a number in `base`; nullopt if anything else is there.
std::optional<std::uint64_t> parse_number(std::string_view text, int base) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

http_response http_get(std::uint16_t port, const std::string& target,
                       std::chrono::milliseconds timeout, const std::string& host) {
  const auto deadline = steady_clock::now() + timeout;
  try {
    tcp_client client(port, host, timeout);
    client.send_all("GET " + target + " HTTP/1.1\r\nHost: " + host_and_port(host, port) +
                    "\r\nConnection: close\r\n\r\n");
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    return client.read_response(std::max(left, std::chrono::milliseconds(0)));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("GET " + target + ": " + e.what());
  }
}

std::uint16_t free_port(const std::string& host) {
  const socket_address address = numeric_address(host, 0);
  const unique_fd s(socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.get() < 0) throw std::runtime_error("free_port: socket: " + error_text(errno));
  if (bind(s.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    throw std::runtime_error("free_port: bind to " + host + ": " + error_text(errno));
  }
  socket_address bound;
  bound.length = sizeof bound.storage;
  if (getsockname(s.get(), reinterpret_cast<sockaddr*>(&bound.storage), &bound.length) != 0) {
    throw std::runtime_error("free_port: getsockname: " + error_text(errno));
  }
  // Both families keep the port at the same offset.
  return ntohs(reinterpret_cast<const sockaddr_in*>(&bound.storage)->sin_port);
}

std::string read_all(int fd, std::chrono::milliseconds timeout) {
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) return errno == ECONNRESET ? "RESET" : "ERROR";
    if (n == 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  return data;
}

tcp_client::tcp_client(std::uint16_t port, const std::string& host)
    : tcp_client(port, host, default_connect_timeout) {}

tcp_client::tcp_client(std::uint16_t port, const std::string& host,
                       std::chrono::milliseconds timeout)
    : peer_(host_and_port(host, port)) {
  const socket_address address = numeric_address(host, port);
  // Non-blocking throughout, so that every wait is a poll with a deadline.
  socket_ =
      unique_fd(socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (socket_.get() < 0) throw std::runtime_error("socket for " + peer_ + ": " + error_text(errno));
  const int one = 1;
  setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  if (connect(socket_.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) ==
      0) {
    return;
  }
  if (errno != EINPROGRESS) {
    throw std::runtime_error("connect to " + peer_ + " failed: " + error_text(errno));
  }
  if (!wait_ready(socket_.get(), POLLOUT, steady_clock::now() + timeout)) {
    throw std::runtime_error("connect to " + peer_ + " timed out after " +
                             milliseconds_text(timeout));
  }
  int error = 0;
  socklen_t length = sizeof error;
  getsockopt(socket_.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  // ECONNRESET here means the handshake completed and the peer reset it while this thread
  // was not looking (reading SO_ERROR clears it): a connected-then-reset socket, not a failure.
  if (error == ECONNRESET) {
    reset_while_connecting_ = true;
    return;
  }
  if (error != 0) throw std::runtime_error("connect to " + peer_ + " failed: " + error_text(error));
}

tcp_client::~tcp_client() = default;

void tcp_client::send_all(std::string_view data) {
  while (!data.empty()) {
    // MSG_NOSIGNAL: a peer that closed must give an error here, not SIGPIPE to the test.
    const ssize_t n = send(socket_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_ready(socket_.get(), POLLOUT, steady_clock::now() + send_stall_timeout)) {
        throw std::runtime_error("send to " + peer_ + " stalled for " +
                                 milliseconds_text(send_stall_timeout));
      }
    } else if (errno != EINTR) {
      throw std::runtime_error("send to " + peer_ + " failed: " + error_text(errno));
    }
  }
}

void tcp_client::shutdown_write() {
  if (shutdown(socket_.get(), SHUT_WR) != 0) {
    throw std::runtime_error("shutdown of " + peer_ + " failed: " + error_text(errno));
  }
}

std::string tcp_client::read_all(std::chrono::milliseconds timeout) {
  if (reset_while_connecting_) return "RESET";
  return pinwheel::test::read_all(socket_.get(), timeout);
}

std::string tcp_client::read_until_eof(std::chrono::milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = recv(socket_.get(), buffer, sizeof buffer, 0);
    if (n > 0) {
      pending_.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      peer_closed_ = true;
      break;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_ready(socket_.get(), POLLIN, deadline)) break;
    } else if (errno != EINTR) {
      throw std::runtime_error("read from " + peer_ + " failed after " +
                               std::to_string(pending_.size()) + " bytes: " + error_text(errno));
    }
  }
  return std::exchange(pending_, {});
}

http_response tcp_client::read_response(std::chrono::milliseconds timeout) {
  return read_response(timeout, false);
}

http_response tcp_client::read_response(std::chrono::milliseconds timeout, bool after_head) {
  const auto deadline = steady_clock::now() + timeout;
  http_response response;

  const std::string status_line = take_line(deadline, "the status line");
  // "HTTP/1.1 200 OK": version, space, three digits, then a space and reason or nothing.
  const bool well_formed = status_line.size() >= 12 && status_line.compare(0, 7, "HTTP/1.") == 0 &&
                           status_line[8] == ' ' &&
                           (status_line.size() == 12 || status_line[12] == ' ');
  const auto status =
      well_formed ? parse_number(std::string_view(status_line).substr(9, 3), 10) : std::nullopt;
  if (!status) {
    throw std::runtime_error("malformed reply from " + peer_ + ": status line '" + status_line +
                             "'");
  }
  response.status = static_cast<int>(*status);

  for (;;) {
    const std::string line = take_line(deadline, "the headers");
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw std::runtime_error("malformed reply from " + peer_ + ": header line '" + line + "'");
    }
    const std::string name = lower(line.substr(0, colon));
    const std::string value = trim(std::string_view(line).substr(colon + 1));
    auto [field, inserted] = response.headers.emplace(name, value);
    if (!inserted) field->second += ", " + value;
  }

  const bool no_body =
      after_head || response.status / 100 == 1 || response.status == 204 || response.status == 304;
  if (no_body) return response;

  const auto encoding = response.headers.find("transfer-encoding");
  const auto length = response.headers.find("content-length");
  if (encoding != response.headers.end() &&
      lower(encoding->second).find("chunked") != std::string::npos) {
    for (;;) {
      const std::string size_line = take_line(deadline, "a chunk size");
      const auto size = parse_number(trim(size_line.substr(0, size_line.find(';'))), 16);
      if (!size || *size > max_body_bytes - response.body.size()) {
        throw std::runtime_error("malformed reply from " + peer_ + ": chunk size '" + size_line +
                                 "'");
      }
      if (*size == 0) break;
      response.body += take(*size, deadline, "a chunk");
      if (!take_line(deadline, "the end of a chunk").empty()) {
        throw std::runtime_error("malformed reply from " + peer_ + ": chunk longer than its size");
      }
    }
    while (!take_line(deadline, "the trailers").empty()) {
    }
  } else if (length != response.headers.end()) {
    const auto size = parse_number(length->second, 10);
    if (!size || *size > max_body_bytes) {
      throw std::runtime_error("malformed reply from " + peer_ + ": Content-Length '" +
                               length->second + "'");
    }
    response.body = take(*size, deadline, "the body");
  } else {
    // No length given: the body runs to the end of the stream.
    while (read_more(deadline, "the end of a body without length")) {
    }
    response.body = std::exchange(pending_, {});
  }
  return response;
}

bool tcp_client::peer_closed() const { return peer_closed_; }

int tcp_client::fd() const { return socket_.get(); }

bool tcp_client::read_more(steady_clock::time_point deadline, std::string_view waiting_for) {
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = recv(socket_.get(), buffer, sizeof buffer, 0);
    if (n > 0) {
      pending_.append(buffer, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) {
      peer_closed_ = true;
      return false;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_ready(socket_.get(), POLLIN, deadline)) {
        throw std::runtime_error("timed out waiting for " + std::string(waiting_for) + " from " +
                                 peer_);
      }
    } else if (errno != EINTR) {
      throw std::runtime_error("read from " + peer_ + " failed while waiting for " +
                               std::string(waiting_for) + ": " + error_text(errno));
    }
  }
}

std::string tcp_client::take(std::size_t length, steady_clock::time_point deadline,
                             std::string_view waiting_for) {
  while (pending_.size() < length) {
    if (!read_more(deadline, waiting_for)) {
      throw std::runtime_error("connection closed by " + peer_ + " in the middle of " +
                               std::string(waiting_for) + " (" + std::to_string(pending_.size()) +
                               " of " + std::to_string(length) + " bytes)");
    }
  }
  std::string taken = pending_.substr(0, length);
  pending_.erase(0, length);
  return taken;
}

std::string tcp_client::take_line(steady_clock::time_point deadline, std::string_view waiting_for) {
  std::size_t newline;
  while ((newline = pending_.find('\n')) == std::string::npos) {
    if (pending_.size() > max_line_bytes) {
      throw std::runtime_error("malformed reply from " + peer_ + ": a line longer than " +
                               std::to_string(max_line_bytes) + " bytes");
    }
    if (!read_more(deadline, waiting_for)) {
      throw std::runtime_error("connection closed by " + peer_ + " before " +
                               std::string(waiting_for) +
                               (pending_.empty() ? "" : " ('" + pending_ + "' left unfinished)"));
    }
  }
  const std::size_t end = newline > 0 && pending_[newline - 1] == '\r' ? newline - 1 : newline;
  std::string line = pending_.substr(0, end);
  pending_.erase(0, newline + 1);
  return line;
}

}  // namespace pinwheel::test
