// The balancer's own resource exhaustion is its own: clients wait, backends are not blamed.
#include <gtest/gtest.h>

#include <thread>

#include "e2e/balancer_fixture.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

TEST(Resources, ALowOpenFileLimitMakesClientsWaitAndNeverTakesABackendDown) {
  // 224 descriptors fit a dozen proxied connections beside the reserve (128 of it for the
  // default 64 splice pipes); 150 clients arrive at once, each holding its backend for a
  // moment. Accepting pauses while descriptors are short; every client is served in the end
  // and no backend is marked down.
  running_balancer pinwheel(demo_config(2, "round-robin"), 2, {},
                            {"/usr/bin/prlimit", "--nofile=224:224", "--"});
  EXPECT_TRUE(pinwheel.process().wait_for_line("the open-file limit \\(224\\) fits", 5s))
      << pinwheel.process().output();
  constexpr int kClients = 150;
  std::vector<std::unique_ptr<tcp_client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<tcp_client>(pinwheel.port()));
    clients.back()->send_all("GET /slow?ms=5 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  }
  int ok = 0;
  for (auto& client : clients) {
    try {
      ok += client->read_response(20s).status == 200;
      client.reset();  // its slot frees only when both sides have closed
    } catch (const std::exception&) {
      // counted below
    }
  }
  EXPECT_EQ(ok, kClients) << pinwheel.process().output().substr(0, 4000);
  std::string log = pinwheel.process().output();
  EXPECT_EQ(log.find(") is down"), std::string::npos) << log;
  EXPECT_EQ(log.find("Too many open files"), std::string::npos) << log;
}

}  // namespace
}  // namespace pinwheel::test
