#include "supervisor/notify_receiver.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "common/spawn_background.hpp"
#include "log/log.hpp"

namespace pinwheel {

namespace {

// sd_notify datagrams are a few lines; anything longer is not one.
constexpr std::size_t kMaxDatagram = 4096;

}  // namespace

notify_receiver::notify_receiver(asio::io_context& io,
                                 std::function<void(pid_t, const notify_message&)> on_message)
    : io_(io), socket_(io), on_message_(std::move(on_message)) {}

notify_receiver::~notify_receiver() { close(); }

void notify_receiver::open() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/pinwheel-notify-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr)
    throw std::system_error(errno, std::system_category(), "creating a directory for " + dir);
  directory_ = dir;
  // Backends may run as another user: they must reach the socket, nobody may replace it.
  ::chmod(directory_.c_str(), 0711);
  path_ = directory_ + "/notify";
  socket_.open();
  socket_.bind(asio::local::datagram_protocol::endpoint(path_));
  ::chmod(path_.c_str(), 0722);
  int on = 1;
  if (::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
    throw std::system_error(errno, std::system_category(), "SO_PASSCRED on " + path_);
  socket_.non_blocking(true);
}

void notify_receiver::start() { spawn_background(io_, receive_loop(), "sd_notify receiver"); }

void notify_receiver::close() {
  if (socket_.is_open()) {
    std::error_code ignored;
    socket_.close(ignored);
  }
  if (!path_.empty()) ::unlink(path_.c_str());
  if (!directory_.empty()) ::rmdir(directory_.c_str());
  path_.clear();
  directory_.clear();
}

void notify_receiver::drop(const std::string& why) {
  ++malformed_;
  if (malformed_ == 1) {
    log_warning("sd_notify datagram dropped: ", why,
                " (further drops are counted, and logged every 100)");
  } else if (malformed_ % 100 == 0) {
    log_warning(malformed_, " sd_notify datagrams dropped so far; last: ", why);
  }
}

asio::awaitable<void> notify_receiver::receive_loop() {
  auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
  while (socket_.is_open()) {
    auto [ec] = co_await socket_.async_wait(asio::socket_base::wait_read, use_tuple);
    if (ec) co_return;
    read_pending();
  }
}

void notify_receiver::read_pending() {
  // A bounded batch per wake-up: a flood of datagrams must not starve the proxy.
  for (int batch = 0; batch < 64; ++batch) {
    char data[kMaxDatagram];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 8)];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: drained; anything else comes back on the next wait
    }
    const ucred* sender = nullptr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_CREDENTIALS) {
        sender = reinterpret_cast<const ucred*>(CMSG_DATA(c));
      } else if (c->cmsg_type == SCM_RIGHTS) {
        // Descriptors (FDSTORE=1) are not kept: close them, or they would pile up here.
        int count = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < count; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          ::close(fd);
        }
      }
    }
    if ((msg.msg_flags & MSG_TRUNC) != 0) {
      drop("longer than " + std::to_string(kMaxDatagram) + " bytes");
      continue;
    }
    if (sender == nullptr || sender->pid <= 0) {
      drop("no sender credentials");
      continue;
    }
    notify_message m = parse_notify_message(std::string_view(data, static_cast<std::size_t>(n)));
    if (!m.malformed.empty()) {
      drop("from pid " + std::to_string(sender->pid) + ": " + m.malformed);
      continue;
    }
    on_message_(sender->pid, m);
  }
}

}  // namespace pinwheel
