// "host:port" as written in configs and on the command line.
#pragma once

#include <asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace pinwheel {

/// Parses "127.0.0.1:8080", "[::1]:8080" or "localhost:8080" (IP literals and "localhost"
/// only: no DNS at start-up). On failure returns nullopt and sets `error` to why.
std::optional<asio::ip::tcp::endpoint> parse_endpoint(std::string_view text, std::string& error);

/// Parses a host alone ("127.0.0.1", "::1", "localhost").
std::optional<asio::ip::address> parse_host(std::string_view text, std::string& error);

/// "127.0.0.1:8080" or "[::1]:8080".
std::string to_string(const asio::ip::tcp::endpoint& endpoint);

/// True when a socket bound to address `bound` may take connections made to `target`: the
/// same address, or a wildcard covering it. "0.0.0.0" covers every IPv4 address; "::" covers
/// every address, IPv4 too: without IPV6_V6ONLY it takes both, and a backend program's socket
/// options are unknown, so a false alarm (a config to adjust) is preferred to a miss (a balancer
/// connecting to itself). A wildcard only takes addresses of this host: callers that cannot rule
/// out a remote `target` check that.
bool covers(const asio::ip::address& bound, const asio::ip::address& target);

/// True when sockets bound to `a` and `b` cannot both listen: the same port, and one address
/// covers the other.
bool clash(const asio::ip::tcp::endpoint& a, const asio::ip::tcp::endpoint& b);

}  // namespace pinwheel
