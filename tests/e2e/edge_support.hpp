// Helpers for the edge tests: connections from chosen loopback source addresses, configs with
// PROXY protocol settings, and third-party servers (nginx, HAProxy, Node.js) on free ports.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "e2e/balancer_fixture.hpp"
#include "support/unique_fd.hpp"

namespace pinwheel::test {

/// A blocking TCP connection from `source` (e.g. "127.0.0.5" or "::1", port picked by the
/// kernel) to host:port; throws if it cannot connect. `source_port` gets the port used.
unique_fd connect_from(const std::string& source, const std::string& host, std::uint16_t port,
                       std::uint16_t* source_port = nullptr);

/// Sends `request` on a connection from `source` and reads until end of stream; "RESET" when
/// the connection was reset.
std::string exchange_from(const std::string& source, const std::string& host, std::uint16_t port,
                          const std::string& request, std::uint16_t* source_port = nullptr);

/// GET /whoami from `source` through host:port; the whole reply.
std::string whoami_from(const std::string& source, std::uint16_t port,
                        const std::string& host = "127.0.0.1",
                        std::uint16_t* source_port = nullptr);

/// A config balancing `servers` (["127.0.0.1:1", ...] as TOML) with `backends_extra` and
/// `balancer_extra` in their tables; health checks `health_kind`.
std::string servers_config(const std::string& servers, const std::string& backends_extra,
                           const std::string& balancer_extra = "",
                           const std::string& health_kind = "none");

/// The port a running pinwheel logged for its listener on `host` ("also listening on").
std::uint16_t extra_port(running_balancer& pinwheel, const std::string& host);

/// A third-party server run from a private folder, stopped (SIGTERM, then SIGKILL) with it.
struct third_party {
  std::string dir;
  std::uint16_t port = 0;
  std::unique_ptr<child_process> process;
  ~third_party();
};

/// nginx (HTTP) with `listen 127.0.0.1:PORT proxy_protocol`: answers every request with
/// "$proxy_protocol_addr:$proxy_protocol_port" and logs $proxy_protocol_addr in access.log.
std::unique_ptr<third_party> start_nginx_proxy_protocol();

/// HAProxy in front of 127.0.0.1:`pinwheel_port`, sending a PROXY v2 header (send-proxy-v2).
std::unique_ptr<third_party> start_haproxy_send_proxy_v2(std::uint16_t pinwheel_port);

/// tests/e2e/proxy_header_app.js under node: answers "client IP:PORT said LINE".
std::unique_ptr<third_party> start_node_proxy_header_app();

/// Waits until `path` contains `text`.
bool wait_for_file_text(const std::string& path, const std::string& text,
                        std::chrono::milliseconds timeout);

}  // namespace pinwheel::test
