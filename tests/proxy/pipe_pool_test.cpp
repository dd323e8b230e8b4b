#include "proxy/pipe_pool.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace pinwheel {
namespace {

TEST(PipePool, ReusesAnEmptyPipeAndCapsThoseOpen) {
  pipe_pool pool(64 * 1024, /*max_pipes=*/2);
  int kept_input;
  {
    pipe_pool::lease a = pool.borrow();
    ASSERT_TRUE(a);
    kept_input = a.input();
    pipe_pool::lease b = pool.borrow();
    ASSERT_TRUE(b);
    EXPECT_FALSE(pool.borrow()) << "max_pipes are out: the caller uses a buffer";
    EXPECT_EQ(pool.lent(), 2u);
    EXPECT_EQ(pool.open(), 2u);
    b.give_back();
    pipe_pool::lease c = pool.borrow();
    EXPECT_TRUE(c) << "one went back: it is lent again";
  }
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_EQ(pool.spare(), 2u);
  pipe_pool::lease again = pool.borrow();
  EXPECT_EQ(again.input(), kept_input) << "the last one back is lent first";
}

TEST(PipePool, APipeGivenBackHoldingBytesIsClosedNeverLentAgain) {
  pipe_pool pool(64 * 1024, 4);
  int input;
  int output;
  {
    pipe_pool::lease a = pool.borrow();
    ASSERT_TRUE(a);
    ASSERT_EQ(::write(a.input(), "cut", 3), 3);
    a.held = 3;  // a stream cut short: these bytes belong to nobody else
    input = a.input();
    output = a.output();
  }
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_EQ(pool.spare(), 0u);
  EXPECT_EQ(::fcntl(input, F_GETFD), -1) << "the write end is closed";
  EXPECT_EQ(::fcntl(output, F_GETFD), -1) << "the read end is closed";
}

TEST(PipePool, PipesAreNonBlockingAndAsLargeAsAsked) {
  pipe_pool pool(256 * 1024, 1);
  pipe_pool::lease a = pool.borrow();
  ASSERT_TRUE(a);
  EXPECT_NE(::fcntl(a.input(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(a.output(), F_GETFD) & FD_CLOEXEC, 0);
  char byte;
  EXPECT_EQ(::read(a.output(), &byte, 1), -1) << "empty: EAGAIN, not a blocked event loop";
  // The kernel may refuse a large pipe to a user over fs.pipe-user-pages-soft; not here.
  EXPECT_EQ(::fcntl(a.input(), F_GETPIPE_SZ), 256 * 1024);
}

TEST(PipePool, NoPipesMeansNoSplicing) {
  pipe_pool pool(64 * 1024, 0);
  EXPECT_FALSE(pool.borrow());
  EXPECT_EQ(pool.open(), 0u);
}

}  // namespace
}  // namespace pinwheel
