// The guardian with real processes: what it kills when our side of its socket closes.
#include "supervisor/guardian.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "supervisor/system_process_env.hpp"
#include "support/child_process.hpp"
#include "support/wait.hpp"

namespace pinwheel {
namespace {

using namespace std::chrono_literals;
using test::process_alive;
using test::wait_until;

// `sh -c "sleep 30 & wait"`: a backend whose real work is done by its child, as with npm.
class process_tree {
 public:
  process_tree() {
    int out[2], err[2];
    if (env_.make_pipe(out) || env_.make_pipe(err)) throw std::runtime_error("pipes");
    leader = env_.start({{"/bin/sh", "-c", "sleep 30 & wait"},
                         test::own_allowed_cpus().front(),
                         out[1],
                         err[1],
                         -1})
                 .pid;
    for (int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);
    if (leader == 0) throw std::runtime_error("cannot start the tree");
    wait_until([&] { return test::child_pids(leader).size() == 1; }, 5s);
    std::vector<pid_t> children = test::child_pids(leader);
    if (children.size() != 1) throw std::runtime_error("the tree has no grandchild");
    grandchild = children.front();
  }
  ~process_tree() {
    env_.signal_group(leader, SIGKILL);
    while (::waitpid(leader, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  /// The grandchild died (the leader cannot tell: it is ours to reap).
  bool killed() {
    return wait_until([&] { return !process_alive(grandchild); }, 5s);
  }

  pid_t leader = 0;
  pid_t grandchild = 0;

 private:
  system_process_env env_;
};

TEST(Guardian, KillsWatchedGroupsWhenOurSideCloses) {
  asio::io_context io;
  guardian g(io);
  g.start();
  ASSERT_NE(g.pid(), 0);
  process_tree tree;
  g.watch(tree.leader);
  io.poll();
  g.stop();
  EXPECT_TRUE(tree.killed()) << "grandchild " << tree.grandchild << " survived";
}

TEST(Guardian, LeavesForgottenGroupsAlone) {
  asio::io_context io;
  guardian g(io);
  g.start();
  pid_t guardian_pid = g.pid();
  process_tree tree;
  g.watch(tree.leader);
  g.forget(tree.leader);
  io.poll();
  g.stop();
  // Once the guardian has gone, it has done all it ever will.
  ASSERT_TRUE(wait_until([&] { return !process_alive(guardian_pid); }, 5s));
  EXPECT_TRUE(process_alive(tree.grandchild));
}

TEST(Guardian, IgnoresTheSignalsSentToGroupsAndTerminals) {
  asio::io_context io;
  guardian g(io);
  g.start();
  process_tree tree;
  g.watch(tree.leader);
  io.poll();
  for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGPIPE})
    ASSERT_EQ(::kill(g.pid(), signal), 0);
  // Not running the loop: a guardian that died here would not be replaced.
  g.stop();
  EXPECT_TRUE(tree.killed()) << "the guardian died of a signal";
}

TEST(Guardian, IsReplacedWhenKilledAndTheNewOneKnowsEveryGroup) {
  asio::io_context io;
  guardian g(io);
  g.start();
  process_tree tree;
  g.watch(tree.leader);
  io.poll();
  pid_t first = g.pid();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((g.pid() == first || g.pid() == 0) && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(10ms);
  ASSERT_NE(g.pid(), first);
  ASSERT_NE(g.pid(), 0);
  io.poll();
  g.stop();
  EXPECT_TRUE(tree.killed()) << "the new guardian did not know the group";
}

}  // namespace
}  // namespace pinwheel
