// [balancer] mode = "direct": what it needs, what it cannot do, each named where it is.
#include <gtest/gtest.h>

#include "config/config_error.hpp"
#include "config/config_loader.hpp"
#include "config/fake_host.hpp"
#include "config/run_plan.hpp"

namespace pinwheel {
namespace {

const std::string kBackends =
    "[backends]\ncommand = [\"/bin/sh\", \"-c\", \"exit 0\"]\nsocket_activation = true\n";

std::string error_of(const std::string& toml, const overrides& flags = {}) {
  test::fake_host host;
  try {
    make_plan(load_config_text(toml, "test.toml", flags), host.facts);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(DirectConfig, ProxyIsTheDefaultAndDirectDefaultsToLeastBusy) {
  EXPECT_EQ(load_config_text(kBackends, "test.toml").balancer.mode, balancer_mode::proxy);
  options o = load_config_text("[balancer]\nmode = \"direct\"\n" + kBackends, "test.toml");
  EXPECT_EQ(o.balancer.mode, balancer_mode::direct);
  EXPECT_EQ(o.balancer.strategy, "least-busy");
  EXPECT_EQ(error_of("[balancer]\nmode = \"direct\"\n" + kBackends), "(no error)");
  for (const char* strategy : {"round-robin", "source-hash", "least-busy"}) {
    EXPECT_EQ(error_of("[balancer]\nmode = \"direct\"\nstrategy = \"" + std::string(strategy) +
                       "\"\n" + kBackends),
              "(no error)")
        << strategy;
  }
}

TEST(DirectConfig, AnUnknownModeIsNamed) {
  EXPECT_EQ(
      error_of("[balancer]\nmode = \"kernel\"\n" + kBackends),
      "test.toml:2:8: [balancer] mode: \"kernel\" is not a mode; use \"proxy\" or \"direct\"");
}

TEST(DirectConfig, NeedsSocketActivatedSpawnedBackends) {
  EXPECT_EQ(error_of("[balancer]\nmode = \"direct\"\n[backends]\ncommand = [\"/bin/true\"]\n"),
            "test.toml:2:8: [balancer] mode = \"direct\" needs test.toml: [backends] "
            "socket_activation = true: each backend accepts on the listening socket Pinwheel "
            "hands it as descriptor 3 (LISTEN_FDS)");
  EXPECT_EQ(error_of("[balancer]\nmode = \"direct\"\n[backends]\nservers = [\"127.0.0.1:9\"]\n"),
            "test.toml:2:8: [balancer] mode = \"direct\" hands connections to the processes "
            "Pinwheel spawns; [backends] servers are not spawned: give [backends] command, or use "
            "mode = \"proxy\"");
}

TEST(DirectConfig, ConnectionCountingStrategiesAreRefusedWithTheChoices) {
  EXPECT_EQ(
      error_of("[balancer]\nmode = \"direct\"\nstrategy = \"least-connections\"\n" + kBackends),
      "test.toml:3:12: [balancer] strategy: \"least-connections\" needs the balancer to see "
      "each connection, which direct mode never does; use \"round-robin\", \"least-busy\", "
      "\"source-hash\" with test.toml:2:8: [balancer] mode = \"direct\"");
  overrides flags;
  flags.strategy = "power-of-two";
  EXPECT_NE(error_of("[balancer]\nmode = \"direct\"\n" + kBackends, flags)
                .find("--strategy: \"power-of-two\" needs the balancer to see each connection"),
            std::string::npos);
  // And the other way round.
  EXPECT_EQ(error_of("[balancer]\nstrategy = \"least-busy\"\n" + kBackends),
            "test.toml:2:12: [balancer] strategy: \"least-busy\" steers direct mode's kernel "
            "program; in proxy mode use \"least-pending\", which sees a busy backend from its "
            "connections, or set [balancer] mode = \"direct\"");
}

TEST(DirectConfig, WhatNeedsTheBalancerToAcceptIsRefused) {
  const std::string direct = "[balancer]\nmode = \"direct\"\n";
  auto refused = [&](const std::string& extra_balancer, const std::string& extra_backends,
                     const std::string& rest = "") {
    return error_of(direct + extra_balancer + kBackends + extra_backends + rest);
  };
  EXPECT_EQ(refused("accept_proxy = true\ntrusted = [\"127.0.0.1\"]\n", ""),
            "test.toml:3:16: [balancer] accept_proxy: not available with test.toml:2:8: "
            "[balancer] mode = \"direct\": the balancer never reads a connection's bytes; the "
            "backends would get the header");
  EXPECT_NE(refused("", "send_proxy = \"v2\"\n").find("[backends] send_proxy: not available"),
            std::string::npos);
  EXPECT_NE(refused("listen = [\"127.0.0.1:0\", \"[::1]:0\"]\n", "")
                .find("[balancer] listen: not available with"),
            std::string::npos);
  EXPECT_NE(refused("tcp_keepalive = \"30s\"\n", "").find("[balancer] tcp_keepalive"),
            std::string::npos);
  EXPECT_NE(refused("max_pipes = 8\n", "")
                .find("[balancer] max_pipes: not available with test.toml:2:8: [balancer] mode = "
                      "\"direct\": the balancer never relays the connections' bytes"),
            std::string::npos);
  EXPECT_NE(refused("", "", "[limits]\nper_client_connections = 5\n")
                .find("[limits] per_client_connections: not available"),
            std::string::npos);
  EXPECT_NE(refused("", "slow_start = \"5s\"\n").find("[backends] slow_start: not available"),
            std::string::npos);
  EXPECT_NE(refused("", "min = 1\nmax = 3\n").find("[backends] min: not available"),
            std::string::npos);
}

}  // namespace
}  // namespace pinwheel
