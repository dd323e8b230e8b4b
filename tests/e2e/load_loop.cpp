#include "e2e/load_loop.hpp"

#include <stdexcept>

#include "support/http_client.hpp"

namespace pinwheel::test {

load_loop::load_loop(std::uint16_t port, int threads, std::string target)
    : port_(port), target_(std::move(target)) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { client(); });
}

load_loop::~load_loop() { stop(); }

void load_loop::stop() {
  stopping_ = true;
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void load_loop::client() {
  while (!stopping_) {
    auto started = clock::now();
    std::string failure;
    try {
      http_response r = http_get(port_, target_, std::chrono::seconds(5));
      if (r.status != 200) failure = "status " + std::to_string(r.status);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (failure.empty()) {
      ++succeeded_;
      continue;
    }
    ++failed_;
    std::lock_guard lock(mutex_);
    failures_.emplace_back(started, failure);
  }
}

std::uint64_t load_loop::failed_since(clock::time_point since) const {
  std::lock_guard lock(mutex_);
  std::uint64_t n = 0;
  for (const auto& [when, what] : failures_) n += when >= since;
  return n;
}

std::string load_loop::failures() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (std::size_t i = 0; i < failures_.size() && i < 5; ++i) out += failures_[i].second + "\n";
  return out;
}

std::string load_loop::summary() const {
  return std::to_string(succeeded() + failed()) + " requests, " + std::to_string(failed()) +
         " failed";
}

}  // namespace pinwheel::test
