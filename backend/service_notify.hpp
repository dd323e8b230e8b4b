// The demo backend's side of sd_notify: READY=1 once it listens, and WATCHDOG=1 every half
// WATCHDOG_USEC when its supervisor (Pinwheel or systemd) asks for a watchdog. Without
// NOTIFY_SOCKET it does nothing.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <string>

namespace pinwheel::demo {

class service_notify {
 public:
  /// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID.
  explicit service_notify(asio::io_context& io);
  ~service_notify();
  service_notify(const service_notify&) = delete;
  service_notify& operator=(const service_notify&) = delete;

  /// Sends READY=1 (with `status`) and starts the watchdog pings, if any are asked for.
  void ready(const std::string& status);
  /// Sends STOPPING=1 and stops the pings.
  void stopping();

 private:
  void send(const std::string& message);
  void ping();

  asio::steady_timer timer_;
  std::string path_;
  int fd_ = -1;
  std::chrono::microseconds watchdog_{0};
};

}  // namespace pinwheel::demo
