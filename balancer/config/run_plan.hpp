// What one run will do, decided before anything starts: cores, ports, commands.
//
// Made from validated options; `pinwheel --check` prints it, `pinwheel` executes it.
#pragma once

#include <asio/ip/tcp.hpp>
#include <string>
#include <vector>

#include "config/options.hpp"

namespace pinwheel {

struct backend_plan {
  std::size_t index = 0;
  asio::ip::tcp::endpoint endpoint;
  /// -1 for servers Pinwheel does not spawn.
  int cpu = -1;
  /// The spawn command with placeholders filled in; empty for servers.
  std::vector<std::string> argv;
};

struct run_plan {
  int balancer_cpu = 0;
  std::vector<backend_plan> backends;
  /// Worth telling the operator once (e.g. cores shared); never fatal.
  std::vector<std::string> warnings;
};

/// Plans the run; checks that the listen address and spawned backends' ports are free.
/// Throws config_error naming the key's origin.
run_plan make_plan(const options& o);

/// The effective settings, one per line, as `pinwheel --check` prints them.
std::string describe(const options& o, const run_plan& plan);

/// Binds `endpoint` for a moment; throws config_error naming `key`'s origin if it is taken.
void check_port_free(const options& o, const std::string& key,
                     const asio::ip::tcp::endpoint& endpoint);

}  // namespace pinwheel
