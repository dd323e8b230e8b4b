// Which backend serves a request: rotation, least-connections, pinning.
#include <gtest/gtest.h>
#include <sched.h>

#include <future>
#include <regex>

#include "e2e/balancer_fixture.hpp"
#include "support/child_process.hpp"

namespace pinwheel::test {
namespace {

TEST(Routing, RoundRobinRotatesAcrossBackendsInOrder) {
  running_balancer pinwheel(demo_config(3, "round-robin"), 3);
  std::vector<int> served;
  for (int i = 0; i < 9; ++i) served.push_back(ask_whoami(pinwheel.port()).index);
  EXPECT_EQ(served, (std::vector<int>{0, 1, 2, 0, 1, 2, 0, 1, 2}));
}

TEST(Routing, LeastConnectionsSendsFastRequestsAwayFromABusyBackend) {
  running_balancer pinwheel(demo_config(2, "least-connections"), 2);
  // The first connection goes to backend 0 and holds it for 3 s of CPU.
  tcp_client slow(pinwheel.port());
  // Before sending: the backend cannot start the slow request any earlier than this.
  auto started = std::chrono::steady_clock::now();
  slow.send_all("GET /slow?ms=3000 HTTP/1.1\r\nHost: test\r\n\r\n");

  for (int i = 0; i < 10; ++i) {
    auto before = std::chrono::steady_clock::now();
    // The client ends its side first, so by the time it has read the whole reply the
    // balancer has closed this connection and counts it no more.
    tcp_client fast(pinwheel.port());
    fast.send_all("GET /whoami HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    fast.shutdown_write();
    std::string reply = fast.read_until_eof(5s);
    whoami who = parse_whoami(reply);
    auto took = std::chrono::steady_clock::now() - before;
    EXPECT_EQ(who.index, 1) << "request " << i << " went to the busy backend";
    EXPECT_LT(took, 1s) << "request " << i;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << "fast requests waited behind /slow";
  http_response r = slow.read_response(10s);
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 3s);
}

TEST(Routing, BalancerAndEachBackendArePinnedToTheirPlannedCores) {
  running_balancer pinwheel(demo_config(2, "round-robin"), 2);
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  std::vector<int> allowed;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) allowed.push_back(cpu);
  }
  // The plan: the balancer on the first core, backends on the others, wrapping around.
  std::vector<int> rest(allowed.begin() + 1, allowed.end());
  if (rest.empty()) rest.push_back(allowed[0]);

  EXPECT_EQ(cpus_allowed_list(pinwheel.pid()), std::to_string(allowed[0]));
  std::regex started(R"(backend (\d+) started: pid (\d+), cpu (\d+))");
  std::string log = pinwheel.process().output();
  int seen = 0;
  for (std::sregex_iterator it(log.begin(), log.end(), started), end; it != end; ++it, ++seen) {
    int index = std::stoi((*it)[1]);
    pid_t pid = std::stoi((*it)[2]);
    int planned = rest[index % rest.size()];
    EXPECT_EQ(std::stoi((*it)[3]), planned);
    EXPECT_EQ(cpus_allowed_list(pid), std::to_string(planned)) << "backend " << index;
  }
  EXPECT_EQ(seen, 2);
  for (int i = 0; i < 2; ++i) {
    whoami who = ask_whoami(pinwheel.port());
    EXPECT_EQ(who.cpu, rest[who.index % rest.size()])
        << "backend " << who.index << " ran elsewhere";
  }
}

TEST(Routing, ServesOverIPv6) {
  std::string config = demo_config(1, "round-robin");
  config.replace(config.find("127.0.0.1:0"), 11, "[::1]:0");
  running_balancer pinwheel(config, 1);
  http_response r = http_get(pinwheel.port(), "/fast", 5s, "::1");
  EXPECT_EQ(r.status, 200);
}

}  // namespace
}  // namespace pinwheel::test
