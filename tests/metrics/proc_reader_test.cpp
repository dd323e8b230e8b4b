#include "metrics/proc_reader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace pinwheel {
namespace {

TEST(ProcReader, ParsesAStatLineWhoseNameHasSpacesAndParentheses) {
  // Fields 14/15 (utime, stime) = 150 + 50 ticks, 22 (start) = 1000 ticks, 24 (rss) = 10 pages.
  std::string line =
      "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 1000 123456 10 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto usage = parse_proc_stat(line, 1'700'000'000, 100, 4096);
  ASSERT_TRUE(usage);
  EXPECT_DOUBLE_EQ(usage->cpu_seconds, 2.0);
  EXPECT_EQ(usage->resident_bytes, 40960u);
  EXPECT_DOUBLE_EQ(usage->start_time, 1'700'000'010.0);
}

TEST(ProcReader, RejectsWhatIsNotAStatLine) {
  EXPECT_FALSE(parse_proc_stat("", 0, 100, 4096));
  EXPECT_FALSE(parse_proc_stat("42 (x) S 1 2 3", 0, 100, 4096));
  EXPECT_FALSE(parse_proc_stat(
      "42 (x) S 1 42 42 0 -1 4194560 100 0 0 0 abc 50 0 0 20 0 1 0 1000 123456 10 1", 0, 100,
      4096));
}

TEST(ProcReader, ReadsItsOwnProcess) {
  auto self = read_own_process();
  ASSERT_TRUE(self);
  EXPECT_GT(self->usage.resident_bytes, 0u);
  EXPECT_GT(self->open_fds, 2u);
  EXPECT_GT(self->max_fds, 0u);
  EXPECT_GT(self->usage.start_time, 1e9);
  EXPECT_FALSE(read_process_usage(0));
}

}  // namespace
}  // namespace pinwheel
