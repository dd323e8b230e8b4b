// The edge keys: listen lists, tcp_keepalive, accept_proxy/trusted, send_proxy, [limits].
#include <gtest/gtest.h>

#include "config/config_error.hpp"
#include "config/config_loader.hpp"
#include "config/fake_host.hpp"
#include "config/run_plan.hpp"

namespace pinwheel {
namespace {

const std::string kBackends =
    "[backends]\ncommand = [\"/bin/sh\", \"-c\", \"exit 0\", \"{port}\"]\n";

std::string error_of(const std::string& toml) {
  try {
    load_config_text(toml, "test.toml");
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(EdgeConfig, ReadsEveryEdgeKey) {
  options o = load_config_text(R"(
[balancer]
listen = ["0.0.0.0:8080", "[::]:8080", "0.0.0.0:8443"]
tcp_keepalive = "60s"
accept_proxy = true
trusted = ["10.0.0.0/8", "fd00::/8"]
proxy_header_timeout = "500ms"
[backends]
command = ["/bin/sh", "{port}"]
send_proxy = "v2"
[limits]
per_client_connections = 100
per_client_rate = "600/m"
)",
                               "test.toml");
  EXPECT_EQ(o.balancer.listen.port(), 8080);
  ASSERT_EQ(o.balancer.more_listen.size(), 2u);
  EXPECT_TRUE(o.balancer.more_listen[0].address().is_v6());
  EXPECT_EQ(o.balancer.more_listen[1].port(), 8443);
  EXPECT_EQ(o.balancer.tcp_keepalive, 60s);
  EXPECT_TRUE(o.balancer.accept_proxy);
  ASSERT_EQ(o.balancer.trusted.size(), 2u);
  EXPECT_EQ(o.balancer.proxy_header_timeout, 500ms);
  EXPECT_EQ(o.backends.send_proxy, proxy_protocol::version::v2);
  EXPECT_EQ(o.limits.per_client_connections, 100);
  EXPECT_DOUBLE_EQ(o.limits.per_client_rate, 10.0);
}

TEST(EdgeConfig, ListenFlagReplacesTheWholeList) {
  overrides flags;
  flags.listen = "127.0.0.1:9";
  options o = load_config_text(
      "[balancer]\nlisten = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n" + kBackends, "test.toml", flags);
  EXPECT_EQ(o.balancer.listen.port(), 9);
  EXPECT_TRUE(o.balancer.more_listen.empty());
}

TEST(EdgeConfig, EveryListenerIsCheckedAgainstTheBackendsPorts) {
  options o = load_config_text(
      "[balancer]\nlisten = [\"127.0.0.1:8080\", \"127.0.0.1:9001\"]\n[backends]\ncount = 1\n"
      "base_port = 9001\ncommand = [\"/bin/sh\", \"{port}\"]\n",
      "test.toml");
  test::fake_host host;
  try {
    make_plan(o, host.facts);
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "test.toml:5:13: [backends] base_port: backend 0 would listen on 127.0.0.1:9001, "
              "where the balancer listens too (listen = \"127.0.0.1:9001\" at test.toml:2:10); "
              "change base_port or listen");
  }
}

struct bad_config {
  std::string toml;
  std::string message;
};

class BadEdgeConfig : public testing::TestWithParam<bad_config> {};

TEST_P(BadEdgeConfig, IsRejectedWithAPreciseMessage) {
  EXPECT_EQ(error_of(GetParam().toml), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadEdgeConfig,
    testing::Values(
        bad_config{"[balancer]\nlisten = []\n" + kBackends,
                   "test.toml:2:10: [balancer] listen: is empty; list at least one \"host:port\""},
        bad_config{"[balancer]\nlisten = [\"127.0.0.1:1\", 2]\n" + kBackends,
                   "test.toml:2:26: [balancer] listen: expected \"host:port\" or a list of them, "
                   "got an integer"},
        bad_config{"[balancer]\nlisten = [\"0.0.0.0:80\", \"127.0.0.1:80\"]\n" + kBackends,
                   "test.toml:2:25: [balancer] listen: 127.0.0.1:80 overlaps 0.0.0.0:80 listed "
                   "before it; each address and port may be listened on once"},
        bad_config{"[balancer]\naccept_proxy = true\n" + kBackends,
                   "test.toml:2:16: [balancer] accept_proxy: needs trusted = [\"10.0.0.0/8\", "
                   "...]: the peers (the balancers in front) whose PROXY headers are believed; "
                   "anyone else could claim any address"},
        bad_config{"[balancer]\ntrusted = [\"10.0.0.0/8\"]\n" + kBackends,
                   "test.toml:2:11: [balancer] trusted: has no effect without accept_proxy = "
                   "true; add it or remove trusted"},
        bad_config{"[balancer]\naccept_proxy = true\ntrusted = [\"10.0.0.0/40\"]\n" + kBackends,
                   "test.toml:3:12: [balancer] trusted: \"10.0.0.0/40\": the prefix length must "
                   "be 0 to 32"},
        bad_config{"[balancer]\ntcp_keepalive = 60\n" + kBackends,
                   "test.toml:2:17: [balancer] tcp_keepalive: expected a duration string such as "
                   "\"500ms\" or \"2s\", got an integer"},
        bad_config{"[balancer]\nmax_pipes = -1\n" + kBackends,
                   "test.toml:2:13: [balancer] max_pipes: -1 is out of range; use 0 to 100000"},
        bad_config{kBackends + "send_proxy = \"v3\"\n",
                   "test.toml:3:14: [backends] send_proxy: \"v3\" is not a PROXY protocol "
                   "version; use \"v1\", \"v2\" or \"none\""},
        bad_config{kBackends + "[limits]\nper_client_rate = \"100\"\n",
                   "test.toml:4:19: [limits] per_client_rate: \"100\" is not a rate; write "
                   "connections per unit of time, e.g. \"100/s\" or \"600/m\" (\"0/s\": no "
                   "limit)"},
        bad_config{kBackends + "[limits]\nper_client_connections = -1\n",
                   "test.toml:4:26: [limits] per_client_connections: -1 is out of range; use 0 "
                   "to 1000000"},
        bad_config{kBackends + "[limits]\nper_client = 1\n",
                   "test.toml:4:1: [limits] unknown key \"per_client\"; known keys are "
                   "per_client_connections, per_client_rate"}));

}  // namespace
}  // namespace pinwheel
