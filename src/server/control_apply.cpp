#include <spdlog/spdlog.h>

#include <map>

#include "server/control_message.h"
#include "server/dispatcher.h"

namespace jq::server {

bool ApplyControl(WorkerSession& session, const ControlMessage& m) {
  switch (m.kind) {
    case ControlMessage::Kind::kCancel:
      session.PushControl(jq::CONTROL_CANCEL_JOB, m.job_id);
      return false;
    case ControlMessage::Kind::kDrain:
      if (session.draining()) return false;
      session.SetDraining(true);
      session.PushControl(jq::CONTROL_DRAIN, "");
      return false;
    case ControlMessage::Kind::kResume:
      // A worker that is shutting down stays drained (ResumeWorker refuses it too).
      if (!session.draining() || session.shutdown_requested()) return false;
      session.SetDraining(false);
      session.PushControl(jq::CONTROL_RESUME, "");
      return true;
    case ControlMessage::Kind::kShutdown:
      if (!session.MarkShutdown(m.now)) return false;
      session.SetDraining(true);
      if (!session.supports_control()) {
        session.Close();
      } else {
        session.PushControl(m.now ? jq::CONTROL_SHUTDOWN_NOW : jq::CONTROL_SHUTDOWN, "");
      }
      return false;
  }
  return false;
}

bool ResyncControl(JobStore& store, Dispatcher& dispatcher) {
  auto sessions = dispatcher.Sessions();
  if (sessions.empty()) return false;
  auto workers = store.WorkerList();
  if (!workers.ok()) {
    spdlog::warn("control: cannot re-read the workers' requests after a reconnect: {}",
                 workers.status().ToString());
    return false;
  }
  std::map<std::string, const WorkerRecord*> by_id;
  for (const auto& w : *workers) by_id[w.id] = &w;
  bool wake = false;
  for (const auto& s : sessions) {
    auto it = by_id.find(s->worker_id());
    if (it == by_id.end()) continue;
    const WorkerRecord& w = *it->second;
    if (w.shutdown != ShutdownRequest::kNone) {
      ApplyControl(*s, ControlMessage::Shutdown(w.id, w.shutdown == ShutdownRequest::kNow));
    } else if (w.drained) {
      ApplyControl(*s, ControlMessage::Drain(w.id));
    } else {
      wake |= ApplyControl(*s, ControlMessage::Resume(w.id));
    }
  }
  return wake;
}

}  // namespace jq::server
