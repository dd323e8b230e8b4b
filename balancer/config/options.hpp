// Everything a Pinwheel run is configured with, and its defaults.
//
// Filled once at start-up: load_config() reads the TOML file and applies the command-line
// overrides, checking each value as written; make_plan() then checks what the values mean
// together and on this host (the sanitize step). Read-only afterwards.
#pragma once

#include <asio/ip/tcp.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/address_range.hpp"
#include "config/duration.hpp"
#include "config/run_as.hpp"
#include "proxy_protocol/proxy_header.hpp"

namespace pinwheel {

using namespace std::chrono_literals;

enum class health_kind { none, tcp, http };

/// What makes a starting spawned backend eligible for traffic.
enum class readiness_kind {
  health,  ///< its first passing health check (READY=1 is only logged)
  notify,  ///< READY=1 on NOTIFY_SOCKET (sd_notify); checks still take it down and up later
  both,    ///< READY=1 and then a passing health check
};

/// How connections reach the backends.
enum class balancer_mode {
  proxy,   ///< the balancer accepts each connection and relays its bytes (any backend)
  direct,  ///< the kernel hands each connection straight to the backend the balancer's BPF
           ///< program picks; spawned, socket-activated backends only (direct/)
};

/// "proxy" or "direct".
const char* to_string(balancer_mode mode);

struct balancer_options {
  /// Proxy or direct mode.
  balancer_mode mode = balancer_mode::proxy;
  /// Public address the balancer accepts on; port 0 picks a free one (logged).
  asio::ip::tcp::endpoint listen{asio::ip::address_v4::loopback(), 8080};
  /// Further public addresses, when `listen` is a list (its first element is `listen`). IPv6
  /// ones take IPv6 clients only (IPV6_V6ONLY): list IPv4 addresses separately.
  std::vector<asio::ip::tcp::endpoint> more_listen;
  /// TCP keepalive on client connections: probes after this long without traffic, so peers
  /// that vanished (behind a NAT, powered off) are found; 0: off.
  duration tcp_keepalive = 0ms;
  /// Read a PROXY protocol header (v1 or v2) from peers in `trusted`, and take the client
  /// address from it (for limits, strategies and the log, and passed on with send_proxy).
  bool accept_proxy = false;
  /// Peers (e.g. the balancer in front) whose PROXY headers are believed.
  std::vector<address_range> trusted;
  /// How long a trusted peer has to send its whole PROXY header.
  duration proxy_header_timeout = 3s;
  /// Name of a strategy in the registry (strategy_registry.hpp), or in direct mode one of
  /// direct_strategy_names() (direct/steering_kind.hpp).
  std::string strategy = "least-connections";
  /// Core the balancer pins itself to; unset: the first core it may run on.
  std::optional<int> cpu;
  /// Open client connections beyond which the balancer stops accepting. Each takes two file
  /// descriptors (client and backend side); see descriptor_limit.hpp for the reserve on top.
  std::size_t max_connections = 10'000;
  /// Pipes for splicing directions that turned bulk (HAProxy's maxpipes): their bytes pass
  /// through the kernel without being copied into the balancer. Each holds two descriptors
  /// (counted in the reserve) and, while its reader is behind, the kernel pages its bytes sit
  /// in (64 slots of a page or more); 0 turns splicing off.
  std::size_t max_pipes = 64;
  /// The splice pipes the balancer may open: none in direct mode, which never relays.
  std::size_t pipes() const { return mode == balancer_mode::direct ? 0 : max_pipes; }
  /// How long one connect to a backend may take before trying another.
  duration connect_timeout = 2s;
  /// A connection with no bytes either way for this long is closed.
  duration idle_timeout = 60s;
  /// On SIGINT/SIGTERM, how long open connections may take to finish.
  duration drain_timeout = 10s;
  /// Further connect attempts, each on another backend, after a failed one.
  int retries = 3;

  /// Privileges: the user (and group) the balancer drops to once it has bound its listeners,
  /// the metrics listener and the admin socket and opened the access log; unset: it keeps
  /// running as it was started.
  run_as user;
};

/// A backend Pinwheel does not spawn: `"host:port"` or `{ address, name, weight }` in the config.
struct server_options {
  asio::ip::tcp::endpoint endpoint;
  /// Its name in logs and metrics; empty: its position in `servers` ("0", "1", …).
  std::string name;
  /// Share of connections relative to the others; 0: never picked.
  unsigned weight = 1;
};

/// Highest weight a backend may have (HAProxy's too).
constexpr unsigned kMaxWeight = 256;

struct backends_options {
  /// Backends to spawn; 0 means one per core left after the balancer's (at least two).
  int count = 0;
  /// argv of a backend; {port}, {index} and {cpu} are substituted.
  std::vector<std::string> command;
  /// Address the spawned backends listen on.
  asio::ip::address host = asio::ip::address_v4::loopback();
  /// Backend i listens on base_port + i; 0 picks free ports at start-up.
  int base_port = 9001;
  /// Cores for the backends, used in order and wrapped around; empty: every core but the
  /// balancer's.
  std::vector<int> cpus;
  /// First delay before restarting a backend that exited; doubles per quick exit.
  duration restart_delay = 100ms;
  /// Ceiling of the doubling restart delay.
  duration restart_delay_max = 10s;
  /// A backend that ran at least this long before exiting was healthy: its back-off resets.
  duration min_uptime = 5s;
  /// Quick exits in a row after which a backend is given up as crash-looping.
  int max_restarts = 10;
  /// On shutdown, how long backends get after SIGTERM before SIGKILL.
  duration stop_timeout = 5s;
  /// Weights of the spawned backends, backend i gets weights[i]; empty: all 1. When given,
  /// one per backend (checked in make_plan, once the count is known).
  std::vector<unsigned> weights;
  /// A backend that becomes usable again ramps its weight up over this long; 0: off.
  duration slow_start = 0ms;
  /// PROXY protocol header sent first on each backend connection (none, v1 or v2).
  proxy_protocol::version send_proxy = proxy_protocol::version::none;
  /// What brings a starting backend up (every spawned backend gets NOTIFY_SOCKET either way).
  readiness_kind readiness = readiness_kind::health;
  /// A backend must send WATCHDOG=1 at least this often (WATCHDOG_USEC is set for it), or it
  /// is killed and restarted; 0: no watchdog.
  duration watchdog = 0ms;
  /// The balancer binds each backend's listening socket itself and passes it as descriptor 3
  /// (LISTEN_FDS=1, LISTEN_PID, LISTEN_FDNAMES): a restarting backend refuses no connection.
  bool socket_activation = false;

  /// Privileges and limits of spawned backends, set in the child before exec.
  /// The user (and group) they run as; unset: the balancer's (after its own drop).
  run_as user;
  /// Their RLIMIT_NOFILE (soft and hard); 0: inherited from the balancer.
  std::uint64_t max_open_files = 0;
  /// Their RLIMIT_AS, in bytes; 0: inherited.
  std::uint64_t max_address_space = 0;
  /// Resident memory (RSS) above which a backend is restarted, as a rolling restart of that
  /// one backend (PM2's max_memory_restart); 0: off.
  std::uint64_t max_memory = 0;

  /// Backends Pinwheel does not spawn, only balances and checks (exclusive with command).
  std::vector<server_options> servers;

  // Auto-scaling bounds ([autoscale] says when to move between them).
  /// Fewest spawned backends; 0: unset. With `max` above it, the count follows the load and
  /// `count` is only the starting count (default: min).
  int min = 0;
  /// Most spawned backends; 0: unset.
  int max = 0;

  /// True when Pinwheel spawns and supervises its backends.
  bool spawned() const { return servers.empty(); }
  /// True when the backend count follows the load between min and max.
  bool autoscaled() const { return spawned() && min > 0 && max > min; }
};

/// When auto-scaling ([backends] min < max) adds or removes a backend. Load is measured every
/// `interval` over the backends that are up: CPU utilisation (CPU time per wall time of each
/// backend's process, 1.0 = one core busy) and connections awaiting a reply.
struct autoscale_options {
  /// Time between two measurements.
  duration interval = 5s;
  /// Mean CPU utilisation per backend at or above which one is added.
  double scale_up_cpu = 0.8;
  /// Mean CPU utilisation at or below which one is removed (if the rest would stay below
  /// scale_up_cpu and scale_up_queued).
  double scale_down_cpu = 0.3;
  /// Mean connections awaiting a reply per backend at or above which one is added; 0: off.
  double scale_up_queued = 0;
  /// How long the load must stay high before adding a backend.
  duration scale_up_after = 15s;
  /// How long the load must stay low before removing one.
  duration scale_down_after = 60s;
  /// After adding or removing a backend, none is added or removed for this long.
  duration cooldown = 60s;

  bool operator==(const autoscale_options&) const = default;
};

struct health_options {
  /// tcp: a connect succeeds; http: GET `path` answers 2xx; none: always up.
  health_kind kind = health_kind::tcp;
  /// Request target of the http check.
  std::string path = "/health";
  /// Time between checks of one backend.
  duration interval = 2s;
  /// How long one check may take.
  duration timeout = 1s;
  /// Consecutive successes that bring a down backend up.
  int rise = 2;
  /// Consecutive failures (checks or proxy connects) that take an up backend down.
  int fall = 3;
};

/// Default port of the metrics listener. Checked against Prometheus (9090), Pushgateway
/// (9091), Alertmanager (9093), the exporters' allocated range (9100-9999, full), Grafana
/// (3000), Loki (3100), OpenTelemetry's Prometheus exporter (9464) and OTLP (4317/4318), the
/// OpenTelemetry Collector (8888/8889), VictoriaMetrics (8428, 8480-8482), HAProxy's usual
/// stats/promex ports (8404/8405), and Pinwheel's own defaults (8080, backends from 9001).
constexpr unsigned short kDefaultMetricsPort = 8370;

struct metrics_options {
  /// Serve /metrics, the status page and /status.json.
  bool enabled = true;
  /// Where they are served: loopback only unless configured; port 0 picks a free one (logged).
  asio::ip::tcp::endpoint listen{asio::ip::address_v4::loopback(), kDefaultMetricsPort};
};

enum class access_log_format { text, json };

struct access_log_options {
  /// One line per closed connection; off by default.
  bool enabled = false;
  /// A file (appended to, created if missing, reopened on SIGUSR1), or "stderr" / "stdout".
  std::string path = "stderr";
  /// text: key=value pairs (logfmt); json: one JSON object per line.
  access_log_format format = access_log_format::text;
};

/// Limits per client address (the PROXY header's, when accepted from a trusted peer).
struct limits_options {
  /// Open connections one client may have; 0: no limit.
  int per_client_connections = 0;
  /// New connections per second one client may open (burst: one second's worth); 0: none.
  double per_client_rate = 0;
};

/// The runtime admin socket (`pinwheel ctl`).
struct admin_options {
  /// Unix socket path (relative: from the config file's folder); empty: no admin socket.
  std::string socket;
  /// How long an admin client has to send its one command line.
  duration timeout = 5s;
};

struct options {
  /// The file these came from ("" when none).
  std::string config_path;
  balancer_options balancer;
  backends_options backends;
  health_options health;
  metrics_options metrics;
  access_log_options access_log;
  limits_options limits;
  admin_options admin;
  autoscale_options autoscale;
  /// Where each key was set, "file:line:column" or "--flag", for messages found after loading.
  /// Elements of backends.servers are also recorded one by one, as "backends.servers[i]".
  std::map<std::string, std::string> origin;

  /// Origin of a key such as "balancer.listen", or the file name if it was left at its default.
  std::string where(const std::string& key) const;
  /// How a message about `key` starts: "file:line:column: [table] key" (the file alone when the
  /// key was left at its default), or "--flag" when a flag set it.
  std::string locate(const std::string& key) const;
};

/// The name used in configs for a health kind ("none", "tcp", "http").
const char* to_string(health_kind kind);
/// The name used in configs for a readiness kind ("health", "notify", "both").
const char* to_string(readiness_kind kind);

}  // namespace pinwheel
