#include "pool/backend_pool.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pinwheel {
namespace {

backend named(const std::string& name) {
  backend b;
  b.name = name;
  b.health = health_state(1, 1, /*initially_up=*/true);
  return b;
}

// Records the events a strategy would see.
struct recorder : pool_events {
  void members_changed(std::span<backend* const> m) override {
    events.push_back("members " + std::to_string(m.size()));
  }
  void usable_changed(backend& b) override {
    events.push_back(b.name + (b.usable() ? " usable" : " unusable"));
  }
  void connection_taken(backend& b) override { events.push_back(b.name + " +1"); }
  void connection_dropped(backend& b) override { events.push_back(b.name + " -1"); }
  std::vector<std::string> events;
};

TEST(BackendPool, MembersAreFoundByNameAndKeepTheirAddress) {
  backend_pool pool;
  backend& a = pool.add(named("a"));
  pool.add(named("b"));
  EXPECT_EQ(pool.find("a"), &a);
  EXPECT_EQ(pool.find("c"), nullptr);
  for (int i = 0; i < 100; ++i) pool.add(named("x" + std::to_string(i)));
  EXPECT_EQ(pool.find("a"), &a) << "adding members never moves the others";
  EXPECT_THROW(pool.add(named("a")), std::invalid_argument);
}

TEST(BackendPool, AdminStateDecidesUsableAndTellsTheListener) {
  backend_pool pool;
  recorder events;
  backend& a = pool.add(named("a"));
  pool.set_listener(&events);
  pool.set_admin(a, admin_state::draining);
  EXPECT_FALSE(a.usable());
  pool.set_admin(a, admin_state::disabled);  // still unusable: no event
  pool.set_admin(a, admin_state::enabled);
  EXPECT_TRUE(a.usable());
  EXPECT_EQ(events.events, (std::vector<std::string>{"members 1", "a unusable", "a usable"}));
  EXPECT_EQ(pool.usable_count(), 1u);
}

TEST(BackendPool, ARetiredBackendIsNoMemberButStaysValidForWhoeverHoldsIt) {
  backend_pool pool;
  recorder events;
  pool.set_listener(&events);
  backend& a = pool.add(named("a"));
  pool.take_connection(a);
  pool.retire(a);
  EXPECT_EQ(pool.find("a"), nullptr);
  EXPECT_EQ(a.active_connections, 1u) << "still readable by the session that holds it";
  pool.drop_connection(a);
  EXPECT_EQ(a.name, "a") << "and after its last connection, by a checker or timer";
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"members 0", "members 1", "a +1", "members 0", "a -1"}));
}

TEST(BackendPool, BecomingUsableWakesWhoeverWaits) {
  backend_pool pool;
  backend& a = pool.add(named("a"));
  a.health = health_state(1, 1);  // starting
  std::vector<std::string> woken;
  pool.on_became_usable([&](backend& b) { woken.push_back(b.name); });
  a.health.record(true, {});
  pool.health_changed(a);
  EXPECT_EQ(woken, (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace pinwheel
