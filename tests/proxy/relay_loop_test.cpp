// The relay loop's own mechanics, on socket pairs: every watched socket hears of its events,
// however many are ready at once, and the loop may go away with its wait still queued.
#include "proxy/relay_loop.hpp"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "common/owned_fd.hpp"
#include "support/run_io_until.hpp"

namespace pinwheel {
namespace {

struct counting_watcher : relay_loop::watcher {
  void on_events(std::uint32_t events) override {
    if ((events & EPOLLIN) != 0) ++readable;
    if ((events & EPOLLRDHUP) != 0) ++peer_shut;
  }
  int readable = 0;
  int peer_shut = 0;
};

struct socket_pair {
  owned_fd watched, peer;
};

socket_pair make_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::system_error(errno, std::system_category(), "socketpair");
  return {owned_fd(fds[0]), owned_fd(fds[1])};
}

TEST(RelayLoop, EverySocketHearsOfItsBytesEvenBeyondOneBatch) {
  asio::io_context io;
  relay_loop loop(io);
  // More than one epoll_wait batch (256) ready at once: the loop must collect them all, as a
  // full batch raises no new edge in Asio's epoll.
  constexpr int kSockets = 600;
  std::vector<socket_pair> pairs;
  std::vector<counting_watcher> watchers(kSockets);
  for (int i = 0; i < kSockets; ++i) {
    pairs.push_back(make_pair());
    ASSERT_FALSE(loop.watch(pairs[i].watched.get(), watchers[i]));
  }
  for (socket_pair& p : pairs) ASSERT_EQ(::write(p.peer.get(), "x", 1), 1);
  auto all_heard = [&] {
    for (const counting_watcher& w : watchers)
      if (w.readable == 0) return false;
    return true;
  };
  EXPECT_TRUE(test::run_io_until(io, all_heard));

  // Edge-triggered: a second byte is a second event; the peer's end of stream says so.
  ASSERT_EQ(::write(pairs[7].peer.get(), "y", 1), 1);
  EXPECT_TRUE(test::run_io_until(io, [&] { return watchers[7].readable == 2; }));
  ::shutdown(pairs[9].peer.get(), SHUT_WR);
  EXPECT_TRUE(test::run_io_until(io, [&] { return watchers[9].peer_shut == 1; }));
}

TEST(RelayLoop, GoesAwayWithItsWaitQueued) {
  asio::io_context io;
  counting_watcher watcher;
  socket_pair pair = make_pair();
  {
    relay_loop loop(io);
    ASSERT_FALSE(loop.watch(pair.watched.get(), watcher));
  }
  // The queued wait completes as aborted and calls nobody: with it, the io_context's work
  // ends (run() returns), and the closed set reports nothing.
  ASSERT_EQ(::write(pair.peer.get(), "x", 1), 1);
  io.run();
  EXPECT_EQ(watcher.readable, 0);
}

TEST(RelayLoop, AClosedSocketLeavesTheSet) {
  asio::io_context io;
  relay_loop loop(io);
  counting_watcher watcher, witness;
  socket_pair pair = make_pair(), open = make_pair();
  ASSERT_FALSE(loop.watch(pair.watched.get(), watcher));
  ASSERT_FALSE(loop.watch(open.watched.get(), witness));
  pair.watched.reset();
  // Its peer's end of stream reaches nobody, while a socket still watched hears its bytes,
  // which the loop collects in the same or a later wait.
  pair.peer.reset();
  ASSERT_EQ(::write(open.peer.get(), "x", 1), 1);
  ASSERT_TRUE(test::run_io_until(io, [&] { return witness.readable == 1; }));
  EXPECT_EQ(watcher.readable + watcher.peer_shut, 0);
}

}  // namespace
}  // namespace pinwheel
