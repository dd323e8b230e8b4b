#include "supervisor/notify_message.hpp"

namespace pinwheel {

notify_message parse_notify_message(std::string_view datagram) {
  notify_message m;
  if (datagram.find('\0') != std::string_view::npos) {
    m.malformed = "contains a NUL byte";
    return m;
  }
  int assignments = 0;
  while (!datagram.empty()) {
    std::size_t end = datagram.find('\n');
    std::string_view line = datagram.substr(0, end);
    datagram = end == std::string_view::npos ? std::string_view() : datagram.substr(end + 1);
    if (line.empty()) continue;
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      m.malformed = "line \"" + std::string(line.substr(0, 40)) + "\" is not KEY=VALUE";
      return m;
    }
    ++assignments;
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "READY")
      m.ready = value == "1";
    else if (key == "STOPPING")
      m.stopping = value == "1";
    else if (key == "RELOADING")
      m.reloading = value == "1";
    else if (key == "WATCHDOG")
      m.watchdog = value == "1";
    else if (key == "STATUS")
      m.status = std::string(value);
  }
  if (assignments == 0) m.malformed = "holds no KEY=VALUE assignment";
  return m;
}

}  // namespace pinwheel
