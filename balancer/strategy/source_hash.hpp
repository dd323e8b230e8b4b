// Source hash: consistent hashing on the client's address, so one client keeps reaching one
// backend (sticky sessions without looking into the bytes). A Maglev lookup table (Eisenbud et
// al., NSDI 2016): each backend fills slots of a prime-sized table in the order of its own
// permutation, taking turns in proportion to its weight; a client hashes to a slot.
//
// The table covers every member of weight above 0, usable or not. A client whose backend is
// unusable or avoided walks on to the next slot whose backend is eligible: so a backend going
// down moves only its own clients (spread over the others as their slots follow its slots), and
// coming back it gets exactly those clients back. Membership changes (add, retire) rebuild the
// table, and Maglev moves few other clients then. Weights count; slow start does not apply, as
// a client's backend is fixed by its address. Single-threaded; no allocation per pick.
#pragma once

#include <cstdint>
#include <vector>

#include "strategy/strategy.hpp"

namespace pinwheel {

class source_hash : public strategy {
 public:
  /// Slots in the lookup table: prime, and far above the number of backends.
  static constexpr std::uint32_t kTableSize = 65537;

  explicit source_hash(const backend_pool& pool);

  backend* pick(const asio::ip::address& client, std::span<backend* const> avoid) override;
  void members_changed(std::span<backend* const> members) override;

  /// For each slot of the table, the backend pick() reaches from it now: the slot's own if
  /// eligible, else the next eligible slot's (nullptr everywhere when none is). pick(client)
  /// is resolved_slots()[hash_address(client) % kTableSize]: direct mode's steering program
  /// reads this table, so both modes send a client to the same backend. One pass, O(slots).
  std::vector<backend*> resolved_slots(std::span<backend* const> avoid = {});

 private:
  void build(std::span<backend* const> members);

  const backend_pool& pool_;
  std::vector<backend*> members_;     // the pool's members when the table was built
  std::vector<backend*> backends_;    // those in the table, as it was built
  std::vector<std::uint32_t> table_;  // slot -> index into backends_
};

/// A 64-bit hash of a client address (its bytes, version-aware), stable across runs.
std::uint64_t hash_address(const asio::ip::address& address);

}  // namespace pinwheel
