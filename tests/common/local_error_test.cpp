#include "common/local_error.hpp"

#include <gtest/gtest.h>

#include <asio/error.hpp>
#include <cerrno>

namespace pinwheel {
namespace {

TEST(LocalError, TheBalancersOwnShortagesAreLocalWhoeverReportsThem) {
  for (int e : {EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL}) {
    EXPECT_TRUE(is_local_error(std::error_code(e, std::system_category()))) << e;
    EXPECT_TRUE(is_local_error(std::error_code(e, std::generic_category()))) << e;
    // What a health check or proxy connect really gets: Asio has an errno category of its own.
    EXPECT_TRUE(is_local_error(asio::error_code(e, asio::system_category()))) << e;
  }
  EXPECT_TRUE(is_local_error(asio::error::no_descriptors));
  EXPECT_TRUE(is_local_error(asio::error::no_buffer_space));
  EXPECT_TRUE(is_local_error(asio::error::no_memory));
}

TEST(LocalError, ABackendsFaultsAreNot) {
  for (int e : {ECONNREFUSED, ECONNRESET, ETIMEDOUT, EHOSTUNREACH, EPIPE}) {
    EXPECT_FALSE(is_local_error(std::error_code(e, std::system_category()))) << e;
    EXPECT_FALSE(is_local_error(asio::error_code(e, asio::system_category()))) << e;
  }
  EXPECT_FALSE(is_local_error(asio::error::connection_refused));
  EXPECT_FALSE(is_local_error(asio::error::operation_aborted));
}

TEST(LocalError, OtherCategoriesWithTheSameNumbersAreNot) {
  // asio::error::eof is 2 in Asio's "misc" category; a local errno is never that small, but a
  // category that is not errno must never be read as one.
  EXPECT_FALSE(is_local_error(std::error_code(EMFILE, asio::error::get_misc_category())));
  EXPECT_FALSE(is_local_error(std::error_code(ENOMEM, asio::error::get_netdb_category())));
}

}  // namespace
}  // namespace pinwheel
