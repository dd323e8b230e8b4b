// Direct mode ([balancer] mode = "direct"): the kernel hands each connection straight to the
// backend Pinwheel's BPF program picks, so the balancer relays nothing, and what a user sees
// must still hold: rotation, drain, a backend's real client address, no refused or failed
// connection through kill -9 and rolling restarts. The program needs bpf() (root, or CAP_BPF
// and CAP_NET_ADMIN); where it is refused the tests skip and say why.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "direct/reuseport_group.hpp"
#include "e2e/balancer_fixture.hpp"
#include "e2e/edge_support.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

// Why direct mode cannot run here, or nothing: tries the kernel side on loopback.
std::optional<std::string> direct_mode_refused() {
  sockaddr_storage address{};
  auto& v4 = reinterpret_cast<sockaddr_in&>(address);
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  try {
    direct::reuseport_group probe(address, 1);
  } catch (const std::system_error& e) {
    return std::string("direct mode needs bpf() here: ") + e.what();
  }
  return std::nullopt;
}

#define SKIP_WITHOUT_BPF()                                      \
  do {                                                          \
    if (auto why = direct_mode_refused()) GTEST_SKIP() << *why; \
  } while (false)

// `count` demo backends in direct mode, with the admin socket for `pinwheel ctl`.
std::string direct_config(int count, const std::string& strategy,
                          const std::string& extra_backends = "") {
  return demo_config(count, strategy, "mode = \"direct\"\n",
                     "socket_activation = true\nmin_uptime = \"0s\"\n" + extra_backends) +
         "[admin]\nsocket = \"admin.sock\"\n";
}

// GET /whoami from source address `from` (any 127.x.y.z is loopback on Linux).
whoami ask_whoami_from(const std::string& from, std::uint16_t port) {
  return parse_whoami(whoami_from(from, port));
}

TEST(DirectMode, RotatesOverTheBackendsWhichSeeTheRealClient) {
  SKIP_WITHOUT_BPF();
  running_balancer pinwheel(direct_config(3, "round-robin"), 3);
  EXPECT_NE(pinwheel.process().output().find("direct mode"), std::string::npos);
  std::vector<int> order;
  for (int i = 0; i < 9; ++i) {
    whoami w = ask_whoami_from("127.0.0.2", pinwheel.port());
    order.push_back(w.index);
    // No PROXY header, no relay: the backend's own getpeername() is the client.
    EXPECT_TRUE(w.client.starts_with("127.0.0.2:")) << w.client;
  }
  // In turn: each backend once per round, the same order every round.
  for (int i = 3; i < 9; ++i) EXPECT_EQ(order[i], order[i - 3]) << i;
  EXPECT_EQ(std::set<int>(order.begin(), order.begin() + 3), (std::set<int>{0, 1, 2}));
  EXPECT_EQ(pinwheel.process().output().find("proxy connect"), std::string::npos);
  // The program's counts reach the metrics: 3 connections each (health checks not counted).
  EXPECT_TRUE(wait_until(
      [&] {
        std::string metrics = http_get(pinwheel.metrics_port(), "/metrics").body;
        return metrics.find(
                   "pinwheel_backend_connections_total{backend=\"2\",address=\"127.0.0.1:" +
                   std::to_string(pinwheel.port()) + "\"} 3") != std::string::npos;
      },
      3s));
}

TEST(DirectMode, MetricsShowTheQueueOfABackendThatStoppedAccepting) {
  SKIP_WITHOUT_BPF();
  running_balancer pinwheel(direct_config(2, "round-robin"), 2);
  auto started = pinwheel.process().wait_for_line(R"(backend 1 started: pid (\d+))", 5s);
  ASSERT_TRUE(started);
  pid_t stopped = std::stoi((*started)[1]);
  const std::string series = "pinwheel_backend_accept_queue{backend=\"1\",address=\"127.0.0.1:" +
                             std::to_string(pinwheel.port()) + "\"} ";
  auto queue_reads = [&](int n) {
    std::string metrics = http_get(pinwheel.metrics_port(), "/metrics").body;
    return metrics.find(series + std::to_string(n) + "\n") != std::string::npos;
  };
  ASSERT_TRUE(wait_until([&] { return queue_reads(0); }, 3s));
  // A backend that stops accepting (here: stopped) leaves the kernel's completed connections
  // in its queue; round-robin sends it every other one.
  ASSERT_EQ(::kill(stopped, SIGSTOP), 0);
  std::vector<unique_fd> clients;
  for (int i = 0; i < 4; ++i)
    clients.push_back(connect_from("127.0.0.1", "127.0.0.1", pinwheel.port()));
  bool seen = wait_until([&] { return queue_reads(2); }, 3s);
  ::kill(stopped, SIGCONT);
  EXPECT_TRUE(seen) << http_get(pinwheel.metrics_port(), "/metrics").body;
  // Running again, it accepts them: the queue empties.
  EXPECT_TRUE(wait_until([&] { return queue_reads(0); }, 5s));
}

TEST(DirectMode, ADrainedBackendGetsNoNewConnectionUntilEnabled) {
  SKIP_WITHOUT_BPF();
  running_balancer pinwheel(direct_config(2, "round-robin"), 2);
  ASSERT_EQ(run_ctl(pinwheel, {"drain", "1"}).code, 0);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(ask_whoami(pinwheel.port()).index, 0);
  ASSERT_EQ(run_ctl(pinwheel, {"enable", "1"}).code, 0);
  std::set<int> seen;
  for (int i = 0; i < 4; ++i) seen.insert(ask_whoami(pinwheel.port()).index);
  EXPECT_EQ(seen, (std::set<int>{0, 1}));
}

TEST(DirectMode, KillNineOfABackendUnderLoadRefusesNothing) {
  SKIP_WITHOUT_BPF();
  running_balancer pinwheel(direct_config(2, "round-robin"), 2);
  auto started = pinwheel.process().wait_for_line(R"(backend 0 started: pid (\d+))", 5s);
  ASSERT_TRUE(started);
  fast_loop client(pinwheel.port());
  ASSERT_TRUE(wait_until([&] { return client.answered() > 20; }, 5s));
  ::kill(std::stoi((*started)[1]), SIGKILL);
  bool restarted = wait_until(
      [&] {
        std::string log = pinwheel.process().output();
        return log.find("backend 0 started: pid ") != log.rfind("backend 0 started: pid ");
      },
      5s);
  ASSERT_TRUE(restarted) << pinwheel.process().output();
  ASSERT_TRUE(pinwheel.wait_backends_up(2));
  int before = client.answered();
  EXPECT_TRUE(wait_until([&] { return client.answered() > before + 20; }, 5s));
  client.stop();
  // Connections steered to the dead backend's socket wait in its queue for the new process.
  EXPECT_EQ(client.refused(), 0);
  // A request the killed process had accepted dies with it; nothing else may fail.
  EXPECT_LE(client.failed(), 1);
  std::printf("direct mode, kill -9 under load: %d answered, %d refused, %d failed\n",
              client.answered(), client.refused(), client.failed());
}

TEST(DirectMode, RollingRestartUnderLoadFailsNothing) {
  SKIP_WITHOUT_BPF();
  running_balancer pinwheel(direct_config(2, "round-robin"), 2);
  fast_loop client(pinwheel.port());
  ASSERT_TRUE(wait_until([&] { return client.answered() > 20; }, 5s));
  ASSERT_EQ(run_ctl(pinwheel, {"restart-all"}).code, 0);
  // Both replaced, one after the other, each up again before the next.
  bool rolled = wait_until(
      [&] {
        std::string log = pinwheel.process().output();
        return log.find("backend 0 restarted: pid") != std::string::npos &&
               log.find("backend 1 restarted: pid") != std::string::npos;
      },
      20s);
  int before = client.answered();
  EXPECT_TRUE(wait_until([&] { return client.answered() > before + 20; }, 5s));
  client.stop();
  EXPECT_TRUE(rolled) << pinwheel.process().output();
  EXPECT_EQ(client.refused(), 0);
  EXPECT_EQ(client.failed(), 0);
  std::printf("direct mode, rolling restart under load: %d answered, %d refused, %d failed\n",
              client.answered(), client.refused(), client.failed());
}

// The run time so far of process `pid`, in nanoseconds (/proc/PID/schedstat); 0 if unreadable.
std::uint64_t run_time_ns(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/schedstat");
  std::uint64_t ns = 0;
  in >> ns;
  return ns;
}

// How many of 10 /fast, sent at once and then one after another, took over 300 ms while a
// /slow?ms=800 runs on one of the backends `pids`.
std::pair<int, int> fast_requests_that_waited(std::uint16_t port, const std::vector<pid_t>& pids) {
  std::vector<std::uint64_t> before;
  for (pid_t pid : pids) before.push_back(run_time_ns(pid));
  tcp_client slow(port);
  slow.send_all("GET /slow?ms=800 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  // Running: a backend has spent 100 ms on it, over two of the balancer's 40 ms CPU windows.
  EXPECT_TRUE(wait_until(
      [&] {
        for (std::size_t i = 0; i < pids.size(); ++i) {
          if (run_time_ns(pids[i]) > before[i] + 100'000'000) return true;
        }
        return false;
      },
      2s))
      << "/slow never ran";
  std::vector<std::future<bool>> fast;
  for (int i = 0; i < 10; ++i) {
    fast.push_back(std::async(std::launch::async, [port] {
      auto start = std::chrono::steady_clock::now();
      EXPECT_EQ(http_get(port, "/fast", 5s).status, 200);
      return std::chrono::steady_clock::now() - start > 300ms;
    }));
  }
  int concurrent = 0, sequential = 0;
  for (auto& f : fast) concurrent += f.get() ? 1 : 0;
  for (int i = 0; i < 10; ++i) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(http_get(port, "/fast", 5s).status, 200);
    sequential += std::chrono::steady_clock::now() - start > 300ms ? 1 : 0;
  }
  EXPECT_EQ(slow.read_response(5s).status, 200);
  return {concurrent, sequential};
}

TEST(DirectMode, LeastBusySendsNoFastRequestBehindASlowOne) {
  SKIP_WITHOUT_BPF();
  running_balancer pinwheel(direct_config(2, "least-busy"), 2);
  std::vector<pid_t> pids;
  for (const char* name : {"0", "1"}) {
    auto started = pinwheel.process().wait_for_line(
        std::string("backend ") + name + R"( started: pid (\d+))", 5s);
    ASSERT_TRUE(started);
    pids.push_back(std::stoi((*started)[1]));
  }
  std::string concurrent, sequential;
  for (int round = 0; round < 3; ++round) {
    auto [at_once, one_by_one] = fast_requests_that_waited(pinwheel.port(), pids);
    EXPECT_EQ(at_once, 0) << "round " << round;
    EXPECT_EQ(one_by_one, 0) << "round " << round;
    concurrent += " " + std::to_string(at_once);
    sequential += " " + std::to_string(one_by_one);
  }
  std::printf(
      "direct least-busy: of 10 /fast, how many waited behind /slow, per round: "
      "concurrent%s; sequential%s\n",
      concurrent.c_str(), sequential.c_str());
}

TEST(DirectMode, SourceHashKeepsAClientOnOneBackendAsProxyModeWould) {
  SKIP_WITHOUT_BPF();
  running_balancer pinwheel(direct_config(3, "source-hash"), 3);
  auto assignment = [&] {
    std::map<std::string, int> index;
    for (int c = 2; c < 14; ++c) {
      std::string client = "127.0.0." + std::to_string(c);
      index[client] = ask_whoami_from(client, pinwheel.port()).index;
    }
    return index;
  };
  // The table is written once the last backend is up, which takes milliseconds (more under
  // sanitizers): wait until two passes agree, then every later pass must agree too.
  std::map<std::string, int> first;
  ASSERT_TRUE(wait_until(
      [&] {
        std::map<std::string, int> previous = std::exchange(first, assignment());
        return previous == first;
      },
      10s));
  std::set<int> used;
  for (int round = 0; round < 2; ++round) {
    for (const auto& [client, index] : assignment()) {
      EXPECT_EQ(index, first[client]) << client;
      used.insert(index);
    }
  }
  EXPECT_GT(used.size(), 1u) << "12 client addresses all hashed to one backend";
}

}  // namespace
}  // namespace pinwheel::test
