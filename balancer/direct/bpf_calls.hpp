// The few bpf() system calls direct mode makes, without libbpf. Every failure throws a
// std::system_error whose code is the errno and whose message says what failed and, where
// the cause is the host (no permission, an old kernel), what to do about it.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/owned_fd.hpp"

namespace pinwheel::direct {

/// Creates a map (close-on-exec, as every bpf() descriptor is). `name` (at most 15 characters)
/// shows in bpftool.
owned_fd create_map(bpf_map_type type, const char* name, std::uint32_t key_size,
                    std::uint32_t value_size, std::uint32_t max_entries);

/// Writes one element; `flags` is BPF_ANY, BPF_NOEXIST or BPF_EXIST.
void update_map(int map_fd, const void* key, const void* value, std::uint64_t flags = BPF_ANY);

/// Writes `keys.size()` elements of an ARRAY map: keys[i] gets the `value_size` bytes at
/// values + i * value_size. One BPF_MAP_UPDATE_BATCH call (Linux 5.6 or later), else one
/// update per element. Not atomic: the program may see some of the new values and not others.
void update_array_elements(int map_fd, std::span<const std::uint32_t> keys, const void* values,
                           std::size_t value_size);

/// Reads elements 0..count-1 of an ARRAY map into `values` (count * value_size bytes): one
/// BPF_MAP_LOOKUP_BATCH call where the kernel has it, else one lookup per element.
void read_array_elements(int map_fd, std::uint32_t count, void* values, std::size_t value_size);

/// Deletes one element of a HASH map; a missing one is not an error.
void delete_map_element(int map_fd, const void* key);

/// Reads one element into `value`.
void read_map(int map_fd, const void* key, void* value);

/// Loads a program; when the kernel refuses it, the error carries the verifier's log.
owned_fd load_program(bpf_prog_type type, const char* name, std::span<const bpf_insn> program);

}  // namespace pinwheel::direct
