#include "response_reader.hpp"

#include <algorithm>

namespace pinwheel::loadgen {

response_reader::response_reader(std::size_t body_limit) : body_limit_(body_limit) {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_body = &response_reader::on_body;
  settings_.on_message_complete = &response_reader::on_message_complete;
}

int response_reader::on_body(http_parser* p, const char* at, std::size_t length) {
  auto* self = static_cast<response_reader*>(p->data);
  const std::size_t room = self->body_limit_ - std::min(self->body_limit_, self->body_.size());
  self->body_.append(at, std::min(room, length));
  return 0;
}

int response_reader::on_message_complete(http_parser* p) {
  auto* self = static_cast<response_reader*>(p->data);
  self->complete_ = true;
  self->keep_alive_ = http_should_keep_alive(p) != 0;
  // Anything after the one response we asked for is not ours to read.
  http_parser_pause(p, 1);
  return 0;
}

response_reader::state response_reader::feed(const char* data, std::size_t size) {
  if (size > 0) started_ = true;
  if (complete_) return state::complete;
  http_parser_execute(&parser_, &settings_, data, size);
  if (complete_) return state::complete;
  if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK) return state::bad;
  return state::incomplete;
}

response_reader::state response_reader::finish() {
  if (complete_) return state::complete;
  if (!started_) return state::incomplete;
  http_parser_execute(&parser_, &settings_, nullptr, 0);
  if (complete_) {
    keep_alive_ = false;
    return state::complete;
  }
  return HTTP_PARSER_ERRNO(&parser_) != HPE_OK ? state::bad : state::incomplete;
}

}  // namespace pinwheel::loadgen
