// What jq-ctl prints for each reply (SPEC §10): for people, aligned tables with a header or
// "key: value" blocks choosing and spelling the fields that matter; for scripts, the whole
// message as a JSON or YAML document (its shape is described in ctl/document.h). Pure: no I/O,
// no RPCs; every Render* function returns complete text ending in a newline. Thread-compatible.
#pragma once

#include <string>
#include <string_view>

#include "admin_service.pb.h"
#include "common.pb.h"
#include "ctl/format.h"
#include "job_service.pb.h"

namespace jq::ctl {

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
// apikey create: table mode prints the key (the only time it is shown) and, on stderr's
// behalf, nothing else; JSON/YAML the whole reply, key included.
std::string RenderNewApiKey(const jq::CreateApiKeyResponse& resp, OutputFormat format);
// apikey list / revoke: id, tenant, role, times; never a secret (the reply has none).
std::string RenderApiKeyList(const jq::ListApiKeysResponse& resp, OutputFormat format);
std::string RenderApiKey(const jq::ApiKey& key, OutputFormat format);
std::string RenderJwtRevocation(const jq::JwtRevocation& r, OutputFormat format);
std::string RenderJwtRevocationList(const jq::ListJwtRevocationsResponse& resp,
                                    OutputFormat format);
std::string RenderTenant(const jq::Tenant& tenant, OutputFormat format);
std::string RenderTenantList(const jq::ListTenantsResponse& resp, OutputFormat format);
// A command whose reply is empty (cancel, delete, pause, drain, ...): table mode prints
// "<id>: <result>", JSON/YAML {"<key>": id, "result": result}.
std::string RenderAck(std::string_view key, std::string_view id, std::string_view result,
                      OutputFormat format);

}  // namespace jq::ctl
