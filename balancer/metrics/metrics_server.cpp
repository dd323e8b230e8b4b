#include "metrics/metrics_server.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstring>

#include "common/local_error.hpp"
#include "log/log.hpp"
#include "metrics/proc_reader.hpp"
#include "metrics/snapshot_collectable.hpp"
#include "metrics/status_json.hpp"
#include "metrics/status_page.hpp"

namespace pinwheel {

namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
  }
  return "Error";
}

metrics_server::response plain(int status, std::string text) {
  return {status, "text/plain; charset=utf-8", std::move(text) + "\n", ""};
}

std::string serialize(const metrics_server::response& r, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) +
                    "\r\nContent-Type: " + r.content_type +
                    "\r\nContent-Length: " + std::to_string(r.body.size()) +
                    "\r\nCache-Control: no-store\r\nConnection: close\r\n" + r.headers + "\r\n";
  if (!head_only) out += r.body;
  return out;
}

}  // namespace

metrics_server::metrics_server(const tcp::endpoint& listen, snapshot_source source)
    : metrics_server(listen, std::move(source), limits{}) {}

metrics_server::metrics_server(const tcp::endpoint& listen, snapshot_source source, limits l)
    // One thread runs it.
    : io_(1), listen_(listen), acceptor_(io_), source_(std::move(source)), limits_(l) {}

metrics_server::~metrics_server() { stop(); }

void metrics_server::listen() {
  acceptor_.open(listen_.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(listen_);
  acceptor_.listen();
}

tcp::endpoint metrics_server::local_endpoint() const { return acceptor_.local_endpoint(); }

void metrics_server::start(const std::vector<int>& cpus) {
  asio::co_spawn(io_, accept_loop(), [](std::exception_ptr e) {
    if (!e) return;
    // The balancer goes on serving traffic; only its metrics are gone, and the log says so.
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log_warning("the metrics listener stopped: ", x.what());
    }
  });
  // The new thread inherits this mask: signals go to the event loop's thread, never here.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  thread_ = std::thread([this, cpus] {
    if (!cpus.empty()) {
      cpu_set_t set;
      CPU_ZERO(&set);
      for (int cpu : cpus) CPU_SET(cpu, &set);
      // Not fatal: unpinned, the thread only competes with everything else.
      if (::sched_setaffinity(0, sizeof set, &set) != 0)
        log_warning("cannot pin the metrics thread: ", std::strerror(errno));
    }
    io_.run();
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void metrics_server::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> metrics_server::accept_loop() {
  asio::steady_timer pause(io_);
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or memory: look again shortly rather than spin or stop.
      if (is_local_error(ec)) {
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(use_tuple);
      }
      continue;
    }
    if (clients_ >= limits_.max_clients) continue;  // closed as `socket` goes
    ++clients_;
    asio::co_spawn(io_, serve(std::move(socket)), [this](std::exception_ptr) { --clients_; });
  }
}

asio::awaitable<void> metrics_server::serve(tcp::socket socket) {
  std::string head;
  asio::steady_timer deadline(io_);
  deadline.expires_after(limits_.read_timeout);
  auto read = co_await (asio::async_read_until(socket, asio::dynamic_buffer(head, limits_.max_head),
                                               "\r\n\r\n", use_tuple) ||
                        deadline.async_wait(use_tuple));
  // Timed out: close without a word, as a half-open client would not read one anyway.
  if (read.index() == 1) co_return;
  auto [ec, end] = std::get<0>(read);
  response r;
  bool head_only = false;
  if (ec == asio::error::not_found) {
    r = plain(431, "the request head is over " + std::to_string(limits_.max_head) + " bytes");
  } else if (ec) {
    co_return;  // gone, or sent part of a head and ended
  } else {
    http_request_head request = parse_request_head(std::string_view(head).substr(0, end));
    head_only = request.method == "HEAD";
    r = answer(request);
  }
  std::string bytes = serialize(r, head_only);
  deadline.expires_after(limits_.read_timeout);
  co_await (asio::async_write(socket, asio::buffer(bytes), use_tuple) ||
            deadline.async_wait(use_tuple));
  asio::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
}

metrics_server::response metrics_server::answer(const http_request_head& head) {
  if (head.error_status != 0) return plain(head.error_status, head.error);
  bool known = head.path == "/" || head.path == "/metrics" || head.path == "/status.json";
  if (!known) return plain(404, "not found; try /, /metrics or /status.json");
  if (head.method != "GET" && head.method != "HEAD") {
    response r = plain(405, head.method + " is not served here; use GET");
    r.headers = "Allow: GET, HEAD\r\n";
    return r;
  }
  if (head.path == "/") {
    return {200, "text/html; charset=utf-8", std::string(status_page_html()), ""};
  }
  std::optional<balancer_snapshot> snapshot = source_();
  if (!snapshot) return plain(503, "the balancer's event loop did not answer in time; try again");
  add_process_usage(*snapshot);
  if (head.path == "/metrics")
    return {200, "text/plain; version=0.0.4; charset=utf-8", to_prometheus_text(*snapshot), ""};
  return {200, "application/json", to_status_json(*snapshot), ""};
}

}  // namespace pinwheel
