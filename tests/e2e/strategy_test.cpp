// Strategies end to end: the busy-backend experiment (`/slow` in flight, then 10 concurrent
// `/fast`), weights and source-hash stickiness, with real demo backends behind the balancer.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstdio>
#include <future>
#include <regex>
#include <set>

#include "e2e/balancer_fixture.hpp"
#include "support/unique_fd.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

// Two demo backends the test runs itself (so it knows their ports), balanced by `strategy`.
struct two_backends {
  explicit two_backends(const std::string& strategy, const std::string& servers = "") : a(0), b(1) {
    std::string list = servers.empty() ? "\"127.0.0.1:" + std::to_string(a.port) +
                                             "\", \"127.0.0.1:" + std::to_string(b.port) + "\""
                                       : servers;
    balancer.emplace("[balancer]\nlisten = \"127.0.0.1:0\"\nstrategy = \"" + strategy +
                     "\"\n[backends]\nservers = [" + list + "]\n[health]\nkind = \"none\"\n");
  }
  own_backend a, b;
  std::optional<running_balancer> balancer;
};

// GET /whoami through the balancer on `port`, from the local address `client`.
whoami whoami_from(const std::string& client, std::uint16_t port) {
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, client.c_str(), &from.sin_addr);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&from), sizeof from) != 0)
    throw std::runtime_error("cannot bind to " + client);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
    throw std::runtime_error("cannot connect from " + client);
  std::string request = "GET /whoami HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size()))
    throw std::runtime_error("cannot send from " + client);
  return parse_whoami(read_all(fd.get(), 5s));
}

// Whether the backend on `port` fails to answer /fast within 100 ms: it is busy.
bool busy(std::uint16_t port) {
  try {
    http_get(port, "/fast", 100ms);
    return false;
  } catch (const std::runtime_error&) {
    return true;
  }
}

// How many /fast of a round took over 300 ms (waited behind /slow).
struct waited {
  int concurrent = 0;
  int sequential = 0;
};

// One round of the experiment: /slow?ms=800 in flight, then 10 /fast at once, then 10 one
// after another, each on a new connection.
waited fast_requests_that_waited(two_backends& setup) {
  std::uint16_t port = setup.balancer->port();
  tcp_client slow(port);
  slow.send_all("GET /slow?ms=800 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  // In flight once a backend is busy with it (it got the bytes, so the balancer sent them).
  EXPECT_TRUE(wait_until([&] { return busy(setup.a.port) || busy(setup.b.port); }, 2s))
      << "/slow never reached a backend";

  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  std::vector<std::future<std::chrono::milliseconds>> fast;
  for (int i = 0; i < 10; ++i) {
    fast.push_back(std::async(std::launch::async, [port, start] {
      start.wait();
      auto before = std::chrono::steady_clock::now();
      http_response r = http_get(port, "/fast", 5s);
      EXPECT_EQ(r.status, 200);
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - before);
    }));
  }
  go.set_value();
  waited count;
  for (auto& f : fast) count.concurrent += f.get() > 300ms ? 1 : 0;
  for (int i = 0; i < 10; ++i) {
    auto before = std::chrono::steady_clock::now();
    EXPECT_EQ(http_get(port, "/fast", 5s).status, 200);
    count.sequential += std::chrono::steady_clock::now() - before > 300ms ? 1 : 0;
  }
  EXPECT_EQ(slow.read_response(5s).status, 200);
  return count;
}

// Five rounds; prints and records the counts, e.g. "least-pending: 0 0 0 0 0 of 10 waited".
std::vector<waited> experiment(const std::string& strategy) {
  two_backends setup(strategy);
  std::vector<waited> rounds;
  std::string concurrent, sequential;
  for (int round = 0; round < 5; ++round) {
    rounds.push_back(fast_requests_that_waited(setup));
    concurrent += " " + std::to_string(rounds.back().concurrent);
    sequential += " " + std::to_string(rounds.back().sequential);
  }
  std::printf(
      "%s: of 10 /fast, how many waited behind /slow, per round: concurrent%s; "
      "sequential%s\n",
      strategy.c_str(), concurrent.c_str(), sequential.c_str());
  ::testing::Test::RecordProperty("concurrent_waited", concurrent);
  ::testing::Test::RecordProperty("sequential_waited", sequential);
  return rounds;
}

TEST(Strategies, LeastPendingSendsNoFastRequestBehindASlowOne) {
  for (const waited& round : experiment("least-pending")) {
    EXPECT_EQ(round.concurrent, 0);
    EXPECT_EQ(round.sequential, 0);
  }
}

// The same experiment under least-connections, for comparison: a frozen backend's one
// connection ties with a busy one's, so some /fast wait. The figures are printed, not checked.
TEST(Strategies, LeastConnectionsForComparison) {
  for (const waited& round : experiment("least-connections")) {
    EXPECT_LE(round.concurrent, 10);
    EXPECT_LE(round.sequential, 10);
  }
}

TEST(Strategies, WeightedRoundRobinFollowsItsWeightsInSmoothOrder) {
  own_backend a(0), b(1);
  running_balancer pinwheel(
      "[balancer]\nlisten = \"127.0.0.1:0\"\nstrategy = \"round-robin\"\n"
      "[backends]\nservers = [{ address = \"127.0.0.1:" +
      std::to_string(a.port) +
      "\", name = \"heavy\", weight = 2 },\n"
      "  { address = \"127.0.0.1:" +
      std::to_string(b.port) + "\", name = \"light\" }]\n[health]\nkind = \"none\"\n");
  std::vector<int> served;
  for (int i = 0; i < 6; ++i) served.push_back(ask_whoami(pinwheel.port()).index);
  EXPECT_EQ(served, (std::vector<int>{0, 1, 0, 0, 1, 0}));
}

TEST(Strategies, SourceHashKeepsEachClientOnOneBackend) {
  two_backends setup("source-hash");
  std::set<int> used;
  // Clients from eight loopback addresses, three connections each: each sticks to one backend.
  for (int host = 1; host <= 8; ++host) {
    std::string client = "127.0.0." + std::to_string(host);
    int first = whoami_from(client, setup.balancer->port()).index;
    for (int i = 0; i < 2; ++i)
      EXPECT_EQ(whoami_from(client, setup.balancer->port()).index, first) << client;
    used.insert(first);
  }
  EXPECT_EQ(used.size(), 2u) << "eight clients all hashed to one of two backends";
}

TEST(Strategies, SlowStartGivesABackendThatCameBackASmallShareAtFirst) {
  running_balancer pinwheel(demo_config(2, "round-robin", "", "slow_start = \"20s\"\n"), 2);
  pid_t victim = 0;
  for (int i = 0; i < 4 && victim == 0; ++i) {
    whoami who = ask_whoami(pinwheel.port());
    if (who.index == 1) victim = who.pid;
  }
  ASSERT_NE(victim, 0) << "backend 1 never answered";
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  // Up again once the log says so a second time (the first was at start-up).
  auto times_up = [&] {
    std::string log = pinwheel.process().output();
    std::regex up(R"(backend 1 \([^)]*\) is up)");
    return std::distance(std::sregex_iterator(log.begin(), log.end(), up), std::sregex_iterator());
  };
  ASSERT_TRUE(wait_until([&] { return times_up() >= 2; }, 10s)) << pinwheel.process().output();
  // Its first second back it has 5% of its weight: about one turn in 21, not one in 2.
  int to_restarted = 0;
  for (int i = 0; i < 21; ++i) to_restarted += ask_whoami(pinwheel.port()).index == 1 ? 1 : 0;
  EXPECT_LE(to_restarted, 3);
}

}  // namespace
}  // namespace pinwheel::test
