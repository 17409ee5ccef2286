#include "bench/submitter.h"

#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace jq::bench {
namespace {

bool Aborted(const std::atomic<bool>* abort) {
  return abort != nullptr && abort->load(std::memory_order_relaxed);
}

jq::SubmitJobRequest JobRequest(const SubmitLoad& load) {
  jq::SubmitJobRequest r;
  r.set_queue_name(load.queue);
  r.set_payload(MakePayload(load.command_json, load.payload_bytes));
  return r;
}

jq::SubmitJobsRequest BatchRequest(const jq::SubmitJobRequest& job, int n) {
  jq::SubmitJobsRequest r;
  r.mutable_jobs()->Reserve(n);
  for (int i = 0; i < n; ++i) *r.add_jobs() = job;
  return r;
}

// A fixed number of calls in flight: each answer issues the next call from the callback.
// The requests are built once and shared (read-only) by every call.
class ClosedLoop {
 public:
  ClosedLoop(Clients& clients, const SubmitLoad& load, RunStats& stats)
      : clients_(clients), load_(load), stats_(stats), job_(JobRequest(load)) {
    unit_ = load.batch_size > 0 ? static_cast<std::uint64_t>(load.batch_size) : 1;
    if (load.batch_size > 0) {
      batch_ = BatchRequest(job_, load.batch_size);
      if (load.total % unit_ != 0) tail_ = BatchRequest(job_, static_cast<int>(load.total % unit_));
    }
  }

  LoadResult Run() {
    start_ns_ = NowNs();
    end_ns_ = load_.duration_seconds > 0
                  ? start_ns_ + static_cast<std::int64_t>(load_.duration_seconds * 1e9)
                  : INT64_MAX;
    last_done_ns_.store(start_ns_);
    slots_.resize(static_cast<std::size_t>(std::max(load_.concurrency, 1)));
    {
      std::lock_guard lock(mu_);
      active_ = 0;
    }
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      slots_[i].index = i;
      const std::uint64_t n = Claim();
      if (n == 0) break;
      {
        std::lock_guard lock(mu_);
        ++active_;
      }
      Issue(slots_[i], n);
    }
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return active_ == 0; });
    LoadResult r;
    r.jobs = jobs_.load();
    r.calls = calls_.load();
    r.seconds = static_cast<double>(last_done_ns_.load() - start_ns_) / 1e9;
    return r;
  }

 private:
  struct Slot {
    std::size_t index = 0;
    std::unique_ptr<grpc::ClientContext> ctx;
    jq::SubmitJobResponse resp;
    jq::SubmitJobsResponse batch_resp;
    std::int64_t start_ns = 0;
    std::uint64_t n = 0;
  };

  // The jobs of the next call; 0 = stop.
  std::uint64_t Claim() {
    if (Aborted(load_.abort) || NowNs() >= end_ns_) return 0;
    if (load_.total == 0) return unit_;
    const std::uint64_t before = claimed_.fetch_add(unit_, std::memory_order_relaxed);
    if (before >= load_.total) return 0;
    return std::min(unit_, load_.total - before);
  }

  void Issue(Slot& s, std::uint64_t n) {
    s.ctx = std::make_unique<grpc::ClientContext>();
    SetCallDeadline(*s.ctx);
    s.n = n;
    s.start_ns = NowNs();
    auto done = [this, &s](grpc::Status st) { OnDone(s, st); };
    if (load_.batch_size == 0) {
      clients_.jobs(s.index).async()->SubmitJob(s.ctx.get(), &job_, &s.resp, std::move(done));
    } else {
      const jq::SubmitJobsRequest* req = n == unit_ ? &batch_ : &tail_;
      clients_.jobs(s.index).async()->SubmitJobs(s.ctx.get(), req, &s.batch_resp, std::move(done));
    }
  }

  void OnDone(Slot& s, const grpc::Status& st) {
    const std::int64_t now = NowNs();
    if (st.ok()) {
      stats_.call_latency.RecordNs(now - s.start_ns);
      stats_.jobs.fetch_add(s.n, std::memory_order_relaxed);
      stats_.calls.fetch_add(1, std::memory_order_relaxed);
      jobs_.fetch_add(s.n, std::memory_order_relaxed);
      calls_.fetch_add(1, std::memory_order_relaxed);
      std::int64_t seen = last_done_ns_.load(std::memory_order_relaxed);
      while (now > seen && !last_done_ns_.compare_exchange_weak(seen, now)) {
      }
    } else {
      stats_.errors.Record(load_.batch_size == 0 ? "SubmitJob" : "SubmitJobs", st);
    }
    if (const std::uint64_t n = Claim(); n > 0) {
      Issue(s, n);
      return;
    }
    std::lock_guard lock(mu_);
    if (--active_ == 0) cv_.notify_all();
  }

  Clients& clients_;
  const SubmitLoad& load_;
  RunStats& stats_;
  const jq::SubmitJobRequest job_;
  jq::SubmitJobsRequest batch_, tail_;
  std::uint64_t unit_ = 1;
  std::int64_t start_ns_ = 0;
  std::int64_t end_ns_ = INT64_MAX;
  std::atomic<std::uint64_t> claimed_{0};
  std::atomic<std::uint64_t> jobs_{0};
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::int64_t> last_done_ns_{0};
  std::vector<Slot> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;  // guarded by mu_: slots with a call in flight
};

// Calls at a fixed rate whatever the answers do (up to kMaxInFlight outstanding), paced by the
// calling thread; each call owns its state and frees it in its callback.
class OpenLoop {
 public:
  OpenLoop(Clients& clients, const SubmitLoad& load, RunStats& stats)
      : clients_(clients), load_(load), stats_(stats), job_(JobRequest(load)) {}

  LoadResult Run() {
    const std::int64_t start = NowNs();
    const std::int64_t end = load_.duration_seconds > 0
                                 ? start + static_cast<std::int64_t>(load_.duration_seconds * 1e9)
                                 : INT64_MAX;
    last_done_ns_.store(start);
    const double interval_ns = 1e9 / load_.rate;
    std::uint64_t sent = 0;
    std::size_t channel = 0;
    for (;;) {
      const std::int64_t now = NowNs();
      if (now >= end || Aborted(load_.abort) || (load_.total > 0 && sent >= load_.total)) break;
      const auto due =
          static_cast<std::uint64_t>(static_cast<double>(now - start) / interval_ns) + 1;
      while (sent < due && (load_.total == 0 || sent < load_.total) &&
             in_flight_.load(std::memory_order_relaxed) < kMaxInFlight) {
        Issue(channel++);
        ++sent;
      }
      const auto next = start + static_cast<std::int64_t>(static_cast<double>(sent) * interval_ns);
      const std::int64_t wait = std::max<std::int64_t>(next - NowNs(), 20'000);
      std::this_thread::sleep_for(
          std::chrono::nanoseconds(std::min<std::int64_t>(wait, 5'000'000)));
    }
    while (in_flight_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    LoadResult r;
    r.jobs = jobs_.load();
    r.calls = jobs_.load();
    r.seconds = static_cast<double>(last_done_ns_.load() - start) / 1e9;
    return r;
  }

 private:
  static constexpr std::int64_t kMaxInFlight = 100000;
  struct Call {
    grpc::ClientContext ctx;
    jq::SubmitJobRequest req;
    jq::SubmitJobResponse resp;
    std::int64_t start_ns = 0;
  };

  void Issue(std::size_t channel) {
    auto* call = new Call;
    SetCallDeadline(call->ctx);
    call->start_ns = NowNs();
    const jq::SubmitJobRequest* req = &job_;
    if (load_.stamp) {
      call->req.set_queue_name(load_.queue);
      call->req.set_payload(MakePayload(load_.command_json, load_.payload_bytes, call->start_ns));
      req = &call->req;
    }
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    clients_.jobs(channel).async()->SubmitJob(&call->ctx, req, &call->resp,
                                              [this, call](grpc::Status st) {
                                                OnDone(call, st);
                                                delete call;
                                              });
  }

  void OnDone(Call* call, const grpc::Status& st) {
    const std::int64_t now = NowNs();
    if (st.ok()) {
      stats_.call_latency.RecordNs(now - call->start_ns);
      stats_.jobs.fetch_add(1, std::memory_order_relaxed);
      stats_.calls.fetch_add(1, std::memory_order_relaxed);
      jobs_.fetch_add(1, std::memory_order_relaxed);
      std::int64_t seen = last_done_ns_.load(std::memory_order_relaxed);
      while (now > seen && !last_done_ns_.compare_exchange_weak(seen, now)) {
      }
    } else {
      stats_.errors.Record("SubmitJob", st);
    }
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
  }

  Clients& clients_;
  const SubmitLoad& load_;
  RunStats& stats_;
  const jq::SubmitJobRequest job_;
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> jobs_{0};
  std::atomic<std::int64_t> last_done_ns_{0};
};

}  // namespace

std::string MakePayload(std::string_view command_json, int bytes,
                        std::optional<std::int64_t> stamp) {
  std::string out = "{\"command\":";
  out += command_json;
  if (stamp) {
    out += ",\"t\":";
    out += std::to_string(*stamp);
  }
  constexpr std::string_view kPadOpen = ",\"pad\":\"";
  constexpr std::string_view kPadClose = "\"}";
  const auto bare = out.size() + 1;  // with the closing brace
  const auto padded = out.size() + kPadOpen.size() + kPadClose.size();
  if (bytes > 0 && static_cast<std::size_t>(bytes) > bare &&
      static_cast<std::size_t>(bytes) >= padded) {
    out += kPadOpen;
    out.append(static_cast<std::size_t>(bytes) - padded, 'x');
    out += kPadClose;
  } else {
    out += '}';
  }
  return out;
}

std::int64_t ParseStamp(std::string_view payload) {
  constexpr std::string_view kKey = "\"t\":";
  const auto at = payload.find(kKey);
  if (at == std::string_view::npos) return 0;
  std::int64_t v = 0;
  const char* first = payload.data() + at + kKey.size();
  std::from_chars(first, payload.data() + payload.size(), v);
  return v;
}

LoadResult RunSubmitLoad(Clients& clients, const SubmitLoad& load, RunStats& stats) {
  if (load.rate > 0) return OpenLoop(clients, load, stats).Run();
  return ClosedLoop(clients, load, stats).Run();
}

std::uint64_t Prefill(Clients& clients, const std::string& queue, std::uint64_t jobs,
                      std::string_view command_json, int payload_bytes, ErrorCounter& errors,
                      const std::atomic<bool>* abort, bool quiet) {
  if (jobs == 0) return 0;
  SubmitLoad load;
  load.queue = queue;
  load.command_json = std::string(command_json);
  load.payload_bytes = payload_bytes;
  load.concurrency = 4;
  load.batch_size = 1000;
  load.total = jobs;
  load.abort = abort;
  if (!quiet) std::cerr << "jq-bench: submitting " << jobs << " jobs to " << queue << " ...\n";
  RunStats stats;
  const LoadResult r = RunSubmitLoad(clients, load, stats);
  errors.Add(stats.errors);
  if (!quiet) {
    char line[160];
    std::snprintf(line, sizeof line, "jq-bench: submitted %llu jobs in %.2f s (%.0f jobs/s)\n",
                  static_cast<unsigned long long>(r.jobs), r.seconds,
                  r.seconds > 0 ? static_cast<double>(r.jobs) / r.seconds : 0.0);
    std::cerr << line;
  }
  return r.jobs;
}

}  // namespace jq::bench
