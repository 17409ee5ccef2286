// JobWatchHub: WatchJob's one reader of job_events per replica. Every open WatchJob stream
// subscribes to its job; one loop queries the new events of all watched jobs at once (a
// single JobEventListMany every interval, none while nobody watches) and hands each watcher
// its job's events in order. So N watchers cost the database one query a tick, not N.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/background_loop.h"
#include "core/job_store.h"

namespace jq::server {

class JobWatchHub {
 public:
  // One subscriber's view of its job: the events after its cursor, as they are read.
  class Watch {
   public:
    Watch(std::string job_id, std::int64_t after) : job_id_(std::move(job_id)), after_(after) {}
    const std::string& job_id() const { return job_id_; }
    // The events read since the last call, waiting up to `timeout` for one.
    std::vector<JobEventRecord> Next(std::chrono::milliseconds timeout);

   private:
    friend class JobWatchHub;
    std::int64_t after() const;
    void Deliver(const JobEventRecord& e);

    const std::string job_id_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::int64_t after_;                  // GUARDED_BY(mu_)
    std::deque<JobEventRecord> pending_;  // GUARDED_BY(mu_)
  };

  JobWatchHub(JobStore& store, std::chrono::milliseconds interval);
  ~JobWatchHub() { Stop(); }
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }

  // job_id as the store spells it (canonical). The hub keeps a weak reference: dropping the
  // Watch unsubscribes.
  std::shared_ptr<Watch> Subscribe(const std::string& job_id, std::int64_t after = 0);
  // One pass: read and hand out what is new. Returns how many watches were served (tests).
  int PollOnce();
  std::size_t watched_jobs();

 private:
  JobStore& store_;
  std::mutex mu_;
  std::multimap<std::string, std::weak_ptr<Watch>> watches_;  // GUARDED_BY(mu_), by job id
  BackgroundLoop loop_;  // last: stopped before the members its passes use go away
};

}  // namespace jq::server
