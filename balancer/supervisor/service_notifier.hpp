// Pinwheel's own side of sd_notify, for running under systemd with Type=notify: READY=1 once
// it listens and a backend is up, RELOADING=1 … READY=1 around a reload, STOPPING=1 when it begins
// to stop, STATUS= lines. Active only when NOTIFY_SOCKET was set in Pinwheel's environment (a path,
// or "@name" for the abstract namespace). Each message is one non-blocking datagram; one that
// cannot go out is logged, never waited for. Single-threaded.
#pragma once

#include <string>

namespace pinwheel {

class service_notifier {
 public:
  /// Reads NOTIFY_SOCKET (and removes it from the environment, so nothing we start
  /// mistakes systemd's socket for its own).
  service_notifier();
  ~service_notifier();
  service_notifier(const service_notifier&) = delete;
  service_notifier& operator=(const service_notifier&) = delete;

  /// Whether a service manager listens.
  bool active() const { return fd_ >= 0; }
  /// Sends `message` ("READY=1\nSTATUS=..."); nothing when inactive.
  void send(const std::string& message);
  /// RELOADING=1 with the MONOTONIC_USEC= systemd wants beside it, and STATUS=`status`; the
  /// reload ends with a READY=1.
  void reloading(const std::string& status);

 private:
  std::string path_;
  int fd_ = -1;
  bool failure_logged_ = false;
};

}  // namespace pinwheel
