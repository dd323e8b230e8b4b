// A host for planning tests: four cores, Linux's default ephemeral range, one address on the
// network besides loopback, plenty of descriptors, a fixed "random" start and ports that are
// free unless a test takes them. Nothing touches the real machine.
#pragma once

#include <set>

#include "config/host_facts.hpp"

namespace pinwheel::test {

/// host_facts whose try_bind fails with EADDRINUSE for the endpoints in `taken`.
class fake_host {
 public:
  fake_host() {
    facts.cpus = {0, 1, 2, 3};
    facts.ephemeral_ports = {32768, 60999};
    facts.local_addresses = {asio::ip::make_address("192.0.2.2"),
                             asio::ip::make_address("fd00::2")};
    facts.open_files = 1 << 20;
    facts.random = 0;
    facts.try_bind = [this](const asio::ip::tcp::endpoint& endpoint, bool) -> std::error_code {
      ++binds;
      if (taken.count(endpoint)) return std::make_error_code(std::errc::address_in_use);
      return {};
    };
  }
  fake_host(const fake_host&) = delete;
  fake_host& operator=(const fake_host&) = delete;

  host_facts facts;
  std::set<asio::ip::tcp::endpoint> taken;
  /// Calls of try_bind so far.
  int binds = 0;
};

}  // namespace pinwheel::test
