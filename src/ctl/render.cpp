#include "ctl/render.h"

#include <utility>
#include <vector>

#include "ctl/document.h"

namespace jq::ctl {
namespace {

// The whole message as a JSON or YAML document.
std::string AsDocument(const google::protobuf::Message& message, OutputFormat format) {
  return DocumentText(ToDocument(message), format);
}

std::string Retries(int retry_count, int max_retries) {
  return std::to_string(retry_count) + "/" + std::to_string(max_retries);
}

std::string StatusCell(int status) {
  return status == 0 ? "-" : JobStatusText(status);
}

std::string ConcurrencyText(int limit) {
  return limit == 0 ? "unlimited" : std::to_string(limit);
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

std::string RenderJob(const jq::Job& job, OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(job, format);
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
  if (format != OutputFormat::kTable) return AsDocument(resp, format);
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
  if (format != OutputFormat::kTable) return AsDocument(resp, format);
  std::vector<std::string> header = {"ID"};
  header.insert(header.end(), EventHeader().begin(), EventHeader().end());
  header.push_back("ACTOR");  // who asked for it: a key id; "-" for the system's own
  Table t(std::move(header));
  for (const auto& e : resp.events()) {
    std::vector<std::string> row = {std::to_string(e.id())};
    auto rest = EventRow(e);
    row.insert(row.end(), rest.begin(), rest.end());
    row.push_back(OrDash(e.actor()));
    t.AddRow(std::move(row));
  }
  return t.Render();
}

std::string RenderWatchEvent(const jq::JobEvent& event, OutputFormat format, bool first) {
  if (format != OutputFormat::kTable) return StreamItemText(ToDocument(event), format);
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
  if (format != OutputFormat::kTable) return AsDocument(resp, format);
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
  return AsDocument(resp, format);
}

std::string RenderWaitResult(const jq::SubmitJobResponse& resp, const jq::Job& job,
                             OutputFormat format) {
  if (format == OutputFormat::kTable) return JobStatusText(job.status()) + "\n";
  Document o = ToDocument(resp);
  o["status"] = JobStatusText(job.status());
  o["job"] = ToDocument(job);
  return DocumentText(o, format);
}

std::string RenderJobId(std::string_view job_id, OutputFormat format) {
  if (format == OutputFormat::kTable) return std::string(job_id) + "\n";
  Document o;
  o["job_id"] = job_id;
  return DocumentText(o, format);
}

std::string RenderQueue(const jq::Queue& q, OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(q, format);
  return KeyValues({
      {"name", q.name()},
      {"paused", YesNo(q.paused())},
      {"max_retries", std::to_string(q.max_retries())},
      {"ttl", Seconds(q.ttl_seconds())},
      {"timeout", Seconds(q.timeout_seconds())},
      {"concurrency_limit", ConcurrencyText(q.concurrency_limit())},
      {"backoff_base_ms", std::to_string(q.backoff_base_ms())},
      {"backoff_max_ms", std::to_string(q.backoff_max_ms())},
      {"created_at", FormatTime(q.created_at())},
  });
}

std::string RenderQueueList(const jq::ListQueuesResponse& resp, OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(resp, format);
  Table t({"NAME", "PAUSED", "MAX_RETRIES", "TTL", "TIMEOUT", "CONCURRENCY", "CREATED_AT"});
  for (const auto& q : resp.queues()) {
    t.AddRow({q.name(), YesNo(q.paused()), std::to_string(q.max_retries()),
              Seconds(q.ttl_seconds()), Seconds(q.timeout_seconds()),
              ConcurrencyText(q.concurrency_limit()), OrDash(FormatTime(q.created_at()))});
  }
  return t.Render();
}

std::string RenderQueueStats(const jq::QueueStats& s, OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(s, format);
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
  if (format != OutputFormat::kTable) return AsDocument(resp, format);
  Table t({"WORKER_ID", "HOSTNAME", "STATUS", "CONCURRENCY", "ACTIVE", "LAST_HEARTBEAT", "QUEUES"});
  for (const auto& w : resp.workers()) {
    std::string queues;
    for (const auto& q : w.queues()) queues += (queues.empty() ? "" : ",") + q;
    t.AddRow({w.worker_id(), OrDash(w.hostname()),
              EnumText(*jq::WorkerStatus_descriptor(), w.status()), std::to_string(w.concurrency()),
              std::to_string(w.active_job_count()), OrDash(FormatTime(w.last_heartbeat())),
              queues.empty() ? "(all)" : queues});
  }
  return t.Render();
}

std::string RenderSystemStatus(const jq::GetSystemStatusResponse& resp, OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(resp, format);
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

namespace {

std::string LimitText(bool has, int value) {
  if (!has) return "default";
  return value == 0 ? "unlimited" : std::to_string(value);
}

std::vector<std::string> ApiKeyRow(const jq::ApiKey& k) {
  return {k.id(),
          k.tenant(),
          k.role(),
          OrDash(FormatTime(k.created_at())),
          OrDash(FormatTime(k.last_used_at())),
          OrDash(FormatTime(k.revoked_at())),
          OrDash(k.description())};
}

const std::vector<std::string> kApiKeyHeader = {"ID",        "TENANT",  "ROLE",       "CREATED_AT",
                                                "LAST_USED", "REVOKED", "DESCRIPTION"};

}  // namespace

std::string RenderNewApiKey(const jq::CreateApiKeyResponse& resp, OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(resp, format);
  return resp.key() + "\n";
}

std::string RenderApiKeyList(const jq::ListApiKeysResponse& resp, OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(resp, format);
  Table t(kApiKeyHeader);
  for (const auto& k : resp.api_keys()) t.AddRow(ApiKeyRow(k));
  return t.Render();
}

std::string RenderJwtRevocationList(const jq::ListJwtRevocationsResponse& resp,
                                    OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(resp, format);
  Table t({"SUBJECT", "TOKENS_ISSUED_UNTIL", "REVOKED_BY"});
  for (const auto& r : resp.revocations()) {
    t.AddRow({r.subject(), FormatTime(r.revoked_at()), r.revoked_by()});
  }
  return t.Render();
}

std::string RenderJwtRevocation(const jq::JwtRevocation& r, OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(r, format);
  jq::ListJwtRevocationsResponse one;
  *one.add_revocations() = r;
  return RenderJwtRevocationList(one, format);
}

std::string RenderApiKey(const jq::ApiKey& key, OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(key, format);
  Table t(kApiKeyHeader);
  t.AddRow(ApiKeyRow(key));
  return t.Render();
}

std::string RenderTenant(const jq::Tenant& tenant, OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(tenant, format);
  return KeyValues({
      {"name", tenant.name()},
      {"max_running_jobs", LimitText(tenant.has_max_running_jobs(), tenant.max_running_jobs())},
      {"submit_rate", LimitText(tenant.has_submit_rate(), tenant.submit_rate())},
      {"submit_burst", LimitText(tenant.has_submit_burst(), tenant.submit_burst())},
      {"created_at", FormatTime(tenant.created_at())},
  });
}

std::string RenderTenantList(const jq::ListTenantsResponse& resp, OutputFormat format) {
  if (format != OutputFormat::kTable) return AsDocument(resp, format);
  Table t({"NAME", "MAX_RUNNING_JOBS", "SUBMIT_RATE", "SUBMIT_BURST", "CREATED_AT"});
  for (const auto& x : resp.tenants()) {
    t.AddRow({x.name(), LimitText(x.has_max_running_jobs(), x.max_running_jobs()),
              LimitText(x.has_submit_rate(), x.submit_rate()),
              LimitText(x.has_submit_burst(), x.submit_burst()),
              OrDash(FormatTime(x.created_at()))});
  }
  return t.Render();
}

std::string RenderAck(std::string_view key, std::string_view id, std::string_view result,
                      OutputFormat format) {
  if (format == OutputFormat::kTable) return std::string(id) + ": " + std::string(result) + "\n";
  Document o;
  o[std::string(key)] = id;
  o["result"] = result;
  return DocumentText(o, format);
}

}  // namespace jq::ctl
