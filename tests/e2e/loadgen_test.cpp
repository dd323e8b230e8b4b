// pinwheel-loadgen against real servers: the demo backend alone, and Pinwheel with two.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "e2e/balancer_fixture.hpp"

namespace pinwheel::test {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs the load generator to completion (bounded) and returns its JSON report.
std::string run_loadgen(std::vector<std::string> args) {
  const std::string json = write_temp_file("loadgen.json", "");
  std::vector<std::string> argv = {LOADGEN_BIN, "--json", json, "--quiet", "--no-progress"};
  argv.insert(argv.end(), args.begin(), args.end());
  child_process loadgen(argv);
  const std::optional<int> code = loadgen.wait_exit(30s);
  EXPECT_EQ(code, 0) << loadgen.output();
  return read_file(json);
}

// The integer `key` of the class named `name` in the report's totals.
long class_field(const std::string& json, const std::string& name, const std::string& key) {
  const std::size_t at = json.find("{\"name\": \"" + name + "\"");
  if (at == std::string::npos) return -1;
  std::smatch m;
  const std::string rest = json.substr(at);
  if (!std::regex_search(rest, m, std::regex("\"" + key + "\": ([0-9]+)"))) return -1;
  return std::stol(m[1]);
}

TEST(loadgen, mix_at_a_constant_rate_gets_every_answer) {
  own_backend backend(0);
  const std::string json =
      run_loadgen({"--target", "127.0.0.1:" + std::to_string(backend.port), "--rate", "200",
                   "--duration", "1s", "--mix", "90:GET /fast,10:GET /slow?ms=5"});
  EXPECT_EQ(class_field(json, "GET /fast", "sent"), 180) << json;
  EXPECT_EQ(class_field(json, "GET /fast", "ok"), 180) << json;
  EXPECT_EQ(class_field(json, "GET /slow?ms=5", "sent"), 20) << json;
  EXPECT_EQ(class_field(json, "GET /slow?ms=5", "ok"), 20) << json;
  EXPECT_EQ(class_field(json, "GET /fast", "error_count"), 0) << json;
}

TEST(loadgen, a_request_past_its_deadline_is_a_timeout) {
  own_backend backend(0);
  const std::string json =
      run_loadgen({"--target", "127.0.0.1:" + std::to_string(backend.port), "--rate", "10",
                   "--requests", "3", "--timeout", "200ms", "--mix", "GET /slow?ms=1000"});
  EXPECT_EQ(class_field(json, "GET /slow?ms=1000", "sent"), 3) << json;
  EXPECT_EQ(class_field(json, "GET /slow?ms=1000", "timeouts"), 3) << json;
  EXPECT_EQ(class_field(json, "GET /slow?ms=1000", "ok"), 0) << json;
}

TEST(loadgen, keep_alive_pool_through_pinwheel_reaches_both_backends) {
  running_balancer balancer(demo_config(2, "round-robin"), 2);
  // Four long-lived connections from four source addresses, used in turn: round-robin gives
  // each backend two, so each answers about half of the requests.
  const std::string json =
      run_loadgen({"--target", "127.0.0.1:" + std::to_string(balancer.port()), "--rate", "100",
                   "--requests", "40", "--keep-alive", "--fill-pool", "--connections", "4",
                   "--sources", "4", "--mix", "GET /whoami", "--tally-bodies"});
  EXPECT_EQ(class_field(json, "GET /whoami", "ok"), 40) << json;
  // 40 requests at 100/s: they were sent over 0.4 s.
  EXPECT_NE(json.find("\"achieved_rate\": 100.00"), std::string::npos) << json;
  // The first "bodies" object holds the totals (the phases repeat it). A /whoami body names
  // the backend's pid (and the connection), so requests per backend add up by pid.
  const std::size_t at = json.find("\"bodies\"");
  ASSERT_NE(at, std::string::npos) << json;
  const std::string bodies = json.substr(at, json.find("}}", at) + 2 - at);
  std::map<std::string, long> per_pid;
  const std::regex pid_and_count("pid[^0-9]*([0-9]+)[^}]*\\}\": ([0-9]+)");
  for (auto it = std::sregex_iterator(bodies.begin(), bodies.end(), pid_and_count);
       it != std::sregex_iterator(); ++it) {
    per_pid[(*it)[1]] += std::stol((*it)[2]);
  }
  ASSERT_EQ(per_pid.size(), 2u) << json;
  for (const auto& [pid, count] : per_pid) EXPECT_GE(count, 12) << pid << "\n" << json;
}

}  // namespace
}  // namespace pinwheel::test
