// The demo backend as a black box: a real process, real sockets on loopback.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <utility>

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

using namespace std::chrono_literals;

constexpr auto start_timeout = 10s;
constexpr auto reply_timeout = 5s;

std::vector<std::string> backend_args(std::uint16_t port, const std::string& host = "127.0.0.1") {
  return {BACKEND_BIN, "--port", std::to_string(port), "--index", "3", "--host", host};
}

// The port a backend started with --port 0 announces; 0 if it did not.
std::uint16_t announced_port(child_process& backend) {
  const auto line = backend.wait_for_line(" listening on .*:(\\d+) \\(pid", start_timeout);
  return line ? static_cast<std::uint16_t>(std::stoi((*line)[1])) : 0;
}

// A running backend, started with --index 3 on port 0 (the kernel picks a free one, no race),
// ready once constructed.
class demo_backend_test : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = std::make_unique<child_process>(backend_args(0));
    port_ = announced_port(*backend_);
    ASSERT_NE(port_, 0) << backend_->output();
  }

  std::string get_body(const std::string& target) { return http_get(port_, target).body; }

  std::uint16_t port_ = 0;
  std::unique_ptr<child_process> backend_;
};

TEST_F(demo_backend_test, AnnouncesIndexAddressAndPid) {
  const auto line = backend_->wait_for_line(
      "^pinwheel-backend 3 listening on 127\\.0\\.0\\.1:(\\d+) \\(pid (\\d+)\\)$", 0ms);
  ASSERT_TRUE(line) << backend_->output();
  EXPECT_EQ((*line)[1], std::to_string(port_));
  EXPECT_EQ((*line)[2], std::to_string(backend_->pid()));
}

TEST_F(demo_backend_test, FastRoutesAnswerAtOnce) {
  for (const char* target : {"/", "/fast", "/health"}) {
    const http_response r = http_get(port_, target);
    EXPECT_EQ(r.status, 200) << target;
    EXPECT_EQ(r.headers.at("content-length"), std::to_string(r.body.size())) << target;
  }
  EXPECT_EQ(get_body("/fast"), "fast\n");
  EXPECT_EQ(get_body("/health"), "ok\n");
}

TEST_F(demo_backend_test, WhoamiReportsPidIndexAndCpu) {
  const http_response r = http_get(port_, "/whoami");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.body, m,
                               std::regex(R"(\{"pid": (\d+), "index": (\d+), "cpu": (-?\d+), )"
                                          R"re("client": "127\.0\.0\.1:(\d+)"\})re")))
      << r.body;
  EXPECT_EQ(std::stoi(m[1]), backend_->pid());
  EXPECT_EQ(std::stoi(m[2]), 3);
  EXPECT_GE(std::stoi(m[3]), 0);
}

TEST(demo_backend, ProxyProtocolHeaderNamesTheClient) {
  child_process backend({BACKEND_BIN, "--port", "0", "--proxy-protocol"});
  const std::uint16_t port = announced_port(backend);
  ASSERT_NE(port, 0) << backend.output();
  {
    // v1, with the request in the same packet.
    tcp_client c(port);
    c.send_all(
        "PROXY TCP4 192.0.2.7 127.0.0.1 51234 80\r\nGET /whoami HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n\r\n");
    std::string reply = c.read_until_eof(reply_timeout);
    EXPECT_NE(reply.find("\"client\": \"192.0.2.7:51234\""), std::string::npos) << reply;
  }
  {
    // v2 LOCAL (a health check): the connection's own address.
    tcp_client c(port);
    c.send_all(std::string("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16));
    c.send_all("GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string reply = c.read_until_eof(reply_timeout);
    EXPECT_NE(reply.find("\"client\": \"127.0.0.1:"), std::string::npos) << reply;
  }
  {
    // No header: dropped, and said so.
    tcp_client c(port);
    c.send_all("GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_until_eof(reply_timeout), "");
    EXPECT_TRUE(backend.wait_for_line("bad PROXY header: not a PROXY protocol header", 5s))
        << backend.output();
  }
}

TEST_F(demo_backend_test, SlowBurnsAtLeastTheAskedTime) {
  const auto start = std::chrono::steady_clock::now();
  const http_response r = http_get(port_, "/slow?ms=200");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "slow 200ms\n");
}

TEST_F(demo_backend_test, SlowRejectsABadDurationAndClampsANegativeOne) {
  EXPECT_EQ(http_get(port_, "/slow").status, 400);
  EXPECT_EQ(http_get(port_, "/slow?ms=abc").status, 400);
  EXPECT_EQ(http_get(port_, "/slow?ms=12x").status, 400);
  EXPECT_EQ(get_body("/slow?ms=-5"), "slow 0ms\n");
  EXPECT_EQ(get_body("/slow?x=1&ms=1"), "slow 1ms\n");
}

TEST_F(demo_backend_test, PrintWritesTheAskedBytesAsLinesOnStderr) {
  EXPECT_EQ(get_body("/print?bytes=250"), "printed 250 bytes\n");
  // 250 bytes: two lines of 100 and a last one of 50, each counting its newline.
  ASSERT_TRUE(backend_->wait_for_line("^print line 3 x*$", reply_timeout)) << backend_->output();
  std::smatch m;
  const std::string output = backend_->output();
  ASSERT_TRUE(std::regex_search(output, m, std::regex("print line 1 x*\n"))) << output;
  EXPECT_EQ(m.length(), 100);
  ASSERT_TRUE(std::regex_search(output, m, std::regex("print line 3 x*\n"))) << output;
  EXPECT_EQ(m.length(), 50);
  EXPECT_EQ(output.find("print line 4"), std::string::npos) << output;
  EXPECT_EQ(http_get(port_, "/print").status, 400);
  EXPECT_EQ(get_body("/print?bytes=-1"), "printed 0 bytes\n");
}

TEST_F(demo_backend_test, UnknownPathIs404AndOtherMethods405) {
  EXPECT_EQ(http_get(port_, "/nope").status, 404);
  EXPECT_EQ(http_get(port_, "/fast/more").status, 404);

  tcp_client client(port_);
  client.send_all("DELETE /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  const http_response r = client.read_response(reply_timeout);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.at("allow"), "GET, HEAD");
}

TEST_F(demo_backend_test, HeadSendsLengthButNoBody) {
  tcp_client client(port_);
  client.send_all("HEAD /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  const http_response head = client.read_response(reply_timeout, true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.at("content-length"), "5");
  EXPECT_EQ(head.body, "");
  // Had HEAD sent a body, it would show up here instead of the next status line.
  EXPECT_EQ(client.read_response(reply_timeout).body, "ok\n");
}

TEST_F(demo_backend_test, KeepAliveServesRequestsInTurnOnOneConnection) {
  tcp_client client(port_);
  client.send_all("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  const http_response first = client.read_response(reply_timeout);
  EXPECT_EQ(first.body, "fast\n");
  EXPECT_EQ(first.headers.at("connection"), "keep-alive");

  client.send_all("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(client.read_response(reply_timeout).body, "ok\n");
  EXPECT_FALSE(client.peer_closed());
}

TEST_F(demo_backend_test, PipelinedRequestsAreAnsweredInOrder) {
  tcp_client client(port_);
  client.send_all(
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /slow?ms=20 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(client.read_response(reply_timeout).body, "ok\n");
  EXPECT_EQ(client.read_response(reply_timeout).body, "slow 20ms\n");
  const http_response last = client.read_response(reply_timeout);
  EXPECT_EQ(last.body, "fast\n");
  EXPECT_EQ(last.headers.at("connection"), "close");
  EXPECT_EQ(client.read_until_eof(reply_timeout), "");
  EXPECT_TRUE(client.peer_closed());
}

TEST_F(demo_backend_test, RequestBodyIsReadAndIgnored) {
  tcp_client client(port_);
  client.send_all(
      "GET /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nGET /nope\r\n"
      "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(client.read_response(reply_timeout).body, "fast\n");
  EXPECT_EQ(client.read_response(reply_timeout).body, "ok\n");
  EXPECT_EQ(client.read_response(reply_timeout).status, 200);
}

TEST_F(demo_backend_test, Http10ClosesUnlessAskedToKeepAlive) {
  tcp_client plain(port_);
  plain.send_all("GET /fast HTTP/1.0\r\n\r\n");
  const http_response r = plain.read_response(reply_timeout);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("connection"), "close");
  EXPECT_EQ(plain.read_until_eof(reply_timeout), "");
  EXPECT_TRUE(plain.peer_closed());

  tcp_client kept(port_);
  kept.send_all("GET /fast HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(kept.read_response(reply_timeout).headers.at("connection"), "keep-alive");
  kept.send_all("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(kept.read_response(reply_timeout).body, "ok\n");
}

TEST_F(demo_backend_test, ConnectionCloseIsHonoured) {
  tcp_client client(port_);
  client.send_all("GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(client.read_response(reply_timeout).headers.at("connection"), "close");
  EXPECT_EQ(client.read_until_eof(reply_timeout), "");
  EXPECT_TRUE(client.peer_closed());
}

TEST_F(demo_backend_test, HalfClosedClientStillGetsItsAnswer) {
  tcp_client client(port_);
  client.send_all("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  client.shutdown_write();
  EXPECT_EQ(client.read_response(reply_timeout).body, "ok\n");
  EXPECT_EQ(client.read_until_eof(reply_timeout), "");
  EXPECT_TRUE(client.peer_closed());
}

// Sends `request` on a fresh connection; expects 400, Connection: close, then end-of-stream.
void expect_bad_request(std::uint16_t port, const std::string& request) {
  tcp_client client(port);
  client.send_all(request);
  const http_response r = client.read_response(reply_timeout);
  EXPECT_EQ(r.status, 400) << request.substr(0, 60);
  EXPECT_EQ(r.headers.at("connection"), "close");
  EXPECT_EQ(client.read_until_eof(reply_timeout), "");
  EXPECT_TRUE(client.peer_closed()) << request.substr(0, 60);
}

TEST_F(demo_backend_test, GarbageGets400AndTheServerCarriesOn) {
  expect_bad_request(port_, "GARBAGE\r\n\r\n");
  EXPECT_EQ(get_body("/health"), "ok\n");
}

TEST_F(demo_backend_test, OverlongHeaderGets400AndTheServerCarriesOn) {
  expect_bad_request(port_, "GET / HTTP/1.1\r\nX-Long: " + std::string(20000, 'a') + "\r\n\r\n");
  // The limit counts the whole head, however it is spread over fields.
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 2000; ++i) many += "X-" + std::to_string(i) + ": 1234567\r\n";
  expect_bad_request(port_, many + "\r\n");
  EXPECT_EQ(get_body("/health"), "ok\n");
}

TEST_F(demo_backend_test, AnswersBeforeABadRequestStillGoOut) {
  tcp_client client(port_);
  client.send_all("GET /fast HTTP/1.1\r\nHost: x\r\n\r\nBAD\x01 / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(client.read_response(reply_timeout).body, "fast\n");
  EXPECT_EQ(client.read_response(reply_timeout).status, 400);
  EXPECT_EQ(client.read_until_eof(reply_timeout), "");
}

TEST_F(demo_backend_test, SurvivesHostileInput) {
  const std::pair<std::string, int> inputs[] = {
      {std::string("\0\0\0\0\r\n\r\n", 8), 400},
      {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", 400},
      {"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400},
      {"GET " + std::string(20000, '/') + " HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/9.9\r\n\r\n", 505},
      {"GET / HTTP/0.9\r\n\r\n", 505},
      // Blank lines before a request are allowed (RFC 9112, 2.2) and skipped.
      {"\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n", 200},
  };
  for (const auto& [input, status] : inputs) {
    tcp_client client(port_);
    client.send_all(input);
    const std::string reply = client.read_until_eof(reply_timeout);
    EXPECT_EQ(reply.compare(0, 12, "HTTP/1.1 " + std::to_string(status)), 0) << reply;
    EXPECT_TRUE(client.peer_closed()) << input.substr(0, 60);
  }
  // Connections dropped mid-request, without a word.
  for (int i = 0; i < 20; ++i) {
    tcp_client client(port_);
    client.send_all("GET /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
  }
  EXPECT_EQ(get_body("/health"), "ok\n");
  EXPECT_TRUE(backend_->running());
}

TEST_F(demo_backend_test, SigtermClosesConnectionsAndExitsZeroPromptly) {
  tcp_client idle(port_);
  idle.send_all("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(idle.read_response(reply_timeout).status, 200);

  const auto start = std::chrono::steady_clock::now();
  backend_->send_signal(SIGTERM);
  EXPECT_EQ(backend_->wait_exit(5s), 0) << backend_->output();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(idle.read_until_eof(reply_timeout), "");
  EXPECT_TRUE(idle.peer_closed());
}

TEST_F(demo_backend_test, SigintExitsZero) {
  backend_->send_signal(SIGINT);
  EXPECT_EQ(backend_->wait_exit(5s), 0) << backend_->output();
}

TEST(demo_backend, ListensOnIpv6Loopback) {
  try {
    free_port("::1");
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  child_process backend(backend_args(0, "::1"));
  const std::uint16_t port = announced_port(backend);
  ASSERT_NE(port, 0) << backend.output();
  ASSERT_TRUE(backend.wait_for_line("listening on ::1:" + std::to_string(port), 0ms))
      << backend.output();
  const http_response r = http_get(port, "/whoami", reply_timeout, "::1");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"index\": 3"), std::string::npos) << r.body;
  EXPECT_THROW(http_get(port, "/health", reply_timeout, "127.0.0.1"), std::runtime_error);
}

TEST(demo_backend, BadArgumentsExitTwoWithAMessage) {
  const std::vector<std::vector<std::string>> bad = {
      {BACKEND_BIN},
      {BACKEND_BIN, "--port", "http"},
      {BACKEND_BIN, "--port", "70000"},
      {BACKEND_BIN, "--port", "8080", "--index", "-1"},
      {BACKEND_BIN, "--port", "8080", "--host", "localhost:80"},
      {BACKEND_BIN, "--port", "8080", "--color", "blue"},
  };
  for (const auto& argv : bad) {
    child_process backend(argv);
    EXPECT_EQ(backend.wait_exit(5s), 2) << backend.output();
    EXPECT_FALSE(backend.output().empty());
  }
}

TEST(demo_backend, PortInUseExitsOneNamingTheAddress) {
  child_process first(backend_args(0));
  const std::uint16_t port = announced_port(first);
  ASSERT_NE(port, 0) << first.output();

  child_process second(backend_args(port));
  EXPECT_EQ(second.wait_exit(5s), 1) << second.output();
  EXPECT_NE(second.output().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << second.output();
}

// The support library on its own.

TEST(test_support, WaitUntilReturnsTheLastResult) {
  int calls = 0;
  EXPECT_TRUE(wait_until([&] { return ++calls == 3; }, 5s, 1ms));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(wait_until([] { return false; }, 20ms));
}

TEST(test_support, ChildProcessCapturesBothStreamsAndTheExitCode) {
  child_process child({"/bin/sh", "-c", "echo out 1; echo err 2 >&2; echo -n tail; exit 7"});
  const auto line = child.wait_for_line("^err (\\d)$", 5s);
  ASSERT_TRUE(line) << child.output();
  EXPECT_EQ((*line)[1], "2");
  EXPECT_EQ(child.wait_exit(5s), 7);
  EXPECT_FALSE(child.running());
  EXPECT_TRUE(child.wait_for_line("^tail$", 5s)) << child.output();
  EXPECT_EQ(child.output(), "out 1\nerr 2\ntail\n");
  // Output has ended: a line that never came is reported at once, not after the timeout.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(child.wait_for_line("never", 60s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(test_support, ChildProcessReportsDeathBySignal) {
  child_process child({"/bin/sh", "-c", "echo ready; exec sleep 60"});
  ASSERT_TRUE(child.wait_for_line("ready", 5s));
  EXPECT_TRUE(child.running());
  EXPECT_TRUE(process_alive(child.pid()));
  EXPECT_FALSE(child.wait_exit(10ms));
  child.send_signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(5s), 128 + SIGTERM);
  EXPECT_FALSE(process_alive(child.pid()));
}

TEST(test_support, ChildProcessLeavesPausedOutputInThePipeUntilResumed) {
  // The child writes only once the test has paused reading and opened the fifo.
  std::string dir = "/tmp/pinwheel-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string fifo = dir + "/go";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  child_process child({"/bin/sh", "-c",
                       "echo ready; read go < " + fifo +
                           "; head -c 200000 /dev/zero | tr '\\0' x; echo; echo done"});
  ASSERT_TRUE(child.wait_for_line("^ready$", 5s)) << child.output();
  child.pause_output();
  const int go = open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(go, 0);
  ASSERT_EQ(write(go, "go\n", 3), 3);
  close(go);

  // 200 kB do not fit in a pipe: unread, the child cannot get to "done".
  EXPECT_FALSE(child.wait_for_line("^done$", 300ms)) << child.output().substr(0, 100);
  EXPECT_TRUE(child.running());
  child.resume_output();
  EXPECT_TRUE(child.wait_for_line("^done$", 5s));
  EXPECT_EQ(child.wait_exit(5s), 0);
  EXPECT_EQ(child.output(), "ready\n" + std::string(200000, 'x') + "\ndone\n");
  unlink(fifo.c_str());
  rmdir(dir.c_str());
}

TEST(test_support, ChildProcessThrowsWhenItCannotStart) {
  EXPECT_THROW(child_process({"/nonexistent/program"}), std::runtime_error);
}

TEST(test_support, ChildPidsAndCpuListComeFromProc) {
  child_process child({"/bin/sh", "-c", "sleep 60 & echo child $!; wait"});
  const auto line = child.wait_for_line("^child (\\d+)$", 5s);
  ASSERT_TRUE(line) << child.output();
  const pid_t grandchild = std::stoi((*line)[1]);
  EXPECT_EQ(child_pids(child.pid()), std::vector<pid_t>{grandchild});
  EXPECT_EQ(child_pids(getpid()), std::vector<pid_t>{child.pid()});
  EXPECT_TRUE(std::regex_match(cpus_allowed_list(grandchild), std::regex("[0-9,-]+")))
      << cpus_allowed_list(grandchild);
  // The grandchild is ours too: end it by its pid.
  kill(grandchild, SIGKILL);
  EXPECT_TRUE(wait_until([&] { return child_pids(child.pid()).empty(); }, 5s));
}

TEST(test_support, HttpGetNamesWhatFailed) {
  const std::uint16_t port = free_port();
  try {
    http_get(port, "/x");
    FAIL() << "expected a refused connection";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pinwheel::test
