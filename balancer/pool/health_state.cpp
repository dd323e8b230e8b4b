#include "pool/health_state.hpp"

namespace pinwheel {

health_state::health_state(int rise, int fall, bool initially_up)
    : rise_(rise), fall_(fall), status_(initially_up ? status::up : status::starting) {}

bool health_state::change_to(status next, clock::time_point now) {
  bool was_up = up();
  status_ = next;
  streak_ = 0;
  since_ = now;
  return was_up != up();
}

bool health_state::record(bool success, clock::time_point now) {
  switch (status_) {
    case status::starting:
      return success ? change_to(status::up, now) : false;
    case status::up:
      if (success) {
        streak_ = 0;
        return false;
      }
      return ++streak_ >= fall_ ? change_to(status::down, now) : false;
    case status::down:
      if (!success) {
        streak_ = 0;
        return false;
      }
      return ++streak_ >= rise_ ? change_to(status::up, now) : false;
  }
  return false;
}

bool health_state::restart(clock::time_point now) { return change_to(status::starting, now); }

const char* to_string(health_state::status status) {
  switch (status) {
    case health_state::status::starting:
      return "starting";
    case health_state::status::up:
      return "up";
    case health_state::status::down:
      return "down";
  }
  return "?";
}

}  // namespace pinwheel
