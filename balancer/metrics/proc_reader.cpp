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

std::optional<double> read_cpu_seconds(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::string text = read_small_file("/proc/" + std::to_string(pid) + "/stat");
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
    std::string text = read_small_file("/proc/" + std::to_string(b.pid) + "/stat");
    if (!text.empty()) b.usage = parse_proc_stat(text, booted, ticks, page);
  }
  snapshot.self = read_own_process();
}

}  // namespace pinwheel
