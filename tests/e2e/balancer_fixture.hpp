// Starting the real pinwheel binary with a config, and the small servers the
// end-to-end tests put behind it. Everything on loopback, on free ports.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.hpp"
#include "support/http_client.hpp"

namespace pinwheel::test {

using namespace std::chrono_literals;

/// The spawned demo backends' command line, for [backends] command.
std::string backend_command();

/// How one GET /fast ended.
enum class attempt { answered, refused, other_failure };

/// One GET /fast to 127.0.0.1:port on a new connection, bounded by 5 s: a refused connect is
/// told apart from every other failure.
attempt get_fast(std::uint16_t port);

/// GET /fast in a loop on its own thread, one request after another, until stop(): what a
/// client sees while a test kills or restarts backends.
class fast_loop {
 public:
  explicit fast_loop(std::uint16_t port);
  ~fast_loop();
  /// Ends the loop after the request in flight.
  void stop();
  int answered() const { return answered_; }
  int refused() const { return refused_; }
  int failed() const { return failed_; }

 private:
  std::atomic<bool> done_{false};
  std::atomic<int> answered_{0}, refused_{0}, failed_{0};
  std::thread thread_;
};

/// A config spawning `count` demo backends on free ports, with fast health checks.
/// `extra_balancer` / `extra_backends` are appended to those tables.
std::string demo_config(int count, const std::string& strategy,
                        const std::string& extra_balancer = "",
                        const std::string& extra_backends = "");

/// Writes `text` to a new file in a private temporary folder; returns its path.
std::string write_temp_file(const std::string& name, const std::string& text);

/// A running pinwheel.
class running_balancer {
 public:
  /// Starts pinwheel with `toml` (plus `args`) and waits until it is listening and `wait_up`
  /// backends are up (0: just listening). `launcher` goes before the binary (e.g. prlimit
  /// and its arguments; it must exec pinwheel in its own process).
  explicit running_balancer(const std::string& toml, std::size_t wait_up = 0,
                            std::vector<std::string> args = {},
                            std::vector<std::string> launcher = {});

  std::uint16_t port() const { return port_; }
  /// The metrics listener's port, from the log (the fixture passes --metrics-listen
  /// 127.0.0.1:0 unless the test gives its own); throws if metrics are not served.
  std::uint16_t metrics_port();
  child_process& process() { return *process_; }
  pid_t pid() const { return process_->pid(); }
  /// The config file it runs with (a reload test rewrites it).
  const std::string& config_path() const { return config_path_; }

  /// Waits until the log shows `count` distinct backends up.
  bool wait_backends_up(std::size_t count, std::chrono::milliseconds timeout = 10s);

 private:
  std::string config_path_;
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
  std::uint16_t metrics_port_ = 0;
};

/// What the demo backend's /whoami says.
struct whoami {
  pid_t pid = 0;
  int index = -1;
  int cpu = -1;
  /// The client address the backend saw, "ip:port".
  std::string client;
};

/// The /whoami JSON found in `text`; throws if there is none.
whoami parse_whoami(const std::string& text);

/// GET /whoami through `port`; throws on failure.
whoami ask_whoami(std::uint16_t port);

/// A demo backend the test runs itself (not spawned by Pinwheel), on a port the kernel picked.
struct own_backend {
  /// Starts it with `--index index` (and `extra_args`) on port 0 and reads the port it
  /// announces; throws if none.
  explicit own_backend(int index, const std::vector<std::string>& extra_args = {});
  std::unique_ptr<child_process> process;
  std::uint16_t port = 0;
};

/// What `pinwheel ctl` printed and its exit status (-1 if it did not end within 15 s).
struct ctl_result {
  int code = -1;
  std::string output;
};

/// Runs `pinwheel ctl --config FILE ARGS...` against `p`'s config.
ctl_result run_ctl(const running_balancer& p, const std::vector<std::string>& args);

/// A config balancing one server Pinwheel does not spawn (`servers`), health checks off, so
/// the test sees the upstream side exactly.
std::string raw_config(std::uint16_t port, const std::string& extra_balancer = "");

/// A TCP server on 127.0.0.1 run by the test itself, to see exactly what the proxy does to
/// the upstream side. Each accepted connection runs `handler(fd)` on its own thread.
class raw_server {
 public:
  explicit raw_server(std::function<void(int fd)> handler);
  ~raw_server();
  std::uint16_t port() const { return port_; }
  /// Connections accepted so far.
  int accepted() const { return accepted_.load(); }

 private:
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<bool> stopping_{false};
  std::function<void(int)> handler_;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

}  // namespace pinwheel::test
