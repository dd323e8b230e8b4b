#include "metrics/proc_reader.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace pinwheel {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "btime N" in /proc/stat: when the host booted, in unix seconds.
double boot_time() {
  std::istringstream in(read_file("/proc/stat"));
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double seconds = 0;
      in >> seconds;
      return seconds;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

}  // namespace

std::optional<process_usage> parse_proc_stat(std::string_view text, double boot_time,
                                             long ticks_per_second, long page_size) {
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  std::size_t close = text.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  std::size_t at = close + 1;
  while (at < text.size() && fields.size() < 22) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\n')) ++at;
    std::size_t end = text.find_first_of(" \n", at);
    if (end == std::string_view::npos) end = text.size();
    if (end > at) fields.push_back(text.substr(at, end - at));
    at = end;
  }
  if (fields.size() < 22) return std::nullopt;
  auto number = [](std::string_view f, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
    return ec == std::errc() && end == f.data() + f.size();
  };
  std::uint64_t utime = 0, stime = 0, start = 0, rss_pages = 0;
  // Fields 14, 15, 22 and 24 of proc(5).
  if (!number(fields[11], utime) || !number(fields[12], stime) || !number(fields[19], start) ||
      !number(fields[21], rss_pages)) {
    return std::nullopt;
  }
  process_usage usage;
  double ticks = static_cast<double>(ticks_per_second);
  usage.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  usage.resident_bytes = rss_pages * static_cast<std::uint64_t>(page_size);
  usage.start_time = boot_time + static_cast<double>(start) / ticks;
  return usage;
}

std::optional<process_usage> read_process_usage(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (text.empty()) return std::nullopt;
  return parse_proc_stat(text, boot_time(), ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE));
}

std::optional<double> read_cpu_seconds(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
  // Boot time only places the start time, which is not wanted here.
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  static const long page = ::sysconf(_SC_PAGESIZE);
  auto usage = parse_proc_stat(text, 0, ticks, page);
  if (!usage) return std::nullopt;
  return usage->cpu_seconds;
}

std::optional<own_process> read_own_process() {
  auto usage = read_process_usage(::getpid());
  if (!usage) return std::nullopt;
  own_process self;
  self.usage = *usage;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++self.open_fds;
    }
    ::closedir(dir);
    // The directory's own descriptor was counted.
    if (self.open_fds > 0) --self.open_fds;
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) self.max_fds = limit.rlim_cur;
  return self;
}

void add_process_usage(balancer_snapshot& snapshot) {
  double booted = boot_time();
  long ticks = ::sysconf(_SC_CLK_TCK);
  long page = ::sysconf(_SC_PAGESIZE);
  for (backend_snapshot& b : snapshot.backends) {
    if (b.pid <= 0) continue;
    std::string text = read_file("/proc/" + std::to_string(b.pid) + "/stat");
    if (!text.empty()) b.usage = parse_proc_stat(text, booted, ticks, page);
  }
  snapshot.self = read_own_process();
}

}  // namespace pinwheel
