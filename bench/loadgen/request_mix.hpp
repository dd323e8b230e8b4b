// A workload mix: weighted request classes, handed out in smooth weighted rotation.
//
// Spec: comma-separated items "WEIGHT:METHOD TARGET", e.g. "90:GET /fast,10:GET /slow?ms=200".
// The weight ("WEIGHT:") and the method (GET) may be left out. Rotation (nginx's smooth
// weighted round-robin) rather than chance: any window of sum-of-weights requests holds each
// class exactly its weight, so even a short run has the stated proportions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pinwheel::loadgen {

struct request_class {
  /// "METHOD TARGET", as results name the class.
  std::string name;
  std::uint32_t weight = 1;
  std::string method = "GET";
  /// Origin-form request target, starting with '/'.
  std::string target;
};

class request_mix {
 public:
  /// Parses a spec; throws std::invalid_argument naming the bad item and what is wrong.
  static request_mix parse(std::string_view spec);

  const std::vector<request_class>& classes() const { return classes_; }

  /// The class of the next request.
  std::size_t next();

 private:
  std::vector<request_class> classes_;
  std::vector<std::int64_t> current_;
};

}  // namespace pinwheel::loadgen
