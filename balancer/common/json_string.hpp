// A string as a JSON string literal, for the few hand-written JSON replies (status page, ctl,
// load reports): names, addresses and backends' own status lines may hold anything.
#pragma once

#include <string>
#include <string_view>

namespace pinwheel {

/// Appends `text` quoted (RFC 8259): `"` and `\` escaped, control characters as \n, \t, ...
/// or \u00XX. Other bytes pass through unchanged (UTF-8 stays UTF-8). Allocates only when
/// `out` must grow, so the access log can use it per connection.
void append_json_string(std::string& out, std::string_view text);

/// The same, as a new string.
std::string json_string(std::string_view text);

}  // namespace pinwheel
