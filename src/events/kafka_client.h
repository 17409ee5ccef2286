// How jq reaches Kafka: one set of connection and security settings, shared by every
// producer jq runs (the outbox relay and the heartbeat publisher). No librdkafka types here.
#pragma once

#include <map>
#include <string>

namespace jq::events {

struct KafkaClientConfig {
  std::string brokers;  // bootstrap.servers, comma-separated
  // SASL: used when sasl_username is set.
  std::string sasl_username;
  std::string sasl_password;             // secret
  std::string sasl_mechanism = "PLAIN";  // or SCRAM-SHA-256, SCRAM-SHA-512
  // librdkafka security.protocol; empty: SASL_PLAINTEXT with a username, else PLAINTEXT.
  std::string security_protocol;
  // Further librdkafka producer properties (e.g. ssl.ca.location), applied last.
  std::map<std::string, std::string> producer_properties;
};

}  // namespace jq::events
