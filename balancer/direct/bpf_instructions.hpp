// One helper per BPF instruction form the steering program uses, so the program reads like
// assembly: mov64_imm(r0, SK_PASS), exit_insn(). See the kernel's
// Documentation/bpf/standardization/instruction-set.rst for the encodings.
#pragma once

#include <linux/bpf.h>

#include <array>
#include <cstdint>

namespace pinwheel::direct::insn {

/// Registers: r0 return value, r1-r5 arguments (clobbered by calls), r6-r9 kept across calls,
/// r10 the read-only frame pointer.
enum reg : std::uint8_t { r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10 };

constexpr bpf_insn make(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off,
                        std::int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

/// dst = src (64 bits).
constexpr bpf_insn mov64_reg(reg dst, reg src) {
  return make(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
/// dst = imm (sign-extended to 64 bits).
constexpr bpf_insn mov64_imm(reg dst, std::int32_t imm) {
  return make(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
/// dst = imm64: a 16-byte instruction (two slots).
constexpr std::array<bpf_insn, 2> load_imm64(reg dst, std::uint64_t imm) {
  return {make(BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, static_cast<std::int32_t>(imm)),
          make(0, 0, 0, 0, static_cast<std::int32_t>(imm >> 32))};
}
/// dst ^= src (64 bits).
constexpr bpf_insn xor64_reg(reg dst, reg src) {
  return make(BPF_ALU64 | BPF_XOR | BPF_X, dst, src, 0, 0);
}
/// dst *= src (64 bits, the low 64 bits of the product).
constexpr bpf_insn mul64_reg(reg dst, reg src) {
  return make(BPF_ALU64 | BPF_MUL | BPF_X, dst, src, 0, 0);
}
/// dst >>= imm (64 bits, logical).
constexpr bpf_insn rsh64_imm(reg dst, std::int32_t imm) {
  return make(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm);
}
/// dst %= imm (64 bits, unsigned; imm > 0).
constexpr bpf_insn mod64_imm(reg dst, std::int32_t imm) {
  return make(BPF_ALU64 | BPF_MOD | BPF_K, dst, 0, 0, imm);
}
/// dst += imm (64 bits).
constexpr bpf_insn add64_imm(reg dst, std::int32_t imm) {
  return make(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm);
}
/// dst %= src (64 bits, unsigned; the caller rules out src == 0).
constexpr bpf_insn mod64_reg(reg dst, reg src) {
  return make(BPF_ALU64 | BPF_MOD | BPF_X, dst, src, 0, 0);
}
/// dst = the map whose descriptor is `map_fd`: a 16-byte instruction (two slots) that the
/// loader turns into the map's address.
constexpr std::array<bpf_insn, 2> load_map(reg dst, int map_fd) {
  return {make(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, map_fd), make(0, 0, 0, 0, 0)};
}
/// dst = *(u64*)(src + off).
constexpr bpf_insn load64(reg dst, reg src, std::int16_t off) {
  return make(BPF_LDX | BPF_DW | BPF_MEM, dst, src, off, 0);
}
/// dst = *(u16*)(src + off), zero-extended.
constexpr bpf_insn load16(reg dst, reg src, std::int16_t off) {
  return make(BPF_LDX | BPF_H | BPF_MEM, dst, src, off, 0);
}
/// dst = *(u8*)(src + off), zero-extended.
constexpr bpf_insn load8(reg dst, reg src, std::int16_t off) {
  return make(BPF_LDX | BPF_B | BPF_MEM, dst, src, off, 0);
}
/// *(u16*)(dst + off) = src.
constexpr bpf_insn store16_reg(reg dst, std::int16_t off, reg src) {
  return make(BPF_STX | BPF_H | BPF_MEM, dst, src, off, 0);
}
/// dst = *(u32*)(src + off).
constexpr bpf_insn load32(reg dst, reg src, std::int16_t off) {
  return make(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0);
}
/// *(u32*)(dst + off) = src.
constexpr bpf_insn store32_reg(reg dst, std::int16_t off, reg src) {
  return make(BPF_STX | BPF_W | BPF_MEM, dst, src, off, 0);
}
/// *(u32*)(dst + off) = imm.
constexpr bpf_insn store32_imm(reg dst, std::int16_t off, std::int32_t imm) {
  return make(BPF_ST | BPF_W | BPF_MEM, dst, 0, off, imm);
}
/// src = atomic fetch-and-add of *(u64*)(dst + off) += src: src gets the old value.
constexpr bpf_insn atomic_fetch_add64(reg dst, std::int16_t off, reg src) {
  return make(BPF_STX | BPF_DW | BPF_ATOMIC, dst, src, off, BPF_ADD | BPF_FETCH);
}
/// *(u64*)(dst + off) += src, atomically.
constexpr bpf_insn atomic_add64(reg dst, std::int16_t off, reg src) {
  return make(BPF_STX | BPF_DW | BPF_ATOMIC, dst, src, off, BPF_ADD);
}
/// if (dst <op> src) skip `off` instructions (unsigned comparisons for BPF_JGT...).
constexpr bpf_insn jump_reg(std::uint8_t op, reg dst, reg src, std::int16_t off) {
  return make(BPF_JMP | op | BPF_X, dst, src, off, 0);
}
/// if (dst <op> imm) skip `off` instructions; op is BPF_JEQ, BPF_JNE, ...
constexpr bpf_insn jump_imm(std::uint8_t op, reg dst, std::int32_t imm, std::int16_t off) {
  return make(BPF_JMP | op | BPF_K, dst, 0, off, imm);
}
/// skip `off` instructions.
constexpr bpf_insn jump_always(std::int16_t off) { return make(BPF_JMP | BPF_JA, 0, 0, off, 0); }
/// r0 = helper(r1, ..., r5).
constexpr bpf_insn call(bpf_func_id helper) { return make(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
/// return r0.
constexpr bpf_insn exit_insn() { return make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

}  // namespace pinwheel::direct::insn
