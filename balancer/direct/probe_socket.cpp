#include "direct/probe_socket.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <system_error>

namespace pinwheel::direct {
namespace {

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::system_category(), std::string("direct mode: ") + what);
}

}  // namespace

probe_socket open_probe(reuseport_group& group, std::size_t socket) {
  probe_socket probe{.fd = {}, .port = 0, .destination = group.local_address()};
  const int family = probe.destination.ss_family;
  probe.fd = owned_fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (probe.fd.get() < 0) fail("cannot create a health-check socket");

  // The wildcard address, port 0: the kernel picks the port at bind, the source address at
  // connect.
  sockaddr_storage any{};
  socklen_t length = sizeof(sockaddr_in);
  if (family == AF_INET6) {
    reinterpret_cast<sockaddr_in6&>(any).sin6_family = AF_INET6;
    length = sizeof(sockaddr_in6);
  } else {
    reinterpret_cast<sockaddr_in&>(any).sin_family = AF_INET;
  }
  if (::bind(probe.fd.get(), reinterpret_cast<const sockaddr*>(&any), length) != 0)
    fail("cannot bind a health-check socket to a port");
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof(bound);
  if (::getsockname(probe.fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0)
    fail("cannot read a health-check socket's port");
  probe.port = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                        : reinterpret_cast<sockaddr_in&>(bound).sin_port);
  group.steer_probe(probe.port, socket);
  return probe;
}

}  // namespace pinwheel::direct
