// listener_load on real sockets and processes: a listener's queue, the test's own run time,
// a process that has exited; and what one sample of 15 backends costs (printed, not asserted).
#include "direct/listener_load.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "direct/loopback_clients.hpp"
#include "support/wait.hpp"

namespace pinwheel::direct {
namespace {

using namespace test;

// A plain listening socket on 127.0.0.1 (no group: TCP_INFO needs no BPF).
unique_fd plain_listener(int backlog, std::uint16_t& port) {
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_storage address = loopback();
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), length_of(address)), 0);
  EXPECT_EQ(::listen(fd.get(), backlog), 0);
  sockaddr_in bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
  port = ntohs(bound.sin_port);
  return fd;
}

TEST(ListenerLoad, ReadsTheAcceptQueueAndTheBacklog) {
  std::uint16_t port = 0;
  unique_fd listener = plain_listener(7, port);
  listener_load load(2);
  load.watch_listener(0, listener.get());
  load.sample();
  EXPECT_EQ(load.load(0).queue, 0u);
  EXPECT_EQ(load.load(0).backlog, 7u);
  EXPECT_FALSE(load.load(0).busy);

  unique_fd a = connect_nonblocking(port), b = connect_nonblocking(port);
  EXPECT_TRUE(pinwheel::test::wait_until(
      [&] {
        load.sample();
        return load.load(0).queue == 2;
      },
      2s, 1ms));
  load.sample();
  EXPECT_TRUE(load.load(0).busy) << "two waiting, not accepted";
  EXPECT_EQ(load.load(1).queue, 0u) << "no listener";
  unique_fd accepted(::accept(listener.get(), nullptr, nullptr));
  load.sample();
  EXPECT_EQ(load.load(0).queue, 1u);
  EXPECT_FALSE(load.load(0).busy) << "shrinking";
}

TEST(ListenerLoad, MeasuresAProcesssCpuShare) {
  listener_load load(1, {.queue_at_least = 1, .cpu_share_at_least = 0.9, .cpu_window = 20ms});
  load.watch_process(0, ::getpid());  // this test's main thread
  load.sample();
  EXPECT_FALSE(load.load(0).cpu_share);
  // On CPU for 30 ms: the share is measured, whatever the machine's other load lets it be.
  const auto until = clock_type::now() + 30ms;
  volatile std::uint64_t spin = 0;
  while (clock_type::now() < until) spin = spin + 1;
  load.sample();
  ASSERT_TRUE(load.load(0).cpu_share);
  EXPECT_GT(*load.load(0).cpu_share, 0.0);
  EXPECT_LT(*load.load(0).cpu_share, 1.5);
  std::printf("own CPU share while spinning: %.2f\n", *load.load(0).cpu_share);
}

TEST(ListenerLoad, AnExitedProcessHasNoShare) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  listener_load load(1);
  load.watch_process(0, child);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  load.sample();
  load.sample();
  EXPECT_FALSE(load.load(0).cpu_share);
  EXPECT_FALSE(load.load(0).busy);
  load.watch_process(0, ::getpid());
  load.sample();
  EXPECT_FALSE(load.load(0).cpu_share) << "a new process: no window yet";
}

// The cost the balancer pays per sample with 15 backends: 15 TCP_INFO and 15 pread calls.
TEST(ListenerLoad, CostOfOneSampleOfFifteenBackends) {
  constexpr std::size_t backends = 15;
  constexpr int samples = 10'000;
  std::vector<unique_fd> listeners;
  listener_load load(backends);
  for (std::size_t i = 0; i < backends; ++i) {
    std::uint16_t port = 0;
    listeners.push_back(plain_listener(SOMAXCONN, port));
    load.watch_listener(i, listeners.back().get());
    load.watch_process(i, ::getpid());  // each backend opens its own schedstat
  }
  const auto start = clock_type::now();
  for (int i = 0; i < samples; ++i) load.sample();
  const double us = std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
  std::printf("listener_load: one sample of %zu listeners + %zu pids: %.1f us (%d samples)\n",
              backends, backends, us / samples, samples);
  ::testing::Test::RecordProperty("sample_us", static_cast<int>(us / samples));
  EXPECT_TRUE(load.load(0).cpu_share);
}

}  // namespace
}  // namespace pinwheel::direct
