#include "routes.hpp"

#include <http_parser.h>
#include <sched.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

namespace pinwheel::demo {

namespace {

// Longest /slow?ms= honoured; larger values are clamped so one request cannot wedge the demo.
constexpr std::int64_t max_slow_ms = 60000;
// Largest /print?bytes= honoured: enough to fill any pipe and log buffer many times over.
constexpr std::int64_t max_print_bytes = 256 * 1024 * 1024;
// Length of each line /print writes, newline included (the last one may be shorter).
constexpr std::size_t print_line_bytes = 100;
// /print hands stderr this much at a time: few system calls, little memory.
constexpr std::size_t print_chunk_bytes = 64 * 1024;

response text(int status, std::string body) {
  response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string_view url_field(std::string_view target, const http_parser_url& url,
                           http_parser_url_fields field) {
  if (!(url.field_set & (1u << field))) return {};
  return target.substr(url.field_data[field].off, url.field_data[field].len);
}

// The integer value of `key` in a query string such as "a=1&ms=200", or nullopt if absent or bad.
std::optional<std::int64_t> query_integer(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != key) continue;
    const std::string_view value = pair.substr(eq + 1);
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    return n;
  }
  return std::nullopt;
}

// Most /grow?mb= may hold in all: enough to pass any max_memory a test sets, little enough
// that a stray request cannot take the host's memory.
constexpr std::int64_t max_grow_mb = 1024;

// /grow?mb=N: allocates N MiB more and writes every page, so the process's resident memory
// (RSS) rises by about that much and stays up (to test [backends] max_memory).
response grow(std::string_view query) {
  static std::vector<std::unique_ptr<char[]>> held;
  static std::int64_t held_mb = 0;
  const std::optional<std::int64_t> mb = query_integer(query, "mb");
  if (!mb || *mb < 1 || held_mb + *mb > max_grow_mb) {
    return bad_request("/grow needs ?mb=N, 1 or more, at most " + std::to_string(max_grow_mb) +
                       " MiB in all");
  }
  constexpr std::size_t kMiB = 1 << 20;
  for (std::int64_t i = 0; i < *mb; ++i) {
    held.push_back(std::make_unique<char[]>(kMiB));
    std::memset(held.back().get(), 1, kMiB);
  }
  held_mb += *mb;
  return text(200, "holding " + std::to_string(held_mb) + " MiB\n");
}

// Spins on the clock rather than sleeping: the point of /slow is to hold the event loop.
void burn_cpu(std::chrono::milliseconds duration) {
  const auto end = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < end) {
  }
}

response slow(std::string_view query) {
  const std::optional<std::int64_t> ms = query_integer(query, "ms");
  if (!ms) return text(400, "slow needs ?ms=N, N an integer\n");
  const std::int64_t clamped = std::clamp<std::int64_t>(*ms, 0, max_slow_ms);
  burn_cpu(std::chrono::milliseconds(clamped));
  return text(200, "slow " + std::to_string(clamped) + "ms\n");
}

// Writes `bytes` bytes of numbered text lines to stderr, blocking while nobody reads them:
// /print stands for a backend that logs a lot.
response print(std::string_view query) {
  const std::optional<std::int64_t> bytes = query_integer(query, "bytes");
  if (!bytes) return text(400, "print needs ?bytes=N, N an integer\n");
  const auto total = static_cast<std::size_t>(std::clamp<std::int64_t>(*bytes, 0, max_print_bytes));
  std::string chunk;
  chunk.reserve(print_chunk_bytes + print_line_bytes);
  std::size_t line_number = 0;
  for (std::size_t left = total; left > 0;) {
    const std::size_t length = std::min(print_line_bytes, left);
    std::string line = "print line " + std::to_string(++line_number) + " ";
    line.resize(length - 1, 'x');
    line.push_back('\n');
    chunk += line;
    left -= length;
    if (chunk.size() >= print_chunk_bytes || left == 0) {
      std::cerr.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      chunk.clear();
    }
  }
  return text(200, "printed " + std::to_string(total) + " bytes\n");
}

response whoami(const identity& self, std::string_view client) {
  response r;
  r.content_type = "application/json";
  r.body = "{\"pid\": " + std::to_string(self.pid) + ", \"index\": " + std::to_string(self.index) +
           ", \"cpu\": " + std::to_string(sched_getcpu()) + ", \"client\": \"" +
           std::string(client) + "\"}";
  return r;
}

}  // namespace

response route(std::string_view method, std::string_view target, const identity& self,
               std::string_view client) {
  if (method != "GET" && method != "HEAD") {
    response r = text(405, "method not allowed\n");
    r.allow = "GET, HEAD";
    return r;
  }
  http_parser_url url;
  http_parser_url_init(&url);
  if (http_parser_parse_url(target.data(), target.size(), 0, &url) != 0) {
    return bad_request("invalid request target");
  }
  std::string_view path = url_field(target, url, UF_PATH);
  if (path.empty()) path = "/";

  if (path == "/" || path == "/fast") return text(200, "fast\n");
  if (path == "/slow") return slow(url_field(target, url, UF_QUERY));
  if (path == "/health") return text(200, "ok\n");
  if (path == "/whoami") return whoami(self, client);
  if (path == "/print") return print(url_field(target, url, UF_QUERY));
  if (path == "/grow") return grow(url_field(target, url, UF_QUERY));
  return text(404, "not found\n");
}

response bad_request(std::string_view reason) {
  std::string body = "bad request: ";
  body += reason;
  body += '\n';
  return text(400, std::move(body));
}

response http_version_not_supported() { return text(505, "only HTTP/1.x is spoken here\n"); }

}  // namespace pinwheel::demo
