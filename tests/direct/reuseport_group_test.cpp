// The kernel side of direct mode on loopback: the verifier accepts the program, connections
// land on the sockets the target list names, in order, and nothing leaks. Needs bpf() (root
// or CAP_BPF + CAP_NET_ADMIN); where it is refused, the tests skip and say why.
#include "direct/reuseport_group.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "direct/bpf_calls.hpp"
#include "direct/loopback_clients.hpp"
#include "direct/probe_socket.hpp"
#include "direct/smooth_weights.hpp"
#include "direct/steering_program.hpp"
#include "support/wait.hpp"

namespace pinwheel::direct {
namespace {

using namespace test;

std::set<int> open_descriptors() {
  std::set<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') fds.insert(std::stoi(entry->d_name));
  }
  fds.erase(::dirfd(dir));
  ::closedir(dir);
  return fds;
}

TEST(ReuseportGroup, RotatesOverTheTargetsInOrder) {
  MAKE_GROUP_OR_SKIP(group, 3);
  ASSERT_NE(group->port(), 0);
  const std::uint32_t targets[] = {0, 1, 2};
  group->set_targets(targets);
  EXPECT_EQ(sequence_of(*group, 12), (std::vector<int>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}));
}

TEST(ReuseportGroup, OneTargetGetsEveryConnection) {
  MAKE_GROUP_OR_SKIP(group, 3);
  const std::uint32_t targets[] = {1};
  group->set_targets(targets);
  EXPECT_EQ(sequence_of(*group, 6), std::vector<int>(6, 1));
}

TEST(ReuseportGroup, WeightedSlotsInterleave) {
  MAKE_GROUP_OR_SKIP(group, 3);
  const std::uint32_t weights[] = {2, 1, 0};
  group->set_targets(smooth_weighted_slots(weights, reuseport_group::max_targets));
  EXPECT_EQ(sequence_of(*group, 6), (std::vector<int>{0, 1, 0, 0, 1, 0}));
}

TEST(ReuseportGroup, ShrinkingAndGrowingTheListTakeEffectAtOnce) {
  MAKE_GROUP_OR_SKIP(group, 3);
  const std::uint32_t all[] = {0, 1, 2, 2, 1, 0};
  group->set_targets(all);
  EXPECT_EQ(sequence_of(*group, 1), std::vector<int>{0});
  const std::uint32_t only_two[] = {2};
  group->set_targets(only_two);
  EXPECT_EQ(sequence_of(*group, 3), std::vector<int>(3, 2));
}

TEST(ReuseportGroup, NoTargetsHoldsTheConnectionUntilOneIsNamed) {
  MAKE_GROUP_OR_SKIP(group, 3);
  // The list starts empty: the SYN is dropped without a reply, so the client's connect stays
  // in progress and no socket has anything to accept.
  unique_fd client = connect_nonblocking(group->port());
  EXPECT_EQ(connect_outcome(client, 300ms), ETIMEDOUT) << "the connect ended with no target";
  EXPECT_EQ(accept_one(*group, 0ms), -1);

  // A target named: the client's SYN retransmission (about 1 s after the first) reaches it.
  const std::uint32_t targets[] = {2};
  group->set_targets(targets);
  EXPECT_EQ(accept_one(*group, 2500ms), 2);
  EXPECT_EQ(connect_outcome(client, 1s), 0);
}

// A health check through the public port reaches the socket it names, 10 of 10 times, though
// the targets name only socket 0; it is not counted as steered (client load).
TEST(ReuseportGroup, AProbeReachesItsSocketWhateverTheTargets) {
  MAKE_GROUP_OR_SKIP(group, 2);
  const std::uint32_t targets[] = {0};
  group->set_targets(targets);
  for (int i = 0; i < 10; ++i) {
    probe_socket probe = open_probe(*group, 1);
    ASSERT_NE(probe.port, 0);
    const sockaddr_storage& to = probe.destination;
    int rc = ::connect(probe.fd.get(), reinterpret_cast<const sockaddr*>(&to), length_of(to));
    ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
    EXPECT_EQ(accept_one(*group, 2s), 1) << "probe " << i;
    EXPECT_EQ(connect_outcome(probe.fd.get(), 1s), 0);
    group->forget_probe(probe.port);
  }
  EXPECT_EQ(sequence_of(*group, 2), (std::vector<int>{0, 0}));
  EXPECT_EQ(group->steered(0), 2u);
  EXPECT_EQ(group->steered(1), 0u);
}

TEST(ReuseportGroup, AnIpv6ProbeReachesItsSocket) {
  MAKE_V6_GROUP_OR_SKIP(group, 2);
  const std::uint32_t targets[] = {0};
  group->set_targets(targets);
  probe_socket probe = open_probe(*group, 1);
  const sockaddr_storage& to = probe.destination;
  ASSERT_EQ(to.ss_family, AF_INET6);
  ::connect(probe.fd.get(), reinterpret_cast<const sockaddr*>(&to), length_of(to));
  EXPECT_EQ(accept_one(*group, 2s), 1);
  EXPECT_EQ(connect_outcome(probe.fd.get(), 1s), 0);
}

TEST(ReuseportGroup, AProbeIsNotParked) {
  MAKE_GROUP_OR_SKIP(group, 2);
  probe_socket probe = open_probe(*group, 0);
  const sockaddr_storage& to = probe.destination;
  ::connect(probe.fd.get(), reinterpret_cast<const sockaddr*>(&to), length_of(to));
  EXPECT_EQ(accept_one(*group, 2s), 0);
  group->forget_probe(probe.port);
  group->forget_probe(probe.port);  // twice: nothing to forget, no error
  EXPECT_THROW(group->steer_probe(1234, 2), std::invalid_argument);
}

TEST(ReuseportGroup, CountsTheConnectionsSteeredToEachSocket) {
  MAKE_GROUP_OR_SKIP(group, 3);
  EXPECT_EQ(group->steered(0), 0u);
  const std::uint32_t targets[] = {0, 1, 0};
  group->set_targets(targets);
  sequence_of(*group, 6);
  EXPECT_EQ(group->steered(0), 4u);
  EXPECT_EQ(group->steered(1), 2u);
  EXPECT_EQ(group->steered(2), 0u);
  EXPECT_EQ(group->parked(), 0u);
  EXPECT_EQ(group->steered_counts(), (std::vector<std::uint64_t>{4, 2, 0}));
  EXPECT_THROW(group->steered(3), std::invalid_argument);

  // No target: the SYN is parked, and counted there.
  group->set_targets({});
  unique_fd client = connect_nonblocking(group->port());
  EXPECT_TRUE(pinwheel::test::wait_until([&] { return group->parked() >= 1; }, 2s, 1ms));
  EXPECT_EQ(group->steered(0), 4u);
}

TEST(ReuseportGroup, RefusesTargetsThatAreNotItsSockets) {
  MAKE_GROUP_OR_SKIP(group, 2);
  const std::uint32_t bad[] = {0, 2};
  EXPECT_THROW(group->set_targets(bad), std::invalid_argument);
  std::vector<std::uint32_t> too_many(reuseport_group::max_targets + 1, 0);
  EXPECT_THROW(group->set_targets(too_many), std::invalid_argument);
  // Nothing was written: still no target, so a connection waits.
  unique_fd client = connect_nonblocking(group->port());
  EXPECT_EQ(connect_outcome(client, 200ms), ETIMEDOUT);
  EXPECT_EQ(accept_one(*group, 0ms), -1);
}

TEST(ReuseportGroup, DescriptorsAreCloseOnExecAndAllClosedWithTheGroup) {
  const std::set<int> before = open_descriptors();
  {
    MAKE_GROUP_OR_SKIP(group, 3);
    const std::set<int> during = open_descriptors();
    int added = 0;
    for (int fd : during) {
      if (before.count(fd)) continue;
      ++added;
      EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC) << "descriptor " << fd;
    }
    // Three sockets, the parking socket and its filler, seven maps, one program.
    EXPECT_EQ(added, 13);
    for (std::size_t i = 0; i < group->size(); ++i)
      EXPECT_TRUE(during.count(group->listener_fd(i)));
    group->close();
    EXPECT_EQ(open_descriptors(), before);
  }
  EXPECT_EQ(open_descriptors(), before);
}

TEST(ReuseportGroup, PortZeroBindsEverySocketToOnePort) {
  MAKE_GROUP_OR_SKIP(group, 4);
  for (std::size_t i = 0; i < group->size(); ++i) {
    sockaddr_in bound{};
    socklen_t length = sizeof(bound);
    ASSERT_EQ(::getsockname(group->listener_fd(i), reinterpret_cast<sockaddr*>(&bound), &length),
              0);
    EXPECT_EQ(ntohs(bound.sin_port), group->port()) << "socket " << i;
  }
}

// Drops the calling thread's capabilities that bpf() needs (capabilities are per thread).
bool drop_bpf_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  for (int cap : {CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF, CAP_PERFMON})
    data[cap / 32].effective &= ~(1u << (cap % 32));
  return ::syscall(SYS_capset, &header, data) == 0;
}

TEST(ReuseportGroup, WithoutPermissionTheErrorSaysWhatToDo) {
  std::string message;
  int code = 0;
  bool dropped = false;
  // A thread of its own: dropping its capabilities leaves the test process's intact.
  std::thread([&] {
    dropped = drop_bpf_capabilities();
    try {
      reuseport_group group(loopback(), 2);
    } catch (const std::system_error& e) {
      code = e.code().value();
      message = e.what();
    }
  }).join();
  ASSERT_TRUE(dropped);
  EXPECT_EQ(code, EPERM) << message;
  for (const char* part : {"bpf()", "root", "CAP_BPF", "mode = \"proxy\""})
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' missing in: " << message;
}

}  // namespace
}  // namespace pinwheel::direct
