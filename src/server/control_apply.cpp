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
      if (!session.draining()) return false;
      session.SetDraining(false);
      session.PushControl(jq::CONTROL_RESUME, "");
      return true;
    case ControlMessage::Kind::kShutdown:
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

}  // namespace jq::server
