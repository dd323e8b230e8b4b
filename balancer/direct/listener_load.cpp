#include "direct/listener_load.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <string>
#include <system_error>

namespace pinwheel::direct {
namespace {

// The time the process wanted a CPU: the first two fields of /proc/PID/schedstat, time on a
// CPU plus time runnable but waiting for one. On a shared core a spinning backend's own run
// time advances at a fraction of the wall clock, but the two together still keep pace with
// it. None when the process is gone.
std::optional<std::uint64_t> read_run_time(int fd) {
  if (fd < 0) return std::nullopt;
  char text[96];
  ssize_t size = ::pread(fd, text, sizeof(text), 0);
  if (size <= 0) return std::nullopt;
  std::uint64_t on_cpu = 0, waiting = 0;
  auto [end, error] = std::from_chars(text, text + size, on_cpu);
  if (error != std::errc{}) return std::nullopt;
  if (end < text + size && *end == ' ') {
    auto [end2, error2] = std::from_chars(end + 1, text + size, waiting);
    if (error2 != std::errc{}) waiting = 0;
  }
  return on_cpu + waiting;
}

}  // namespace

accept_queue read_accept_queue(int fd) {
  // Only TCP_INFO's first fields are asked for (the kernel copies no more); on a listening
  // socket tcpi_unacked is the queue and tcpi_sacked the backlog.
  tcp_info info{};
  socklen_t length = offsetof(tcp_info, tcpi_sacked) + sizeof(info.tcpi_sacked);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0)
    throw std::system_error(errno, std::system_category(),
                            "direct mode: cannot read a listener's queue (TCP_INFO)");
  return {info.tcpi_unacked, info.tcpi_sacked};
}

listener_load::listener_load(std::size_t backends, busy_rule rule)
    : tracker_(backends, rule), watched_(backends) {}

void listener_load::watch_listener(std::size_t backend, int fd) {
  watched_.at(backend).listener = fd;
}

void listener_load::watch_process(std::size_t backend, pid_t pid) {
  watched& w = watched_.at(backend);
  if (pid == w.pid) return;
  w.pid = pid;
  w.schedstat.reset();
  tracker_.forget(backend);
  if (pid <= 0) return;
  // Gone already, or a kernel without schedstat: the backend reads with no CPU share.
  const std::string path = "/proc/" + std::to_string(pid) + "/schedstat";
  w.schedstat = owned_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

void listener_load::sample() {
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < watched_.size(); ++i) {
    load_reading reading{.at = now};
    if (watched_[i].listener >= 0) {
      accept_queue queue = read_accept_queue(watched_[i].listener);
      reading.queue = queue.waiting;
      reading.backlog = queue.backlog;
    }
    reading.run_ns = read_run_time(watched_[i].schedstat.get());
    tracker_.record(i, reading);
  }
}

}  // namespace pinwheel::direct
