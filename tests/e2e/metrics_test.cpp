// The metrics listener of a real balancer: /metrics counts what the clients did.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "e2e/balancer_fixture.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

// Every sample of a scrape, by its series ("name{labels}" as written).
std::map<std::string, double> scrape(std::uint16_t metrics_port) {
  http_response r = http_get(metrics_port, "/metrics");
  if (r.status != 200) throw std::runtime_error("/metrics answered " + std::to_string(r.status));
  std::map<std::string, double> samples;
  std::istringstream lines(r.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

std::string series(const std::string& name, const std::string& backend,
                   const std::string& address) {
  return name + "{backend=\"" + backend + "\",address=\"" + address + "\"}";
}

// Backend name -> address, from the series of `samples`.
std::map<std::string, std::string> backends_in(const std::map<std::string, double>& samples) {
  std::map<std::string, std::string> out;
  std::regex re(R"re(pinwheel_backend_connections_total\{backend="([^"]*)",address="([^"]*)"\})re");
  for (const auto& [key, value] : samples) {
    std::smatch m;
    if (std::regex_match(key, m, re)) out[m[1]] = m[2];
  }
  return out;
}

TEST(Metrics, PerBackendCountersRiseByTheConnectionsSent) {
  running_balancer pinwheel(demo_config(2, "round-robin"), 2);
  auto before = scrape(pinwheel.metrics_port());
  auto backends = backends_in(before);
  ASSERT_EQ(backends.size(), 2u);
  constexpr int kConnections = 10;
  for (int i = 0; i < kConnections; ++i) ask_whoami(pinwheel.port());

  std::map<std::string, double> after;
  // A session is counted when it ends, which may be a moment after the client has its reply.
  ASSERT_TRUE(wait_until(
      [&] {
        after = scrape(pinwheel.metrics_port());
        return after["pinwheel_connections_active"] == 0 &&
               after["pinwheel_connections_ended_total{reason=\"client_close\"}"] +
                       after["pinwheel_connections_ended_total{reason=\"backend_close\"}"] >=
                   kConnections;
      },
      5s));
  EXPECT_EQ(
      after["pinwheel_connections_accepted_total"] - before["pinwheel_connections_accepted_total"],
      kConnections);
  for (const auto& [name, address] : backends) {
    auto rise = [&](const char* metric) {
      return after[series(metric, name, address)] - before[series(metric, name, address)];
    };
    // Round-robin: half each.
    EXPECT_EQ(rise("pinwheel_backend_connections_total"), kConnections / 2) << name;
    EXPECT_EQ(rise("pinwheel_backend_picked_total"), kConnections / 2) << name;
    EXPECT_GT(rise("pinwheel_backend_bytes_in_total"), 0) << name;
    EXPECT_GT(rise("pinwheel_backend_bytes_out_total"), 0) << name;
    EXPECT_EQ(after[series("pinwheel_backend_connections_active", name, address)], 0);
    std::string labels = "{backend=\"" + name + "\",address=\"" + address + "\",state=";
    EXPECT_EQ(after["pinwheel_backend_state" + labels + "\"up\"}"], 1) << name;
    EXPECT_EQ(after["pinwheel_backend_state" + labels + "\"down\"}"], 0) << name;
    EXPECT_GE(after[series("pinwheel_backend_pinned_cpu", name, address)], 0) << name;
    EXPECT_GT(after[series("pinwheel_backend_process_start_time_seconds", name, address)], 1e9);
    EXPECT_GT(after[series("pinwheel_backend_resident_memory_bytes", name, address)], 0) << name;
    EXPECT_GT(after[series("pinwheel_backend_health_check_duration_seconds", name, address)], 0);
  }
  EXPECT_GE(after["pinwheel_backend_connect_duration_seconds_count"], kConnections);
  EXPECT_GT(after["process_resident_memory_bytes"], 0);
  EXPECT_GT(after["process_open_fds"], 0);
}

TEST(Metrics, RedispatchedConnectsCountOnTheBackendThatFailed) {
  // A server that refuses: every connection goes there first (round-robin starts with it,
  // health checks off), then moves on to the demo backend.
  own_backend good(0);
  std::uint16_t refused = free_port();
  std::string config =
      "[balancer]\nlisten = \"127.0.0.1:0\"\nstrategy = \"round-robin\"\n"
      "[backends]\nservers = [\"127.0.0.1:" +
      std::to_string(refused) + "\", \"127.0.0.1:" + std::to_string(good.port) +
      "\"]\n[health]\nkind = \"none\"\n";
  running_balancer pinwheel(config);
  for (int i = 0; i < 4; ++i) ask_whoami(pinwheel.port());
  auto after = scrape(pinwheel.metrics_port());
  std::string bad = "127.0.0.1:" + std::to_string(refused);
  EXPECT_GE(after[series("pinwheel_backend_connect_failures_total", "0", bad)], 1);
  EXPECT_EQ(after[series("pinwheel_backend_redispatches_total", "0", bad)],
            after[series("pinwheel_backend_connect_failures_total", "0", bad)]);
  EXPECT_EQ(after[series("pinwheel_backend_connections_total", "1",
                         "127.0.0.1:" + std::to_string(good.port))],
            4);
}

TEST(Metrics, StatusPageAndJsonOnTheSameListener) {
  running_balancer pinwheel(demo_config(2, "least-connections"), 2);
  http_response page = http_get(pinwheel.metrics_port(), "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.headers["content-type"].find("text/html"), std::string::npos);
  http_response json = http_get(pinwheel.metrics_port(), "/status.json");
  EXPECT_EQ(json.status, 200);
  EXPECT_NE(json.body.find("\"strategy\":\"least-connections\""), std::string::npos) << json.body;
  EXPECT_NE(json.body.find("\"name\":\"0\""), std::string::npos);
  EXPECT_NE(json.body.find("\"name\":\"1\""), std::string::npos);
  EXPECT_EQ(http_get(pinwheel.metrics_port(), "/admin").status, 404);
}

TEST(Metrics, ScrapesWhileTrafficFlowsAndWhileStopping) {
  running_balancer pinwheel(demo_config(2, "least-connections"), 2);
  std::uint16_t metrics = pinwheel.metrics_port();
  std::atomic<bool> done{false};
  std::atomic<int> scraped{0};
  // Snapshots cross from the event loop to the metrics thread while sessions change the
  // counters (TSan watches this in CI), and go on while the balancer stops.
  std::thread scraper([&] {
    while (!done) {
      try {
        if (http_get(metrics, scraped % 2 ? "/metrics" : "/status.json", 2s).status == 200)
          ++scraped;
      } catch (const std::exception&) {
        // Refused once the balancer has gone.
      }
    }
  });
  for (int i = 0; i < 30; ++i) ask_whoami(pinwheel.port());
  ASSERT_TRUE(wait_until([&] { return scraped >= 10; }, 10s));
  ::kill(pinwheel.pid(), SIGTERM);
  auto code = pinwheel.process().wait_exit(10s);
  done = true;
  scraper.join();
  EXPECT_EQ(code, 0) << pinwheel.process().output();
}

TEST(Metrics, OffServesNothing) {
  running_balancer pinwheel(demo_config(1, "round-robin", "", "") + "[metrics]\nenabled = false\n");
  ASSERT_TRUE(wait_until([&] { return ask_whoami(pinwheel.port()).index == 0; }, 10s));
  EXPECT_EQ(pinwheel.process().output().find("metrics on"), std::string::npos);
}

}  // namespace
}  // namespace pinwheel::test
