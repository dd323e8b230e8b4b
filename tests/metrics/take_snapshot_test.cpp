#include "metrics/take_snapshot.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

using namespace std::chrono_literals;

class TakeSnapshot : public ::testing::Test {
 protected:
  TakeSnapshot() : server_(io_, options_, context_) {
    backend b;
    b.name = "web";
    b.endpoint = {asio::ip::address_v4::loopback(), 9001};
    b.cpu = 3;
    b.argv = {"/bin/true"};
    b.process.pid = 4321;
    b.process.started = steady_now_ - 10s;
    b.process.restarts = 2;
    b.total_connections = 5;
    b.bytes_in = 100;
    b.bytes_out = 2000;
    b.last_check_duration = 1500us;
    pool_.add(std::move(b));
  }

  balancer_snapshot take() {
    snapshot_sources from{pool_, server_, context_.stats, "1.0", "round-robin"};
    return take_snapshot(from, unix_now_, steady_now_);
  }

  asio::io_context io_;
  balancer_options options_;
  backend_pool pool_;
  buffer_pool small_{1024, 1};
  buffer_pool large_{4096, 1};
  proxy_context context_{pool_, nullptr, small_, large_, 3};
  server server_;
  std::chrono::system_clock::time_point unix_now_{std::chrono::seconds(1'800'000'000)};
  std::chrono::steady_clock::time_point steady_now_ = std::chrono::steady_clock::now();
};

TEST_F(TakeSnapshot, CopiesTheBackendsCountersAndConvertsItsStartTime) {
  context_.stats.accepted = 9;
  pool_.take_connection(*pool_.members()[0]);
  balancer_snapshot s = take();
  EXPECT_EQ(s.accepted, 9u);
  EXPECT_EQ(s.time, 1'800'000'000);
  EXPECT_EQ(s.max_connections, options_.max_connections);
  ASSERT_EQ(s.backends.size(), 1u);
  const backend_snapshot& b = s.backends[0];
  EXPECT_EQ(b.name, "web");
  EXPECT_EQ(b.address, "127.0.0.1:9001");
  EXPECT_EQ(b.cpu, 3);
  EXPECT_EQ(b.pid, 4321);
  EXPECT_EQ(b.active_connections, 1u);
  EXPECT_EQ(b.picked, 1u);
  EXPECT_EQ(b.total_connections, 5u);
  EXPECT_EQ(b.bytes_in, 100u);
  EXPECT_EQ(b.bytes_out, 2000u);
  EXPECT_EQ(b.restarts, 2u);
  EXPECT_DOUBLE_EQ(b.last_check_seconds, 0.0015);
  EXPECT_DOUBLE_EQ(b.process_start_time, 1'800'000'000 - 10);
}

TEST_F(TakeSnapshot, StateFollowsGivenUpThenAdminThenHealth) {
  backend& b = *pool_.members()[0];
  EXPECT_EQ(take().backends[0].state, "starting");
  b.health.record(true, steady_now_);
  EXPECT_EQ(take().backends[0].state, "up");
  pool_.set_admin(b, admin_state::draining);
  EXPECT_EQ(take().backends[0].state, "draining");
  EXPECT_EQ(take().backends[0].admin, "draining");
  pool_.set_admin(b, admin_state::disabled);
  EXPECT_EQ(take().backends[0].state, "disabled");
  b.process.given_up = true;
  EXPECT_EQ(take().backends[0].state, "given_up");
}

}  // namespace
}  // namespace pinwheel
