#include "autoscale/load_sampler.hpp"

#include <gtest/gtest.h>

#include <map>

#include "pool/backend_pool.hpp"

namespace pinwheel {
namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class LoadSampler : public ::testing::Test {
 protected:
  backend& add(const std::string& name, pid_t pid) {
    backend b;
    b.name = name;
    b.argv = {"/bin/true"};
    b.health = health_state(1, 1, true);
    b.process.pid = pid;
    return pool.add(std::move(b));
  }

  backend_pool pool;
  std::map<pid_t, double> cpu_seconds;
  load_sampler sampler{[this](pid_t pid) -> std::optional<double> {
    auto it = cpu_seconds.find(pid);
    if (it == cpu_seconds.end()) return std::nullopt;
    return it->second;
  }};
  clock::time_point now = clock::time_point() + 1h;
};

TEST_F(LoadSampler, UtilisationIsCpuTimePerWallTimeBetweenTwoReadings) {
  add("0", 100);
  add("1", 101);
  cpu_seconds = {{100, 10.0}, {101, 3.0}};
  load_sample first = sampler.sample(pool.members(), 2, now);
  EXPECT_EQ(first.backends, 2);
  EXPECT_EQ(first.measured, 0);  // one reading is no rate yet
  EXPECT_EQ(first.fresh, 2);
  now += 2s;
  cpu_seconds = {{100, 11.8}, {101, 3.2}};
  load_sample s = sampler.sample(pool.members(), 2, now);
  EXPECT_EQ(s.measured, 2);
  EXPECT_EQ(s.fresh, 0);
  EXPECT_NEAR(s.cpu, 0.9 + 0.1, 1e-9);
}

TEST_F(LoadSampler, ARestartedProcessIsMeasuredAfreshAndDownOrDrainingOnesDoNotCount) {
  backend& a = add("0", 100);
  backend& b = add("1", 101);
  backend& c = add("2", 102);
  cpu_seconds = {{100, 1.0}, {101, 1.0}, {102, 1.0}, {200, 0.0}};
  sampler.sample(pool.members(), 3, now);
  now += 1s;
  a.process.pid = 200;  // restarted: its new process has no earlier reading
  pool.set_admin(b, admin_state::draining);
  c.health = health_state(1, 1, false);
  load_sample s = sampler.sample(pool.members(), 3, now);
  EXPECT_EQ(s.measured, 0);
  EXPECT_EQ(s.fresh, 1);  // the restarted one; draining and down ones are not read at all
  now += 1s;
  cpu_seconds[200] = 0.5;
  s = sampler.sample(pool.members(), 3, now);
  EXPECT_EQ(s.measured, 1);
  EXPECT_NEAR(s.cpu, 0.5, 1e-9);
}

TEST_F(LoadSampler, QueuedCountsConnectionsAwaitingAReply) {
  backend& a = add("0", 100);
  cpu_seconds = {{100, 1.0}};
  sampler.sample(pool.members(), 1, now);
  awaiting_link first, second;
  pool.request_sent(a, first);
  pool.request_sent(a, second);
  now += 1s;
  load_sample s = sampler.sample(pool.members(), 1, now);
  EXPECT_EQ(s.queued, 2);
  pool.reply_received(a, first);
  pool.reply_received(a, second);
}

TEST_F(LoadSampler, AGoneProcessIsNotMeasured) {
  add("0", 100);
  cpu_seconds = {{100, 1.0}};
  sampler.sample(pool.members(), 1, now);
  cpu_seconds.clear();
  now += 1s;
  EXPECT_EQ(sampler.sample(pool.members(), 1, now).measured, 0);
}

}  // namespace
}  // namespace pinwheel
