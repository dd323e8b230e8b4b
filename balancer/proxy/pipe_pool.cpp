#include "proxy/pipe_pool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <utility>

namespace pinwheel {

pipe_pool::pipe_pool(std::size_t pipe_size, std::size_t max_pipes, std::size_t max_spare)
    : pipe_size_(pipe_size), max_pipes_(max_pipes), max_spare_(max_spare) {}

pipe_pool::lease pipe_pool::borrow() {
  if (lent_ >= max_pipes_) return {};
  if (!spare_.empty()) {
    idle_pipe p = std::move(spare_.back());
    spare_.pop_back();
    ++lent_;
    return lease(this, std::move(p.output), std::move(p.input));
  }
  int ends[2];
  // Out of descriptors or pipe memory is an answer, not an error: the direction uses a buffer.
  if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0) return {};
  owned_fd output(ends[0]);
  owned_fd input(ends[1]);
  // Larger than the default 64 KiB: fewer system calls per byte. The kernel may refuse (a
  // user over fs.pipe-user-pages-soft gets a single page); that only makes splices shorter.
  ::fcntl(input.get(), F_SETPIPE_SZ, static_cast<int>(pipe_size_));
  ++lent_;
  return lease(this, std::move(output), std::move(input));
}

pipe_pool::lease::lease(lease&& other) noexcept
    : held(std::exchange(other.held, 0)),
      pool_(std::exchange(other.pool_, nullptr)),
      output_(std::move(other.output_)),
      input_(std::move(other.input_)) {}

pipe_pool::lease& pipe_pool::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    give_back();
    held = std::exchange(other.held, 0);
    pool_ = std::exchange(other.pool_, nullptr);
    output_ = std::move(other.output_);
    input_ = std::move(other.input_);
  }
  return *this;
}

void pipe_pool::lease::give_back() {
  if (pool_ == nullptr) return;
  pipe_pool& pool = *std::exchange(pool_, nullptr);
  --pool.lent_;
  // Bytes left in it belong to a stream that was cut: they die with the pipe.
  if (held == 0 && pool.spare_.size() < pool.max_spare_)
    pool.spare_.push_back({std::move(output_), std::move(input_)});
  output_.reset();
  input_.reset();
  held = 0;
}

}  // namespace pinwheel
