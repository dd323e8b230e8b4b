// The steering program's text: the verifier accepts it (one program holds every mode: probes,
// rotation, hash, park), and its address hash equals hash_address() (strategy/source_hash),
// which proxy mode's source hash uses, on 1,000 IPv4 and 1,000 IPv6 addresses, run through
// BPF_PROG_TEST_RUN. Needs bpf(); where it is refused, the tests skip and say why.
#include "direct/steering_program.hpp"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <random>
#include <system_error>
#include <vector>

#include "direct/bpf_calls.hpp"
#include "strategy/source_hash.hpp"

namespace pinwheel::direct {
namespace {

static_assert(hash_slots == source_hash::kTableSize, "the program and proxy mode share a table");

// Runs on `program` a packet of an Ethernet header and `payload`; the program's return value.
std::uint32_t test_run(int program, std::span<const unsigned char> payload) {
  // EtherType 0: with IPv4's or IPv6's, the kernel refuses a packet too short for that header.
  std::vector<unsigned char> packet(14, 0);
  packet.insert(packet.end(), payload.begin(), payload.end());
  bpf_attr attr{};
  attr.test.prog_fd = static_cast<std::uint32_t>(program);
  attr.test.data_in = reinterpret_cast<std::uintptr_t>(packet.data());
  attr.test.data_size_in = static_cast<std::uint32_t>(packet.size());
  attr.test.repeat = 1;
  if (::syscall(SYS_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr)) != 0)
    throw std::system_error(errno, std::system_category(), "BPF_PROG_TEST_RUN");
  return attr.test.retval;
}

#define SKIP_WITHOUT_BPF(statement)                                               \
  try {                                                                           \
    statement;                                                                    \
  } catch (const std::system_error& e) {                                          \
    if (e.code() == std::errc::operation_not_permitted) GTEST_SKIP() << e.what(); \
    FAIL() << e.what();                                                           \
  }

TEST(SteeringProgram, TheVerifierAcceptsIt) {
  owned_fd probes, mode, targets, cursor, resolved, sockets, steered, program;
  std::size_t length = 0;
  SKIP_WITHOUT_BPF({
    probes = create_map(BPF_MAP_TYPE_HASH, "test_probes", 2, 4, 16);
    mode = create_map(BPF_MAP_TYPE_ARRAY, "test_mode", 4, 4, 1);
    targets = create_map(BPF_MAP_TYPE_ARRAY, "test_targets", 4, 4, 17);
    cursor = create_map(BPF_MAP_TYPE_ARRAY, "test_cursor", 4, 8, 1);
    resolved = create_map(BPF_MAP_TYPE_ARRAY, "test_resolved", 4, 4, hash_slots);
    sockets = create_map(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, "test_sockets", 4, 4, 2);
    steered = create_map(BPF_MAP_TYPE_ARRAY, "test_steered", 4, 8, 2);
    auto text = steering_program({probes.get(), mode.get(), targets.get(), cursor.get(),
                                  resolved.get(), sockets.get(), steered.get(), 1});
    length = text.size();
    program = load_program(BPF_PROG_TYPE_SK_REUSEPORT, "test_steer", text);
  });
  EXPECT_GE(program.get(), 0);
  std::printf("steering program: %zu instructions\n", length);
  ::testing::Test::RecordProperty("instructions", static_cast<int>(length));
}

TEST(SteeringProgram, TheAddressHashFiltersLoad) {
  for (std::size_t size : {4u, 16u}) {
    owned_fd program;
    SKIP_WITHOUT_BPF(program = load_program(BPF_PROG_TYPE_SOCKET_FILTER, "test_hash",
                                            address_slot_filter(size)));
    EXPECT_GE(program.get(), 0) << size;
  }
}

TEST(SteeringProgram, HashesAddressesAsProxyModeDoes) {
  owned_fd v4, v6;
  SKIP_WITHOUT_BPF({
    v4 = load_program(BPF_PROG_TYPE_SOCKET_FILTER, "test_hash4", address_slot_filter(4));
    v6 = load_program(BPF_PROG_TYPE_SOCKET_FILTER, "test_hash6", address_slot_filter(16));
  });
  std::mt19937_64 random(13);
  for (int i = 0; i < 1000; ++i) {
    asio::ip::address_v4::bytes_type b4;
    asio::ip::address_v6::bytes_type b6;
    for (auto& byte : b4) byte = static_cast<unsigned char>(random());
    for (auto& byte : b6) byte = static_cast<unsigned char>(random());
    const asio::ip::address a4 = asio::ip::address_v4(b4), a6 = asio::ip::address_v6(b6);
    ASSERT_EQ(test_run(v4.get(), b4), hash_address(a4) % hash_slots) << a4.to_string();
    ASSERT_EQ(test_run(v6.get(), b6), hash_address(a6) % hash_slots) << a6.to_string();
  }
}

}  // namespace
}  // namespace pinwheel::direct
