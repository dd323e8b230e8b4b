#include "config/run_plan.hpp"

#include <gtest/gtest.h>

#include <set>

#include "config/config_error.hpp"
#include "config/config_loader.hpp"
#include "config/fake_host.hpp"

namespace pinwheel {
namespace {

const std::string kCommand = "command = [\"/bin/sh\", \"-c\", \"exit 0\", \"{port}\"]\n";

// Loads `toml` with `flags` and plans it on `host`: pinwheel's one path, minus the real host.
run_plan plan_of(const std::string& toml, test::fake_host& host, const overrides& flags = {}) {
  return make_plan(load_config_text(toml, "test.toml", flags), host.facts);
}

std::string error_of(const std::string& toml, test::fake_host& host, const overrides& flags = {}) {
  try {
    plan_of(toml, host, flags);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string error_of(const std::string& toml, const overrides& flags = {}) {
  test::fake_host host;
  return error_of(toml, host, flags);
}

overrides listen_flag(const std::string& listen) {
  overrides flags;
  flags.listen = listen;
  return flags;
}

std::vector<unsigned> ports_of(const run_plan& plan) {
  std::vector<unsigned> ports;
  for (const backend_plan& b : plan.backends) ports.push_back(b.endpoint.port());
  return ports;
}

TEST(RunPlan, BackendPortsFollowBasePortAndFillTheCommand) {
  test::fake_host host;
  run_plan plan = plan_of("[backends]\ncount = 2\nbase_port = 9100\n" + kCommand, host);
  EXPECT_EQ(ports_of(plan), (std::vector<unsigned>{9100, 9101}));
  EXPECT_EQ(plan.backends[1].argv.back(), "9101");
  EXPECT_EQ(plan.backends[1].cpu, 2);
}

TEST(RunPlan, SpawnedBackendsTakeWeightsInOrder) {
  test::fake_host host;
  run_plan plan = plan_of("[backends]\ncount = 3\nweights = [3, 1, 0]\n" + kCommand, host);
  ASSERT_EQ(plan.backends.size(), 3u);
  EXPECT_EQ(plan.backends[0].weight, 3u);
  EXPECT_EQ(plan.backends[2].weight, 0u);
  EXPECT_EQ(plan.backends[1].name, "1");
  EXPECT_EQ(error_of("[backends]\ncount = 3\nweights = [3, 1]\n" + kCommand),
            "test.toml:3:11: [backends] weights: 2 weights for 3 backends; give one weight per "
            "backend, or set count to match");
}

TEST(RunPlan, ServersKeepTheirNamesAndWeights) {
  test::fake_host host;
  run_plan plan = plan_of(
      "[backends]\nservers = [\"127.0.0.1:7001\", { address = \"127.0.0.1:7002\", name = "
      "\"big\", weight = 4 }]\n",
      host);
  ASSERT_EQ(plan.backends.size(), 2u);
  EXPECT_EQ(plan.backends[0].name, "0");
  EXPECT_EQ(plan.backends[1].name, "big");
  EXPECT_EQ(plan.backends[1].weight, 4u);
}

TEST(RunPlan, AllWeightsZeroIsRejected) {
  EXPECT_EQ(error_of("[backends]\nservers = [{ address = \"127.0.0.1:7001\", weight = 0 }]\n"),
            "test.toml:2:11: [backends] servers: every backend has weight 0, so none would ever be "
            "picked; give at least one a weight from 1 to 256");
}

// The loader once checked base_port + count before --backends applied, and count = 0 ("one per
// core") only means a number after planning.
TEST(RunPlan, PortsPast65535AreCaughtAfterTheBackendsFlag) {
  overrides flags;
  flags.backends = "4";
  EXPECT_EQ(error_of("[backends]\nbase_port = 65534\n" + kCommand, flags),
            "test.toml:2:13: [backends] base_port: 65534 with 4 backends (--backends 4) needs "
            "ports 65534 to 65537, past 65535; lower base_port to at most 65532, or set it to 0 "
            "to pick free ports");
}

TEST(RunPlan, PortsPast65535AreCaughtWithOneBackendPerCore) {
  // Four cores: the balancer takes one, three backends.
  EXPECT_EQ(error_of("[backends]\nbase_port = 65534\n" + kCommand),
            "test.toml:2:13: [backends] base_port: 65534 with 3 backends (one per core) needs "
            "ports 65534 to 65536, past 65535; lower base_port to at most 65533, or set it to 0 "
            "to pick free ports");
  EXPECT_EQ(error_of("[backends]\nbase_port = 65533\n" + kCommand), "(no error)");
}

TEST(RunPlan, AServerThatIsTheListenAddressIsRejected) {
  EXPECT_EQ(error_of("[balancer]\nlisten = \"127.0.0.1:6379\"\n[backends]\n"
                     "servers = [\"127.0.0.1:6380\", \"127.0.0.1:6379\"]\n"),
            "test.toml:4:30: [backends] servers: \"127.0.0.1:6379\" reaches the balancer itself "
            "(listen = \"127.0.0.1:6379\" at test.toml:2:10): a client would make it connect to "
            "itself; remove the server or change listen");
}

TEST(RunPlan, AWildcardListenTakesEveryLocalAddressOfItsFamily) {
  for (const char* server : {"127.0.0.1:8080", "127.0.0.2:8080", "192.0.2.2:8080"}) {
    EXPECT_EQ(error_of("[balancer]\nlisten = \"0.0.0.0:8080\"\n[backends]\nservers = [\"" +
                       std::string(server) + "\"]\n"),
              "test.toml:4:12: [backends] servers: \"" + std::string(server) +
                  "\" reaches the balancer itself (listen = \"0.0.0.0:8080\" at test.toml:2:10): "
                  "a client would make it connect to itself; remove the server or change listen")
        << server;
  }
  // "::" takes IPv4 too, unless IPV6_V6ONLY; assume it may.
  for (const char* server : {"127.0.0.1:8080", "[::1]:8080", "[fd00::2]:8080", "192.0.2.2:8080"}) {
    EXPECT_NE(error_of("[balancer]\nlisten = \"[::]:8080\"\n[backends]\nservers = [\"" +
                       std::string(server) + "\"]\n")
                  .find("reaches the balancer itself"),
              std::string::npos)
        << server;
  }
}

TEST(RunPlan, ServersTheListenAddressDoesNotTakeAreFine) {
  for (const char* server : {"127.0.0.1:8081", "192.0.2.99:8080", "[::1]:8080", "[fd00::2]:8080"})
    EXPECT_EQ(error_of("[balancer]\nlisten = \"0.0.0.0:8080\"\n[backends]\nservers = [\"" +
                       std::string(server) + "\"]\n"),
              "(no error)")
        << server;
  EXPECT_EQ(error_of("[balancer]\nlisten = \"127.0.0.1:0\"\n[backends]\n"
                     "servers = [\"127.0.0.1:8080\"]\n"),
            "(no error)");
}

TEST(RunPlan, AListenFlagThatIsAServerNamesTheFlag) {
  EXPECT_EQ(error_of("[backends]\nservers = [\"127.0.0.1:6379\"]\n", listen_flag("0.0.0.0:6379")),
            "--listen: 0.0.0.0:6379 also takes the connections for [backends] servers entry "
            "\"127.0.0.1:6379\" (test.toml:2:12): a client would make the balancer connect to "
            "itself; listen elsewhere or remove that server");
}

TEST(RunPlan, ASpawnedBackendOnTheListenPortIsRejected) {
  EXPECT_EQ(error_of("[balancer]\nlisten = \"0.0.0.0:9002\"\n[backends]\ncount = 2\n"
                     "base_port = 9001\n" +
                     kCommand),
            "test.toml:5:13: [backends] base_port: backend 1 would listen on 127.0.0.1:9002, "
            "where the balancer listens too (listen = \"0.0.0.0:9002\" at test.toml:2:10); "
            "change base_port or listen");
  EXPECT_EQ(
      error_of("[backends]\ncount = 2\nbase_port = 9001\n" + kCommand, listen_flag("[::]:9001")),
      "--listen: [::]:9001 clashes with backend 0 on 127.0.0.1:9001 (base_port at "
      "test.toml:3:13); listen elsewhere or change base_port");
  // The default listen, 127.0.0.1:8080, against a default-less base_port.
  EXPECT_EQ(error_of("[backends]\ncount = 2\nbase_port = 8079\n" + kCommand),
            "test.toml:3:13: [backends] base_port: backend 1 would listen on 127.0.0.1:8080, "
            "where the balancer listens too (listen = \"127.0.0.1:8080\", the default); change "
            "base_port or listen");
}

TEST(RunPlan, BusyPortsAreNamedAfterTheConfigIsFoundConsistent) {
  test::fake_host host;
  host.taken.insert({asio::ip::make_address("127.0.0.1"), 8080});
  EXPECT_EQ(error_of("[balancer]\nlisten = \"127.0.0.1:8080\"\n[backends]\n"
                     "servers = [\"127.0.0.1:6379\"]\n",
                     host),
            "test.toml:2:10: [balancer] listen: cannot bind 127.0.0.1:8080: Address already in "
            "use; another process listens there (another pinwheel?) — stop it or pick another "
            "port");
  // A clash is a configuration mistake: named before what the host says about the port.
  EXPECT_EQ(error_of("[backends]\ncount = 2\nbase_port = 8079\n" + kCommand, host),
            "test.toml:3:13: [backends] base_port: backend 1 would listen on 127.0.0.1:8080, "
            "where the balancer listens too (listen = \"127.0.0.1:8080\", the default); change "
            "base_port or listen");
  host.taken.insert({asio::ip::make_address("127.0.0.1"), 9002});
  EXPECT_EQ(error_of("[balancer]\nlisten = \"127.0.0.1:0\"\n[backends]\ncount = 2\n"
                     "base_port = 9001\n" +
                         kCommand,
                     host),
            "test.toml:5:13: [backends] base_port: backend 1 cannot listen on 127.0.0.1:9002: "
            "Address already in use; another process listens there — stop it, or choose another "
            "base_port (0 picks free ports)");
}

TEST(RunPlan, PickedPortsLieOutsideTheEphemeralRangeAndAreDistinct) {
  test::fake_host host;
  host.facts.ephemeral_ports = {1500, 65000};
  host.facts.random = 470;  // 1024 + 470 = 1494: the walk wraps past the range to 65001
  run_plan plan = plan_of("[backends]\ncount = 10\nbase_port = 0\n" + kCommand, host);
  EXPECT_EQ(ports_of(plan), (std::vector<unsigned>{1494, 1495, 1496, 1497, 1498, 1499, 65001, 65002,
                                                   65003, 65004}));
}

TEST(RunPlan, PickingSkipsTakenPortsAndTheListenPort) {
  test::fake_host host;
  host.taken.insert({asio::ip::make_address("127.0.0.1"), 1024});
  host.taken.insert({asio::ip::make_address("127.0.0.1"), 1026});
  run_plan plan = plan_of(
      "[balancer]\nlisten = \"0.0.0.0:1027\"\n[backends]\ncount = 3\n"
      "base_port = 0\n" +
          kCommand,
      host);
  EXPECT_EQ(ports_of(plan), (std::vector<unsigned>{1025, 1028, 1029}));
}

TEST(RunPlan, TheRandomStartSpreadsConcurrentPinwheels) {
  std::set<unsigned> first_ports;
  for (std::uint64_t random : {0u, 1000u, 20000u, 31743u, 31744u, 40000u}) {
    test::fake_host host;
    host.facts.random = random;
    run_plan plan = plan_of("[backends]\ncount = 1\nbase_port = 0\n" + kCommand, host);
    unsigned port = plan.backends[0].endpoint.port();
    EXPECT_TRUE(port >= 1024 && (port < 32768 || port > 60999)) << port;
    first_ports.insert(port);
  }
  // 36,280 candidates: 1024-32767 and 61000-65535; 40000 wraps to the 3,720th.
  EXPECT_EQ(first_ports, (std::set<unsigned>{1024, 2024, 21024, 32767, 61000, 4744}));
}

TEST(RunPlan, TooFewFreePortsSaySo) {
  test::fake_host host;
  host.facts.ephemeral_ports = {1026, 65535};  // leaves 1024 and 1025
  EXPECT_EQ(error_of("[backends]\ncount = 3\nbase_port = 0\n" + kCommand, host),
            "test.toml:3:13: [backends] base_port: 0 picks free ports outside the ephemeral range "
            "1026-65535 (ip_local_port_range), but only 2 of the 3 needed are free; set "
            "base_port to a free range");
}

TEST(RunPlan, TooFewDescriptorsIsAWarningInThePlan) {
  test::fake_host host;
  host.facts.open_files = 1024;
  run_plan plan = plan_of(
      "[balancer]\nlisten = \"127.0.0.1:0\"\n[backends]\ncount = 2\n"
      "base_port = 0\n" +
          kCommand,
      host);
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_TRUE(
      plan.warnings[0].starts_with("the open-file limit (1024) fits 412 connections, not "
                                   "balancer.max_connections = 10000 (the default)"))
      << plan.warnings[0];
  EXPECT_NE(describe(load_config_text("[backends]\n" + kCommand, "test.toml"), plan)
                .find("open files      limit 1024, up to 20200 needed"),
            std::string::npos);
  host.facts.open_files = 20200;
  EXPECT_TRUE(plan_of("[balancer]\nlisten = \"127.0.0.1:0\"\n[backends]\ncount = 2\n"
                      "base_port = 0\n" +
                          kCommand,
                      host)
                  .warnings.empty());
}

TEST(RunPlan, CoresOutsideTheAllowedSetNameTheirKey) {
  EXPECT_EQ(error_of("[balancer]\ncpu = 7\n[backends]\n" + kCommand),
            "test.toml:2:7: [balancer] cpu: core 7 is not available to this process; available "
            "cores: 0,1,2,3");
  EXPECT_EQ(error_of("[balancer]\ncpu = 1\n[backends]\ncpus = [2, 9]\n" + kCommand),
            "test.toml:4:8: [backends] cpus: core 9 is not available to this process; available "
            "cores: 0,1,2,3");
}

}  // namespace
}  // namespace pinwheel
