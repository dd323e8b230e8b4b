#include "strategy/weight_ramp.hpp"

#include <gtest/gtest.h>

#include "strategy/test_pool.hpp"

namespace pinwheel {
namespace {

using namespace pinwheel::testing;
using namespace std::chrono_literals;

// Routes the pool's events to a ramp, as a strategy does.
struct ramp_listener : pool_events {
  explicit ramp_listener(weight_ramp& r) : ramp(r) {}
  void members_changed(std::span<backend* const> members) override {
    ramp.members_changed(members);
  }
  void usable_changed(backend& b) override { ramp.usable_changed(b); }
  weight_ramp& ramp;
};

TEST(WeightRamp, FullWeightWithoutSlowStart) {
  test_pool backends(1, {3});
  weight_ramp ramp;
  EXPECT_EQ(ramp.weight(backends[0]), 3 * weight_ramp::kScale);
}

TEST(WeightRamp, NoRampAtTheFirstStart) {
  fake_clock clock;
  backend_pool pool;
  weight_ramp ramp(30s, clock.source());
  ramp_listener listener(ramp);
  pool.set_listener(&listener);
  backend b;
  b.name = "a";
  backend& added = pool.add(std::move(b));  // starting: down until its first success
  added.health.record(true, {});
  pool.health_changed(added);
  EXPECT_EQ(ramp.weight(added), weight_ramp::kScale);
}

TEST(WeightRamp, RampsFromAFloorToFullWeightAfterComingBack) {
  fake_clock clock;
  test_pool backends(1, {2});
  weight_ramp ramp(10s, clock.source());
  ramp_listener listener(ramp);
  backends.pool.set_listener(&listener);
  backend& b = backends[0];
  backends.set_up(b, false);
  clock.now += 1h;  // down for a while: the ramp counts from its return
  backends.set_up(b, true);
  EXPECT_EQ(ramp.weight(b), 2 * weight_ramp::kFloor);
  clock.now += 2500ms;
  EXPECT_EQ(ramp.weight(b), 2 * 250u);
  clock.now += 5s;
  EXPECT_EQ(ramp.weight(b), 2 * 750u);
  clock.now += 2500ms;
  EXPECT_EQ(ramp.weight(b), 2 * weight_ramp::kScale);
}

TEST(WeightRamp, ReenabledBackendRampsToo) {
  fake_clock clock;
  test_pool backends(1);
  weight_ramp ramp(10s, clock.source());
  ramp_listener listener(ramp);
  backends.pool.set_listener(&listener);
  backends.pool.set_admin(backends[0], admin_state::disabled);
  backends.pool.set_admin(backends[0], admin_state::enabled);
  EXPECT_EQ(ramp.weight(backends[0]), weight_ramp::kFloor);
}

TEST(WeightRamp, WeightZeroStaysZero) {
  fake_clock clock;
  test_pool backends(1, {0});
  weight_ramp ramp(10s, clock.source());
  ramp_listener listener(ramp);
  backends.pool.set_listener(&listener);
  backends.set_up(backends[0], false);
  backends.set_up(backends[0], true);
  EXPECT_EQ(ramp.weight(backends[0]), 0u);
}

}  // namespace
}  // namespace pinwheel
