#include "server/retention_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace jq::server {

RetentionLoop::RetentionLoop(JobStore& store, RetentionConfig config, Hooks hooks,
                             const Clock& clock)
    : store_(store),
      config_(config),
      hooks_(std::move(hooks)),
      clock_(clock),
      loop_({.name = "jq-retention", .interval = config_.interval, .run_at_start = false}, [this] {
        bool run_over = false;
        RunBatch(&run_over);
        return NextWait(run_over);
      }) {
  if (config_.done_age.count() > 0) phases_.push_back({JobState::kDone, config_.done_age});
  if (config_.dead_lettered_age.count() > 0) {
    phases_.push_back({JobState::kDeadLettered, config_.dead_lettered_age});
  }
}

void RetentionLoop::EndRun() {
  running_ = false;
  phase_ = 0;
  after_completed_at_.reset();
  after_id_.clear();
}

Result<JobDeleteFinishedResult> RetentionLoop::RunBatch(bool* run_over) {
  *run_over = false;
  if (!running_) {
    running_ = true;
    totals_ = {};
    started_ = clock_.Steady();
  }
  if (phase_ >= phases_.size()) {  // retention is off
    EndRun();
    *run_over = true;
    return JobDeleteFinishedResult{};
  }
  JobDeleteFinishedParams p;
  p.status = phases_[phase_].status;
  p.older_than = phases_[phase_].age;
  p.limit = config_.batch_size;
  p.keep_unpublished = config_.keep_unpublished;
  p.after_completed_at = after_completed_at_;
  p.after_id = after_id_;
  const auto batch_start = clock_.Steady();
  auto r = store_.JobDeleteFinished(p);
  last_batch_ =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Steady() - batch_start);
  if (!r.ok()) {
    spdlog::warn("retention: {}", r.status().ToString());
    EndRun();
    *run_over = true;
    return r;
  }
  ++totals_.batches;
  totals_.jobs += r->jobs;
  totals_.outputs += r->outputs;
  totals_.events += r->events;
  totals_.held_back += r->held_back;
  if (r->jobs > 0 && hooks_.on_batch) hooks_.on_batch(*r);
  if (r->busy) {
    totals_.busy = true;
    spdlog::debug("retention: another replica is deleting; this one waits for its next run");
  }
  // Jobs come in completion order, and so, nearly, do their events: once one has to wait for
  // Kafka, the rest of this status's jobs do too.
  if (r->busy || r->examined < p.limit || r->held_back > 0) {
    ++phase_;
    after_completed_at_.reset();
    after_id_.clear();
  } else {
    after_completed_at_ = r->last_completed_at;
    after_id_ = r->last_id;
  }
  if (r->busy || phase_ >= phases_.size()) {
    totals_.seconds = std::chrono::duration<double>(clock_.Steady() - started_).count();
    if (totals_.jobs > 0) {
      spdlog::info("retention: deleted {} jobs, {} outputs, {} events in {} batches, {:.3f} s",
                   totals_.jobs, totals_.outputs, totals_.events, totals_.batches, totals_.seconds);
    }
    if (totals_.held_back > 0) {
      spdlog::warn(
          "retention: kept {} finished jobs past their age: their events are not yet published "
          "to Kafka (see jq_outbox_lag_events)",
          totals_.held_back);
    }
    if (hooks_.on_run) hooks_.on_run(totals_);
    EndRun();
    *run_over = true;
  }
  return r;
}

BackgroundLoop::Next RetentionLoop::NextWait(bool run_over) const {
  if (run_over) return BackgroundLoop::Next();
  return std::max(config_.batch_pause, last_batch_);
}

Result<RetentionRunTotals> RetentionLoop::RunOnce() {
  for (;;) {
    bool run_over = false;
    auto r = RunBatch(&run_over);
    if (!r.ok()) return r.status();
    if (run_over) return totals_;
  }
}

}  // namespace jq::server
