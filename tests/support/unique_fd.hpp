// An owned file descriptor, closed when it goes out of scope.

#pragma once

#include <unistd.h>

#include <utility>

namespace pinwheel::test {

/// Owns one file descriptor; -1 means none.
class unique_fd {
 public:
  unique_fd() = default;
  /// Takes ownership of `fd`.
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~unique_fd() { reset(); }

  /// The descriptor, still owned.
  int get() const { return fd_; }
  /// Closes the descriptor, if any.
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

}  // namespace pinwheel::test
