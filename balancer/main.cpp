// pinwheel: a pinned, supervised TCP load balancer for single-threaded backends.
//
//   pinwheel --config FILE                      run
//   pinwheel --check --config FILE              validate and print the effective settings
//   pinwheel ctl (--config FILE | --socket PATH) VERB [NAME]
//                                               talk to a running Pinwheel's admin socket
//
// Exit codes: 0 success, 1 runtime failure (ctl: the balancer answered with an error, or
// could not be reached), 2 bad command line or configuration.
#include <CLI/CLI.hpp>
#include <iostream>

#include "admin/admin_client.hpp"
#include "balancer.hpp"
#include "config/config_error.hpp"
#include "config/config_loader.hpp"
#include "config/descriptor_limit.hpp"
#include "config/host_facts.hpp"
#include "config/run_plan.hpp"
#include "log/log.hpp"
#include "strategy/strategy_registry.hpp"

namespace {

using namespace pinwheel;

struct ctl_command {
  std::string config_path;
  std::string socket_path;
  int timeout_ms = 10'000;
  /// The backend or strategy named, and status --json.
  std::string argument;
  bool json = false;
  /// The line sent: the verb and its argument.
  std::string line;
};

// `pinwheel ctl`: one subcommand per verb, so --help lists them and CLI11 checks arguments.
CLI::App* add_ctl(CLI::App& app, ctl_command& ctl) {
  CLI::App* sub = app.add_subcommand("ctl", "Talk to a running Pinwheel through its admin socket");
  sub->add_option("-c,--config", ctl.config_path, "The running Pinwheel's config ([admin] socket)");
  sub->add_option("-s,--socket", ctl.socket_path, "The admin socket's path");
  sub->add_option("--timeout", ctl.timeout_ms, "Milliseconds to wait for the reply")
      ->check(CLI::Range(1, 600'000));
  sub->require_subcommand(1);
  auto verb = [&](const std::string& name, const std::string& help) {
    return sub->add_subcommand(name, help);
  };
  CLI::App* status = verb("status", "Each backend: state, admin state, pid, core, connections");
  status->add_flag("--json", ctl.json, "JSON for scripts");
  status->callback([&ctl] { ctl.line = ctl.json ? "status --json" : "status"; });
  struct named {
    const char* verb;
    const char* help;
    const char* what;
  };
  for (named n : {named{"drain", "No new connections to a backend; open ones finish", "backend"},
                  named{"disable", "Take a backend out of rotation", "backend"},
                  named{"enable", "Put a backend back into rotation", "backend"},
                  named{"restart", "Restart one backend without dropping a connection", "backend"},
                  named{"strategy", "Switch the balancing strategy", "strategy"}}) {
    CLI::App* v = sub->add_subcommand(n.verb, n.help);
    v->add_option(
         "name", ctl.argument,
         std::string(n.what) == "backend" ? "The backend's name or index" : "The strategy's name")
        ->required();
    std::string verb_name = n.verb;
    v->callback([&ctl, verb_name] { ctl.line = verb_name + " " + ctl.argument; });
  }
  verb("restart-all", "Restart every backend, one at a time (rolling)")->callback([&ctl] {
    ctl.line = "restart-all";
  });
  verb("reload", "Re-read the config file and apply what changed")->callback([&ctl] {
    ctl.line = "reload";
  });
  return sub;
}

int run_ctl(ctl_command& ctl) {
  if (ctl.socket_path.empty() == ctl.config_path.empty()) {
    std::cerr << "pinwheel ctl: give either --config FILE or --socket PATH\n";
    return 2;
  }
  if (ctl.socket_path.empty()) {
    try {
      ctl.socket_path = admin_socket_of(ctl.config_path);
    } catch (const config_error& e) {
      std::cerr << "pinwheel ctl: " << e.what() << "\n";
      return 2;
    }
    if (ctl.socket_path.empty()) {
      std::cerr << "pinwheel ctl: " << ctl.config_path
                << " has no [admin] socket; add socket = \"PATH\" there and restart Pinwheel\n";
      return 2;
    }
  }
  admin_exchange exchange =
      ask_admin(ctl.socket_path, ctl.line, std::chrono::milliseconds(ctl.timeout_ms));
  if (!exchange.failure.empty()) {
    std::cerr << "pinwheel ctl: " << exchange.failure << "\n";
    return 1;
  }
  bool failed = exchange.reply.rfind("error: ", 0) == 0;
  (failed ? std::cerr : std::cout) << exchange.reply;
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Pinwheel: a TCP load balancer that spreads single-threaded servers over the cores of one "
      "host"};
  app.set_version_flag("--version", std::string("pinwheel ") + PINWHEEL_VERSION);
  std::string config_path;
  bool check = false;
  overrides flags;
  app.add_option("-c,--config", config_path, "TOML configuration file (required to run)");
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
                 "Balancing strategy: " + names +
                     " (overrides balancer.strategy; in direct mode: round-robin | least-busy | "
                     "source-hash)");
  ctl_command ctl;
  CLI::App* ctl_app = add_ctl(app, ctl);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (ctl_app->parsed()) return run_ctl(ctl);
  // Given but empty is load_config's to explain.
  if (app.count("--config") == 0) {
    std::cerr << "--config is required\nRun with --help for more information.\n";
    return 2;
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
    balancer b(o, plan, flags);
    return b.run();
  } catch (const config_error& e) {
    log(e.what());
    return 2;
  } catch (const std::exception& e) {
    log("fatal: ", e.what());
    return 1;
  }
}
