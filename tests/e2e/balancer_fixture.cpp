#include "e2e/balancer_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>

#include "support/wait.hpp"

namespace pinwheel::test {

std::string backend_command() {
  return std::string("[\"") + BACKEND_BIN + "\", \"--port\", \"{port}\", \"--index\", \"{index}\"]";
}

attempt get_fast(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    attempt result = errno == ECONNREFUSED ? attempt::refused : attempt::other_failure;
    ::close(fd);
    return result;
  }
  std::string request = "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  char buffer[1024];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply.starts_with("HTTP/1.1 200") ? attempt::answered : attempt::other_failure;
}

fast_loop::fast_loop(std::uint16_t port)
    : thread_([this, port] {
        while (!done_) {
          switch (get_fast(port)) {
            case attempt::answered:
              ++answered_;
              break;
            case attempt::refused:
              ++refused_;
              break;
            case attempt::other_failure:
              ++failed_;
              break;
          }
        }
      }) {}

fast_loop::~fast_loop() { stop(); }

void fast_loop::stop() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string demo_config(int count, const std::string& strategy, const std::string& extra_balancer,
                        const std::string& extra_backends) {
  return "[balancer]\n"
         "listen = \"127.0.0.1:0\"\n"
         "strategy = \"" +
         strategy +
         "\"\n"
         "drain_timeout = \"5s\"\n" +
         extra_balancer +
         "[backends]\n"
         "count = " +
         std::to_string(count) +
         "\n"
         "command = " +
         backend_command() +
         "\n"
         "base_port = 0\n"
         "restart_delay = \"50ms\"\n"
         "stop_timeout = \"2s\"\n" +
         extra_backends +
         "[health]\n"
         "kind = \"http\"\n"
         "interval = \"200ms\"\n"
         "timeout = \"500ms\"\n";
}

std::string write_temp_file(const std::string& name, const std::string& text) {
  std::string dir_template = "/tmp/pinwheel-test-XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  std::string path = dir_template + "/" + name;
  std::ofstream(path) << text;
  return path;
}

running_balancer::running_balancer(const std::string& toml, std::size_t wait_up,
                                   std::vector<std::string> args, std::vector<std::string> launcher)
    : config_path_(write_temp_file("pinwheel.toml", toml)) {
  std::vector<std::string> argv = std::move(launcher);
  argv.insert(argv.end(), {PINWHEEL_BIN, "--config", config_path_});
  // Tests run in parallel: the default metrics port would be taken by the first.
  if (std::find(args.begin(), args.end(), "--metrics-listen") == args.end())
    argv.insert(argv.end(), {"--metrics-listen", "127.0.0.1:0"});
  argv.insert(argv.end(), args.begin(), args.end());
  process_ = std::make_unique<child_process>(argv);
  auto listening = process_->wait_for_line(R"(pinwheel: listening on [^ ]*:(\d+) )", 10s);
  if (!listening)
    throw std::runtime_error("pinwheel did not start listening:\n" + process_->output());
  port_ = static_cast<std::uint16_t>(std::stoi((*listening)[1]));
  if (wait_up > 0 && !wait_backends_up(wait_up)) {
    throw std::runtime_error("backends did not come up:\n" + process_->output());
  }
}

std::uint16_t running_balancer::metrics_port() {
  if (metrics_port_ != 0) return metrics_port_;
  auto line = process_->wait_for_line(R"(pinwheel: metrics on http://[^ ]*:(\d+)/metrics)", 5s);
  if (!line) throw std::runtime_error("pinwheel serves no metrics:\n" + process_->output());
  metrics_port_ = static_cast<std::uint16_t>(std::stoi((*line)[1]));
  return metrics_port_;
}

bool running_balancer::wait_backends_up(std::size_t count, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        std::set<std::string> up;
        std::regex line(R"(backend (\d+) \([^)]*\) is up)");
        std::string out = process_->output();
        for (std::sregex_iterator it(out.begin(), out.end(), line), end; it != end; ++it)
          up.insert((*it)[1]);
        return up.size() >= count;
      },
      timeout);
}

whoami parse_whoami(const std::string& text) {
  std::smatch m;
  std::regex json(R"re(\{"pid": (\d+), "index": (\d+), "cpu": (-?\d+), "client": "([^"]*)"\})re");
  if (!std::regex_search(text, m, json)) throw std::runtime_error("no /whoami answer in: " + text);
  return {static_cast<pid_t>(std::stoi(m[1])), std::stoi(m[2]), std::stoi(m[3]), m[4]};
}

whoami ask_whoami(std::uint16_t port) {
  http_response r = http_get(port, "/whoami");
  if (r.status != 200) throw std::runtime_error("/whoami answered " + std::to_string(r.status));
  return parse_whoami(r.body);
}

own_backend::own_backend(int index, const std::vector<std::string>& extra_args)
    : process(std::make_unique<child_process>([&] {
        std::vector<std::string> argv{BACKEND_BIN, "--port", "0", "--index", std::to_string(index)};
        argv.insert(argv.end(), extra_args.begin(), extra_args.end());
        return argv;
      }())) {
  auto line = process->wait_for_line(R"( listening on [^ ]*:(\d+) \(pid)", 10s);
  if (!line) throw std::runtime_error("the demo backend did not start:\n" + process->output());
  port = static_cast<std::uint16_t>(std::stoi((*line)[1]));
}

ctl_result run_ctl(const running_balancer& p, const std::vector<std::string>& args) {
  std::vector<std::string> argv{PINWHEEL_BIN, "ctl", "--config", p.config_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  child_process c(argv);
  ctl_result r;
  r.code = c.wait_exit(15s).value_or(-1);
  r.output = c.output();
  return r;
}

std::string raw_config(std::uint16_t port, const std::string& extra_balancer) {
  return "[balancer]\nlisten = \"127.0.0.1:0\"\n" + extra_balancer +
         "[backends]\nservers = [\"127.0.0.1:" + std::to_string(port) +
         "\"]\n[health]\nkind = \"none\"\n";
}

raw_server::raw_server(std::function<void(int fd)> handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("raw_server: cannot listen");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepted_;
      workers_.emplace_back([this, fd] {
        handler_(fd);
        ::close(fd);
      });
    }
  });
}

raw_server::~raw_server() {
  stopping_ = true;
  acceptor_.join();
  for (std::thread& t : workers_) t.join();
  ::close(listen_fd_);
}

}  // namespace pinwheel::test
