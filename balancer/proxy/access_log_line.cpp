#include "proxy/access_log_line.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string_view>

#include "common/json_string.hpp"

namespace pinwheel {

namespace {

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

// `value` as exactly `width` digits, zero-padded.
void append_padded(std::string& out, unsigned value, int width) {
  char digits[10];
  for (int i = width - 1; i >= 0; --i, value /= 10) digits[i] = static_cast<char>('0' + value % 10);
  out.append(digits, static_cast<std::size_t>(width));
}

// Seconds with six decimals, from integer microseconds: no floating-point formatting.
void append_seconds(std::string& out, std::chrono::nanoseconds time) {
  const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::microseconds>(time).count()));
  append_number(out, micros / 1'000'000);
  out += '.';
  append_padded(out, static_cast<unsigned>(micros % 1'000'000), 6);
}

// 2026-11-23T06:10:00.123Z. The date and time up to the second change once a second: they are
// formatted then (gmtime_r takes glibc's time zone lock) and reused for the lines in between.
void append_time(std::string& out, std::chrono::system_clock::time_point when) {
  thread_local std::time_t cached_second = -1;
  thread_local char cached[24];
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  const std::time_t second = static_cast<std::time_t>(millis / 1000);
  if (second != cached_second) {
    std::tm utc{};
    ::gmtime_r(&second, &utc);
    std::snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d.",
                  (utc.tm_year + 1900) % 10000, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                  utc.tm_min, utc.tm_sec);
    cached_second = second;
  }
  out += cached;
  append_padded(out, static_cast<unsigned>(millis % 1000), 3);
  out += 'Z';
}

// 127.0.0.1:51234 or [::1]:51234
void append_endpoint(std::string& out, const asio::ip::tcp::endpoint& endpoint) {
  const sockaddr* address = endpoint.data();
  if (address->sa_family == AF_INET6) {
    char text[INET6_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
                sizeof text);
    out += '[';
    out += text;
    out += ']';
  } else {
    // Four numbers by hand: inet_ntop costs several times more.
    const auto* bytes = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
    for (int i = 0; i < 4; ++i) {
      if (i > 0) out += '.';
      append_number(out, bytes[i]);
    }
  }
  out += ':';
  append_number(out, endpoint.port());
}

void append_hex_escape(std::string& out, const char* prefix, unsigned char c, int width) {
  char text[8];
  std::snprintf(text, sizeof text, "%s%0*x", prefix, width, c);
  out += text;
}

// A logfmt value: bare when it is one plain word, else quoted.
void append_text_value(std::string& out, std::string_view value) {
  bool plain = !value.empty();
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '"' || c == '=' || c == '\\') plain = false;
  }
  if (plain) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7f) {
      append_hex_escape(out, "\\x", u, 2);
    } else {
      out += c;
    }
  }
  out += '"';
}

// The two line formats differ only in syntax; access_log_fields writes the fields once.
// logfmt: `key=value` separated by spaces, "-" for nothing, words bare unless they need quotes.
struct text_syntax {
  static void begin(std::string&) {}
  static void key(std::string& out, std::string_view name, bool first) {
    if (!first) out += ' ';
    out += name;
    out += '=';
  }
  static void open_quote(std::string&) {}
  static void close_quote(std::string&) {}
  static void nothing(std::string& out) { out += '-'; }
  static void text(std::string& out, std::string_view value) { append_text_value(out, value); }
  static void end(std::string&) {}
};

// One JSON object per line: null for nothing.
struct json_syntax {
  static void begin(std::string& out) { out += '{'; }
  static void key(std::string& out, std::string_view name, bool first) {
    if (!first) out += ',';
    out += '"';
    out += name;
    out += "\":";
  }
  static void open_quote(std::string& out) { out += '"'; }
  static void close_quote(std::string& out) { out += '"'; }
  static void nothing(std::string& out) { out += "null"; }
  static void text(std::string& out, std::string_view value) { append_json_string(out, value); }
  static void end(std::string& out) { out += '}'; }
};

template <typename Syntax>
void append_fields(std::string& out, const connection_record& r,
                   std::chrono::system_clock::time_point ended) {
  Syntax::begin(out);
  Syntax::key(out, "time", true);
  Syntax::open_quote(out);
  append_time(out, ended);
  Syntax::close_quote(out);
  Syntax::key(out, "client", false);
  Syntax::open_quote(out);
  append_endpoint(out, r.client);
  Syntax::close_quote(out);
  Syntax::key(out, "backend", false);
  if (r.upstream != nullptr) {
    Syntax::text(out, r.upstream->name);
    Syntax::key(out, "backend_address", false);
    Syntax::open_quote(out);
    append_endpoint(out, r.upstream->endpoint);
    Syntax::close_quote(out);
  } else {
    Syntax::nothing(out);
    Syntax::key(out, "backend_address", false);
    Syntax::nothing(out);
  }
  Syntax::key(out, "connect_time", false);
  if (r.connect_time)
    append_seconds(out, *r.connect_time);
  else
    Syntax::nothing(out);
  Syntax::key(out, "duration", false);
  append_seconds(out, r.duration);
  Syntax::key(out, "bytes_in", false);
  append_number(out, r.bytes_from_client);
  Syntax::key(out, "bytes_out", false);
  append_number(out, r.bytes_from_backend);
  Syntax::key(out, "retries", false);
  append_number(out, r.retries);
  Syntax::key(out, "end", false);
  Syntax::open_quote(out);
  out += to_label(r.reason);
  Syntax::close_quote(out);
  Syntax::end(out);
}

}  // namespace

void append_access_log_line(std::string& out, const connection_record& record,
                            std::chrono::system_clock::time_point ended, access_log_format format) {
  if (format == access_log_format::json)
    append_fields<json_syntax>(out, record, ended);
  else
    append_fields<text_syntax>(out, record, ended);
}

}  // namespace pinwheel
