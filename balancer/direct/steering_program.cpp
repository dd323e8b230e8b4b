#include "direct/steering_program.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>

#include <cstddef>
#include <utility>

#include "direct/bpf_instructions.hpp"

namespace pinwheel::direct {

using namespace insn;

namespace {

// The program under construction, with forward jumps to labels patched when each is placed.
class program_text {
 public:
  using label = std::size_t;

  void add(bpf_insn i) { text_.push_back(i); }
  void add(const std::array<bpf_insn, 2>& wide) {
    text_.insert(text_.end(), wide.begin(), wide.end());
  }
  label new_label() {
    jumps_.emplace_back();
    return jumps_.size() - 1;
  }
  /// if (dst <op> imm) goto to.
  void jump_if(std::uint8_t op, reg dst, std::int32_t imm, label to) {
    jumps_[to].push_back(text_.size());
    add(jump_imm(op, dst, imm, 0));
  }
  /// if (dst <op> src) goto to.
  void jump_if_reg(std::uint8_t op, reg dst, reg src, label to) {
    jumps_[to].push_back(text_.size());
    add(jump_reg(op, dst, src, 0));
  }
  /// goto to.
  void jump(label to) {
    jumps_[to].push_back(text_.size());
    add(jump_always(0));
  }
  /// The next instruction is `here`: every jump to it gets its offset.
  void place(label here) {
    for (std::size_t at : jumps_[here])
      text_[at].off = static_cast<std::int16_t>(text_.size() - (at + 1));
    jumps_[here].clear();
  }
  std::vector<bpf_insn> take() { return std::move(text_); }

 private:
  std::vector<bpf_insn> text_;
  std::vector<std::vector<std::size_t>> jumps_;  // per label, the jumps not yet patched
};

// The stack slots: a u32 map key, the u32 socket index passed to the select helper, the u16
// probe key, and 16 bytes for the client's address.
constexpr std::int16_t key_slot = -4;
constexpr std::int16_t socket_slot = -8;
constexpr std::int16_t port_slot = -10;
constexpr std::int16_t address_slot = -32;

// r0 = lookup(map, key at `key`); a missing element goes to `missing`. Clobbers r1-r5.
void lookup(program_text& p, int map_fd, std::int16_t key, program_text::label missing) {
  p.add(mov64_reg(r2, r10));
  p.add(add64_imm(r2, key));
  p.add(load_map(r1, map_fd));
  p.add(call(BPF_FUNC_map_lookup_elem));
  p.jump_if(BPF_JEQ, r0, 0, missing);
}

// r7 = hash_address()'s hash of the `size` bytes at address_slot, modulo hash_slots: FNV-1a
// seeded with the address version (4 or 6), then splitmix64's finaliser, as
// strategy/source_hash.cpp computes it. Unrolled (no loops to bound). Clobbers r1 and r9.
void hash_slot(program_text& p, std::size_t size) {
  const std::uint64_t seed = size == 4 ? 4 : 6;
  p.add(load_imm64(r7, 0xcbf29ce484222325ULL ^ seed));
  p.add(load_imm64(r9, 0x100000001b3ULL));
  for (std::size_t i = 0; i < size; ++i) {
    p.add(load8(r1, r10, static_cast<std::int16_t>(address_slot + static_cast<int>(i))));
    p.add(xor64_reg(r7, r1));
    p.add(mul64_reg(r7, r9));
  }
  const struct {
    int shift;
    std::uint64_t multiplier;
  } rounds[] = {{30, 0xbf58476d1ce4e5b9ULL}, {27, 0x94d049bb133111ebULL}, {31, 0}};
  for (const auto& round : rounds) {
    p.add(mov64_reg(r1, r7));
    p.add(rsh64_imm(r1, round.shift));
    p.add(xor64_reg(r7, r1));
    if (round.multiplier == 0) continue;
    p.add(load_imm64(r9, round.multiplier));
    p.add(mul64_reg(r7, r9));
  }
  p.add(mod64_imm(r7, static_cast<std::int32_t>(hash_slots)));
}

// The client's address from the network header into address_slot (`load` is the helper that
// reads relative to the network header), then its slot into r7. Unknown protocols go to
// `refuse`. Expects the context in r6.
void client_slot(program_text& p, program_text::label refuse) {
  const auto v6 = p.new_label();
  const auto hashed = p.new_label();
  p.add(load32(r7, r6, offsetof(sk_reuseport_md, eth_protocol)));
  p.jump_if(BPF_JEQ, r7, htons(ETH_P_IPV6), v6);
  p.jump_if(BPF_JNE, r7, htons(ETH_P_IP), refuse);
  // IPv4: the source address is at offset 12 of the header; IPv6: at 8.
  for (const auto& [offset, size] : {std::pair{12, 4}, std::pair{8, 16}}) {
    if (size == 16) p.place(v6);
    p.add(mov64_reg(r1, r6));
    p.add(mov64_imm(r2, offset));
    p.add(mov64_reg(r3, r10));
    p.add(add64_imm(r3, address_slot));
    p.add(mov64_imm(r4, size));
    p.add(mov64_imm(r5, BPF_HDR_START_NET));
    p.add(call(BPF_FUNC_skb_load_bytes_relative));
    p.jump_if(BPF_JNE, r0, 0, refuse);
    hash_slot(p, static_cast<std::size_t>(size));
    if (size == 4) p.jump(hashed);
  }
  p.place(hashed);
}

}  // namespace

std::vector<bpf_insn> steering_program(const steering_maps& maps) {
  program_text p;
  const auto by_mode = p.new_label();
  const auto rotate = p.new_label();
  const auto hash = p.new_label();
  const auto park = p.new_label();
  const auto select = p.new_label();
  const auto passed = p.new_label();
  const auto refuse = p.new_label();

  // r6 = the context (struct sk_reuseport_md), kept for the helpers. r8 = whether the
  // selection counts in `steered` (1) or is a probe's (0).
  p.add(mov64_reg(r6, r1));
  p.add(mov64_imm(r8, 0));

  // A probe? ctx->data starts at the TCP header; its first two bytes are the source port.
  p.add(load64(r2, r6, offsetof(sk_reuseport_md, data)));
  p.add(load64(r3, r6, offsetof(sk_reuseport_md, data_end)));
  p.add(mov64_reg(r4, r2));
  p.add(add64_imm(r4, 2));
  p.jump_if_reg(BPF_JGT, r4, r3, by_mode);
  p.add(load16(r4, r2, 0));
  p.add(store16_reg(r10, port_slot, r4));
  lookup(p, maps.probes, port_slot, by_mode);
  p.add(load32(r1, r0, 0));
  p.jump(select);

  // r7 = the mode.
  p.place(by_mode);
  p.add(mov64_imm(r8, 1));
  p.add(store32_imm(r10, key_slot, 0));
  lookup(p, maps.mode, key_slot, refuse);
  p.add(load32(r7, r0, 0));
  p.jump_if(BPF_JEQ, r7, hash_word, hash);
  p.jump_if(BPF_JEQ, r7, park_word, park);

  // Rotation. r7 = n = targets[0]. No targets: park (the SYN waits for a retry).
  p.add(store32_imm(r10, key_slot, 0));
  lookup(p, maps.targets, key_slot, refuse);
  p.add(load32(r7, r0, 0));
  p.jump_if(BPF_JNE, r7, 0, rotate);
  p.place(park);
  p.add(mov64_imm(r1, static_cast<std::int32_t>(maps.parking)));
  p.jump(select);

  // r1 = cursor[0]++, atomically: concurrent SYNs on other CPUs each get their own position.
  p.place(rotate);
  p.add(store32_imm(r10, key_slot, 0));
  lookup(p, maps.cursor, key_slot, refuse);
  p.add(mov64_imm(r1, 1));
  p.add(atomic_fetch_add64(r0, 0, r1));

  // key = cursor % n + 1; r1 = targets[key], the chosen socket's index.
  p.add(mod64_reg(r1, r7));
  p.add(add64_imm(r1, 1));
  p.add(store32_reg(r10, key_slot, r1));
  lookup(p, maps.targets, key_slot, refuse);
  p.add(load32(r1, r0, 0));
  p.jump(select);

  // Source hash: r1 = resolved[hash(client address) % hash_slots].
  p.place(hash);
  client_slot(p, refuse);
  p.add(store32_reg(r10, key_slot, r7));
  lookup(p, maps.resolved, key_slot, refuse);
  p.add(load32(r1, r0, 0));

  // r0 = bpf_sk_select_reuseport(ctx, sockets, &r1, 0); 0: pass to that socket.
  p.place(select);
  p.add(store32_reg(r10, socket_slot, r1));
  p.add(mov64_reg(r1, r6));
  p.add(load_map(r2, maps.sockets));
  p.add(mov64_reg(r3, r10));
  p.add(add64_imm(r3, socket_slot));
  p.add(mov64_imm(r4, 0));
  p.add(call(BPF_FUNC_sk_select_reuseport));
  p.jump_if(BPF_JNE, r0, 0, refuse);

  // steered[socket] += 1, unless a probe's.
  p.jump_if(BPF_JEQ, r8, 0, passed);
  lookup(p, maps.steered, socket_slot, passed);
  p.add(mov64_imm(r1, 1));
  p.add(atomic_add64(r0, 0, r1));
  p.place(passed);
  p.add(mov64_imm(r0, SK_PASS));
  p.add(exit_insn());

  // The selection failed (no socket at that index): refuse (the kernel answers RST).
  p.place(refuse);
  p.add(mov64_imm(r0, SK_DROP));
  p.add(exit_insn());
  return p.take();
}

std::vector<bpf_insn> address_slot_filter(std::size_t address_size) {
  program_text p;
  const auto failed = p.new_label();
  // bpf_skb_load_bytes(skb, 0, address_slot, size): the bytes after the Ethernet header.
  p.add(mov64_reg(r2, r10));
  p.add(add64_imm(r2, address_slot));
  p.add(mov64_reg(r3, r2));
  p.add(mov64_imm(r2, 0));
  p.add(mov64_imm(r4, static_cast<std::int32_t>(address_size)));
  p.add(call(BPF_FUNC_skb_load_bytes));
  p.jump_if(BPF_JNE, r0, 0, failed);
  hash_slot(p, address_size);
  p.add(mov64_reg(r0, r7));
  p.add(exit_insn());
  p.place(failed);
  p.add(mov64_imm(r0, -1));
  p.add(exit_insn());
  return p.take();
}

}  // namespace pinwheel::direct
