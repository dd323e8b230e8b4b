#include "direct/bpf_calls.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

namespace pinwheel::direct {
namespace {

long bpf(bpf_cmd command, bpf_attr& attr) {
  return ::syscall(SYS_bpf, command, &attr, sizeof(attr));
}

std::uint64_t address_of(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

void copy_name(char (&to)[BPF_OBJ_NAME_LEN], const char* name) {
  std::strncpy(to, name, BPF_OBJ_NAME_LEN - 1);
}

// What the host lacks, said so that an operator knows what to change.
std::string host_advice(int error, std::string_view what_kernel_lacks) {
  if (error == EPERM)
    return "the bpf() system call was refused (no permission); direct mode needs root or the "
           "CAP_BPF and CAP_NET_ADMIN capabilities (and a container that allows bpf()): run "
           "Pinwheel as root, grant it those capabilities, or use [balancer] mode = \"proxy\"";
  if (error == ENOSYS)
    return "this kernel has no bpf() system call; use [balancer] mode = \"proxy\"";
  if (error == EINVAL && !what_kernel_lacks.empty())
    return std::string("this kernel does not support ") + std::string(what_kernel_lacks) +
           "; use a newer kernel or [balancer] mode = \"proxy\"";
  return {};
}

[[noreturn]] void fail(int error, std::string what, std::string_view what_kernel_lacks = {}) {
  std::string advice = host_advice(error, what_kernel_lacks);
  if (!advice.empty()) what += ": " + advice;
  throw std::system_error(error, std::system_category(), "direct mode: " + what);
}

std::string_view map_type_name(bpf_map_type type) {
  switch (type) {
    case BPF_MAP_TYPE_REUSEPORT_SOCKARRAY:
      return "BPF map type REUSEPORT_SOCKARRAY (Linux 4.19 or later)";
    case BPF_MAP_TYPE_ARRAY:
      return "BPF map type ARRAY";
    case BPF_MAP_TYPE_HASH:
      return "BPF map type HASH";
    default:
      return "this BPF map type";
  }
}

}  // namespace

owned_fd create_map(bpf_map_type type, const char* name, std::uint32_t key_size,
                    std::uint32_t value_size, std::uint32_t max_entries) {
  bpf_attr attr{};
  attr.map_type = type;
  attr.key_size = key_size;
  attr.value_size = value_size;
  attr.max_entries = max_entries;
  copy_name(attr.map_name, name);
  long fd = bpf(BPF_MAP_CREATE, attr);
  if (fd < 0) fail(errno, std::string("cannot create the BPF map ") + name, map_type_name(type));
  return owned_fd(static_cast<int>(fd));
}

void update_map(int map_fd, const void* key, const void* value, std::uint64_t flags) {
  bpf_attr attr{};
  attr.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.key = address_of(key);
  attr.value = address_of(value);
  attr.flags = flags;
  if (bpf(BPF_MAP_UPDATE_ELEM, attr) < 0) fail(errno, "cannot write a BPF map element");
}

void update_array_elements(int map_fd, std::span<const std::uint32_t> keys, const void* values,
                           std::size_t value_size) {
  if (keys.empty()) return;
  bpf_attr attr{};
  attr.batch.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.batch.keys = address_of(keys.data());
  attr.batch.values = address_of(values);
  attr.batch.count = static_cast<std::uint32_t>(keys.size());
  if (bpf(BPF_MAP_UPDATE_BATCH, attr) == 0) return;
  // 524 is the kernel's ENOTSUPP, which a kernel without batch operations may return.
  if (errno != EINVAL && errno != EOPNOTSUPP && errno != 524)
    fail(errno, "cannot write BPF map elements");
  const auto* bytes = static_cast<const unsigned char*>(values);
  for (std::size_t i = 0; i < keys.size(); ++i)
    update_map(map_fd, &keys[i], bytes + i * value_size);
}

void read_array_elements(int map_fd, std::uint32_t count, void* values, std::size_t value_size) {
  if (count == 0) return;
  std::vector<std::uint32_t> keys(count);
  std::uint32_t next = 0;
  bpf_attr attr{};
  attr.batch.out_batch = address_of(&next);
  attr.batch.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.batch.keys = address_of(keys.data());
  attr.batch.values = address_of(values);
  attr.batch.count = count;
  // ENOENT: the map's end was reached, with every element read.
  if ((bpf(BPF_MAP_LOOKUP_BATCH, attr) == 0 || errno == ENOENT) && attr.batch.count == count)
    return;
  if (errno != EINVAL && errno != EOPNOTSUPP && errno != 524 && errno != ENOENT)
    fail(errno, "cannot read BPF map elements");
  auto* bytes = static_cast<unsigned char*>(values);
  for (std::uint32_t key = 0; key < count; ++key) read_map(map_fd, &key, bytes + key * value_size);
}

void delete_map_element(int map_fd, const void* key) {
  bpf_attr attr{};
  attr.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.key = address_of(key);
  if (bpf(BPF_MAP_DELETE_ELEM, attr) < 0 && errno != ENOENT)
    fail(errno, "cannot delete a BPF map element");
}

void read_map(int map_fd, const void* key, void* value) {
  bpf_attr attr{};
  attr.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.key = address_of(key);
  attr.value = address_of(value);
  if (bpf(BPF_MAP_LOOKUP_ELEM, attr) < 0) fail(errno, "cannot read a BPF map element");
}

owned_fd load_program(bpf_prog_type type, const char* name, std::span<const bpf_insn> program) {
  // Room for the verifier's full trace of a small program; it is only read on failure.
  std::vector<char> log(64 * 1024, '\0');
  static const char license[] = "GPL";
  bpf_attr attr{};
  attr.prog_type = type;
  attr.insns = address_of(program.data());
  attr.insn_cnt = static_cast<std::uint32_t>(program.size());
  attr.license = address_of(license);
  attr.log_level = 1;
  attr.log_buf = address_of(log.data());
  attr.log_size = static_cast<std::uint32_t>(log.size() - 1);
  copy_name(attr.prog_name, name);
  long fd = bpf(BPF_PROG_LOAD, attr);
  if (fd >= 0) return owned_fd(static_cast<int>(fd));

  int error = errno;
  std::string verifier_log(log.data());
  std::string what = std::string("cannot load the BPF program ") + name;
  if (!verifier_log.empty() && error != EPERM) {
    // The verifier ran and refused: its log says which instruction and why.
    throw std::system_error(error, std::system_category(),
                            "direct mode: " + what + ": the verifier refused it:\n" + verifier_log);
  }
  fail(error, what,
       "BPF program type SK_REUSEPORT (Linux 4.19 or later) or atomic fetch-add "
       "(Linux 5.12 or later)");
}

}  // namespace pinwheel::direct
