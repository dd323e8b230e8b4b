// The balancer's own output (its log, its backends' forwarded output) as an operator sees it,
// above all when nobody reads it: a paused terminal, `| less`, a slow journald.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <sstream>

#include "e2e/balancer_fixture.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

// Each /print line is this long with its newline (see backend/routes.cpp).
constexpr std::size_t kPrintLineBytes = 100;
// Far more than the pipe (64 KiB) and the balancer's buffer for its stderr hold together.
constexpr std::size_t kFloodBytes = 4'000'000;

const char* const kDropNotice =
    R"(^pinwheel: warning: stderr was not being read: (\d+) line\(s\) dropped \((\d+) bytes\)$)";

// GET `target` through the balancer: the status, or 0 with the failure (e.g. a time-out) recorded.
int status_of(running_balancer& pinwheel, const std::string& target,
              std::chrono::milliseconds timeout) {
  try {
    return http_get(pinwheel.port(), target, timeout).status;
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return 0;
  }
}

// Has each backend print kFloodBytes to its stderr, which the balancer forwards to its own.
void flood_stderr(running_balancer& pinwheel, int backends) {
  for (int i = 0; i < backends; ++i) {
    EXPECT_EQ(status_of(pinwheel, "/print?bytes=" + std::to_string(kFloodBytes), 10s), 200);
  }
}

TEST(Logging, RequestsKeepFlowingWhileNobodyReadsTheBalancersOutput) {
  running_balancer pinwheel(demo_config(2, "round-robin"), 2);
  pinwheel.process().pause_output();
  flood_stderr(pinwheel, 2);

  // Every request is answered, and promptly: the event loop never waits on the full pipe.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(status_of(pinwheel, "/fast", 2s), 200) << "request " << i;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);

  // Once the output is read again, the operator learns what was lost, once.
  pinwheel.process().resume_output();
  const auto notice = pinwheel.process().wait_for_line(kDropNotice, 10s);
  ASSERT_TRUE(notice) << pinwheel.process().output().substr(0, 2000);
  const std::size_t dropped_lines = std::stoul((*notice)[1]);
  const std::size_t dropped_bytes = std::stoul((*notice)[2]);
  EXPECT_GT(dropped_lines, 0u);

  // What got through is whole lines; with the dropped ones they add up to all that was printed.
  const std::regex print_line(R"(^\[backend [01]\] print line \d+ x+$)");
  const std::regex drop_notice(kDropNotice);
  const std::string prefix = "[backend 0] ";
  std::size_t printed_lines = 0, notices = 0;
  std::istringstream output(pinwheel.process().output());
  for (std::string line; std::getline(output, line);) {
    if (std::regex_search(line, drop_notice)) ++notices;
    if (line.find("print line") == std::string::npos) continue;
    EXPECT_TRUE(std::regex_match(line, print_line)) << "a torn line: " << line.substr(0, 200);
    EXPECT_EQ(line.size() + 1, prefix.size() + kPrintLineBytes) << line.substr(0, 200);
    ++printed_lines;
  }
  EXPECT_EQ(notices, 1u);
  EXPECT_EQ(printed_lines + dropped_lines, 2 * kFloodBytes / kPrintLineBytes);
  EXPECT_EQ(dropped_bytes, dropped_lines * (prefix.size() + kPrintLineBytes));
}

TEST(Logging, StopsPromptlyWhileNobodyReadsItsOutput) {
  running_balancer pinwheel(demo_config(1, "round-robin"), 1);
  pinwheel.process().pause_output();
  flood_stderr(pinwheel, 1);
  pinwheel.process().send_signal(SIGTERM);
  // stop_timeout is 2 s, and the last lines are given 1 s to get out.
  EXPECT_EQ(pinwheel.process().wait_exit(10s), 0);
}

TEST(Logging, TheLastLinesReachAReaderThatKeepsUp) {
  running_balancer pinwheel(demo_config(1, "round-robin"), 1);
  pinwheel.process().send_signal(SIGTERM);
  ASSERT_EQ(pinwheel.process().wait_exit(10s), 0) << pinwheel.process().output();
  EXPECT_TRUE(pinwheel.process().wait_for_line("^pinwheel: stopped$", 0ms))
      << pinwheel.process().output();
}

}  // namespace
}  // namespace pinwheel::test
