#include "admin/admin_request.hpp"

#include <vector>

namespace pinwheel {

namespace {

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while (at < line.size()) {
    std::size_t start = line.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    std::size_t end = line.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = line.size();
    words.push_back(line.substr(start, end - start));
    at = end;
  }
  return words;
}

bool printable(std::string_view line) {
  for (unsigned char c : line) {
    if (c != '\t' && (c < 0x20 || c >= 0x7f)) return false;
  }
  return true;
}

}  // namespace

const char* admin_usage() {
  return "status [--json], drain NAME, disable NAME, enable NAME, restart NAME, restart-all, "
         "strategy NAME, reload";
}

std::optional<admin_request> parse_admin_request(std::string_view line, std::string& error) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxAdminLine) {
    error = "line too long (over " + std::to_string(kMaxAdminLine) + " bytes)";
    return std::nullopt;
  }
  if (!printable(line)) {
    error = "the line has control or non-ASCII bytes; send one command as text";
    return std::nullopt;
  }
  std::vector<std::string_view> words = split_words(line);
  if (words.empty()) {
    error = std::string("empty command; use ") + admin_usage();
    return std::nullopt;
  }
  admin_request request;
  request.verb = std::string(words[0]);
  const std::string& verb = request.verb;
  bool takes_name = verb == "drain" || verb == "disable" || verb == "enable" || verb == "restart" ||
                    verb == "strategy";
  bool bare = verb == "restart-all" || verb == "reload";
  if (verb == "status") {
    if (words.size() == 2 && words[1] == "--json") {
      request.json = true;
    } else if (words.size() != 1) {
      error = "status takes no argument but --json";
      return std::nullopt;
    }
  } else if (takes_name) {
    if (words.size() != 2) {
      error = verb + " takes one argument: " +
              (verb == "strategy" ? "a strategy name" : "a backend's name or index");
      return std::nullopt;
    }
    request.argument = std::string(words[1]);
  } else if (bare) {
    if (words.size() != 1) {
      error = verb + " takes no argument";
      return std::nullopt;
    }
  } else {
    std::string shown(verb.substr(0, 40));
    error = "unknown command \"" + shown + (verb.size() > 40 ? "...\"" : "\"") + "; use " +
            admin_usage();
    return std::nullopt;
  }
  return request;
}

}  // namespace pinwheel
