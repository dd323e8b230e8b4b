#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "config/config_error.hpp"
#include "config/config_loader.hpp"
#include "config/fake_host.hpp"
#include "config/run_plan.hpp"
#include "config/scratch_dir.hpp"

namespace pinwheel {
namespace {

// A valid base to break one key at a time.
const std::string kBackends =
    "[backends]\ncommand = [\"/bin/sh\", \"-c\", \"exit 0\", \"{port}\"]\n";

// Loads and plans on a fake host, as pinwheel does on the real one; the message, if any.
std::string error_of(const std::string& toml, const overrides& flags = {}) {
  try {
    test::fake_host host;
    make_plan(load_config_text(toml, "test.toml", flags), host.facts);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Config, DefaultsWhenOnlyTheCommandIsGiven) {
  options o = load_config_text(kBackends, "test.toml");
  EXPECT_EQ(o.balancer.listen.port(), 8080);
  EXPECT_EQ(o.balancer.strategy, "least-connections");
  EXPECT_EQ(o.balancer.connect_timeout, 2s);
  EXPECT_EQ(o.backends.count, 0);
  EXPECT_EQ(o.backends.command.front(), "/bin/sh");
  EXPECT_EQ(o.health.kind, health_kind::tcp);
  EXPECT_TRUE(o.backends.spawned());
}

TEST(Config, ReadsEveryKey) {
  options o = load_config_text(R"(
[balancer]
listen = "[::1]:0"
strategy = "round-robin"
cpu = 0
max_connections = 77
connect_timeout = "250ms"
idle_timeout = "1m30s"
drain_timeout = "3s"
retries = 1
[backends]
count = 4
command = ["sh", "{port}", "{index}", "{cpu}"]
host = "::1"
base_port = 0
cpus = [0]
restart_delay = "10ms"
restart_delay_max = "1s"
min_uptime = "2s"
max_restarts = 3
stop_timeout = "1s"
[health]
kind = "http"
path = "/up"
interval = "100ms"
timeout = "50ms"
rise = 4
fall = 5
)",
                               "test.toml");
  EXPECT_EQ(o.balancer.listen, asio::ip::tcp::endpoint(asio::ip::make_address("::1"), 0));
  EXPECT_EQ(o.balancer.strategy, "round-robin");
  EXPECT_EQ(o.balancer.cpu, 0);
  EXPECT_EQ(o.balancer.max_connections, 77u);
  EXPECT_EQ(o.balancer.connect_timeout, 250ms);
  EXPECT_EQ(o.balancer.idle_timeout, 90s);
  EXPECT_EQ(o.balancer.drain_timeout, 3s);
  EXPECT_EQ(o.balancer.retries, 1);
  EXPECT_EQ(o.backends.count, 4);
  ASSERT_EQ(o.backends.command.size(), 4u);
  EXPECT_TRUE(o.backends.command[0].ends_with("/sh"));  // resolved through PATH
  EXPECT_EQ(o.backends.command[1], "{port}");
  EXPECT_EQ(o.backends.command[2], "{index}");
  EXPECT_EQ(o.backends.command[3], "{cpu}");
  EXPECT_EQ(o.backends.host, asio::ip::make_address("::1"));
  EXPECT_EQ(o.backends.base_port, 0);
  EXPECT_EQ(o.backends.cpus, std::vector<int>{0});
  EXPECT_EQ(o.backends.restart_delay, 10ms);
  EXPECT_EQ(o.backends.restart_delay_max, 1s);
  EXPECT_EQ(o.backends.min_uptime, 2s);
  EXPECT_EQ(o.backends.max_restarts, 3);
  EXPECT_EQ(o.backends.stop_timeout, 1s);
  EXPECT_TRUE(o.backends.spawned());
  EXPECT_EQ(o.health.kind, health_kind::http);
  EXPECT_EQ(o.health.path, "/up");
  EXPECT_EQ(o.health.interval, 100ms);
  EXPECT_EQ(o.health.timeout, 50ms);
  EXPECT_EQ(o.health.rise, 4);
  EXPECT_EQ(o.health.fall, 5);
  EXPECT_EQ(o.where("balancer.strategy"), "test.toml:4:12");
  EXPECT_EQ(o.where("health.fall"), "test.toml:28:8");
  EXPECT_EQ(o.locate("backends.base_port"), "test.toml:15:13: [backends] base_port");
}

TEST(Config, AccessLogIsOffByDefaultAndReadsItsKeys) {
  options defaults = load_config_text(kBackends, "test.toml");
  EXPECT_FALSE(defaults.access_log.enabled);
  EXPECT_EQ(defaults.access_log.path, "stderr");
  EXPECT_EQ(defaults.access_log.format, access_log_format::text);
  options o =
      load_config_text(kBackends +
                           "[access_log]\nenabled = true\npath = \"/var/log/pinwheel/access.log\"\n"
                           "format = \"json\"\n",
                       "test.toml");
  EXPECT_TRUE(o.access_log.enabled);
  EXPECT_EQ(o.access_log.path, "/var/log/pinwheel/access.log");
  EXPECT_EQ(o.access_log.format, access_log_format::json);
  EXPECT_EQ(o.locate("access_log.path"), "test.toml:5:8: [access_log] path");
  // A relative path is taken from the config file's folder, as a backend's command is.
  options relative = load_config_text(kBackends + "[access_log]\npath = \"logs/access.log\"\n",
                                      "/etc/pinwheel/pinwheel.toml");
  EXPECT_EQ(relative.access_log.path, "/etc/pinwheel/logs/access.log");
}

TEST(Config, BadAccessLogKeysAreNamed) {
  EXPECT_EQ(error_of(kBackends + "[access_log]\nformat = \"xml\"\n"),
            "test.toml:4:10: [access_log] format: \"xml\" is not a format; use \"text\" or "
            "\"json\"");
  EXPECT_EQ(error_of(kBackends + "[access_log]\nenabled = \"yes\"\n"),
            "test.toml:4:11: [access_log] enabled: expected true or false, got a string");
  EXPECT_EQ(error_of(kBackends + "[access_log]\npath = \"\"\n"),
            "test.toml:4:8: [access_log] path: is empty; give a file, \"stderr\" or \"stdout\"");
  EXPECT_EQ(error_of(kBackends + "[access_log]\nfromat = \"json\"\n"),
            "test.toml:4:1: [access_log] unknown key \"fromat\"; did you mean \"format\"?");
}

TEST(Config, ServersInsteadOfSpawnedBackends) {
  options o =
      load_config_text("[backends]\nservers = [\"127.0.0.1:6379\", \"[::1]:6380\"]\n", "test.toml");
  EXPECT_FALSE(o.backends.spawned());
  ASSERT_EQ(o.backends.servers.size(), 2u);
  EXPECT_EQ(o.backends.servers[1].endpoint.port(), 6380);
  // Each server's own position, for messages about one of them.
  EXPECT_EQ(o.locate("backends.servers[1]"), "test.toml:2:30: [backends] servers");
}

TEST(Config, ServersMayBeTablesWithNameAndWeight) {
  options o = load_config_text(
      "[backends]\nslow_start = \"30s\"\nservers = [\"127.0.0.1:6379\",\n"
      "  { address = \"127.0.0.1:6380\", name = \"big\", weight = 3 },\n"
      "  { address = \"127.0.0.1:6381\", weight = 0 }]\n",
      "test.toml");
  ASSERT_EQ(o.backends.servers.size(), 3u);
  EXPECT_EQ(o.backends.servers[0].weight, 1u);
  EXPECT_EQ(o.backends.servers[0].name, "");
  EXPECT_EQ(o.backends.servers[1].name, "big");
  EXPECT_EQ(o.backends.servers[1].weight, 3u);
  EXPECT_EQ(o.backends.servers[1].endpoint.port(), 6380);
  EXPECT_EQ(o.backends.servers[2].weight, 0u);
  EXPECT_EQ(o.backends.slow_start, 30s);
  EXPECT_EQ(o.locate("backends.servers[2]"), "test.toml:5:3: [backends] servers");
}

TEST(Config, CommandLineOverridesTheFile) {
  overrides flags;
  flags.listen = "127.0.0.1:9999";
  flags.backends = "3";
  flags.strategy = "round-robin";
  options o = load_config_text(kBackends, "test.toml", flags);
  EXPECT_EQ(o.balancer.listen.port(), 9999);
  EXPECT_EQ(o.backends.count, 3);
  EXPECT_EQ(o.balancer.strategy, "round-robin");
  EXPECT_EQ(o.where("balancer.listen"), "--listen");
  EXPECT_EQ(o.locate("balancer.listen"), "--listen");
  EXPECT_EQ(o.locate("backends.count"), "--backends");
}

struct bad_config {
  std::string toml;
  std::string message;
};

// Names a failing case by its config, not by its bytes.
void PrintTo(const bad_config& c, std::ostream* out) { *out << testing::PrintToString(c.toml); }

class BadConfig : public testing::TestWithParam<bad_config> {};

TEST_P(BadConfig, IsRejectedWithAPreciseMessage) {
  EXPECT_EQ(error_of(GetParam().toml), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfig,
    testing::Values(
        bad_config{"[balancer\n",
                   "test.toml:1:10: invalid TOML: Error while parsing table header: expected ']', "
                   "saw '\\n'"},
        bad_config{"[balancer]\nlisten = \"127.0.0.1:8080\"\nlistne = 1\n" + kBackends,
                   "test.toml:3:1: [balancer] unknown key \"listne\"; did you mean \"listen\"?"},
        bad_config{"[balancer]\nstrategy = \"fastest\"\n" + kBackends,
                   "test.toml:2:12: [balancer] strategy: \"fastest\" is not a strategy; use "
                   "\"round-robin\", \"least-connections\", \"power-of-two\", \"least-pending\" or "
                   "\"source-hash\" (proxy mode), or \"round-robin\", \"least-busy\" or "
                   "\"source-hash\" (direct mode)"},
        bad_config{"[balancer]\nretries = \"3\"\n" + kBackends,
                   "test.toml:2:11: [balancer] retries: expected an integer, got a string"},
        bad_config{"[balancer]\nretries = -1\n" + kBackends,
                   "test.toml:2:11: [balancer] retries: -1 is out of range; use 0 to 100"},
        bad_config{"[balancer]\nconnect_timeout = \"2 seconds\"\n" + kBackends,
                   "test.toml:2:19: [balancer] connect_timeout: \"2 seconds\" is not a duration; "
                   "write a number "
                   "and a unit (ms, s, m, h), e.g. \"500ms\", \"2s\", \"1m30s\""},
        bad_config{"[balancer]\nidle_timeout = 30\n" + kBackends,
                   "test.toml:2:16: [balancer] idle_timeout: expected a duration string such as "
                   "\"500ms\" or "
                   "\"2s\", got an integer"},
        bad_config{"[balancer]\nlisten = \"127.0.0.1\"\n" + kBackends,
                   "test.toml:2:10: [balancer] listen: \"127.0.0.1\" is not host:port (IPv6 as "
                   "[::1]:8080)"},
        bad_config{"[balancer]\nlisten = \"127.0.0.1:99999\"\n" + kBackends,
                   "test.toml:2:10: [balancer] listen: port \"99999\" in \"127.0.0.1:99999\" is "
                   "not a number "
                   "from 0 to 65535"},
        bad_config{
            "[balancer]\nlisten = \"example.com:80\"\n" + kBackends,
            "test.toml:2:10: [balancer] listen: \"example.com\" is not an IP address (use e.g. "
            "127.0.0.1 or ::1)"},
        bad_config{"[balancer]\ncpu = 5000\n" + kBackends,
                   "test.toml:2:7: [balancer] cpu: 5000 is out of range; use 0 to 4095"},
        bad_config{"[balancer]\n",
                   "test.toml: missing [backends]: give command = [...] to spawn backends, or "
                   "servers = [...]"},
        bad_config{"balancer = 3\n" + kBackends,
                   "test.toml:1:12: [top level] balancer: must be a table: write [balancer]"},
        bad_config{
            "[backend]\n",
            "test.toml:1:2: [top level] unknown key \"backend\"; did you mean \"backends\"?"},
        bad_config{
            "[backends]\ncommand = [\"no-such-program-xyz\"]\n",
            "test.toml:2:11: [backends] command: \"no-such-program-xyz\" was not found or is not "
            "executable (searched PATH)"},
        bad_config{
            "[backends]\ncommand = [\"./missing/backend\"]\n",
            "test.toml:2:11: [backends] command: \"./missing/backend\" was not found or is not "
            "executable (relative paths are resolved from the config file's folder; build it "
            "first?)"},
        bad_config{"[backends]\ncommand = []\n",
                   "test.toml:2:11: [backends] command: is empty; give the program "
                   "and its arguments"},
        bad_config{
            "[backends]\ncommand = [\"sh\", 5]\n",
            "test.toml:2:18: [backends] command: every element must be a string, got an integer"},
        bad_config{"[backends]\ncommand = [\"sh\", \"--port={prot}\"]\n",
                   "test.toml:2:11: [backends] command: unknown placeholder \"{prot}\" in "
                   "\"--port={prot}\"; use "
                   "{port}, {index} or {cpu}"},
        bad_config{"[backends]\n",
                   "test.toml: [backends] needs either command = [\"program\", \"--port\", "
                   "\"{port}\"] (backends Pinwheel spawns) or servers = [\"host:port\", ...]"},
        bad_config{"[backends]\nservers = [\"127.0.0.1:1\"]\ncommand = [\"sh\"]\n",
                   "test.toml:2:11: [backends] servers: servers (backends Pinwheel does not spawn) "
                   "cannot be combined with command, count, base_port, cpus or weights (give a "
                   "server its weight in its table); keep one or the other"},
        bad_config{"[backends]\nservers = [\"127.0.0.1\"]\n",
                   "test.toml:2:12: [backends] servers: \"127.0.0.1\" is not host:port (IPv6 as "
                   "[::1]:8080)"},
        bad_config{"[backends]\nservers = [\"127.0.0.1:1\", \"127.0.0.1:0\"]\n",
                   "test.toml:2:27: [backends] servers: \"127.0.0.1:0\" has port 0; give the "
                   "server's real port"},
        bad_config{"[backends]\nservers = [\"0.0.0.0:6379\"]\n",
                   "test.toml:2:12: [backends] servers: \"0.0.0.0:6379\" is a wildcard address, "
                   "not a server's; give the address the server listens on, e.g. "
                   "\"127.0.0.1:6379\""},
        bad_config{"[backends]\nservers = [\"127.0.0.1:6379\", \"127.0.0.1:6379\"]\n",
                   "test.toml:2:30: [backends] servers: \"127.0.0.1:6379\" is listed twice "
                   "(first at test.toml:2:12); list each server once"},
        bad_config{"[backends]\nservers = []\n",
                   "test.toml:2:11: [backends] servers: is empty; list at least one \"host:port\""},
        bad_config{
            kBackends + "cpus = [1, -2]\n",
            "test.toml:3:12: [backends] cpus: every element must be a core number from 0 to 4095"},
        bad_config{kBackends + "restart_delay = \"5s\"\nrestart_delay_max = \"1s\"\n",
                   "test.toml:4:21: [backends] restart_delay_max: must not be shorter than "
                   "restart_delay (5s)"},
        bad_config{kBackends + "[health]\nkind = \"ping\"\n",
                   "test.toml:4:8: [health] kind: \"ping\" is not a health check; use \"tcp\", "
                   "\"http\" or \"none\""},
        bad_config{kBackends + "[health]\npath = \"health\"\n",
                   "test.toml:4:8: [health] path: \"health\" must start with '/'"},
        bad_config{kBackends + "[health]\npath = \"/health\\r\\nHost: evil\"\n",
                   "test.toml:4:8: [health] path: \"/health\\r\\nHost: evil\" has a carriage "
                   "return at character 8; a request path cannot contain spaces or control "
                   "characters (percent-encode them, e.g. %20)"},
        bad_config{kBackends + "[health]\npath = \"/up\\n\"\n",
                   "test.toml:4:8: [health] path: \"/up\\n\" has a line feed at character 4; a "
                   "request path cannot contain spaces or control characters (percent-encode "
                   "them, e.g. %20)"},
        bad_config{kBackends + "[health]\npath = \"/health check\"\n",
                   "test.toml:4:8: [health] path: \"/health check\" has a space at character 8; "
                   "a request path cannot contain spaces or control characters (percent-encode "
                   "them, e.g. %20)"},
        bad_config{kBackends + "[health]\npath = \"/a\\u007f\"\n",
                   "test.toml:4:8: [health] path: \"/a\\x7f\" has a control character (0x7f) at "
                   "character 3; a request path cannot contain spaces or control characters "
                   "(percent-encode them, e.g. %20)"},
        bad_config{kBackends + "[health]\npath = \"/sant\u00e9\"\n",
                   "test.toml:4:8: [health] path: \"/sant\u00e9\" has a non-ASCII byte (0xc3) at "
                   "character 6; a request path cannot contain spaces or control characters "
                   "(percent-encode them, e.g. %20)"},
        bad_config{kBackends + "[health]\nrise = 0\n",
                   "test.toml:4:8: [health] rise: 0 is out of range; use 1 to 1000"},
        bad_config{kBackends + "[health]\ninterval = \"1ms\"\n",
                   "test.toml:4:12: [health] interval: \"1ms\" is too short; the minimum is 10ms"},
        bad_config{"[backends]\nservers = [{ address = \"127.0.0.1:1\", weight = 257 }]\n",
                   "test.toml:2:48: [backends] servers: weight 257 is out of range; use 0 (never "
                   "picked) to 256"},
        bad_config{"[backends]\nservers = [{ address = \"127.0.0.1:1\", weight = \"3\" }]\n",
                   "test.toml:2:48: [backends] servers: a weight must be an integer, got a string"},
        bad_config{"[backends]\nservers = [{ name = \"a\" }]\n",
                   "test.toml:2:12: [backends] servers: a server table needs address = "
                   "\"host:port\" (and may have name and weight)"},
        bad_config{"[backends]\nservers = [{ address = \"127.0.0.1:1\", wieght = 2 }]\n",
                   "test.toml:2:48: [backends] servers: unknown key \"wieght\" in a server table; "
                   "known keys are address, name, weight"},
        bad_config{"[backends]\nservers = [{ address = \"127.0.0.1:1\", name = \"a b\" }]\n",
                   "test.toml:2:46: [backends] servers: a server name must be a string of 1 to 64 "
                   "letters, digits, '-', '_' or '.'"},
        bad_config{"[backends]\nservers = [{ address = \"127.0.0.1:1\", name = \"1\" },\n"
                   "           \"127.0.0.1:2\"]\n",
                   "test.toml:3:12: [backends] servers: name \"1\" is taken by an earlier server "
                   "(unnamed servers are named by position); give each server its own name"},
        bad_config{"[backends]\nservers = [3]\n",
                   "test.toml:2:12: [backends] servers: expected \"host:port\" or { address = "
                   "\"host:port\", name = \"a\", weight = 3 }, got an integer"},
        bad_config{kBackends + "weights = [1, -1]\n",
                   "test.toml:3:15: [backends] weights: weight -1 is out of range; use 0 (never "
                   "picked) to 256"},
        bad_config{"[backends]\nservers = [\"127.0.0.1:1\"]\nweights = [1]\n",
                   "test.toml:2:11: [backends] servers: servers (backends Pinwheel does not spawn) "
                   "cannot be combined with command, count, base_port, cpus or weights (give a "
                   "server its weight in its table); keep one or the other"},
        bad_config{kBackends + "slow_start = \"soon\"\n",
                   "test.toml:3:14: [backends] slow_start: \"soon\" is not a duration; write a "
                   "number and a unit (ms, s, m, h), e.g. \"500ms\", \"2s\", \"1m30s\""},
        bad_config{kBackends + "[metrics]\nenabled = \"yes\"\n",
                   "test.toml:4:11: [metrics] enabled: expected true or false, got a string"},
        bad_config{
            kBackends + "[metrics]\nlisten = \"nowhere\"\n",
            "test.toml:4:10: [metrics] listen: \"nowhere\" is not host:port (IPv6 as [::1]:8080)"},
        bad_config{
            kBackends + "[metrics]\nlisten = \"127.0.0.1:8080\"\n",
            "test.toml:4:10: [metrics] listen: 127.0.0.1:8080 clashes with the balancer's public "
            "address (listen = \"127.0.0.1:8080\", the default); give metrics another port"},
        bad_config{kBackends + "[metrics]\nlisten = \"127.0.0.1:9001\"\n",
                   "test.toml:4:10: [metrics] listen: 127.0.0.1:9001 clashes with backend 0 on "
                   "127.0.0.1:9001; give metrics another port"},
        bad_config{kBackends + "[metrics]\nlistn = \"127.0.0.1:1\"\n",
                   "test.toml:4:1: [metrics] unknown key \"listn\"; did you mean \"listen\"?"}));

TEST(Config, MetricsDefaultToLoopbackAndTheFlagOverrides) {
  options o = load_config_text(kBackends, "test.toml");
  EXPECT_TRUE(o.metrics.enabled);
  EXPECT_EQ(o.metrics.listen,
            asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), kDefaultMetricsPort));
  overrides flags;
  flags.metrics_listen = "127.0.0.1:0";
  o = load_config_text(kBackends + "[metrics]\nenabled = false\n", "test.toml", flags);
  EXPECT_FALSE(o.metrics.enabled);
  EXPECT_EQ(o.metrics.listen.port(), 0);
  EXPECT_EQ(o.where("metrics.listen"), "--metrics-listen");
  flags.metrics_listen = "bad";
  EXPECT_NE(error_of(kBackends, flags).find("--metrics-listen: "), std::string::npos);
}

TEST(Config, BadOverridesNameTheFlag) {
  overrides listen;
  listen.listen = "nowhere";
  EXPECT_EQ(error_of(kBackends, listen),
            "--listen: \"nowhere\" is not host:port (IPv6 as [::1]:8080)");
  listen.listen = "";
  EXPECT_EQ(error_of(kBackends, listen), "--listen: \"\" is not host:port (IPv6 as [::1]:8080)");
  overrides strategy;
  strategy.strategy = "random";
  EXPECT_EQ(error_of(kBackends, strategy),
            "--strategy: \"random\" is not a strategy; use \"round-robin\", \"least-connections\", "
            "\"power-of-two\", \"least-pending\" or \"source-hash\" (proxy mode), or "
            "\"round-robin\", \"least-busy\" or \"source-hash\" (direct mode)");
  strategy.strategy = "";
  EXPECT_EQ(error_of(kBackends, strategy),
            "--strategy: \"\" is not a strategy; use \"round-robin\", \"least-connections\", "
            "\"power-of-two\", \"least-pending\" or \"source-hash\" (proxy mode), or "
            "\"round-robin\", \"least-busy\" or \"source-hash\" (direct mode)");
  overrides backends;
  backends.backends = "-1";
  EXPECT_EQ(error_of(kBackends, backends),
            "--backends: -1 is out of range; use 0 (one per core) to 1024");
  backends.backends = "99999999999";
  EXPECT_EQ(error_of(kBackends, backends),
            "--backends: 99999999999 is out of range; use 0 (one per core) to 1024");
  for (const char* text : {"", "many", "3x", " 3", "+3", "3.0"}) {
    backends.backends = text;
    EXPECT_EQ(
        error_of(kBackends, backends),
        "--backends: \"" + std::string(text) + "\" is not a number; use 0 (one per core) to 1024");
  }
  EXPECT_EQ(error_of("[backends]\nservers = [\"127.0.0.1:1\"]\n",
                     [] {
                       overrides o;
                       o.backends = "2";
                       return o;
                     }()),
            "--backends: the config lists [backends] servers, which Pinwheel does not spawn");
}

// A bad flag is named even when the file is bad too: it is what the operator just typed.
TEST(Config, FlagsAreCheckedBeforeTheFile) {
  overrides flags;
  flags.backends = "many";
  try {
    load_config("/nonexistent/pinwheel.toml", flags);
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "--backends: \"many\" is not a number; use 0 (one per core) to 1024");
  }
}

TEST(Config, MissingFileSaysSo) {
  try {
    load_config("/nonexistent/pinwheel.toml");
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/pinwheel.toml: cannot read the config file: No such file or directory");
  }
}

std::string load_error(const std::string& path) {
  try {
    load_config(path);
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Config, OnlyARegularFileIsRead) {
  test::scratch_dir scratch;
  const std::string& dir = scratch.path();
  std::string fifo = dir + "/fifo.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(load_error(dir), dir + ": is a directory; give the path of a TOML config file");
  EXPECT_EQ(load_error("/dev/zero"),
            "/dev/zero: is not a regular file (a character device); give the path of a TOML "
            "config file");
  EXPECT_EQ(load_error(fifo),
            fifo + ": is not a regular file (a named pipe); give the path of a TOML config file");
  EXPECT_EQ(load_error(""), "--config: is empty; give the path of a TOML config file");
}

TEST(Config, AFileOverOneMebibyteIsRefused) {
  test::scratch_dir scratch;
  std::string path = scratch.path() + "/big.toml";
  std::ofstream(path) << kBackends << std::string(kMaxConfigBytes - kBackends.size(), '\n');
  EXPECT_EQ(load_error(path), "(no error)");  // exactly the limit
  std::ofstream(path, std::ios::app) << "\n";
  EXPECT_EQ(load_error(path),
            path +
                ": is 1048577 bytes; a config file may be at most 1048576 bytes (1 MiB): is "
                "this the right file?");
}

}  // namespace
}  // namespace pinwheel
