#include "proxy/access_log.hpp"

#include <unistd.h>

#include "log/log.hpp"
#include "proxy/access_log_line.hpp"

namespace pinwheel {

namespace {

std::unique_ptr<log_sink> open_sink(const std::string& path) {
  const std::string name = "the access log (" + path + ")";
  if (path == "stderr")
    return std::make_unique<log_sink>(STDERR_FILENO, name, access_log::kCapacity, &stderr_sink());
  if (path == "stdout")
    return std::make_unique<log_sink>(STDOUT_FILENO, name, access_log::kCapacity, &stderr_sink());
  return log_sink::open_file(path, name, stderr_sink(), access_log::kCapacity);
}

}  // namespace

access_log::access_log(const access_log_options& options)
    : format_(options.format), path_(options.path), sink_(open_sink(options.path)) {
  // A line per connection: waking the writer for each would cost the event loop a futex
  // system call per connection; a line may wait this long instead.
  sink_->batch_writes(kBatchDelay);
}

void access_log::write(const connection_record& record) {
  line_.clear();
  append_access_log_line(line_, record, std::chrono::system_clock::now(), format_);
  sink_->write_line({line_});
}

}  // namespace pinwheel
