// How jq-ctl shows jq's wire messages (SPEC §10): aligned tables with a header for people, JSON
// and YAML with the proto's snake_case field names for scripts. Pure: no I/O, no RPCs; every
// Render* function returns complete text ending in a newline. Thread-compatible.
//
// JSON and YAML share one document shape: timestamps are UTC "YYYY-MM-DD HH:MM:SS" or null when
// unset, enums are their names ("DEAD_LETTERED", "ONLINE"), bytes are text when printable UTF-8
// and "base64:<base64>" otherwise.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin_service.pb.h"
#include "common.pb.h"
#include "job_service.pb.h"

namespace jq::ctl {

enum class OutputFormat { kTable, kJson, kYaml };

// "table", "json" or "yaml".
std::optional<OutputFormat> ParseOutputFormat(std::string_view name);

// UTC "YYYY-MM-DD HH:MM:SS"; "" for an unset (all-zero) timestamp.
std::string FormatTime(const google::protobuf::Timestamp& ts);
// Accepts RFC 3339 ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00") and
// "YYYY-MM-DD HH:MM:SS" (UTC, also with 'T' and without a zone). nullopt for anything else.
std::optional<google::protobuf::Timestamp> ParseTime(std::string_view text);

// Valid UTF-8 with no control characters other than tab, CR and LF.
bool IsPrintableUtf8(std::string_view bytes);
// The bytes themselves when printable, else "base64:" and their base64 encoding.
std::string BytesToText(std::string_view bytes);

// Columns separated by two spaces and padded to the widest cell (in UTF-8 code points); the
// last column is not padded. Missing cells are empty; control characters in cells become spaces.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0] is the header
};

std::string RenderJob(const jq::Job& job, OutputFormat format);
// Table mode adds a "next_page_token: T" line after the table when there is a next page.
std::string RenderJobList(const jq::ListJobsResponse& resp, OutputFormat format);
std::string RenderJobEvents(const jq::GetJobLogsResponse& resp, OutputFormat format);
// One event of a live stream (job watch). Table rows have fixed column widths, and `first` adds
// the header; JSON is one compact object per line; YAML is one document ("---") per event.
std::string RenderWatchEvent(const jq::JobEvent& event, OutputFormat format, bool first);
std::string RenderJobOutputs(const jq::GetJobOutputResponse& resp, OutputFormat format);
// Table mode prints only the job id, so that `id=$(jq-ctl job submit ...)` works.
std::string RenderSubmit(const jq::SubmitJobResponse& resp, OutputFormat format);
// The end of `job submit --wait`: table mode prints the final status name (the id was printed
// by RenderSubmit already); JSON/YAML print job_id, duplicate, status and the whole job.
std::string RenderWaitResult(const jq::SubmitJobResponse& resp, const jq::Job& job,
                             OutputFormat format);
// A bare job id (job retry): table mode prints the id, JSON/YAML {"job_id": id}.
std::string RenderJobId(std::string_view job_id, OutputFormat format);
std::string RenderQueue(const jq::Queue& queue, OutputFormat format);
std::string RenderQueueList(const jq::ListQueuesResponse& resp, OutputFormat format);
std::string RenderQueueStats(const jq::QueueStats& stats, OutputFormat format);
std::string RenderWorkerList(const jq::ListWorkersResponse& resp, OutputFormat format);
std::string RenderSystemStatus(const jq::GetSystemStatusResponse& resp, OutputFormat format);
// A command whose reply is empty (cancel, delete, pause, drain, ...): table mode prints
// "<id>: <result>", JSON/YAML {"<key>": id, "result": result}.
std::string RenderAck(std::string_view key, std::string_view id, std::string_view result,
                      OutputFormat format);

}  // namespace jq::ctl
