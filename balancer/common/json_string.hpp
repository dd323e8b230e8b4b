// A string as a JSON string literal, for the few hand-written JSON replies (status page, ctl,
// load reports): names, addresses and backends' own status lines may hold anything.
#pragma once

#include <string>
#include <string_view>

namespace pinwheel {

/// `text` quoted, with `"` and `\` escaped and control characters as \u00XX. Other bytes pass
/// through unchanged (UTF-8 stays UTF-8).
std::string json_string(std::string_view text);

}  // namespace pinwheel
