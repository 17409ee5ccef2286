#include "ctl/output.h"

#include <google/protobuf/util/time_util.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/job_state.h"

namespace jq::ctl {
namespace {

// Keeps fields in proto order rather than sorted.
using Json = nlohmann::ordered_json;

std::string OrDash(std::string s) {
  return s.empty() ? "-" : s;
}

std::string JobStatusText(int status) {
  return std::string(JobStatusName(static_cast<JobState>(status)));
}

std::string WorkerStatusText(jq::WorkerStatus status) {
  switch (status) {
    case jq::ONLINE: return "ONLINE";
    case jq::OFFLINE: return "OFFLINE";
    case jq::DRAINING: return "DRAINING";
    default: return "UNSPECIFIED";
  }
}

std::string YesNo(bool b) {
  return b ? "yes" : "no";
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Seconds(int s) {
  return s == 0 ? "-" : std::to_string(s) + "s";
}

Json TimeJson(const google::protobuf::Timestamp& ts) {
  std::string s = FormatTime(ts);
  return s.empty() ? Json(nullptr) : Json(s);
}

std::size_t CodePoints(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string PadRight(std::string s, std::size_t width) {
  std::size_t n = CodePoints(s);
  if (n < width) s.append(width - n, ' ');
  return s;
}

// ---- JSON documents -------------------------------------------------------------------------

Json ToJson(const jq::Job& j) {
  Json o;
  o["job_id"] = j.job_id();
  o["queue_name"] = j.queue_name();
  o["payload"] = BytesToText(j.payload());
  o["priority"] = j.priority();
  o["status"] = JobStatusText(j.status());
  o["max_retries"] = j.max_retries();
  o["retry_count"] = j.retry_count();
  o["created_at"] = TimeJson(j.created_at());
  o["started_at"] = TimeJson(j.started_at());
  o["completed_at"] = TimeJson(j.completed_at());
  o["worker_id"] = j.worker_id();
  o["result"] = BytesToText(j.result());
  o["not_before"] = TimeJson(j.not_before());
  o["error_message"] = j.error_message();
  o["ttl_seconds"] = j.ttl_seconds();
  o["timeout_seconds"] = j.timeout_seconds();
  o["idempotency_key"] = j.idempotency_key();
  o["tenant"] = j.tenant();
  o["attempt"] = j.attempt();
  o["updated_at"] = TimeJson(j.updated_at());
  return o;
}

Json ToJson(const jq::JobEvent& e) {
  Json o;
  o["id"] = e.id();
  o["job_id"] = e.job_id();
  o["from_status"] = JobStatusText(e.from_status());
  o["to_status"] = JobStatusText(e.to_status());
  o["worker_id"] = e.worker_id();
  o["reason"] = e.reason();
  o["occurred_at"] = TimeJson(e.occurred_at());
  o["attempt"] = e.attempt();
  o["queue_name"] = e.queue_name();
  o["tenant"] = e.tenant();
  return o;
}

Json ToJson(const jq::JobOutput& out) {
  Json o;
  o["attempt"] = out.attempt();
  o["worker_id"] = out.worker_id();
  o["exit_code"] = out.exit_code();
  o["recorded_at"] = TimeJson(out.recorded_at());
  o["stdout"] = BytesToText(out.stdout());
  o["stdout_truncated"] = out.stdout_truncated();
  o["stderr"] = BytesToText(out.stderr());
  o["stderr_truncated"] = out.stderr_truncated();
  return o;
}

Json ToJson(const jq::Queue& q) {
  Json o;
  o["name"] = q.name();
  o["max_retries"] = q.max_retries();
  o["ttl_seconds"] = q.ttl_seconds();
  o["created_at"] = TimeJson(q.created_at());
  o["timeout_seconds"] = q.timeout_seconds();
  o["concurrency_limit"] = q.concurrency_limit();
  o["paused"] = q.paused();
  o["backoff_base_ms"] = q.backoff_base_ms();
  o["backoff_max_ms"] = q.backoff_max_ms();
  return o;
}

Json ToJson(const jq::QueueStats& s) {
  Json o;
  o["queue_name"] = s.queue_name();
  o["pending_count"] = s.pending_count();
  o["assigned_count"] = s.assigned_count();
  o["running_count"] = s.running_count();
  o["failed_count"] = s.failed_count();
  o["done_count"] = s.done_count();
  o["dead_letter_count"] = s.dead_letter_count();
  o["total_processed"] = s.total_processed();
  o["avg_duration_ms"] = s.avg_duration_ms();
  o["error_rate"] = s.error_rate();
  o["oldest_pending_age_seconds"] = s.oldest_pending_age_seconds();
  o["paused"] = s.paused();
  return o;
}

Json ToJson(const jq::Worker& w) {
  Json o;
  o["worker_id"] = w.worker_id();
  o["hostname"] = w.hostname();
  o["status"] = WorkerStatusText(w.status());
  o["concurrency"] = w.concurrency();
  o["active_job_count"] = w.active_job_count();
  o["last_heartbeat"] = TimeJson(w.last_heartbeat());
  o["queues"] = Json::array();
  for (const auto& q : w.queues()) o["queues"].push_back(q);
  return o;
}

Json ToJson(const jq::ComponentStatus& c) {
  Json o;
  o["name"] = c.name();
  o["healthy"] = c.healthy();
  o["message"] = c.message();
  return o;
}

template <typename Repeated>
Json ArrayJson(const Repeated& items) {
  Json a = Json::array();
  for (const auto& item : items) a.push_back(ToJson(item));
  return a;
}

// ---- YAML ----------------------------------------------------------------------------------

// Plain scalars that a YAML reader would take for a number, bool or null must be quoted to stay
// strings.
bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  char c = s.front();
  if (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.') return true;
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  static const char* const kWords[] = {"true", "false", "yes", "no",   "on",
                                       "off",  "y",     "n",   "null", "~"};
  return std::any_of(std::begin(kWords), std::end(kWords),
                     [&](const char* w) { return lower == w; });
}

void EmitYaml(YAML::Emitter& e, const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
      e << YAML::BeginMap;
      for (const auto& [key, value] : j.items()) {
        e << YAML::Key << key << YAML::Value;
        EmitYaml(e, value);
      }
      e << YAML::EndMap;
      break;
    case Json::value_t::array:
      e << YAML::BeginSeq;
      for (const auto& value : j) EmitYaml(e, value);
      e << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (NeedsQuotes(s)) e << YAML::DoubleQuoted;
      e << s;
      break;
    }
    case Json::value_t::boolean: e << j.get<bool>(); break;
    case Json::value_t::number_integer: e << j.get<std::int64_t>(); break;
    case Json::value_t::number_unsigned: e << j.get<std::uint64_t>(); break;
    case Json::value_t::number_float: e << j.get<double>(); break;
    default: e << YAML::Null; break;
  }
}

std::string ToYaml(const Json& j) {
  YAML::Emitter e;
  e.SetDoublePrecision(15);
  EmitYaml(e, j);
  return std::string(e.c_str()) + "\n";
}

std::string Document(const Json& j, OutputFormat format) {
  if (format == OutputFormat::kYaml) return ToYaml(j);
  return j.dump(2) + "\n";
}

// ---- table helpers -------------------------------------------------------------------------

// "key:  value" lines with the values aligned; continuation lines of multi-line values are
// indented to the value column.
std::string KeyValues(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::size_t width = 0;
  for (const auto& [k, v] : kv) width = std::max(width, k.size() + 1);
  std::string out;
  for (const auto& [k, v] : kv) {
    out += PadRight(k + ":", width) + "  ";
    std::string value = v.empty() ? "-" : v;
    while (!value.empty() && value.back() == '\n') value.pop_back();
    for (char c : value) {
      out += c;
      if (c == '\n') out.append(width + 2, ' ');
    }
    out += "\n";
  }
  return out;
}

std::string Retries(int retry_count, int max_retries) {
  return std::to_string(retry_count) + "/" + std::to_string(max_retries);
}

std::string StatusCell(int status) {
  return status == 0 ? "-" : JobStatusText(status);
}

std::vector<std::string> EventRow(const jq::JobEvent& e) {
  return {OrDash(FormatTime(e.occurred_at())),
          StatusCell(e.from_status()),
          StatusCell(e.to_status()),
          OrDash(e.reason()),
          e.attempt() == 0 ? "-" : std::to_string(e.attempt()),
          OrDash(e.worker_id())};
}

const std::vector<std::string>& EventHeader() {
  static const std::vector<std::string> kHeader = {"OCCURRED_AT", "FROM",    "TO",
                                                   "REASON",      "ATTEMPT", "WORKER"};
  return kHeader;
}

std::vector<std::string> QueueStatsRow(const jq::QueueStats& s) {
  return {s.queue_name(),
          YesNo(s.paused()),
          std::to_string(s.pending_count()),
          std::to_string(s.assigned_count()),
          std::to_string(s.running_count()),
          std::to_string(s.done_count()),
          std::to_string(s.failed_count()),
          std::to_string(s.dead_letter_count()),
          std::to_string(s.total_processed()),
          Fixed(s.avg_duration_ms(), 1),
          Fixed(s.error_rate() * 100, 2) + "%",
          Fixed(s.oldest_pending_age_seconds(), 1) + "s"};
}

const std::vector<std::string>& QueueStatsHeader() {
  static const std::vector<std::string> kHeader = {
      "QUEUE",  "PAUSED", "PENDING",   "ASSIGNED", "RUNNING",    "DONE",
      "FAILED", "DEAD",   "PROCESSED", "AVG_MS",   "ERROR_RATE", "OLDEST_PENDING"};
  return kHeader;
}

}  // namespace

std::optional<OutputFormat> ParseOutputFormat(std::string_view name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "json") return OutputFormat::kJson;
  if (name == "yaml") return OutputFormat::kYaml;
  return std::nullopt;
}

std::string FormatTime(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "";
  std::time_t t = static_cast<std::time_t>(ts.seconds());
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::optional<google::protobuf::Timestamp> ParseTime(std::string_view text) {
  // Bring the accepted spellings to the strict RFC 3339 form protobuf parses:
  // "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)".
  if (text.size() < 19) return std::nullopt;
  std::string s(text);
  if (s[10] == ' ' || s[10] == 't') s[10] = 'T';
  if (s.back() == 'z') s.back() = 'Z';
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  if (i == s.size()) s += 'Z';
  google::protobuf::Timestamp ts;
  if (!google::protobuf::util::TimeUtil::FromString(s, &ts)) return std::nullopt;
  return ts;
}

bool IsPrintableUtf8(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    auto b = static_cast<unsigned char>(bytes[i]);
    std::uint32_t cp = 0;
    std::size_t len = 0;
    if (b < 0x80) {
      cp = b;
      len = 1;
    } else if ((b & 0xE0) == 0xC0) {
      cp = b & 0x1F;
      len = 2;
    } else if ((b & 0xF0) == 0xE0) {
      cp = b & 0x0F;
      len = 3;
    } else if ((b & 0xF8) == 0xF0) {
      cp = b & 0x07;
      len = 4;
    } else {
      return false;
    }
    if (i + len > bytes.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(bytes[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    bool control = cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
    if (control && cp != '\t' && cp != '\n' && cp != '\r') return false;
    i += len;
  }
  return true;
}

std::string BytesToText(std::string_view bytes) {
  if (IsPrintableUtf8(bytes)) return std::string(bytes);
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out = "base64:";
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                      (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Table::Table(std::vector<std::string> header) {
  rows_.push_back(std::move(header));
}

void Table::AddRow(std::vector<std::string> row) {
  for (auto& cell : row) {
    std::replace_if(
        cell.begin(), cell.end(),
        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }, ' ');
  }
  rows_.push_back(std::move(row));
}

std::string Table::Render() const {
  std::size_t columns = 0;
  for (const auto& row : rows_) columns = std::max(columns, row.size());
  std::vector<std::size_t> widths(columns, 0);
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], CodePoints(row[c]));
    }
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t c = 0; c < columns; ++c) {
      std::string cell = c < row.size() ? row[c] : "";
      if (c + 1 < columns) {
        line += PadRight(std::move(cell), widths[c]) + "  ";
      } else {
        line += cell;
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string RenderJob(const jq::Job& job, OutputFormat format) {
  if (format != OutputFormat::kTable) return Document(ToJson(job), format);
  return KeyValues({
      {"job_id", job.job_id()},
      {"queue_name", job.queue_name()},
      {"status", JobStatusText(job.status())},
      {"priority", std::to_string(job.priority())},
      {"retries", Retries(job.retry_count(), job.max_retries())},
      {"attempt", job.attempt() == 0 ? "" : std::to_string(job.attempt())},
      {"worker_id", job.worker_id()},
      {"tenant", job.tenant()},
      {"idempotency_key", job.idempotency_key()},
      {"ttl", Seconds(job.ttl_seconds())},
      {"timeout", Seconds(job.timeout_seconds())},
      {"created_at", FormatTime(job.created_at())},
      {"not_before", FormatTime(job.not_before())},
      {"started_at", FormatTime(job.started_at())},
      {"completed_at", FormatTime(job.completed_at())},
      {"updated_at", FormatTime(job.updated_at())},
      {"payload", BytesToText(job.payload())},
      {"result", BytesToText(job.result())},
      {"error_message", job.error_message()},
  });
}

std::string RenderJobList(const jq::ListJobsResponse& resp, OutputFormat format) {
  if (format != OutputFormat::kTable) {
    Json o;
    o["jobs"] = ArrayJson(resp.jobs());
    o["next_page_token"] = resp.next_page_token();
    return Document(o, format);
  }
  Table t({"JOB_ID", "QUEUE", "STATUS", "PRIORITY", "RETRIES", "CREATED_AT", "WORKER"});
  for (const auto& j : resp.jobs()) {
    t.AddRow({j.job_id(), j.queue_name(), JobStatusText(j.status()), std::to_string(j.priority()),
              Retries(j.retry_count(), j.max_retries()), OrDash(FormatTime(j.created_at())),
              OrDash(j.worker_id())});
  }
  std::string out = t.Render();
  if (!resp.next_page_token().empty()) out += "next_page_token: " + resp.next_page_token() + "\n";
  return out;
}

std::string RenderJobEvents(const jq::GetJobLogsResponse& resp, OutputFormat format) {
  if (format != OutputFormat::kTable) {
    Json o;
    o["events"] = ArrayJson(resp.events());
    return Document(o, format);
  }
  std::vector<std::string> header = {"ID"};
  header.insert(header.end(), EventHeader().begin(), EventHeader().end());
  Table t(std::move(header));
  for (const auto& e : resp.events()) {
    std::vector<std::string> row = {std::to_string(e.id())};
    auto rest = EventRow(e);
    row.insert(row.end(), rest.begin(), rest.end());
    t.AddRow(std::move(row));
  }
  return t.Render();
}

std::string RenderWatchEvent(const jq::JobEvent& event, OutputFormat format, bool first) {
  switch (format) {
    case OutputFormat::kJson: return ToJson(event).dump() + "\n";
    case OutputFormat::kYaml: return "---\n" + ToYaml(ToJson(event));
    case OutputFormat::kTable: break;
  }
  // The stream's rows cannot be measured in advance: fixed widths that fit the usual values.
  static constexpr std::size_t kWidths[] = {19, 13, 13, 20, 7};
  auto line = [](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      out += c + 1 < cells.size() ? PadRight(cells[c], kWidths[c]) + "  " : cells[c];
    }
    return out + "\n";
  };
  std::string out = first ? line(EventHeader()) : "";
  return out + line(EventRow(event));
}

std::string RenderJobOutputs(const jq::GetJobOutputResponse& resp, OutputFormat format) {
  if (format != OutputFormat::kTable) {
    Json o;
    o["outputs"] = ArrayJson(resp.outputs());
    return Document(o, format);
  }
  if (resp.outputs().empty()) return "(no output recorded)\n";
  std::string out;
  auto section = [&out](const char* name, const std::string& data, bool truncated) {
    out += std::string("--- ") + name + (truncated ? " (truncated: only the tail is kept)" : "") +
           " ---\n";
    std::string text = BytesToText(data);
    out += text;
    if (!text.empty() && text.back() != '\n') out += "\n";
  };
  for (const auto& o : resp.outputs()) {
    if (!out.empty()) out += "\n";
    out += "=== attempt " + std::to_string(o.attempt()) + "  worker " + OrDash(o.worker_id()) +
           "  exit_code " + std::to_string(o.exit_code()) + "  recorded_at " +
           OrDash(FormatTime(o.recorded_at())) + " ===\n";
    section("stdout", o.stdout(), o.stdout_truncated());
    section("stderr", o.stderr(), o.stderr_truncated());
  }
  return out;
}

std::string RenderSubmit(const jq::SubmitJobResponse& resp, OutputFormat format) {
  if (format == OutputFormat::kTable) return resp.job_id() + "\n";
  Json o;
  o["job_id"] = resp.job_id();
  o["duplicate"] = resp.duplicate();
  return Document(o, format);
}

std::string RenderWaitResult(const jq::SubmitJobResponse& resp, const jq::Job& job,
                             OutputFormat format) {
  if (format == OutputFormat::kTable) return JobStatusText(job.status()) + "\n";
  Json o;
  o["job_id"] = resp.job_id();
  o["duplicate"] = resp.duplicate();
  o["status"] = JobStatusText(job.status());
  o["job"] = ToJson(job);
  return Document(o, format);
}

std::string RenderJobId(std::string_view job_id, OutputFormat format) {
  if (format == OutputFormat::kTable) return std::string(job_id) + "\n";
  Json o;
  o["job_id"] = job_id;
  return Document(o, format);
}

std::string RenderQueue(const jq::Queue& q, OutputFormat format) {
  if (format != OutputFormat::kTable) return Document(ToJson(q), format);
  return KeyValues({
      {"name", q.name()},
      {"paused", YesNo(q.paused())},
      {"max_retries", std::to_string(q.max_retries())},
      {"ttl", Seconds(q.ttl_seconds())},
      {"timeout", Seconds(q.timeout_seconds())},
      {"concurrency_limit",
       q.concurrency_limit() == 0 ? "unlimited" : std::to_string(q.concurrency_limit())},
      {"backoff_base_ms", std::to_string(q.backoff_base_ms())},
      {"backoff_max_ms", std::to_string(q.backoff_max_ms())},
      {"created_at", FormatTime(q.created_at())},
  });
}

std::string RenderQueueList(const jq::ListQueuesResponse& resp, OutputFormat format) {
  if (format != OutputFormat::kTable) {
    Json o;
    o["queues"] = ArrayJson(resp.queues());
    return Document(o, format);
  }
  Table t({"NAME", "PAUSED", "MAX_RETRIES", "TTL", "TIMEOUT", "CONCURRENCY", "CREATED_AT"});
  for (const auto& q : resp.queues()) {
    t.AddRow({q.name(), YesNo(q.paused()), std::to_string(q.max_retries()),
              Seconds(q.ttl_seconds()), Seconds(q.timeout_seconds()),
              q.concurrency_limit() == 0 ? "unlimited" : std::to_string(q.concurrency_limit()),
              OrDash(FormatTime(q.created_at()))});
  }
  return t.Render();
}

std::string RenderQueueStats(const jq::QueueStats& s, OutputFormat format) {
  if (format != OutputFormat::kTable) return Document(ToJson(s), format);
  return KeyValues({
      {"queue_name", s.queue_name()},
      {"paused", YesNo(s.paused())},
      {"pending", std::to_string(s.pending_count())},
      {"assigned", std::to_string(s.assigned_count())},
      {"running", std::to_string(s.running_count())},
      {"done", std::to_string(s.done_count())},
      {"failed", std::to_string(s.failed_count())},
      {"dead_lettered", std::to_string(s.dead_letter_count())},
      {"total_processed", std::to_string(s.total_processed())},
      {"avg_duration", Fixed(s.avg_duration_ms(), 1) + " ms"},
      {"error_rate", Fixed(s.error_rate() * 100, 2) + "%"},
      {"oldest_pending_age", Fixed(s.oldest_pending_age_seconds(), 1) + " s"},
  });
}

std::string RenderWorkerList(const jq::ListWorkersResponse& resp, OutputFormat format) {
  if (format != OutputFormat::kTable) {
    Json o;
    o["workers"] = ArrayJson(resp.workers());
    return Document(o, format);
  }
  Table t({"WORKER_ID", "HOSTNAME", "STATUS", "CONCURRENCY", "ACTIVE", "LAST_HEARTBEAT", "QUEUES"});
  for (const auto& w : resp.workers()) {
    std::string queues;
    for (const auto& q : w.queues()) queues += (queues.empty() ? "" : ",") + q;
    t.AddRow({w.worker_id(), OrDash(w.hostname()), WorkerStatusText(w.status()),
              std::to_string(w.concurrency()), std::to_string(w.active_job_count()),
              OrDash(FormatTime(w.last_heartbeat())), queues.empty() ? "(all)" : queues});
  }
  return t.Render();
}

std::string RenderSystemStatus(const jq::GetSystemStatusResponse& resp, OutputFormat format) {
  if (format != OutputFormat::kTable) {
    Json o;
    o["healthy"] = resp.healthy();
    o["active_workers"] = resp.active_workers();
    o["components"] = ArrayJson(resp.components());
    o["queue_stats"] = ArrayJson(resp.queue_stats());
    return Document(o, format);
  }
  std::string out = KeyValues({{"healthy", YesNo(resp.healthy())},
                               {"active_workers", std::to_string(resp.active_workers())}});
  out += "\n";
  Table components({"COMPONENT", "HEALTHY", "MESSAGE"});
  for (const auto& c : resp.components()) {
    components.AddRow({c.name(), YesNo(c.healthy()), c.message()});
  }
  out += components.Render() + "\n";
  Table queues(QueueStatsHeader());
  for (const auto& s : resp.queue_stats()) queues.AddRow(QueueStatsRow(s));
  return out + queues.Render();
}

std::string RenderAck(std::string_view key, std::string_view id, std::string_view result,
                      OutputFormat format) {
  if (format == OutputFormat::kTable) return std::string(id) + ": " + std::string(result) + "\n";
  Json o;
  o[std::string(key)] = id;
  o["result"] = result;
  return Document(o, format);
}

}  // namespace jq::ctl
