#include "direct/load_tracker.hpp"

#include <gtest/gtest.h>

namespace pinwheel::direct {
namespace {

using namespace std::chrono_literals;
using time_point = std::chrono::steady_clock::time_point;

// Readings on a fake clock: `at` in milliseconds, run time in milliseconds.
struct readings {
  load_tracker tracker{2};
  void read(double at_ms, std::uint32_t queue, std::optional<double> run_ms = std::nullopt,
            std::size_t backend = 0) {
    load_reading r{.at = time_point{} + std::chrono::microseconds(std::int64_t(at_ms * 1000))};
    r.queue = queue;
    r.backlog = 128;
    if (run_ms) r.run_ns = static_cast<std::uint64_t>(*run_ms * 1e6);
    tracker.record(backend, r);
  }
  const backend_load& load(std::size_t backend = 0) const { return tracker.load(backend); }
};

TEST(LoadTracker, AnEmptyQueueAndAnIdleProcessAreNotBusy) {
  readings r;
  r.read(0, 0, 0.0);
  r.read(25, 0, 1.0);
  EXPECT_FALSE(r.load().busy);
  EXPECT_EQ(r.load().queue, 0u);
  EXPECT_EQ(r.load().backlog, 128u);
  ASSERT_TRUE(r.load().cpu_share);
  EXPECT_NEAR(*r.load().cpu_share, 0.04, 1e-9);
}

TEST(LoadTracker, AQueueThatDoesNotShrinkIsBusy) {
  readings r;
  r.read(0, 1);
  EXPECT_TRUE(r.load().busy) << "a first reading with a queue";
  r.read(1, 3);
  EXPECT_TRUE(r.load().busy) << "growing";
  r.read(2, 3);
  EXPECT_TRUE(r.load().busy) << "steady";
  r.read(3, 2);
  EXPECT_FALSE(r.load().busy) << "shrinking: the backend is accepting";
  EXPECT_TRUE(r.load().queue_shrinking);
  r.read(4, 0);
  EXPECT_FALSE(r.load().busy);
  EXPECT_FALSE(r.load(1).busy) << "the other backend, never read";
}

TEST(LoadTracker, CpuShareIsMeasuredOverWholeWindows) {
  readings r;
  r.read(0, 0, 100.0);
  r.read(4, 0, 104.0);
  EXPECT_FALSE(r.load().cpu_share) << "no window complete yet";
  EXPECT_FALSE(r.load().busy);
  r.read(20, 0, 120.0);  // 20 ms on CPU in 20 ms
  ASSERT_TRUE(r.load().cpu_share);
  EXPECT_DOUBLE_EQ(*r.load().cpu_share, 1.0);
  EXPECT_TRUE(r.load().busy) << "on CPU all the time, though its queue is empty";
  r.read(30, 0, 120.0);  // idle, but the window is not over: the last share stands
  EXPECT_DOUBLE_EQ(*r.load().cpu_share, 1.0);
  r.read(40, 0, 121.0);  // 1 ms in 20 ms
  EXPECT_DOUBLE_EQ(*r.load().cpu_share, 0.05);
  EXPECT_FALSE(r.load().busy);
}

TEST(LoadTracker, ANewProcessStartsAfresh) {
  readings r;
  r.read(0, 0, 500.0);
  r.read(20, 0, 520.0);
  EXPECT_TRUE(r.load().busy);
  r.read(21, 0, 3.0);  // the run time went back: another process
  EXPECT_FALSE(r.load().cpu_share);
  EXPECT_FALSE(r.load().busy);
  r.read(41, 0, 4.0);
  EXPECT_DOUBLE_EQ(*r.load().cpu_share, 0.05);
  r.read(42, 0);  // no process
  EXPECT_FALSE(r.load().cpu_share);
  r.read(43, 2, 0.0);
  r.tracker.forget(0);
  EXPECT_EQ(r.load().queue, 0u);
  EXPECT_FALSE(r.load().busy);
}

TEST(LoadTracker, TheThresholdsAreParameters) {
  load_tracker tracker(1, {.queue_at_least = 5, .cpu_share_at_least = 0.5, .cpu_window = 10ms});
  auto read = [&](int at_ms, std::uint32_t queue, std::uint64_t run_ms) {
    tracker.record(0, {.at = time_point{} + std::chrono::milliseconds(at_ms),
                       .queue = queue,
                       .backlog = 8,
                       .run_ns = run_ms * 1'000'000});
  };
  read(0, 4, 0);
  EXPECT_FALSE(tracker.load(0).busy) << "4 waiting, fewer than 5";
  read(1, 5, 0);
  EXPECT_TRUE(tracker.load(0).busy);
  read(2, 0, 0);
  read(12, 0, 6);  // 6 ms in 10 ms: 0.6 >= 0.5
  EXPECT_TRUE(tracker.load(0).busy);
}

}  // namespace
}  // namespace pinwheel::direct
