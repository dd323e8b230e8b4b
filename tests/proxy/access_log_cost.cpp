// What a line of the access log costs the event loop: formats and queues 10^6 lines to FILE
// (`json` as a second argument for JSON lines) and prints the calling thread's CPU time per
// line. Not a test (timings vary with the machine); the README quotes its figure.
//   build/tests/access_log_cost /tmp/access.log [json]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "proxy/access_log.hpp"
#include "proxy/access_log_line.hpp"

namespace {

double thread_cpu_ns() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pinwheel;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [json]\n", argv[0]);
    return 2;
  }
  constexpr int kLines = 1'000'000;
  access_log_options options;
  options.enabled = true;
  options.path = argv[1];
  options.format = argc > 2 && std::string(argv[2]) == "json" ? access_log_format::json
                                                              : access_log_format::text;
  backend b;
  b.name = "3";
  b.endpoint = {asio::ip::make_address("127.0.0.1"), 9004};
  connection_record r;
  r.client = {asio::ip::make_address("127.0.0.1"), 51234};
  r.upstream = &b;
  r.connect_time = std::chrono::microseconds(87);
  r.duration = std::chrono::microseconds(1234);
  r.bytes_from_backend = 120;
  r.reason = end_reason::client_close;

  std::string line;
  double start = thread_cpu_ns();
  for (int i = 0; i < kLines; ++i) {
    line.clear();
    r.bytes_from_client = static_cast<std::uint64_t>(i);
    append_access_log_line(line, r, std::chrono::system_clock::now(), options.format);
  }
  const double format_ns = (thread_cpu_ns() - start) / kLines;

  access_log log(options);
  start = thread_cpu_ns();
  for (int i = 0; i < kLines; ++i) {
    r.bytes_from_client = static_cast<std::uint64_t>(i);
    log.write(r);
  }
  const double write_ns = (thread_cpu_ns() - start) / kLines;
  log.flush(std::chrono::steady_clock::now() + std::chrono::seconds(30));
  std::printf(
      "formatting: %.0f ns per line; formatting and queueing: %.0f ns per line "
      "(CPU of the calling thread); %llu of %d lines dropped\n",
      format_ns, write_ns, static_cast<unsigned long long>(log.lines_dropped()), kLines);
  return 0;
}
