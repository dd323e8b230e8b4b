// Health checks seen from outside: what they log, when they take a backend down and bring it
// back, and what they must never do (count the balancer's own shortage against a backend,
// check a port whose process is gone).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include "e2e/balancer_fixture.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

// Reads from `fd` until `marker` has arrived, end of stream or `timeout`; returns what came.
std::string read_until(int fd, std::string_view marker, std::chrono::milliseconds timeout) {
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline &&
         (marker.empty() || data.find(marker) == std::string::npos)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  return data;
}

// What a scripted health endpoint does with one request.
enum class answer { ok, unavailable, never };

// An HTTP server that answers its n-th request as script[n] says (the last entry repeats), and
// counts the requests it has taken.
class scripted_server {
 public:
  explicit scripted_server(std::vector<answer> script)
      : script_(std::move(script)), server_([this](int fd) { serve(fd); }) {}
  std::uint16_t port() const { return server_.port(); }
  /// Requests taken so far (each answered, or left unanswered, as scripted).
  int requests() const { return requests_.load(); }

 private:
  void serve(int fd) {
    read_until(fd, "\r\n\r\n", 5s);
    int n = requests_++;
    switch (script_[std::min<std::size_t>(n, script_.size() - 1)]) {
      case answer::ok:
        send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
        break;
      case answer::unavailable:
        send_text(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
        break;
      case answer::never:
        read_until(fd, "", 5s);  // until the checker gives up and closes
        break;
    }
  }
  static void send_text(int fd, std::string_view text) {
    ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  }

  std::vector<answer> script_;
  std::atomic<int> requests_{0};
  raw_server server_;
};

// A listener on a given loopback port that counts connections and closes each at once: the
// stranger that takes the port of a backend whose process is gone.
class port_squatter {
 public:
  explicit port_squatter(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 64) != 0) {
      ::close(fd_);
      throw std::runtime_error("port_squatter: cannot listen on port " + std::to_string(port));
    }
    thread_ = std::thread([this] {
      while (!stopping_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        ++accepted_;
        ::close(fd);
      }
    });
  }
  ~port_squatter() {
    stopping_ = true;
    thread_.join();
    ::close(fd_);
  }
  /// Connections accepted so far.
  int accepted() const { return accepted_.load(); }

 private:
  int fd_ = -1;
  std::atomic<int> accepted_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// A config balancing servers Pinwheel does not spawn, with fast checks.
std::string servers_config(const std::vector<std::uint16_t>& ports, const std::string& health) {
  std::string servers;
  for (std::uint16_t port : ports)
    servers += (servers.empty() ? "\"127.0.0.1:" : ", \"127.0.0.1:") + std::to_string(port) + "\"";
  return "[balancer]\nlisten = \"127.0.0.1:0\"\n[backends]\nservers = [" + servers +
         "]\n[health]\n" + health;
}

// The "backend N (address) is up/down: why" lines of `output`, in order, as "up: why".
std::vector<std::string> transitions(const std::string& output, const std::string& name) {
  std::vector<std::string> found;
  std::regex line("backend " + name + R"( \([^)]*\) is (up|down)(: [^\n]*)?)");
  for (std::sregex_iterator it(output.begin(), output.end(), line), end; it != end; ++it)
    found.push_back((*it)[1].str() + (*it)[2].str());
  return found;
}

// The port the supervisor started backend `name` on, from its "started" line.
std::uint16_t started_port(running_balancer& pinwheel, const std::string& name) {
  auto started = pinwheel.process().wait_for_line(
      "backend " + name + R"( started: pid \d+, cpu -?\d+, 127\.0\.0\.1:(\d+))", 10s);
  if (!started) throw std::runtime_error("backend " + name + " never started");
  return static_cast<std::uint16_t>(std::stoi((*started)[1]));
}

TEST(Health, AStartingBackendSaysWhyItsChecksFail) {
  // The demo backend answers 404 to a path it does not know.
  running_balancer pinwheel(demo_config(1, "round-robin") + "path = \"/missing\"\n");
  EXPECT_TRUE(pinwheel.process().wait_for_line(
      R"(backend 0 \(127\.0\.0\.1:\d+\) is still starting: check failed: )"
      R"(GET /missing answered "HTTP/1\.1 404 Not Found")",
      10s))
      << pinwheel.process().output();
  EXPECT_TRUE(transitions(pinwheel.process().output(), "0").empty());
}

TEST(Health, ABackendOnTheWrongPortSaysConnectionRefused) {
  std::uint16_t nobody = free_port();
  running_balancer pinwheel(servers_config({nobody}, "kind = \"tcp\"\ninterval = \"100ms\"\n"));
  EXPECT_TRUE(pinwheel.process().wait_for_line(
      R"(backend 0 \(127\.0\.0\.1:)" + std::to_string(nobody) +
          R"(\) is still starting: check failed: connect: Connection refused \(first failure\))",
      10s))
      << pinwheel.process().output();
  // Once something listens there, the line that brings it up says how long it took.
  port_squatter server(nobody);
  EXPECT_TRUE(pinwheel.process().wait_for_line(
      R"(backend 0 \([^)]*\) is up: first check passed \(after \d+ failed\))", 10s))
      << pinwheel.process().output();
}

TEST(Health, NonSuccessAnswersTakeABackendDownAfterFallAndRiseSuccessesBringItBack) {
  using enum answer;
  // fall = 3, rise = 2. Request 1 brings it up; 2-3 fail, 4 passes (the streak starts over);
  // 5-7 fail: down at 7; 8 passes, 9 fails (the streak starts over), 10-11 pass: up at 11.
  scripted_server server({ok, unavailable, unavailable, ok, unavailable, unavailable, unavailable,
                          ok, unavailable, ok, ok, ok});
  running_balancer pinwheel(servers_config(
      {server.port()},
      "kind = \"http\"\ninterval = \"100ms\"\ntimeout = \"2s\"\nrise = 2\nfall = 3\n"));

  ASSERT_TRUE(pinwheel.process().wait_for_line(R"(backend 0 \([^)]*\) is down)", 10s))
      << pinwheel.process().output();
  EXPECT_GE(server.requests(), 7) << "down before `fall` failures in a row";
  ASSERT_TRUE(pinwheel.process().wait_for_line(R"(backend 0 \([^)]*\) is up: checks passed)", 10s))
      << pinwheel.process().output();
  EXPECT_GE(server.requests(), 11) << "up before `rise` successes in a row";
  // A few more good checks change nothing.
  ASSERT_TRUE(wait_until([&] { return server.requests() >= 14; }, 10s));
  EXPECT_EQ(transitions(pinwheel.process().output(), "0"),
            (std::vector<std::string>{
                "up: first check passed",
                "down: 3 check(s) failed, last: GET /health answered \"HTTP/1.1 503 Service "
                "Unavailable\"",
                "up: checks passed"}))
      << pinwheel.process().output();
}

TEST(Health, AnUnansweredCheckTimesOutAndCountsAsAFailure) {
  using enum answer;
  // Up at request 1; 3 and 4 are never answered: down at 4.
  scripted_server server({ok, ok, never});
  running_balancer pinwheel(servers_config(
      {server.port()},
      "kind = \"http\"\ninterval = \"100ms\"\ntimeout = \"300ms\"\nrise = 1\nfall = 2\n"));
  ASSERT_TRUE(pinwheel.process().wait_for_line(
      R"(backend 0 \([^)]*\) is down: 2 check\(s\) failed, last: timed out after 300ms)", 10s))
      << pinwheel.process().output();
  EXPECT_GE(server.requests(), 4);
}

// The lowest descriptor number `pid` does not use: with its soft RLIMIT_NOFILE set to this,
// its next socket() fails with EMFILE.
int lowest_free_fd(pid_t pid) {
  std::set<int> used;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    used.insert(std::stoi(entry.path().filename().string()));
  int fd = 0;
  while (used.contains(fd)) ++fd;
  return fd;
}

void set_open_file_limit(pid_t pid, rlim_t soft) {
  rlimit limit{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &limit), 0);
  limit.rlim_cur = soft;
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &limit, nullptr), 0);
}

TEST(Health, TheBalancersOwnShortageOfDescriptorsNeverCountsAgainstABackend) {
  // Holds each connection until the other side closes it.
  raw_server upstream([](int fd) { read_until(fd, "", 10s); });
  // fall = 1: a single counted failure, active or passive, would take the backend down.
  running_balancer pinwheel(
      servers_config({upstream.port()}, "kind = \"tcp\"\ninterval = \"50ms\"\nfall = 1\n"), 1);
  rlimit original{};
  ASSERT_EQ(::prlimit(pinwheel.pid(), RLIMIT_NOFILE, nullptr, &original), 0);

  // Not one descriptor left: every check fails with EMFILE. A check in flight while we look
  // at /proc leaves a free slot behind, so look again until the skips show.
  const std::string skipped =
      R"(warning: health check of backend 0 \([^)]*\) skipped: connect: Too many open files)";
  bool skipping = false;
  for (int attempt = 0; attempt < 10 && !skipping; ++attempt) {
    set_open_file_limit(pinwheel.pid(), lowest_free_fd(pinwheel.pid()));
    skipping = pinwheel.process().wait_for_line(skipped, 1s).has_value();
  }
  ASSERT_TRUE(skipping) << pinwheel.process().output();

  // One descriptor left: a client gets it, the proxy's connect upstream fails with EMFILE.
  set_open_file_limit(pinwheel.pid(), lowest_free_fd(pinwheel.pid()) + 1);
  bool proxy_short = false;
  for (int attempt = 0; attempt < 20 && !proxy_short; ++attempt) {
    try {
      tcp_client client(pinwheel.port());
      client.send_all("hello");
      client.read_until_eof(2s);
    } catch (const std::runtime_error&) {
      // Reset: the expected end of a connection the balancer could not serve.
    }
    proxy_short = pinwheel.process()
                      .wait_for_line("connecting to a backend: Too many open files", 200ms)
                      .has_value();
  }
  EXPECT_TRUE(proxy_short) << pinwheel.process().output();

  set_open_file_limit(pinwheel.pid(), original.rlim_cur);
  EXPECT_TRUE(pinwheel.process().wait_for_line(
      R"(health checks of backend 0 \([^)]*\) complete again: results count again)", 10s))
      << pinwheel.process().output();
  tcp_client client(pinwheel.port());
  client.send_all("after");
  EXPECT_TRUE(wait_until([&] { return upstream.accepted() > 0; }, 10s));
  EXPECT_EQ(transitions(pinwheel.process().output(), "0"),
            std::vector<std::string>{"up: first check passed"})
      << pinwheel.process().output();
}

TEST(Health, AGivenUpBackendIsNeverCheckedAgain) {
  // Backend 1 exits at once, every time, and is given up; backend 0 keeps serving.
  running_balancer pinwheel(
      std::string("[balancer]\nlisten = \"127.0.0.1:0\"\n"
                  "[backends]\ncount = 2\nbase_port = 0\n"
                  "command = [\"/bin/sh\", \"-c\", \"if [ {index} = 1 ]; then exit 3; fi; exec ") +
          BACKEND_BIN +
          " --port {port} --index {index}\"]\n"
          "max_restarts = 1\nrestart_delay = \"10ms\"\n"
          "[health]\nkind = \"tcp\"\ninterval = \"100ms\"\n",
      1);
  std::uint16_t port = started_port(pinwheel, "1");
  ASSERT_TRUE(pinwheel.process().wait_for_line("backend 1 is crash-looping", 10s))
      << pinwheel.process().output();

  // A stranger takes its port: it must never be checked, let alone taken for backend 1.
  port_squatter stranger(port);
  EXPECT_FALSE(wait_until([&] { return stranger.accepted() > 0; }, 1s))
      << stranger.accepted() << " check(s) reached the given-up backend's port";
  EXPECT_EQ(ask_whoami(pinwheel.port()).index, 0);
  for (const std::string& t : transitions(pinwheel.process().output(), "1"))
    EXPECT_FALSE(t.starts_with("up")) << t;
}

TEST(Health, ASpawnedBackendIsNotCheckedWhileItHasNoProcess) {
  // The backend exits at once and is restarted only 30 s later: no process in between.
  running_balancer pinwheel(
      "[balancer]\nlisten = \"127.0.0.1:0\"\n"
      "[backends]\ncount = 1\nbase_port = 0\ncommand = [\"/bin/sh\", \"-c\", \"exit 3\"]\n"
      "restart_delay = \"30s\"\nrestart_delay_max = \"30s\"\n"
      "[health]\nkind = \"tcp\"\ninterval = \"100ms\"\n");
  std::uint16_t port = started_port(pinwheel, "0");
  ASSERT_TRUE(
      pinwheel.process().wait_for_line(R"(backend 0 \(pid \d+ exited with status 3\))", 10s))
      << pinwheel.process().output();

  port_squatter stranger(port);
  EXPECT_FALSE(wait_until([&] { return stranger.accepted() > 0; }, 1s))
      << stranger.accepted() << " check(s) reached the port of a backend with no process";
  EXPECT_TRUE(transitions(pinwheel.process().output(), "0").empty()) << pinwheel.process().output();
}

}  // namespace
}  // namespace pinwheel::test
