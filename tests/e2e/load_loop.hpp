// Continuous, bounded load for the operations tests: `threads` clients, each sending GET
// requests one after another on new connections (no keep-alive, so every request picks a
// backend anew) until stop(), counting successes and failures.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pinwheel::test {

class load_loop {
 public:
  using clock = std::chrono::steady_clock;

  load_loop(std::uint16_t port, int threads, std::string target = "/fast");
  /// Stops (if still running) and joins.
  ~load_loop();
  load_loop(const load_loop&) = delete;
  load_loop& operator=(const load_loop&) = delete;

  /// Stops the clients and waits for them (each finishes its request in flight).
  void stop();

  std::uint64_t succeeded() const { return succeeded_.load(); }
  std::uint64_t failed() const { return failed_.load(); }
  /// Failures of requests that started at or after `since`.
  std::uint64_t failed_since(clock::time_point since) const;
  /// The first few failure messages, for the test's output.
  std::string failures() const;
  /// "N requests, F failed" for the test's output.
  std::string summary() const;

 private:
  void client();

  std::uint16_t port_;
  std::string target_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> succeeded_{0};
  std::atomic<std::uint64_t> failed_{0};
  mutable std::mutex mutex_;
  std::vector<std::pair<clock::time_point, std::string>> failures_;
  std::vector<std::thread> threads_;
};

}  // namespace pinwheel::test
