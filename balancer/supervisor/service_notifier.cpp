#include "supervisor/service_notifier.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "log/log.hpp"

namespace pinwheel {

service_notifier::service_notifier() {
  const char* value = std::getenv("NOTIFY_SOCKET");
  if (value == nullptr || *value == '\0') return;
  path_ = value;
  ::unsetenv("NOTIFY_SOCKET");
  if ((path_[0] != '/' && path_[0] != '@') || path_.size() >= sizeof(sockaddr_un::sun_path)) {
    log_warning("NOTIFY_SOCKET=", path_,
                " is not a unix socket path or @abstract name; not notifying the service manager");
    return;
  }
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0)
    log_warning("cannot notify the service manager at ", path_, ": ", std::strerror(errno));
}

service_notifier::~service_notifier() {
  if (fd_ >= 0) ::close(fd_);
}

void service_notifier::send(const std::string& message) {
  if (fd_ < 0) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path_.data(), path_.size());
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_.size());
  if (path_[0] == '@') {
    address.sun_path[0] = '\0';
  } else {
    ++length;  // the terminating NUL of a path
  }
  if (::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&address), length) < 0 &&
      !failure_logged_) {
    failure_logged_ = true;
    log_warning("cannot notify the service manager at ", path_, " (", message.substr(0, 20),
                "...): ", std::strerror(errno), "; further failures are not logged");
  }
}

void service_notifier::reloading(const std::string& status) {
  if (fd_ < 0) return;
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const long long microseconds =
      static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1'000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(microseconds) + "\nSTATUS=" + status);
}

}  // namespace pinwheel
