// pinwheel-loadgen: an open-loop HTTP/1.1 load generator for loopback servers.
//
//   pinwheel-loadgen --target 127.0.0.1:8080 --rate 50 --duration 30s --mix "GET /api/slow"
//   pinwheel-loadgen --target 127.0.0.1:8080 --ramp "25:5s,50:5s,100:5s" --json out.json
//
// Exit codes: 0 the run completed (whatever the server answered), 1 runtime failure,
// 2 bad command line.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "config/duration.hpp"
#include "load_runner.hpp"

namespace {

using namespace pinwheel;
using namespace pinwheel::loadgen;

// "127.0.0.1:8080" or "[::1]:8080"; loopback only, since the generator is a test tool.
asio::ip::tcp::endpoint parse_target(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) throw CLI::ValidationError("--target", "expected HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) throw CLI::ValidationError("--target", "'" + host + "' is not an IP address");
  if (!address.is_loopback()) {
    throw CLI::ValidationError("--target",
                               "'" + host + "' is not a loopback address (127.0.0.0/8, ::1)");
  }
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) port = 0;
  } catch (const std::logic_error&) {
    port = 0;
  }
  if (port == 0 || port > 65535) throw CLI::ValidationError("--target", "port must be 1-65535");
  return {address, static_cast<unsigned short>(port)};
}

std::chrono::milliseconds parse_positive_duration(const std::string& text, const char* option) {
  const std::optional<duration> d = parse_duration(text);
  if (!d || d->count() <= 0) {
    throw CLI::ValidationError(option, "'" + text + "' is not a duration like 500ms, 10s or 1m");
  }
  return *d;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pinwheel-loadgen: open-loop HTTP/1.1 load on a loopback server"};
  std::string target, duration_text = "10s", ramp, mix_spec = "GET /", timeout_text = "10s";
  std::string json_path;
  double rate = 10;
  std::uint64_t max_requests = std::numeric_limits<std::uint64_t>::max();
  load_options options;
  bool progress = false, no_progress = false, quiet = false;
  app.add_option("-t,--target", target, "Server, HOST:PORT on loopback")->required();
  app.add_option("-r,--rate", rate, "Requests per second (constant arrival rate)")
      ->check(CLI::PositiveNumber);
  app.add_option("-d,--duration", duration_text, "How long to send at --rate (default 10s)");
  auto* ramp_option = app.add_option(
      "--ramp", ramp, "Step ramp RATE:DURATION,... (e.g. 25:5s,50:5s); replaces --rate/--duration");
  ramp_option->excludes("--rate")->excludes("--duration");
  app.add_option("-n,--requests", max_requests, "Send at most this many requests");
  app.add_option("-m,--mix", mix_spec,
                 "Request classes WEIGHT:METHOD TARGET,... (e.g. \"90:GET /fast,10:GET /slow\")");
  app.add_option("--timeout", timeout_text, "Deadline of each request from its scheduled time");
  app.add_flag("-k,--keep-alive", options.keep_alive,
               "Reuse connections (a pool) instead of one new connection per request");
  app.add_option("-c,--connections", options.max_connections,
                 "Most connections open at once; requests beyond wait for one")
      ->check(CLI::Range(1, 1000000));
  app.add_flag("--fill-pool", options.fill_pool,
               "With --keep-alive: open --connections connections, then use them in turn");
  app.add_option("--sources", options.source_addresses,
                 "Bind new connections to 127.0.0.1..127.0.0.N in turn (for source-hash)")
      ->check(CLI::Range(1, 254));
  app.add_flag("--tally-bodies", options.tally_bodies,
               "Count ok responses per body (e.g. GET /whoami: requests per backend)");
  app.add_option("--json", json_path, "Write the results as JSON to this file ('-': stdout)");
  app.add_flag("--progress", progress, "Progress line on stderr (default: when stderr is a tty)");
  app.add_flag("--no-progress", no_progress, "No progress line");
  app.add_flag("-q,--quiet", quiet, "No results table on stdout");
  try {
    app.parse(argc, argv);
    options.target = parse_target(target);
    options.timeout = parse_positive_duration(timeout_text, "--timeout");
    if (ramp.empty()) {
      options.phases = {{rate, parse_positive_duration(duration_text, "--duration")}};
    } else {
      options.phases = arrival_schedule::parse_ramp(ramp);
    }
    if (options.source_addresses > 1 && !options.target.address().is_v4()) {
      throw CLI::ValidationError("--sources", "many source addresses need an IPv4 target");
    }
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "pinwheel-loadgen: " << e.what() << "\n";
    return 2;
  }
  options.max_requests = max_requests;
  options.progress = no_progress ? false : (progress || ::isatty(STDERR_FILENO) == 1);

  try {
    request_mix mix = request_mix::parse(mix_spec);
    load_runner runner(options, std::move(mix));
    const run_report report = runner.run();
    if (!json_path.empty()) {
      if (json_path == "-") {
        std::cout << report.to_json();
      } else {
        std::ofstream out(json_path);
        out << report.to_json();
        if (!out.flush()) {
          std::cerr << "pinwheel-loadgen: cannot write " << json_path << "\n";
          return 1;
        }
      }
    }
    if (!quiet) (json_path == "-" ? std::cerr : std::cout) << report.to_table();
    return 0;
  } catch (const std::invalid_argument& e) {
    std::cerr << "pinwheel-loadgen: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "pinwheel-loadgen: " << e.what() << "\n";
    return 1;
  }
}
