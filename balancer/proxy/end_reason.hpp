// Why a proxied connection ended: one enum for the access log, the metrics and the tests.
#pragma once

namespace pinwheel {

enum class end_reason {
  client_close,            ///< both ways ended; the client sent its end of stream first
  backend_close,           ///< both ways ended; the backend sent its end of stream first
  client_reset,            ///< the client reset the connection (or a write to it failed)
  backend_reset,           ///< the backend reset the connection (or a write to it failed)
  idle_timeout,            ///< no byte moved either way for idle_timeout
  connect_failure,         ///< every backend tried refused or timed out
  no_backend,              ///< no backend was usable within connect_timeout
  local_error,             ///< the balancer itself ran out of descriptors, buffers or memory
  drain_cut,               ///< still open when drain_timeout ended
  admin,                   ///< closed by an operator
  per_client_connections,  ///< refused: its client address had per_client_connections open
  per_client_rate,         ///< refused: its client address opened connections too fast
  proxy_header,            ///< a trusted peer's PROXY header was malformed or cut short
  proxy_header_timeout,    ///< a trusted peer's PROXY header did not arrive in time
  proxy_header_untrusted,  ///< a peer not in `trusted` sent a PROXY header
};

/// How many reasons there are (for tables indexed by end_reason).
inline constexpr int kEndReasonCount = static_cast<int>(end_reason::proxy_header_untrusted) + 1;

/// True for connections turned away before reaching a backend (limits, PROXY headers).
bool is_rejection(end_reason reason);

/// "client close", "idle timeout", … as logs print it.
const char* to_string(end_reason reason);

/// "client_close", "idle_timeout", … as machine-read output (access log, metrics) spells it.
const char* to_label(end_reason reason);

}  // namespace pinwheel
