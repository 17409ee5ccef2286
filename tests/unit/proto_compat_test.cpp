// The wire contract of SPEC §7: every seed message keeps its field names, numbers and types,
// so clients written for the seed system keep working. Checked through the descriptors of the
// generated code, i.e. what actually goes on the wire.
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "admin_service.pb.h"
#include "common.pb.h"
#include "job_service.pb.h"
#include "worker_service.pb.h"

namespace jq {
namespace {

using google::protobuf::FieldDescriptor;

// Touching one message of each file links its generated code in, which registers the file's
// descriptors with the generated pool.
void LoadDescriptors() {
  jq::Job::descriptor();
  jq::SubmitJobRequest::descriptor();
  jq::RegisterWorkerRequest::descriptor();
  jq::CreateQueueRequest::descriptor();
}
using T = FieldDescriptor::Type;

struct Field {
  const char* message;
  const char* name;
  int number;
  T type;
  bool repeated = false;
};

// Integer fields may be int32 or int64 on the wire (both varints); SPEC §7 names int32 for
// priority and counters, and leaves stats counts open.
bool SameWireType(T a, T b) {
  auto varint = [](T t) { return t == T::TYPE_INT32 || t == T::TYPE_INT64; };
  return a == b || (varint(a) && varint(b));
}

TEST(ProtoCompatTest, EverySeedFieldKeepsItsNameNumberAndType) {
  const T kStr = T::TYPE_STRING, kBytes = T::TYPE_BYTES, kI32 = T::TYPE_INT32, kI64 = T::TYPE_INT64,
          kEnum = T::TYPE_ENUM, kMsg = T::TYPE_MESSAGE, kBool = T::TYPE_BOOL, kDbl = T::TYPE_DOUBLE;
  const Field fields[] = {
      {"jq.Job", "job_id", 1, kStr},
      {"jq.Job", "queue_name", 2, kStr},
      {"jq.Job", "payload", 3, kBytes},
      {"jq.Job", "priority", 4, kI32},
      {"jq.Job", "status", 5, kEnum},
      {"jq.Job", "max_retries", 6, kI32},
      {"jq.Job", "retry_count", 7, kI32},
      {"jq.Job", "created_at", 8, kMsg},
      {"jq.Job", "started_at", 9, kMsg},
      {"jq.Job", "completed_at", 10, kMsg},
      {"jq.Job", "worker_id", 11, kStr},
      {"jq.Job", "result", 12, kBytes},
      {"jq.Job", "not_before", 13, kMsg},
      {"jq.Job", "error_message", 14, kStr},
      {"jq.Queue", "name", 1, kStr},
      {"jq.Queue", "max_retries", 2, kI32},
      {"jq.Queue", "ttl_seconds", 3, kI32},
      {"jq.Queue", "created_at", 4, kMsg},
      {"jq.Worker", "worker_id", 1, kStr},
      {"jq.Worker", "hostname", 2, kStr},
      {"jq.Worker", "status", 3, kEnum},
      {"jq.Worker", "concurrency", 4, kI32},
      {"jq.Worker", "active_job_count", 5, kI32},
      {"jq.Worker", "last_heartbeat", 6, kMsg},
      {"jq.Worker", "queues", 7, kStr, true},
      {"jq.JobEvent", "id", 1, kI64},
      {"jq.JobEvent", "job_id", 2, kStr},
      {"jq.JobEvent", "from_status", 3, kEnum},
      {"jq.JobEvent", "to_status", 4, kEnum},
      {"jq.JobEvent", "worker_id", 5, kStr},
      {"jq.JobEvent", "reason", 6, kStr},
      {"jq.JobEvent", "occurred_at", 7, kMsg},
      {"jq.SubmitJobRequest", "queue_name", 1, kStr},
      {"jq.SubmitJobRequest", "payload", 2, kBytes},
      {"jq.SubmitJobRequest", "priority", 3, kI32},
      {"jq.SubmitJobRequest", "max_retries", 4, kI32},
      {"jq.SubmitJobRequest", "ttl_seconds", 5, kI32},
      {"jq.SubmitJobResponse", "job_id", 1, kStr},
      {"jq.CancelJobRequest", "job_id", 1, kStr},
      {"jq.GetJobStatusRequest", "job_id", 1, kStr},
      {"jq.GetJobStatusResponse", "job", 1, kMsg},
      {"jq.ListJobsRequest", "queue_name", 1, kStr},
      {"jq.ListJobsRequest", "status", 2, kEnum},
      {"jq.ListJobsRequest", "limit", 3, kI32},
      {"jq.ListJobsRequest", "page_token", 4, kStr},
      {"jq.ListJobsResponse", "jobs", 1, kMsg, true},
      {"jq.ListJobsResponse", "next_page_token", 2, kStr},
      {"jq.GetJobLogsRequest", "job_id", 1, kStr},
      {"jq.GetJobLogsResponse", "events", 1, kMsg, true},
      {"jq.RetryJobRequest", "job_id", 1, kStr},
      {"jq.RetryJobResponse", "job_id", 1, kStr},
      {"jq.RegisterWorkerRequest", "worker_id", 1, kStr},
      {"jq.RegisterWorkerRequest", "hostname", 2, kStr},
      {"jq.RegisterWorkerRequest", "concurrency", 3, kI32},
      {"jq.RegisterWorkerRequest", "queues", 4, kStr, true},
      {"jq.RegisterWorkerResponse", "worker_id", 1, kStr},
      {"jq.HeartbeatRequest", "worker_id", 1, kStr},
      {"jq.HeartbeatRequest", "active_job_count", 2, kI32},
      {"jq.StreamJobsRequest", "worker_id", 1, kStr},
      {"jq.StreamJobsRequest", "queues", 2, kStr, true},
      {"jq.JobAssignment", "job_id", 1, kStr},
      {"jq.JobAssignment", "queue_name", 2, kStr},
      {"jq.JobAssignment", "payload", 3, kBytes},
      {"jq.JobAssignment", "priority", 4, kI32},
      {"jq.ReportResultRequest", "worker_id", 1, kStr},
      {"jq.ReportResultRequest", "job_id", 2, kStr},
      {"jq.ReportResultRequest", "success", 3, kBool},
      {"jq.ReportResultRequest", "result", 4, kBytes},
      {"jq.ReportResultRequest", "error_message", 5, kStr},
      {"jq.DeregisterRequest", "worker_id", 1, kStr},
      {"jq.CreateQueueRequest", "name", 1, kStr},
      {"jq.CreateQueueRequest", "max_retries", 2, kI32},
      {"jq.CreateQueueRequest", "ttl_seconds", 3, kI32},
      {"jq.CreateQueueResponse", "queue", 1, kMsg},
      {"jq.DeleteQueueRequest", "name", 1, kStr},
      {"jq.DeleteQueueRequest", "force", 2, kBool},
      {"jq.ListQueuesResponse", "queues", 1, kMsg, true},
      {"jq.GetQueueStatsRequest", "name", 1, kStr},
      {"jq.GetQueueStatsResponse", "stats", 1, kMsg},
      {"jq.QueueStats", "queue_name", 1, kStr},
      {"jq.QueueStats", "pending_count", 2, kI64},
      {"jq.QueueStats", "running_count", 3, kI64},
      {"jq.QueueStats", "failed_count", 4, kI64},
      {"jq.QueueStats", "done_count", 5, kI64},
      {"jq.QueueStats", "dead_letter_count", 6, kI64},
      {"jq.QueueStats", "total_processed", 7, kI64},
      {"jq.QueueStats", "avg_duration_ms", 8, kDbl},
      {"jq.QueueStats", "error_rate", 9, kDbl},
      {"jq.ListWorkersResponse", "workers", 1, kMsg, true},
      {"jq.DrainWorkerRequest", "worker_id", 1, kStr},
      {"jq.ShutdownWorkerRequest", "worker_id", 1, kStr},
      {"jq.GetSystemStatusResponse", "healthy", 1, kBool},
      {"jq.GetSystemStatusResponse", "active_workers", 2, kI32},
      {"jq.GetSystemStatusResponse", "queue_stats", 3, kMsg, true},
      {"jq.GetSystemStatusResponse", "components", 4, kMsg, true},
      {"jq.ComponentStatus", "name", 1, kStr},
      {"jq.ComponentStatus", "healthy", 2, kBool},
      {"jq.ComponentStatus", "message", 3, kStr},
  };
  LoadDescriptors();
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const auto& f : fields) {
    const auto* m = pool->FindMessageTypeByName(f.message);
    ASSERT_NE(m, nullptr) << f.message;
    const auto* d = m->FindFieldByName(f.name);
    ASSERT_NE(d, nullptr) << f.message << "." << f.name;
    EXPECT_EQ(d->number(), f.number) << f.message << "." << f.name;
    EXPECT_TRUE(SameWireType(d->type(), f.type)) << f.message << "." << f.name;
    EXPECT_EQ(d->is_repeated(), f.repeated) << f.message << "." << f.name;
  }
}

TEST(ProtoCompatTest, EnumsAndServicesKeepTheirValuesAndMethods) {
  EXPECT_EQ(jq::JOB_STATUS_UNSPECIFIED, 0);
  EXPECT_EQ(jq::PENDING, 1);
  EXPECT_EQ(jq::ASSIGNED, 2);
  EXPECT_EQ(jq::RUNNING, 3);
  EXPECT_EQ(jq::DONE, 4);
  EXPECT_EQ(jq::FAILED, 5);
  EXPECT_EQ(jq::DEAD_LETTERED, 6);
  EXPECT_EQ(jq::ONLINE, 1);
  EXPECT_EQ(jq::OFFLINE, 2);
  EXPECT_EQ(jq::DRAINING, 3);
  LoadDescriptors();
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  const std::pair<const char*, std::vector<const char*>> services[] = {
      {"jq.JobService",
       {"SubmitJob", "CancelJob", "GetJobStatus", "ListJobs", "GetJobLogs", "RetryJob"}},
      {"jq.WorkerService",
       {"RegisterWorker", "Heartbeat", "StreamJobs", "ReportResult", "Deregister"}},
      {"jq.AdminService",
       {"CreateQueue", "DeleteQueue", "ListQueues", "GetQueueStats", "ListWorkers", "DrainWorker",
        "ShutdownWorker", "GetSystemStatus"}},
  };
  for (const auto& [service, methods] : services) {
    const auto* s = pool->FindServiceByName(service);
    ASSERT_NE(s, nullptr) << service;
    for (const char* m : methods) EXPECT_NE(s->FindMethodByName(m), nullptr) << service << "/" << m;
  }
  EXPECT_TRUE(pool->FindServiceByName("jq.WorkerService")
                  ->FindMethodByName("StreamJobs")
                  ->server_streaming());
}

}  // namespace
}  // namespace jq
