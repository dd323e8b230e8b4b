// What a reload would change, and what it leaves for a restart.
#include "config/config_diff.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

using asio::ip::tcp;

backend_plan planned(std::size_t index, unsigned short port, int cpu, const options& o) {
  backend_plan p;
  p.index = index;
  p.name = std::to_string(index);
  p.endpoint = tcp::endpoint(asio::ip::address_v4::loopback(), port);
  p.cpu = cpu;
  p.argv = command_for(o.backends, p);
  return p;
}

struct setup {
  options o;
  run_plan plan;
};

setup spawned(int count, int base_port) {
  setup s;
  s.o.backends.command = {"/bin/app", "--port", "{port}"};
  s.o.backends.base_port = base_port;
  s.o.backends.count = count;
  s.plan.balancer_cpu = 0;
  for (int i = 0; i < count; ++i) {
    unsigned short port =
        static_cast<unsigned short>(base_port == 0 ? 40000 + 7 * i : base_port + i);
    s.plan.backends.push_back(planned(static_cast<std::size_t>(i), port, 1 + i, s.o));
  }
  return s;
}

TEST(ConfigDiff, NothingChangedIsEmpty) {
  setup running = spawned(2, 9001), next = spawned(2, 9001);
  config_diff d = diff_configs(running.o, running.plan, next.o, next.plan);
  EXPECT_TRUE(d.empty());
}

TEST(ConfigDiff, LiveSettingsAreApplied) {
  setup running = spawned(2, 9001), next = spawned(2, 9001);
  next.o.balancer.strategy = "round-robin";
  next.o.balancer.connect_timeout = 5s;
  next.o.health.fall = 7;
  next.o.balancer.listen = tcp::endpoint(asio::ip::address_v4::loopback(), 8181);
  config_diff d = diff_configs(running.o, running.plan, next.o, next.plan);
  EXPECT_TRUE(d.strategy);
  EXPECT_TRUE(d.timeouts);
  EXPECT_TRUE(d.health);
  EXPECT_TRUE(d.listen);
  EXPECT_TRUE(d.needs_restart.empty());
  EXPECT_TRUE(d.restarted.empty());
}

TEST(ConfigDiff, ScaleUpDownAndChangedCommandsByIndex) {
  setup running = spawned(3, 9001);
  setup up = spawned(5, 9001);
  config_diff d = diff_configs(running.o, running.plan, up.o, up.plan);
  EXPECT_EQ(d.added, (std::vector<std::size_t>{3, 4}));
  EXPECT_TRUE(d.removed.empty());
  EXPECT_TRUE(d.restarted.empty());

  setup down = spawned(1, 9001);
  d = diff_configs(running.o, running.plan, down.o, down.plan);
  EXPECT_EQ(d.removed, (std::vector<std::size_t>{1, 2}));

  setup changed = spawned(3, 9001);
  changed.o.backends.command.push_back("--verbose");
  for (auto& p : changed.plan.backends) p.argv = command_for(changed.o.backends, p);
  changed.plan.backends[1].cpu = 5;
  d = diff_configs(running.o, running.plan, changed.o, changed.plan);
  EXPECT_EQ(d.restarted, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(ConfigDiff, PickedPortsStayWithTheirBackends) {
  setup running = spawned(2, 0);
  setup next = spawned(3, 0);
  // The new plan picked other free ports: a backend that stays must keep its own.
  for (auto& p : next.plan.backends) {
    p.endpoint.port(static_cast<unsigned short>(p.endpoint.port() + 1000));
    p.argv = command_for(next.o.backends, p);
  }
  config_diff d = diff_configs(running.o, running.plan, next.o, next.plan);
  EXPECT_TRUE(d.restarted.empty());
  EXPECT_EQ(d.added, (std::vector<std::size_t>{2}));
  EXPECT_EQ(next.plan.backends[0].endpoint, running.plan.backends[0].endpoint);
  EXPECT_EQ(next.plan.backends[0].argv, running.plan.backends[0].argv);
}

TEST(ConfigDiff, RestartOnlyKeysKeepTheirRunningValues) {
  setup running = spawned(2, 9001), next = spawned(2, 9001);
  next.o.balancer.cpu = 3;
  next.plan.balancer_cpu = 3;
  next.o.balancer.max_connections = 5;
  next.o.limits.per_client_connections = 9;
  next.o.balancer.strategy = "round-robin";
  config_diff d = diff_configs(running.o, running.plan, next.o, next.plan);
  EXPECT_EQ(d.needs_restart,
            (std::vector<std::string>{"balancer.cpu", "balancer.max_connections", "limits"}));
  EXPECT_FALSE(next.o.balancer.cpu.has_value());
  EXPECT_EQ(next.plan.balancer_cpu, 0);
  EXPECT_EQ(next.o.balancer.max_connections, running.o.balancer.max_connections);
  EXPECT_EQ(next.o.limits.per_client_connections, 0);
  EXPECT_TRUE(d.strategy) << "the rest is still applied";
}

TEST(ConfigDiff, ServersAreMatchedByAddress) {
  setup running, next;
  auto at = [](unsigned short port) {
    return tcp::endpoint(asio::ip::address_v4::loopback(), port);
  };
  auto server = [&](unsigned short port, unsigned weight) {
    return server_options{at(port), "", weight};
  };
  running.o.backends.servers = {server(1000, 1), server(1001, 1)};
  next.o.backends.servers = {server(1001, 1), server(1002, 1)};
  config_diff d = diff_configs(running.o, running.plan, next.o, next.plan);
  EXPECT_EQ(d.servers_added, (std::vector<tcp::endpoint>{at(1002)}));
  EXPECT_EQ(d.servers_removed, (std::vector<tcp::endpoint>{at(1000)}));
  EXPECT_FALSE(d.weights);
  next.o.backends.servers[0].weight = 5;
  EXPECT_TRUE(diff_configs(running.o, running.plan, next.o, next.plan).weights);
}

}  // namespace
}  // namespace pinwheel
