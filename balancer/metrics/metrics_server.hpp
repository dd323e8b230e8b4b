// The metrics listener: a small HTTP/1.1 server on a thread and io_context of its own, off the
// balancer's event loop and off its core. It serves
//   /             the status page (HTML, embedded)
//   /status.json  the snapshot the page polls
//   /metrics      Prometheus' text format (prometheus-cpp's Collectable + TextSerializer)
// One request per connection (Connection: close). Methods other than GET and HEAD get 405,
// unknown paths 404, malformed heads 400, heads over max_head bytes 431; a client that sends
// no complete head within read_timeout is closed, and at most max_clients are served at once
// (more are closed at once). Nothing a peer sends can stop the accept loop.
//
// Threads: the snapshot source is called on the metrics thread; it must be safe there (the
// balancer's posts a request to its own loop and waits for the copy, bounded: when it gives
// up, the answer is 503). Everything else here belongs to the metrics thread once start() ran.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "metrics/http_request.hpp"
#include "metrics/snapshot.hpp"

namespace pinwheel {

class metrics_server {
 public:
  /// A fresh snapshot, or nothing if the balancer could not give one in time.
  using snapshot_source = std::function<std::optional<balancer_snapshot>()>;

  struct limits {
    /// Time for a client to send its request head, and again to take the response.
    std::chrono::milliseconds read_timeout{5000};
    /// Largest request head accepted.
    std::size_t max_head = 8192;
    /// Connections served at once.
    std::size_t max_clients = 32;
  };

  /// A response, before serialization.
  struct response {
    int status = 200;
    std::string content_type;
    std::string body;
    /// Extra header lines, each ending in CRLF.
    std::string headers;
  };

  metrics_server(const asio::ip::tcp::endpoint& listen, snapshot_source source);
  metrics_server(const asio::ip::tcp::endpoint& listen, snapshot_source source, limits l);
  /// Stops the thread if it runs.
  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  /// Binds and listens; throws std::system_error if it cannot.
  void listen();
  /// The bound address (the real port when listen had port 0).
  asio::ip::tcp::endpoint local_endpoint() const;

  /// Starts serving on a new thread, pinned to `cpus` when not empty, with every signal blocked
  /// (signals belong to the event loop).
  void start(const std::vector<int>& cpus);
  /// Stops serving and joins the thread. Idempotent.
  void stop();

  /// The answer to `head` (public for tests); calls the snapshot source for data paths.
  response answer(const http_request_head& head);

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::ip::tcp::socket socket);

  asio::io_context io_;
  asio::ip::tcp::endpoint listen_;
  asio::ip::tcp::acceptor acceptor_;
  snapshot_source source_;
  limits limits_;
  std::size_t clients_ = 0;
  std::thread thread_;
};

}  // namespace pinwheel
