// Backends learn the real client address: send_proxy (v1/v2) to the demo backend, nginx and a
// Node.js app; accept_proxy behind HAProxy; every way a PROXY header can be wrong.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <mutex>
#include <regex>

#include "e2e/balancer_fixture.hpp"
#include "e2e/edge_support.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

// A config spawning one demo backend that expects PROXY headers of `version`.
std::string proxied_demo_config(const std::string& version, const std::string& listen) {
  return "[balancer]\nlisten = " + listen +
         "\n[backends]\ncount = 1\nbase_port = 0\nsend_proxy = \"" + version +
         "\"\ncommand = [\"" BACKEND_BIN
         "\", \"--port\", \"{port}\", \"--index\", \"{index}\", \"--proxy-protocol\"]\n"
         "[health]\nkind = \"http\"\ninterval = \"100ms\"\n";
}

class SendProxy : public testing::TestWithParam<std::string> {};

TEST_P(SendProxy, TheBackendSeesTheClientAddressOverIpv4AndIpv6) {
  // The backend only comes up if the http health checks, which carry a LOCAL (v2) or
  // UNKNOWN (v1) header, are understood.
  running_balancer pinwheel(proxied_demo_config(GetParam(), R"(["127.0.0.1:0", "[::1]:0"])"), 1);
  std::uint16_t source_port = 0;
  std::string reply = whoami_from("127.0.0.5", pinwheel.port(), "127.0.0.1", &source_port);
  EXPECT_EQ(parse_whoami(reply).client, "127.0.0.5:" + std::to_string(source_port)) << reply;

  std::uint16_t v6_port = extra_port(pinwheel, "::1");
  reply = whoami_from("::1", v6_port, "::1", &source_port);
  EXPECT_EQ(parse_whoami(reply).client, "[::1]:" + std::to_string(source_port)) << reply;
}

TEST_P(SendProxy, ServerSpeaksFirstProtocolsStillGetTheHeaderAtOnce) {
  // The client sends nothing until the server greets it: the header cannot wait for client
  // bytes.
  raw_server upstream([](int fd) {
    std::string header = read_all(fd, 300ms);
    std::string greeting = "greeting after " + header;
    ::send(fd, greeting.data(), greeting.size(), MSG_NOSIGNAL);
  });
  running_balancer pinwheel(
      servers_config("[\"127.0.0.1:" + std::to_string(upstream.port()) + "\"]",
                     "send_proxy = \"" + GetParam() + "\"\n"));
  unique_fd fd = connect_from("127.0.0.6", "127.0.0.1", pinwheel.port());
  std::string got = read_all(fd.get(), 5s);
  EXPECT_TRUE(got.starts_with(
      "greeting after " + std::string(GetParam() == "v1" ? "PROXY TCP4 127.0.0.6 " : "\r\n\r\n")))
      << got;
}

INSTANTIATE_TEST_SUITE_P(Versions, SendProxy, testing::Values("v1", "v2"));

TEST(SendProxy, CurlWithItsOwnSourceAddressIsSeenByTheBackend) {
  running_balancer pinwheel(proxied_demo_config("v2", "\"127.0.0.1:0\""), 1);
  child_process curl({"/usr/bin/curl", "-sS", "--max-time", "5", "--interface", "127.0.0.5",
                      "http://127.0.0.1:" + std::to_string(pinwheel.port()) + "/whoami"});
  ASSERT_EQ(curl.wait_exit(10s), 0) << curl.output();
  EXPECT_TRUE(std::regex_search(curl.output(), std::regex(R"("client": "127\.0\.0\.5:\d+")")))
      << curl.output();
}

TEST(SendProxy, NginxLogsTheRealClientAddress) {
  auto nginx = start_nginx_proxy_protocol();
  for (std::string version : {"v1", "v2"}) {
    // http checks: nginx must accept the LOCAL / UNKNOWN headers for the server to come up.
    running_balancer pinwheel(servers_config("[\"127.0.0.1:" + std::to_string(nginx->port) + "\"]",
                                             "send_proxy = \"" + version + "\"\n", "", "http"));
    ASSERT_TRUE(pinwheel.wait_backends_up(1)) << pinwheel.process().output();
    std::string source = version == "v1" ? "127.0.0.11" : "127.0.0.12";
    std::uint16_t source_port = 0;
    std::string reply = exchange_from(source, "127.0.0.1", pinwheel.port(),
                                      "GET /" + version +
                                          " HTTP/1.1\r\nHost: x\r\n"
                                          "Connection: close\r\n\r\n",
                                      &source_port);
    std::string client = source + ":" + std::to_string(source_port);
    EXPECT_NE(reply.find("\r\n\r\n" + client + "\n"), std::string::npos) << reply;
    EXPECT_TRUE(wait_for_file_text(nginx->dir + "/access.log",
                                   client + " via 127.0.0.1 \"GET /" + version, 5s))
        << version;
  }
}

TEST(SendProxy, ANodeAppReadsTheHeader) {
  auto app = start_node_proxy_header_app();
  for (std::string version : {"v1", "v2"}) {
    running_balancer pinwheel(servers_config("[\"127.0.0.1:" + std::to_string(app->port) + "\"]",
                                             "send_proxy = \"" + version + "\"\n"));
    std::uint16_t source_port = 0;
    std::string reply =
        exchange_from("127.0.0.13", "127.0.0.1", pinwheel.port(), "hello\n", &source_port);
    EXPECT_EQ(reply, "client 127.0.0.13:" + std::to_string(source_port) + " said hello\n")
        << version;
  }
}

// accept_proxy: Pinwheel behind a trusted balancer at 127.0.0.1.
std::string accept_proxy_config(std::uint16_t upstream, const std::string& send_proxy = "none") {
  return servers_config("[\"127.0.0.1:" + std::to_string(upstream) + "\"]",
                        "send_proxy = \"" + send_proxy + "\"\n",
                        "accept_proxy = true\ntrusted = [\"127.0.0.1/32\"]\n"
                        "proxy_header_timeout = \"300ms\"\n");
}

TEST(AcceptProxy, BehindHaproxyTheBackendSeesTheClientHaproxySaw) {
  own_backend backend(0, {"--proxy-protocol"});
  running_balancer pinwheel(accept_proxy_config(backend.port, "v1"));
  auto haproxy = start_haproxy_send_proxy_v2(pinwheel.port());
  std::uint16_t source_port = 0;
  std::string reply = whoami_from("127.0.0.9", haproxy->port, "127.0.0.1", &source_port);
  EXPECT_EQ(parse_whoami(reply).client, "127.0.0.9:" + std::to_string(source_port)) << reply;
}

TEST(AcceptProxy, ClientBytesThatCameWithTheHeaderFollowOurOwnHeader) {
  std::mutex mutex;
  std::string received;
  raw_server upstream([&](int fd) {
    std::string got = read_all(fd, 300ms);
    std::lock_guard lock(mutex);
    received = got;
  });
  running_balancer pinwheel(accept_proxy_config(upstream.port(), "v1"));
  unique_fd fd = connect_from("127.0.0.1", "127.0.0.1", pinwheel.port());
  std::string sent = "PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\nhello";
  ::send(fd.get(), sent.data(), sent.size(), MSG_NOSIGNAL);
  ::shutdown(fd.get(), SHUT_WR);
  read_all(fd.get(), 5s);
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(mutex);
        return !received.empty();
      },
      5s));
  std::lock_guard lock(mutex);
  EXPECT_EQ(received, "PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\nhello");
}

struct bad_peer {
  const char* name;
  const char* source;
  std::string bytes;
  bool end_of_stream;  // shut down sending after the bytes
  const char* log;
};

// Names the case in test listings instead of gtest's dump of the struct's bytes.
void PrintTo(const bad_peer& p, std::ostream* out) { *out << p.name; }

class AcceptProxyRejects : public testing::TestWithParam<bad_peer> {};

TEST_P(AcceptProxyRejects, WithAResetAndACountedReason) {
  raw_server upstream([](int fd) { read_all(fd, 300ms); });
  running_balancer pinwheel(accept_proxy_config(upstream.port()));
  const bad_peer& p = GetParam();
  unique_fd fd = connect_from(p.source, "127.0.0.1", pinwheel.port());
  ::send(fd.get(), p.bytes.data(), p.bytes.size(), MSG_NOSIGNAL);
  if (p.end_of_stream) ::shutdown(fd.get(), SHUT_WR);
  EXPECT_EQ(read_all(fd.get(), 5s), "RESET");
  EXPECT_TRUE(pinwheel.process().wait_for_line(p.log, 5s)) << pinwheel.process().output();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AcceptProxyRejects,
    testing::Values(bad_peer{"Untrusted", "127.0.0.3", "PROXY TCP4 6.6.6.6 127.0.0.1 1 2\r\nGET /",
                             false,
                             R"(\(untrusted proxy header\).*the last from 127\.0\.0\.3:\d+ via)"},
                    bad_peer{"Malformed", "127.0.0.1", "PROXY TCP4 6.6.6 127.0.0.1 1 2\r\n", false,
                             R"(\(bad proxy header\).*\(v1: bad source address\))"},
                    bad_peer{"NoHeader", "127.0.0.1", "GET / HTTP/1.1\r\n\r\n", false,
                             R"(\(bad proxy header\).*\(not a PROXY protocol header\))"},
                    bad_peer{"Truncated", "127.0.0.1", "PROXY TCP4 1.2.3.4", true,
                             R"(\(bad proxy header\).*the connection ended before the header did)"},
                    bad_peer{"NeverCompletes", "127.0.0.1",
                             std::string("\r\n\r\n\0\r\nQUIT\n\x21", 13), false,
                             R"(\(proxy header timeout\))"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(AcceptProxy, UntrustedClientsWithoutAHeaderAreServedAsUsual) {
  raw_server upstream([](int fd) {
    std::string got = read_all(fd, 300ms);
    ::send(fd, got.data(), got.size(), MSG_NOSIGNAL);
  });
  running_balancer pinwheel(accept_proxy_config(upstream.port()));
  EXPECT_EQ(exchange_from("127.0.0.3", "127.0.0.1", pinwheel.port(), "plain bytes"), "plain bytes");
}

}  // namespace
}  // namespace pinwheel::test
