// The access log's line formats: every field, absent values, and escaping in text and JSON.
#include "proxy/access_log_line.hpp"

#include <gtest/gtest.h>

namespace pinwheel {
namespace {

using namespace std::chrono_literals;

// 2026-11-23T06:10:00.123Z
const std::chrono::system_clock::time_point kEnded{std::chrono::seconds(1795414200) + 123ms};

backend make_backend(const std::string& name) {
  backend b;
  b.name = name;
  b.endpoint = {asio::ip::make_address("127.0.0.1"), 9001};
  return b;
}

connection_record relayed(const backend& b) {
  connection_record r;
  r.client = {asio::ip::make_address("127.0.0.1"), 51234};
  r.upstream = &b;
  r.connect_time = 412us + 999ns;
  r.duration = 12s + 345678us;
  r.bytes_from_client = 78;
  r.bytes_from_backend = 1234;
  r.retries = 1;
  r.reason = end_reason::client_close;
  return r;
}

std::string line(const connection_record& r, access_log_format format) {
  std::string out;
  append_access_log_line(out, r, kEnded, format);
  return out;
}

TEST(access_log_line, text_has_every_field) {
  backend b = make_backend("0");
  EXPECT_EQ(line(relayed(b), access_log_format::text),
            "time=2026-11-23T06:10:00.123Z client=127.0.0.1:51234 backend=0 "
            "backend_address=127.0.0.1:9001 connect_time=0.000412 duration=12.345678 "
            "bytes_in=78 bytes_out=1234 retries=1 end=client_close");
}

TEST(access_log_line, json_has_every_field) {
  backend b = make_backend("0");
  EXPECT_EQ(line(relayed(b), access_log_format::json),
            R"({"time":"2026-11-23T06:10:00.123Z","client":"127.0.0.1:51234","backend":"0",)"
            R"("backend_address":"127.0.0.1:9001","connect_time":0.000412,"duration":12.345678,)"
            R"("bytes_in":78,"bytes_out":1234,"retries":1,"end":"client_close"})");
}

TEST(access_log_line, without_a_backend) {
  connection_record r;
  r.client = {asio::ip::make_address("::1"), 40000};
  r.duration = 2s;
  r.retries = 3;
  r.reason = end_reason::connect_failure;
  EXPECT_EQ(line(r, access_log_format::text),
            "time=2026-11-23T06:10:00.123Z client=[::1]:40000 backend=- backend_address=- "
            "connect_time=- duration=2.000000 bytes_in=0 bytes_out=0 retries=3 "
            "end=connect_failure");
  EXPECT_EQ(line(r, access_log_format::json),
            R"({"time":"2026-11-23T06:10:00.123Z","client":"[::1]:40000","backend":null,)"
            R"("backend_address":null,"connect_time":null,"duration":2.000000,"bytes_in":0,)"
            R"("bytes_out":0,"retries":3,"end":"connect_failure"})");
}

TEST(access_log_line, text_quotes_a_name_that_could_forge_a_key) {
  backend b = make_backend("web 1 end=admin \"x\"\\\n\x01");
  std::string text = line(relayed(b), access_log_format::text);
  EXPECT_NE(text.find(R"( backend="web 1 end=admin \"x\"\\\n\x01" backend_address=)"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

TEST(access_log_line, json_escapes_quotes_backslashes_and_control_characters) {
  backend b = make_backend("a\"b\\c\nd\te\x01\x1f/é");
  std::string json = line(relayed(b), access_log_format::json);
  EXPECT_NE(json.find(R"("backend":"a\"b\\c\nd\te\u0001\u001f/é",)"), std::string::npos) << json;
}

TEST(access_log_line, appends_to_what_is_there) {
  backend b = make_backend("0");
  std::string out = "kept ";
  append_access_log_line(out, relayed(b), kEnded, access_log_format::text);
  EXPECT_EQ(out.rfind("kept time=", 0), 0u);
}

}  // namespace
}  // namespace pinwheel
