#include "rpc/convert.h"

#include <chrono>

namespace jq::rpc {

grpc::Status ToGrpc(const Status& s) {
  using G = grpc::StatusCode;
  G code = G::UNKNOWN;
  switch (s.code()) {
    case StatusCode::kOk: return grpc::Status::OK;
    case StatusCode::kInvalidArgument: code = G::INVALID_ARGUMENT; break;
    case StatusCode::kNotFound: code = G::NOT_FOUND; break;
    case StatusCode::kAlreadyExists: code = G::ALREADY_EXISTS; break;
    case StatusCode::kFailedPrecondition: code = G::FAILED_PRECONDITION; break;
    case StatusCode::kResourceExhausted: code = G::RESOURCE_EXHAUSTED; break;
    case StatusCode::kUnauthenticated: code = G::UNAUTHENTICATED; break;
    case StatusCode::kPermissionDenied: code = G::PERMISSION_DENIED; break;
    case StatusCode::kUnavailable: code = G::UNAVAILABLE; break;
    case StatusCode::kInternal: code = G::INTERNAL; break;
  }
  return {code, s.message()};
}

grpc::Status InvalidArgument(const std::string& message) {
  return {grpc::StatusCode::INVALID_ARGUMENT, message};
}

void ToTimestamp(TimePoint t, google::protobuf::Timestamp* out) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  out->set_seconds(us / 1000000);
  out->set_nanos(static_cast<int>((us % 1000000) * 1000));
}

TimePoint FromTimestamp(const google::protobuf::Timestamp& ts) {
  return TimePoint(std::chrono::seconds(ts.seconds()) + std::chrono::nanoseconds(ts.nanos()));
}

void ToProto(const JobRecord& in, jq::Job* out) {
  out->set_job_id(in.id);
  out->set_queue_name(in.queue);
  out->set_payload(in.payload);
  out->set_priority(in.priority);
  out->set_status(static_cast<jq::JobStatus>(in.status));
  out->set_max_retries(in.max_retries);
  out->set_retry_count(in.retry_count);
  ToTimestamp(in.created_at, out->mutable_created_at());
  if (in.started_at) ToTimestamp(*in.started_at, out->mutable_started_at());
  if (in.completed_at) ToTimestamp(*in.completed_at, out->mutable_completed_at());
  out->set_worker_id(in.worker_id);
  out->set_result(in.result);
  ToTimestamp(in.not_before, out->mutable_not_before());
  out->set_error_message(in.error_message);
  out->set_ttl_seconds(in.ttl_seconds);
  out->set_timeout_seconds(in.timeout_seconds);
  out->set_idempotency_key(in.idempotency_key);
  out->set_tenant(in.tenant);
  out->set_attempt(in.attempt);
  ToTimestamp(in.updated_at, out->mutable_updated_at());
}

void ToProto(const QueueRecord& in, jq::Queue* out) {
  out->set_name(in.name);
  out->set_max_retries(in.max_retries);
  out->set_ttl_seconds(in.ttl_seconds);
  ToTimestamp(in.created_at, out->mutable_created_at());
  out->set_timeout_seconds(in.timeout_seconds);
  out->set_concurrency_limit(in.concurrency_limit);
  out->set_paused(in.paused);
  out->set_backoff_base_ms(in.backoff_base_ms);
  out->set_backoff_max_ms(in.backoff_max_ms);
}

void ToProto(const QueueStatsRecord& in, jq::QueueStats* out) {
  out->set_queue_name(in.queue);
  out->set_pending_count(in.pending);
  out->set_running_count(in.running);
  out->set_failed_count(in.failed);
  out->set_done_count(in.done);
  out->set_dead_letter_count(in.dead_lettered);
  out->set_total_processed(in.total_processed);
  out->set_avg_duration_ms(in.avg_duration_ms);
  out->set_error_rate(in.error_rate);
  out->set_assigned_count(in.assigned);
  out->set_oldest_pending_age_seconds(in.oldest_pending_age_seconds);
  out->set_paused(in.paused);
}

void ToProto(const WorkerRecord& in, jq::Worker* out) {
  out->set_worker_id(in.id);
  out->set_hostname(in.hostname);
  out->set_status(static_cast<jq::WorkerStatus>(in.status));
  out->set_concurrency(in.concurrency);
  out->set_active_job_count(in.active_job_count);
  ToTimestamp(in.last_heartbeat, out->mutable_last_heartbeat());
  for (const auto& q : in.queues) out->add_queues(q);
}

void ToProto(const JobEventRecord& in, jq::JobEvent* out) {
  out->set_id(in.id);
  out->set_job_id(in.job_id);
  out->set_from_status(static_cast<jq::JobStatus>(in.from_status));
  out->set_to_status(static_cast<jq::JobStatus>(in.to_status));
  out->set_worker_id(in.worker_id);
  out->set_reason(in.reason);
  ToTimestamp(in.occurred_at, out->mutable_occurred_at());
  out->set_attempt(in.attempt);
  out->set_queue_name(in.queue);
  out->set_tenant(in.tenant);
  out->set_actor(in.actor);
}

}  // namespace jq::rpc
