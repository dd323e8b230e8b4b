#include "direct/reuseport_group.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include "direct/bpf_calls.hpp"
#include "direct/steering_program.hpp"

namespace pinwheel::direct {
namespace {

socklen_t length_of(const sockaddr_storage& address) {
  return address.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

std::string to_text(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  std::uint16_t port = 0;
  if (address.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &a6.sin6_addr, host, sizeof(host));
    port = ntohs(a6.sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  const auto& a4 = reinterpret_cast<const sockaddr_in&>(address);
  ::inet_ntop(AF_INET, &a4.sin_addr, host, sizeof(host));
  port = ntohs(a4.sin_port);
  return std::string(host) + ":" + std::to_string(port);
}

void set_port(sockaddr_storage& address, std::uint16_t port) {
  if (address.ss_family == AF_INET6)
    reinterpret_cast<sockaddr_in6&>(address).sin6_port = htons(port);
  else
    reinterpret_cast<sockaddr_in&>(address).sin_port = htons(port);
}

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::system_category(), "direct mode: " + what);
}

void set_option(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof(value)) != 0)
    fail(std::string("cannot set ") + what + " on a listening socket");
}

// A TCP socket ready to join the group: SO_REUSEPORT (the group), SO_REUSEADDR (a restart
// binds while old connections sit in TIME_WAIT) and, for IPv6, IPV6_V6ONLY, as the proxy's
// listeners have.
owned_fd make_listener_socket(const sockaddr_storage& address) {
  owned_fd fd(::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (fd.get() < 0) fail("cannot create a listening socket for " + to_text(address));
  set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
  set_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
  if (address.ss_family == AF_INET6)
    set_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
  return fd;
}

void bind_and_listen(int fd, const sockaddr_storage& address, int backlog) {
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length_of(address)) != 0)
    fail("cannot bind " + to_text(address));
  if (::listen(fd, backlog) != 0) fail("cannot listen on " + to_text(address));
}

std::uint16_t port_of(int fd) {
  sockaddr_storage actual{};
  socklen_t length = sizeof(actual);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&actual), &length) != 0)
    fail("cannot read a listening socket's port");
  return ntohs(actual.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(actual).sin6_port
                                            : reinterpret_cast<sockaddr_in&>(actual).sin_port);
}

// `address` with the wildcard address replaced by loopback: where to connect.
sockaddr_storage with_loopback(sockaddr_storage address) {
  if (address.ss_family == AF_INET6) {
    auto& a6 = reinterpret_cast<sockaddr_in6&>(address);
    if (IN6_IS_ADDR_UNSPECIFIED(&a6.sin6_addr)) a6.sin6_addr = in6addr_loopback;
  } else {
    auto& a4 = reinterpret_cast<sockaddr_in&>(address);
    if (a4.sin_addr.s_addr == htonl(INADDR_ANY)) a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  return address;
}

// Connects to the parking socket (listen backlog 0) once and leaves the connection unaccepted:
// its accept queue is then full, and the kernel drops every further SYN steered to it without
// a reply. Returns our end, which must stay open.
owned_fd fill_queue(int parking, const sockaddr_storage& address) {
  owned_fd filler(::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (filler.get() < 0) fail("cannot create a socket to fill the parking queue");
  // A loopback handshake: done within the call, nothing else is listening for it.
  if (::connect(filler.get(), reinterpret_cast<const sockaddr*>(&address), length_of(address)) != 0)
    fail("cannot connect to the parking socket at " + to_text(address));
  // The server side is queued once the final ACK is processed; wait for it (bounded).
  pollfd queued{parking, POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&queued, 1, 1000);
  } while (ready < 0 && errno == EINTR);
  if (ready != 1) {
    errno = ready == 0 ? ETIMEDOUT : errno;
    fail("the parking socket's connection did not arrive within 1 s");
  }
  return filler;
}

}  // namespace

reuseport_group::reuseport_group(const sockaddr_storage& address, std::size_t count, int backlog) {
  if (address.ss_family != AF_INET && address.ss_family != AF_INET6)
    throw std::invalid_argument("direct mode: the listen address must be IPv4 or IPv6");
  if (count == 0 || count > max_targets)
    throw std::invalid_argument("direct mode: a group needs 1 to " + std::to_string(max_targets) +
                                " sockets, not " + std::to_string(count));

  // The maps first: where bpf() is refused, fail before touching the network.
  probes_map_ = create_map(BPF_MAP_TYPE_HASH, "pinwheel_probes", sizeof(std::uint16_t),
                           sizeof(std::uint32_t), max_probes);
  mode_map_ = create_map(BPF_MAP_TYPE_ARRAY, "pinwheel_mode", sizeof(std::uint32_t),
                         sizeof(std::uint32_t), 1);
  resolved_map_ = create_map(BPF_MAP_TYPE_ARRAY, "pinwheel_hash", sizeof(std::uint32_t),
                             sizeof(std::uint32_t), hash_slots);
  steered_map_ = create_map(BPF_MAP_TYPE_ARRAY, "pinwheel_counts", sizeof(std::uint32_t),
                            sizeof(std::uint64_t), static_cast<std::uint32_t>(count + 1));
  targets_map_ = create_map(BPF_MAP_TYPE_ARRAY, "pinwheel_target", sizeof(std::uint32_t),
                            sizeof(std::uint32_t), max_targets + 1);
  cursor_map_ = create_map(BPF_MAP_TYPE_ARRAY, "pinwheel_cursor", sizeof(std::uint32_t),
                           sizeof(std::uint64_t), 1);
  // Sockets 0..count-1, then the parking socket.
  sockets_map_ =
      create_map(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, "pinwheel_socket", sizeof(std::uint32_t),
                 sizeof(std::uint32_t), static_cast<std::uint32_t>(count + 1));
  std::vector<bpf_insn> text = steering_program({.probes = probes_map_.get(),
                                                 .mode = mode_map_.get(),
                                                 .targets = targets_map_.get(),
                                                 .cursor = cursor_map_.get(),
                                                 .resolved = resolved_map_.get(),
                                                 .sockets = sockets_map_.get(),
                                                 .steered = steered_map_.get(),
                                                 .parking = static_cast<std::uint32_t>(count)});
  program_ = load_program(BPF_PROG_TYPE_SK_REUSEPORT, "pinwheel_steer", text);

  // The parking socket comes first and gets the program before it listens, so the group it
  // creates steers from its very first SYN (no targets yet: parked).
  const auto parking_key = static_cast<std::uint32_t>(count);
  parking_ = make_listener_socket(address);
  int program_fd = program_.get();
  if (::setsockopt(parking_.get(), SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &program_fd,
                   sizeof(program_fd)) != 0)
    fail("cannot attach the steering program (SO_ATTACH_REUSEPORT_EBPF)");
  bind_and_listen(parking_.get(), address, 0);
  port_ = port_of(parking_.get());
  sockaddr_storage bound = address;
  set_port(bound, port_);
  std::uint32_t parking_fd = static_cast<std::uint32_t>(parking_.get());
  update_map(sockets_map_.get(), &parking_key, &parking_fd);
  local_address_ = with_loopback(bound);
  parking_filler_ = fill_queue(parking_.get(), local_address_);
  const std::uint64_t none = 0;  // the filler's SYN was parked: not a client's
  update_map(steered_map_.get(), &parking_key, &none);

  listeners_.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    listeners_.push_back(make_listener_socket(bound));
    bind_and_listen(listeners_.back().get(), bound, backlog);
    std::uint32_t fd = static_cast<std::uint32_t>(listeners_.back().get());
    update_map(sockets_map_.get(), &i, &fd);
  }
}

void reuseport_group::set_targets(std::span<const std::uint32_t> slots) {
  if (slots.size() > max_targets)
    throw std::invalid_argument("direct mode: " + std::to_string(slots.size()) +
                                " targets, more than the steering table's " +
                                std::to_string(max_targets));
  for (std::uint32_t index : slots) check_socket(index, "target");
  const std::uint32_t key_count = 0;
  const auto count = static_cast<std::uint32_t>(slots.size());
  // Shrinking: the new length first, so the program stops reading the tail before it changes.
  if (count < target_count_) update_map(targets_map_.get(), &key_count, &count);
  for (std::uint32_t slot = 0; slot < count; ++slot) {
    const std::uint32_t key = slot + 1;
    update_map(targets_map_.get(), &key, &slots[slot]);
  }
  // Growing (or the same length): the length last, once every slot it covers is written.
  if (count >= target_count_) update_map(targets_map_.get(), &key_count, &count);
  target_count_ = count;
}

void reuseport_group::check_socket(std::size_t socket, const char* what) const {
  if (socket >= listeners_.size())
    throw std::invalid_argument("direct mode: " + std::string(what) + " socket " +
                                std::to_string(socket) + " does not exist (the group has " +
                                std::to_string(listeners_.size()) + ")");
}

void reuseport_group::write_mode() {
  std::uint32_t word = rotate_word;
  if (mode_ == steering_mode::hash) word = has_hash_table_ ? hash_word : park_word;
  const std::uint32_t key = 0;
  update_map(mode_map_.get(), &key, &word);
}

void reuseport_group::set_mode(steering_mode mode) {
  mode_ = mode;
  write_mode();
}

void reuseport_group::set_hash_table(std::span<const std::uint32_t> slot_to_socket) {
  if (!slot_to_socket.empty() && slot_to_socket.size() != hash_slots)
    throw std::invalid_argument("direct mode: a hash table has " + std::to_string(hash_slots) +
                                " slots, not " + std::to_string(slot_to_socket.size()));
  for (std::uint32_t index : slot_to_socket) check_socket(index, "hash table");
  if (slot_to_socket.empty()) {
    has_hash_table_ = false;
    write_mode();
    return;
  }
  if (hash_table_.empty()) hash_table_.assign(hash_slots, 0);  // as the kernel made the map
  std::vector<std::uint32_t> keys, values;
  for (std::uint32_t slot = 0; slot < hash_slots; ++slot) {
    if (hash_table_[slot] == slot_to_socket[slot]) continue;
    keys.push_back(slot);
    values.push_back(slot_to_socket[slot]);
  }
  update_array_elements(resolved_map_.get(), keys, values.data(), sizeof(std::uint32_t));
  hash_table_.assign(slot_to_socket.begin(), slot_to_socket.end());
  // The table first, then the mode that reads it.
  if (!has_hash_table_) {
    has_hash_table_ = true;
    write_mode();
  }
}

void reuseport_group::steer_probe(std::uint16_t local_port, std::size_t socket) {
  check_socket(socket, "probe");
  const std::uint16_t key = htons(local_port);  // as the program reads it from the packet
  const auto value = static_cast<std::uint32_t>(socket);
  update_map(probes_map_.get(), &key, &value);
}

void reuseport_group::forget_probe(std::uint16_t local_port) {
  const std::uint16_t key = htons(local_port);
  delete_map_element(probes_map_.get(), &key);
}

std::uint64_t reuseport_group::steered(std::size_t socket) const {
  check_socket(socket, "steered count of");
  const auto key = static_cast<std::uint32_t>(socket);
  std::uint64_t count = 0;
  read_map(steered_map_.get(), &key, &count);
  return count;
}

std::vector<std::uint64_t> reuseport_group::steered_counts() const {
  std::vector<std::uint64_t> counts(listeners_.size());
  read_array_elements(steered_map_.get(), static_cast<std::uint32_t>(counts.size()), counts.data(),
                      sizeof(std::uint64_t));
  return counts;
}

std::uint64_t reuseport_group::parked() const {
  const auto key = static_cast<std::uint32_t>(listeners_.size());
  std::uint64_t count = 0;
  read_map(steered_map_.get(), &key, &count);
  return count;
}

void reuseport_group::close() {
  listeners_.clear();
  parking_filler_.reset();
  parking_.reset();
  program_.reset();
  sockets_map_.reset();
  cursor_map_.reset();
  targets_map_.reset();
  steered_map_.reset();
  resolved_map_.reset();
  mode_map_.reset();
  probes_map_.reset();
  target_count_ = 0;
  mode_ = steering_mode::rotate;
  hash_table_.clear();
  has_hash_table_ = false;
  local_address_ = {};
  port_ = 0;
}

}  // namespace pinwheel::direct
