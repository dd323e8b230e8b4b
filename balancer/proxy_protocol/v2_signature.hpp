// The 12 bytes that open every v2 header; no v1 header or common protocol starts with them.
#pragma once

#include <array>

namespace pinwheel::proxy_protocol {

inline constexpr std::array<char, 12> kV2Signature = {'\r', '\n', '\r', '\n', '\0', '\r',
                                                      '\n', 'Q',  'U',  'I',  'T',  '\n'};

}  // namespace pinwheel::proxy_protocol
