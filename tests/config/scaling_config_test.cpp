// [backends] min / max and [autoscale]: what is read, and each mistake named where it is.
#include <gtest/gtest.h>

#include "config/config_diff.hpp"
#include "config/config_error.hpp"
#include "config/config_loader.hpp"
#include "config/fake_host.hpp"
#include "config/run_plan.hpp"

namespace pinwheel {
namespace {

using namespace std::chrono_literals;

const std::string kCommand = "command = [\"/bin/sh\", \"-c\", \"exit 0\", \"{port}\"]\n";

std::string error_of(const std::string& toml, const overrides& flags = {}) {
  test::fake_host host;
  try {
    make_plan(load_config_text(toml, "test.toml", flags), host.facts);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ScalingConfig, OffByDefault) {
  options o = load_config_text("[backends]\n" + kCommand, "test.toml");
  EXPECT_FALSE(o.backends.autoscaled());
  EXPECT_EQ(o.autoscale.interval, 5s);
  EXPECT_EQ(o.autoscale.scale_up_cpu, 0.8);
  EXPECT_EQ(o.autoscale.scale_down_cpu, 0.3);
  EXPECT_EQ(o.autoscale.cooldown, 60s);
}

TEST(ScalingConfig, StartsAtMinUnlessCountSaysOtherwise) {
  test::fake_host host;
  options o = load_config_text("[backends]\nmin = 2\nmax = 3\n" + kCommand, "test.toml");
  EXPECT_TRUE(o.backends.autoscaled());
  EXPECT_EQ(o.backends.count, 2);
  EXPECT_EQ(make_plan(o, host.facts).backends.size(), 2u);
  o = load_config_text("[backends]\nmin = 1\nmax = 3\ncount = 3\n" + kCommand, "test.toml");
  EXPECT_EQ(make_plan(o, host.facts).backends.size(), 3u);
  // min = max fixes the count: no auto-scaling.
  o = load_config_text("[backends]\nmin = 2\nmax = 2\n" + kCommand, "test.toml");
  EXPECT_FALSE(o.backends.autoscaled());
  EXPECT_EQ(o.backends.count, 2);
}

TEST(ScalingConfig, ReadsTheAutoscaleTable) {
  options o = load_config_text("[backends]\nmin = 1\nmax = 4\n" + kCommand +
                                   "[autoscale]\ninterval = \"200ms\"\nscale_up_cpu = 0.7\n"
                                   "scale_down_cpu = 0\nscale_up_queued = 8\n"
                                   "scale_up_after = \"1s\"\nscale_down_after = \"2s\"\n"
                                   "cooldown = \"500ms\"\n",
                               "test.toml");
  EXPECT_EQ(o.autoscale.interval, 200ms);
  EXPECT_EQ(o.autoscale.scale_up_cpu, 0.7);
  EXPECT_EQ(o.autoscale.scale_down_cpu, 0.0);
  EXPECT_EQ(o.autoscale.scale_up_queued, 8.0);
  EXPECT_EQ(o.autoscale.scale_up_after, 1s);
  EXPECT_EQ(o.autoscale.scale_down_after, 2s);
  EXPECT_EQ(o.autoscale.cooldown, 500ms);
}

TEST(ScalingConfig, BoundsAreCheckedWhereWritten) {
  EXPECT_EQ(error_of("[backends]\nmin = 2\n" + kCommand),
            "test.toml:2:7: [backends] min: needs max too: auto-scaling runs between min and max");
  EXPECT_EQ(error_of("[backends]\nmax = 2\n" + kCommand),
            "test.toml:2:7: [backends] max: needs min too: auto-scaling runs between min and max");
  EXPECT_EQ(error_of("[backends]\nmin = 3\nmax = 2\n" + kCommand),
            "test.toml:3:7: [backends] max: 2 is below min (3); give max >= min (max = min fixes "
            "the count)");
  EXPECT_EQ(error_of("[backends]\nmin = 0\nmax = 2\n" + kCommand),
            "test.toml:2:7: [backends] min: 0 is out of range; use 1 to 1024");
  EXPECT_EQ(error_of("[backends]\nmin = 1\nmax = 5000\n" + kCommand),
            "test.toml:3:7: [backends] max: 5000 is out of range; use 1 to 1024");
  EXPECT_NE(error_of("[backends]\nmin = 1\nmax = 2\nweights = [1, 2]\n" + kCommand)
                .find("test.toml:4:11: [backends] weights: cannot be combined with min and max"),
            std::string::npos);
  EXPECT_EQ(error_of("[backends]\nservers = [\"127.0.0.1:9000\"]\nmin = 1\nmax = 2\n"),
            "test.toml:3:7: [backends] min: applies to backends Pinwheel spawns (command), not to "
            "servers it does not start");
}

TEST(ScalingConfig, CountMustLieWithinMinAndMaxAfterFlags) {
  EXPECT_EQ(error_of("[backends]\nmin = 2\nmax = 3\ncount = 4\n" + kCommand),
            "test.toml:4:9: [backends] count 4: the starting count must lie within min and max "
            "[2, 3] (test.toml:2:7, test.toml:3:7); leave count out to start at min");
  overrides flags;
  flags.backends = "1";
  EXPECT_EQ(error_of("[backends]\nmin = 2\nmax = 3\n" + kCommand, flags),
            "--backends 1: the starting count must lie within min and max [2, 3] "
            "(test.toml:2:7, test.toml:3:7); leave count out to start at min");
  flags.backends = "3";
  EXPECT_EQ(error_of("[backends]\nmin = 2\nmax = 3\n" + kCommand, flags), "(no error)");
}

TEST(ScalingConfig, PortsMustReachMax) {
  EXPECT_EQ(error_of("[backends]\nmin = 1\nmax = 10\nbase_port = 65530\n" + kCommand),
            "test.toml:3:7: [backends] max: 10 backends from base_port 65530 need ports up to "
            "65539, past 65535; lower base_port to at most 65526, or set it to 0 to pick free "
            "ports");
}

TEST(ScalingConfig, AutoscaleTableMistakes) {
  const std::string bounds = "[backends]\nmin = 1\nmax = 2\n" + kCommand;
  EXPECT_EQ(error_of(bounds + "[autoscale]\nscale_up_cpu = 0.2\n"),
            "test.toml:6:16: [autoscale] scale_down_cpu: 0.3 must be below scale_up_cpu (0.2), or "
            "backends would be added and removed in turn");
  EXPECT_EQ(error_of(bounds + "[autoscale]\nscale_up_cpu = \"high\"\n"),
            "test.toml:6:16: [autoscale] scale_up_cpu: expected a number such as 0.8, got a "
            "string");
  EXPECT_EQ(error_of(bounds + "[autoscale]\nscale_up_cpu = 0\n"),
            "test.toml:6:16: [autoscale] scale_up_cpu: 0 is out of range; use 0.01 to 64");
  EXPECT_EQ(error_of(bounds + "[autoscale]\ninterval = \"1ms\"\n"),
            "test.toml:6:12: [autoscale] interval: \"1ms\" is too short; the minimum is 10ms");
  EXPECT_EQ(error_of(bounds + "[autoscale]\ncooldwn = \"1s\"\n"),
            "test.toml:6:1: [autoscale] unknown key \"cooldwn\"; did you mean \"cooldown\"?");
  EXPECT_EQ(error_of("[backends]\n" + kCommand + "[autoscale]\ncooldown = \"1s\"\n"),
            "test.toml:3:1: [autoscale] has no effect without [backends] min and max "
            "(auto-scaling runs between them); add them or remove [autoscale]");
}

TEST(ScalingConfig, ReloadNamesAutoscalingChanges) {
  test::fake_host host;
  options running = load_config_text("[backends]\nmin = 1\nmax = 2\n" + kCommand, "test.toml");
  run_plan running_plan = make_plan(running, host.facts);
  options next = load_config_text("[backends]\nmin = 1\nmax = 3\n" + kCommand, "test.toml");
  run_plan next_plan = make_plan(next, host.facts);
  config_diff d = diff_configs(running, running_plan, next, next_plan);
  EXPECT_EQ(d.changes, (std::vector<std::string>{"auto-scaling 1 to 3"}));
  next = load_config_text("[backends]\ncount = 1\n" + kCommand, "test.toml");
  next_plan = make_plan(next, host.facts);
  d = diff_configs(running, running_plan, next, next_plan);
  EXPECT_EQ(d.changes, (std::vector<std::string>{"auto-scaling off"}));
}

TEST(ScalingConfig, AnAddedBackendTakesAFreeCoreAndTheOthersKeepTheirs) {
  test::fake_host host;  // cores 0-3: the balancer on 0, backends on 1, 2, 3
  options o = load_config_text("[backends]\nmin = 1\nmax = 4\n" + kCommand, "test.toml");
  run_plan one = make_plan(o, host.facts);
  o.backends.count = 3;
  run_plan three = make_plan(o, host.facts);
  ASSERT_EQ(three.backends.size(), 3u);
  EXPECT_EQ(three.backends[0].cpu, one.backends[0].cpu);
  EXPECT_EQ(three.backends[1].cpu, 2);
  EXPECT_EQ(three.backends[2].cpu, 3);
  EXPECT_EQ(three.balancer_cpu, 0);
}

TEST(ScalingConfig, CheckDescribesIt) {
  test::fake_host host;
  options o = load_config_text("[backends]\nmin = 1\nmax = 6\n" + kCommand, "test.toml");
  run_plan plan = make_plan(o, host.facts);
  std::string text = describe(o, plan);
  EXPECT_NE(text.find("1 spawned (auto-scaling 1 to 6)"), std::string::npos) << text;
  EXPECT_NE(text.find("autoscale       every 5s: up at cpu >= 0.8 for 15s, down at cpu <= 0.3 "
                      "for 1m, cooldown 1m"),
            std::string::npos)
      << text;
  // Six backends on the fake host's three free cores: said at start, not when the load comes.
  EXPECT_NE(text.find("warning: at max (auto-scaling): 6 backends on 3 core(s)"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace pinwheel
