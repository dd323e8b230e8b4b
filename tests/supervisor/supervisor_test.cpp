// The supervisor against a fake operating system: no processes, no sleeps. Timers are real
// but a millisecond long; the clock that decides quick exits is the fake one.
#include "supervisor/supervisor.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <deque>
#include <functional>
#include <optional>
#include <set>

#include "log/log.hpp"
#include "support/run_io_until.hpp"

namespace pinwheel {
namespace {

using namespace std::chrono_literals;

// Processes that exist only here. Pipes are real (the supervisor forwards them); everything
// else is recorded, and fails when a test says so.
class fake_process_env : public process_env {
 public:
  std::chrono::steady_clock::time_point now() override { return now_; }

  std::error_code make_pipe(int fds[2]) override {
    ++pipes_asked;
    if (pipe_failures > 0) {
      --pipe_failures;
      return {EMFILE, std::system_category()};
    }
    if (::pipe2(fds, O_CLOEXEC) != 0) return {errno, std::system_category()};
    return {};
  }

  process_start start(const process_spec& spec) override {
    started.push_back(spec.argv);
    process_start result;
    if (spec.argv.at(0) == "/bin/fails") {
      result.failure = "cannot run /bin/fails: No such file or directory";
      return result;
    }
    result.pid = next_pid_++;
    result.pin_error = pin_error;
    running_.insert(result.pid);
    return result;
  }

  void signal_group(pid_t pgid, int signal) override {
    signals.emplace_back(pgid, signal);
    if (signal == SIGTERM || signal == SIGKILL) exit(pgid, signal);
  }

  pid_t reap(int& wait_status) override {
    if (exits_.empty()) return 0;
    auto [pid, status] = exits_.front();
    exits_.pop_front();
    wait_status = status;
    return pid;
  }

  /// Process `pid` ends with `wait_status`; the supervisor hears of it by SIGCHLD, as for real.
  void exit(pid_t pid, int wait_status) {
    if (running_.erase(pid) == 0) return;
    exits_.emplace_back(pid, wait_status);
    ::raise(SIGCHLD);
  }

  void advance(std::chrono::milliseconds d) { now_ += d; }

  int pipe_failures = 0;
  int pipes_asked = 0;
  std::error_code pin_error;
  std::vector<std::vector<std::string>> started;
  std::vector<std::pair<pid_t, int>> signals;

 private:
  std::chrono::steady_clock::time_point now_{};
  pid_t next_pid_ = 1000;
  std::set<pid_t> running_;
  std::deque<std::pair<pid_t, int>> exits_;
};

constexpr int exited_with(int code) { return code << 8; }

class SupervisorTest : public ::testing::Test {
 protected:
  SupervisorTest() {
    options_.restart_delay = 1ms;
    options_.restart_delay_max = 4ms;
    options_.min_uptime = 5s;
    options_.max_restarts = 2;
    options_.stop_timeout = 5s;
    health_options_.kind = health_kind::none;
  }

  backend& add(const std::string& name, const std::string& program = "/bin/app") {
    backend b;
    b.name = name;
    b.cpu = 1;
    b.argv = {program, "--port", "9000"};
    b.endpoint = asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 9000);
    b.health = health_state(1, 1, true);
    return pool_.add(std::move(b));
  }

  void start() {
    supervisor_.emplace(io_, options_, pool_, health_, env_, nullptr,
                        [this](backend& b) { given_up_.push_back(b.name); });
    supervisor_->start();
  }

  // Runs the event loop until `done` or 5 s (a failure, not a wait).
  bool run_until(const std::function<bool()>& done) { return test::run_io_until(io_, done); }

  // stop(), run to its end.
  bool stop() {
    bool stopped = false;
    asio::co_spawn(io_, supervisor_->stop(), [&](std::exception_ptr) { stopped = true; });
    return run_until([&] { return stopped; });
  }

  asio::io_context io_{1};
  backends_options options_;
  health_options health_options_;
  backend_pool pool_;
  health_checker health_{io_, health_options_, pool_, nullptr};
  fake_process_env env_;
  std::vector<std::string> given_up_;
  std::optional<supervisor> supervisor_;
};

TEST_F(SupervisorTest, StartsFailingForWantOfDescriptorsAreRetriedButNeverHeldAgainstIt) {
  backend& b = add("0");
  // More failed starts than max_restarts (2) would allow if they counted.
  env_.pipe_failures = 5;
  log_capture captured;
  start();
  ASSERT_TRUE(run_until([&] { return b.process.pid != 0; }));
  // They back off like exits, up to restart_delay_max (4ms): no busy retry.
  EXPECT_NE(captured.text().find("restarting in 4ms"), std::string::npos) << captured.text();
  EXPECT_EQ(captured.text().find("restarting in 0s"), std::string::npos) << captured.text();
  EXPECT_TRUE(given_up_.empty());
  EXPECT_FALSE(b.process.given_up);
  EXPECT_EQ(b.process.quick_exits, 0) << "the balancer's own EMFILE is not the backend's exit";
  EXPECT_EQ(b.process.restarts, 5u);
  EXPECT_EQ(b.process.local_start_failures, 0) << "a start that worked ends the streak";
  EXPECT_EQ(env_.started.size(), 1u);
}

TEST_F(SupervisorTest, WhileStartsFailForWantOfDescriptorsTheBackendIsDown) {
  backend& b = add("0");
  env_.pipe_failures = 1000;  // descriptors never come back
  start();
  ASSERT_TRUE(run_until([&] { return env_.pipes_asked >= 10; }));
  EXPECT_FALSE(b.process.given_up);
  EXPECT_EQ(b.process.pid, 0);
  EXPECT_FALSE(b.health.up()) << "trusted (kind none), yet nothing runs";
  EXPECT_TRUE(env_.started.empty());
}

TEST_F(SupervisorTest, ExecFailureIsAQuickExitAndEndsInGivingUp) {
  backend& bad = add("0", "/bin/fails");
  backend& good = add("1");
  start();
  ASSERT_TRUE(run_until([&] { return bad.process.given_up; }));
  EXPECT_EQ(given_up_, std::vector<std::string>{"0"});
  EXPECT_NE(good.process.pid, 0);
  EXPECT_FALSE(good.process.given_up);
  // Three tries of the bad one, one start of the good one.
  EXPECT_EQ(env_.started.size(), 4u);
}

TEST_F(SupervisorTest, QuickExitsAreMeasuredOnTheInjectedClock) {
  backend& b = add("0");
  start();
  pid_t first = b.process.pid;
  ASSERT_NE(first, 0);
  env_.advance(5s);  // min_uptime: a healthy run
  env_.exit(first, exited_with(1));
  ASSERT_TRUE(run_until([&] { return b.process.pid != 0 && b.process.pid != first; }));
  EXPECT_EQ(b.process.quick_exits, 0);
  pid_t second = b.process.pid;
  env_.advance(4999ms);
  env_.exit(second, exited_with(1));
  ASSERT_TRUE(run_until([&] { return b.process.pid != 0 && b.process.pid != second; }));
  EXPECT_EQ(b.process.quick_exits, 1);
  EXPECT_EQ(b.process.restarts, 2u);
  // Its group goes with each exit.
  EXPECT_NE(std::find(env_.signals.begin(), env_.signals.end(), std::pair(first, SIGKILL)),
            env_.signals.end());
}

TEST_F(SupervisorTest, StopLeavesGivenUpBackendsAloneAndStopsTheOthers) {
  backend& bad = add("0", "/bin/fails");
  backend& good = add("1");
  start();
  ASSERT_TRUE(run_until([&] { return bad.process.given_up; }));
  pid_t good_pid = good.process.pid;
  env_.signals.clear();
  std::size_t starts = env_.started.size();

  ASSERT_TRUE(stop());
  // SIGTERM, then the group's SIGKILL that follows every exit; nothing for the given-up one.
  EXPECT_EQ(env_.signals,
            (std::vector<std::pair<pid_t, int>>{{good_pid, SIGTERM}, {good_pid, SIGKILL}}));
  EXPECT_EQ(good.process.pid, 0);
  EXPECT_TRUE(bad.process.given_up);
  EXPECT_EQ(bad.process.pid, 0);
  // Nothing is left to run: no restart is pending, of either.
  io_.run();
  EXPECT_EQ(env_.started.size(), starts);
}

TEST_F(SupervisorTest, StopCancelsAPendingRestart) {
  options_.restart_delay = 1h;
  options_.restart_delay_max = 1h;
  backend& b = add("0");
  start();
  env_.exit(b.process.pid, exited_with(1));
  ASSERT_TRUE(run_until([&] { return b.process.pid == 0; }));
  ASSERT_TRUE(stop());
  io_.run();  // returns only if the hour-long restart timer was cancelled
  EXPECT_EQ(env_.started.size(), 1u);
  EXPECT_FALSE(b.process.given_up);
}

TEST_F(SupervisorTest, AFailedPinIsLoggedAndTheBackendRuns) {
  backend& b = add("3");
  env_.pin_error = std::make_error_code(std::errc::invalid_argument);
  log_capture captured;
  start();
  const std::string& log = captured.text();
  EXPECT_NE(b.process.pid, 0);
  EXPECT_NE(log.find("warning: backend 3: cannot pin to cpu 1: Invalid argument; it runs unpinned"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace pinwheel
