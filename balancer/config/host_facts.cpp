#include "config/host_facts.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <iterator>
#include <random>

#include "config/cpu_plan.hpp"

namespace pinwheel {

namespace {

std::vector<asio::ip::address> interface_addresses() {
  std::vector<asio::ip::address> addresses;
  ifaddrs* list = nullptr;
  // Without the list, only loopback counts as local: checks get looser, never wrong.
  if (::getifaddrs(&list) != 0) return addresses;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      addresses.push_back(asio::ip::address_v4(ntohl(in->sin_addr.s_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr),
                bytes.begin());
      addresses.push_back(asio::ip::address_v6(bytes, in6->sin6_scope_id));
    }
  }
  ::freeifaddrs(list);
  return addresses;
}

std::uint64_t open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  return limit.rlim_cur;
}

}  // namespace

bool host_facts::is_local(const asio::ip::address& address) const {
  if (address.is_loopback() || address.is_unspecified()) return true;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return is_local(asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()));
  }
  return std::find(local_addresses.begin(), local_addresses.end(), address) !=
         local_addresses.end();
}

host_facts read_host_facts() {
  host_facts host;
  std::error_code ec;
  host.cpus = allowed_cpus(0, ec);
  if (ec) throw std::system_error(ec, "cannot read the cores this process may run on");
  host.ephemeral_ports = read_ephemeral_ports();
  host.local_addresses = interface_addresses();
  host.open_files = open_files_limit();
  host.uid = ::geteuid();
  host.gid = ::getegid();
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_max != RLIM_INFINITY)
    host.open_files_hard = files.rlim_max;
  std::random_device device;
  host.random = (std::uint64_t{device()} << 32) | device();
  host.try_bind = try_bind;
  return host;
}

std::optional<port_range> parse_port_range(std::string_view text) {
  unsigned numbers[2] = {0, 0};
  const char* at = text.data();
  const char* end = text.data() + text.size();
  for (unsigned& number : numbers) {
    while (at != end && (*at == ' ' || *at == '\t')) ++at;
    auto [next, ec] = std::from_chars(at, end, number);
    if (ec != std::errc() || number == 0 || number > 65535) return std::nullopt;
    at = next;
  }
  while (at != end && (*at == ' ' || *at == '\t' || *at == '\n')) ++at;
  if (at != end || numbers[0] > numbers[1]) return std::nullopt;
  return port_range{static_cast<std::uint16_t>(numbers[0]), static_cast<std::uint16_t>(numbers[1])};
}

port_range read_ephemeral_ports(const std::string& path) {
  std::ifstream file(path);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return parse_port_range(text).value_or(port_range{});
}

std::error_code try_bind(const asio::ip::tcp::endpoint& endpoint, bool reuse_address) {
  int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {errno, std::system_category()};
  int on = 1;
  std::error_code ec;
  if ((reuse_address && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) ||
      ::bind(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) {
    ec = {errno, std::system_category()};
  }
  ::close(fd);
  return ec;
}

}  // namespace pinwheel
