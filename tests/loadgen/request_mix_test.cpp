#include "request_mix.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

namespace pinwheel::loadgen {
namespace {

TEST(request_mix, parses_weights_methods_and_targets) {
  const request_mix mix = request_mix::parse("90:GET /fast, 10:GET /slow?ms=200");
  ASSERT_EQ(mix.classes().size(), 2u);
  EXPECT_EQ(mix.classes()[0].weight, 90u);
  EXPECT_EQ(mix.classes()[0].method, "GET");
  EXPECT_EQ(mix.classes()[0].target, "/fast");
  EXPECT_EQ(mix.classes()[1].name, "GET /slow?ms=200");
}

TEST(request_mix, weight_and_method_may_be_left_out) {
  const request_mix mix = request_mix::parse("/a,HEAD /b,3:/c?t=1:2");
  ASSERT_EQ(mix.classes().size(), 3u);
  EXPECT_EQ(mix.classes()[0].name, "GET /a");
  EXPECT_EQ(mix.classes()[0].weight, 1u);
  EXPECT_EQ(mix.classes()[1].method, "HEAD");
  EXPECT_EQ(mix.classes()[2].weight, 3u);
  EXPECT_EQ(mix.classes()[2].target, "/c?t=1:2");
}

TEST(request_mix, rotation_keeps_exact_proportions_in_every_window) {
  request_mix mix = request_mix::parse("95:/fast,5:/slow");
  for (int window = 0; window < 3; ++window) {
    std::map<std::size_t, int> seen;
    for (int i = 0; i < 100; ++i) ++seen[mix.next()];
    EXPECT_EQ(seen[0], 95);
    EXPECT_EQ(seen[1], 5);
  }
}

TEST(request_mix, rotation_spreads_the_rare_class) {
  // Smooth rotation: the two slow requests of 10 are not back to back.
  request_mix mix = request_mix::parse("8:/fast,2:/slow");
  std::vector<std::size_t> order;
  for (int i = 0; i < 10; ++i) order.push_back(mix.next());
  for (std::size_t i = 1; i < order.size(); ++i) {
    EXPECT_FALSE(order[i] == 1 && order[i - 1] == 1);
  }
}

TEST(request_mix, bad_items_name_the_item_and_the_problem) {
  const auto message = [](const char* spec) {
    try {
      request_mix::parse(spec);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("90:/fast,x:/slow"),
            "--mix item 2 (\"x:/slow\"): weight must be an integer from 1 to 1000000");
  EXPECT_EQ(message("0:/fast"),
            "--mix item 1 (\"0:/fast\"): weight must be an integer from 1 to 1000000");
  EXPECT_EQ(message("fast"), "--mix item 1 (\"fast\"): target must start with '/'");
  EXPECT_EQ(message("get /fast"),
            "--mix item 1 (\"get /fast\"): method must be upper-case letters");
  EXPECT_EQ(message("/a,"), "--mix item 2 (\"\"): empty; expected WEIGHT:METHOD TARGET");
}

}  // namespace
}  // namespace pinwheel::loadgen
