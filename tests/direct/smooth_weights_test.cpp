#include "direct/smooth_weights.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace pinwheel::direct {
namespace {

using slots = std::vector<std::uint32_t>;

slots expand(const std::vector<std::uint32_t>& weights, std::size_t max_slots = 16384) {
  return smooth_weighted_slots(weights, max_slots);
}

TEST(SmoothWeightedSlots, EqualWeightsRotateInOrder) {
  EXPECT_EQ(expand({1, 1, 1}), (slots{0, 1, 2}));
  // Scaled by their common divisor: the same cycle, not 300 slots.
  EXPECT_EQ(expand({100, 100, 100}), (slots{0, 1, 2}));
}

TEST(SmoothWeightedSlots, InterleavesAsNginxDoes) {
  // nginx's documented example: weights 5, 1, 1 give a a b a c a a.
  EXPECT_EQ(expand({5, 1, 1}), (slots{0, 0, 1, 0, 2, 0, 0}));
  EXPECT_EQ(expand({2, 1}), (slots{0, 1, 0}));
}

TEST(SmoothWeightedSlots, EachIndexAppearsInProportionToItsWeight) {
  const slots s = expand({3, 0, 7, 5});
  ASSERT_EQ(s.size(), 15u);
  EXPECT_EQ(std::count(s.begin(), s.end(), 0u), 3);
  EXPECT_EQ(std::count(s.begin(), s.end(), 1u), 0);
  EXPECT_EQ(std::count(s.begin(), s.end(), 2u), 7);
  EXPECT_EQ(std::count(s.begin(), s.end(), 3u), 5);
  // Smooth: the heaviest never runs more than twice in a row here.
  for (std::size_t i = 2; i < s.size(); ++i)
    EXPECT_FALSE(s[i] == 2 && s[i - 1] == 2 && s[i - 2] == 2) << "at " << i;
}

TEST(SmoothWeightedSlots, ZeroWeightsAndNoBackendsGiveAnEmptyList) {
  EXPECT_TRUE(expand({}).empty());
  EXPECT_TRUE(expand({0, 0}).empty());
  EXPECT_EQ(expand({0, 4, 0}), (slots{1}));
}

TEST(SmoothWeightedSlots, RefusesAListLongerThanTheTable) {
  EXPECT_EQ(expand({3, 4}, 7).size(), 7u);
  try {
    expand({3, 4}, 6);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("7 slots"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pinwheel::direct
