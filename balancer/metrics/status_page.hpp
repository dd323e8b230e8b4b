// The status page served at "/": one self-contained HTML document (no framework, nothing
// fetched from elsewhere) that polls /status.json every second and draws a table of backends
// and a chart of their open connections over the last five minutes (what the page has seen
// since it was opened, kept in the page).
#pragma once

#include <string_view>

namespace pinwheel {

/// The page, embedded in the binary.
std::string_view status_page_html();

}  // namespace pinwheel
