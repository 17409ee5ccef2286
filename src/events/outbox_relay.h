// OutboxRelay: publishes job_events (the transactional outbox) to Kafka (SPEC §3, §8).
//
// Every replica runs one; a session advisory lock in PostgreSQL lets exactly one of them
// publish at a time. The others stand by and retry the lock every leader_retry_interval, so
// when the leader's process dies (its session closes, the lock frees) another takes over.
//
// The leader reads events in id order from its cursor (outbox_cursors), hands a batch to an
// idempotent librdkafka producer (acks=all), waits for the delivery reports, and only then
// moves the cursor past the delivered prefix. Delivery is therefore at least once: a crash
// between delivery and the cursor update, a lost leadership or a failed delivery re-sends
// events, and consumers de-duplicate on jq.JobEvent.id. An event goes to one or two topics
// (events/outbox_logic.h) and is delivered once every one of them has it. Events of one job
// keep their order within a topic: they share a key (partition), and a batch is sent only after
// the previous one is delivered. Ids missing from the sequence hold the relay back until they are
// provably permanent (see events/outbox_logic.h).
//
// It is a background service only: job transitions never wait for it. When Kafka is down,
// events accumulate in PostgreSQL and go out when it returns; when PostgreSQL is down, the
// relay retries.
//
// Stalls: when events wait and the cursor has not moved for stall_after, the relay reports
// itself unhealthy with why ("stalled: N events waiting for M s behind transaction X ..."):
// usually an open transaction older than a gap's horizon, which it names from
// pg_stat_activity. Standby replicas watch the shared cursor and report the same stall, so
// every replica's status shows it.
//
// Thread-safety: all methods may be called from any thread. Start() and Stop() are
// idempotent; Stop() blocks until the relay thread has ended: up to shutdown_grace for
// in-flight deliveries, plus at most one database call (10 s statement timeout).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/status.h"
#include "events/kafka_client.h"

namespace jq::events {

struct OutboxRelayConfig {
  std::string brokers;   // bootstrap.servers, comma-separated; required
  int batch_size = 500;  // events per read and per delivery round
  // When caught up, how often to look for new events.
  std::chrono::milliseconds poll_interval{200};
  // Standby replicas: how often to try to become the publisher.
  std::chrono::milliseconds leader_retry_interval{1000};
  // librdkafka message.timeout.ms: a batch not delivered by then fails and is sent again.
  std::chrono::milliseconds delivery_timeout{60000};
  // A batch still undelivered after this long makes healthy() false.
  std::chrono::milliseconds unhealthy_after{5000};
  // Events waiting this long with the cursor standing still is a stall: healthy() false and
  // the message names the cause (kafka.outbox_stall_seconds).
  std::chrono::milliseconds stall_after{60000};
  // Stop() waits this long for in-flight deliveries, so their cursor update is not lost.
  std::chrono::milliseconds shutdown_grace{2000};
  // SASL: used when sasl_username is set.
  std::string sasl_username;
  std::string sasl_password;             // secret
  std::string sasl_mechanism = "PLAIN";  // or SCRAM-SHA-256, SCRAM-SHA-512
  // librdkafka security.protocol; empty: SASL_PLAINTEXT with a username, else PLAINTEXT.
  std::string security_protocol;
  // Further librdkafka producer properties (e.g. ssl.ca.location), applied last.
  std::map<std::string, std::string> producer_properties;
  // The outbox_cursors row; relays with different names publish independently.
  std::string cursor_name = "kafka";

  // Range and consistency checks; errors name the field.
  Status Validate() const;
  // The connection settings above, as every jq producer takes them.
  KafkaClientConfig client() const;
};

// A point-in-time copy of the relay's state, for metrics and `jq-ctl status`.
struct OutboxRelayStats {
  bool running = false;
  bool leader = false;   // this replica holds the lock and publishes
  bool healthy = false;  // false: Kafka or PostgreSQL unreachable (see message)
  // e.g. "publishing, lag 0", "standby (another replica publishes), lag 12",
  // "kafka unreachable: ...", "database unavailable: ...".
  std::string message;
  // max(job_events.id) - cursor, refreshed every loop; -1 until first read. Ids lost to
  // rolled-back transactions count until the relay passes them.
  std::int64_t lag_events = -1;
  std::int64_t cursor = 0;  // last cursor this replica read or wrote
  // Messages delivered by this replica (duplicates too; an event on two topics is two).
  std::uint64_t published_total = 0;
  std::uint64_t skipped_ids_total = 0;                        // ids skipped as permanent gaps
  std::map<std::string, std::uint64_t> publish_errors_total;  // failed deliveries, by topic

  // How long the oldest event not yet published (the first after the cursor) has waited, by
  // the database's clock; 0 when none waits. Read about once a second, by standbys too.
  double oldest_unpublished_age_seconds = 0;
  // Events wait and the cursor has not moved for stall_after (healthy is false, message says
  // "stalled: ..." and why).
  bool stalled = false;
  // Held for a second or more at a missing id whose transaction may still commit: waiting for
  // open transactions to end (events/outbox_logic.h). A standby infers it from the cursor.
  bool waiting_for_transaction = false;
  // While waiting_for_transaction: the oldest open transaction holding it back, as
  // pg_stat_activity.backend_xid shows it (0: not known yet), and its age (0: hidden from
  // this role, or not known).
  std::uint64_t blocking_xid = 0;
  double blocking_transaction_age_seconds = 0;
};

class OutboxRelay {
 public:
  // conninfo: libpq connection string of jq's database (schema migrated). Returns
  // INVALID_ARGUMENT for a bad config or a producer property librdkafka rejects. Does not
  // connect to anything.
  static Result<std::unique_ptr<OutboxRelay>> Create(std::string conninfo,
                                                     OutboxRelayConfig config);
  ~OutboxRelay();  // Stop()s
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  // Starts the relay thread. Never blocks on PostgreSQL or Kafka.
  void Start();
  // Stops publishing and releases the lock (another replica takes over).
  void Stop();

  OutboxRelayStats Stats() const;
  // Shorthands for Stats() fields.
  std::int64_t outbox_lag_events() const;
  std::map<std::string, std::uint64_t> publish_errors_total() const;
  bool is_leader() const;
  bool healthy() const;
  std::string health_message() const;

 private:
  class Impl;
  explicit OutboxRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jq::events
