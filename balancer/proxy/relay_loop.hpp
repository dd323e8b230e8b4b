// The data plane's own epoll set, nested in Asio's event loop as one descriptor.
//
// Asio's reactor costs a relay system calls it does not need: it tries a recv() before every
// wait (EAGAIN, as a relay's reads are almost always short), and changes the epoll
// registration (EPOLL_CTL_MOD) for each readiness wait and for the wait on a connect. Here each
// relayed socket is registered once, edge-triggered, for everything a relay needs
// (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET), and the session keeps its own readiness flags:
// HAProxy's model. A short read then means drained, and EPOLLRDHUP says whether the peer's end
// of stream waits behind the bytes read.
//
// Asio still runs everything else (timers, the acceptors, health checks, the admin socket),
// and this set's descriptor sits in Asio's reactor. Its wait is an Asio reactor operation of
// our own that counts as exhausting, so re-arming it changes no epoll registration: one loop
// turn costs Asio's epoll_wait plus one epoll_wait here that collects the ready sockets.
//
// Watchers (a session's two sockets) are called from that handler. A socket is closed to
// leave the set (no EPOLL_CTL_DEL: its descriptor is never duplicated; backends are started
// with vfork, and the guardian's fork closes every descriptor first thing); an event of a batch
// may still name a watcher whose socket closed earlier in the same batch, so a watcher
// outlives its socket until a later handler (sessions are freed from a posted handler).
// Single-threaded: the io_context's thread.
#pragma once

#include <asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <system_error>

namespace pinwheel {

class relay_loop {
 public:
  /// Told of the events (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR) on a socket it
  /// watches.
  class watcher {
   public:
    virtual void on_events(std::uint32_t events) = 0;

   protected:
    ~watcher() = default;
  };

  /// Creates the epoll set and registers it with `io`'s reactor; throws std::system_error.
  explicit relay_loop(asio::io_context& io);
  /// Leaves `io`'s reactor; events not yet delivered are dropped.
  ~relay_loop();
  relay_loop(const relay_loop&) = delete;
  relay_loop& operator=(const relay_loop&) = delete;

  /// Watches socket `fd` (non-blocking) until it is closed. Registering reports what is ready
  /// already (a connected socket is writable at once).
  std::error_code watch(int fd, watcher& w);

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace pinwheel
