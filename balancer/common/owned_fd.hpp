// An owned file descriptor (a socket, an epoll set, a BPF map or program), closed when it
// goes out of scope.
#pragma once

#include <unistd.h>

#include <utility>

namespace pinwheel {

/// Owns one file descriptor; -1 means none. Movable, not copyable.
class owned_fd {
 public:
  owned_fd() = default;
  /// Takes ownership of `fd`.
  explicit owned_fd(int fd) : fd_(fd) {}
  owned_fd(owned_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  owned_fd& operator=(owned_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  owned_fd(const owned_fd&) = delete;
  owned_fd& operator=(const owned_fd&) = delete;
  ~owned_fd() { reset(); }

  /// The descriptor, still owned; -1 when none.
  int get() const { return fd_; }
  /// Gives the descriptor up without closing it.
  int release() { return std::exchange(fd_, -1); }
  /// Closes the descriptor, if any.
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

}  // namespace pinwheel
