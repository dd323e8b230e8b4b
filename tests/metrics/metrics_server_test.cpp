#include "metrics/metrics_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "metrics/http_request.hpp"
#include "support/http_client.hpp"

namespace pinwheel {
namespace {

using namespace std::chrono_literals;
using test::tcp_client;

TEST(HttpRequest, ParsesMethodAndPathWithoutQuery) {
  auto head = parse_request_head("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n");
  EXPECT_EQ(head.error_status, 0) << head.error;
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.path, "/metrics");
}

TEST(HttpRequest, RefusesMalformedHeads) {
  EXPECT_EQ(parse_request_head("").error_status, 400);
  EXPECT_EQ(parse_request_head("GET\r\n").error_status, 400);
  EXPECT_EQ(parse_request_head("GET /  HTTP/1.1\r\n").error_status, 400);
  EXPECT_EQ(parse_request_head("GET metrics HTTP/1.1\r\n").error_status, 400);
  EXPECT_EQ(parse_request_head("GET / SPDY/3\r\n").error_status, 400);
  EXPECT_EQ(parse_request_head("GET / HTTP/2.0\r\n").error_status, 505);
  EXPECT_EQ(parse_request_head("GET / HTTP/1.1\r\nno colon here\r\n").error_status, 400);
  EXPECT_EQ(parse_request_head(std::string("GET /\x01 HTTP/1.1\r\n")).error_status, 400);
}

// A metrics server on a free loopback port whose snapshots come from the test.
class MetricsServer : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_server::limits limits;
    limits.read_timeout = 300ms;
    limits.max_clients = 4;
    server_ = std::make_unique<metrics_server>(
        asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0),
        [this]() -> std::optional<balancer_snapshot> {
          if (wedged_) return std::nullopt;
          balancer_snapshot s;
          s.version = "1.2.3";
          s.strategy = "round-robin";
          s.backends.emplace_back().name = "b0";
          return s;
        },
        limits);
    server_->listen();
    server_->start({});
    port_ = server_->local_endpoint().port();
  }

  // Sends `request` on a fresh connection and reads the reply.
  test::http_response exchange(const std::string& request, bool head = false) {
    tcp_client client(port_);
    client.send_all(request);
    return client.read_response(5s, head);
  }

  std::unique_ptr<metrics_server> server_;
  std::uint16_t port_ = 0;
  std::atomic<bool> wedged_{false};
};

TEST_F(MetricsServer, ServesMetricsStatusJsonAndThePage) {
  auto metrics = test::http_get(port_, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("pinwheel_build_info{strategy=\"round-robin\",version=\"1.2.3\"} 1"),
            std::string::npos);
  auto json = test::http_get(port_, "/status.json");
  EXPECT_EQ(json.status, 200);
  EXPECT_NE(json.body.find("\"name\":\"b0\""), std::string::npos) << json.body;
  auto page = test::http_get(port_, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<table id=\"backends\">"), std::string::npos);
  // Everything is embedded: the page loads nothing but /status.json (the one http:// in it is
  // SVG's namespace name, which is never fetched).
  for (const char* load : {"src=", "<link", "@import", "https://", "url("})
    EXPECT_EQ(page.body.find(load), std::string::npos) << load;
}

TEST_F(MetricsServer, HeadHasNoBody) {
  auto r = exchange("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", true);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(MetricsServer, AnswersBadRequestsWithTheirStatus) {
  EXPECT_EQ(exchange("GET /nope HTTP/1.1\r\n\r\n").status, 404);
  auto post = exchange("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers["allow"], "GET, HEAD");
  EXPECT_EQ(exchange("hello there\r\n\r\n").status, 400);
  EXPECT_EQ(exchange("GET / HTTP/3.0\r\n\r\n").status, 505);
  EXPECT_EQ(exchange("GET / HTTP/1.1\r\nX: " + std::string(10000, 'a') + "\r\n\r\n").status, 431);
  // And it still serves.
  EXPECT_EQ(test::http_get(port_, "/metrics").status, 200);
}

TEST_F(MetricsServer, ClosesAClientThatNeverSends) {
  tcp_client silent(port_);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(silent.read_until_eof(5s), "");
  EXPECT_TRUE(silent.peer_closed());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST_F(MetricsServer, ClosesAClientThatStopsMidHead) {
  tcp_client slow(port_);
  slow.send_all("GET /metrics HTTP/1.1\r\nHost:");
  EXPECT_EQ(slow.read_until_eof(5s), "");
  EXPECT_TRUE(slow.peer_closed());
}

TEST_F(MetricsServer, ServesOthersWhileClientsHoldEverySlot) {
  std::vector<std::unique_ptr<tcp_client>> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(std::make_unique<tcp_client>(port_));
  // Beyond max_clients they are closed at once; the held ones time out; then it serves again.
  idle.clear();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  int status = 0;
  while (status != 200 && std::chrono::steady_clock::now() < deadline) {
    try {
      status = test::http_get(port_, "/metrics", 1s).status;
    } catch (const std::exception&) {
    }
  }
  EXPECT_EQ(status, 200);
}

TEST_F(MetricsServer, AnswersServiceUnavailableWhenTheLoopGivesNoSnapshot) {
  wedged_ = true;
  EXPECT_EQ(test::http_get(port_, "/metrics").status, 503);
  EXPECT_EQ(test::http_get(port_, "/status.json").status, 503);
  // The page itself needs no snapshot.
  EXPECT_EQ(test::http_get(port_, "/").status, 200);
}

}  // namespace
}  // namespace pinwheel
