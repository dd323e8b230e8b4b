#include "metrics/http_request.hpp"

namespace pinwheel {

namespace {

http_request_head refuse(int status, std::string why) {
  http_request_head head;
  head.error_status = status;
  head.error = std::move(why);
  return head;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == ':' || c == '(' || c == ')' || c == ',' || c == ';' ||
        c == '"' || c == '/' || c == '[' || c == ']' || c == '{' || c == '}')
      return false;
  }
  return true;
}

std::string_view next_line(std::string_view& rest) {
  std::size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

http_request_head parse_request_head(std::string_view text) {
  std::string_view rest = text;
  std::string_view line = next_line(rest);
  std::size_t first = line.find(' ');
  std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos)
    return refuse(400, "the request line must be: METHOD /path HTTP/1.1");
  std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, second - first - 1);
  std::string_view version = line.substr(second + 1);
  if (!is_token(method)) return refuse(400, "the method is not a token");
  if (target.empty() || target[0] != '/') return refuse(400, "the target must start with '/'");
  for (char c : target) {
    if (c <= 0x20 || c >= 0x7f) return refuse(400, "the target holds a control character");
  }
  if (!version.starts_with("HTTP/")) return refuse(400, "not an HTTP request line");
  if (version != "HTTP/1.0" && version != "HTTP/1.1")
    return refuse(505, "only HTTP/1.0 and HTTP/1.1 are served");
  while (!rest.empty()) {
    std::string_view field = next_line(rest);
    if (field.empty()) break;
    std::size_t colon = field.find(':');
    if (colon == std::string_view::npos || !is_token(field.substr(0, colon)))
      return refuse(400, "a header line is not \"Name: value\"");
  }
  http_request_head head;
  head.method = std::string(method);
  head.path = std::string(target.substr(0, target.find('?')));
  return head;
}

}  // namespace pinwheel
