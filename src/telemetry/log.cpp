#include "telemetry/log.h"

#include "core/utf8.h"
#include "telemetry/log_context.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace jq::telemetry {
namespace {

// %* in the pattern: the message, escaped so that the line stays valid JSON.
class EscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string escaped = JsonEscape(std::string(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return spdlog::details::make_unique<EscapedMessage>();
  }
};

// %J in the pattern: the thread's log context as extra JSON fields (only those set).
class ContextFields final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const LogContext& c = CurrentLogContext();
    const std::pair<const char*, const std::string*> fields[] = {{"request_id", &c.request_id},
                                                                 {"trace_id", &c.trace_id},
                                                                 {"job_id", &c.job_id},
                                                                 {"worker_id", &c.worker_id},
                                                                 {"queue", &c.queue}};
    for (const auto& [name, value] : fields) {
      if (value->empty()) continue;
      const std::string field = std::string(",\"") + name + "\":\"" + JsonEscape(*value) + "\"";
      dest.append(field.data(), field.data() + field.size());
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return spdlog::details::make_unique<ContextFields>();
  }
};

}  // namespace

std::string JsonEscape(const std::string& s) {
  // Bytes that are not UTF-8 (a stderr tail, text cut to a length inside a character) would
  // make the line invalid JSON, which strict log shippers drop: they become U+FFFD.
  const std::string text = ToValidUtf8(s);
  std::string out;
  out.reserve(text.size() + 8);
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

void InitLogging(const std::string& service, const std::string& level) {
  auto logger = spdlog::stdout_logger_mt("jq");
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<EscapedMessage>('*').add_flag<ContextFields>('J').set_pattern(
      R"({"timestamp":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","service":")" + JsonEscape(service) +
      R"(","message":"%*"%J})");
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace jq::telemetry
