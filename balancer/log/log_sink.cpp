#include "log/log_sink.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>
#include <utility>

namespace pinwheel {

namespace {

// One write(2) carries at most this much. A pipe writes up to PIPE_BUF bytes atomically, so
// where stdout and stderr are one pipe (2>&1), the two writers cannot tear each other's lines;
// and the room a write frees counts as soon as the reader has taken that much.
constexpr std::size_t kMaxWrite = PIPE_BUF;
// A file is written by this sink alone: larger writes, fewer system calls.
constexpr std::size_t kMaxFileWrite = 64 * 1024;

// What the destructor gives queued lines to get out.
constexpr std::chrono::seconds kStopTimeout(1);

// How much of `text` (whole lines) one write carries: up to `limit` bytes, or one longer line.
std::size_t whole_lines(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text.size();
  std::size_t end = text.rfind('\n', limit - 1);
  if (end == std::string_view::npos) end = text.find('\n', limit);
  return end == std::string_view::npos ? text.size() : end + 1;
}

std::uint64_t count_lines(std::string_view text) {
  return static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

// Opens `path` for appending, as a log file is; -1 and errno on failure.
int open_for_append(const std::string& path) {
  // O_NONBLOCK: a named pipe without a reader fails at once (ENXIO) instead of hanging.
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0640);
  if (fd < 0) return -1;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

// Writes all of `text`, for as long as the reader takes; false on an error (EPIPE, say).
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n > 0) {
      text.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EAGAIN) {
      // Someone else made the shared descriptor non-blocking: wait as a blocking write would.
      pollfd ready{fd, POLLOUT, 0};
      ::poll(&ready, 1, -1);
    } else if (n < 0 && errno != EINTR) {
      return false;
    }
  }
  return true;
}

}  // namespace

struct log_sink::shared {
  // A copy of the descriptor, closed with the last owner: a writer left behind by stop() may
  // still retry a short write on it, which must not reach whatever reuses the caller's number.
  // Without a descriptor to spare, it writes to the caller's own.
  shared(int target, std::string name, std::size_t capacity, log_sink* notices)
      : fd(fcntl(target, F_DUPFD_CLOEXEC, 0)),
        owns_fd(fd >= 0),
        name(std::move(name)),
        capacity(capacity),
        max_write(kMaxWrite),
        notices(notices) {
    if (!owns_fd) fd = target;
  }
  // A file of its own: no pipe shared with another writer, so larger writes are fine.
  shared(int file, std::string path, std::string name, std::size_t capacity, log_sink& notices)
      : fd(file),
        owns_fd(true),
        name(std::move(name)),
        capacity(capacity),
        max_write(kMaxFileWrite),
        path(std::move(path)),
        notices(&notices) {}
  ~shared() {
    if (owns_fd) ::close(fd);
  }
  shared(const shared&) = delete;
  shared& operator=(const shared&) = delete;

  /// Once half the buffer is free again after drops, queues the notice that ends the episode.
  /// Needs mutex.
  void end_drop_episode_if_drained() {
    if (episode_lines == 0 || queued > capacity / 2) return;
    const std::string counts = std::to_string(episode_lines) + " line(s) dropped (" +
                               std::to_string(episode_bytes) + " bytes)";
    episode_lines = 0;
    episode_bytes = 0;
    if (notices != nullptr) {
      // Another sink's lock under ours: that sink never takes ours, so no cycle.
      notices->write_line(
          {"pinwheel: warning: ", name, " could not keep up with the lines logged: ", counts});
      return;
    }
    const std::string notice =
        "pinwheel: warning: " + name + " was not being read: " + counts + "\n";
    if (pending.empty()) work.notify_one();
    pending += notice;
    queued += notice.size();
  }

  int fd;  // replaced only by the writer thread (reopen)
  const bool owns_fd;
  const std::string name;
  const std::size_t capacity;
  const std::size_t max_write;        // bytes one write(2) carries at most
  const std::string path;             // a file sink's path; empty in front of a descriptor
  log_sink* const notices = nullptr;  // where a file sink's notices go

  std::mutex mutex;
  std::condition_variable work;     // for the writer: lines pending, or stopping
  std::condition_variable written;  // for flush() and stop(): nothing queued any more
  std::string pending;              // whole lines the writer has yet to take
  std::size_t queued = 0;           // bytes accepted and not yet written, the writer's included
  bool writing = false;             // the writer is inside write(2)
  bool stopping = false;
  bool reopen_requested = false;
  int flushing = 0;  // flush() calls waiting: no batching delay for them
  std::chrono::milliseconds batch_delay{0};
  std::uint64_t episode_lines = 0;  // dropped since the buffer last had room
  std::uint64_t episode_bytes = 0;
  std::uint64_t lines_dropped = 0;
  std::uint64_t bytes_dropped = 0;
};

log_sink::log_sink(int fd, std::string name, std::size_t capacity, log_sink* notices)
    : state_(std::make_shared<shared>(fd, std::move(name), capacity, notices)) {
  start_writer();
}

log_sink::log_sink(std::shared_ptr<shared> state) : state_(std::move(state)) { start_writer(); }

std::unique_ptr<log_sink> log_sink::open_file(const std::string& path, std::string name,
                                              log_sink& notices, std::size_t capacity) {
  int fd = open_for_append(path);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "cannot open " + path);
  auto state = std::make_shared<shared>(fd, path, std::move(name), capacity, notices);
  return std::unique_ptr<log_sink>(new log_sink(std::move(state)));
}

void log_sink::start_writer() {
  // Signals are for the event loop's thread. Blocked here, a SIGPIPE from a reader that went
  // away turns into EPIPE for the writer instead of ending the balancer.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  try {
    writer_ = std::thread(run_writer, state_);
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

log_sink::~log_sink() { stop(std::chrono::steady_clock::now() + kStopTimeout); }

void log_sink::write_line(std::initializer_list<std::string_view> parts) {
  std::size_t size = 1;
  for (std::string_view part : parts) size += part.size();
  shared& s = *state_;
  std::lock_guard lock(s.mutex);
  s.end_drop_episode_if_drained();
  // Once dropping, keep dropping until half the buffer is free: one notice per stall, rather
  // than one for every line that squeezes into a freed byte.
  if (s.stopping || s.episode_lines > 0 || (s.queued > 0 && s.queued + size > s.capacity)) {
    if (!s.stopping) {
      ++s.episode_lines;
      s.episode_bytes += size;
    }
    ++s.lines_dropped;
    s.bytes_dropped += size;
    return;
  }
  // One wake-up per batch: the writer takes what came meanwhile, and the event loop pays for
  // a futex wake only when the queue was empty (or, batching, once it holds a full write).
  if (s.pending.empty() || (s.batch_delay.count() > 0 && s.pending.size() < s.max_write &&
                            s.pending.size() + size >= s.max_write))
    s.work.notify_one();
  for (std::string_view part : parts) s.pending += part;
  s.pending += '\n';
  s.queued += size;
}

bool log_sink::flush(std::chrono::steady_clock::time_point deadline) {
  shared& s = *state_;
  std::unique_lock lock(s.mutex);
  ++s.flushing;
  s.work.notify_one();
  s.written.wait_until(lock, deadline, [&] { return s.queued == 0 || s.stopping; });
  --s.flushing;
  return s.queued == 0;
}

void log_sink::stop(std::chrono::steady_clock::time_point deadline) {
  if (!writer_.joinable()) return;
  shared& s = *state_;
  std::unique_lock lock(s.mutex);
  // Like flush(): a batching writer writes at once.
  ++s.flushing;
  s.work.notify_one();
  s.written.wait_until(lock, deadline, [&] { return s.queued == 0; });
  --s.flushing;
  s.stopping = true;
  s.lines_dropped += count_lines(s.pending);
  s.bytes_dropped += s.pending.size();
  s.pending.clear();
  const bool stuck = s.writing;
  s.work.notify_one();
  s.written.notify_all();
  lock.unlock();
  // A write(2) to a reader that never reads again cannot be called back: that writer ends with
  // the process, holding its share of the state until then. An idle one ends at once.
  if (stuck) {
    writer_.detach();
  } else {
    writer_.join();
  }
}

void log_sink::batch_writes(std::chrono::milliseconds delay) {
  std::lock_guard lock(state_->mutex);
  state_->batch_delay = delay;
}

bool log_sink::reopen() {
  shared& s = *state_;
  if (s.path.empty()) return false;
  std::lock_guard lock(s.mutex);
  s.reopen_requested = true;
  s.work.notify_one();
  return true;
}

std::uint64_t log_sink::lines_dropped() const {
  std::lock_guard lock(state_->mutex);
  return state_->lines_dropped;
}

std::uint64_t log_sink::bytes_dropped() const {
  std::lock_guard lock(state_->mutex);
  return state_->bytes_dropped;
}

void log_sink::run_writer(std::shared_ptr<shared> state) {
  shared& s = *state;
  std::string batch;
  std::unique_lock lock(s.mutex);
  for (;;) {
    s.work.wait(lock, [&] { return s.stopping || s.reopen_requested || !s.pending.empty(); });
    if (s.batch_delay.count() > 0 && !s.reopen_requested) {
      // Let lines gather: one write(2), and one wake-up of this thread, per batch.
      s.work.wait_for(lock, s.batch_delay, [&] {
        return s.stopping || s.reopen_requested || s.flushing > 0 ||
               s.pending.size() >= s.max_write;
      });
    }
    if (s.stopping) return;
    if (std::exchange(s.reopen_requested, false)) {
      lock.unlock();
      reopen_file(s);
      lock.lock();
      continue;
    }
    // Take everything at once: write_line() then appends to an empty buffer while this one is
    // written, and the lock is held only to swap.
    batch.clear();
    batch.swap(s.pending);
    std::string_view rest = batch;
    while (!rest.empty()) {
      if (s.stopping) {
        s.lines_dropped += count_lines(rest);
        s.bytes_dropped += rest.size();
        return;
      }
      const std::string_view chunk = rest.substr(0, whole_lines(rest, s.max_write));
      rest.remove_prefix(chunk.size());
      s.writing = true;
      lock.unlock();
      const bool ok = write_all(s.fd, chunk);
      lock.lock();
      s.writing = false;
      s.queued -= chunk.size();
      if (!ok) {
        s.lines_dropped += count_lines(chunk);
        s.bytes_dropped += chunk.size();
      }
      s.end_drop_episode_if_drained();
      if (s.queued == 0) s.written.notify_all();
    }
  }
}

void log_sink::reopen_file(shared& s) {
  // Only this thread reads or replaces s.fd, so no lock is needed for the swap.
  const int fd = open_for_append(s.path);
  if (fd < 0) {
    const std::string error = std::strerror(errno);
    s.notices->write_line({"pinwheel: warning: ", s.name, ": cannot reopen ", s.path, ": ", error,
                           "; still writing to the file opened before"});
    return;
  }
  ::close(std::exchange(s.fd, fd));
}

}  // namespace pinwheel
