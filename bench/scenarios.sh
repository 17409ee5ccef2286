# The standard benchmark scenarios (SPEC §14), sourced by bench/run.sh.
# Sizes depend on BENCH_PROFILE (full for `make bench`, quick for `make bench-quick`).
# Each jq run gets a fresh jq database, a flushed Redis and a new jq-server (see run.sh).
# shellcheck shell=bash
# The sizes are read by run.sh, which sources this file.
# shellcheck disable=SC2034

case "${BENCH_PROFILE:?}" in
  full)
    SUBMIT_SECONDS=20        # scenario 1, each concurrency
    BATCH_SECONDS=20         # scenario 2
    E2E_JOBS=100000          # scenarios 3 to 5
    PREFILL=1000000          # scenario 4: pending jobs in another queue
    HISTORY=10000000         # scenario 4b: finished jobs already in the table
    MANY_WORKERS=1000        # scenario 5
    SUBPROCESS_JOBS=20000    # scenario 6
    LATENCY_SECONDS=20       # scenario 7
    PEER_JOBS=100000         # graphile-worker and BullMQ burn-downs
    RUN_TIMEOUT=900          # seconds before one run is stopped
    ;;
  quick)
    SUBMIT_SECONDS=5
    BATCH_SECONDS=5
    E2E_JOBS=20000
    PREFILL=100000
    HISTORY=1000000
    MANY_WORKERS=200
    SUBPROCESS_JOBS=5000
    LATENCY_SECONDS=5
    PEER_JOBS=20000
    RUN_TIMEOUT=300
    ;;
  *) echo "scenarios.sh: unknown BENCH_PROFILE $BENCH_PROFILE" >&2; return 2 ;;
esac

# Runs every scenario in order; run.sh's --only picks a subset by id.
run_scenarios() {
  # 1. SubmitJob, one job per RPC, 200 and 8 in flight.
  jq_run submit_c200 "SubmitJob, 200 in flight" -- \
    submit --concurrency 200 --duration "$SUBMIT_SECONDS" --payload-bytes 100
  jq_run submit_c8 "SubmitJob, 8 in flight" -- \
    submit --concurrency 8 --duration "$SUBMIT_SECONDS" --payload-bytes 100

  # 2. Batch submit, 1,000 jobs per call, 4 calls in flight.
  jq_run batch "batch submit, 1,000 per call, 4 in flight" -- \
    batch --batch-size 1000 --concurrency 4 --duration "$BATCH_SECONDS"

  # 3. End-to-end no-op burn-down, shallow queue, 4 workers x 100 slots.
  jq_run e2e_shallow "e2e no-op, 4 workers x 100 slots" -- \
    e2e --jobs "$E2E_JOBS" --workers 4 --slots 100

  # 3b. The same with per-tenant running limits enforced but never reached: what counting
  # every tenant's jobs in flight under one lock costs each claim (docs/security.md).
  server_settings="JQ_LIMITS_TENANT_MAX_RUNNING_JOBS=1000000"
  jq_run e2e_tenant_limits "e2e no-op, tenant running limits on" -- \
    e2e --jobs "$E2E_JOBS" --workers 4 --slots 100
  server_settings=""

  # Peers on the same PostgreSQL (own database) and Redis, jq-server stopped.
  peer_run graphile_lq500 graphile-worker "graphile-worker, concurrency 24, localQueue 500" -- \
    node bench/peers/graphile-bench.mjs "$PEER_PG_URL" "$PEER_JOBS" 24 500 0
  peer_run graphile_default graphile-worker "graphile-worker, concurrency 24, no localQueue" -- \
    node bench/peers/graphile-bench.mjs "$PEER_PG_URL" "$PEER_JOBS" 24 0 0
  peer_run bullmq_c100 bullmq "BullMQ, concurrency 100" -- \
    node bench/peers/bullmq-bench.mjs "$REDIS_PORT" "$PEER_JOBS" 100

  # 4. The same burn-down with a deep backlog pending in another queue.
  jq_run e2e_deep "e2e no-op, $(human "$PREFILL") pending in another queue" -- \
    e2e --jobs "$E2E_JOBS" --workers 4 --slots 100 \
    --prefill-pending "$PREFILL" --prefill-queue backlog

  # 4b. The same burn-down with a long history: finished jobs already in the table.
  before_sql="INSERT INTO jobs (id, queue, payload, status, max_retries, created_at,
    started_at, completed_at, updated_at)
    SELECT gen_random_uuid(), 'history', '\\x7b7d', 4, 3, now() - g * interval '1 ms',
    now() - g * interval '1 ms', now() - g * interval '1 ms', now()
    FROM generate_series(1, $HISTORY) g"
  jq_run e2e_history "$(human "$HISTORY") finished jobs in the table" -- \
    e2e --jobs "$E2E_JOBS" --workers 4 --slots 100
  before_sql=""

  # 5. Many connected workers, few slots each.
  jq_run e2e_many_workers "e2e no-op, $MANY_WORKERS workers x 2 slots" -- \
    e2e --jobs "$E2E_JOBS" --workers "$MANY_WORKERS" --slots 2

  # 6. Real jq-worker processes running /bin/true.
  jq_run subprocess "subprocess /bin/true, 2 jq-workers x 16 slots" -- \
    subprocess --jobs "$SUBPROCESS_JOBS" --workers 2 --slots 16 --jq-worker "$JQ_WORKER_BIN"

  # 7. Latency at half load. Each job of the latency workload is one unary SubmitJob (the
  # cost measured by scenario 1) and one run through the workers (scenario 3, whose jobs
  # were submitted in batches), so its maximum is about 1 / (1/submit + 1/e2e) jobs/s;
  # "half load" is half of that.
  if selected latency_half_load; then
    local submit e2e rate
    submit=$(run_value submit_c200 result.jobs_per_second)
    e2e=$(run_value e2e_shallow result.jobs_per_second)
    rate=$(awk -v s="${submit:-0}" -v e="${e2e:-0}" 'BEGIN {
      r = (s > 0 && e > 0) ? int(0.5 / (1 / s + 1 / e)) : 0; print (r < 100 ? 1000 : r) }')
    if [ -z "$submit" ] || [ -z "$e2e" ]; then
      note "latency: no submit_c200/e2e_shallow figures in this run; using --rate $rate"
    fi
    jq_run latency_half_load "latency at half load ($rate jobs/s)" -- \
      latency --rate "$rate" --duration "$LATENCY_SECONDS" --workers 4 --slots 100
  fi
}
