#include "proxy/buffer_pool.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

TEST(BufferPool, ReusesReturnedBuffersUpToTheSpareCap) {
  buffer_pool pool(1024, /*max_spare=*/1);
  char* kept;
  {
    buffer_pool::lease a = pool.borrow();
    buffer_pool::lease b = pool.borrow();
    kept = b.data();  // b goes back first (reverse order of declaration) and is kept
    EXPECT_EQ(a.size(), 1024u);
    EXPECT_EQ(pool.lent(), 2u);
  }
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_EQ(pool.spare(), 1u) << "one spare kept, the other freed";
  buffer_pool::lease again = pool.borrow();
  EXPECT_EQ(again.data(), kept);
  EXPECT_EQ(pool.spare(), 0u);
}

TEST(BufferPool, TheMemoryBudgetCapsBuffersLentAtOnce) {
  buffer_pool pool(1024, 8, /*max_lent=*/2);
  buffer_pool::lease a = pool.borrow();
  buffer_pool::lease b = pool.borrow();
  buffer_pool::lease c = pool.borrow();
  EXPECT_TRUE(a && b);
  EXPECT_FALSE(c) << "past the budget a borrower gets nothing and falls back";
  EXPECT_EQ(c.size(), 0u);
  a.give_back();
  EXPECT_TRUE(pool.borrow()) << "a returned buffer makes room again";
}

TEST(BufferPool, ALeaseGoesBackOnceOnlyWhateverTheOrder) {
  buffer_pool pool(64, 8, 1);
  buffer_pool::lease a = pool.borrow();
  buffer_pool::lease moved = std::move(a);
  a.give_back();  // moved-from: nothing to return
  EXPECT_EQ(pool.lent(), 1u);
  moved.give_back();
  moved.give_back();
  EXPECT_EQ(pool.lent(), 0u);
}

}  // namespace
}  // namespace pinwheel
