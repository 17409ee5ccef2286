// jq-ctl's rendering and exit codes: pure, no server.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "ctl/errors.h"
#include "ctl/format.h"
#include "ctl/render.h"

namespace jq::ctl {
namespace {

using nlohmann::json;

google::protobuf::Timestamp Ts(std::int64_t seconds, int nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

// 2024-05-01 12:00:00 UTC.
constexpr std::int64_t kMay1Noon = 1714564800;

jq::Job SampleJob() {
  jq::Job j;
  j.set_job_id("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
  j.set_queue_name("default");
  j.set_payload(R"({"command":["echo","hi"]})");
  j.set_priority(5);
  j.set_status(jq::DEAD_LETTERED);
  j.set_max_retries(3);
  j.set_retry_count(3);
  *j.mutable_created_at() = Ts(kMay1Noon);
  *j.mutable_completed_at() = Ts(kMay1Noon + 61);
  j.set_worker_id("w1");
  j.set_result(std::string("\x00\xff", 2));
  j.set_error_message("exit code 1");
  return j;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(CtlTime, FormatsUtc) {
  EXPECT_EQ(FormatTime(Ts(kMay1Noon)), "2024-05-01 12:00:00");
  EXPECT_EQ(FormatTime(Ts(kMay1Noon, 999999999)), "2024-05-01 12:00:00");
  EXPECT_EQ(FormatTime(Ts(0)), "");
}

TEST(CtlBytes, PrintableUtf8IsShownAsText) {
  EXPECT_TRUE(IsPrintableUtf8(""));
  EXPECT_TRUE(IsPrintableUtf8("line 1\n\ttab\r\n"));
  EXPECT_TRUE(IsPrintableUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_EQ(BytesToText(R"({"a":1})"), R"({"a":1})");
}

TEST(CtlBytes, BinaryIsBase64) {
  EXPECT_FALSE(IsPrintableUtf8(std::string("a\0b", 3)));
  EXPECT_FALSE(IsPrintableUtf8("\x1b[31m"));
  EXPECT_FALSE(IsPrintableUtf8("\xc3"));          // truncated sequence
  EXPECT_FALSE(IsPrintableUtf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(IsPrintableUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(IsPrintableUtf8("\xc2\x85"));      // C1 control
  EXPECT_EQ(BytesToText(std::string("\x00", 1)), "base64:AA==");
  EXPECT_EQ(BytesToText(std::string("\x00\xff", 2)), "base64:AP8=");
  EXPECT_EQ(BytesToText(std::string("\xff\xfe\xfd", 3)), "base64://79");
}

TEST(CtlTable, AlignsColumnsUnderHeader) {
  Table t({"ID", "NAME", "NOTE"});
  t.AddRow({"1", "alpha", "x"});
  t.AddRow({"22", "b\xc3\xa9", ""});
  t.AddRow({"3", "new\nline"});
  EXPECT_EQ(t.Render(),
            "ID  NAME      NOTE\n"
            "1   alpha     x\n"
            "22  b\xc3\xa9\n"
            "3   new line\n");
}

TEST(CtlEnum, NamesWithUnspecifiedForZeroAndUnknown) {
  EXPECT_EQ(EnumText(*jq::WorkerStatus_descriptor(), jq::DRAINING), "DRAINING");
  EXPECT_EQ(EnumText(*jq::WorkerStatus_descriptor(), 0), "UNSPECIFIED");
  EXPECT_EQ(EnumText(*jq::WorkerStatus_descriptor(), 42), "UNSPECIFIED");
  for (int status = 0; status <= 7; ++status) {
    EXPECT_EQ(JobStatusText(status), EnumText(*jq::JobStatus_descriptor(), status)) << status;
  }
}

TEST(CtlRender, JobJsonHasStableSnakeCaseFields) {
  json j = json::parse(RenderJob(SampleJob(), OutputFormat::kJson));
  EXPECT_EQ(j["job_id"], "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
  EXPECT_EQ(j["queue_name"], "default");
  EXPECT_EQ(j["payload"], R"({"command":["echo","hi"]})");
  EXPECT_EQ(j["priority"], 5);
  EXPECT_EQ(j["status"], "DEAD_LETTERED");
  EXPECT_EQ(j["max_retries"], 3);
  EXPECT_EQ(j["retry_count"], 3);
  EXPECT_EQ(j["created_at"], "2024-05-01 12:00:00");
  EXPECT_TRUE(j["started_at"].is_null());
  EXPECT_EQ(j["completed_at"], "2024-05-01 12:01:01");
  EXPECT_EQ(j["result"], "base64:AP8=");
  EXPECT_EQ(j["error_message"], "exit code 1");
  for (const char* key : {"worker_id", "not_before", "ttl_seconds", "timeout_seconds",
                          "idempotency_key", "tenant", "attempt", "updated_at"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

TEST(CtlRender, DocumentsCarryEveryFieldInDeclarationOrder) {
  auto keys = [](const std::string& text) {
    const auto doc = nlohmann::ordered_json::parse(text);
    std::vector<std::string> out;
    for (auto it = doc.begin(); it != doc.end(); ++it) out.push_back(it.key());
    return out;
  };
  auto fields = [](const google::protobuf::Descriptor& d) {
    std::vector<std::string> out;
    for (int i = 0; i < d.field_count(); ++i) out.push_back(d.field(i)->name());
    return out;
  };
  EXPECT_EQ(keys(RenderJob({}, OutputFormat::kJson)), fields(*jq::Job::descriptor()));
  EXPECT_EQ(keys(RenderQueueStats({}, OutputFormat::kJson)), fields(*jq::QueueStats::descriptor()));
  EXPECT_EQ(keys(RenderSystemStatus({}, OutputFormat::kJson)),
            fields(*jq::GetSystemStatusResponse::descriptor()));
}

TEST(CtlRender, JobTableIsKeyValue) {
  std::string out = RenderJob(SampleJob(), OutputFormat::kTable);
  EXPECT_NE(out.find("job_id:           0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("status:           DEAD_LETTERED\n"), std::string::npos) << out;
  EXPECT_NE(out.find("retries:          3/3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("started_at:       -\n"), std::string::npos) << out;
  EXPECT_NE(out.find("created_at:       2024-05-01 12:00:00\n"), std::string::npos) << out;
}

TEST(CtlRender, YamlMatchesJson) {
  jq::Job job = SampleJob();
  job.set_worker_id("123");  // must stay a string, not become a number
  YAML::Node y = YAML::Load(RenderJob(job, OutputFormat::kYaml));
  EXPECT_EQ(y["job_id"].as<std::string>(), "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
  EXPECT_EQ(y["status"].as<std::string>(), "DEAD_LETTERED");
  EXPECT_EQ(y["priority"].as<int>(), 5);
  EXPECT_EQ(y["payload"].as<std::string>(), R"({"command":["echo","hi"]})");
  EXPECT_EQ(y["created_at"].as<std::string>(), "2024-05-01 12:00:00");
  EXPECT_TRUE(y["started_at"].IsNull());
  EXPECT_EQ(y["worker_id"].Tag(), "!");  // quoted: a string
  EXPECT_EQ(y["worker_id"].as<std::string>(), "123");
}

TEST(CtlRender, JobListTableAndNextPageToken) {
  jq::ListJobsResponse resp;
  *resp.add_jobs() = SampleJob();
  resp.set_next_page_token("tok");
  auto lines = Lines(RenderJobList(resp, OutputFormat::kTable));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("JOB_ID", 0), 0u);
  EXPECT_NE(lines[0].find("STATUS"), std::string::npos);
  EXPECT_EQ(lines[0].find("QUEUE"), lines[1].find("default"));
  EXPECT_EQ(lines[2], "next_page_token: tok");

  json j = json::parse(RenderJobList(resp, OutputFormat::kJson));
  EXPECT_EQ(j["jobs"].size(), 1u);
  EXPECT_EQ(j["next_page_token"], "tok");
}

TEST(CtlRender, EmptyListIsHeaderOnly) {
  EXPECT_EQ(Lines(RenderJobList({}, OutputFormat::kTable)).size(), 1u);
  EXPECT_EQ(json::parse(RenderQueueList({}, OutputFormat::kJson))["queues"], json::array());
}

TEST(CtlRender, EventsAndWatchStream) {
  jq::JobEvent e;
  e.set_id(7);
  e.set_job_id("j");
  e.set_from_status(jq::RUNNING);
  e.set_to_status(jq::DONE);
  e.set_reason("SUCCESS");
  e.set_worker_id("w1");
  e.set_attempt(1);
  *e.mutable_occurred_at() = Ts(kMay1Noon);

  jq::GetJobLogsResponse logs;
  *logs.add_events() = e;
  auto lines = Lines(RenderJobEvents(logs, OutputFormat::kTable));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("ID", 0), 0u);
  EXPECT_NE(lines[1].find("2024-05-01 12:00:00"), std::string::npos);
  EXPECT_NE(lines[1].find("RUNNING"), std::string::npos);

  std::string first = RenderWatchEvent(e, OutputFormat::kTable, true);
  std::string next = RenderWatchEvent(e, OutputFormat::kTable, false);
  ASSERT_EQ(Lines(first).size(), 2u);
  EXPECT_EQ(Lines(first)[1], next.substr(0, next.size() - 1));
  EXPECT_EQ(Lines(first)[0].find("TO"), next.find("DONE"));

  std::string line = RenderWatchEvent(e, OutputFormat::kJson, true);
  ASSERT_EQ(Lines(line).size(), 1u);  // JSON Lines
  json j = json::parse(line);
  EXPECT_EQ(j["id"], 7);
  EXPECT_EQ(j["from_status"], "RUNNING");
  EXPECT_EQ(j["to_status"], "DONE");
  EXPECT_EQ(j["occurred_at"], "2024-05-01 12:00:00");
}

TEST(CtlRender, JobOutputsPerAttempt) {
  jq::GetJobOutputResponse resp;
  auto* o = resp.add_outputs();
  o->set_attempt(1);
  o->set_worker_id("w1");
  o->set_exit_code(2);
  o->set_stdout("hello\n");
  o->set_stderr("boom");
  o->set_stderr_truncated(true);
  std::string out = RenderJobOutputs(resp, OutputFormat::kTable);
  EXPECT_NE(out.find("attempt 1"), std::string::npos) << out;
  EXPECT_NE(out.find("exit_code 2"), std::string::npos) << out;
  EXPECT_NE(out.find("--- stdout ---\nhello\n"), std::string::npos) << out;
  EXPECT_NE(out.find("--- stderr (truncated"), std::string::npos) << out;
  EXPECT_NE(out.find("boom\n"), std::string::npos) << out;

  json j = json::parse(RenderJobOutputs(resp, OutputFormat::kJson));
  EXPECT_EQ(j["outputs"][0]["stdout"], "hello\n");
  EXPECT_EQ(j["outputs"][0]["stderr_truncated"], true);
  EXPECT_EQ(RenderJobOutputs({}, OutputFormat::kTable), "(no output recorded)\n");
}

TEST(CtlRender, SubmitPrintsOnlyTheIdInTableMode) {
  jq::SubmitJobResponse resp;
  resp.set_job_id("abc");
  EXPECT_EQ(RenderSubmit(resp, OutputFormat::kTable), "abc\n");
  json j = json::parse(RenderSubmit(resp, OutputFormat::kJson));
  EXPECT_EQ(j["job_id"], "abc");
  EXPECT_EQ(j["duplicate"], false);

  jq::Job job = SampleJob();
  job.set_status(jq::DONE);
  EXPECT_EQ(RenderWaitResult(resp, job, OutputFormat::kTable), "DONE\n");
  json w = json::parse(RenderWaitResult(resp, job, OutputFormat::kJson));
  EXPECT_EQ(w["status"], "DONE");
  EXPECT_EQ(w["job"]["queue_name"], "default");
}

TEST(CtlRender, QueuesStatsWorkersStatus) {
  jq::ListQueuesResponse queues;
  auto* q = queues.add_queues();
  q->set_name("emails");
  q->set_max_retries(5);
  q->set_paused(true);
  std::string qt = RenderQueueList(queues, OutputFormat::kTable);
  EXPECT_EQ(Lines(qt).size(), 2u);
  EXPECT_NE(qt.find("unlimited"), std::string::npos);
  EXPECT_EQ(json::parse(RenderQueueList(queues, OutputFormat::kJson))["queues"][0]["paused"], true);

  jq::QueueStats s;
  s.set_queue_name("emails");
  s.set_pending_count(4);
  s.set_dead_letter_count(1);
  s.set_error_rate(0.125);
  std::string st = RenderQueueStats(s, OutputFormat::kTable);
  EXPECT_NE(st.find("12.50%"), std::string::npos) << st;
  json sj = json::parse(RenderQueueStats(s, OutputFormat::kJson));
  EXPECT_EQ(sj["pending_count"], 4);
  EXPECT_EQ(sj["dead_letter_count"], 1);
  EXPECT_DOUBLE_EQ(sj["error_rate"].get<double>(), 0.125);

  jq::ListWorkersResponse workers;
  auto* w = workers.add_workers();
  w->set_worker_id("w1");
  w->set_status(jq::DRAINING);
  w->add_queues("a");
  w->add_queues("b");
  std::string wt = RenderWorkerList(workers, OutputFormat::kTable);
  EXPECT_NE(wt.find("DRAINING"), std::string::npos);
  EXPECT_NE(wt.find("a,b"), std::string::npos);
  json wj = json::parse(RenderWorkerList(workers, OutputFormat::kJson));
  EXPECT_EQ(wj["workers"][0]["queues"], json({"a", "b"}));

  jq::GetSystemStatusResponse sys;
  sys.set_healthy(false);
  sys.set_active_workers(2);
  auto* c = sys.add_components();
  c->set_name("redis");
  c->set_message("connection refused");
  *sys.add_queue_stats() = s;
  std::string sys_table = RenderSystemStatus(sys, OutputFormat::kTable);
  EXPECT_NE(sys_table.find("healthy:         no"), std::string::npos) << sys_table;
  EXPECT_NE(sys_table.find("redis"), std::string::npos);
  EXPECT_NE(sys_table.find("connection refused"), std::string::npos);
  EXPECT_NE(sys_table.find("emails"), std::string::npos);
  json sysj = json::parse(RenderSystemStatus(sys, OutputFormat::kJson));
  EXPECT_EQ(sysj["healthy"], false);
  EXPECT_EQ(sysj["components"][0]["healthy"], false);
  EXPECT_EQ(sysj["queue_stats"][0]["queue_name"], "emails");
}

TEST(CtlRender, Ack) {
  EXPECT_EQ(RenderAck("name", "emails", "paused", OutputFormat::kTable), "emails: paused\n");
  json j = json::parse(RenderAck("name", "emails", "paused", OutputFormat::kJson));
  EXPECT_EQ(j, json({{"name", "emails"}, {"result", "paused"}}));
}

TEST(CtlErrors, ExitCodes) {
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::OK), 0);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::INVALID_ARGUMENT), 1);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::NOT_FOUND), 1);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::UNIMPLEMENTED), 1);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::UNAVAILABLE), 3);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::DEADLINE_EXCEEDED), 3);
}

TEST(CtlErrors, OneLineNamingWhatAndWhy) {
  grpc::Status bad(grpc::StatusCode::INVALID_ARGUMENT, "job_id '123' is not a valid UUID");
  EXPECT_EQ(ErrorLine("job status 123", bad, "h:1"),
            "jq-ctl: job status 123: INVALID_ARGUMENT: job_id '123' is not a valid UUID");
  grpc::Status down(grpc::StatusCode::UNAVAILABLE, "failed to connect\nsecond line");
  EXPECT_EQ(ErrorLine("status", down, "127.0.0.1:1"),
            "jq-ctl: status: UNAVAILABLE: failed to connect; second line (server 127.0.0.1:1)");
}

// gRPC's messages (1.51) for the ways TLS goes wrong, as jq-server's TLS e2e test sees them.
TEST(CtlErrors, TlsFailuresGetAHint) {
  auto unavailable = [](const std::string& last) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "failed to connect to all addresses; last error: " + last);
  };
  const auto closed = unavailable("UNAVAILABLE: ipv4:127.0.0.1:1: Socket closed");
  EXPECT_EQ(TlsHint(closed, /*tls=*/false), "; does the server use TLS? pass --tls-ca");
  EXPECT_NE(TlsHint(closed, /*tls=*/true).find("it may require a client certificate"),
            std::string::npos);
  const auto verify = unavailable(
      "UNKNOWN: ipv4:127.0.0.1:1: Tls handshake failed: SSL_ERROR_SSL: error:0A000086:SSL "
      "routines::certificate verify failed");
  EXPECT_NE(TlsHint(verify, true).find("not signed by the CA of --tls-ca"), std::string::npos);
  const auto plain = unavailable(
      "UNKNOWN: ipv4:127.0.0.1:1: Tls handshake failed: SSL_ERROR_SSL: error:0A00010B:SSL "
      "routines::wrong version number");
  EXPECT_EQ(TlsHint(plain, true), "; the server does not use TLS");
  const auto host = unavailable(
      "UNKNOWN: ipv4:127.0.0.1:1: Custom verification check failed with error: UNAUTHENTICATED: "
      "Hostname Verification Check failed.");
  EXPECT_EQ(TlsHint(host, true),
            "; the server's certificate does not name the host of --server-addr");
  // A server that is simply not there, or an answer: no hint.
  EXPECT_EQ(TlsHint(unavailable("UNAVAILABLE: ipv4:127.0.0.1:1: Connection refused"), false), "");
  EXPECT_EQ(TlsHint(grpc::Status(grpc::StatusCode::NOT_FOUND, "Socket closed"), false), "");
}

}  // namespace
}  // namespace jq::ctl
