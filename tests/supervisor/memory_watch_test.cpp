// [backends] max_memory: which backends the watch hands over for a restart, and how often.
#include "supervisor/memory_watch.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace pinwheel {
namespace {

backend spawned(const std::string& name, pid_t pid) {
  backend b;
  b.name = name;
  b.argv = {"/bin/app"};
  b.process.pid = pid;
  b.health = health_state(1, 1, /*initially_up=*/true);
  return b;
}

struct watched {
  watched() {
    a = &pool.add(spawned("a", 100));
    b = &pool.add(spawned("b", 200));
  }
  asio::io_context io;
  backend_pool pool;
  backends_options options;
  std::map<pid_t, std::uint64_t> rss;
  std::vector<std::string> restarted;
  backend* a;
  backend* b;
  memory_watch watch{io, pool, options,
                     [this](pid_t pid) -> std::optional<std::uint64_t> {
                       auto it = rss.find(pid);
                       if (it == rss.end()) return std::nullopt;
                       return it->second;
                     },
                     [this](backend& b) { restarted.push_back(b.name); }};
};

TEST(MemoryWatch, OnlyABackendOverTheLimitIsRestartedOncePerProcess) {
  watched w;
  w.options.max_memory = 100 << 20;
  w.rss = {{100, 50 << 20}, {200, 150 << 20}};
  w.watch.check();
  EXPECT_EQ(w.restarted, (std::vector<std::string>{"b"}));
  EXPECT_EQ(w.b->process.memory_restarts, 1U);
  EXPECT_EQ(w.a->process.memory_restarts, 0U);
  EXPECT_EQ(w.a->process.resident_bytes, 50U << 20);
  // Still the same process (draining): not handed over again.
  w.watch.check();
  EXPECT_EQ(w.restarted.size(), 1U);
  // Its replacement is watched anew.
  w.b->process.pid = 201;
  w.rss[201] = 10 << 20;
  w.watch.check();
  EXPECT_EQ(w.restarted.size(), 1U);
  w.rss[201] = 101 << 20;
  w.watch.check();
  EXPECT_EQ(w.restarted, (std::vector<std::string>{"b", "b"}));
  EXPECT_EQ(w.b->process.memory_restarts, 2U);
}

TEST(MemoryWatch, NothingHappensWithoutALimitOrAProcess) {
  watched w;
  w.rss = {{100, 1ULL << 40}};
  w.watch.check();  // max_memory 0: off
  w.options.max_memory = 1 << 20;
  w.a->process.pid = 0;  // not running
  w.watch.check();       // b's process is gone from /proc: skipped
  EXPECT_TRUE(w.restarted.empty());
}

}  // namespace
}  // namespace pinwheel
