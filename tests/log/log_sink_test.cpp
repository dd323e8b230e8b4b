// log_sink against real pipes: one nobody reads, one read on demand, one read all along.
#include "log/log_sink.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/unique_fd.hpp"
#include "support/wait.hpp"

namespace pinwheel {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;
using test::unique_fd;
using test::wait_until;

constexpr std::size_t kLineBytes = 50;  // each numbered line, newline included

struct test_pipe {
  unique_fd read;
  unique_fd write;
};

// A pipe with a non-blocking read end, holding `size` bytes (rounded up to a page by Linux).
test_pipe make_pipe(int size = 4096) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category(), "pipe2");
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  fcntl(fds[1], F_SETPIPE_SZ, size);
  return {unique_fd(fds[0]), unique_fd(fds[1])};
}

// Line `n` without its newline: "line n ....", kLineBytes long with the newline.
std::string numbered_line(std::size_t n, const std::string& word = "line") {
  std::string line = word + " " + std::to_string(n) + " ";
  line.resize(kLineBytes - 1, '.');
  return line;
}

// Fills the pipe up with "filler" lines, as a reader that has stopped reading leaves it.
void fill(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  while (write(fd, "filler\n", 7) == 7) {
  }
  fcntl(fd, F_SETFL, flags);
}

// Whatever the pipe holds now.
std::string read_available(int fd) {
  std::string text;
  char buffer[16 * 1024];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<std::size_t>(n));
  return text;
}

// How many times `needle` occurs in `text`.
std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// Reads the pipe into `text` until it holds `needle` `times` times; false after 10 s.
bool read_until(int fd, std::string& text, const std::string& needle, std::size_t times = 1) {
  return wait_until(
      [&] {
        text += read_available(fd);
        return occurrences(text, needle) >= times;
      },
      10s, 1ms);
}

// What came out of a pipe: numbered lines in order and drop notices, or a test failure.
struct received {
  std::vector<std::size_t> numbers;                              // of "line N" lines
  std::vector<std::size_t> other_numbers;                        // of "other N" lines
  std::vector<std::pair<std::uint64_t, std::uint64_t>> notices;  // lines, bytes dropped
};

received parse(const std::string& text) {
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "a torn last line";
  const std::regex numbered(R"(^(line|other) (\d+) )");
  const std::regex notice(
      R"(^pinwheel: warning: test pipe was not being read: (\d+) line\(s\) dropped \((\d+) bytes\)$)");
  received out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (line == "filler") continue;
    if (std::regex_match(line, m, notice)) {
      out.notices.emplace_back(std::stoull(m[1]), std::stoull(m[2]));
    } else if (std::regex_search(line, m, numbered)) {
      const std::size_t n = std::stoul(m[2]);
      EXPECT_EQ(line, numbered_line(n, m[1])) << "not a whole line";
      std::vector<std::size_t>& numbers = m[1] == "line" ? out.numbers : out.other_numbers;
      if (!numbers.empty()) {
        EXPECT_GT(n, numbers.back()) << "out of order";
      }
      numbers.push_back(n);
    } else {
      ADD_FAILURE() << "unexpected line: " << line;
    }
  }
  return out;
}

TEST(log_sink, WritingToAPipeNobodyReadsNeverBlocks) {
  test_pipe pipe = make_pipe();
  log_sink sink(pipe.write.get(), "test pipe", 64 * 1024);
  constexpr std::size_t kLines = 320'000;  // 16 MB
  const auto start = steady_clock::now();
  for (std::size_t i = 0; i < kLines; ++i) sink.write_line({numbered_line(i)});
  // A blocking write would hang after the first 4 KiB; queueing takes microseconds a line.
  EXPECT_LT(steady_clock::now() - start, 5s);
  // All but what the buffer and the pipe hold is dropped and counted.
  EXPECT_GE(sink.lines_dropped(), kLines - (64 + 4) * 1024 / kLineBytes - 1);
  EXPECT_EQ(sink.bytes_dropped(), sink.lines_dropped() * kLineBytes);
  sink.stop(steady_clock::now());
}

TEST(log_sink, EachStallIsReportedOnceWhenTheReaderCatchesUp) {
  test_pipe pipe = make_pipe();
  log_sink sink(pipe.write.get(), "test pipe", 4096);
  std::string text;
  std::size_t next = 0;
  for (int stall = 1; stall <= 2; ++stall) {
    SCOPED_TRACE("stall " + std::to_string(stall));
    const std::uint64_t dropped_before = sink.lines_dropped();
    fill(pipe.write.get());
    for (const std::size_t end = next + 1000; next < end; ++next)
      sink.write_line({numbered_line(next)});
    const std::uint64_t dropped = sink.lines_dropped() - dropped_before;
    EXPECT_GT(dropped, 0u);
    ASSERT_TRUE(read_until(pipe.read.get(), text, "was not being read", stall))
        << text.substr(0, 500);
    // The notice is the last thing written: whatever followed it would have been dropped too.
    EXPECT_TRUE(sink.flush(steady_clock::now() + 5s));
    text += read_available(pipe.read.get());

    const received got = parse(text);
    ASSERT_EQ(got.notices.size(), static_cast<std::size_t>(stall));
    EXPECT_EQ(got.notices.back().first, dropped);
    EXPECT_EQ(got.notices.back().second, dropped * kLineBytes);
    EXPECT_EQ(got.numbers.size() + sink.lines_dropped(), next);
    EXPECT_TRUE(text.ends_with("bytes)\n")) << text.substr(text.size() - 200);
  }
  // A reader that keeps up gets every line, and no further notice.
  for (const std::size_t end = next + 20; next < end; ++next) {
    sink.write_line({numbered_line(next)});
    ASSERT_TRUE(read_until(pipe.read.get(), text, numbered_line(next)));
  }
  EXPECT_EQ(parse(text).notices.size(), 2u);
  EXPECT_TRUE(text.ends_with(numbered_line(next - 1) + "\n"));
}

TEST(log_sink, AReaderThatKeepsUpGetsEveryLineWhole) {
  test_pipe pipe = make_pipe(64 * 1024);
  std::string text;
  std::thread reader([&, fd = pipe.read.get()] {
    char buffer[16 * 1024];
    for (;;) {
      pollfd readable{fd, POLLIN, 0};
      poll(&readable, 1, -1);
      const ssize_t n = read(fd, buffer, sizeof buffer);
      if (n == 0) return;  // the write end is closed: all is read
      if (n > 0) text.append(buffer, static_cast<std::size_t>(n));
    }
  });
  constexpr std::size_t kLines = 20'000;  // 1 MB through a 1 MiB buffer: nothing to drop
  {
    log_sink sink(pipe.write.get(), "test pipe");
    for (std::size_t i = 0; i < kLines; ++i)
      sink.write_line({"line ", std::to_string(i), " ",
                       std::string(kLineBytes - 7 - std::to_string(i).size(), '.')});
    EXPECT_TRUE(sink.flush(steady_clock::now() + 10s));
    EXPECT_EQ(sink.lines_dropped(), 0u);
  }
  pipe.write.reset();
  reader.join();
  const received got = parse(text);
  EXPECT_EQ(got.numbers.size(), kLines);
  EXPECT_TRUE(got.notices.empty());
}

TEST(log_sink, TwoSinksOnOnePipeNeverTearEachOthersLines) {
  // As with `pinwheel 2>&1 | less`: stdout's and stderr's writers share a pipe, and a reader
  // that takes little at a time keeps it full, so both writers wait in the middle of writes.
  test_pipe pipe = make_pipe();
  std::string text;
  std::thread reader([&, fd = pipe.read.get()] {
    char buffer[512];
    for (;;) {
      pollfd readable{fd, POLLIN, 0};
      poll(&readable, 1, -1);
      const ssize_t n = read(fd, buffer, sizeof buffer);
      if (n == 0) return;  // the write ends are closed: all is read
      if (n > 0) text.append(buffer, static_cast<std::size_t>(n));
    }
  });
  constexpr std::size_t kLines = 10'000;
  {
    log_sink sink(pipe.write.get(), "test pipe");
    log_sink other(pipe.write.get(), "test pipe");
    for (std::size_t i = 0; i < kLines; ++i) {
      sink.write_line({numbered_line(i)});
      other.write_line({numbered_line(i, "other")});
    }
    EXPECT_TRUE(sink.flush(steady_clock::now() + 20s));
    EXPECT_TRUE(other.flush(steady_clock::now() + 20s));
  }
  pipe.write.reset();
  reader.join();
  const received got = parse(text);
  EXPECT_EQ(got.numbers.size(), kLines);
  EXPECT_EQ(got.other_numbers.size(), kLines);
}

TEST(log_sink, ALineLongerThanTheBufferIsKeptWholeWhenNothingWaits) {
  test_pipe pipe = make_pipe(64 * 1024);
  log_sink sink(pipe.write.get(), "test pipe", 1024);
  const std::string long_line(10'000, 'x');
  sink.write_line({long_line});
  EXPECT_TRUE(sink.flush(steady_clock::now() + 5s));
  EXPECT_EQ(read_available(pipe.read.get()), long_line + "\n");
  EXPECT_EQ(sink.lines_dropped(), 0u);
}

TEST(log_sink, FlushAndStopGiveUpOnAReaderThatIsStuck) {
  test_pipe pipe = make_pipe();
  log_sink sink(pipe.write.get(), "test pipe", 64 * 1024);
  for (std::size_t i = 0; i < 1000; ++i) sink.write_line({numbered_line(i)});
  const auto start = steady_clock::now();
  EXPECT_FALSE(sink.flush(start + 100ms));
  sink.stop(steady_clock::now() + 100ms);
  EXPECT_LT(steady_clock::now() - start, 2s);
  // Stopped: lines are counted, not queued.
  const std::uint64_t dropped = sink.lines_dropped();
  sink.write_line({"after stop"});
  EXPECT_EQ(sink.lines_dropped(), dropped + 1);
  // The writer left behind ends once its write fails; the test must not hang on it either.
  pipe.read.reset();
}

TEST(log_sink, LinesAReaderWillNeverGetAreCounted) {
  test_pipe pipe = make_pipe();
  pipe.read.reset();  // every write fails with EPIPE
  log_sink sink(pipe.write.get(), "test pipe");
  for (std::size_t i = 0; i < 10; ++i) sink.write_line({numbered_line(i)});
  EXPECT_TRUE(sink.flush(steady_clock::now() + 5s));
  EXPECT_EQ(sink.lines_dropped(), 10u);
  EXPECT_EQ(sink.bytes_dropped(), 10 * kLineBytes);
}

// A private folder for a file sink's files, removed with what is in it.
struct temp_dir {
  temp_dir() {
    std::string pattern = "/tmp/pinwheel-sink-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string path;
};

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(log_sink, FileSinkReopensItsPathAfterARename) {
  temp_dir dir;
  test_pipe notices_pipe = make_pipe();
  log_sink notices(notices_pipe.write.get(), "notices");
  const std::string path = dir.path + "/access.log";
  auto sink = log_sink::open_file(path, "test log", notices);
  sink->write_line({"one"});
  ASSERT_TRUE(sink->flush(steady_clock::now() + 5s));
  // logrotate's way: rename, then ask for a reopen; lines from then on go to a new file.
  std::filesystem::rename(path, path + ".1");
  EXPECT_TRUE(sink->reopen());
  sink->write_line({"two"});
  ASSERT_TRUE(sink->flush(steady_clock::now() + 5s));
  EXPECT_EQ(file_text(path + ".1"), "one\n");
  EXPECT_EQ(file_text(path), "two\n");
  EXPECT_EQ(sink->lines_dropped(), 0u);
}

TEST(log_sink, FileSinkKeepsItsFileWhenTheReopenFails) {
  temp_dir dir;
  test_pipe notices_pipe = make_pipe();
  log_sink notices(notices_pipe.write.get(), "notices");
  const std::string path = dir.path + "/access.log";
  auto sink = log_sink::open_file(path, "test log", notices);
  std::filesystem::rename(path, path + ".1");
  std::filesystem::create_directory(path);  // the path cannot be opened as a file now
  sink->reopen();
  sink->write_line({"still here"});
  ASSERT_TRUE(sink->flush(steady_clock::now() + 5s));
  EXPECT_EQ(file_text(path + ".1"), "still here\n");
  std::string said;
  EXPECT_TRUE(wait_until(
      [&] {
        said += read_available(notices_pipe.read.get());
        return said.find("cannot reopen " + path) != std::string::npos;
      },
      5s))
      << said;
}

TEST(log_sink, FileSinkThatCannotOpenItsPathThrows) {
  test_pipe notices_pipe = make_pipe();
  log_sink notices(notices_pipe.write.get(), "notices");
  try {
    log_sink::open_file("/nonexistent-dir/access.log", "test log", notices);
    FAIL() << "opened a file in a folder that does not exist";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/access.log"), std::string::npos);
  }
}

TEST(log_sink, BatchedLinesArriveAfterTheDelayAndFlushDoesNotWaitForIt) {
  test_pipe pipe = make_pipe(64 * 1024);
  log_sink sink(pipe.write.get(), "test pipe");
  sink.batch_writes(50ms);
  sink.write_line({"batched"});
  std::string text;
  EXPECT_TRUE(wait_until(
      [&] {
        text += read_available(pipe.read.get());
        return text == "batched\n";
      },
      5s))
      << text;
  // A delay longer than the test may take: flush() and stop() must not wait for it.
  sink.batch_writes(std::chrono::hours(1));
  sink.write_line({"flushed"});
  const auto start = steady_clock::now();
  EXPECT_TRUE(sink.flush(start + 5s));
  EXPECT_EQ(read_available(pipe.read.get()), "flushed\n");
  sink.write_line({"stopped"});
  sink.stop(steady_clock::now() + 5s);
  EXPECT_LT(steady_clock::now() - start, 1s);
  EXPECT_EQ(read_available(pipe.read.get()), "stopped\n");
  EXPECT_EQ(sink.lines_dropped(), 0u);
}

TEST(log_sink, ADescriptorSinkHasNothingToReopen) {
  test_pipe pipe = make_pipe();
  log_sink sink(pipe.write.get(), "test pipe");
  EXPECT_FALSE(sink.reopen());
}

}  // namespace
}  // namespace pinwheel
