#include "common/local_error.hpp"

#include <asio/error.hpp>
#include <cerrno>

namespace pinwheel {

bool is_local_error(const std::error_code& ec) {
  // Asio reports errno values in a category of its own, not std::system_category().
  const std::error_category& category = ec.category();
  if (category != std::system_category() && category != std::generic_category() &&
      category != asio::error::get_system_category()) {
    return false;
  }
  switch (ec.value()) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
    case EADDRNOTAVAIL:
      return true;
    default:
      return false;
  }
}

}  // namespace pinwheel
