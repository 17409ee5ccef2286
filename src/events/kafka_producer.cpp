#include "events/kafka_producer.h"

#include <spdlog/spdlog.h>

#include <array>

namespace jq::events {
namespace {

// librdkafka's log lines (syslog levels) onto spdlog. Runs on librdkafka's threads.
void OnKafkaLog(const rd_kafka_t* /*rk*/, int level, const char* facility, const char* message) {
  if (level <= 4) {
    spdlog::warn("kafka: {} {}", facility, message);
  } else if (level <= 6) {
    spdlog::info("kafka: {} {}", facility, message);
  } else {
    spdlog::debug("kafka: {} {}", facility, message);
  }
}

}  // namespace

Result<ConfPtr> BuildProducerConf(const KafkaClientConfig& client, const std::string& client_id,
                                  const KafkaProperties& role) {
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &OnKafkaLog);
  KafkaProperties props = {{"bootstrap.servers", client.brokers}, {"client.id", client_id}};
  props.insert(props.end(), role.begin(), role.end());
  if (!client.sasl_username.empty()) {
    props.emplace_back("security.protocol", client.security_protocol.empty()
                                                ? "SASL_PLAINTEXT"
                                                : client.security_protocol);
    props.emplace_back("sasl.mechanisms", client.sasl_mechanism);
    props.emplace_back("sasl.username", client.sasl_username);
    props.emplace_back("sasl.password", client.sasl_password);
  } else if (!client.security_protocol.empty()) {
    props.emplace_back("security.protocol", client.security_protocol);
  }
  for (const auto& [k, v] : client.producer_properties) props.emplace_back(k, v);
  std::array<char, 512> err{};
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err.data(), err.size()) !=
        RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument("kafka producer property " + k + ": " + err.data());
    }
  }
  return conf;
}

}  // namespace jq::events
