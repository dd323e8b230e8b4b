// Starting a long-lived coroutine (an accept loop, a health loop, the reaper) so that it can
// never die silently.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace pinwheel {

/// A background loop threw: it stopped doing its job, so the balancer must not go on.
class background_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Runs `task` detached on `context`. If it throws, io_context::run() throws a
/// background_failure naming `what` (e.g. "accept loop: std::bad_alloc"): the balancer logs it
/// and exits non-zero rather than keep a listener open that nobody serves.
template <class ExecutionContext>
void spawn_background(ExecutionContext& context, asio::awaitable<void> task, std::string what) {
  asio::co_spawn(context, std::move(task), [what = std::move(what)](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      throw background_failure(what + ": " + x.what());
    } catch (...) {
      throw background_failure(what + ": unknown exception");
    }
  });
}

}  // namespace pinwheel
