#include "ctl/cli.h"

#include <CLI/CLI.hpp>
#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include "core/version.h"
#include "ctl/commands.h"
#include "ctl/errors.h"

namespace jq::ctl {
namespace {

using Command = std::function<int(Session&)>;
using IdCommand = int (*)(Session&, const std::string&);

// An integer option that records whether it was given (proto3 cannot tell 0 from unset).
CLI::Option* AddInt(CLI::App* app, const std::string& name, IntFlag& flag,
                    const std::string& description) {
  return app->add_option_function<int>(
      name,
      [&flag](const int& v) {
        flag.value = v;
        flag.set = true;
      },
      description);
}

// A tenant's limit: N >= 0, or "default" (the server's configuration; on create, as if not
// given).
CLI::Option* AddLimit(CLI::App* app, const std::string& name, LimitFlag& flag,
                      const std::string& description) {
  return app
      ->add_option_function<std::string>(
          name,
          [&flag](const std::string& v) {
            flag = {};
            if (v == "default") {
              flag.reset = true;
            } else {
              flag.value = std::stoi(v);  // the check below admits digits only
              flag.set = true;
            }
          },
          description + "; 'default' = the server's limits.*")
      ->type_name("N|default")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            if (v == "default") return "";
            const bool digits = !v.empty() && v.size() <= 9 &&
                                v.find_first_not_of("0123456789") == std::string::npos;
            return digits ? "" : "must be a number >= 0 or 'default', not '" + v + "'";
          },
          ""));
}

// A subcommand taking one id, e.g. `job status <job_id>`.
void AddIdCommand(CLI::App* parent, const std::string& name, const std::string& description,
                  const std::string& id_name, std::string& id, IdCommand fn, Command& command) {
  CLI::App* sub = parent->add_subcommand(name, description);
  sub->add_option(id_name, id, id_name)->required();
  sub->callback([&command, &id, fn] { command = [&id, fn](Session& s) { return fn(s, id); }; });
}

// "job submit": the subcommands chosen before a parse error; "" if none.
std::string ChosenCommand(const CLI::App& app) {
  std::string name;
  const CLI::App* at = &app;
  for (;;) {
    auto subs = at->get_subcommands();
    if (subs.empty()) break;
    at = subs.front();
    name += (name.empty() ? "" : " ") + at->get_name();
  }
  return name;
}

// Seconds as a positive number, e.g. "10" or "0.5".
const CLI::Validator kPositiveSeconds(
    [](std::string& text) -> std::string {
      try {
        std::size_t used = 0;
        double v = std::stod(text, &used);
        if (used == text.size() && v > 0 && v < 1e9) return "";
      } catch (const std::exception&) {
      }
      return "'" + text + "' is not a positive number of seconds";
    },
    "SECONDS");

}  // namespace

int Run(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"jq-ctl: operate a jq job queue", "jq-ctl"};
  // Global options are also accepted after the command: `jq-ctl job list -o json`.
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionString(), "print the version and exit");

  GlobalOptions global;
  app.add_option("--server-addr", global.server_addr, "jq-server address HOST:PORT")
      ->envname("JQ_SERVER_ADDR")
      ->capture_default_str();
  app.add_option("-o,--output", global.output, "output format: table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->capture_default_str();
  app.add_option("--timeout", global.timeout_seconds, "deadline of each call, in seconds")
      ->check(kPositiveSeconds)
      ->capture_default_str();
  app.add_option("--api-key", global.api_key, "API key, sent as a bearer token")
      ->envname("JQ_API_KEY");
  // Setting any of them dials with TLS (--tls-cert and --tls-key: mTLS).
  app.add_option("--tls-ca", global.tls_ca, "CA certificate (PEM) to verify the server with")
      ->envname("JQ_TLS_CA");
  app.add_option("--tls-cert", global.tls_cert, "client certificate (PEM), for mTLS")
      ->envname("JQ_TLS_CERT");
  app.add_option("--tls-key", global.tls_key, "client private key (PEM)")->envname("JQ_TLS_KEY");
  // The seed's jq-ctl took these and ignored them; scripts that pass them keep working.
  std::string seed_config, seed_log_level;
  app.add_option("--config", seed_config, "accepted for the seed's scripts; no effect")
      ->group("Seed compatibility");
  app.add_option("--log-level", seed_log_level, "accepted for the seed's scripts; no effect")
      ->group("Seed compatibility");
  app.footer(
      "Exit codes: 0 ok, 1 the server said no, 2 usage, 3 server not reachable or timed out, "
      "4 status: the system is unhealthy.");

  Command command;
  std::string id;  // the one positional id of the chosen command

  const std::string status_help =
      "system health, workers and queues (exit 4 when the system is unhealthy)";
  app.add_subcommand("status", status_help)->callback([&command] { command = SystemStatus; });
  // The seed's spellings: `system status` (and plain `system`), `version`.
  CLI::App* system = app.add_subcommand("system", "the same as status");
  system->require_subcommand(0, 1);
  system->add_subcommand("status", status_help);
  system->callback([&command] { command = SystemStatus; });
  app.add_subcommand("version", "print the version (as --version)")->callback([&command] {
    command = Version;
  });

  // job ...
  CLI::App* job = app.add_subcommand("job", "submit, inspect and control jobs");
  job->require_subcommand(1);

  SubmitArgs submit;
  CLI::App* sub = job->add_subcommand("submit", "submit a job and print its id");
  sub->add_option("--queue", submit.queue, "queue name")->required();
  sub->add_option("--payload", submit.payload, "payload: JSON, or @FILE to read it from FILE")
      ->required();
  AddInt(sub, "--priority", submit.priority, "0-9, 9 runs first (default 0)")
      ->check(CLI::Range(0, 9));
  AddInt(sub, "--max-retries", submit.max_retries, "retries after a failure (default: queue's)")
      ->check(CLI::NonNegativeNumber);
  AddInt(sub, "--ttl", submit.ttl, "seconds the job may wait to start (default: queue's)")
      ->check(CLI::NonNegativeNumber);
  AddInt(sub, "--timeout", submit.timeout, "seconds the job may run (default: queue's)")
      ->check(CLI::NonNegativeNumber);
  CLI::Option* delay =
      AddInt(sub, "--delay", submit.delay, "start no sooner than this many seconds from now")
          ->check(CLI::NonNegativeNumber);
  CLI::Option* run_at =
      sub->add_option("--run-at", submit.run_at,
                      "start no sooner than TIME (RFC 3339, or YYYY-MM-DD HH:MM:SS UTC)");
  delay->excludes(run_at);
  sub->add_option("--idempotency-key", submit.idempotency_key,
                  "a resubmit with the same key returns the first job");
  sub->add_flag("--wait", submit.wait,
                "follow the job until DONE or DEAD_LETTERED; exit 0 only if DONE");
  sub->callback([&] { command = [&submit](Session& s) { return JobSubmit(s, submit); }; });

  AddIdCommand(job, "status", "show a job", "job_id", id, JobStatus, command);
  AddIdCommand(job, "logs", "show a job's state transitions", "job_id", id, JobLogs, command);
  int attempt = 0;
  CLI::App* output = job->add_subcommand("output", "show a job's stdout and stderr per attempt");
  output->add_option("job_id", id, "job id")->required();
  output->add_option("--attempt", attempt, "only this attempt (default all)")
      ->check(CLI::NonNegativeNumber);
  output->callback([&] { command = [&](Session& s) { return JobOutput(s, id, attempt); }; });
  AddIdCommand(job, "cancel", "cancel a job", "job_id", id, JobCancel, command);
  AddIdCommand(job, "retry", "run a failed or dead-lettered job again", "job_id", id, JobRetry,
               command);
  AddIdCommand(job, "watch", "print a job's events until it is DONE or DEAD_LETTERED", "job_id", id,
               JobWatch, command);

  ListJobsArgs list;
  CLI::App* ls = job->add_subcommand("list", "list jobs");
  ls->add_option("--queue", list.queue, "only this queue");
  ls->add_option("--status", list.status, "only this status (PENDING, DEAD_LETTERED, ...)");
  ls->add_option("--limit", list.limit, "jobs per page (server default 20, max 100)")
      ->check(CLI::PositiveNumber);
  ls->add_option("--page-token", list.page_token, "next_page_token of the previous page");
  ls->add_option("--tenant", list.tenant,
                 "only this tenant's jobs (admin keys; others see their own)");
  ls->callback([&] { command = [&list](Session& s) { return JobList(s, list); }; });

  // queue ...
  CLI::App* queue = app.add_subcommand("queue", "manage queues");
  queue->require_subcommand(1);

  CreateQueueArgs create;
  CLI::App* cq = queue->add_subcommand("create", "create a queue");
  cq->add_option("name", create.name, "queue name");
  // The seed's jq-ctl took the name as --name (its README showed it positional).
  cq->add_option("--name", create.name, "queue name, instead of the positional one");
  AddInt(cq, "--max-retries", create.max_retries, "retries after a failure (default 3)")
      ->check(CLI::NonNegativeNumber);
  AddInt(cq, "--ttl", create.ttl, "seconds a job may wait to start (0 = forever)")
      ->check(CLI::NonNegativeNumber);
  AddInt(cq, "--timeout", create.timeout, "seconds a job may run (0 = no limit)")
      ->check(CLI::NonNegativeNumber);
  AddInt(cq, "--concurrency", create.concurrency, "jobs running at once (0 = unlimited)")
      ->check(CLI::NonNegativeNumber);
  AddInt(cq, "--backoff-base-ms", create.backoff_base_ms, "retry backoff base (default 5000)")
      ->check(CLI::NonNegativeNumber);
  AddInt(cq, "--backoff-max-ms", create.backoff_max_ms, "retry backoff cap (default 300000)")
      ->check(CLI::NonNegativeNumber);
  cq->callback([&] {
    if (create.name.empty()) throw CLI::RequiredError("name");
    command = [&create](Session& s) { return QueueCreate(s, create); };
  });

  bool force = false;
  CLI::App* dq = queue->add_subcommand("delete", "delete a queue");
  dq->add_option("name", id, "queue name")->required();
  dq->add_flag("--force", force, "dead-letter its unfinished jobs first");
  dq->callback([&] { command = [&](Session& s) { return QueueDelete(s, id, force); }; });
  AddIdCommand(queue, "stats", "show a queue's statistics", "name", id, QueueStats, command);
  queue->add_subcommand("list", "list queues")->callback([&command] { command = QueueList; });
  AddIdCommand(queue, "pause", "stop dispatching a queue's jobs", "name", id, QueuePause, command);
  AddIdCommand(queue, "resume", "dispatch a paused queue's jobs again", "name", id, QueueResume,
               command);

  // worker ...
  CLI::App* worker = app.add_subcommand("worker", "manage workers");
  worker->require_subcommand(1);
  worker->add_subcommand("list", "list workers")->callback([&command] { command = WorkerList; });
  AddIdCommand(worker, "drain",
               "give a worker no new jobs: it finishes the running ones and stays up, DRAINING, "
               "until resumed (also across reconnects and restarts)",
               "worker_id", id, WorkerDrain, command);
  AddIdCommand(worker, "resume", "let a drained worker take jobs again", "worker_id", id,
               WorkerResume, command);
  bool now = false;
  CLI::App* shutdown = worker->add_subcommand(
      "shutdown",
      "stop a worker: it takes no new jobs, finishes the running ones (killing any still running "
      "after its worker.shutdown_grace_seconds), deregisters and exits");
  shutdown->add_option("worker_id", id, "worker_id")->required();
  shutdown->add_flag("--now", now,
                     "kill its running jobs at once; they go back to the queue without using a "
                     "retry");
  shutdown->callback([&] { command = [&](Session& s) { return WorkerShutdown(s, id, now); }; });

  // apikey ...
  CLI::App* apikey = app.add_subcommand("apikey", "manage API keys (admin keys only)");
  apikey->require_subcommand(1);
  ApiKeyArgs key;
  CLI::App* ak = apikey->add_subcommand("create", "create an API key and print it (shown once)");
  ak->add_option("--tenant", key.tenant, "the tenant it acts for")->required();
  ak->add_option("--role", key.role, "admin, producer, worker or fleet (workers of every tenant)")
      ->check(CLI::IsMember({"admin", "producer", "worker", "fleet"}))
      ->capture_default_str();
  ak->add_option("--description", key.description, "a note shown by apikey list");
  ak->callback([&] { command = [&key](Session& s) { return ApiKeyCreate(s, key); }; });
  std::string key_tenant;
  CLI::App* al = apikey->add_subcommand("list", "list API keys (never their secrets)");
  al->add_option("--tenant", key_tenant, "only this tenant's");
  al->callback([&] { command = [&key_tenant](Session& s) { return ApiKeyList(s, key_tenant); }; });
  AddIdCommand(apikey, "revoke", "revoke an API key: refused by every replica within seconds", "id",
               id, ApiKeyRevoke, command);

  // jwt ...
  CLI::App* jwt = app.add_subcommand("jwt", "revoke JWTs before they expire (admin keys only)");
  jwt->require_subcommand(1);
  AddIdCommand(jwt, "revoke",
               "refuse every JWT of this subject (sub claim) issued until now, on every replica "
               "within seconds; tokens issued later are accepted",
               "subject", id, JwtRevoke, command);
  jwt->add_subcommand("list", "list JWT revocations")->callback([&command] {
    command = [](Session& s) { return JwtRevocationList(s); };
  });

  // tenant ...
  CLI::App* tenant = app.add_subcommand("tenant", "manage tenants' limits (admin keys only)");
  tenant->require_subcommand(1);
  TenantArgs tenant_args;
  for (const auto& [name, description, fn] :
       {std::tuple<const char*, const char*, int (*)(Session&, const TenantArgs&)>{
            "create", "record a tenant's limits (unset ones: the server's defaults)", TenantCreate},
        {"update", "change a tenant's limits (unset ones stay)", TenantUpdate}}) {
    CLI::App* t = tenant->add_subcommand(name, description);
    t->add_option("name", tenant_args.name, "tenant name")->required();
    AddLimit(t, "--max-running-jobs", tenant_args.max_running_jobs,
             "jobs running at once, on all replicas (0 = unlimited)");
    AddLimit(t, "--submit-rate", tenant_args.submit_rate, "submits per second (0 = unlimited)");
    AddLimit(t, "--submit-burst", tenant_args.submit_burst, "submit bucket size (0 = one second)");
    t->callback(
        [&, fn = fn] { command = [&tenant_args, fn](Session& s) { return fn(s, tenant_args); }; });
  }
  tenant->add_subcommand("list", "list tenants and their limits")->callback([&command] {
    command = TenantList;
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e, out, err);  // --help, --version
    std::string where = ChosenCommand(app);
    std::vector<std::string> rest = app.remaining();
    if (where.empty() && !rest.empty() && rest.front().rfind('-', 0) != 0) {
      err << "jq-ctl: unknown command '" << rest.front() << "' (see jq-ctl --help)\n";
      return kExitUsage;
    }
    err << "jq-ctl: " << (where.empty() ? "" : where + ": ") << e.what() << " (see jq-ctl "
        << (where.empty() ? "" : where + " ") << "--help)\n";
    return kExitUsage;
  }

  for (const auto& [flag, value] :
       {std::pair<const char*, const std::string*>{"--config", &seed_config},
        {"--log-level", &seed_log_level}}) {
    if (!value->empty()) {
      err << "jq-ctl: " << flag
          << " has no effect (jq-ctl reads only its flags, JQ_SERVER_ADDR, JQ_API_KEY and "
             "JQ_TLS_*)\n";
    }
  }
  Session session(global, out, err);
  if (!session.Connect()) return kExitUsage;
  return command(session);
}

}  // namespace jq::ctl
