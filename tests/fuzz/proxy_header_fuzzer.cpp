// libFuzzer target for the PROXY protocol header parser (built with clang only, see
// tests/CMakeLists.txt). Run: build-fuzz/tests/proxy_header_fuzzer -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proxy_protocol/header_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pinwheel::proxy_protocol;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  parse_result r = parse_header(bytes);
  if (r.what == parse_result::status::complete && (r.consumed == 0 || r.consumed > size))
    std::abort();
  if (r.what == parse_result::status::invalid && r.error.empty()) std::abort();
  return 0;
}
