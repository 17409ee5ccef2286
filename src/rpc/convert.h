// Conversions between jq_core records and the wire protos, and the one place that maps a
// jq::Status to a gRPC status (STYLE.md §5).
#pragma once

#include <grpcpp/support/status.h>

#include "common.pb.h"
#include "core/model.h"
#include "core/status.h"

namespace jq::rpc {

grpc::Status ToGrpc(const Status& s);
// INVALID_ARGUMENT with a message, the common case in request validation.
grpc::Status InvalidArgument(const std::string& message);

void ToTimestamp(TimePoint t, google::protobuf::Timestamp* out);
TimePoint FromTimestamp(const google::protobuf::Timestamp& ts);

void ToProto(const JobRecord& in, jq::Job* out);
void ToProto(const QueueRecord& in, jq::Queue* out);
void ToProto(const QueueStatsRecord& in, jq::QueueStats* out);
void ToProto(const WorkerRecord& in, jq::Worker* out);
void ToProto(const JobEventRecord& in, jq::JobEvent* out);

}  // namespace jq::rpc
