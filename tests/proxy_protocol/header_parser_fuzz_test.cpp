// The parser over many random, mutated and truncated inputs, deterministically (a fixed seed),
// so every CI run exercises what the libFuzzer target (tests/fuzz) explores at length.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "proxy_protocol/header_encoder.hpp"
#include "proxy_protocol/header_parser.hpp"

namespace pinwheel::proxy_protocol {
namespace {

using status = parse_result::status;

// What must hold for any input: nothing read past it, a verdict that is consistent.
void check_invariants(std::string_view bytes) {
  auto r = parse_header(bytes);
  switch (r.what) {
    case status::complete:
      ASSERT_GT(r.consumed, 0u);
      ASSERT_LE(r.consumed, bytes.size());
      ASSERT_LE(r.consumed, kMaxV2Bytes);
      // Bytes after the header do not change the verdict.
      ASSERT_EQ(parse_header(bytes.substr(0, r.consumed)).what, status::complete);
      break;
    case status::incomplete:
      ASSERT_LT(bytes.size(), kMaxV2Bytes);
      break;
    case status::invalid:
      ASSERT_FALSE(r.error.empty());
      break;
  }
}

std::vector<std::string> seeds() {
  using asio::ip::make_address;
  asio::ip::tcp::endpoint a(make_address("192.0.2.7"), 51234), b(make_address("2001:db8::1"), 80);
  std::vector<std::string> out;
  for (version v : {version::v1, version::v2}) {
    for (auto [s, d] : {std::pair{a, a}, std::pair{b, b}, std::pair{a, b}}) {
      auto h = encode(v, s, d);
      out.emplace_back(h.bytes.data(), h.size);
    }
    auto l = encode_local(v);
    out.emplace_back(l.bytes.data(), l.size);
  }
  return out;
}

TEST(HeaderParserFuzz, RandomBytes) {
  std::mt19937 random(20261123);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(random() % 200, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    // Half of them start like a header, to get past the first check.
    if (i % 2 == 0)
      bytes.insert(0, i % 4 == 0 ? "PROXY " : std::string("\r\n\r\n\0\r\nQUIT\n", 12));
    check_invariants(bytes);
  }
}

TEST(HeaderParserFuzz, MutatedAndTruncatedValidHeaders) {
  std::mt19937 random(7);
  const std::string alphabet = "PROXY TCP46UNKOW0123456789abcdef:.\r\n \x00\x11\x21\xff";
  for (const std::string& seed : seeds()) {
    for (std::size_t n = 0; n <= seed.size(); ++n) check_invariants(seed.substr(0, n));
    for (int i = 0; i < 5000; ++i) {
      std::string bytes = seed;
      int edits = 1 + random() % 4;
      for (int e = 0; e < edits && !bytes.empty(); ++e) {
        std::size_t at = random() % bytes.size();
        switch (random() % 4) {
          case 0:  // flip a bit
            bytes[at] = static_cast<char>(bytes[at] ^ (1 << (random() % 8)));
            break;
          case 1:  // a byte from the header's own alphabet
            bytes[at] = alphabet[random() % alphabet.size()];
            break;
          case 2:  // drop one
            bytes.erase(at, 1);
            break;
          case 3:  // insert one
            bytes.insert(at, 1, alphabet[random() % alphabet.size()]);
            break;
        }
      }
      if (random() % 3 == 0) bytes.resize(random() % (bytes.size() + 1));
      check_invariants(bytes);
    }
  }
}

}  // namespace
}  // namespace pinwheel::proxy_protocol
