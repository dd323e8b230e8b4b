#include "proxy/client_limiter.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

using namespace std::chrono_literals;
using verdict = client_limiter::verdict;
using asio::ip::make_address;

// A clock the test moves by hand.
struct fake_clock {
  std::chrono::steady_clock::time_point now{};
  client_limiter::clock function() {
    return [this] { return now; };
  }
};

TEST(ClientLimiter, CapsOpenConnectionsPerAddress) {
  fake_clock clock;
  client_limiter limiter({2, 0}, 100, clock.function());
  auto a = make_address("192.0.2.1"), b = make_address("192.0.2.2");
  EXPECT_EQ(limiter.admit(a), verdict::admitted);
  EXPECT_EQ(limiter.admit(a), verdict::admitted);
  EXPECT_EQ(limiter.admit(a), verdict::too_many_connections);
  EXPECT_EQ(limiter.admit(b), verdict::admitted) << "another client is unaffected";
  limiter.release(a);
  EXPECT_EQ(limiter.admit(a), verdict::admitted);
}

TEST(ClientLimiter, TokenBucketAllowsABurstThenTheRate) {
  fake_clock clock;
  client_limiter limiter({0, 10}, 100, clock.function());
  auto a = make_address("2001:db8::1");
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(limiter.admit(a), verdict::admitted) << i;
    limiter.release(a);
  }
  EXPECT_EQ(limiter.admit(a), verdict::too_fast);
  clock.now += 100ms;  // one token back
  EXPECT_EQ(limiter.admit(a), verdict::admitted);
  EXPECT_EQ(limiter.admit(a), verdict::too_fast);
  clock.now += 10s;  // the bucket holds one second's worth, no more
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.admit(a), verdict::admitted) << i;
  EXPECT_EQ(limiter.admit(a), verdict::too_fast);
}

TEST(ClientLimiter, Ipv4MappedAddressIsTheSameClient) {
  fake_clock clock;
  client_limiter limiter({1, 0}, 100, clock.function());
  EXPECT_EQ(limiter.admit(make_address("192.0.2.1")), verdict::admitted);
  EXPECT_EQ(limiter.admit(make_address("::ffff:192.0.2.1")), verdict::too_many_connections);
}

TEST(ClientLimiter, EntriesExpireOnceTheyHoldNothing) {
  fake_clock clock;
  client_limiter limiter({5, 100}, 1000, clock.function());
  auto a = make_address("192.0.2.1");
  ASSERT_EQ(limiter.admit(a), verdict::admitted);
  EXPECT_EQ(limiter.tracked(), 1u);
  limiter.release(a);
  EXPECT_EQ(limiter.tracked(), 1u) << "a spent token is still owed";
  clock.now += 2s;
  limiter.admit(make_address("192.0.2.2"));  // sweeps
  EXPECT_EQ(limiter.tracked(), 1u) << "only the new client is left";
}

TEST(ClientLimiter, AddressSprayingCannotGrowTheTable) {
  fake_clock clock;
  constexpr std::size_t kCap = 10'000;
  client_limiter limiter({10, 1}, kCap, clock.function());
  // One long-lived client must keep its connection count through the spray.
  auto steady = make_address("10.0.0.1");
  ASSERT_EQ(limiter.admit(steady), verdict::admitted);
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    asio::ip::address_v4 a(0x7f000000u + 2 + i);  // 127.0.0.2 onwards: 100,000 addresses
    ASSERT_EQ(limiter.admit(a), verdict::admitted) << a.to_string();
    limiter.release(a);
    ASSERT_LE(limiter.tracked(), kCap);
    clock.now += 1us;
  }
  for (int i = 0; i < 9; ++i) clock.now += 1s, limiter.admit(steady);
  EXPECT_EQ(limiter.admit(steady), verdict::too_many_connections)
      << "an entry with connections open is never evicted";
  clock.now += 1h;
  limiter.admit(make_address("192.0.2.9"));
  EXPECT_EQ(limiter.tracked(), 2u) << "idle entries all expired";
}

}  // namespace
}  // namespace pinwheel
