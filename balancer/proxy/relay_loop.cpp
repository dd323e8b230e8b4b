#include "proxy/relay_loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <asio/detail/reactor.hpp>
#include <asio/detail/reactor_op.hpp>
#include <asio/version.hpp>
#include <cerrno>

#include "common/owned_fd.hpp"

#if !defined(ASIO_HAS_EPOLL) || defined(ASIO_HAS_IO_URING_AS_DEFAULT) || ASIO_VERSION < 102200 || \
    ASIO_VERSION >= 102300
#error "relay_loop starts an operation on Asio 1.22's epoll reactor: check it against this Asio"
#endif

namespace pinwheel {

namespace {

using reactor = asio::detail::epoll_reactor;

// Sockets whose events one epoll_wait collects; a full batch means more may be ready.
constexpr int kBatch = 256;

}  // namespace

// The set, and the reactor operation that waits for it to be readable. The operation is this
// object, re-used for every wait; it keeps the state alive while Asio holds it, so the loop
// may go away with a wait still queued.
struct relay_loop::state : asio::detail::reactor_op {
  explicit state(reactor& r, owned_fd set)
      : reactor_op(asio::error_code(), &state::perform, &state::complete),
        reactor_(r),
        set_(std::move(set)) {}

  // "Done, and nothing more to read": Asio then queues the next wait without a try first and
  // without touching its epoll registration. It marks the set worth a try again whenever its
  // epoll reports the set readable, even with no wait queued, so no edge is lost.
  static status perform(reactor_op*) { return done_and_exhausted; }

  static void complete(void* owner, asio::detail::operation* base, const asio::error_code&,
                       std::size_t) {
    auto* s = static_cast<state*>(base);
    std::shared_ptr<state> self = std::move(s->queued_);
    // A null owner: the io_context is being destroyed with the wait queued.
    if (owner != nullptr && s->open_ && !s->ec_) s->run_ready();
  }

  void arm() {
    ec_ = asio::error_code();
    queued_ = shared_from_this_.lock();
    reactor_.start_op(reactor::read_op, set_.get(), reactor_data_, this, false, true);
  }

  // Delivers what is ready, then waits again. A full batch may leave sockets ready, which
  // would raise no new edge in Asio's epoll: collect again until one is not full.
  void run_ready() {
    while (open_) {
      int n = ::epoll_wait(set_.get(), events_.data(), kBatch, 0);
      if (n < 0 && errno == EINTR) continue;
      for (int i = 0; i < n && open_; ++i)
        static_cast<watcher*>(events_[i].data.ptr)->on_events(events_[i].events);
      if (n < kBatch) break;
    }
    if (open_) arm();
  }

  reactor& reactor_;
  owned_fd set_;
  reactor::per_descriptor_data reactor_data_ = nullptr;
  std::weak_ptr<state> shared_from_this_;
  std::shared_ptr<state> queued_;  // itself, while Asio holds the operation
  std::array<epoll_event, kBatch> events_{};
  bool open_ = true;
};

relay_loop::relay_loop(asio::io_context& io) {
  owned_fd set(::epoll_create1(EPOLL_CLOEXEC));
  if (set.get() < 0)
    throw std::system_error(errno, std::system_category(), "relay loop: epoll_create1");
  auto& r = asio::use_service<reactor>(io);
  // Makes the io_context run the reactor at all (Asio's own socket services do this).
  r.init_task();
  state_ = std::make_shared<state>(r, std::move(set));
  state_->shared_from_this_ = state_;
  if (int error = r.register_descriptor(state_->set_.get(), state_->reactor_data_); error != 0)
    throw std::system_error(error, std::system_category(), "relay loop: joining Asio's reactor");
  state_->arm();
}

relay_loop::~relay_loop() {
  state_->open_ = false;
  // The queued wait completes as aborted, from the io_context, holding the state till then.
  state_->reactor_.deregister_descriptor(state_->set_.get(), state_->reactor_data_, true);
  state_->reactor_.cleanup_descriptor_data(state_->reactor_data_);
  state_->set_.reset();
}

std::error_code relay_loop::watch(int fd, watcher& w) {
  epoll_event event{};
  // EPOLLPRI: TCP urgent data, at whose mark reads stop short (see session::on_events).
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
  event.data.ptr = &w;
  if (::epoll_ctl(state_->set_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
    return {errno, std::system_category()};
  return {};
}

}  // namespace pinwheel
