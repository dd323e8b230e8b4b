// A private temporary folder for a test's files, removed with everything in it at scope exit.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace pinwheel::test {

class scratch_dir {
 public:
  scratch_dir() : path_(testing::TempDir() + "pinwheel-config-XXXXXX") {
    if (mkdtemp(path_.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  }
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  /// The folder, without a trailing slash.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace pinwheel::test
