#include "direct/steering_program.hpp"

#include <cstddef>

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

// The stack slots: a u32 map key, and the u32 socket index passed to the select helper.
constexpr std::int16_t key_slot = -4;
constexpr std::int16_t socket_slot = -8;

// r0 = lookup(map, key at key_slot); a missing element goes to `missing`. Clobbers r1-r5.
void lookup(program_text& p, int map_fd, program_text::label missing) {
  p.add(mov64_reg(r2, r10));
  p.add(add64_imm(r2, key_slot));
  p.add(load_map(r1, map_fd));
  p.add(call(BPF_FUNC_map_lookup_elem));
  p.jump_if(BPF_JEQ, r0, 0, missing);
}

}  // namespace

std::vector<bpf_insn> steering_program(const steering_maps& maps) {
  program_text p;
  const auto rotate = p.new_label();
  const auto select = p.new_label();
  const auto refuse = p.new_label();

  // r6 = the context (struct sk_reuseport_md), kept for the select helper.
  p.add(mov64_reg(r6, r1));

  // r7 = n = targets[0]. No targets: r1 = the parking socket (the SYN waits for a retry).
  p.add(store32_imm(r10, key_slot, 0));
  lookup(p, maps.targets, refuse);
  p.add(load32(r7, r0, 0));
  p.jump_if(BPF_JNE, r7, 0, rotate);
  p.add(mov64_imm(r1, static_cast<std::int32_t>(maps.parking)));
  p.jump(select);

  // r1 = cursor[0]++, atomically: concurrent SYNs on other CPUs each get their own position.
  p.place(rotate);
  p.add(store32_imm(r10, key_slot, 0));
  lookup(p, maps.cursor, refuse);
  p.add(mov64_imm(r1, 1));
  p.add(atomic_fetch_add64(r0, 0, r1));

  // key = cursor % n + 1; r1 = targets[key], the chosen socket's index.
  p.add(mod64_reg(r1, r7));
  p.add(add64_imm(r1, 1));
  p.add(store32_reg(r10, key_slot, r1));
  lookup(p, maps.targets, refuse);
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
  p.add(mov64_imm(r0, SK_PASS));
  p.add(exit_insn());

  // The selection failed (no socket at that index): refuse (the kernel answers RST).
  p.place(refuse);
  p.add(mov64_imm(r0, SK_DROP));
  p.add(exit_insn());
  return p.take();
}

}  // namespace pinwheel::direct
