// Shared by the direct-mode tests: a reuseport_group on loopback (or a skip where bpf() is
// refused), clients connecting to it, and finding which socket each connection landed on.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "direct/reuseport_group.hpp"
#include "support/unique_fd.hpp"

namespace pinwheel::direct::test {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using pinwheel::test::unique_fd;

inline sockaddr_storage loopback(std::uint16_t port = 0, int family = AF_INET) {
  sockaddr_storage storage{};
  if (family == AF_INET6) {
    auto& a = reinterpret_cast<sockaddr_in6&>(storage);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_loopback;
    return storage;
  }
  auto& a = reinterpret_cast<sockaddr_in&>(storage);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return storage;
}

inline socklen_t length_of(const sockaddr_storage& a) {
  return a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

// A group on 127.0.0.1 (or ::1), or the reason bpf() is refused here (the test then skips).
inline std::optional<reuseport_group> try_group(std::size_t count, std::string& refused,
                                                int family = AF_INET) {
  try {
    return reuseport_group(loopback(0, family), count);
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::operation_not_permitted) throw;
    refused = e.what();
    return std::nullopt;
  }
}

#define MAKE_GROUP_OR_SKIP(name, ...)                 \
  std::string refused_##name;                         \
  auto name = try_group(__VA_ARGS__, refused_##name); \
  if (!name) GTEST_SKIP() << "bpf() refused: " << refused_##name

#define MAKE_V6_GROUP_OR_SKIP(name, count)                \
  std::string refused_##name;                             \
  auto name = try_group(count, refused_##name, AF_INET6); \
  if (!name) GTEST_SKIP() << "bpf() refused: " << refused_##name

// Starts a non-blocking connect to `to`, from `from` when given (a bound address or port).
inline unique_fd connect_nonblocking(const sockaddr_storage& to,
                                     const sockaddr_storage* from = nullptr) {
  unique_fd fd(::socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (from != nullptr) {
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(from), length_of(*from)), 0)
        << std::strerror(errno);
  }
  int rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), length_of(to));
  EXPECT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
  return fd;
}

inline unique_fd connect_nonblocking(std::uint16_t port) {
  return connect_nonblocking(loopback(port));
}

// Waits for a non-blocking connect to finish: 0 when connected, else its errno (ETIMEDOUT
// when still in progress at the deadline).
inline int connect_outcome(int client, std::chrono::milliseconds within) {
  pollfd out{client, POLLOUT, 0};
  if (::poll(&out, 1, static_cast<int>(within.count())) != 1) return ETIMEDOUT;
  int error = -1;
  socklen_t length = sizeof(error);
  ::getsockopt(client, SOL_SOCKET, SO_ERROR, &error, &length);
  return error;
}

inline int connect_outcome(const unique_fd& client, std::chrono::milliseconds within) {
  return connect_outcome(client.get(), within);
}

inline int remaining_ms(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// The index of the one socket with a connection waiting, accepted and closed, or -1 if none
// has one by the deadline. Two ready at once is a failure (a connection went astray).
inline int accept_one(const reuseport_group& group, std::chrono::milliseconds within) {
  const auto deadline = clock_type::now() + within;
  std::vector<pollfd> fds;
  for (std::size_t i = 0; i < group.size(); ++i) fds.push_back({group.listener_fd(i), POLLIN, 0});
  for (;;) {
    int ready = ::poll(fds.data(), fds.size(), remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return -1;
    EXPECT_EQ(ready, 1) << "connections waiting on more than one socket";
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      unique_fd accepted(::accept4(fds[i].fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      EXPECT_GE(accepted.get(), 0) << std::strerror(errno);
      return static_cast<int>(i);
    }
  }
}

// Connects `count` clients one after the other; where each was accepted.
inline std::vector<int> sequence_of(const reuseport_group& group, int count) {
  std::vector<int> seen;
  for (int i = 0; i < count; ++i) {
    unique_fd client = connect_nonblocking(group.port());
    seen.push_back(accept_one(group, 2s));
  }
  return seen;
}

}  // namespace pinwheel::direct::test
