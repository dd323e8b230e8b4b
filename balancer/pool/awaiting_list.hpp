// The connections of one backend that await a response: client bytes went to the backend and
// nothing came back since. An intrusive list in the order they started waiting, so the count
// and the oldest are O(1) and joining or leaving costs a few pointer writes — no allocation,
// no system call on the data path (least-pending reads it). The times it keeps are the
// pool's clock readings, taken by the pool.
//
// Each connection owns its awaiting_link; it must leave the list before it is destroyed.
// Single-threaded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace pinwheel {

/// One connection's place in its backend's awaiting_list.
struct awaiting_link {
  awaiting_link* prev = nullptr;
  awaiting_link* next = nullptr;
  /// When it started waiting, in the pool's order of requests sent (1, 2, …); 0: not waiting.
  std::uint64_t since = 0;
  /// When it started waiting, by the pool's clock.
  std::chrono::steady_clock::time_point sent_at{};

  bool linked() const { return since != 0; }
};

class awaiting_list {
 public:
  awaiting_list() = default;
  // Links point into the list: it never moves while it holds any.
  awaiting_list(awaiting_list&& other) noexcept = default;
  awaiting_list& operator=(awaiting_list&&) noexcept = default;

  using time_point = std::chrono::steady_clock::time_point;

  /// Appends `link` (not linked) as the newest, waiting since `since` (above 0), sent at
  /// `sent_at`.
  void push_back(awaiting_link& link, std::uint64_t since, time_point sent_at) {
    link.since = since;
    link.sent_at = sent_at;
    link.prev = tail_;
    link.next = nullptr;
    (tail_ ? tail_->next : head_) = &link;
    tail_ = &link;
    ++size_;
  }

  /// Removes `link` (linked here).
  void remove(awaiting_link& link) {
    (link.prev ? link.prev->next : head_) = link.next;
    (link.next ? link.next->prev : tail_) = link.prev;
    link = {};
    --size_;
  }

  /// Connections awaiting a response.
  std::size_t size() const { return size_; }
  /// The one waiting longest, or nullptr.
  const awaiting_link* oldest() const { return head_; }

  /// When the backend last answered on any connection (the epoch if never).
  time_point last_answer() const { return last_answer_; }
  void set_last_answer(time_point t) { last_answer_ = t; }
  /// Since when the backend may have been working on `link`'s request: a single-threaded
  /// backend starts on it once it was sent and the answer before it left.
  time_point work_began(const awaiting_link& link) const {
    return link.sent_at > last_answer_ ? link.sent_at : last_answer_;
  }

 private:
  awaiting_link* head_ = nullptr;
  awaiting_link* tail_ = nullptr;
  std::size_t size_ = 0;
  time_point last_answer_{};
};

}  // namespace pinwheel
