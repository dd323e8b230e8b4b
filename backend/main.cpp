// pinwheel-backend: the demo single-core HTTP server that Pinwheel balances across cores.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "http_server.hpp"
#include "routes.hpp"
#include "service_notify.hpp"

namespace {

/// The command line, validated by CLI11 before anything starts.
struct options {
  /// The TCP port to listen on; 0 picks a free one.
  std::uint16_t port = 0;
  /// The address to listen on, IPv4 or IPv6.
  std::string host = "127.0.0.1";
  /// This backend's index, reported by /whoami.
  int index = 0;
  /// Connections open with a PROXY protocol header.
  bool proxy_protocol = false;
};

// Exit codes: 1 for a failure at run time (port in use), 2 for a bad command line.
constexpr int exit_runtime_error = 1;
constexpr int exit_usage = 2;

}  // namespace

int main(int argc, char** argv) {
  options opts;
  CLI::App app{"Pinwheel's demo backend: a single-threaded HTTP/1.1 server.", "pinwheel-backend"};
  app.add_option("--port", opts.port, "TCP port to listen on (0: any free port)")
      ->required()
      ->check(CLI::Range(0, 65535));
  app.add_option("--index", opts.index, "This backend's index, reported by /whoami")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_flag("--proxy-protocol", opts.proxy_protocol,
               "Every connection opens with a PROXY protocol header (v1 or v2, as HAProxy and "
               "Pinwheel's send_proxy write it); /whoami then reports the client it names");
  app.add_option("--host", opts.host, "Address to listen on, e.g. 127.0.0.1 or ::1")
      ->check(CLI::Validator(
          [](const std::string& host) {
            std::error_code ec;
            asio::ip::make_address(host, ec);
            return ec ? "not an IPv4 or IPv6 address: " + host : std::string();
          },
          "ADDRESS"))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : exit_usage;
  }

  const asio::ip::address address = asio::ip::make_address(opts.host);
  const std::string where = address.to_string() + ":" + std::to_string(opts.port);
  const pinwheel::demo::identity self{static_cast<int>(getpid()), opts.index, opts.proxy_protocol};

  asio::io_context io(1);
  std::optional<pinwheel::demo::http_server> server;
  // Socket activation (systemd's convention, which Pinwheel follows): the listening socket is
  // descriptor 3, when LISTEN_PID names this very process.
  const char* listen_fds = std::getenv("LISTEN_FDS");
  const char* listen_pid = std::getenv("LISTEN_PID");
  bool activated = listen_fds != nullptr && std::string(listen_fds) == "1" &&
                   listen_pid != nullptr && std::atol(listen_pid) == ::getpid();
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDNAMES");
  try {
    if (activated)
      server.emplace(io, 3, self);
    else
      server.emplace(io, asio::ip::tcp::endpoint(address, opts.port), self);
  } catch (const std::system_error& e) {
    std::cerr << "pinwheel-backend: cannot listen on " << where << ": " << e.code().message()
              << '\n';
    return exit_runtime_error;
  }

  // A /slow already running finishes first: holding the event loop is its whole point.
  // sd_notify when NOTIFY_SOCKET is set (Pinwheel sets it for every backend it spawns).
  pinwheel::demo::service_notify notify(io);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code&, int) {
    notify.stopping();
    server->stop();
  });
  server->start();

  std::cout << "pinwheel-backend " << opts.index << " listening on " << address.to_string() << ':'
            << server->local_endpoint().port() << " (pid " << self.pid << ")"
            << (activated ? " on descriptor 3 (socket activation)" : "") << std::endl;
  notify.ready("listening on " + address.to_string() + ":" +
               std::to_string(server->local_endpoint().port()));
  io.run();
  return 0;
}
