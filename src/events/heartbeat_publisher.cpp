#include "events/heartbeat_publisher.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>

#include "core/background_loop.h"
#include "events.pb.h"
#include "events/kafka_producer.h"
#include "events/outbox_logic.h"

namespace jq::events {

struct HeartbeatPublisher::Impl {
  ProducerPtr producer;
  std::atomic<std::uint64_t> errors{0};
  // Serves delivery reports so the producer's queue drains. Last: stopped first.
  BackgroundLoop poller{{.name = "jq-hb-kafka"}, [this] {
                          rd_kafka_poll(producer.get(), 200);
                          return BackgroundLoop::Next(BackgroundLoop::kAgain);
                        }};

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) ++static_cast<Impl*>(opaque)->errors;
  }
  ~Impl() {
    poller.Stop();
    if (producer) rd_kafka_flush(producer.get(), 1000);
  }
};

Result<std::unique_ptr<HeartbeatPublisher>> HeartbeatPublisher::Create(
    const KafkaClientConfig& client) {
  auto conf = BuildProducerConf(client, "jq-heartbeats",
                                {{"acks", "1"},  // a lost heartbeat is superseded by the next one
                                 {"linger.ms", "50"},
                                 {"message.timeout.ms", "10000"},
                                 {"queue.buffering.max.messages", "10000"},
                                 {"log_level", "3"}});
  if (!conf.ok()) return conf.status();
  auto impl = std::make_unique<Impl>();
  auto producer = NewProducer(conf->get(), [&](rd_kafka_conf_t* c) {
    rd_kafka_conf_set_opaque(c, impl.get());
    rd_kafka_conf_set_dr_msg_cb(c, &Impl::OnDelivery);
  });
  if (!producer.ok()) return producer.status();
  impl->producer = std::move(producer).value();
  impl->poller.Start();
  return std::unique_ptr<HeartbeatPublisher>(new HeartbeatPublisher(std::move(impl)));
}

HeartbeatPublisher::HeartbeatPublisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HeartbeatPublisher::~HeartbeatPublisher() = default;

void HeartbeatPublisher::Publish(const std::string& worker_id, const std::string& server_id,
                                 int active_job_count,
                                 const std::vector<std::string>& running_job_ids) {
  jq::WorkerHeartbeatMessage msg;
  msg.set_worker_id(worker_id);
  msg.set_server_id(server_id);
  msg.set_active_job_count(active_job_count);
  for (const auto& id : running_job_ids) msg.add_running_job_ids(id);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  msg.mutable_occurred_at()->set_seconds(us / 1000000);
  msg.mutable_occurred_at()->set_nanos(static_cast<int>(us % 1000000) * 1000);
  const std::string value = msg.SerializeAsString();
  const rd_kafka_resp_err_t e =
      rd_kafka_producev(impl_->producer.get(), RD_KAFKA_V_TOPIC(kTopicWorkerHeartbeat.data()),
                        RD_KAFKA_V_KEY(worker_id.data(), worker_id.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) ++impl_->errors;  // queue full: dropped
}

std::uint64_t HeartbeatPublisher::errors_total() const {
  return impl_->errors.load();
}

}  // namespace jq::events
