// Polling with a deadline, for end-to-end tests that must not sleep blindly.

#pragma once

#include <chrono>
#include <functional>

namespace pinwheel::test {

/// Polls `condition` every `poll` until it returns true or `timeout` passes; returns the last
/// result.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(10));

}  // namespace pinwheel::test
