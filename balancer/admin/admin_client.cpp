#include "admin/admin_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pinwheel {

namespace {

class fd_closer {
 public:
  explicit fd_closer(int fd) : fd_(fd) {}
  ~fd_closer() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_closer(const fd_closer&) = delete;
  fd_closer& operator=(const fd_closer&) = delete;

 private:
  int fd_;
};

}  // namespace

admin_exchange ask_admin(const std::string& path, const std::string& line,
                         std::chrono::milliseconds timeout) {
  admin_exchange out;
  sockaddr_un address{};
  if (path.size() >= sizeof(address.sun_path)) {
    out.failure = "socket path " + path + " is too long";
    return out;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    out.failure = std::string("socket: ") + std::strerror(errno);
    return out;
  }
  fd_closer closer(fd);
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    out.failure = "cannot connect to " + path + ": " + std::strerror(errno) +
                  (errno == ENOENT || errno == ECONNREFUSED
                       ? " (is Pinwheel running with [admin] socket set to this path?)"
                       : "");
    return out;
  }
  std::string request = line + "\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    out.failure = std::string("cannot send the command: ") + std::strerror(errno);
    return out;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      out.failure = "no complete reply within " + std::to_string(timeout.count()) + "ms";
      return out;
    }
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.failure = std::string("reading the reply: ") + std::strerror(errno);
      return out;
    }
    if (n == 0) break;
    out.reply.append(chunk, static_cast<std::size_t>(n));
  }
  if (out.reply.empty()) out.failure = "the balancer closed the connection without a reply";
  return out;
}

}  // namespace pinwheel
