// N listening TCP sockets on one address (SO_REUSEPORT) and the BPF program that picks which
// of them receives each new connection, from a target list the balancer writes.
//
// Direct mode's kernel side: socket i is meant for backend i (handed over as descriptor 3);
// the group keeps its own copy of every socket open, so while backend i restarts, connections
// steered to it wait in socket i's backlog instead of being refused. The group never accepts.
//
// With no target, new connections wait: the program steers their SYNs to a parking socket of
// the group's own (listen backlog 0, its queue kept full by one connection the group makes to
// itself), where the kernel drops them silently; clients retransmit (1 s, then 3 s, 7 s...)
// until set_targets() names a socket. The program is attached before the first socket
// listens, so the kernel's hash never picks a socket. Every descriptor is close-on-exec. Not
// thread-safe: one owner (the event loop) calls set_targets(); the program runs concurrently in the
// kernel and always sees a consistent-enough list (see set_targets).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "direct/owned_fd.hpp"

namespace pinwheel::direct {

class reuseport_group {
 public:
  /// The longest target list (slots); smooth_weighted_slots() takes it as its bound.
  static constexpr std::size_t max_targets = 16384;

  /// Creates the maps, loads and attaches the program, then binds and listens on `count`
  /// sockets at `address` (IPv4 or IPv6; port 0 picks one port for all). Throws
  /// std::system_error: bpf() not permitted or not supported (the message says what to do),
  /// the address in use, and so on.
  reuseport_group(const sockaddr_storage& address, std::size_t count, int backlog = SOMAXCONN);

  reuseport_group(reuseport_group&&) noexcept = default;
  reuseport_group& operator=(reuseport_group&&) noexcept = default;

  /// The number of listening sockets.
  std::size_t size() const { return listeners_.size(); }
  /// The port every socket listens on.
  std::uint16_t port() const { return port_; }
  /// Socket i's descriptor, still owned by the group (dup it to hand it to a child).
  int listener_fd(std::size_t i) const { return listeners_.at(i).get(); }

  /// Steers new connections over `slots` in turn: each entry is a socket index, repeated and
  /// interleaved for weights (smooth_weighted_slots). Empty: new connections wait (see above).
  /// The writes are ordered so that the running program never reads past the list it sees:
  /// a longer list is written before its length, a shorter one after. Throws
  /// std::invalid_argument for an index >= size() or more than max_targets slots.
  void set_targets(std::span<const std::uint32_t> slots);

  /// Closes the sockets, the maps and the program. Connections still in a backlog are reset.
  /// Idempotent; the destructor does the same.
  void close();

 private:
  owned_fd targets_map_;
  owned_fd cursor_map_;
  owned_fd sockets_map_;
  owned_fd program_;
  std::vector<owned_fd> listeners_;
  owned_fd parking_;         // the listening socket SYNs wait on while there is no target
  owned_fd parking_filler_;  // our end of the connection that keeps its queue full
  std::uint16_t port_ = 0;
  std::uint32_t target_count_ = 0;
};

}  // namespace pinwheel::direct
