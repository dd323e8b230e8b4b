#include "supervisor/output_forwarder.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace pinwheel {

namespace {
// A line longer than this is cut and forwarded in pieces rather than buffered without bound.
constexpr std::size_t kMaxLine = 8192;
}  // namespace

output_forwarder::output_forwarder(asio::io_context& io, int pipe_fd, log_sink& target,
                                   std::string prefix)
    : pipe_(io, pipe_fd), target_(target), prefix_(std::move(prefix)) {}

asio::awaitable<void> output_forwarder::run() {
  char chunk[4096];
  for (;;) {
    auto [ec, n] = co_await pipe_.async_read_some(
        asio::buffer(chunk), asio::experimental::as_tuple(asio::use_awaitable));
    if (n > 0) {
      partial_.append(chunk, n);
      std::size_t start = 0;
      for (std::size_t nl = partial_.find('\n'); nl != std::string::npos;
           nl = partial_.find('\n', start)) {
        emit(std::string_view(partial_).substr(start, nl - start));
        start = nl + 1;
      }
      partial_.erase(0, start);
      if (partial_.size() >= kMaxLine) {
        emit(partial_);
        partial_.clear();
      }
    }
    if (ec) break;
  }
  if (!partial_.empty()) emit(partial_);
  partial_.clear();
}

void output_forwarder::emit(std::string_view line) { target_.write_line({prefix_, line}); }

}  // namespace pinwheel
