#include "supervisor/memory_watch.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>

#include "common/spawn_background.hpp"
#include "config/byte_size.hpp"
#include "log/log.hpp"

namespace pinwheel {

namespace {

// "53.1 MiB": a reading, not a setting, so rounded.
std::string mebibytes(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

}  // namespace

memory_watch::memory_watch(asio::io_context& io, backend_pool& pool,
                           const backends_options& options,
                           std::function<std::optional<std::uint64_t>(pid_t)> resident_bytes,
                           std::function<void(backend&)> restart)
    : io_(io),
      pool_(pool),
      options_(options),
      resident_bytes_(std::move(resident_bytes)),
      restart_(std::move(restart)),
      timer_(io) {}

void memory_watch::start() { spawn_background(io_, loop(), "memory watch"); }

void memory_watch::stop() {
  stopped_ = true;
  timer_.cancel();
}

asio::awaitable<void> memory_watch::loop() {
  while (!stopped_) {
    timer_.expires_after(kMemoryCheckInterval);
    co_await timer_.async_wait(
        asio::experimental::as_tuple(asio::use_awaitable));  // stopped_ says why
    if (stopped_) co_return;
    check();
  }
}

void memory_watch::check() {
  const std::uint64_t limit = options_.max_memory;
  for (backend* b : pool_.members()) {
    const pid_t pid = b->process.pid;
    if (limit == 0 || !b->spawned() || pid <= 0) {
      b->process.resident_bytes = 0;
      continue;
    }
    auto it = restarting_.find(b);
    if (it != restarting_.end()) {
      if (it->second == pid) continue;
      restarting_.erase(it);
    }
    std::optional<std::uint64_t> rss = resident_bytes_(pid);
    if (!rss) continue;  // exited a moment ago: the reaper hears of it
    b->process.resident_bytes = *rss;
    if (*rss <= limit) continue;
    log_warning("backend ", b->name, " (pid ", pid, ") uses ", mebibytes(*rss),
                " of memory (RSS), over max_memory ", format_byte_size(limit),
                ": restarting it (drain, stop, start; not counted as a crash)");
    ++b->process.memory_restarts;
    restarting_[b] = pid;
    restart_(*b);
  }
}

}  // namespace pinwheel
