#include "proxy/buffer_pool.hpp"

#include <new>

namespace pinwheel {

buffer_pool::buffer_pool(std::size_t buffer_size, std::size_t max_spare, std::size_t max_lent)
    : buffer_size_(buffer_size), max_spare_(max_spare), max_lent_(max_lent) {}

buffer_pool::lease buffer_pool::borrow() {
  if (lent_ >= max_lent_) return {};
  if (spare_.empty()) {
    // Out of memory is an answer, not an exception: the session resets its connection.
    std::unique_ptr<char[]> data(new (std::nothrow) char[buffer_size_]);
    if (!data) return {};
    ++lent_;
    return lease(this, std::move(data));
  }
  ++lent_;
  lease out(this, std::move(spare_.back()));
  spare_.pop_back();
  return out;
}

buffer_pool::lease& buffer_pool::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = other.pool_;
    data_ = std::move(other.data_);
  }
  return *this;
}

void buffer_pool::lease::give_back() {
  if (!data_) return;
  --pool_->lent_;
  if (pool_->spare_.size() < pool_->max_spare_) pool_->spare_.push_back(std::move(data_));
  data_.reset();
}

}  // namespace pinwheel
