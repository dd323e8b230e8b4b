#include "service_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace pinwheel::demo {

service_notify::service_notify(asio::io_context& io) : timer_(io) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr || (socket[0] != '/' && socket[0] != '@') ||
      std::strlen(socket) >= sizeof(sockaddr_un::sun_path))
    return;
  path_ = socket;
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  // WATCHDOG_PID names the process meant; a child of ours that inherited it is not.
  if (usec != nullptr && (pid == nullptr || std::atol(pid) == ::getpid()))
    watchdog_ = std::chrono::microseconds(std::atoll(usec));
}

service_notify::~service_notify() {
  if (fd_ >= 0) ::close(fd_);
}

void service_notify::ready(const std::string& status) {
  send("READY=1\nSTATUS=" + status);
  if (watchdog_.count() > 0) ping();
}

void service_notify::stopping() {
  timer_.cancel();
  send("STOPPING=1");
}

void service_notify::ping() {
  send("WATCHDOG=1");
  timer_.expires_after(watchdog_ / 2);
  timer_.async_wait([this](const std::error_code& ec) {
    if (!ec) ping();
  });
}

void service_notify::send(const std::string& message) {
  if (fd_ < 0) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path_.data(), path_.size());
  auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_.size());
  if (path_[0] == '@')
    address.sun_path[0] = '\0';
  else
    ++length;
  // A datagram socket never blocks long on a local peer; a lost ping shows as a restart.
  if (::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
               reinterpret_cast<const sockaddr*>(&address), length) < 0)
    std::cerr << "pinwheel-backend: sd_notify to " << path_ << ": " << std::strerror(errno) << '\n';
}

}  // namespace pinwheel::demo
