#include "common/local_error.hpp"

#include <cerrno>

namespace pinwheel {

bool is_local_error(const std::error_code& ec) {
  if (ec.category() != std::system_category()) return false;
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
