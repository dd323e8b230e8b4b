#include "proxy/end_reason.hpp"

namespace pinwheel {

const char* to_string(end_reason reason) {
  switch (reason) {
    case end_reason::client_close:
      return "client close";
    case end_reason::backend_close:
      return "backend close";
    case end_reason::client_reset:
      return "client reset";
    case end_reason::backend_reset:
      return "backend reset";
    case end_reason::idle_timeout:
      return "idle timeout";
    case end_reason::connect_failure:
      return "connect failure";
    case end_reason::no_backend:
      return "no backend";
    case end_reason::local_error:
      return "local error";
    case end_reason::drain_cut:
      return "drain cut";
    case end_reason::admin:
      return "admin";
    case end_reason::per_client_connections:
      return "per-client connections";
    case end_reason::per_client_rate:
      return "per-client rate";
    case end_reason::proxy_header:
      return "bad proxy header";
    case end_reason::proxy_header_timeout:
      return "proxy header timeout";
    case end_reason::proxy_header_untrusted:
      return "untrusted proxy header";
  }
  return "?";
}

bool is_rejection(end_reason reason) { return reason >= end_reason::per_client_connections; }

const char* to_label(end_reason reason) {
  switch (reason) {
    case end_reason::client_close:
      return "client_close";
    case end_reason::backend_close:
      return "backend_close";
    case end_reason::client_reset:
      return "client_reset";
    case end_reason::backend_reset:
      return "backend_reset";
    case end_reason::idle_timeout:
      return "idle_timeout";
    case end_reason::connect_failure:
      return "connect_failure";
    case end_reason::no_backend:
      return "no_backend";
    case end_reason::local_error:
      return "local_error";
    case end_reason::drain_cut:
      return "drain_cut";
    case end_reason::admin:
      return "admin";
    case end_reason::per_client_connections:
      return "per_client_connections";
    case end_reason::per_client_rate:
      return "per_client_rate";
    case end_reason::proxy_header:
      return "proxy_header";
    case end_reason::proxy_header_timeout:
      return "proxy_header_timeout";
    case end_reason::proxy_header_untrusted:
      return "proxy_header_untrusted";
  }
  return "unknown";
}

}  // namespace pinwheel
