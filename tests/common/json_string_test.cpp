#include "common/json_string.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

TEST(JsonString, QuotesEscapesAndKeepsUtf8) {
  EXPECT_EQ(json_string(""), "\"\"");
  EXPECT_EQ(json_string("web \"1\" C:\\x"), "\"web \\\"1\\\" C:\\\\x\"");
  EXPECT_EQ(json_string(std::string_view("a\n\t\x01\0b", 6)), "\"a\\n\\t\\u0001\\u0000b\"");
  EXPECT_EQ(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

}  // namespace
}  // namespace pinwheel
