#include "e2e/edge_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/wait.hpp"

namespace pinwheel::test {

namespace {

// Fills `out` for host:port; returns its length.
socklen_t make_address(const std::string& host, std::uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return sizeof(sockaddr_in);
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return sizeof(sockaddr_in6);
  }
  throw std::runtime_error("not an IP address: " + host);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A private folder with `name` written in it; returns the folder.
std::string folder_with(const std::string& name, const std::string& text) {
  std::string path = write_temp_file(name, text);
  return path.substr(0, path.rfind('/'));
}

std::unique_ptr<third_party> wait_listening(std::unique_ptr<third_party> p, const char* what) {
  bool up = wait_until(
      [&] {
        try {
          unique_fd fd = connect_from("127.0.0.1", "127.0.0.1", p->port);
          return true;
        } catch (const std::runtime_error&) {
          return false;
        }
      },
      10s, 20ms);
  if (!up)
    throw std::runtime_error(std::string(what) + " did not listen:\n" + p->process->output());
  return p;
}

}  // namespace

namespace {

// Connects from `source` to host:port; on a refused or reset connect returns an empty fd and
// leaves errno set, so that callers can tell a limit's reset from a broken test set-up.
unique_fd try_connect_from(const std::string& source, const std::string& host, std::uint16_t port,
                           std::uint16_t* source_port) {
  sockaddr_storage local{}, remote{};
  socklen_t local_len = make_address(source, 0, local);
  socklen_t remote_len = make_address(host, port, remote);
  unique_fd fd(::socket(remote.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), local_len) != 0)
    throw std::runtime_error("bind " + source + ": " + std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&remote), remote_len) != 0) {
    int error = errno;
    fd.reset();
    errno = error;
    return fd;
  }
  if (source_port != nullptr) {
    socklen_t len = sizeof local;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len);
    *source_port =
        ntohs(local.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&local)->sin_port
                                         : reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
  }
  return fd;
}

}  // namespace

unique_fd connect_from(const std::string& source, const std::string& host, std::uint16_t port,
                       std::uint16_t* source_port) {
  unique_fd fd = try_connect_from(source, host, port, source_port);
  if (fd.get() < 0)
    throw std::runtime_error("connect " + host + ":" + std::to_string(port) + ": " +
                             std::strerror(errno));
  return fd;
}

std::string exchange_from(const std::string& source, const std::string& host, std::uint16_t port,
                          const std::string& request, std::uint16_t* source_port) {
  unique_fd fd = try_connect_from(source, host, port, source_port);
  // Turned away at once (a limit): the reset can beat the end of connect() or the request.
  if (fd.get() < 0 && errno == ECONNRESET) return "RESET";
  if (fd.get() < 0)
    throw std::runtime_error("connect " + host + ":" + std::to_string(port) + ": " +
                             std::strerror(errno));
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    if (errno == ECONNRESET || errno == EPIPE) return "RESET";
    throw std::runtime_error("send failed: " + std::string(std::strerror(errno)));
  }
  return read_all(fd.get(), 5s);
}

std::string whoami_from(const std::string& source, std::uint16_t port, const std::string& host,
                        std::uint16_t* source_port) {
  return exchange_from(source, host, port,
                       "GET /whoami HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
                       source_port);
}

std::string servers_config(const std::string& servers, const std::string& backends_extra,
                           const std::string& balancer_extra, const std::string& health_kind) {
  return "[balancer]\nlisten = \"127.0.0.1:0\"\nconnect_timeout = \"2s\"\n" + balancer_extra +
         "[backends]\nservers = " + servers + "\n" + backends_extra + "[health]\nkind = \"" +
         health_kind + "\"\ninterval = \"100ms\"\npath = \"/\"\n";
}

std::uint16_t extra_port(running_balancer& pinwheel, const std::string& host) {
  auto line = pinwheel.process().wait_for_line("also listening on \\[?" + host + "\\]?:(\\d+)", 5s);
  if (!line)
    throw std::runtime_error("no listener on " + host + ":\n" + pinwheel.process().output());
  return static_cast<std::uint16_t>(std::stoi((*line)[1]));
}

third_party::~third_party() {
  if (!process) return;
  process->send_signal(SIGTERM);
  if (!process->wait_exit(5s)) process->send_signal(SIGKILL);
}

std::unique_ptr<third_party> start_nginx_proxy_protocol() {
  auto p = std::make_unique<third_party>();
  p->port = free_port();
  std::string conf = R"(worker_processes 1;
pid PREFIX/nginx.pid;
error_log PREFIX/error.log warn;
events { worker_connections 256; }
http {
    log_format edge '$proxy_protocol_addr:$proxy_protocol_port via $remote_addr "$request"';
    access_log PREFIX/access.log edge;
    client_body_temp_path PREFIX/client_body;
    proxy_temp_path PREFIX/proxy;
    fastcgi_temp_path PREFIX/fastcgi;
    uwsgi_temp_path PREFIX/uwsgi;
    scgi_temp_path PREFIX/scgi;
    server {
        listen 127.0.0.1:PORT proxy_protocol;
        location / { return 200 "$proxy_protocol_addr:$proxy_protocol_port\n"; }
    }
}
)";
  p->dir = folder_with("nginx.conf", "");
  auto replace = [&](const std::string& from, const std::string& to) {
    for (std::size_t at = conf.find(from); at != std::string::npos; at = conf.find(from, at))
      conf.replace(at, from.size(), to);
  };
  replace("PREFIX", p->dir);
  replace("PORT", std::to_string(p->port));
  std::ofstream(p->dir + "/nginx.conf") << conf;
  p->process = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/sbin/nginx", "-e", p->dir + "/error.log", "-p", p->dir, "-c",
                               p->dir + "/nginx.conf", "-g", "daemon off;"});
  return wait_listening(std::move(p), "nginx");
}

std::unique_ptr<third_party> start_haproxy_send_proxy_v2(std::uint16_t pinwheel_port) {
  auto p = std::make_unique<third_party>();
  p->port = free_port();
  std::string conf =
      "global\n    nbthread 1\n"
      "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30s\n"
      "    timeout server 30s\n"
      "frontend edge\n    bind 127.0.0.1:" +
      std::to_string(p->port) +
      "\n    default_backend pinwheel\n"
      "backend pinwheel\n    server pinwheel 127.0.0.1:" +
      std::to_string(pinwheel_port) + " send-proxy-v2\n";
  p->dir = folder_with("haproxy.cfg", conf);
  p->process = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/sbin/haproxy", "-db", "-f", p->dir + "/haproxy.cfg"});
  return wait_listening(std::move(p), "haproxy");
}

std::unique_ptr<third_party> start_node_proxy_header_app() {
  auto p = std::make_unique<third_party>();
  p->process = std::make_unique<child_process>(std::vector<std::string>{
      "/usr/bin/node", std::string(SOURCE_DIR) + "/tests/e2e/proxy_header_app.js"});
  auto line = p->process->wait_for_line(R"(listening (\d+))", 10s);
  if (!line) throw std::runtime_error("the node app did not start:\n" + p->process->output());
  p->port = static_cast<std::uint16_t>(std::stoi((*line)[1]));
  return p;
}

bool wait_for_file_text(const std::string& path, const std::string& text,
                        std::chrono::milliseconds timeout) {
  return wait_until([&] { return read_file(path).find(text) != std::string::npos; }, timeout);
}

}  // namespace pinwheel::test
