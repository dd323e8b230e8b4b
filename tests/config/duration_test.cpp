#include "config/duration.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

TEST(Duration, ParsesEachUnitAndCombinations) {
  EXPECT_EQ(parse_duration("500ms"), duration(500));
  EXPECT_EQ(parse_duration("2s"), duration(2000));
  EXPECT_EQ(parse_duration("1m"), duration(60'000));
  EXPECT_EQ(parse_duration("1h"), duration(3'600'000));
  EXPECT_EQ(parse_duration("1m30s"), duration(90'000));
  EXPECT_EQ(parse_duration("0s"), duration(0));
}

TEST(Duration, RejectsWhatIsNotADuration) {
  for (const char* bad :
       {"", "5", "s", "2 s", "1.5s", "-1s", "2sec", "ms", "10x", "99999999999s"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  }
}

TEST(Duration, FormatsShortestExactSpelling) {
  EXPECT_EQ(format_duration(duration(0)), "0s");
  EXPECT_EQ(format_duration(duration(500)), "500ms");
  EXPECT_EQ(format_duration(duration(2000)), "2s");
  EXPECT_EQ(format_duration(duration(90'000)), "1m30s");
  EXPECT_EQ(format_duration(duration(3'600'250)), "1h250ms");
}

}  // namespace
}  // namespace pinwheel
