// Zero-downtime operations, end to end: `pinwheel ctl` on the admin socket, rolling restarts,
// hot reload (SIGHUP and ctl), and faults, most of them under continuous load (load_loop:
// a few clients, a new connection per request). Each load test prints its request and failure
// counts.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "e2e/balancer_fixture.hpp"
#include "e2e/load_loop.hpp"
#include "support/unique_fd.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

// Demo backends with an admin socket next to the config file.
std::string ops_config(int count, const std::string& strategy = "round-robin",
                       const std::string& extra_balancer = "",
                       const std::string& extra_backends = "") {
  return demo_config(count, strategy, extra_balancer, extra_backends) +
         "[admin]\nsocket = \"admin.sock\"\ntimeout = \"400ms\"\n";
}

std::string socket_of(const running_balancer& p) {
  std::string dir = p.config_path().substr(0, p.config_path().rfind('/'));
  return dir + "/admin.sock";
}

// One request line sent on the raw admin socket; the whole reply.
std::string raw_admin(const std::string& path, const std::string& bytes) {
  unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
    return "connect failed";
  ::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  return read_all(fd.get(), 5s);
}

// Backend name -> pid, from `ctl status --json`.
std::map<std::string, pid_t> pids(const running_balancer& p) {
  std::map<std::string, pid_t> out;
  std::string json = run_ctl(p, {"status", "--json"}).output;
  std::regex entry(R"rx(\{"name":"([^"]+)"[^}]*"pid":(\d+))rx");
  for (std::sregex_iterator it(json.begin(), json.end(), entry), end; it != end; ++it)
    out[(*it)[1]] = std::stoi((*it)[2]);
  return out;
}

// Whether every backend is up and enabled (from the status table).
bool all_up_and_enabled(const running_balancer& p, std::size_t count) {
  std::string json = run_ctl(p, {"status", "--json"}).output;
  std::size_t up = 0, entries = 0;
  for (std::size_t at = json.find("\"name\""); at != std::string::npos;
       at = json.find("\"name\"", at + 1)) {
    ++entries;
    std::string one = json.substr(at, json.find('}', at) - at);
    up += one.find("\"state\":\"up\",\"admin\":\"enabled\"") != std::string::npos;
  }
  return entries == count && up == count;
}

TEST(Ctl, StatusShowsEveryBackendAsTableAndJson) {
  running_balancer pinwheel(ops_config(2), 2);
  ctl_result table = run_ctl(pinwheel, {"status"});
  EXPECT_EQ(table.code, 0) << table.output;
  EXPECT_NE(table.output.find("BACKEND"), std::string::npos) << table.output;
  EXPECT_TRUE(std::regex_search(table.output, std::regex(R"(\n0 .* up +enabled +\d+ )")))
      << table.output;
  auto p = pids(pinwheel);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_GT(p["0"], 0);
  EXPECT_GT(p["1"], 0);
  struct stat info {};
  ASSERT_EQ(::stat(socket_of(pinwheel).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u) << "only the balancer's user may connect";
}

TEST(Ctl, DrainDisableAndEnableSteerNewConnections) {
  running_balancer pinwheel(ops_config(2), 2);
  EXPECT_EQ(run_ctl(pinwheel, {"drain", "0"}).code, 0);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(ask_whoami(pinwheel.port()).index, 1);
  ctl_result disabled = run_ctl(pinwheel, {"disable", "1"});
  EXPECT_EQ(disabled.code, 0) << disabled.output;
  EXPECT_EQ(run_ctl(pinwheel, {"enable", "0"}).code, 0);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(ask_whoami(pinwheel.port()).index, 0);
  EXPECT_EQ(run_ctl(pinwheel, {"enable", "1"}).code, 0);
  std::set<int> seen;
  for (int i = 0; i < 6; ++i) seen.insert(ask_whoami(pinwheel.port()).index);
  EXPECT_EQ(seen, (std::set<int>{0, 1}));
  ctl_result unknown = run_ctl(pinwheel, {"drain", "nobody"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.output.find("error: no backend \"nobody\""), std::string::npos);
}

TEST(Ctl, StrategySwitchesLive) {
  running_balancer pinwheel(ops_config(2, "least-connections"), 2);
  ctl_result r = run_ctl(pinwheel, {"strategy", "round-robin"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(run_ctl(pinwheel, {"status", "--json"}).output.find("\"strategy\":\"round-robin\""),
            std::string::npos);
  std::set<int> seen;
  for (int i = 0; i < 4; ++i) seen.insert(ask_whoami(pinwheel.port()).index);
  EXPECT_EQ(seen.size(), 2u);
  ctl_result bad = run_ctl(pinwheel, {"strategy", "fastest"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.output.find("is not a strategy"), std::string::npos) << bad.output;
}

TEST(Ctl, GarbageOversizedUnknownAndSilentClientsGetOneLineErrors) {
  running_balancer pinwheel(ops_config(1), 1);
  std::string path = socket_of(pinwheel);
  EXPECT_EQ(raw_admin(path, "frobnicate\n").rfind("error: unknown command", 0), 0u);
  EXPECT_EQ(raw_admin(path, std::string("\x01\xfe\xff garbage\n")).rfind("error: ", 0), 0u);
  EXPECT_EQ(raw_admin(path, std::string(100'000, 'x')), "error: line too long (over 1024 bytes)\n");
  // A client that connects and never sends: told so after [admin] timeout, and meanwhile the
  // balancer answers others and keeps proxying.
  unique_fd silent(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(::connect(silent.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run_ctl(pinwheel, {"status"}).code, 0);
  EXPECT_EQ(ask_whoami(pinwheel.port()).index, 0);
  EXPECT_EQ(read_all(silent.get(), 5s), "error: no command line within 400ms\n");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_TRUE(pinwheel.process().wait_for_line("sent no complete command line within 400ms", 2s));
  // More silent clients than the limit: the extra ones are refused at once, nothing breaks.
  std::vector<unique_fd> many;
  for (int i = 0; i < 6; ++i) {
    many.emplace_back(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ::connect(many.back().get(), reinterpret_cast<sockaddr*>(&address), sizeof(address));
  }
  EXPECT_EQ(read_all(many.back().get(), 5s).rfind("error: too many admin clients", 0), 0u);
  EXPECT_TRUE(pinwheel.process().running());
  EXPECT_EQ(run_ctl(pinwheel, {"frobnicate"}).code, 2) << "ctl itself refuses an unknown verb";
}

TEST(RollingRestart, OneBackendAndThenAllUnderLoadWithoutAFailedRequest) {
  running_balancer pinwheel(ops_config(3), 3);
  auto before = pids(pinwheel);
  ASSERT_EQ(before.size(), 3u);
  load_loop load(pinwheel.port(), 4);
  ASSERT_TRUE(wait_until([&] { return load.succeeded() > 20; }, 10s));

  ctl_result one = run_ctl(pinwheel, {"restart", "1"});
  EXPECT_EQ(one.code, 0) << one.output;
  ASSERT_TRUE(wait_until(
      [&] { return pids(pinwheel)["1"] != before["1"] && all_up_and_enabled(pinwheel, 3); }, 20s,
      100ms))
      << pinwheel.process().output();
  auto middle = pids(pinwheel);
  EXPECT_EQ(middle["0"], before["0"]) << "only backend 1 restarted";

  ctl_result all = run_ctl(pinwheel, {"restart-all"});
  EXPECT_EQ(all.code, 0) << all.output;
  ASSERT_TRUE(wait_until(
      [&] {
        auto now = pids(pinwheel);
        for (auto& [name, pid] : middle) {
          if (now[name] == pid || now[name] == 0) return false;
        }
        return all_up_and_enabled(pinwheel, 3);
      },
      40s, 100ms))
      << pinwheel.process().output();
  load.stop();
  std::cout << "rolling restart under load: " << load.summary() << "\n";
  EXPECT_EQ(load.failed(), 0u) << load.failures();
  EXPECT_GT(load.succeeded(), 50u);
  std::string log = pinwheel.process().output();
  EXPECT_EQ(log.find("restarting in"), std::string::npos) << "a deliberate restart is no crash";
  EXPECT_NE(log.find("restarted: pid"), std::string::npos);
}

// The integer `key` of the "GET /fast" class in a pinwheel-loadgen JSON report's totals.
long loadgen_field(const std::string& json, const std::string& key) {
  std::size_t at = json.find("{\"name\": \"GET /fast\"");
  if (at == std::string::npos) return -1;
  std::smatch m;
  std::string rest = json.substr(at);
  if (!std::regex_search(rest, m, std::regex("\"" + key + "\": ([0-9]+)"))) return -1;
  return std::stol(m[1]);
}

TEST(RollingRestart, RestartAllUnderOpenLoopLoadLosesNothing) {
  running_balancer pinwheel(ops_config(3), 3);
  auto before = pids(pinwheel);
  std::string json_path = write_temp_file("loadgen.json", "");
  // Open loop: requests go out on schedule whether or not earlier ones were answered, each on
  // a new connection (no keep-alive), so a stalled backend could not hide by slowing the load.
  child_process loadgen({LOADGEN_BIN, "--target", "127.0.0.1:" + std::to_string(pinwheel.port()),
                         "--rate", "200", "--duration", "6s", "--timeout", "3s", "--mix",
                         "GET /fast", "--json", json_path, "--quiet", "--no-progress"});
  ASSERT_TRUE(wait_until([&] { return ask_whoami(pinwheel.port()).pid > 0; }, 2s));
  EXPECT_EQ(run_ctl(pinwheel, {"restart-all"}).code, 0);
  ASSERT_TRUE(wait_until(
      [&] {
        auto now = pids(pinwheel);
        for (auto& [name, pid] : before) {
          if (now[name] == pid || now[name] == 0) return false;
        }
        return all_up_and_enabled(pinwheel, 3);
      },
      30s, 100ms))
      << pinwheel.process().output();
  ASSERT_EQ(loadgen.wait_exit(30s), 0) << loadgen.output();
  std::ifstream in(json_path);
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  long sent = loadgen_field(json, "sent"), ok = loadgen_field(json, "ok");
  std::cout << "restart-all under pinwheel-loadgen (200/s, 6s, no keep-alive): " << sent
            << " sent, " << ok << " ok, " << loadgen_field(json, "error_count") << " errors, "
            << loadgen_field(json, "timeouts") << " timeouts\n";
  EXPECT_GT(sent, 1000);
  EXPECT_EQ(ok, sent) << json;
  EXPECT_EQ(loadgen_field(json, "error_count"), 0) << json;
}

// Whether `pid` still runs: neither gone nor a zombie (a dead child not yet reaped).
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
}

// Rewrites the running balancer's config file.
void rewrite(const running_balancer& p, const std::string& toml) {
  std::ofstream(p.config_path(), std::ios::trunc) << toml;
}

TEST(Reload, ScaleUpDownAndNewCommandUnderLoadWithoutAFailedRequest) {
  running_balancer pinwheel(ops_config(2), 2);
  load_loop load(pinwheel.port(), 4);
  ASSERT_TRUE(wait_until([&] { return load.succeeded() > 20; }, 10s));

  // Scale up with SIGHUP.
  rewrite(pinwheel, ops_config(3));
  pinwheel.process().send_signal(SIGHUP);
  ASSERT_TRUE(pinwheel.process().wait_for_line("reloaded .*1 backend\\(s\\) added", 5s))
      << pinwheel.process().output();
  ASSERT_TRUE(wait_until([&] { return all_up_and_enabled(pinwheel, 3); }, 10s, 100ms));

  // Scale down with ctl reload: the removed one drains, then stops.
  rewrite(pinwheel, ops_config(2, "least-connections"));
  ctl_result down = run_ctl(pinwheel, {"reload"});
  EXPECT_EQ(down.code, 0) << down.output;
  EXPECT_NE(down.output.find("strategy round-robin -> least-connections"), std::string::npos)
      << down.output;
  ASSERT_TRUE(wait_until([&] { return all_up_and_enabled(pinwheel, 2); }, 15s, 100ms))
      << pinwheel.process().output();

  // A new command: rolled out one backend at a time.
  auto before = pids(pinwheel);
  std::string with_host = ops_config(2, "least-connections");
  with_host.replace(with_host.find("\"--port\""), 0, "\"--host\", \"127.0.0.1\", ");
  rewrite(pinwheel, with_host);
  ctl_result changed = run_ctl(pinwheel, {"reload"});
  EXPECT_NE(changed.output.find("2 backend(s) to restart"), std::string::npos) << changed.output;
  ASSERT_TRUE(wait_until(
      [&] {
        auto now = pids(pinwheel);
        return now["0"] != before["0"] && now["1"] != before["1"] &&
               all_up_and_enabled(pinwheel, 2);
      },
      30s, 100ms))
      << pinwheel.process().output();
  load.stop();
  std::cout << "reload under load: " << load.summary() << "\n";
  EXPECT_EQ(load.failed(), 0u) << load.failures();
}

TEST(Reload, AnInvalidConfigIsRejectedWithItsLineAndNothingChanges) {
  running_balancer pinwheel(ops_config(2), 2);
  auto before = pids(pinwheel);
  std::string bad = ops_config(2);
  bad.replace(bad.find("strategy = \"round-robin\""), 24, "strategy = \"fastest\"");
  rewrite(pinwheel, bad);
  ctl_result r = run_ctl(pinwheel, {"reload"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(std::regex_search(
      r.output,
      std::regex(
          R"(error: reload rejected, nothing changed: .*pinwheel\.toml:3:\d+: \[balancer\] strategy: "fastest" is not a strategy)")))
      << r.output;
  EXPECT_TRUE(pinwheel.process().wait_for_line("reload rejected, nothing changed", 2s));
  EXPECT_EQ(pids(pinwheel), before);
  EXPECT_NE(run_ctl(pinwheel, {"status", "--json"}).output.find("round-robin"), std::string::npos);
  // A key only a restart applies is named; the rest is applied.
  rewrite(pinwheel, ops_config(2, "least-connections", "max_connections = 77\n"));
  r = run_ctl(pinwheel, {"reload"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("needs a restart of Pinwheel (running values kept): "
                          "balancer.max_connections"),
            std::string::npos)
      << r.output;
  EXPECT_NE(run_ctl(pinwheel, {"status", "--json"}).output.find("least-connections"),
            std::string::npos);
}

TEST(Reload, ANewListenAddressIsBoundBeforeTheOldClosesAndOpenConnectionsCarryOn) {
  running_balancer pinwheel(ops_config(1), 1);
  std::uint16_t old_port = pinwheel.port();
  tcp_client open_connection(old_port);
  std::uint16_t new_port = free_port();
  std::string moved = ops_config(1);
  moved.replace(moved.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(new_port));
  rewrite(pinwheel, moved);
  ctl_result r = run_ctl(pinwheel, {"reload"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(ask_whoami(new_port).index, 0);
  EXPECT_THROW(ask_whoami(old_port), std::runtime_error) << "the old address is closed";
  // The connection accepted on the old address still works.
  open_connection.send_all("GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(open_connection.read_until_eof(5s).find("\"index\""), std::string::npos);
}

TEST(Faults, Sigkill_ConnectionsOpenedAfterTheKillAllSucceed) {
  running_balancer pinwheel(ops_config(3), 3);
  load_loop load(pinwheel.port(), 4);
  ASSERT_TRUE(wait_until([&] { return load.succeeded() > 20; }, 10s));
  pid_t victim = pids(pinwheel)["1"];
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  // "After the kill": once the process is dead (its sockets closed), not when the signal was
  // sent; a connection accepted in between is cut like any in flight.
  ASSERT_TRUE(wait_until([&] { return !alive(victim); }, 5s));
  auto killed_at = load_loop::clock::now();
  ASSERT_TRUE(wait_until(
      [&] {
        auto p = pids(pinwheel)["1"];
        return p != 0 && p != victim;
      },
      10s));
  ASSERT_TRUE(wait_until([&] { return all_up_and_enabled(pinwheel, 3); }, 10s, 100ms));
  std::uint64_t total = load.succeeded();
  ASSERT_TRUE(wait_until([&] { return load.succeeded() > total + 20; }, 10s));
  load.stop();
  std::cout << "kill -9 under load: " << load.summary() << ", " << load.failed_since(killed_at)
            << " failed among connections opened after the kill\n";
  EXPECT_EQ(load.failed_since(killed_at), 0u) << load.failures();
}

TEST(Faults, Sigstop_AHungBackendLeavesRotationWithinFallTimesIntervalAndComesBack) {
  // fall 2 x interval 200ms (+ a 500ms check timeout each).
  running_balancer pinwheel(ops_config(2) + "", 2);
  pid_t hung = pids(pinwheel)["0"];
  auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(hung, SIGSTOP), 0);
  ASSERT_TRUE(pinwheel.process().wait_for_line("backend 0 .* is down", 5s))
      << pinwheel.process().output();
  auto out_after = std::chrono::steady_clock::now() - stopped_at;
  std::cout << "hung backend out of rotation after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(out_after).count() << "ms\n";
  // No new connection waits on it: every request is answered by the other, quickly.
  load_loop load(pinwheel.port(), 4);
  ASSERT_TRUE(wait_until([&] { return load.succeeded() > 40; }, 10s));
  load.stop();
  std::cout << "while hung: " << load.summary() << "\n";
  EXPECT_EQ(load.failed(), 0u) << load.failures();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ask_whoami(pinwheel.port()).index, 1);
  ASSERT_EQ(::kill(hung, SIGCONT), 0);
  EXPECT_TRUE(wait_until([&] { return all_up_and_enabled(pinwheel, 2); }, 10s, 100ms));
  EXPECT_EQ(pids(pinwheel)["0"], hung) << "a hung backend is taken out of rotation, not killed";
}

}  // namespace
}  // namespace pinwheel::test
