#include "log/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace pinwheel {

void write_fully(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

void log_line(std::string_view message) {
  std::string line;
  line.reserve(message.size() + 11);
  line.append("pinwheel: ").append(message).push_back('\n');
  write_fully(STDERR_FILENO, line);
}

}  // namespace pinwheel
