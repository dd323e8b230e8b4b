// Direct mode's source hash on loopback: the program sends each client to the socket of the
// backend proxy mode's source_hash picks for it (clients bound to 127.a.b.c: all of
// 127.0.0.0/8 is loopback on Linux; ::1 for IPv6). Needs bpf(); skips where it is refused.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "direct/loopback_clients.hpp"
#include "direct/reuseport_group.hpp"
#include "strategy/source_hash.hpp"
#include "strategy/test_pool.hpp"

namespace pinwheel::direct {
namespace {

using namespace test;
using pinwheel::testing::test_pool;

// The group's table from source_hash's: backend "i" is socket i. Empty when none is eligible.
std::vector<std::uint32_t> socket_table(source_hash& sh) {
  std::vector<std::uint32_t> table;
  for (backend* b : sh.resolved_slots()) {
    if (b == nullptr) return {};
    table.push_back(static_cast<std::uint32_t>(std::stoul(b->name)));
  }
  return table;
}

sockaddr_storage from_address(const asio::ip::address& a) {
  sockaddr_storage storage = loopback(0, a.is_v6() ? AF_INET6 : AF_INET);
  if (a.is_v4())
    reinterpret_cast<sockaddr_in&>(storage).sin_addr.s_addr = htonl(a.to_v4().to_uint());
  return storage;
}

// Where a connection from `client` lands, and where source_hash sends it.
void expect_same_choice(const reuseport_group& group, source_hash& sh,
                        const asio::ip::address& client, std::set<int>& seen) {
  backend* b = sh.pick(client, {});
  ASSERT_NE(b, nullptr);
  const sockaddr_storage from = from_address(client);
  unique_fd connection = connect_nonblocking(group.local_address(), &from);
  const int landed = accept_one(group, 2s);
  EXPECT_EQ(landed, std::stoi(b->name)) << client.to_string();
  seen.insert(landed);
}

TEST(DirectSourceHash, SendsEachClientWhereProxyModeWould) {
  MAKE_GROUP_OR_SKIP(group, 4);
  test_pool backends(4, {1, 2, 1, 1});
  source_hash sh(backends.pool);
  const std::vector<std::uint32_t> table = socket_table(sh);
  const auto start = clock_type::now();
  group->set_hash_table(table);  // about 3 in 4 slots differ from the map's zeros
  const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
  std::printf("set_hash_table: %.2f ms for a first table of 4 backends\n", ms);
  group->set_mode(steering_mode::hash);
  std::set<int> seen;
  for (std::uint32_t i = 1; i <= 32; ++i) {
    const asio::ip::address client = asio::ip::address_v4((127u << 24) | (i * 2654435761u >> 8));
    expect_same_choice(*group, sh, client, seen);
  }
  EXPECT_EQ(seen.size(), 4u) << "32 clients all on fewer than 4 backends";

  // Backend 1 down: its clients walk on to the next eligible slot's backend, as in proxy mode.
  backends.set_up(backends[1], false);
  const std::vector<std::uint32_t> without_1 = socket_table(sh);
  const auto again = clock_type::now();
  group->set_hash_table(without_1);  // only backend 1's slots change
  std::printf("set_hash_table: %.2f ms with one backend of 4 down\n",
              std::chrono::duration<double, std::milli>(clock_type::now() - again).count());
  seen.clear();
  for (std::uint32_t i = 1; i <= 16; ++i) {
    const asio::ip::address client = asio::ip::address_v4((127u << 24) | (i * 40503u));
    expect_same_choice(*group, sh, client, seen);
  }
  EXPECT_EQ(seen.count(1), 0u);
  EXPECT_EQ(group->steered(0) + group->steered(1) + group->steered(2) + group->steered(3), 48u);
}

TEST(DirectSourceHash, SendsAnIpv6ClientWhereProxyModeWould) {
  MAKE_V6_GROUP_OR_SKIP(group, 8);
  test_pool backends(8);
  source_hash sh(backends.pool);
  group->set_hash_table(socket_table(sh));
  group->set_mode(steering_mode::hash);
  std::set<int> seen;
  for (int i = 0; i < 3; ++i)
    expect_same_choice(*group, sh, asio::ip::address_v6::loopback(), seen);
  EXPECT_EQ(seen.size(), 1u);
}

TEST(DirectSourceHash, WithoutATableConnectionsWaitAndRotationComesBack) {
  MAKE_GROUP_OR_SKIP(group, 2);
  const std::uint32_t targets[] = {1};
  group->set_targets(targets);
  group->set_mode(steering_mode::hash);
  EXPECT_EQ(group->mode(), steering_mode::hash);
  unique_fd waiting = connect_nonblocking(group->port());
  EXPECT_EQ(connect_outcome(waiting, 200ms), ETIMEDOUT) << "hash mode without a table";
  EXPECT_EQ(accept_one(*group, 0ms), -1);

  const std::vector<std::uint32_t> all_zero(hash_slots, 0);
  EXPECT_THROW(group->set_hash_table(std::vector<std::uint32_t>(100, 0)), std::invalid_argument);
  EXPECT_THROW(group->set_hash_table(std::vector<std::uint32_t>(hash_slots, 2)),
               std::invalid_argument);
  group->set_hash_table(all_zero);
  EXPECT_EQ(accept_one(*group, 2500ms), 0) << "the parked client's retransmission";
  group->set_hash_table({});
  unique_fd parked = connect_nonblocking(group->port());
  EXPECT_EQ(connect_outcome(parked, 200ms), ETIMEDOUT) << "an empty table parks";

  group->set_mode(steering_mode::rotate);
  EXPECT_EQ(accept_one(*group, 2500ms), 1) << "rotation's target, after the retransmission";
  EXPECT_EQ(sequence_of(*group, 2), (std::vector<int>{1, 1}));
}

}  // namespace
}  // namespace pinwheel::direct
