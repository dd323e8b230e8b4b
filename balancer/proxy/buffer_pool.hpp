// Relay buffers, lent only while bytes are in flight.
//
// An idle proxied connection holds no buffer: a session waits for readiness,
// then borrows one, and returns it as soon as the socket has nothing more to
// read. The pool keeps a few spare buffers so the busy path never allocates, and may cap the
// buffers lent at once (a memory budget): borrow() then returns an empty lease.
// Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace pinwheel {

class buffer_pool {
 public:
  /// A borrowed buffer; goes back to the pool when destroyed.
  class lease {
   public:
    lease() = default;
    lease(lease&& other) noexcept : pool_(other.pool_), data_(std::move(other.data_)) {}
    lease& operator=(lease&& other) noexcept;
    ~lease() { give_back(); }

    char* data() const { return data_.get(); }
    std::size_t size() const { return data_ ? pool_->buffer_size_ : 0; }
    explicit operator bool() const { return data_ != nullptr; }
    /// Returns the buffer to the pool now.
    void give_back();

   private:
    friend class buffer_pool;
    lease(buffer_pool* pool, std::unique_ptr<char[]> data) : pool_(pool), data_(std::move(data)) {}
    buffer_pool* pool_ = nullptr;
    std::unique_ptr<char[]> data_;
  };

  /// Buffers of `buffer_size` bytes; at most `max_spare` kept when not lent, and at most
  /// `max_lent` lent at once.
  explicit buffer_pool(std::size_t buffer_size, std::size_t max_spare = 256,
                       std::size_t max_lent = SIZE_MAX);

  /// A buffer, or an empty lease when `max_lent` are out already or memory ran out.
  lease borrow();
  /// Buffers lent right now.
  std::size_t lent() const { return lent_; }
  std::size_t buffer_size() const { return buffer_size_; }
  /// Buffers waiting in the pool (for tests and metrics).
  std::size_t spare() const { return spare_.size(); }

 private:
  std::size_t buffer_size_;
  std::size_t max_spare_;
  std::size_t max_lent_;
  std::size_t lent_ = 0;
  std::vector<std::unique_ptr<char[]>> spare_;
};

}  // namespace pinwheel
