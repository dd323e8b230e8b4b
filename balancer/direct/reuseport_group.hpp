// N listening TCP sockets on one address (SO_REUSEPORT) and the BPF program that picks which
// of them receives each new connection (steering_program.hpp): in rotation over a target list,
// or by the client's address through a hash table, both written by the balancer; and
// connections from registered health-check source ports to the socket each names.
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
// thread-safe: one owner (the event loop) calls the setters; the program runs concurrently in
// the kernel and always sees a consistent-enough state (see set_targets, set_hash_table).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/owned_fd.hpp"
#include "direct/steering_program.hpp"

namespace pinwheel::direct {

/// How the program picks the socket for a client's connection.
enum class steering_mode {
  rotate,  // over the target list (set_targets): round-robin, weighted round-robin
  hash,    // by the client's address (set_hash_table): source hash
};

class reuseport_group {
 public:
  /// The longest target list (slots); smooth_weighted_slots() takes it as its bound.
  static constexpr std::size_t max_targets = 16384;
  /// The most probe ports registered at once (steer_probe).
  static constexpr std::size_t max_probes = 4096;

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

  /// Rotation (the initial mode) or hash. Switching to hash before set_hash_table() has been
  /// given a table parks new connections until it is.
  void set_mode(steering_mode mode);
  steering_mode mode() const { return mode_; }

  /// The hash mode's table: slot_to_socket[s] is the socket for clients whose address hashes
  /// to slot s (hash_address(client) % hash_slots, as source_hash computes it; the caller
  /// applies source_hash's walk to the next eligible slot). It must have exactly hash_slots
  /// (65537) entries, or none: then, in hash mode, new connections wait (parked) as with no
  /// target. Only the slots that changed are written, in one bpf() call where the kernel has
  /// batch updates; while they are written a client may reach its old or its new socket.
  /// Throws std::invalid_argument for another size or an index >= size().
  void set_hash_table(std::span<const std::uint32_t> slot_to_socket);

  /// Steers connections whose TCP source port is `local_port` (host order) to `socket`,
  /// whatever the mode, targets or hash table say: the health checker connects through the
  /// public port and reaches the backend it checks, even an unusable one (open_probe() makes
  /// such a socket). A client connecting from the same source port (from another address)
  /// meanwhile would be steered there too: harmless, the socket is a live backend's. At most
  /// max_probes at once. Throws std::invalid_argument for socket >= size(), std::system_error
  /// when the map is full.
  void steer_probe(std::uint16_t local_port, std::size_t socket);
  /// Forgets a probe port (once its connection is established or has failed: only the SYN is
  /// steered). Forgetting an unknown port does nothing.
  void forget_probe(std::uint16_t local_port);

  /// Connections the program steered to socket i since the group was made: every selection
  /// but a probe's (rotation and hash alike). It counts SYNs: one the kernel drops after the
  /// selection (that socket's queue full) and the client retransmits counts again. Read from
  /// the kernel at each call (one bpf()).
  std::uint64_t steered(std::size_t socket) const;
  /// steered(i) of every socket, index i: one bpf() call for all.
  std::vector<std::uint64_t> steered_counts() const;
  /// SYNs parked (no target, or hash mode without a table), retransmissions included; the
  /// group's own connection that fills the parking queue is not counted.
  std::uint64_t parked() const;

  /// Where a process on this host connects to reach the group: its address and port, the
  /// wildcard address replaced by loopback.
  const sockaddr_storage& local_address() const { return local_address_; }

  /// Closes the sockets, the maps and the program. Connections still in a backlog are reset.
  /// Idempotent; the destructor does the same.
  void close();

 private:
  // Throws std::invalid_argument naming `what` when `socket` >= size().
  void check_socket(std::size_t socket, const char* what) const;
  void write_mode();

  owned_fd probes_map_;
  owned_fd mode_map_;
  owned_fd resolved_map_;
  owned_fd steered_map_;
  owned_fd targets_map_;
  owned_fd cursor_map_;
  owned_fd sockets_map_;
  owned_fd program_;
  std::vector<owned_fd> listeners_;
  owned_fd parking_;         // the listening socket SYNs wait on while there is no target
  owned_fd parking_filler_;  // our end of the connection that keeps its queue full
  std::uint16_t port_ = 0;
  std::uint32_t target_count_ = 0;
  steering_mode mode_ = steering_mode::rotate;
  std::vector<std::uint32_t> hash_table_;  // as the kernel has it (all 0 at first)
  bool has_hash_table_ = false;
  sockaddr_storage local_address_{};
};

}  // namespace pinwheel::direct
