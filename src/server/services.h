// The three gRPC services of SPEC §7. Thin: validate and convert the request, call the store
// or the dispatcher, map the Status (rpc::ToGrpc). The hot methods (SubmitJob, StreamJobs and
// the reports) use gRPC's callback API, so no thread waits on a batch or parks on a stream;
// the rest are synchronous handlers. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "admin_service.grpc.pb.h"
#include "auth/authenticator.h"
#include "core/config.h"
#include "core/jitter.h"
#include "core/job_store.h"
#include "job_service.grpc.pb.h"
#include "redis/fleet_cache.h"
#include "redis/rate_limiter.h"
#include "server/dispatcher.h"
#include "server/fleet.h"
#include "server/job_completer.h"
#include "server/job_inserter.h"
#include "server/job_watch_hub.h"
#include "server/server_metrics.h"
#include "server/tenant_limits.h"
#include "worker_service.grpc.pb.h"

namespace jq::server {

// A part of the system the replica depends on, as GetSystemStatus reports it.
struct HealthComponent {
  std::string name;
  bool healthy = false;
  std::string message;
  bool configured = true;  // false: optional and not set up (reported, but not as a gauge)
  bool essential = false;  // unhealthy makes the whole system unhealthy (GetSystemStatus)
};

// What the services share: the store, the dispatcher and the server's settings.
struct ServiceContext {
  JobStore& store;
  Dispatcher& dispatcher;
  const Config& config;
  std::atomic<bool>& stopping;  // set on shutdown: streams end so workers reconnect elsewhere
  ServerMetrics& metrics;
  JobInserter& inserter;    // group commit of SubmitJob
  JobCompleter& completer;  // group commit of worker reports
  // Jobs became runnable outside the inserter: wake this replica's dispatcher and, coalesced,
  // the others.
  std::function<void()> jobs_runnable;
  redis::JobCache* job_cache;  // final jobs shared through Redis; null without Redis
  redis::RateLimiter& rate_limiter;
  Fleet& fleet;  // registrations, sessions, heartbeats, slots
  // Components reported by GetSystemStatus besides the database.
  std::function<std::vector<HealthComponent>()> components;
  JitterSource jitter01 = UniformJitter();  // the retry backoff's jitter
  auth::Authenticator* auth = nullptr;      // who calls (server/auth_gate.h); null refuses all
  TenantLimits* tenant_limits = nullptr;    // tenants' own submit rates; null: limits.* only
};

class JobServiceImpl final
    : public jq::JobService::WithCallbackMethod_SubmitJob<jq::JobService::Service> {
 public:
  explicit JobServiceImpl(ServiceContext ctx)
      : ctx_(std::move(ctx)), watches_(ctx_.store, std::chrono::milliseconds(100)) {
    watches_.Start();
  }

  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext*, const jq::SubmitJobRequest*,
                                      jq::SubmitJobResponse*) override;
  grpc::Status SubmitJobs(grpc::ServerContext*, const jq::SubmitJobsRequest*,
                          jq::SubmitJobsResponse*) override;
  grpc::Status CancelJob(grpc::ServerContext*, const jq::CancelJobRequest*,
                         jq::CancelJobResponse*) override;
  grpc::Status GetJobStatus(grpc::ServerContext*, const jq::GetJobStatusRequest*,
                            jq::GetJobStatusResponse*) override;
  grpc::Status ListJobs(grpc::ServerContext*, const jq::ListJobsRequest*,
                        jq::ListJobsResponse*) override;
  grpc::Status GetJobLogs(grpc::ServerContext*, const jq::GetJobLogsRequest*,
                          jq::GetJobLogsResponse*) override;
  grpc::Status RetryJob(grpc::ServerContext*, const jq::RetryJobRequest*,
                        jq::RetryJobResponse*) override;
  grpc::Status WatchJob(grpc::ServerContext*, const jq::WatchJobRequest*,
                        grpc::ServerWriter<jq::JobEvent>*) override;
  grpc::Status GetJobOutput(grpc::ServerContext*, const jq::GetJobOutputRequest*,
                            jq::GetJobOutputResponse*) override;

 private:
  ServiceContext ctx_;
  JobWatchHub watches_;  // WatchJob streams: one events query a tick for all of them
};

// Every WorkerService method is a callback: nothing a worker calls holds a server thread, so
// the number of threads does not grow with the number of workers.
using WorkerServiceBase = jq::WorkerService::WithCallbackMethod_RegisterWorker<
    jq::WorkerService::WithCallbackMethod_Deregister<
        jq::WorkerService::WithCallbackMethod_Heartbeat<
            jq::WorkerService::WithCallbackMethod_StreamJobs<
                jq::WorkerService::WithCallbackMethod_ReportStarted<
                    jq::WorkerService::WithCallbackMethod_ReportResult<
                        jq::WorkerService::WithCallbackMethod_ReportBatch<
                            jq::WorkerService::Service>>>>>>>;

class WorkerServiceImpl final : public WorkerServiceBase {
 public:
  explicit WorkerServiceImpl(ServiceContext ctx) : ctx_(std::move(ctx)) {}

  grpc::ServerUnaryReactor* RegisterWorker(grpc::CallbackServerContext*,
                                           const jq::RegisterWorkerRequest*,
                                           jq::RegisterWorkerResponse*) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext*, const jq::HeartbeatRequest*,
                                      jq::HeartbeatResponse*) override;
  grpc::ServerWriteReactor<jq::JobAssignment>* StreamJobs(grpc::CallbackServerContext*,
                                                          const jq::StreamJobsRequest*) override;
  grpc::ServerUnaryReactor* ReportStarted(grpc::CallbackServerContext*,
                                          const jq::ReportStartedRequest*,
                                          jq::ReportStartedResponse*) override;
  grpc::ServerUnaryReactor* ReportResult(grpc::CallbackServerContext*,
                                         const jq::ReportResultRequest*,
                                         jq::ReportResultResponse*) override;
  grpc::ServerUnaryReactor* ReportBatch(grpc::CallbackServerContext*, const jq::ReportBatchRequest*,
                                        jq::ReportBatchResponse*) override;
  grpc::ServerUnaryReactor* Deregister(grpc::CallbackServerContext*, const jq::DeregisterRequest*,
                                       jq::DeregisterResponse*) override;

 private:
  grpc::Status DoRegister(const jq::RegisterWorkerRequest* req, jq::RegisterWorkerResponse* resp);
  grpc::Status DoDeregister(const jq::DeregisterRequest* req);
  // Checks a report and converts it (INVALID_ARGUMENT names the field).
  // worker_id: the reporting worker (a ReportBatch item may leave its own empty).
  Status ToCompleteParams(const jq::ReportResultRequest& req, const std::string& worker_id,
                          JobCompleteParams* p) const;

  class StreamReactor;
  ServiceContext ctx_;
};

class AdminServiceImpl final : public jq::AdminService::Service {
 public:
  explicit AdminServiceImpl(ServiceContext ctx) : ctx_(std::move(ctx)) {}

  grpc::Status CreateQueue(grpc::ServerContext*, const jq::CreateQueueRequest*,
                           jq::CreateQueueResponse*) override;
  grpc::Status DeleteQueue(grpc::ServerContext*, const jq::DeleteQueueRequest*,
                           jq::DeleteQueueResponse*) override;
  grpc::Status ListQueues(grpc::ServerContext*, const jq::ListQueuesRequest*,
                          jq::ListQueuesResponse*) override;
  grpc::Status GetQueueStats(grpc::ServerContext*, const jq::GetQueueStatsRequest*,
                             jq::GetQueueStatsResponse*) override;
  grpc::Status PauseQueue(grpc::ServerContext*, const jq::PauseQueueRequest*,
                          jq::PauseQueueResponse*) override;
  grpc::Status ResumeQueue(grpc::ServerContext*, const jq::ResumeQueueRequest*,
                           jq::ResumeQueueResponse*) override;
  grpc::Status ListWorkers(grpc::ServerContext*, const jq::ListWorkersRequest*,
                           jq::ListWorkersResponse*) override;
  grpc::Status DrainWorker(grpc::ServerContext*, const jq::DrainWorkerRequest*,
                           jq::DrainWorkerResponse*) override;
  grpc::Status ShutdownWorker(grpc::ServerContext*, const jq::ShutdownWorkerRequest*,
                              jq::ShutdownWorkerResponse*) override;
  grpc::Status ResumeWorker(grpc::ServerContext*, const jq::ResumeWorkerRequest*,
                            jq::ResumeWorkerResponse*) override;
  grpc::Status GetSystemStatus(grpc::ServerContext*, const jq::GetSystemStatusRequest*,
                               jq::GetSystemStatusResponse*) override;
  // API keys and tenants (admin_keys_service.cpp).
  grpc::Status CreateApiKey(grpc::ServerContext*, const jq::CreateApiKeyRequest*,
                            jq::CreateApiKeyResponse*) override;
  grpc::Status ListApiKeys(grpc::ServerContext*, const jq::ListApiKeysRequest*,
                           jq::ListApiKeysResponse*) override;
  grpc::Status RevokeApiKey(grpc::ServerContext*, const jq::RevokeApiKeyRequest*,
                            jq::RevokeApiKeyResponse*) override;
  grpc::Status RevokeJwtSubject(grpc::ServerContext*, const jq::RevokeJwtSubjectRequest*,
                                jq::RevokeJwtSubjectResponse*) override;
  grpc::Status ListJwtRevocations(grpc::ServerContext*, const jq::ListJwtRevocationsRequest*,
                                  jq::ListJwtRevocationsResponse*) override;
  grpc::Status CreateTenant(grpc::ServerContext*, const jq::CreateTenantRequest*,
                            jq::CreateTenantResponse*) override;
  grpc::Status UpdateTenant(grpc::ServerContext*, const jq::UpdateTenantRequest*,
                            jq::UpdateTenantResponse*) override;
  grpc::Status ListTenants(grpc::ServerContext*, const jq::ListTenantsRequest*,
                           jq::ListTenantsResponse*) override;

 private:
  ServiceContext ctx_;
};

// Delivers a control message published on the jq_control channel (server/control_message.h)
// to a worker connected to this replica.
void DeliverControl(Dispatcher& dispatcher, const std::string& payload);

}  // namespace jq::server
