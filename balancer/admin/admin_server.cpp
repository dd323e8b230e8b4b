#include "admin/admin_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "admin/admin_request.hpp"
#include "common/spawn_background.hpp"
#include "log/log.hpp"

namespace pinwheel {

namespace {

using namespace asio::experimental::awaitable_operators;

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
// What a lingering close reads and discards at most.
constexpr std::size_t kMaxLingerBytes = 1 << 20;

// Whether something still answers on the socket file at `path` (a running Pinwheel).
bool someone_listens(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  // A Unix connect never waits on the network: it succeeds, or fails at once.
  bool answered = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return answered;
}

}  // namespace

admin_server::admin_server(asio::io_context& io, admin_protocol& protocol,
                           std::chrono::milliseconds timeout)
    : io_(io), protocol_(protocol), timeout_(timeout), acceptor_(io) {}

admin_server::~admin_server() { close(); }

void admin_server::open(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode))
      throw std::runtime_error(path +
                               " exists and is not a socket; remove it or pick another path");
    if (someone_listens(path))
      throw std::runtime_error(path + " is in use by a running process (another Pinwheel?)");
    ::unlink(path.c_str());
  }
  asio::local::stream_protocol::endpoint endpoint(path);
  acceptor_.open(endpoint.protocol());
  // Created 0600 from the start: no moment where others could connect.
  mode_t old_mask = ::umask(0177);
  asio::error_code ec;
  acceptor_.bind(endpoint, ec);
  ::umask(old_mask);
  if (ec) {
    acceptor_.close();
    throw std::runtime_error("cannot create the admin socket " + path + ": " + ec.message());
  }
  path_ = path;
  ::chmod(path.c_str(), 0600);
  acceptor_.listen(static_cast<int>(kMaxAdminClients));
  acceptor_.non_blocking(true);
}

void admin_server::start() { spawn_background(io_, accept_loop(), "admin socket"); }

void admin_server::close() {
  if (!acceptor_.is_open()) return;
  asio::error_code ignored;
  acceptor_.close(ignored);
  ::unlink(path_.c_str());
}

bool admin_server::trusted_peer(int fd, std::string& who) {
  ucred peer{};
  socklen_t length = sizeof(peer);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) {
    who = std::string("unknown peer (SO_PEERCRED: ") + std::strerror(errno) + ")";
    return false;
  }
  who = "pid " + std::to_string(peer.pid) + " uid " + std::to_string(peer.uid);
  return peer.uid == 0 || peer.uid == ::geteuid();
}

asio::awaitable<void> admin_server::accept_loop() {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // Out of descriptors, most likely: not the client's fault; try again shortly.
      log_warning("admin socket: accept failed: ", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    spawn_background(io_, serve(std::move(socket)), "admin client");
  }
}

asio::awaitable<void> admin_server::serve(asio::local::stream_protocol::socket socket) {
  std::string reply;
  std::string who;
  ++clients_;
  struct leave {
    std::size_t& n;
    ~leave() { --n; }
  } counted{clients_};
  if (!trusted_peer(socket.native_handle(), who)) {
    log_warning("admin socket: refused ", who, ": only the balancer's own user or root may use it");
    reply = admin_error("permission denied");
  } else if (clients_ > kMaxAdminClients) {
    reply = admin_error("too many admin clients at once (" + std::to_string(kMaxAdminClients) +
                        "); try again");
  } else {
    asio::steady_timer deadline(io_, timeout_);
    // One byte past the limit tells an over-long line from one that just fits.
    asio::streambuf buffer(kMaxAdminLine + 1);
    auto first = co_await (asio::async_read_until(socket, buffer, '\n', use_tuple) ||
                           deadline.async_wait(use_tuple));
    if (first.index() == 1) {
      log("admin socket: ", who, " sent no complete command line within ", timeout_.count(),
          "ms; closed");
      reply = admin_error("no command line within " + std::to_string(timeout_.count()) + "ms");
    } else {
      auto [ec, length] = std::get<0>(first);
      if (ec == asio::error::not_found) {
        reply = admin_error("line too long (over " + std::to_string(kMaxAdminLine) + " bytes)");
      } else if (ec) {
        co_return;  // the client went away (or closed before a newline)
      } else {
        std::string line(asio::buffers_begin(buffer.data()),
                         asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(length));
        line.pop_back();  // the newline
        reply = protocol_.handle(line);
      }
    }
  }
  // The reply fits the socket buffer; the deadline only guards a peer that never reads.
  asio::steady_timer write_deadline(io_, timeout_);
  co_await (asio::async_write(socket, asio::buffer(reply), use_tuple) ||
            write_deadline.async_wait(use_tuple));
  // Lingering close: closing with unread bytes would reset the connection, and the client
  // could lose the reply. Say end-of-stream, then discard what it still sends until it closes
  // (bounded in time and bytes).
  asio::error_code ignored;
  socket.shutdown(asio::socket_base::shutdown_send, ignored);
  std::array<char, 4096> sink;
  asio::steady_timer linger(io_, timeout_);
  for (std::size_t discarded = 0; discarded < kMaxLingerBytes;) {
    auto read = co_await (socket.async_read_some(asio::buffer(sink), use_tuple) ||
                          linger.async_wait(use_tuple));
    if (read.index() == 1) break;
    auto [ec, n] = std::get<0>(read);
    if (ec) break;
    discarded += n;
  }
}

}  // namespace pinwheel
