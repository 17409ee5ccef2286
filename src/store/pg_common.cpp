#include "store/pg_common.h"

#include <stdexcept>

#include "core/job_state.h"

namespace jq::store {
namespace {

std::optional<int> StateNumber(std::string_view name) {
  for (int i = 1; i <= 6; ++i) {
    if (JobStatusName(static_cast<JobState>(i)) == name) return i;
  }
  if (name == "ONLINE") return static_cast<int>(WorkerState::kOnline);
  if (name == "OFFLINE") return static_cast<int>(WorkerState::kOffline);
  if (name == "DRAINING") return static_cast<int>(WorkerState::kDraining);
  return std::nullopt;
}

std::string Quote(std::string_view item) {
  std::string out = "\"";
  for (char c : item) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

std::string Sql(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '{') {
      out += text[i++];
      continue;
    }
    const std::size_t close = text.find('}', i);
    if (close == std::string_view::npos) throw std::logic_error("unclosed '{' in SQL");
    const std::string_view name = text.substr(i + 1, close - i - 1);
    const auto n = StateNumber(name);
    if (!n) throw std::logic_error("unknown state '" + std::string(name) + "' in SQL");
    out += std::to_string(*n);
    i = close + 1;
  }
  return out;
}

std::optional<TimePoint> OptTime(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return FromUs(f.as<std::int64_t>());
}

std::string Bytes(const pqxx::field& f) {
  if (f.is_null()) return {};
  return pqxx::binarystring(f).str();
}

std::string PgArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += Quote(items[i]);
  }
  return out + "}";
}

std::string PgArrayOpt(const std::vector<std::optional<std::string>>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += items[i] ? Quote(*items[i]) : "NULL";
  }
  return out + "}";
}

std::vector<std::string> ParsePgTextArray(const pqxx::field& f) {
  std::vector<std::string> out;
  if (f.is_null()) return out;
  auto parser = f.as_array();
  for (auto [juncture, value] = parser.get_next(); juncture != pqxx::array_parser::juncture::done;
       std::tie(juncture, value) = parser.get_next()) {
    if (juncture == pqxx::array_parser::juncture::string_value) out.push_back(value);
  }
  return out;
}

std::string Hex(const std::string& data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

}  // namespace jq::store
