#include "server/control_message.h"

#include <vector>

namespace jq::server {

std::string EncodeControl(const ControlMessage& m) {
  switch (m.kind) {
    case ControlMessage::Kind::kCancel: return "cancel " + m.job_id + " " + m.worker_id;
    case ControlMessage::Kind::kDrain: return "drain " + m.worker_id;
    case ControlMessage::Kind::kResume: return "resume " + m.worker_id;
    case ControlMessage::Kind::kShutdown: return "shutdown " + m.worker_id + (m.now ? " now" : "");
  }
  return {};
}

std::optional<ControlMessage> ParseControl(std::string_view payload) {
  std::vector<std::string> words;  // split on single spaces; an empty word is malformed
  for (std::size_t i = 0;;) {
    const std::size_t end = payload.find(' ', i);
    words.emplace_back(payload.substr(i, end == std::string_view::npos ? end : end - i));
    if (words.back().empty()) return std::nullopt;
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  if (words.size() == 3 && words[0] == "cancel") return ControlMessage::Cancel(words[1], words[2]);
  if (words.size() == 2 && words[0] == "drain") return ControlMessage::Drain(words[1]);
  if (words.size() == 2 && words[0] == "resume") return ControlMessage::Resume(words[1]);
  if (words.size() == 2 && words[0] == "shutdown") return ControlMessage::Shutdown(words[1]);
  if (words.size() == 3 && words[0] == "shutdown" && words[2] == "now") {
    return ControlMessage::Shutdown(words[1], /*now=*/true);
  }
  return std::nullopt;
}

}  // namespace jq::server
