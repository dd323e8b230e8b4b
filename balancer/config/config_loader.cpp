#include "config/config_loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "config/address.hpp"
#include "config/byte_size.hpp"
#include "config/config_error.hpp"
#include "config/program_lookup.hpp"
#include "direct/steering_kind.hpp"
#include "strategy/strategy_registry.hpp"

namespace pinwheel {

namespace {

std::string position(const std::string& path, const toml::source_region& where) {
  return path + ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column);
}

// Levenshtein distance, for "did you mean" on unknown keys.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Reads the keys of one TOML table, remembering which were read so the rest can be
// reported as unknown. Every error names file:line:column, the table and the key.
class table_reader {
 public:
  table_reader(const toml::table* table, std::string name, const std::string& path, options& out)
      : table_(table), name_(std::move(name)), path_(path), out_(out) {}

  [[noreturn]] void fail(const toml::node& node, std::string_view key, std::string_view message) {
    throw config_error(position(path_, node.source()) + ": [" + name_ + "] " + std::string(key) +
                       ": " + std::string(message));
  }

  const toml::node* find(std::string_view key) {
    known_.insert(std::string(key));
    if (table_ == nullptr) return nullptr;
    const toml::node* node = table_->get(key);
    if (node != nullptr) record(key, *node);
    return node;
  }

  /// Remembers where `key` (or an element, "key[i]") was set, for messages after loading.
  void record(std::string_view key, const toml::node& node) {
    out_.origin[name_ + "." + std::string(key)] = position(path_, node.source());
  }

  template <class T>
  const T* typed(std::string_view key, std::string_view expected) {
    const toml::node* node = find(key);
    if (node == nullptr) return nullptr;
    const T* value = node->as<T>();
    if (value == nullptr)
      fail(*node, key, "expected " + std::string(expected) + ", got " + type_name(*node));
    return value;
  }

  void read(std::string_view key, bool& out) {
    if (auto* v = typed<toml::value<bool>>(key, "true or false")) out = v->get();
  }

  void read(std::string_view key, std::string& out) {
    if (auto* v = typed<toml::value<std::string>>(key, "a string")) out = v->get();
  }

  void read(std::string_view key, int& out, std::int64_t min, std::int64_t max) {
    auto* v = typed<toml::value<std::int64_t>>(key, "an integer");
    if (v == nullptr) return;
    if (v->get() < min || v->get() > max) {
      fail(*v, key,
           std::to_string(v->get()) + " is out of range; use " + std::to_string(min) + " to " +
               std::to_string(max));
    }
    out = static_cast<int>(v->get());
  }

  /// A number (integer or float) from `min` to `max`.
  void read(std::string_view key, double& out, double min, double max) {
    const toml::node* node = find(key);
    if (node == nullptr) return;
    std::optional<double> value = node->value<double>();
    if (!node->is_number() || !value)
      fail(*node, key, "expected a number such as 0.8, got " + type_name(*node));
    if (*value < min || *value > max) {
      fail(*node, key,
           format_number(*value) + " is out of range; use " + format_number(min) + " to " +
               format_number(max));
    }
    out = *value;
  }

  static std::string format_number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
  }

  void read(std::string_view key, duration& out, duration min) {
    auto* v = typed<toml::value<std::string>>(key, "a duration string such as \"500ms\" or \"2s\"");
    if (v == nullptr) return;
    auto parsed = parse_duration(v->get());
    if (!parsed) {
      fail(*v, key,
           in_quotes(v->get()) +
               " is not a duration; write a number and a unit (ms, s, m, h), e.g. "
               "\"500ms\", \"2s\", \"1m30s\"");
    }
    if (*parsed < min)
      fail(*v, key, in_quotes(v->get()) + " is too short; the minimum is " + format_duration(min));
    out = *parsed;
  }

  std::vector<std::string> read_strings(std::string_view key, bool& present) {
    std::vector<std::string> out;
    auto* array = typed<toml::array>(key, "an array of strings");
    present = array != nullptr;
    if (array == nullptr) return out;
    for (const toml::node& element : *array) {
      auto* s = element.as_string();
      if (s == nullptr)
        fail(element, key, "every element must be a string, got " + type_name(element));
      out.push_back(s->get());
    }
    return out;
  }

  std::vector<int> read_ints(std::string_view key) {
    std::vector<int> out;
    auto* array = typed<toml::array>(key, "an array of core numbers, e.g. [1, 2, 3]");
    if (array == nullptr) return out;
    for (const toml::node& element : *array) {
      auto* i = element.as_integer();
      if (i == nullptr || i->get() < 0 || i->get() > 4095) {
        fail(element, key, "every element must be a core number from 0 to 4095");
      }
      out.push_back(static_cast<int>(i->get()));
    }
    return out;
  }

  std::vector<unsigned> read_weights(std::string_view key) {
    std::vector<unsigned> out;
    auto* array = typed<toml::array>(key, "an array of weights, e.g. [3, 1, 1]");
    if (array == nullptr) return out;
    for (const toml::node& element : *array) out.push_back(weight(element, key));
    return out;
  }

  /// One weight: an integer from 0 to kMaxWeight.
  unsigned weight(const toml::node& node, std::string_view key) {
    auto* i = node.as_integer();
    if (i == nullptr) fail(node, key, "a weight must be an integer, got " + type_name(node));
    if (i->get() < 0 || i->get() > kMaxWeight) {
      fail(node, key,
           "weight " + std::to_string(i->get()) + " is out of range; use 0 (never picked) to " +
               std::to_string(kMaxWeight));
    }
    return static_cast<unsigned>(i->get());
  }

  // Rejects keys nobody read: almost always a typo.
  void reject_unknown() {
    if (table_ == nullptr) return;
    for (auto&& [key, node] : *table_) {
      if (known_.count(std::string(key.str()))) continue;
      std::string message = "unknown key " + in_quotes(key.str());
      std::string best;
      std::size_t best_distance = 3;
      for (const std::string& candidate : known_) {
        std::size_t d = edit_distance(key.str(), candidate);
        if (d < best_distance) best_distance = d, best = candidate;
      }
      message += best.empty() ? "; known keys are " + known_list()
                              : "; did you mean " + in_quotes(best) + "?";
      throw config_error(position(path_, key.source()) + ": [" + name_ + "] " + message);
    }
  }

  static std::string type_name(const toml::node& node) {
    switch (node.type()) {
      case toml::node_type::string:
        return "a string";
      case toml::node_type::integer:
        return "an integer";
      case toml::node_type::floating_point:
        return "a float";
      case toml::node_type::boolean:
        return "a boolean";
      case toml::node_type::array:
        return "an array";
      case toml::node_type::table:
        return "a table";
      default:
        return "a date/time";
    }
  }

 private:
  std::string known_list() const {
    std::string list;
    for (const std::string& k : known_) list += (list.empty() ? "" : ", ") + k;
    return list;
  }

  const toml::table* table_;
  std::string name_;
  const std::string& path_;
  options& out_;
  std::set<std::string> known_;
};

std::string quoted_choices(const std::vector<std::string>& names) {
  std::string list;
  for (std::size_t i = 0; i < names.size(); ++i)
    list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + in_quotes(names[i]);
  return list;
}

std::string strategy_choices() {
  return quoted_choices(strategy_names()) + " (proxy mode), or " +
         quoted_choices(direct::direct_strategy_names()) + " (direct mode)";
}

// A name either mode offers; which mode may use it is checked once the mode is final.
bool known_strategy(const std::string& name) {
  return is_strategy(name) || direct::steering_for(name).has_value();
}

// mode = "proxy" | "direct".
void read_mode(table_reader& t, balancer_options& b) {
  std::string text = to_string(b.mode);
  t.read("mode", text);
  if (text == "proxy")
    b.mode = balancer_mode::proxy;
  else if (text == "direct")
    b.mode = balancer_mode::direct;
  else
    t.fail(*t.find("mode"), "mode",
           in_quotes(text) + " is not a mode; use \"proxy\" or \"direct\"");
}

// listen = "host:port" or a list of them, e.g. ["0.0.0.0:80", "[::]:80", "0.0.0.0:8080"].
void read_listen(table_reader& t, balancer_options& b) {
  const toml::node* node = t.find("listen");
  if (node == nullptr) return;
  auto endpoint_at = [&](const toml::node& element) {
    auto* text = element.as_string();
    if (text == nullptr) {
      t.fail(element, "listen",
             "expected \"host:port\" or a list of them, got " + table_reader::type_name(element));
    }
    std::string error;
    auto endpoint = parse_endpoint(text->get(), error);
    if (!endpoint) t.fail(element, "listen", error);
    return *endpoint;
  };
  const toml::array* list = node->as_array();
  if (list == nullptr) {
    b.listen = endpoint_at(*node);
    return;
  }
  if (list->empty()) t.fail(*node, "listen", "is empty; list at least one \"host:port\"");
  std::vector<asio::ip::tcp::endpoint> all;
  for (const toml::node& element : *list) {
    asio::ip::tcp::endpoint endpoint = endpoint_at(element);
    for (const auto& earlier : all) {
      // IPv6 listeners are IPV6_V6ONLY: "[::]:80" and "0.0.0.0:80" coexist.
      bool same_family = earlier.address().is_v4() == endpoint.address().is_v4();
      if (same_family && endpoint.port() != 0 && clash(earlier, endpoint)) {
        t.fail(element, "listen",
               to_string(endpoint) + " overlaps " + to_string(earlier) +
                   " listed before it; each address and port may be listened on once");
      }
    }
    all.push_back(endpoint);
  }
  b.listen = all.front();
  b.more_listen.assign(all.begin() + 1, all.end());
}

// accept_proxy = true, trusted = ["10.0.0.0/8", ...], proxy_header_timeout = "3s".
void read_accept_proxy(table_reader& t, balancer_options& b) {
  if (auto* v = t.typed<toml::value<bool>>("accept_proxy", "true or false"))
    b.accept_proxy = v->get();
  t.read("proxy_header_timeout", b.proxy_header_timeout, 1ms);
  bool has_trusted = false;
  std::vector<std::string> trusted = t.read_strings("trusted", has_trusted);
  if (has_trusted) {
    const toml::array& elements = *t.find("trusted")->as_array();
    for (std::size_t i = 0; i < trusted.size(); ++i) {
      std::string error;
      auto range = parse_address_range(trusted[i], error);
      if (!range) t.fail(*elements.get(i), "trusted", error);
      b.trusted.push_back(*range);
    }
  }
  if (b.accept_proxy && b.trusted.empty()) {
    t.fail(*t.find("accept_proxy"), "accept_proxy",
           "needs trusted = [\"10.0.0.0/8\", ...]: the peers (the balancers in front) whose "
           "PROXY headers are believed; anyone else could claim any address");
  }
  if (!b.accept_proxy && has_trusted) {
    t.fail(*t.find("trusted"), "trusted",
           "has no effect without accept_proxy = true; add it or remove trusted");
  }
}

// --- Privileges and limits ([balancer] and [backends] user/group, [backends] max_*) ---

// user = "nobody" or 65534, group = "nogroup" or 65534: resolved on this host now, so a name
// it does not know is reported with its line.
void read_run_as(table_reader& t, run_as& r) {
  auto read_id = [&t](std::string_view key, std::string& out) -> const toml::node* {
    const toml::node* node = t.find(key);
    if (node == nullptr) return nullptr;
    if (const auto* text = node->as_string()) {
      out = text->get();
      if (out.empty()) t.fail(*node, key, "is empty; give a name such as \"nobody\" or an id");
    } else if (const auto* id = node->as_integer()) {
      // (uid_t) -1 means "unchanged" to setresuid: not an id one can run as.
      if (id->get() < 0 || id->get() >= 4294967295LL)
        t.fail(*node, key, std::to_string(id->get()) + " is not an id; use 0 to 4294967294");
      out = std::to_string(id->get());
    } else {
      t.fail(*node, key,
             "expected a name such as \"nobody\" or a numeric id, got " +
                 table_reader::type_name(*node));
    }
    return node;
  };
  const toml::node* user = read_id("user", r.user);
  const toml::node* group = read_id("group", r.group);
  if (user == nullptr && group == nullptr) return;
  std::string key;
  std::string error = resolve_run_as(r, key);
  if (!error.empty()) t.fail(key == "group" && group ? *group : *user, key, error);
}

// A size such as "512MiB"; at least `min` bytes.
void read_byte_size(table_reader& t, std::string_view key, std::uint64_t& out, std::uint64_t min) {
  auto* v = t.typed<toml::value<std::string>>(key, "a size string such as \"512MiB\"");
  if (v == nullptr) return;
  auto parsed = parse_byte_size(v->get());
  if (!parsed) {
    t.fail(*v, key,
           in_quotes(v->get()) +
               " is not a size; write a whole number and a unit (B, KiB, MiB, GiB, TiB, or kB, "
               "MB, GB, TB), e.g. \"512MiB\"");
  }
  if (*parsed < min) {
    t.fail(*v, key, in_quotes(v->get()) + " is too small; the minimum is " + format_byte_size(min));
  }
  out = *parsed;
}

// user, group, max_open_files, max_address_space, max_memory of spawned backends.
void read_backend_privileges(table_reader& t, backends_options& b, bool servers) {
  read_run_as(t, b.user);
  int files = 0;
  // Below a few dozen descriptors hardly any program starts; the ceiling is the kernel's.
  t.read("max_open_files", files, 16, 1'073'741'816);
  b.max_open_files = static_cast<std::uint64_t>(files);
  read_byte_size(t, "max_address_space", b.max_address_space, 16ULL << 20);
  read_byte_size(t, "max_memory", b.max_memory, 1ULL << 20);
  if (!servers) return;
  for (const char* key : {"user", "group", "max_open_files", "max_address_space", "max_memory"}) {
    if (const toml::node* set = t.find(key)) {
      t.fail(*set, key,
             "applies to backends Pinwheel spawns (command), not to servers it does not start");
    }
  }
}

// --- end of privileges and limits ---

void read_balancer(table_reader& t, balancer_options& b) {
  read_mode(t, b);
  read_listen(t, b);
  t.read("strategy", b.strategy);
  if (const toml::node* node = t.find("strategy"); node && !known_strategy(b.strategy)) {
    t.fail(*node, "strategy",
           in_quotes(b.strategy) + " is not a strategy; use " + strategy_choices());
  }
  int cpu = -1;
  t.read("cpu", cpu, 0, 4095);
  if (cpu >= 0) b.cpu = cpu;
  int max_connections = static_cast<int>(b.max_connections);
  t.read("max_connections", max_connections, 1, 1'000'000);
  b.max_connections = static_cast<std::size_t>(max_connections);
  int max_pipes = static_cast<int>(b.max_pipes);
  t.read("max_pipes", max_pipes, 0, 100'000);
  b.max_pipes = static_cast<std::size_t>(max_pipes);
  t.read("connect_timeout", b.connect_timeout, 1ms);
  t.read("idle_timeout", b.idle_timeout, 1ms);
  t.read("drain_timeout", b.drain_timeout, 0ms);
  t.read("retries", b.retries, 0, 100);
  t.read("tcp_keepalive", b.tcp_keepalive, 0ms);
  read_accept_proxy(t, b);
  read_run_as(t, b.user);
  t.reject_unknown();
}

// send_proxy = "v1" | "v2" | "none".
void read_send_proxy(table_reader& t, backends_options& b) {
  std::string text = proxy_protocol::to_string(b.send_proxy);
  t.read("send_proxy", text);
  if (text == "v1")
    b.send_proxy = proxy_protocol::version::v1;
  else if (text == "v2")
    b.send_proxy = proxy_protocol::version::v2;
  else if (text == "none")
    b.send_proxy = proxy_protocol::version::none;
  else
    t.fail(*t.find("send_proxy"), "send_proxy",
           in_quotes(text) + " is not a PROXY protocol version; use \"v1\", \"v2\" or \"none\"");
}

// readiness = "health" | "notify" | "both".
void read_readiness(table_reader& t, backends_options& b) {
  std::string text = to_string(b.readiness);
  t.read("readiness", text);
  if (text == "health")
    b.readiness = readiness_kind::health;
  else if (text == "notify")
    b.readiness = readiness_kind::notify;
  else if (text == "both")
    b.readiness = readiness_kind::both;
  else
    t.fail(*t.find("readiness"), "readiness",
           in_quotes(text) + " is not a readiness; use \"health\", \"notify\" or \"both\"");
}

// per_client_connections = N, per_client_rate = "100/s" (or "/m").
void read_limits(table_reader& t, limits_options& l) {
  t.read("per_client_connections", l.per_client_connections, 0, 1'000'000);
  std::string rate;
  t.read("per_client_rate", rate);
  if (const toml::node* node = t.find("per_client_rate")) {
    std::size_t slash = rate.find('/');
    double count = 0;
    std::string_view number = std::string_view(rate).substr(0, slash);
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
    std::string unit = slash == std::string::npos ? "" : rate.substr(slash + 1);
    double seconds = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
    if (number.empty() || ec != std::errc() || end != number.data() + number.size() || count < 0 ||
        seconds == 0) {
      t.fail(*node, "per_client_rate",
             in_quotes(rate) +
                 " is not a rate; write connections per unit of time, e.g. \"100/s\" or "
                 "\"600/m\" (\"0/s\": no limit)");
    }
    l.per_client_rate = count / seconds;
  }
  t.reject_unknown();
}

// Names appear in logs, metrics and admin commands: keep them to one plain word.
bool good_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

// One `servers` element: "host:port", or { address = "host:port", name = "a", weight = 3 }.
server_options read_server(table_reader& t, const toml::node& element) {
  server_options server;
  const toml::node* address = &element;
  if (const toml::table* table = element.as_table()) {
    address = table->get("address");
    if (address == nullptr) {
      t.fail(element, "servers",
             "a server table needs address = \"host:port\" (and may have name and weight)");
    }
    for (auto&& [key, value] : *table) {
      if (key == "address") continue;
      if (key == "weight") {
        server.weight = t.weight(value, "servers");
      } else if (key == "name") {
        const auto* name = value.as_string();
        if (name == nullptr || !good_name(name->get())) {
          t.fail(value, "servers",
                 "a server name must be a string of 1 to 64 letters, digits, '-', '_' or '.'");
        }
        server.name = name->get();
      } else {
        t.fail(value, "servers",
               "unknown key " + in_quotes(key.str()) +
                   " in a server table; known keys are address, name, weight");
      }
    }
  }
  const auto* text = address->as_string();
  if (text == nullptr) {
    t.fail(*address, "servers",
           "expected \"host:port\" or { address = \"host:port\", name = \"a\", weight = 3 }, "
           "got " +
               table_reader::type_name(*address));
  }
  const std::string& s = text->get();
  std::string error;
  auto endpoint = parse_endpoint(s, error);
  if (!endpoint) t.fail(*address, "servers", error);
  if (endpoint->port() == 0)
    t.fail(*address, "servers", in_quotes(s) + " has port 0; give the server's real port");
  // Connecting to a wildcard reaches this host by accident; say which address is meant.
  if (endpoint->address().is_unspecified()) {
    t.fail(*address, "servers",
           in_quotes(s) +
               " is a wildcard address, not a server's; give the address the server "
               "listens on, e.g. \"127.0.0.1:" +
               std::to_string(endpoint->port()) + "\"");
  }
  server.endpoint = *endpoint;
  return server;
}

// min = N, max = M: auto-scaling bounds, for spawned backends only. How they relate to count
// (which --backends may set) is checked once, in make_plan.
void read_scaling_bounds(table_reader& t, backends_options& b, bool spawned) {
  t.read("min", b.min, 1, kMaxBackends);
  t.read("max", b.max, 1, kMaxBackends);
  const toml::node* min = t.find("min");
  const toml::node* max = t.find("max");
  if (min == nullptr && max == nullptr) return;
  if (!spawned) {
    t.fail(min != nullptr ? *min : *max, min != nullptr ? "min" : "max",
           "applies to backends Pinwheel spawns (command), not to servers it does not start");
  }
  if (min == nullptr) t.fail(*max, "max", "needs min too: auto-scaling runs between min and max");
  if (max == nullptr) t.fail(*min, "min", "needs max too: auto-scaling runs between min and max");
  if (b.max < b.min) {
    t.fail(*max, "max",
           std::to_string(b.max) + " is below min (" + std::to_string(b.min) +
               "); give max >= min (max = min fixes the count)");
  }
  if (const toml::node* weights = t.find("weights"); weights != nullptr && b.max > b.min) {
    t.fail(*weights, "weights",
           "cannot be combined with min and max: auto-scaled backends come and go, and each is "
           "given weight 1");
  }
}

void read_backends(table_reader& t, backends_options& b, const std::string& path) {
  t.read("count", b.count, 0, kMaxBackends);
  bool has_command = false;
  b.command = t.read_strings("command", has_command);
  const toml::array* servers =
      t.typed<toml::array>("servers", "an array of \"host:port\" strings or server tables");
  std::string host = b.host.to_string();
  t.read("host", host);
  if (const toml::node* node = t.find("host")) {
    std::string error;
    auto address = parse_host(host, error);
    if (!address) t.fail(*node, "host", error);
    b.host = *address;
  }
  t.read("base_port", b.base_port, 0, 65535);
  b.cpus = t.read_ints("cpus");
  b.weights = t.read_weights("weights");
  t.read("slow_start", b.slow_start, 0ms);
  t.read("restart_delay", b.restart_delay, 0ms);
  t.read("restart_delay_max", b.restart_delay_max, 0ms);
  t.read("min_uptime", b.min_uptime, 0ms);
  t.read("max_restarts", b.max_restarts, 0, 1'000'000);
  t.read("stop_timeout", b.stop_timeout, 0ms);
  read_send_proxy(t, b);
  read_readiness(t, b);
  t.read("watchdog", b.watchdog, 0ms);
  t.read("socket_activation", b.socket_activation);
  read_backend_privileges(t, b, servers != nullptr);

  if (servers != nullptr) {
    const toml::node* node = t.find("servers");
    if (has_command || t.find("count") || t.find("base_port") || t.find("cpus") ||
        t.find("weights")) {
      t.fail(*node, "servers",
             "servers (backends Pinwheel does not spawn) cannot be combined with command, count, "
             "base_port, cpus or weights (give a server its weight in its table); keep one or "
             "the other");
    }
    // Only a process Pinwheel starts is given NOTIFY_SOCKET.
    for (const char* key : {"readiness", "watchdog", "socket_activation"}) {
      if (const toml::node* set = t.find(key)) {
        t.fail(*set, key,
               "applies to backends Pinwheel spawns (command), not to servers it does not start");
      }
    }
    if (servers->empty()) t.fail(*node, "servers", "is empty; list at least one \"host:port\"");
    read_scaling_bounds(t, b, false);
    std::set<std::string> names;
    for (std::size_t i = 0; i < servers->size(); ++i) {
      const toml::node& element = *servers->get(i);
      server_options server = read_server(t, element);
      std::string name = server.name.empty() ? std::to_string(i) : server.name;
      if (!names.insert(name).second) {
        t.fail(element, "servers",
               "name " + in_quotes(name) +
                   " is taken by an earlier server (unnamed servers are named by position); "
                   "give each server its own name");
      }
      t.record("servers[" + std::to_string(i) + "]", element);
      b.servers.push_back(std::move(server));
    }
  } else {
    const toml::node* node = t.find("command");
    if (node == nullptr) {
      throw config_error(
          path +
          ": [backends] needs either command = [\"program\", \"--port\", \"{port}\"] "
          "(backends Pinwheel spawns) or servers = [\"host:port\", ...]");
    }
    if (b.command.empty()) t.fail(*node, "command", "is empty; give the program and its arguments");
    for (const std::string& arg : b.command) {
      for (std::size_t open = arg.find('{'); open != std::string::npos;
           open = arg.find('{', open + 1)) {
        std::size_t close = arg.find('}', open);
        std::string name =
            arg.substr(open, close == std::string::npos ? std::string::npos : close - open + 1);
        if (name != "{port}" && name != "{index}" && name != "{cpu}") {
          t.fail(*node, "command",
                 "unknown placeholder " + in_quotes(name) + " in " + in_quotes(arg) +
                     "; use {port}, {index} or {cpu}");
        }
      }
    }
    auto resolved = resolve_program(b.command[0], path);
    if (!resolved) {
      t.fail(
          *node, "command",
          in_quotes(b.command[0]) + " was not found or is not executable" +
              (b.command[0].find('/') != std::string::npos
                   ? " (relative paths are resolved from the config file's folder; build it first?)"
                   : " (searched PATH)"));
    }
    if (std::string problem = interpreter_problem(*resolved); !problem.empty())
      t.fail(*node, "command", problem);
    b.command[0] = *resolved;
  }
  if (servers == nullptr) read_scaling_bounds(t, b, true);
  if (b.restart_delay_max < b.restart_delay) {
    const toml::node* node = t.find("restart_delay_max");
    if (node == nullptr) node = t.find("restart_delay");
    t.fail(*node, "restart_delay_max",
           "must not be shorter than restart_delay (" + format_duration(b.restart_delay) + ")");
  }
  t.reject_unknown();
}

// A relative admin socket path is taken from the config file's folder.
std::string socket_beside(const std::string& socket, const std::string& config_path) {
  if (socket.empty() || socket.front() == '/') return socket;
  std::size_t slash = config_path.rfind('/');
  return slash == std::string::npos ? socket : config_path.substr(0, slash + 1) + socket;
}

// socket = "PATH" (relative to the config file's folder), timeout = "5s".
void read_admin(table_reader& t, admin_options& a, const std::string& path) {
  t.read("socket", a.socket);
  if (const toml::node* node = t.find("socket")) {
    if (a.socket.empty())
      t.fail(*node, "socket", "is empty; give a path such as \"/run/pinwheel.sock\"");
    a.socket = socket_beside(a.socket, path);
    // sockaddr_un holds 107 characters and a terminating zero.
    if (a.socket.size() > 107)
      t.fail(*node, "socket",
             "path is " + std::to_string(a.socket.size()) +
                 " characters long; a Unix socket path holds at most 107");
  }
  t.read("timeout", a.timeout, 1ms);
  t.reject_unknown();
}

// How a message names a byte that has no business in a request path.
std::string character_name(unsigned char c) {
  switch (c) {
    case '\r':
      return "a carriage return";
    case '\n':
      return "a line feed";
    case '\t':
      return "a tab";
    case ' ':
      return "a space";
  }
  char hex[5];
  std::snprintf(hex, sizeof hex, "0x%02x", c);
  return std::string(c < 0x80 ? "a control character (" : "a non-ASCII byte (") + hex + ")";
}

void read_health(table_reader& t, health_options& h) {
  std::string kind = to_string(h.kind);
  t.read("kind", kind);
  if (kind == "tcp")
    h.kind = health_kind::tcp;
  else if (kind == "http")
    h.kind = health_kind::http;
  else if (kind == "none")
    h.kind = health_kind::none;
  else
    t.fail(*t.find("kind"), "kind",
           in_quotes(kind) + " is not a health check; use \"tcp\", \"http\" or \"none\"");
  t.read("path", h.path);
  if (const toml::node* node = t.find("path")) {
    if (h.path.empty() || h.path[0] != '/')
      t.fail(*node, "path", in_quotes(h.path) + " must start with '/'");
    // The path is spliced into the check's request line: a space or line break would end it.
    for (std::size_t i = 0; i < h.path.size(); ++i) {
      auto c = static_cast<unsigned char>(h.path[i]);
      if (c > 0x20 && c < 0x7f) continue;
      t.fail(*node, "path",
             in_quotes(h.path) + " has " + character_name(c) + " at character " +
                 std::to_string(i + 1) +
                 "; a request path cannot contain spaces or control characters (percent-encode "
                 "them, e.g. %20)");
    }
  }
  t.read("interval", h.interval, 10ms);
  t.read("timeout", h.timeout, 1ms);
  t.read("rise", h.rise, 1, 1000);
  t.read("fall", h.fall, 1, 1000);
  t.reject_unknown();
}

// [autoscale]: when [backends] min < max, how the count follows the load.
void read_autoscale(table_reader& t, autoscale_options& a) {
  t.read("interval", a.interval, 10ms);
  t.read("scale_up_cpu", a.scale_up_cpu, 0.01, 64);
  t.read("scale_down_cpu", a.scale_down_cpu, 0, 64);
  t.read("scale_up_queued", a.scale_up_queued, 0, 1'000'000);
  t.read("scale_up_after", a.scale_up_after, 0ms);
  t.read("scale_down_after", a.scale_down_after, 0ms);
  t.read("cooldown", a.cooldown, 0ms);
  if (a.scale_down_cpu >= a.scale_up_cpu) {
    const toml::node* node = t.find("scale_down_cpu");
    if (node == nullptr) node = t.find("scale_up_cpu");
    t.fail(*node, "scale_down_cpu",
           table_reader::format_number(a.scale_down_cpu) + " must be below scale_up_cpu (" +
               table_reader::format_number(a.scale_up_cpu) +
               "), or backends would be added and removed in turn");
  }
  t.reject_unknown();
}

void read_metrics(table_reader& t, metrics_options& m) {
  t.read("enabled", m.enabled);
  std::string listen;
  t.read("listen", listen);
  if (const toml::node* node = t.find("listen")) {
    std::string error;
    auto endpoint = parse_endpoint(listen, error);
    if (!endpoint) t.fail(*node, "listen", error);
    m.listen = *endpoint;
  }
  t.reject_unknown();
}

void read_access_log(table_reader& t, access_log_options& a, const std::string& config_path) {
  t.read("enabled", a.enabled);
  t.read("path", a.path);
  if (const toml::node* node = t.find("path"); node != nullptr && a.path.empty())
    t.fail(*node, "path", "is empty; give a file, \"stderr\" or \"stdout\"");
  // Like a backend's command: relative to the config file, not to wherever Pinwheel started.
  if (a.path != "stderr" && a.path != "stdout" && std::filesystem::path(a.path).is_relative())
    a.path = (std::filesystem::path(config_path).parent_path() / a.path).string();
  std::string format = a.format == access_log_format::json ? "json" : "text";
  t.read("format", format);
  if (format == "text")
    a.format = access_log_format::text;
  else if (format == "json")
    a.format = access_log_format::json;
  else
    t.fail(*t.find("format"), "format",
           in_quotes(format) + " is not a format; use \"text\" or \"json\"");
  t.reject_unknown();
}

// Flag values parsed by the same rules as the keys they override.
struct parsed_flags {
  std::optional<asio::ip::tcp::endpoint> listen;
  std::optional<int> backends;
  std::optional<std::string> strategy;
  std::optional<asio::ip::tcp::endpoint> metrics_listen;
};

// Checks every flag before the file is read, so a bad value is named whatever the file holds.
parsed_flags parse_flags(const overrides& flags) {
  parsed_flags parsed;
  if (flags.listen) {
    std::string error;
    parsed.listen = parse_endpoint(*flags.listen, error);
    if (!parsed.listen) throw config_error("--listen: " + error);
  }
  if (flags.metrics_listen) {
    std::string error;
    parsed.metrics_listen = parse_endpoint(*flags.metrics_listen, error);
    if (!parsed.metrics_listen) throw config_error("--metrics-listen: " + error);
  }
  if (flags.strategy) {
    if (!known_strategy(*flags.strategy)) {
      throw config_error("--strategy: " + in_quotes(*flags.strategy) + " is not a strategy; use " +
                         strategy_choices());
    }
    parsed.strategy = *flags.strategy;
  }
  if (flags.backends) {
    const std::string& text = *flags.backends;
    int count = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (text.empty() || end != text.data() + text.size() ||
        (ec != std::errc() && ec != std::errc::result_out_of_range)) {
      throw config_error("--backends: " + in_quotes(text) +
                         " is not a number; use 0 (one per core) to " +
                         std::to_string(kMaxBackends));
    }
    if (ec == std::errc::result_out_of_range || count < 0 || count > kMaxBackends) {
      throw config_error("--backends: " + text + " is out of range; use 0 (one per core) to " +
                         std::to_string(kMaxBackends));
    }
    parsed.backends = count;
  }
  return parsed;
}

void apply(const parsed_flags& flags, options& o) {
  if (flags.listen) {
    o.balancer.listen = *flags.listen;
    o.balancer.more_listen.clear();
    o.origin["balancer.listen"] = "--listen";
  }
  if (flags.metrics_listen) {
    o.metrics.listen = *flags.metrics_listen;
    o.origin["metrics.listen"] = "--metrics-listen";
  }
  if (flags.strategy) {
    o.balancer.strategy = *flags.strategy;
    o.origin["balancer.strategy"] = "--strategy";
  }
  if (flags.backends) {
    if (!o.backends.spawned()) {
      throw config_error(
          "--backends: the config lists [backends] servers, which Pinwheel does not spawn");
    }
    o.backends.count = *flags.backends;
    o.origin["backends.count"] = "--backends";
  }
}

// What kind of file `mode` is, for a message.
const char* file_kind(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a named pipe";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

// Reads the whole config; only regular files, so that /dev/zero or a FIFO cannot hang start-up.
std::string read_config_file(const std::string& path) {
  constexpr char kWhat[] = "; give the path of a TOML config file";
  if (path.empty()) throw config_error(std::string("--config: is empty") + kWhat);
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw config_error(path + ": cannot read the config file: " + std::strerror(errno));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_on_return{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0)
    throw config_error(path + ": cannot read the config file: " + std::strerror(errno));
  if (S_ISDIR(info.st_mode)) throw config_error(path + ": is a directory" + kWhat);
  if (!S_ISREG(info.st_mode)) {
    throw config_error(path + ": is not a regular file (" + file_kind(info.st_mode) + ")" + kWhat);
  }
  auto too_large = [&](const std::string& size) {
    return config_error(path + ": is " + size + " bytes; a config file may be at most " +
                        std::to_string(kMaxConfigBytes) + " bytes (" +
                        std::to_string(kMaxConfigBytes >> 20) + " MiB): is this the right file?");
  };
  if (static_cast<std::uint64_t>(info.st_size) > kMaxConfigBytes)
    throw too_large(std::to_string(info.st_size));
  // Read one byte past the cap: a file that grew, or one whose size stat does not know.
  std::string text(kMaxConfigBytes + 1, '\0');
  std::size_t length = 0;
  while (length < text.size()) {
    ssize_t n = ::read(fd, text.data() + length, text.size() - length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw config_error(path + ": cannot read the config file: " + std::strerror(errno));
    if (n == 0) break;
    length += static_cast<std::size_t>(n);
  }
  if (length > kMaxConfigBytes) throw too_large("over " + std::to_string(kMaxConfigBytes));
  text.resize(length);
  return text;
}

}  // namespace

options load_config_text(const std::string& text, const std::string& path, const overrides& flags) {
  parsed_flags parsed = parse_flags(flags);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw config_error(position(path, e.source()) +
                       ": invalid TOML: " + std::string(e.description()));
  }
  options o;
  o.config_path = path;
  table_reader top(&root, "top level", path, o);
  auto section = [&](std::string_view name) -> const toml::table* {
    const toml::node* node = top.find(name);
    if (node == nullptr) return nullptr;
    if (!node->is_table())
      top.fail(*node, name, "must be a table: write [" + std::string(name) + "]");
    return node->as_table();
  };
  const toml::table* balancer = section("balancer");
  const toml::table* backends = section("backends");
  const toml::table* health = section("health");
  const toml::table* metrics = section("metrics");
  const toml::table* access_log = section("access_log");
  const toml::table* limits = section("limits");
  const toml::table* admin = section("admin");
  const toml::table* autoscale = section("autoscale");
  top.reject_unknown();
  if (backends == nullptr) {
    throw config_error(
        path + ": missing [backends]: give command = [...] to spawn backends, or servers = [...]");
  }

  table_reader balancer_reader(balancer, "balancer", path, o);
  read_balancer(balancer_reader, o.balancer);
  table_reader backends_reader(backends, "backends", path, o);
  read_backends(backends_reader, o.backends, path);
  table_reader health_reader(health, "health", path, o);
  read_health(health_reader, o.health);
  table_reader metrics_reader(metrics, "metrics", path, o);
  read_metrics(metrics_reader, o.metrics);
  table_reader access_log_reader(access_log, "access_log", path, o);
  read_access_log(access_log_reader, o.access_log, path);
  table_reader limits_reader(limits, "limits", path, o);
  read_limits(limits_reader, o.limits);
  table_reader admin_reader(admin, "admin", path, o);
  read_admin(admin_reader, o.admin, path);
  table_reader autoscale_reader(autoscale, "autoscale", path, o);
  read_autoscale(autoscale_reader, o.autoscale);
  if (autoscale != nullptr && o.backends.min == 0) {
    throw config_error(position(path, root.get("autoscale")->source()) +
                       ": [autoscale] has no effect without [backends] min and max (auto-scaling "
                       "runs between them); add them or remove [autoscale]");
  }
  apply(parsed, o);
  // Direct mode's own default: the connection-counting default of proxy mode sees nothing there.
  if (o.balancer.mode == balancer_mode::direct && !o.origin.contains("balancer.strategy"))
    o.balancer.strategy = "least-busy";
  // Auto-scaling starts at min unless count (or --backends) says otherwise.
  if (o.backends.min > 0 && o.backends.count == 0) o.backends.count = o.backends.min;
  return o;
}

options load_config(const std::string& path, const overrides& flags) {
  parse_flags(flags);
  return load_config_text(read_config_file(path), path, flags);
}

std::string admin_socket_of(const std::string& path) {
  std::string text = read_config_file(path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw config_error(position(path, e.source()) +
                       ": invalid TOML: " + std::string(e.description()));
  }
  auto socket = root["admin"]["socket"].value<std::string>();
  return socket ? socket_beside(*socket, path) : std::string();
}

}  // namespace pinwheel
