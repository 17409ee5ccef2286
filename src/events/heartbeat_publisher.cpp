#include "events/heartbeat_publisher.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "events.pb.h"

namespace jq::events {

inline constexpr const char* kHeartbeatTopic = "worker.heartbeat";

struct HeartbeatPublisher::Impl {
  rd_kafka_t* rk = nullptr;
  std::atomic<std::uint64_t> errors{0};
  std::atomic<bool> stop{false};
  std::thread poller;  // serves delivery reports so the queue drains

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) ++static_cast<Impl*>(opaque)->errors;
  }
  ~Impl() {
    stop = true;
    if (poller.joinable()) poller.join();
    if (rk != nullptr) {
      rd_kafka_flush(rk, 1000);
      rd_kafka_destroy(rk);
    }
  }
};

Result<std::unique_ptr<HeartbeatPublisher>> HeartbeatPublisher::Create(
    const std::string& brokers, const std::string& sasl_username,
    const std::string& sasl_password) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", brokers},
      {"acks", "1"},  // a lost heartbeat is superseded by the next one
      {"linger.ms", "50"},
      {"message.timeout.ms", "10000"},
      {"queue.buffering.max.messages", "10000"},
      {"log_level", "3"}};
  if (!sasl_username.empty()) {
    props.push_back({"security.protocol", "SASL_PLAINTEXT"});
    props.push_back({"sasl.mechanisms", "PLAIN"});
    props.push_back({"sasl.username", sasl_username});
    props.push_back({"sasl.password", sasl_password});
  }
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument("kafka: " + k + ": " + err);
    }
  }
  auto impl = std::make_unique<Impl>();
  rd_kafka_conf_set_opaque(conf, impl.get());
  rd_kafka_conf_set_dr_msg_cb(conf, &Impl::OnDelivery);
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (impl->rk == nullptr) return Status::InvalidArgument(std::string("kafka: ") + err);
  Impl* raw = impl.get();
  impl->poller = std::thread([raw] {
    while (!raw->stop) rd_kafka_poll(raw->rk, 200);
  });
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
      rd_kafka_producev(impl_->rk, RD_KAFKA_V_TOPIC(kHeartbeatTopic),
                        RD_KAFKA_V_KEY(worker_id.data(), worker_id.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) ++impl_->errors;  // queue full: dropped
}

std::uint64_t HeartbeatPublisher::errors_total() const {
  return impl_->errors.load();
}

}  // namespace jq::events
