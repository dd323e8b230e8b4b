// Free ports for spawned backends when base_port = 0.
//
// They are chosen outside the kernel's ephemeral range: a port in it may be taken at any moment
// as the local end of an outgoing connection (the balancer's own, to its backends, among them)
// or linger in TIME_WAIT after one, so a backend restarting there could find it busy.
#pragma once

#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "config/host_facts.hpp"

namespace pinwheel {

/// Lowest port handed out: the ones below need privilege and belong to well-known services.
constexpr std::uint16_t kFirstUnprivilegedPort = 1024;

/// Picks `count` distinct ports from 1024-65535 outside host.ephemeral_ports that
/// host.try_bind can bind on `address` without SO_REUSEADDR (so none lingering in TIME_WAIT)
/// and that do not clash with `avoid`. The search starts at host.random (modulo the candidates)
/// and walks up, wrapping around. Returns fewer when not enough are free.
std::vector<std::uint16_t> pick_free_ports(const asio::ip::address& address, std::size_t count,
                                           const host_facts& host,
                                           const asio::ip::tcp::endpoint& avoid);

}  // namespace pinwheel
