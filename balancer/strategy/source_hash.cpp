#include "strategy/source_hash.hpp"

#include <algorithm>
#include <string_view>

namespace pinwheel {

namespace {

// FNV-1a, then splitmix64's finaliser: addresses that differ in one byte land far apart.
std::uint64_t hash_bytes(const unsigned char* data, std::size_t size, std::uint64_t seed) {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::uint64_t hash_name(std::string_view name, std::uint64_t seed) {
  return hash_bytes(reinterpret_cast<const unsigned char*>(name.data()), name.size(), seed);
}

}  // namespace

std::uint64_t hash_address(const asio::ip::address& address) {
  if (address.is_v4()) {
    auto bytes = address.to_v4().to_bytes();
    return hash_bytes(bytes.data(), bytes.size(), 4);
  }
  auto bytes = address.to_v6().to_bytes();
  return hash_bytes(bytes.data(), bytes.size(), 6);
}

source_hash::source_hash(const backend_pool& pool) : pool_(pool) { build(pool.members()); }

backend* source_hash::pick(const asio::ip::address& client, std::span<backend* const> avoid) {
  std::span<backend* const> members = pool_.members();
  if (!std::equal(members.begin(), members.end(), members_.begin(), members_.end())) build(members);
  bool any = false;
  for (const backend* b : backends_) any = any || eligible(b, avoid);
  // Without this check a pool with nothing eligible would walk the whole table.
  if (!any) return nullptr;
  std::uint64_t slot = hash_address(client) % kTableSize;
  for (;; slot = (slot + 1) % kTableSize) {
    backend* b = backends_[table_[slot]];
    if (eligible(b, avoid)) return b;
  }
}

std::vector<backend*> source_hash::resolved_slots(std::span<backend* const> avoid) {
  std::span<backend* const> members = pool_.members();
  if (!std::equal(members.begin(), members.end(), members_.begin(), members_.end())) build(members);
  std::vector<backend*> out(kTableSize, nullptr);
  std::vector<char> usable(backends_.size());
  for (std::size_t i = 0; i < backends_.size(); ++i) usable[i] = eligible(backends_[i], avoid);
  // Backwards over the table twice, so that the slots after the last eligible one wrap around
  // to the first: `next` is the first eligible backend at or after the slot.
  backend* next = nullptr;
  for (std::uint64_t i = 2 * std::uint64_t{kTableSize}; i-- > 0;) {
    const std::uint64_t slot = i % kTableSize;
    if (!table_.empty() && usable[table_[slot]]) next = backends_[table_[slot]];
    if (i < kTableSize) out[slot] = next;
  }
  return out;
}

void source_hash::members_changed(std::span<backend* const> members) { build(members); }

void source_hash::build(std::span<backend* const> members) {
  members_.assign(members.begin(), members.end());
  backends_.clear();
  table_.clear();
  for (backend* b : members) {
    if (b->weight > 0) backends_.push_back(b);
  }
  // Filled in name order, so the table depends on who the backends are, not how they are listed.
  std::sort(backends_.begin(), backends_.end(),
            [](const backend* a, const backend* b) { return a->name < b->name; });
  const std::size_t n = backends_.size();
  if (n == 0) return;
  // Each backend's permutation of the slots: offset + j * skip (mod a prime), from its name.
  struct filler {
    std::uint64_t offset, skip, next = 0, taken = 0, weight;
  };
  std::vector<filler> fillers;
  std::uint64_t heaviest = 0;
  for (const backend* b : backends_) {
    fillers.push_back({hash_name(b->name, 1) % kTableSize,
                       hash_name(b->name, 2) % (kTableSize - 1) + 1, 0, 0, b->weight});
    heaviest = std::max<std::uint64_t>(heaviest, b->weight);
  }
  constexpr std::uint32_t kFree = UINT32_MAX;
  table_.assign(kTableSize, kFree);
  std::size_t filled = 0;
  for (std::uint64_t round = 1; filled < kTableSize; ++round) {
    for (std::size_t i = 0; i < n && filled < kTableSize; ++i) {
      filler& f = fillers[i];
      // Turns in proportion to weight: the heaviest takes a slot every round.
      if (f.taken * heaviest >= round * f.weight) continue;
      std::uint64_t slot;
      do {
        slot = (f.offset + f.next * f.skip) % kTableSize;
        ++f.next;
      } while (table_[slot] != kFree);
      table_[slot] = static_cast<std::uint32_t>(i);
      ++f.taken;
      ++filled;
    }
  }
}

}  // namespace pinwheel
