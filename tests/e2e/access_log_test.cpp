// The access log of a real balancer: one line per closed connection with the backend, the bytes
// each way and how it ended; each end reason that is cheap to provoke; reopening on SIGUSR1
// after logrotate's rename; and a path that cannot be written is a start-up error.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "e2e/balancer_fixture.hpp"
#include "support/wait.hpp"

namespace pinwheel::test {
namespace {

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// An empty log file in a private folder, and the [access_log] table that names it.
struct log_file {
  explicit log_file(const std::string& format = "text")
      : path(write_temp_file("access.log", "")),
        table("[access_log]\nenabled = true\npath = \"" + path + "\"\nformat = \"" + format +
              "\"\n") {}
  std::string path;
  std::string table;

  /// Waits for the line about the client on local port `port`; "" if none came within 5 s.
  std::string line_for(std::uint16_t port, const std::string& client_key = "client=") const {
    const std::string needle = client_key + "127.0.0.1:" + std::to_string(port);
    std::string found;
    wait_until(
        [&] {
          std::istringstream lines(file_text(path));
          for (std::string line; std::getline(lines, line);) {
            const auto at = line.find(needle);
            // The port must end there: 127.0.0.1:4000 is not 127.0.0.1:40001.
            if (at != std::string::npos && !std::isdigit(line[at + needle.size()])) {
              found = line;
              return true;
            }
          }
          return false;
        },
        5s);
    return found;
  }
};

std::uint16_t local_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

void send_text(int fd, std::string_view text) {
  ASSERT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
}

// What the upstream does depends on the first byte it reads: e (echo-ish: read to the end,
// then answer), c (answer and close first), r (reset), h (hold the connection, sending nothing).
void scripted_upstream(int fd) {
  char first = 0;
  if (::recv(fd, &first, 1, 0) != 1) return;
  if (first == 'e') {
    std::string rest = read_all(fd, 5s);
    send_text(fd, "served " + std::to_string(rest.size() + 1));
  } else if (first == 'c') {
    send_text(fd, "bye");
  } else if (first == 'r') {
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);  // the close sends RST
  } else {
    read_all(fd, 5s);
  }
}

TEST(AccessLog, ARequestIsLoggedWithItsBackendBytesAndHowItEnded) {
  raw_server upstream(scripted_upstream);
  log_file log;
  running_balancer pinwheel(raw_config(upstream.port()) + log.table);
  tcp_client client(pinwheel.port());
  const std::uint16_t port = local_port(client.fd());
  client.send_all("e-hello");
  client.shutdown_write();
  EXPECT_EQ(client.read_until_eof(5s), "served 7");
  const std::string line = log.line_for(port);
  const std::regex expected(
      R"(^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z client=127\.0\.0\.1:\d+ backend=0 )"
      R"(backend_address=127\.0\.0\.1:)" +
      std::to_string(upstream.port()) +
      R"( connect_time=0\.\d{6} duration=\d+\.\d{6} bytes_in=7 bytes_out=8 retries=0 )"
      R"(end=client_close$)");
  EXPECT_TRUE(std::regex_search(line, expected)) << line;
}

TEST(AccessLog, JsonLinesWithTheDemoBackend) {
  log_file log("json");
  running_balancer pinwheel(demo_config(1, "round-robin") + log.table, 1);
  const std::string request = "GET /whoami HTTP/1.1\r\nHost: test\r\n\r\n";
  std::uint16_t port = 0;
  {
    tcp_client client(pinwheel.port());
    port = local_port(client.fd());
    client.send_all(request);
    EXPECT_EQ(client.read_response(5s).status, 200);
  }
  const std::string line = log.line_for(port, "\"client\":\"");
  EXPECT_TRUE(line.starts_with("{\"time\":\"")) << line;
  EXPECT_TRUE(line.ends_with(",\"retries\":0,\"end\":\"client_close\"}")) << line;
  EXPECT_NE(line.find("\"backend\":\"0\",\"backend_address\":\"127.0.0.1:"), std::string::npos)
      << line;
  EXPECT_NE(line.find("\"bytes_in\":" + std::to_string(request.size()) + ","), std::string::npos)
      << line;
}

TEST(AccessLog, EachWayOfEndingIsNamed) {
  raw_server upstream(scripted_upstream);
  log_file log;
  running_balancer pinwheel(raw_config(upstream.port(), "idle_timeout = \"300ms\"\n") + log.table);

  tcp_client backend_closes(pinwheel.port());
  backend_closes.send_all("c");
  EXPECT_EQ(backend_closes.read_until_eof(5s), "bye");
  const std::uint16_t backend_close_port = local_port(backend_closes.fd());
  ::shutdown(backend_closes.fd(), SHUT_WR);

  // A socket of the test's own: closing it with linger 0 sends the reset.
  const int resets = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(pinwheel.port());
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(resets, reinterpret_cast<sockaddr*>(&target), sizeof target), 0);
  send_text(resets, "h");
  const std::uint16_t reset_port = local_port(resets);
  // The relay is up once the upstream has accepted; then the reset is the client's.
  ASSERT_TRUE(wait_until([&] { return upstream.accepted() == 2; }, 5s));
  linger hard{1, 0};
  ::setsockopt(resets, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(resets);

  tcp_client backend_resets(pinwheel.port());
  backend_resets.send_all("r");
  const std::uint16_t backend_reset_port = local_port(backend_resets.fd());
  EXPECT_EQ(backend_resets.read_all(5s), "RESET");

  tcp_client idles(pinwheel.port());
  idles.send_all("h");
  const std::uint16_t idle_port = local_port(idles.fd());
  // Nothing was left unsent, so the proxy closes cleanly.
  EXPECT_EQ(idles.read_all(5s), "");

  EXPECT_NE(log.line_for(backend_close_port).find(" bytes_out=3 retries=0 end=backend_close"),
            std::string::npos)
      << file_text(log.path);
  EXPECT_NE(log.line_for(reset_port).find(" end=client_reset"), std::string::npos)
      << file_text(log.path);
  EXPECT_NE(log.line_for(backend_reset_port).find(" end=backend_reset"), std::string::npos)
      << file_text(log.path);
  EXPECT_NE(log.line_for(idle_port).find(" end=idle_timeout"), std::string::npos)
      << file_text(log.path);
}

TEST(AccessLog, ConnectFailureCountsItsRetriesAndNamesNoBackend) {
  log_file log;
  running_balancer pinwheel(
      "[balancer]\nlisten = \"127.0.0.1:0\"\n[backends]\nservers = "
      "[\"127.0.0.1:" +
      std::to_string(free_port()) + "\", \"127.0.0.1:" + std::to_string(free_port()) +
      "\"]\n[health]\nkind = \"none\"\n" + log.table);
  tcp_client client(pinwheel.port());
  const std::uint16_t port = local_port(client.fd());
  EXPECT_EQ(client.read_all(5s), "RESET");
  EXPECT_NE(log.line_for(port).find(" backend=- backend_address=- connect_time=- "),
            std::string::npos)
      << file_text(log.path);
  EXPECT_NE(log.line_for(port).find(" retries=1 end=connect_failure"), std::string::npos)
      << file_text(log.path);
}

TEST(AccessLog, AClientThatNoBackendCameUpForIsLogged) {
  log_file log;
  // Health checks to a closed port fail: the backend never comes up.
  running_balancer pinwheel(
      "[balancer]\nlisten = \"127.0.0.1:0\"\nconnect_timeout = \"200ms\"\n[backends]\nservers = "
      "[\"127.0.0.1:" +
      std::to_string(free_port()) + "\"]\n[health]\nkind = \"tcp\"\ninterval = \"100ms\"\n" +
      log.table);
  tcp_client client(pinwheel.port());
  const std::uint16_t port = local_port(client.fd());
  EXPECT_EQ(client.read_all(5s), "RESET");
  EXPECT_NE(log.line_for(port).find(" backend=- backend_address=- connect_time=- "),
            std::string::npos)
      << file_text(log.path);
  EXPECT_NE(log.line_for(port).find(" retries=0 end=no_backend"), std::string::npos)
      << file_text(log.path);
}

TEST(AccessLog, SigusrOneReopensTheFileAfterARename) {
  raw_server upstream(scripted_upstream);
  log_file log;
  running_balancer pinwheel(raw_config(upstream.port()) + log.table);
  auto request = [&] {
    tcp_client client(pinwheel.port());
    client.send_all("e");
    client.shutdown_write();
    EXPECT_EQ(client.read_until_eof(5s), "served 1");
    return local_port(client.fd());
  };
  const std::uint16_t before = request();
  ASSERT_NE(log.line_for(before), "");
  // logrotate: rename, then USR1; a new file appears and gets the next lines.
  const std::string rotated = log.path + ".1";
  ASSERT_EQ(std::rename(log.path.c_str(), rotated.c_str()), 0);
  pinwheel.process().send_signal(SIGUSR1);
  EXPECT_TRUE(pinwheel.process().wait_for_line("SIGUSR1: reopening the access log " + log.path, 5s))
      << pinwheel.process().output();
  ASSERT_TRUE(wait_until([&] { return ::access(log.path.c_str(), F_OK) == 0; }, 5s));
  const std::uint16_t after = request();
  EXPECT_NE(log.line_for(after), "") << file_text(log.path);
  // Once the new line is there: the new file has nothing from before the rename.
  EXPECT_EQ(file_text(log.path).find("client=127.0.0.1:" + std::to_string(before) + " "),
            std::string::npos)
      << file_text(log.path);
  const std::string old_lines = file_text(rotated);
  EXPECT_NE(old_lines.find("client=127.0.0.1:" + std::to_string(before) + " "), std::string::npos);
  EXPECT_EQ(old_lines.find("client=127.0.0.1:" + std::to_string(after) + " "), std::string::npos);
}

TEST(AccessLog, APathThatCannotBeWrittenIsAStartUpError) {
  const std::string config = write_temp_file(
      "pinwheel.toml",
      "[balancer]\nlisten = \"127.0.0.1:0\"\n[backends]\nservers = [\"127.0.0.1:1\"]\n"
      "[access_log]\nenabled = true\npath = \"/nonexistent-pinwheel-dir/access.log\"\n");
  child_process p({PINWHEEL_BIN, "--config", config, "--metrics-listen", "127.0.0.1:0"});
  EXPECT_EQ(p.wait_exit(10s), 2) << p.output();
  EXPECT_NE(p.output().find(config +
                            ":7:8: [access_log] path: cannot open "
                            "/nonexistent-pinwheel-dir/access.log for appending: No such file or "
                            "directory"),
            std::string::npos)
      << p.output();
}

}  // namespace
}  // namespace pinwheel::test
