#include "events/outbox_relay.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "core/background_loop.h"
#include "events/kafka_producer.h"
#include "events/outbox_logic.h"
#include "store/pg_outbox.h"

namespace jq::events {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often the leader reads the backlog (the oldest waiting event, the cursor's idleness)
// while events wait; standbys read it at each lock attempt instead.
constexpr Clock::duration kBacklogInterval = std::chrono::seconds(1);
// A gap that lasts this long is worth naming (most last milliseconds): from then on the relay
// counts as waiting for a transaction and looks the transaction up...
constexpr Clock::duration kBlockedNoticeAfter = std::chrono::seconds(1);
// ...again at most this often.
constexpr Clock::duration kBlockerRefresh = std::chrono::seconds(5);

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The producer settings the relay's guarantees rest on; the connection's and the user's come
// from BuildProducerConf.
Result<ConfPtr> BuildConf(const OutboxRelayConfig& c) {
  return BuildProducerConf(c.client(), "jq-outbox-relay",
                           {
                               // Idempotence gives per-partition order and no duplicates from
                               // librdkafka's own retries.
                               {"enable.idempotence", "true"},
                               {"acks", "all"},
                               {"message.timeout.ms", std::to_string(c.delivery_timeout.count())},
                               {"linger.ms", "5"},
                               // Come back quickly once Kafka is reachable again (the default
                               // backs off up to 10 s).
                               {"reconnect.backoff.ms", "100"},
                               {"reconnect.backoff.max.ms", "2000"},
                           });
}

enum class Delivery { kPending, kDelivered, kFailed };

// One Kafka message: an event on one of its topics (events/outbox_logic.h).
struct Message {
  std::size_t event = 0;   // index into Batch::events
  std::string_view topic;  // a NUL-terminated literal of outbox_logic.h
  Delivery result = Delivery::kPending;
};

// Events handed to the producer, waiting for their delivery reports. An event counts as
// delivered once all of its messages are.
struct Batch {
  std::vector<JobEventRecord> events;
  std::vector<Message> messages;  // in production order, an event's messages side by side
  std::size_t outstanding = 0;
  Clock::time_point started;
};

}  // namespace

KafkaClientConfig OutboxRelayConfig::client() const {
  return {brokers,        sasl_username,     sasl_password,
          sasl_mechanism, security_protocol, producer_properties};
}

Status OutboxRelayConfig::Validate() const {
  if (brokers.empty()) return Status::InvalidArgument("kafka brokers: required");
  if (batch_size < 1 || batch_size > 100000) {
    return Status::InvalidArgument("outbox batch_size: must be 1..100000");
  }
  const auto positive = [](milliseconds v, const char* name) {
    return v.count() > 0
               ? Status::Ok()
               : Status::InvalidArgument(std::string("outbox ") + name + ": must be positive");
  };
  for (const Status& s :
       {positive(poll_interval, "poll_interval"),
        positive(leader_retry_interval, "leader_retry_interval"),
        positive(delivery_timeout, "delivery_timeout"),
        positive(unhealthy_after, "unhealthy_after"), positive(stall_after, "stall_after")}) {
    if (!s.ok()) return s;
  }
  if (shutdown_grace.count() < 0) {
    return Status::InvalidArgument("outbox shutdown_grace: must not be negative");
  }
  if (!sasl_username.empty() && sasl_password.empty()) {
    return Status::InvalidArgument("kafka password: required with a username");
  }
  if (cursor_name.empty()) return Status::InvalidArgument("outbox cursor_name: required");
  return Status::Ok();
}

// Everything below runs on the relay thread unless it says otherwise. librdkafka serves the
// delivery and error callbacks from rd_kafka_poll, i.e. on that thread too.
class OutboxRelay::Impl {
 public:
  Impl(std::string conninfo, OutboxRelayConfig config, ConfPtr conf)
      : conninfo_(std::move(conninfo)),
        config_(std::move(config)),
        conf_template_(std::move(conf)) {}

  ~Impl() { Stop(); }

  void Start() {
    std::lock_guard life(life_mu_);
    if (started_) return;
    started_ = true;
    {
      std::lock_guard lock(stats_mu_);
      stats_.running = true;
      stats_.healthy = true;
      stats_.message = "starting";
    }
    loop_.Start();
  }

  void Stop() {
    std::lock_guard life(life_mu_);
    loop_.Stop();
    // The loop has ended (joined), so its state is this thread's now.
    if (started_) Shutdown();
    started_ = false;
  }

  OutboxRelayStats Stats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }

 private:
  // ---------------------------------------------------------------- loop

  // One step of the relay: wait for the batch in flight, publish the next one as the leader,
  // or try to become the leader. A step that wants to pause says so through Wait().
  BackgroundLoop::Next RunOnce() {
    if (!outbox_) outbox_ = std::make_unique<store::PgOutbox>(conninfo_, config_.cursor_name);
    next_wait_ = std::chrono::milliseconds(0);
    if (batch_) {
      AwaitDeliveries();
    } else if (outbox_->leader()) {
      LeaderStep();
    } else {
      StandbyStep();
    }
    return next_wait_;
  }

  // The loop waits up to d (Stop ends the wait) before the next step.
  void Wait(Clock::duration d) {
    next_wait_ = std::max(next_wait_, std::chrono::ceil<std::chrono::milliseconds>(d));
  }

  void StandbyStep() {
    auto acquired = outbox_->LeaderTryAcquire();
    if (!acquired.ok()) {
      SetHealth(false, "database unavailable: " + acquired.status().message());
      Wait(config_.leader_retry_interval);
      return;
    }
    if (*acquired) {
      auto cursor = outbox_->CursorGet();
      if (!cursor.ok()) {
        SetHealth(false, "database unavailable: " + cursor.status().message());
        Wait(config_.leader_retry_interval);
        return;
      }
      cursor_ = delivered_ = position_ = *cursor;
      horizon_.reset();
      SetBlocked(std::nullopt, 0, 0);
      spdlog::info("outbox relay: this replica publishes now, from event {}", cursor_);
      std::lock_guard lock(stats_mu_);
      stats_.leader = true;
      stats_.cursor = cursor_;
      return;
    }
    // The publisher is elsewhere, but its stall is this replica's to report too: an operator
    // asks whichever replica the address leads to.
    auto backlog = outbox_->BacklogGet();
    if (!backlog.ok()) {
      SetHealth(false, "database unavailable: " + backlog.status().message());
      std::lock_guard lock(stats_mu_);
      stats_.leader = false;
      Wait(config_.leader_retry_interval);
      return;
    }
    AbsorbBacklog(*backlog);
    // The leader stops just before a missing id, so a gap right after the shared cursor is
    // what holds it.
    const bool gap_at_cursor =
        backlog->first_event_id && *backlog->first_event_id > backlog->cursor + 1;
    SetBlocked(gap_at_cursor ? std::optional(backlog->cursor + 1) : std::nullopt, 0, 0);
    {
      std::lock_guard lock(stats_mu_);
      stats_.lag_events = backlog->lag();
    }
    Report(false);
    Wait(config_.leader_retry_interval);
  }

  void LeaderStep() {
    if (Clock::now() < retry_after_) {
      Wait(retry_after_ - Clock::now());
      return;
    }
    if (!PersistCursor()) return;
    if (!EnsureProducer()) return;
    ProbeKafkaIfDown();

    auto page = outbox_->EventListAfter(position_, config_.batch_size);
    if (!page.ok()) {
      DatabaseFailed(page.status());
      return;
    }
    const std::int64_t lag = page->max_event_id - cursor_;
    std::vector<std::int64_t> ids;
    ids.reserve(page->events.size());
    for (const auto& e : page->events) ids.push_back(e.id);
    BatchDecision d = DecideOutboxBatch(position_, ids, page->snapshot_xmin, horizon_);
    if (d.need_horizon) {
      auto xid = outbox_->XidHorizonAcquire();
      if (xid.ok()) horizon_ = GapHorizon{*xid, page->max_event_id};
    }
    std::uint64_t skipped = 0;
    for (const auto& [from, to] : d.skipped) {
      spdlog::warn(
          "outbox relay: event ids {}..{} will never appear (rolled back or unused); skipped", from,
          to);
      skipped += static_cast<std::uint64_t>(to - from + 1);
    }
    {
      std::lock_guard lock(stats_mu_);
      stats_.lag_events = lag;
      stats_.skipped_ids_total += skipped;
    }
    if (lag > 0) {
      RefreshBacklog();
    } else {
      NothingWaits();
    }
    // Every transaction older than the horizon must end before the gap can be skipped; the
    // oldest one running is the snapshot's xmin.
    SetBlocked(d.blocked_at, horizon_ ? horizon_->xid : 0,
               static_cast<std::uint32_t>(page->snapshot_xmin));
    Report(true);

    if (d.publish_count == 0) {
      // Blocked on a gap: its transaction usually commits within milliseconds, so look again
      // soon, backing off towards the idle poll interval.
      if (d.blocked_at) {
        gap_wait_ = std::min<Clock::duration>(
            gap_wait_ == Clock::duration::zero() ? milliseconds(5) : gap_wait_ * 2,
            config_.poll_interval);
        Wait(gap_wait_);
      } else {
        gap_wait_ = Clock::duration::zero();
        Wait(config_.poll_interval);
      }
      return;
    }
    gap_wait_ = Clock::duration::zero();
    SetBlocked(std::nullopt, 0, 0);  // what it waited for has been published or skipped
    page->events.resize(d.publish_count);
    Produce(std::move(page->events));
  }

  // Hands events to the producer, each to each of its topics. On a local refusal the rest of
  // the batch is not sent (it would overtake the refused event) and is read again later.
  void Produce(std::vector<JobEventRecord> events) {
    auto batch = std::make_unique<Batch>();
    batch->started = Clock::now();
    bool refused = false;
    bool fatal = false;
    for (auto& e : events) {
      const std::string value = SerializeJobEvent(e);
      const auto ts_ms =
          std::chrono::duration_cast<milliseconds>(e.occurred_at.time_since_epoch()).count();
      const std::size_t event = batch->events.size();
      batch->events.push_back(std::move(e));
      const JobEventRecord& ev = batch->events.back();
      for (std::string_view topic : EventTopics(ev)) {
        const std::size_t index = batch->messages.size();
        batch->messages.push_back({.event = event, .topic = topic});
        const rd_kafka_resp_err_t err =
            rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(topic.data()),
                              RD_KAFKA_V_KEY(ev.job_id.data(), ev.job_id.size()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(ts_ms),
                              RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(index)), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          // Kept as failed, so that an event whose other topic took it is not counted as
          // delivered.
          batch->messages.back().result = Delivery::kFailed;
          CountError(std::string(topic), rd_kafka_err2str(err));
          spdlog::warn("outbox relay: producing event {} to {} failed: {}", ev.id, topic,
                       rd_kafka_err2str(err));
          retry_after_ = Clock::now() + milliseconds(1000);
          fatal = err == RD_KAFKA_RESP_ERR__FATAL;
          refused = true;
          break;
        }
        ++batch->outstanding;
      }
      if (refused) break;
    }
    if (batch->outstanding > 0) batch_ = std::move(batch);
    if (fatal) ResetProducer();  // fails the batch's messages too
  }

  // Serves delivery reports until the batch is complete (or 100 ms passed).
  void AwaitDeliveries() {
    rd_kafka_poll(producer_.get(), 100);
    if (fatal_) ResetProducer();
    if (batch_ && batch_->outstanding == 0) {
      FinishBatch();
      return;
    }
    if (batch_ && Clock::now() - last_lag_refresh_ >= config_.poll_interval) {
      last_lag_refresh_ = Clock::now();
      if (auto backlog = RefreshBacklog()) {
        std::lock_guard lock(stats_mu_);
        stats_.lag_events = backlog->lag();
      }
      Report(true);
    }
  }

  // The delivered prefix of events moves the cursor; anything after the first event not
  // delivered is read again.
  void FinishBatch() {
    auto batch = std::move(batch_);
    std::vector<bool> delivered(batch->events.size(), true);
    std::uint64_t delivered_messages = 0;
    for (const Message& m : batch->messages) {
      if (m.result == Delivery::kDelivered) {
        ++delivered_messages;
      } else {
        delivered[m.event] = false;
      }
    }
    std::size_t prefix = 0;
    while (prefix < delivered.size() && delivered[prefix]) ++prefix;
    if (prefix > 0) {
      delivered_ = std::max(delivered_, batch->events[prefix - 1].id);
      kafka_down_ = false;
    }
    position_ = delivered_;
    if (prefix < delivered.size()) {
      spdlog::warn("outbox relay: {} of {} events not delivered (first: event {}); resending",
                   delivered.size() - prefix, delivered.size(), batch->events[prefix].id);
      retry_after_ = Clock::now() + milliseconds(1000);
    }
    {
      std::lock_guard lock(stats_mu_);
      stats_.published_total += delivered_messages;
    }
    PersistCursor();
    Report(true);
  }

  // Writes the delivered position when it is ahead of the stored cursor. Any relay may: every
  // id up to delivered_ is in Kafka or a permanent gap. Returns false after a database error.
  bool PersistCursor() {
    if (delivered_ <= cursor_) return true;
    Status s = outbox_->CursorAdvance(delivered_);
    if (!s.ok()) {
      DatabaseFailed(s);
      return false;
    }
    cursor_ = delivered_;
    cursor_moved_ = Clock::now();
    std::lock_guard lock(stats_mu_);
    stats_.cursor = cursor_;
    return true;
  }

  void DatabaseFailed(const Status& s) {
    spdlog::warn("outbox relay: {}", s.message());
    SetHealth(false, "database unavailable: " + s.message());
    if (!outbox_->leader()) {
      spdlog::warn("outbox relay: lost the database session and with it the relay lock");
      std::lock_guard lock(stats_mu_);
      stats_.leader = false;
    }
    Wait(config_.leader_retry_interval);
  }

  // ---------------------------------------------------------------- producer

  bool EnsureProducer() {
    if (producer_) return true;
    auto created = NewProducer(conf_template_.get(), [this](rd_kafka_conf_t* conf) {
      rd_kafka_conf_set_opaque(conf, this);
      rd_kafka_conf_set_dr_msg_cb(conf, &Impl::OnDelivery);
      rd_kafka_conf_set_error_cb(conf, &Impl::OnError);
    });
    if (!created.ok()) {
      spdlog::error("outbox relay: cannot create the {}", created.status().message());
      SetHealth(false, created.status().message());
      Wait(config_.leader_retry_interval);
      return false;
    }
    producer_ = std::move(created).value();
    fatal_ = false;
    return true;
  }

  // After a fatal producer error (e.g. an idempotence sequence the cluster no longer knows):
  // fails what is outstanding and starts over with a new producer instance.
  void ResetProducer() {
    if (!producer_) return;
    std::array<char, 512> why{};
    if (rd_kafka_fatal_error(producer_.get(), why.data(), why.size()) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::error("outbox relay: fatal kafka producer error, recreating it: {}", why.data());
    }
    DestroyProducer();
  }

  // Purges what is queued or in flight, serves the resulting delivery reports, destroys the
  // producer, and fails whatever the batch still waits for.
  void DestroyProducer() {
    if (!producer_) return;
    rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    const auto deadline = Clock::now() + milliseconds(500);
    while (rd_kafka_outq_len(producer_.get()) > 0 && Clock::now() < deadline) {
      rd_kafka_poll(producer_.get(), 50);
    }
    rd_kafka_poll(producer_.get(), 0);
    producer_.reset();
    fatal_ = false;
    if (batch_) {
      for (Message& m : batch_->messages) {
        if (m.result == Delivery::kPending) {
          m.result = Delivery::kFailed;
          CountError(std::string(m.topic), "producer destroyed");
        }
      }
      batch_->outstanding = 0;
      FinishBatch();
    }
  }

  // While Kafka is known to be down and nothing is in flight, nothing would tell us it is back:
  // ask for metadata now and then (blocks up to 1 s).
  void ProbeKafkaIfDown() {
    if (!kafka_down_ || Clock::now() - last_probe_ < std::chrono::seconds(5)) return;
    last_probe_ = Clock::now();
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(producer_.get(), 0, nullptr, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_metadata_destroy(md);
      kafka_down_ = false;
      spdlog::info("outbox relay: kafka reachable again");
    }
  }

  static void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) {
    static_cast<Impl*>(opaque)->Delivered(m);
  }

  static void OnError(rd_kafka_t* /*rk*/, int err, const char* reason, void* opaque) {
    static_cast<Impl*>(opaque)->KafkaError(static_cast<rd_kafka_resp_err_t>(err), reason);
  }

  void Delivered(const rd_kafka_message_t* m) {
    const auto i = reinterpret_cast<std::size_t>(m->_private);
    if (!batch_ || i >= batch_->messages.size() ||
        batch_->messages[i].result != Delivery::kPending) {
      return;  // cannot happen: a batch ends only when every report is in
    }
    Message& sent = batch_->messages[i];
    --batch_->outstanding;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      sent.result = Delivery::kDelivered;
      return;
    }
    sent.result = Delivery::kFailed;
    CountError(std::string(sent.topic), rd_kafka_err2str(m->err));
  }

  void KafkaError(rd_kafka_resp_err_t err, const char* reason) {
    last_kafka_error_ = reason;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      fatal_ = true;
      return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
        err == RD_KAFKA_RESP_ERR__RESOLVE || err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
      if (!kafka_down_) spdlog::warn("outbox relay: kafka: {}", reason);
      if (err != RD_KAFKA_RESP_ERR__TRANSPORT) kafka_down_ = true;
    }
  }

  void CountError(const std::string& topic, const std::string& why) {
    last_kafka_error_ = why;
    std::lock_guard lock(stats_mu_);
    ++stats_.publish_errors_total[topic];
  }

  // ---------------------------------------------------------------- stalls

  // The backlog as the database sees it, at most every kBacklogInterval; empty when not read.
  // A failure leaves the figures as they were; one that cost the session (and the lock) is
  // reported like any other.
  std::optional<store::OutboxBacklog> RefreshBacklog() {
    if (Clock::now() - last_backlog_ < kBacklogInterval) return std::nullopt;
    auto backlog = outbox_->BacklogGet();
    if (!backlog.ok()) {
      if (!outbox_->leader()) DatabaseFailed(backlog.status());
      return std::nullopt;
    }
    AbsorbBacklog(*backlog);
    return *backlog;
  }

  // Ages become points on this process's steady clock, so they keep growing between reads
  // without depending on the two hosts' clocks agreeing.
  void AbsorbBacklog(const store::OutboxBacklog& b) {
    const auto now = Clock::now();
    last_backlog_ = now;
    const auto ago = [now](double s) {
      return now - std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(std::max(0.0, s)));
    };
    oldest_waiting_since_ =
        b.first_event_id ? std::optional(ago(b.first_event_age_seconds)) : std::nullopt;
    // A move this relay made is newer than what it read before making it.
    cursor_moved_ = std::max(cursor_moved_, ago(b.cursor_idle_seconds));
  }

  void NothingWaits() {
    oldest_waiting_since_.reset();
    last_backlog_ = {};  // read at once when something waits again
  }

  // blocked_at: the missing id holding the relay (empty: none). below_xid: the gap's horizon
  // (0: none). fallback_xid: the oldest transaction running, named if the lookup finds none.
  void SetBlocked(std::optional<std::int64_t> blocked_at, std::uint64_t below_xid,
                  std::uint64_t fallback_xid) {
    const auto now = Clock::now();
    if (!blocked_at) {
      blocked_at_.reset();
      blocker_.reset();
      return;
    }
    if (blocked_at_ != blocked_at) {
      blocked_since_ = now;
      blocker_.reset();
      blocker_checked_ = {};
    }
    blocked_at_ = blocked_at;
    if (fallback_xid != 0) fallback_xid_ = fallback_xid;
    if (now - blocked_since_ < kBlockedNoticeAfter || now - blocker_checked_ < kBlockerRefresh) {
      return;
    }
    blocker_checked_ = now;
    auto open = outbox_->OpenTransactionsGet(below_xid);
    if (open.ok() && open->oldest) {
      const store::OpenTransaction& t = *open->oldest;
      blocker_ = BlockingTransaction{.xid = t.xid,
                                     .pid = t.pid,
                                     .prepared_gid = t.prepared_gid,
                                     .user = t.user,
                                     .database = t.database,
                                     .application = t.application,
                                     .state = t.state,
                                     .started_at = t.started_at,
                                     .older_than_gap = below_xid != 0 ? open->count : 0};
      blocker_since_.reset();
      if (t.age_seconds) {
        blocker_since_ = now - std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(*t.age_seconds));
      }
    } else if (fallback_xid_ != 0 && below_xid != 0) {
      // Ended meanwhile, or not shown to this role: the snapshot still names it.
      blocker_ = BlockingTransaction{.xid = fallback_xid_};
      blocker_since_.reset();
    } else {
      blocker_.reset();
    }
  }

  // ---------------------------------------------------------------- health

  void SetHealth(bool healthy, std::string message) {
    std::lock_guard lock(stats_mu_);
    stats_.healthy = healthy;
    stats_.message = std::move(message);
  }

  // Recomputes the stall figures and the status line. leader: this replica publishes (unless
  // this step lost the session: DatabaseFailed has said so, and the next step stands by).
  void Report(bool leader) {
    if (leader && !(outbox_ && outbox_->leader())) {
      std::lock_guard lock(stats_mu_);
      stats_.leader = false;
      return;
    }
    const auto now = Clock::now();
    const double oldest = oldest_waiting_since_ ? Seconds(now - *oldest_waiting_since_) : 0;
    const bool stalled = OutboxStalled(oldest_waiting_since_.has_value(), oldest,
                                       Seconds(now - cursor_moved_), config_.stall_after);
    const bool waiting_tx = blocked_at_ && now - blocked_since_ >= kBlockedNoticeAfter;
    std::optional<BlockingTransaction> blocker;
    if (waiting_tx) {
      blocker = blocker_;
      if (!blocker && leader && fallback_xid_ != 0)
        blocker = BlockingTransaction{.xid = fallback_xid_};
    }
    std::string kafka_problem;
    if (leader) {
      const bool undelivered = batch_ && now - batch_->started >= config_.unhealthy_after;
      if (undelivered || (kafka_down_ && !batch_)) {
        kafka_problem =
            "kafka unreachable: " +
            (last_kafka_error_.empty() ? std::string("no delivery reports") : last_kafka_error_);
      }
    }

    std::lock_guard lock(stats_mu_);
    const bool was_stalled = stats_.stalled;
    stats_.leader = leader;
    stats_.oldest_unpublished_age_seconds = oldest;
    stats_.stalled = stalled;
    stats_.waiting_for_transaction = waiting_tx;
    stats_.blocking_xid = blocker ? blocker->xid : 0;
    stats_.blocking_transaction_age_seconds =
        waiting_tx && blocker_ && blocker_since_ ? Seconds(now - *blocker_since_) : 0;
    const std::string lag = "lag " + std::to_string(stats_.lag_events);
    if (stalled) {
      stats_.healthy = false;
      stats_.message = DescribeStall({.waiting_events = stats_.lag_events,
                                      .waiting_seconds = oldest,
                                      .blocker = blocker,
                                      .cause = kafka_problem,
                                      .standby = !leader});
    } else if (!kafka_problem.empty()) {
      stats_.healthy = false;
      stats_.message = kafka_problem + " (" + lag + ")";
    } else if (!leader) {
      stats_.healthy = true;
      stats_.message = "standby (another replica publishes), " + lag;
    } else if (blocked_at_) {
      stats_.healthy = true;
      stats_.message = "publishing, " + lag + " (waiting for the transaction of event " +
                       std::to_string(*blocked_at_) + ")";
    } else {
      stats_.healthy = true;
      stats_.message = "publishing, " + lag;
    }
    if (stalled && !was_stalled) {
      spdlog::warn("outbox relay: {}", stats_.message);
    } else if (!stalled && was_stalled) {
      spdlog::info("outbox relay: publishing again, {}", lag);
    }
  }

  // ---------------------------------------------------------------- shutdown

  void Shutdown() {
    if (batch_) {
      const auto deadline = Clock::now() + config_.shutdown_grace;
      while (batch_ && batch_->outstanding > 0 && Clock::now() < deadline && !fatal_) {
        rd_kafka_poll(producer_.get(), 50);
      }
      if (batch_ && batch_->outstanding == 0) FinishBatch();
    }
    DestroyProducer();  // fails and finishes a batch that is still out
    PersistCursor();
    outbox_->Close();
    outbox_.reset();
    batch_.reset();
    kafka_down_ = false;
    retry_after_ = {};
    NothingWaits();
    blocked_at_.reset();
    blocker_.reset();
    std::lock_guard lock(stats_mu_);
    stats_.running = false;
    stats_.leader = false;
    stats_.healthy = false;
    stats_.stalled = false;
    stats_.waiting_for_transaction = false;
    stats_.blocking_xid = 0;
    stats_.blocking_transaction_age_seconds = 0;
    stats_.message = "stopped";
  }

  const std::string conninfo_;
  const OutboxRelayConfig config_;
  const ConfPtr conf_template_;

  std::mutex life_mu_;    // serializes Start/Stop
  bool started_ = false;  // GUARDED_BY(life_mu_)

  mutable std::mutex stats_mu_;
  OutboxRelayStats stats_;  // GUARDED_BY(stats_mu_)

  // Relay thread only.
  std::unique_ptr<store::PgOutbox> outbox_;
  ProducerPtr producer_;
  std::unique_ptr<Batch> batch_;
  std::int64_t cursor_ = 0;     // the stored cursor, as last read or written
  std::int64_t delivered_ = 0;  // every id up to here is delivered or a permanent gap
  std::int64_t position_ = 0;   // the next read starts after this id
  std::optional<GapHorizon> horizon_;
  Clock::duration gap_wait_ = Clock::duration::zero();
  // Stall watch (see Report).
  Clock::time_point last_backlog_;
  std::optional<Clock::time_point> oldest_waiting_since_;  // empty: nothing waits
  Clock::time_point cursor_moved_;                         // by this relay or, as last read, by any
  std::optional<std::int64_t> blocked_at_;                 // the missing id holding the relay
  Clock::time_point blocked_since_;
  std::uint64_t fallback_xid_ = 0;  // the blocked read's snapshot xmin (32 bits)
  std::optional<BlockingTransaction> blocker_;
  std::optional<Clock::time_point> blocker_since_;  // its xact_start; empty: hidden
  Clock::time_point blocker_checked_;
  Clock::time_point retry_after_;
  Clock::time_point last_lag_refresh_;
  Clock::time_point last_probe_;
  bool kafka_down_ = false;
  bool fatal_ = false;
  std::string last_kafka_error_;
  std::chrono::milliseconds next_wait_{0};
  // Last: stopped (in ~Impl) before the members its steps use go away.
  BackgroundLoop loop_{{.name = "jq-outbox", .interval = std::chrono::seconds(1)},
                       [this] { return RunOnce(); }};
};

Result<std::unique_ptr<OutboxRelay>> OutboxRelay::Create(std::string conninfo,
                                                         OutboxRelayConfig config) {
  if (Status s = config.Validate(); !s.ok()) return s;
  auto conf = BuildConf(config);
  if (!conf.ok()) return conf.status();
  return std::unique_ptr<OutboxRelay>(new OutboxRelay(
      std::make_unique<Impl>(std::move(conninfo), std::move(config), std::move(conf).value())));
}

OutboxRelay::OutboxRelay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OutboxRelay::~OutboxRelay() = default;

void OutboxRelay::Start() {
  impl_->Start();
}
void OutboxRelay::Stop() {
  impl_->Stop();
}
OutboxRelayStats OutboxRelay::Stats() const {
  return impl_->Stats();
}
std::int64_t OutboxRelay::outbox_lag_events() const {
  return impl_->Stats().lag_events;
}
std::map<std::string, std::uint64_t> OutboxRelay::publish_errors_total() const {
  return impl_->Stats().publish_errors_total;
}
bool OutboxRelay::is_leader() const {
  return impl_->Stats().leader;
}
bool OutboxRelay::healthy() const {
  return impl_->Stats().healthy;
}
std::string OutboxRelay::health_message() const {
  return impl_->Stats().message;
}

}  // namespace jq::events
