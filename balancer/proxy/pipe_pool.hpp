// Pipes for splice(2), lent to directions that turned bulk.
//
// A spliced direction moves bytes socket → pipe → socket inside the kernel: the pages the
// sender's socket holds are passed on by reference, never copied into the balancer and out
// again (HAProxy's splice). Each pipe costs two descriptors and, while it holds bytes, the
// kernel pages they sit in (a slot per page, 64 slots in a 256 KiB pipe, a slot's page
// possibly larger than its bytes), so the pool is capped: with none left (or the kernel
// refusing one), a direction relays through a buffer as before.
//
// A lease counts the bytes its pipe holds. Only an empty pipe goes back for another
// connection; one given back holding bytes is closed, so a stream's bytes can never leak
// into another's. Single-threaded.
#pragma once

#include <cstddef>
#include <vector>

#include "common/owned_fd.hpp"

namespace pinwheel {

class pipe_pool {
 public:
  /// A borrowed pipe; goes back to the pool (or is closed, if it holds bytes) when destroyed.
  class lease {
   public:
    lease() = default;
    lease(lease&& other) noexcept;
    lease& operator=(lease&& other) noexcept;
    ~lease() { give_back(); }

    explicit operator bool() const { return pool_ != nullptr; }
    /// The end bytes are spliced into, and the end they are spliced out of.
    int input() const { return input_.get(); }
    int output() const { return output_.get(); }
    /// Bytes in the pipe now: the caller adds what it spliced in and takes off what went out.
    std::size_t held = 0;
    /// Returns the pipe to the pool now (closes it if it still holds bytes).
    void give_back();

   private:
    friend class pipe_pool;
    lease(pipe_pool* pool, owned_fd output, owned_fd input)
        : pool_(pool), output_(std::move(output)), input_(std::move(input)) {}
    pipe_pool* pool_ = nullptr;
    owned_fd output_;  // the read end
    owned_fd input_;   // the write end
  };

  /// Pipes of `pipe_size` bytes (as far as the kernel grants it), at most `max_pipes` open at
  /// once (0: splicing is off), at most `max_spare` of them kept when not lent.
  pipe_pool(std::size_t pipe_size, std::size_t max_pipes, std::size_t max_spare = 16);

  /// A pipe, or an empty lease when `max_pipes` are out already or the kernel refused one.
  lease borrow();
  /// Pipes open now, lent or spare (each holds two descriptors).
  std::size_t open() const { return lent_ + spare_.size(); }
  std::size_t lent() const { return lent_; }
  std::size_t spare() const { return spare_.size(); }
  std::size_t max_pipes() const { return max_pipes_; }
  /// Bytes asked of each pipe, and of each splice into one.
  std::size_t pipe_size() const { return pipe_size_; }

 private:
  struct idle_pipe {
    owned_fd output;
    owned_fd input;
  };
  std::size_t pipe_size_;
  std::size_t max_pipes_;
  std::size_t max_spare_;
  std::size_t lent_ = 0;
  std::vector<idle_pipe> spare_;
};

}  // namespace pinwheel
