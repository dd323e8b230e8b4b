// What one run will do, decided before anything starts: cores, ports, commands.
//
// Made from loaded options and the host's facts, then validated as a whole (validate_plan.hpp):
// `pinwheel --check` prints the same plan that `pinwheel` executes.
#pragma once

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "config/host_facts.hpp"
#include "config/options.hpp"

namespace pinwheel {

struct backend_plan {
  std::size_t index = 0;
  /// Its name: a server's configured name, else its index.
  std::string name;
  /// Share of connections relative to the others; 0: never picked.
  unsigned weight = 1;
  asio::ip::tcp::endpoint endpoint;
  /// -1 for servers Pinwheel does not spawn.
  int cpu = -1;
  /// The spawn command with placeholders filled in; empty for servers.
  std::vector<std::string> argv;
};

struct run_plan {
  int balancer_cpu = 0;
  std::vector<backend_plan> backends;
  /// The open-file limit the run has (soft RLIMIT_NOFILE).
  std::uint64_t open_files = 0;
  /// Worth telling the operator once (e.g. cores shared); never fatal.
  std::vector<std::string> warnings;
};

/// Plans the run on `host`, then validates options and plan together (validate_plan()): the one
/// path of both `pinwheel` and `pinwheel --check`. Throws config_error naming the key's origin.
run_plan make_plan(const options& o, const host_facts& host);

/// The effective settings, one per line, as `pinwheel --check` prints them.
std::string describe(const options& o, const run_plan& plan);

}  // namespace pinwheel
