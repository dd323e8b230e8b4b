#include "config/options.hpp"

namespace pinwheel {

std::string options::where(const std::string& key) const {
  auto it = origin.find(key);
  return it != origin.end() ? it->second : config_path;
}

std::string options::locate(const std::string& key) const {
  std::string place = where(key);
  if (place.starts_with("--")) return place;
  std::size_t dot = key.find('.');
  // "backends.servers[2]" is shown as its key, "servers"; the position says which element.
  std::string name = key.substr(dot + 1, key.find('[') - dot - 1);
  return place + ": [" + key.substr(0, dot) + "] " + name;
}

const char* to_string(balancer_mode mode) {
  return mode == balancer_mode::direct ? "direct" : "proxy";
}

const char* to_string(health_kind kind) {
  switch (kind) {
    case health_kind::none:
      return "none";
    case health_kind::tcp:
      return "tcp";
    case health_kind::http:
      return "http";
  }
  return "?";
}

const char* to_string(readiness_kind kind) {
  switch (kind) {
    case readiness_kind::health:
      return "health";
    case readiness_kind::notify:
      return "notify";
    case readiness_kind::both:
      return "both";
  }
  return "?";
}

}  // namespace pinwheel
