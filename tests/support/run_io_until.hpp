// Runs an io_context one handler at a time until a condition holds: for unit tests that drive
// the balancer's own objects (sessions, the relay loop, the supervisor) on the test's thread.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>

namespace pinwheel::test {

/// Runs `io` until `done()` holds or `timeout` passes; returns done().
template <class Condition>
bool run_io_until(asio::io_context& io, Condition done,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace pinwheel::test
