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
#include "direct/smooth_weights.hpp"
#include "direct/steering_program.hpp"
#include "support/unique_fd.hpp"

namespace pinwheel::direct {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using test::unique_fd;

sockaddr_storage loopback(std::uint16_t port = 0) {
  sockaddr_storage storage{};
  auto& a = reinterpret_cast<sockaddr_in&>(storage);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return storage;
}

// A group on 127.0.0.1, or the reason bpf() is refused here (the test then skips).
std::optional<reuseport_group> try_group(std::size_t count, std::string& refused) {
  try {
    return reuseport_group(loopback(), count);
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::operation_not_permitted) throw;
    refused = e.what();
    return std::nullopt;
  }
}

#define MAKE_GROUP_OR_SKIP(name, count)         \
  std::string refused_##name;                   \
  auto name = try_group(count, refused_##name); \
  if (!name) GTEST_SKIP() << "bpf() refused: " << refused_##name

unique_fd connect_nonblocking(std::uint16_t port) {
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_storage to = loopback(port);
  int rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof(sockaddr_in));
  EXPECT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
  return fd;
}

// Waits for a non-blocking connect to finish: 0 when connected, else its errno (ETIMEDOUT
// when still in progress at the deadline).
int connect_outcome(const unique_fd& client, std::chrono::milliseconds within) {
  pollfd out{client.get(), POLLOUT, 0};
  if (::poll(&out, 1, static_cast<int>(within.count())) != 1) return ETIMEDOUT;
  int error = -1;
  socklen_t length = sizeof(error);
  ::getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  return error;
}

int remaining_ms(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// The index of the one socket with a connection waiting, accepted and closed, or -1 if none
// has one by the deadline. Two ready at once is a failure (a connection went astray).
int accept_one(const reuseport_group& group, std::chrono::milliseconds within) {
  const auto deadline = clock_type::now() + within;
  std::vector<pollfd> fds;
  for (std::size_t i = 0; i < group.size(); ++i) fds.push_back({group.listener_fd(i), POLLIN, 0});
  for (;;) {
    int ready = ::poll(fds.data(), fds.size(), remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return -1;
    EXPECT_EQ(ready, 1) << "connections waiting on more than one socket";
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      unique_fd accepted(::accept4(fds[i].fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      EXPECT_GE(accepted.get(), 0) << std::strerror(errno);
      return static_cast<int>(i);
    }
  }
}

// Connects `count` clients one after the other; where each was accepted.
std::vector<int> sequence_of(const reuseport_group& group, int count) {
  std::vector<int> seen;
  for (int i = 0; i < count; ++i) {
    unique_fd client = connect_nonblocking(group.port());
    seen.push_back(accept_one(group, 2s));
  }
  return seen;
}

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

TEST(SteeringProgram, TheVerifierAcceptsIt) {
  try {
    owned_fd targets = create_map(BPF_MAP_TYPE_ARRAY, "test_targets", 4, 4, 17);
    owned_fd cursor = create_map(BPF_MAP_TYPE_ARRAY, "test_cursor", 4, 8, 1);
    owned_fd sockets = create_map(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, "test_sockets", 4, 4, 2);
    auto text = steering_program({targets.get(), cursor.get(), sockets.get(), 1});
    owned_fd program = load_program(BPF_PROG_TYPE_SK_REUSEPORT, "test_steer", text);
    EXPECT_GE(program.get(), 0);
  } catch (const std::system_error& e) {
    if (e.code() == std::errc::operation_not_permitted) GTEST_SKIP() << e.what();
    FAIL() << e.what();
  }
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
    // Three sockets, the parking socket and its filler, three maps, one program.
    EXPECT_EQ(added, 9);
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
