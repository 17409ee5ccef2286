// The one place jq builds a librdkafka producer (internal to jq_events): the shared
// connection settings, then the role's own delivery settings, then the user's properties;
// configurations and producers owned by RAII handles.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "events/kafka_client.h"

namespace jq::events {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct ProducerDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using ProducerPtr = std::unique_ptr<rd_kafka_t, ProducerDeleter>;

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// A producer configuration: client.id, the role's properties, the connection's (brokers,
// security), then the user's producer_properties; and librdkafka's log lines routed to jq's
// logger (spdlog), so that no producer writes librdkafka's plain-text lines to stderr.
// INVALID_ARGUMENT names the property librdkafka rejects.
Result<ConfPtr> BuildProducerConf(const KafkaClientConfig& client, const std::string& client_id,
                                  const KafkaProperties& role);

// Creates a producer from a copy of conf (conf stays usable; callbacks set on it, the log
// callback among them, are copied). The caller sets the opaque and its own callbacks on the
// copy through `prepare`. INVALID_ARGUMENT with librdkafka's reason.
template <typename Prepare>
Result<ProducerPtr> NewProducer(const rd_kafka_conf_t* conf, Prepare&& prepare) {
  ConfPtr copy(rd_kafka_conf_dup(conf));
  prepare(copy.get());
  char err[512] = {};
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, copy.get(), err, sizeof err);
  if (rk == nullptr) return Status::InvalidArgument(std::string("kafka producer: ") + err);
  copy.release();  // rd_kafka_new took it over
  return ProducerPtr(rk);
}

}  // namespace jq::events
