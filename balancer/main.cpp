// pinwheel: a pinned, supervised TCP load balancer for single-threaded backends.
//
//   pinwheel --config FILE            run
//   pinwheel --check --config FILE    validate and print the effective settings (like nginx -t)
//
// Exit codes: 0 success, 1 runtime failure, 2 bad command line or configuration.
#include <CLI/CLI.hpp>
#include <iostream>

#include "balancer.hpp"
#include "config/config_error.hpp"
#include "config/config_loader.hpp"
#include "config/descriptor_limit.hpp"
#include "config/host_facts.hpp"
#include "config/run_plan.hpp"
#include "log/log.hpp"
#include "strategy/strategy_registry.hpp"

int main(int argc, char** argv) {
  using namespace pinwheel;
  CLI::App app{
      "Pinwheel: a TCP load balancer that spreads single-threaded servers over the cores of one "
      "host"};
  app.set_version_flag("--version", std::string("pinwheel ") + PINWHEEL_VERSION);
  std::string config_path;
  bool check = false;
  overrides flags;
  app.add_option("-c,--config", config_path, "TOML configuration file")->required();
  app.add_flag("-t,--check", check,
               "Validate the configuration, print the effective settings, and exit");
  app.add_option("--listen", flags.listen,
                 "Public address, HOST:PORT or [IPv6]:PORT (overrides balancer.listen)");
  app.add_option("--backends", flags.backends,
                 "Backends to spawn, 0 = one per remaining core (overrides backends.count)");
  app.add_option("--metrics-listen", flags.metrics_listen,
                 "Metrics and status page address, HOST:PORT (overrides metrics.listen)");
  std::string names;
  for (const std::string& name : strategy_names()) names += (names.empty() ? "" : " | ") + name;
  app.add_option("--strategy", flags.strategy,
                 "Balancing strategy: " + names + " (overrides balancer.strategy)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  try {
    options o = load_config(config_path, flags);
    // Before planning, so that --check warns about the limit a real run would have.
    raise_open_file_limit();
    run_plan plan = make_plan(o, read_host_facts());
    if (check) {
      std::cout << describe(o, plan) << "configuration " << config_path << " is valid\n";
      return 0;
    }
    balancer b(o, plan);
    return b.run();
  } catch (const config_error& e) {
    log(e.what());
    return 2;
  } catch (const std::exception& e) {
    log("fatal: ", e.what());
    return 1;
  }
}
