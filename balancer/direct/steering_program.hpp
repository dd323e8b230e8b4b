// The SK_REUSEPORT program that picks a listening socket for each new connection (each SYN).
//
// It reads two maps the balancer writes and one it shares:
//   targets  (ARRAY, u32 key -> u32): key 0 holds n, keys 1..n the socket index of each slot;
//   cursor   (ARRAY, one u64): the rotation position, advanced by the program atomically;
//   sockets  (REUSEPORT_SOCKARRAY): socket i at key i, and the parking socket.
// With n > 0 it selects the socket of slot (cursor++ % n). With n == 0 it selects the parking
// socket, whose accept queue is kept full, so the kernel drops the SYN silently and the client
// retransmits it (1 s, 3 s, 7 s... later) until a target is named. Returning SK_DROP instead
// would make the kernel answer with a RST, as for a closed port: the client is refused. The
// program does that only when the selection fails (no socket at that index), and never
// falls back to the kernel's hash, which would pick a socket the balancer did not choose.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

namespace pinwheel::direct {

/// The descriptors of the maps the program reads (built into its instructions), and the key
/// of the parking socket in `sockets`.
struct steering_maps {
  int targets;
  int cursor;
  int sockets;
  std::uint32_t parking;
};

/// The program's instructions, ready for BPF_PROG_LOAD as BPF_PROG_TYPE_SK_REUSEPORT.
std::vector<bpf_insn> steering_program(const steering_maps& maps);

}  // namespace pinwheel::direct
