// What planning needs to know about the machine, read once at start-up.
//
// Planning and validation see the host only through host_facts, so tests fake it: cores,
// addresses, limits, randomness and whether a port can be bound (LevelDB's Env, in small).
#pragma once

#include <sys/types.h>

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace pinwheel {

/// Ports first to last, inclusive.
struct port_range {
  std::uint16_t first = 32768;
  std::uint16_t last = 60999;
};

struct host_facts {
  /// Cores this process may run on, ascending.
  std::vector<int> cpus;
  /// Where the kernel takes local ports for outgoing connections; backends keep out of it.
  port_range ephemeral_ports;
  /// Addresses of this host's interfaces; loopback addresses are local whether listed or not.
  std::vector<asio::ip::address> local_addresses;
  /// The soft RLIMIT_NOFILE in effect: descriptors this process may hold.
  std::uint64_t open_files = 1024;
  /// Where the search for free ports starts, so that Pinwheels starting together rarely probe
  /// the same ports.
  std::uint64_t random = 0;
  /// Binds `endpoint` for a moment (with SO_REUSEADDR if `reuse_address`) and releases it;
  /// returns why it could not.
  std::function<std::error_code(const asio::ip::tcp::endpoint& endpoint, bool reuse_address)>
      try_bind;

  /// Privileges: who this process runs as (0: root) and the hard RLIMIT_NOFILE, which only
  /// root may raise.
  uid_t uid = 0;
  gid_t gid = 0;
  std::uint64_t open_files_hard = UINT64_MAX;

  /// True for a loopback address, an unspecified one, or one in local_addresses.
  bool is_local(const asio::ip::address& address) const;
};

/// The real host. Throws std::system_error if the allowed cores cannot be read.
host_facts read_host_facts();

/// "32768\t60999\n" as /proc/sys/net/ipv4/ip_local_port_range holds it; nullopt if malformed.
std::optional<port_range> parse_port_range(std::string_view text);

/// The ephemeral port range from `path`; Linux's default 32768-60999 if it cannot be read.
port_range read_ephemeral_ports(const std::string& path = "/proc/sys/net/ipv4/ip_local_port_range");

/// The real host_facts::try_bind.
std::error_code try_bind(const asio::ip::tcp::endpoint& endpoint, bool reuse_address);

}  // namespace pinwheel
