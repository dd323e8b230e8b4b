// Auto-scaling end to end: a CPU-bound load (clients hitting the demo backend's /slow, which
// spins) scales the spawned backends from min up to max; once the load stops they scale back
// down, the removed backend's process is gone, and no request failed on the way.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "e2e/balancer_fixture.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

const std::string kAdmin = "[admin]\nsocket = \"admin.sock\"\ntimeout = \"400ms\"\n";

// One demo backend to start, at most two; short intervals so the test takes seconds.
std::string autoscale_config() {
  return demo_config(1, "least-connections", "", "min = 1\nmax = 2\n") +
         "[autoscale]\n"
         "interval = \"100ms\"\n"
         // CI runs other tests on the same two cores, so a busy backend may get far less than
         // a core: connections waiting on it count as load too.
         "scale_up_cpu = 0.5\n"
         "scale_up_queued = 2\n"
         "scale_down_cpu = 0.1\n"
         "scale_up_after = \"300ms\"\n"
         "scale_down_after = \"500ms\"\n"
         "cooldown = \"500ms\"\n" +
         kAdmin;
}

struct backend_row {
  pid_t pid = 0;
  long total = 0;
};

// Backend name -> pid and connections served, from `ctl status --json`.
std::map<std::string, backend_row> backends(const running_balancer& p) {
  std::map<std::string, backend_row> out;
  std::string json = run_ctl(p, {"status", "--json"}).output;
  std::regex entry(R"rx(\{"name":"([^"]+)"[^}]*"pid":(\d+)[^}]*"total":(\d+))rx");
  for (std::sregex_iterator it(json.begin(), json.end(), entry), end; it != end; ++it)
    out[(*it)[1]] = {std::stoi((*it)[2]), std::stol((*it)[3])};
  return out;
}

// A few clients, each sending one CPU-bound request after another until stopped.
class cpu_load {
 public:
  cpu_load(std::uint16_t port, int clients) {
    for (int i = 0; i < clients; ++i) {
      threads_.emplace_back([this, port] {
        while (!stop_) {
          try {
            http_response r = http_get(port, "/slow?ms=40", 10s);
            if (r.status == 200) {
              ++ok_;
              continue;
            }
            record("status " + std::to_string(r.status));
          } catch (const std::exception& e) {
            record(e.what());
          }
        }
      });
    }
  }
  ~cpu_load() { stop(); }

  void stop() {
    stop_ = true;
    for (std::thread& t : threads_)
      if (t.joinable()) t.join();
  }
  int ok() const { return ok_; }
  std::vector<std::string> failures() {
    std::lock_guard lock(mutex_);
    return failures_;
  }

 private:
  void record(const std::string& failure) {
    std::lock_guard lock(mutex_);
    failures_.push_back(failure);
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

TEST(Autoscale, CpuBoundLoadScalesUpThenBackDownWithNoFailedRequest) {
  running_balancer pinwheel(autoscale_config(), 1);
  auto& log = pinwheel.process();
  ASSERT_TRUE(log.wait_for_line("auto-scaling between 1 and 2 backends", 5s)) << log.output();
  EXPECT_NE(run_ctl(pinwheel, {"status"}).output.find("auto-scaling: 1 backend(s), min 1, max 2"),
            std::string::npos);

  // Four clients on one single-threaded backend: one request served, three waiting.
  cpu_load load(pinwheel.port(), 4);
  auto up =
      log.wait_for_line(R"(auto-scaling up: 1 -> 2 backends \((mean (cpu|queued) [^;]*);)", 10s);
  ASSERT_TRUE(up) << log.output();
  std::printf("scaled up on %s\n", (*up)[1].c_str());
  ASSERT_TRUE(pinwheel.wait_backends_up(2)) << log.output();
  // The new backend takes a share of the load before the load stops.
  int before = load.ok();
  ASSERT_TRUE(wait_until([&] { return load.ok() >= before + 10; }, 10s));
  std::map<std::string, backend_row> running = backends(pinwheel);
  ASSERT_EQ(running.size(), 2u) << run_ctl(pinwheel, {"status"}).output;
  pid_t added = running["1"].pid;
  ASSERT_GT(added, 0);
  EXPECT_GT(running["1"].total, 0) << "the added backend served nothing";
  EXPECT_NE(run_ctl(pinwheel, {"status"}).output.find("auto-scaling: 2 backend(s), min 1, max 2"),
            std::string::npos);
  std::string metrics = http_get(pinwheel.metrics_port(), "/metrics").body;
  EXPECT_NE(metrics.find("\npinwheel_backends_desired 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\npinwheel_autoscale_backends{bound=\"max\"} 2\n"), std::string::npos)
      << metrics;
  load.stop();

  ASSERT_TRUE(log.wait_for_line(R"(auto-scaling down: 2 -> 1 backends \(mean cpu)", 10s))
      << log.output();
  ASSERT_TRUE(log.wait_for_line("backend 1 removed", 10s)) << log.output();
  EXPECT_TRUE(wait_until([&] { return gone(added); }, 5s))
      << "backend 1 (pid " << added << ") still runs";
  EXPECT_EQ(backends(pinwheel).size(), 1u);
  // A deliberate removal is no crash: nothing was restarted or given up.
  EXPECT_EQ(log.output().find("restarting in"), std::string::npos) << log.output();
  EXPECT_EQ(log.output().find("giving up"), std::string::npos) << log.output();

  std::vector<std::string> failures = load.failures();
  std::printf("%d requests, %zu failed\n", load.ok(), failures.size());
  EXPECT_GT(load.ok(), 0);
  EXPECT_TRUE(failures.empty()) << failures.front();
}

// A reload keeps the running count, brought within the new bounds; one that drops min and max
// turns auto-scaling off and count applies again.
TEST(Autoscale, AReloadMovesTheCountIntoTheNewRangeOrTurnsScalingOff) {
  // No load and a long hold: nothing but the reloads changes the count.
  const std::string slow = "[autoscale]\ninterval = \"100ms\"\nscale_down_after = \"1h\"\n";
  running_balancer pinwheel(demo_config(1, "round-robin", "", "min = 1\nmax = 3\n") + slow + kAdmin,
                            1);
  auto& log = pinwheel.process();
  // The file's count (3) is only a starting count: the running one (1) is kept, raised to
  // the new min.
  std::ofstream(pinwheel.config_path(), std::ios::trunc)
      << demo_config(3, "round-robin", "", "min = 2\nmax = 3\n") + slow + kAdmin;
  std::string reply = run_ctl(pinwheel, {"reload"}).output;
  EXPECT_NE(reply.find("auto-scaling 2 to 3; 1 backend(s) added"), std::string::npos) << reply;
  ASSERT_TRUE(pinwheel.wait_backends_up(2)) << log.output();
  EXPECT_NE(run_ctl(pinwheel, {"status"}).output.find("auto-scaling: 2 backend(s), min 2, max 3"),
            std::string::npos);

  // count = 1 with no min and max: auto-scaling off, the count is the file's again.
  std::ofstream(pinwheel.config_path(), std::ios::trunc) << demo_config(1, "round-robin") + kAdmin;
  reply = run_ctl(pinwheel, {"reload"}).output;
  EXPECT_NE(reply.find("auto-scaling off; 1 backend(s) removed"), std::string::npos) << reply;
  ASSERT_TRUE(log.wait_for_line("backend 1 removed", 10s)) << log.output();
  ASSERT_TRUE(log.wait_for_line(R"(auto-scaling off \(\[backends\] min and max)", 5s))
      << log.output();
  std::string status = run_ctl(pinwheel, {"status"}).output;
  EXPECT_EQ(status.find("auto-scaling"), std::string::npos) << status;
  EXPECT_EQ(backends(pinwheel).size(), 1u);
}

}  // namespace
}  // namespace pinwheel::test
