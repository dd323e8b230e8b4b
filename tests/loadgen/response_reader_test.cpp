#include "response_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pinwheel::loadgen {
namespace {

using state = response_reader::state;

state feed_all(response_reader& r, const std::string& bytes) {
  return r.feed(bytes.data(), bytes.size());
}

TEST(response_reader, content_length_body_in_pieces) {
  response_reader r(100);
  EXPECT_EQ(feed_all(r, "HTTP/1.1 200 OK\r\nContent-Len"), state::incomplete);
  EXPECT_EQ(feed_all(r, "gth: 5\r\n\r\nhel"), state::incomplete);
  EXPECT_EQ(feed_all(r, "lo"), state::complete);
  EXPECT_EQ(r.status(), 200);
  EXPECT_TRUE(r.keep_alive());
  EXPECT_EQ(r.body(), "hello");
}

TEST(response_reader, chunked_body_and_connection_close) {
  response_reader r(3);
  EXPECT_EQ(feed_all(r,
                     "HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                     "4\r\nbusy\r\n0\r\n\r\n"),
            state::complete);
  EXPECT_EQ(r.status(), 503);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_EQ(r.body(), "bus");
}

TEST(response_reader, close_delimited_body_completes_at_end_of_stream) {
  response_reader r(100);
  EXPECT_EQ(feed_all(r, "HTTP/1.0 200 OK\r\n\r\nall of it"), state::incomplete);
  EXPECT_EQ(r.finish(), state::complete);
  EXPECT_EQ(r.body(), "all of it");
  EXPECT_FALSE(r.keep_alive());
}

TEST(response_reader, cut_response_and_garbage) {
  response_reader cut(0);
  EXPECT_EQ(feed_all(cut, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), state::incomplete);
  EXPECT_NE(cut.finish(), state::complete);
  response_reader nothing(0);
  EXPECT_EQ(nothing.finish(), state::incomplete);
  EXPECT_FALSE(nothing.started());
  response_reader garbage(0);
  EXPECT_EQ(feed_all(garbage, "SSH-2.0-OpenSSH\r\n"), state::bad);
}

}  // namespace
}  // namespace pinwheel::loadgen
