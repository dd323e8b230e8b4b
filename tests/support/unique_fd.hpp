// An owned file descriptor, closed when it goes out of scope: the balancer's own.
#pragma once

#include "common/owned_fd.hpp"

namespace pinwheel::test {

using unique_fd = pinwheel::owned_fd;

}  // namespace pinwheel::test
