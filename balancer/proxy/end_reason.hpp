// Why a proxied connection ended: one enum for the access log, the metrics and the tests.
#pragma once

namespace pinwheel {

enum class end_reason {
  client_close,     ///< both ways ended; the client sent its end of stream first
  backend_close,    ///< both ways ended; the backend sent its end of stream first
  client_reset,     ///< the client reset the connection (or a write to it failed)
  backend_reset,    ///< the backend reset the connection (or a write to it failed)
  idle_timeout,     ///< no byte moved either way for idle_timeout
  connect_failure,  ///< every backend tried refused or timed out
  no_backend,       ///< no backend was usable within connect_timeout
  local_error,      ///< the balancer itself ran out of descriptors, buffers or memory
  drain_cut,        ///< still open when drain_timeout ended
  admin,            ///< closed by an operator
};

/// "client close", "idle timeout", … as logs print it.
const char* to_string(end_reason reason);

/// "client_close", "idle_timeout", … as machine-read output (access log, metrics) spells it.
const char* to_label(end_reason reason);

}  // namespace pinwheel
