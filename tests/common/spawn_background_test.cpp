#include "common/spawn_background.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <new>

namespace pinwheel {
namespace {

asio::awaitable<void> failing_loop() {
  throw std::bad_alloc();
  co_return;
}

asio::awaitable<void> finishing_loop(bool& ran) {
  ran = true;
  co_return;
}

TEST(SpawnBackground, AFailingLoopStopsTheEventLoopWithItsName) {
  asio::io_context io;
  spawn_background(io, failing_loop(), "accept loop");
  try {
    io.run();
    FAIL() << "the failure was swallowed";
  } catch (const background_failure& e) {
    EXPECT_EQ(std::string(e.what()), "accept loop: std::bad_alloc");
  }
}

TEST(SpawnBackground, ALoopThatEndsNormallyIsNotAFailure) {
  asio::io_context io;
  bool ran = false;
  spawn_background(io, finishing_loop(ran), "health checks");
  EXPECT_NO_THROW(io.run());
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace pinwheel
