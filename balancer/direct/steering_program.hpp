// The SK_REUSEPORT program that picks a listening socket for each new connection (each SYN).
//
// Maps the balancer writes (W) or reads (R):
//   probes   (HASH, u16 -> u32, W): a health check's TCP source port, as it appears in the
//            packet (network order), -> the socket its connection must reach;
//   mode     (ARRAY, one u32, W): steering_mode_word: rotate, hash, or park;
//   targets  (ARRAY, u32 key -> u32, W): key 0 holds n, keys 1..n the socket index of each slot;
//   cursor   (ARRAY, one u64): the rotation position, advanced by the program atomically;
//   resolved (ARRAY, hash_slots u32, W): hash slot -> socket index;
//   sockets  (REUSEPORT_SOCKARRAY, W): socket i at key i, and the parking socket;
//   steered  (ARRAY, u64 per key of `sockets`, R): connections steered to each socket.
// In that order: a SYN whose source port is in `probes` goes to that socket, whatever the
// rest says (not counted in `steered`: the counts are client load). Otherwise, by the mode:
// rotate selects the socket of slot (cursor++ % n), or parks when n == 0; hash hashes the
// client's address as hash_address() does (strategy/source_hash), slot = hash % hash_slots,
// and selects resolved[slot]; park selects the parking socket. Each selection but a probe's
// adds one to steered[socket] (the parking socket's count is of SYNs parked, retransmissions
// included). The parking socket's accept queue is kept full, so the kernel drops the SYN
// silently and the client retransmits it (1 s, 3 s, 7 s... later) until a target is named.
// Returning SK_DROP instead would make the kernel answer with a RST, as for a closed port: the
// client is refused. The program does that only when the selection fails (no socket at that
// index), and never falls back to the kernel's hash, which would pick a socket the balancer
// did not choose.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pinwheel::direct {

/// Slots of the hash table: source_hash::kTableSize, the Maglev table proxy mode uses.
inline constexpr std::uint32_t hash_slots = 65537;

/// The values of the `mode` map.
enum steering_mode_word : std::uint32_t { rotate_word = 0, hash_word = 1, park_word = 2 };

/// The descriptors of the maps the program uses (built into its instructions), and the key
/// of the parking socket in `sockets`.
struct steering_maps {
  int probes;
  int mode;
  int targets;
  int cursor;
  int resolved;
  int sockets;
  int steered;
  std::uint32_t parking;
};

/// The program's instructions, ready for BPF_PROG_LOAD as BPF_PROG_TYPE_SK_REUSEPORT.
std::vector<bpf_insn> steering_program(const steering_maps& maps);

/// A BPF_PROG_TYPE_SOCKET_FILTER program made of the steering program's address hash: it
/// reads `address_size` (4 or 16) bytes at the start of the packet's payload and returns
/// their hash slot. SK_REUSEPORT programs cannot be test-run; this one can
/// (BPF_PROG_TEST_RUN), so a test checks the hash on many addresses against hash_address().
std::vector<bpf_insn> address_slot_filter(std::size_t address_size);

}  // namespace pinwheel::direct
