#include "supervisor/notify_message.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

TEST(NotifyMessage, ReadsTheAssignmentsPinwheelActsOn) {
  notify_message m = parse_notify_message("READY=1\nSTATUS=Serving 3 clients\nWATCHDOG=1\n");
  EXPECT_TRUE(m.malformed.empty());
  EXPECT_TRUE(m.ready);
  EXPECT_TRUE(m.watchdog);
  EXPECT_FALSE(m.stopping);
  ASSERT_TRUE(m.status);
  EXPECT_EQ(*m.status, "Serving 3 clients");
}

TEST(NotifyMessage, UnknownKeysAreValidAndIgnored) {
  notify_message m = parse_notify_message("MAINPID=42\nEXTEND_TIMEOUT_USEC=1000\nSTOPPING=1");
  EXPECT_TRUE(m.malformed.empty());
  EXPECT_TRUE(m.stopping);
  EXPECT_FALSE(m.ready);
  EXPECT_FALSE(m.status);
}

TEST(NotifyMessage, ReadyOtherThanOneMeansNothing) {
  EXPECT_FALSE(parse_notify_message("READY=0").ready);
}

TEST(NotifyMessage, MalformedDatagramsSayWhy) {
  EXPECT_NE(parse_notify_message("").malformed, "");
  EXPECT_NE(parse_notify_message("\n\n").malformed, "");
  EXPECT_NE(parse_notify_message("hello").malformed.find("not KEY=VALUE"), std::string::npos);
  EXPECT_NE(parse_notify_message("=1").malformed, "");
  EXPECT_NE(parse_notify_message(std::string_view("READY=1\0x", 9)).malformed.find("NUL"),
            std::string::npos);
}

}  // namespace
}  // namespace pinwheel
