// The admin protocol without sockets: every verb, and what bad input gets.
#include "admin/admin_protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "admin/admin_request.hpp"
#include "admin/status_report.hpp"

namespace pinwheel {
namespace {

// Records what the protocol asked for.
struct fake_actions : admin_actions {
  admin_result restart(backend& b) override {
    calls.push_back("restart " + b.name);
    return {true, "queued"};
  }
  admin_result restart_all() override {
    calls.push_back("restart-all");
    return {true, "begun"};
  }
  admin_result set_strategy(const std::string& name) override {
    calls.push_back("strategy " + name);
    if (name == "nope") return {false, "\"nope\" is not a strategy"};
    strategy = name;
    return {true, "strategy " + name};
  }
  admin_result reload() override {
    calls.push_back("reload");
    return {false, "pinwheel.toml:3:1: [balancer] listen: bad"};
  }
  std::string strategy_name() const override { return strategy; }
  std::optional<scaling_status> scaling() const override { return scale; }
  std::vector<std::string> calls;
  std::optional<scaling_status> scale;
  std::string strategy = "round-robin";
};

backend spawned(const std::string& name, pid_t pid) {
  backend b;
  b.name = name;
  b.endpoint = {asio::ip::address_v4::loopback(), static_cast<unsigned short>(9000 + pid % 100)};
  b.cpu = 1;
  b.argv = {"/bin/app"};
  b.process.pid = pid;
  b.health = health_state(1, 1, true);
  return b;
}

class AdminProtocol : public ::testing::Test {
 protected:
  AdminProtocol() : protocol(pool, actions, [this] { return now; }) {
    a = &pool.add(spawned("0", 101));
    b = &pool.add(spawned("web", 102));
  }
  bool is_error(const std::string& reply) {
    return reply.rfind("error: ", 0) == 0 && reply.find('\n') == reply.size() - 1;
  }
  backend_pool pool;
  fake_actions actions;
  std::chrono::steady_clock::time_point now{std::chrono::hours(10)};
  admin_protocol protocol;
  backend* a = nullptr;
  backend* b = nullptr;
};

TEST_F(AdminProtocol, DrainDisableEnableByNameOrIndex) {
  EXPECT_EQ(protocol.handle("drain web").rfind("ok: backend web is draining", 0), 0u);
  EXPECT_EQ(b->admin, admin_state::draining);
  EXPECT_EQ(protocol.handle("disable 1").rfind("ok: backend web is disabled", 0), 0u);
  EXPECT_EQ(b->admin, admin_state::disabled);
  EXPECT_EQ(protocol.handle("enable web\r").rfind("ok: backend web is enabled", 0), 0u);
  EXPECT_TRUE(b->usable());
  // "0" is a name here (and index 0 too): the name wins.
  protocol.handle("drain 0");
  EXPECT_EQ(a->admin, admin_state::draining);
  EXPECT_NE(protocol.handle("enable 0").find("ok:"), std::string::npos);
}

TEST_F(AdminProtocol, RestartsStrategyAndReloadGoToTheActions) {
  EXPECT_EQ(protocol.handle("restart web"), "ok: queued\n");
  EXPECT_EQ(protocol.handle("restart-all"), "ok: begun\n");
  EXPECT_EQ(protocol.handle("strategy least-connections"), "ok: strategy least-connections\n");
  EXPECT_TRUE(is_error(protocol.handle("strategy nope")));
  std::string reload = protocol.handle("reload");
  EXPECT_EQ(reload, "error: pinwheel.toml:3:1: [balancer] listen: bad\n");
  EXPECT_EQ(actions.calls,
            (std::vector<std::string>{"restart web", "restart-all", "strategy least-connections",
                                      "strategy nope", "reload"}));
}

TEST_F(AdminProtocol, StatusIsATableOrJson) {
  a->process.started = now - std::chrono::seconds(75);
  a->active_connections = 3;
  a->total_connections = 40;
  a->process.restarts = 2;
  a->notify.status = "warming\tcaches";
  std::string table = protocol.handle("status");
  EXPECT_EQ(table.rfind("BACKEND", 0), 0u) << table;
  EXPECT_NE(table.find("ADMIN"), std::string::npos);
  EXPECT_NE(table.find("1m15s"), std::string::npos) << table;
  EXPECT_NE(table.find("web"), std::string::npos);
  // The backend's own sd_notify STATUS=, tab and all made printable.
  EXPECT_NE(table.find("STATUS"), std::string::npos) << table;
  EXPECT_NE(table.find("warming caches\n"), std::string::npos) << table;
  std::string json = protocol.handle("status --json");
  EXPECT_NE(json.find("\"strategy\":\"round-robin\""), std::string::npos) << json;
  EXPECT_NE(json.find("{\"name\":\"0\",\"address\":\"127.0.0.1:9001\",\"state\":\"up\","
                      "\"admin\":\"enabled\",\"pid\":101,\"cpu\":1,\"active\":3,\"total\":40,"
                      "\"restarts\":2,\"uptime_s\":75,\"status\":\"warming\\tcaches\","
                      "\"memory_restarts\":0,\"resident_bytes\":0}"),
            std::string::npos)
      << json;
}

TEST_F(AdminProtocol, StatusShowsAutoScalingWhenOn) {
  EXPECT_EQ(protocol.handle("status").find("auto-scaling"), std::string::npos);
  EXPECT_EQ(protocol.handle("status --json").find("autoscale"), std::string::npos);
  actions.scale = scaling_status{1, 4, 2, std::nullopt, std::nullopt};
  std::string table = protocol.handle("status");
  EXPECT_NE(table.find("\nauto-scaling: 2 backend(s), min 1, max 4\n"), std::string::npos) << table;
  actions.scale->cpu = 0.456;
  actions.scale->queued = 1.5;
  table = protocol.handle("status");
  EXPECT_NE(table.find("auto-scaling: 2 backend(s), min 1, max 4; last measured per backend: "
                       "cpu 0.46, 1.50 awaiting a reply\n"),
            std::string::npos)
      << table;
  std::string json = protocol.handle("status --json");
  EXPECT_NE(json.find(",\"autoscale\":{\"min\":1,\"max\":4,\"backends\":2,\"cpu\":0.46,"
                      "\"queued\":1.50}}\n"),
            std::string::npos)
      << json;
}

TEST_F(AdminProtocol, GarbageGetsOneLineErrorAndChangesNothing) {
  for (std::string line :
       {std::string(""), std::string("   "), std::string("frobnicate"), std::string("drain"),
        std::string("drain nobody"), std::string("drain 7"), std::string("drain a b"),
        std::string("status --yaml"), std::string("reload now"), std::string("restart-all 1"),
        std::string("\x01\x02\xff", 3), std::string("drain web\0x", 11), std::string(5000, 'x'),
        std::string("strategy")}) {
    std::string reply = protocol.handle(line);
    EXPECT_TRUE(is_error(reply)) << "line " << line.substr(0, 20) << " got " << reply;
  }
  EXPECT_TRUE(actions.calls.empty());
  EXPECT_EQ(b->admin, admin_state::enabled);
  EXPECT_NE(protocol.handle("drain nobody").find("backends: 0, web"), std::string::npos);
  EXPECT_NE(protocol.handle("frobnicate").find("unknown command \"frobnicate\""),
            std::string::npos);
}

TEST(AdminRequest, ParsesVerbsAndArguments) {
  std::string error;
  auto r = parse_admin_request("  restart \t 3 ", error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->verb, "restart");
  EXPECT_EQ(r->argument, "3");
  r = parse_admin_request("status --json", error);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->json);
  EXPECT_FALSE(parse_admin_request(std::string(kMaxAdminLine + 1, 'a'), error));
  EXPECT_NE(error.find("too long"), std::string::npos);
}

TEST(StatusReport, StatesOfSpawnedBackends) {
  backend b = spawned("x", 5);
  EXPECT_EQ(backend_state(b), "up");
  b.health = health_state(1, 1, false);
  EXPECT_EQ(backend_state(b), "down");
  b.process.pid = 0;
  EXPECT_EQ(backend_state(b), "stopped");
  b.process.given_up = true;
  EXPECT_EQ(backend_state(b), "given-up");
}

}  // namespace
}  // namespace pinwheel
