#!/usr/bin/env bash
# The benchmark driver behind `make bench` and `make bench-quick` (SPEC §14).
#   bench/run.sh [--quick] [--only ID,ID...] [--no-peers] [--no-report] [--build DIR] [--dir DIR]
# Starts its own PostgreSQL 15 (fsync on, synchronous_commit on), Redis and jq-server on free
# loopback ports under DIR (default .jq/bench), runs the scenarios of bench/scenarios.sh with
# jq-bench and the graphile-worker and BullMQ harnesses of bench/peers/ on the same servers,
# writes bench/results/<UTC time>[-quick].json and bench/results/latest.json, then regenerates
# docs/performance.md and docs/img/*.png with bench/report.mjs.
# Everything it started is stopped when it exits, also on failure and Ctrl-C.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=../scripts/lib/servers.sh
. "$root/scripts/lib/servers.sh"

BENCH_PROFILE=full
build="$root/build"
work="$root/.jq/bench"
only=""
peers=1
report=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) BENCH_PROFILE=quick; shift ;;
    --full) BENCH_PROFILE=full; shift ;;
    --only) only=",$2,"; shift 2 ;;
    --no-peers) peers=0; shift ;;
    --no-report) report=0; shift ;;
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --dir) work=$(realpath -m "$2"); shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
export BENCH_PROFILE

cd "$root"
# Commands are recorded as run; relative paths keep them readable.
rel() { case "$1" in "$root"/*) echo "./${1#"$root"/}" ;; *) echo "$1" ;; esac; }
JQ_BENCH_BIN=$(rel "$build/jq-bench")
JQ_SERVER_BIN="$build/jq-server"
JQ_WORKER_BIN=$(rel "$build/jq-worker")
for b in "$JQ_BENCH_BIN" "$JQ_SERVER_BIN" "$JQ_WORKER_BIN"; do
  [ -x "$b" ] || { echo "bench: $b not found; run 'make build' first" >&2; exit 1; }
done
for c in node npm gnuplot psql redis-server redis-cli curl; do
  command -v "$c" >/dev/null 2>&1 || { echo "bench: $c missing; run bench/install-bench-deps.sh" >&2; exit 1; }
done
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/postgres" ]; then
  echo "bench: PostgreSQL server not found (scripts/install-deps.sh installs it)" >&2; exit 1
fi

# A JQ_* variable from the caller's shell would silently change the server under test.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^JQ_' || true)
# Set after that cleanup, which once removed them too: auth is on, as in production
# (docs/security.md); each jq-server takes this bootstrap admin key and jq-bench (with its
# jq-workers) sends it, so the figures include authenticating each call.
JQ_AUTH_BOOTSTRAP_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
export JQ_AUTH_BOOTSTRAP_KEY JQ_API_KEY=$JQ_AUTH_BOOTSTRAP_KEY

note() { echo "bench: $*" >&2; }
human() { awk -v n="$1" 'BEGIN { if (n >= 1e6 && n % 1e6 == 0) printf "%dM", n / 1e6;
  else if (n >= 1e3 && n % 1e3 == 0) printf "%dk", n / 1e3; else printf "%d", n }'; }

# ---------------------------------------------------------------- processes and cleanup
server_pid=""; child_pid=""; sampler_pid=""; started_pg=0; started_redis=0

stop_sampler() {
  if [ -n "$sampler_pid" ]; then
    kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=""
  fi
}

stop_server() {
  stop_sampler
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  rm -f "$work/server.pid"
}

cleanup() {
  local rc=$?
  trap - EXIT
  trap "" INT TERM   # a second Ctrl-C must not cut the cleanup short
  if [ -n "$child_pid" ]; then
    # timeout(1) passes the signal on to the benchmark it runs.
    kill -TERM "$child_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$child_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$child_pid" 2>/dev/null || true
    wait "$child_pid" 2>/dev/null || true
  fi
  stop_server
  [ "$started_redis" = 1 ] && redis_stop "$work"
  if [ "$started_pg" = 1 ]; then
    pg_stop "$work"
    rm -rf "${work:?}/pgdata"   # gigabytes after a full run; the logs stay
  fi
  rm -rf "${work:?}/bin"
  exit "$rc"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM

# Leftovers of a run that was killed too hard to clean up after itself.
if [ -f "$work/server.pid" ]; then
  old=$(cat "$work/server.pid")
  if grep -q jq-server "/proc/$old/cmdline" 2>/dev/null; then kill -KILL "$old" 2>/dev/null || true; fi
fi
redis_stop "$work"
pg_stop "$work"
rm -rf "${work:?}/pgdata" "${work:?}/pgsock" "${work:?}/redis" "${work:?}/runs" "${work:?}/logs" "${work:?}/bin"
mkdir -p "$work/runs" "$work/logs" "$work/bin" "$root/bench/results"
chmod 755 "$work"
# Copies of the binaries as they are now: a rebuild while the benchmark runs cannot swap them.
cp -p "$JQ_BENCH_BIN" "$JQ_SERVER_BIN" "$JQ_WORKER_BIN" "$work/bin/"
JQ_BENCH_BIN=$(rel "$work/bin/jq-bench")
JQ_SERVER_BIN="$work/bin/jq-server"
JQ_WORKER_BIN=$(rel "$work/bin/jq-worker")

# ---------------------------------------------------------------- PostgreSQL and Redis
# Settings a user would also run with: durability at the defaults (fsync, synchronous_commit,
# full_page_writes on), memory and WAL sized for a 2-core, 24 GB machine. Recorded in the doc.
PG_SETTINGS=(
  "listen_addresses=127.0.0.1"
  "max_connections=200"
  "shared_buffers=256MB"
  "fsync=on"
  "synchronous_commit=on"
  "full_page_writes=on"
  "wal_buffers=16MB"
  "max_wal_size=4GB"
  "checkpoint_timeout=15min"
  # Autovacuum visits each database once per naptime (default 1 min). A queue table turns
  # over thousands of rows a second, and every scenario starts on a new database: with the
  # default, jobs was not vacuumed at all during a 30 s run, dead index entries piled up in
  # front of every claim, and claims went from ~4 ms to ~40 ms. jq's per-table settings
  # (db/migrations) make each visit vacuum jobs; the naptime decides how soon it comes.
  "autovacuum_naptime=5s"
)
PG_SHOW="'max_connections','shared_buffers','fsync','synchronous_commit','full_page_writes',
'wal_level','wal_buffers','max_wal_size','checkpoint_timeout','checkpoint_completion_target',
'autovacuum','autovacuum_naptime','work_mem','effective_io_concurrency','wal_sync_method','commit_delay'"

pg_port=$(free_port)
mkdir -p "$work/pgdata" "$work/pgsock"
[ "$(id -u)" -ne 0 ] || chown postgres "$work/pgdata" "$work/pgsock"
as_pg "$PG_BIN/initdb" -D "$work/pgdata" -A trust -U postgres -E UTF8 >"$work/logs/initdb.log" 2>&1 ||
  { cat "$work/logs/initdb.log" >&2; exit 1; }
pg_opts="-p $pg_port -k $work/pgsock"
for s in "${PG_SETTINGS[@]}"; do pg_opts="$pg_opts -c $s"; done
started_pg=1
touch "$work/logs/postgres.log"
[ "$(id -u)" -ne 0 ] || chown postgres "$work/logs/postgres.log"
as_pg "$PG_BIN/pg_ctl" -D "$work/pgdata" -l "$work/logs/postgres.log" -w -t 60 -o "$pg_opts" start \
  >/dev/null || { tail -20 "$work/logs/postgres.log" >&2; exit 1; }
pg_command="postgres $pg_opts"
psql_() {
  PGOPTIONS="-c client_min_messages=warning" \
    psql -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -qtAX "$@"
}
psql_ -c "CREATE DATABASE peers" postgres

REDIS_PORT=$(free_port)
started_redis=1
redis_start "$work" "$REDIS_PORT"
redis_command="redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no"
PEER_PG_URL="postgres://postgres@127.0.0.1:$pg_port/peers"
note "PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$REDIS_PORT, work dir $work"

# ---------------------------------------------------------------- peers' node modules
if [ "$peers" = 1 ]; then
  pm="$root/bench/peers"
  if [ ! -f "$pm/node_modules/.package-lock.json" ] || [ "$pm/package.json" -nt "$pm/node_modules/.package-lock.json" ] ||
     { [ -f "$pm/package-lock.json" ] && [ "$pm/package-lock.json" -nt "$pm/node_modules/.package-lock.json" ]; }; then
    note "npm install in bench/peers"
    (cd "$pm" && npm install --no-audit --no-fund --loglevel=error) >"$work/logs/npm.log" 2>&1 ||
      { cat "$work/logs/npm.log" >&2; exit 1; }
  fi
fi

# ---------------------------------------------------------------- one run
RUNS="$work/runs.jsonl"
: >"$RUNS"
failed=()

selected() { [ -z "$only" ] || [[ "$only" == *",$1,"* ]]; }
run_value() { node "$here/collect.mjs" get "$RUNS" "$1" "$2"; }

# The previous run's writes must be on disk before the next run starts: the kernel writes
# dirty pages back 30 s after they were written, and that writeback made every commit of
# the following run wait (measured: e2e after the 1M-row batch run fell from ~9k to ~1.5k
# jobs/s six seconds in).
settle_disk() {
  psql_ -c "CHECKPOINT" postgres
  sync
}

reset_state() {
  psql_ -c "DROP DATABASE IF EXISTS jq WITH (FORCE)" -c "CREATE DATABASE jq" postgres
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  settle_disk
}

server_env=""
before_sql=""  # SQL run on the jq database before the next jq_run's measurement (scenarios.sh)
server_settings=""  # extra VAR=value settings of the next jq_run's jq-server (scenarios.sh)
start_server() {  # start_server ID: fresh jq-server on new ports; sets server_addr, metrics_addr
  local id=$1 gport mport
  gport=$(free_port); mport=$(free_port)
  server_addr="127.0.0.1:$gport"; metrics_addr="127.0.0.1:$mport"
  server_env="JQ_DB_URL='host=127.0.0.1 port=$pg_port user=postgres dbname=jq' JQ_REDIS_ADDR=127.0.0.1:$REDIS_PORT JQ_KAFKA_BROKERS="
  # shellcheck disable=SC2086 # server_settings is a list of VAR=value words
  JQ_DB_URL="host=127.0.0.1 port=$pg_port user=postgres dbname=jq" JQ_REDIS_ADDR="127.0.0.1:$REDIS_PORT" \
  JQ_KAFKA_BROKERS="" JQ_SERVER_ADDR="$server_addr" JQ_METRICS_ADDR="$metrics_addr" \
  JQ_SERVER_ID="bench-$id" JQ_SERVER_SHUTDOWN_GRACE_SECONDS=5 \
    env $server_settings setsid "$JQ_SERVER_BIN" >"$work/logs/server-$id.log" 2>&1 </dev/null &
  server_pid=$!
  echo "$server_pid" >"$work/server.pid"
  for _ in $(seq 1 300); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      note "jq-server exited at start; see $work/logs/server-$id.log"; tail -5 "$work/logs/server-$id.log" >&2
      server_pid=""; return 1
    fi
    if curl -fsS -o /dev/null "http://$metrics_addr/readyz" 2>/dev/null; then
      start_sampler; return 0
    fi
    sleep 0.1
  done
  note "jq-server not ready after 30 s; see $work/logs/server-$id.log"
  stop_server
  return 1
}

# Peak threads and RSS of jq-server, sampled every 0.2 s in pure bash (no forks but sleep).
start_sampler() {
  local pid=$server_pid out="$work/runs/sampler"
  rm -f "$out"
  (
    trap 'exit 0' TERM   # between two commands, so never halfway through a write
    peak_t=0; peak_r=0
    while [ -r "/proc/$pid/status" ]; do
      while read -r k v _; do
        case "$k" in
          Threads:) [ "$v" -gt "$peak_t" ] && peak_t=$v ;;
          VmRSS:) [ "$v" -gt "$peak_r" ] && peak_r=$v ;;
        esac
      done <"/proc/$pid/status" 2>/dev/null || true
      echo "$peak_t $peak_r" >"$out"
      sleep 0.2
    done
  ) &
  sampler_pid=$!
}

# CPU busy % of the whole machine over one second, while nothing of the benchmark runs:
# work of others (a build, a test suite) that will skew the next run's figures.
cpu_busy_pct() {
  local a b
  read -r _ a <<<"$(head -1 /proc/stat)"; sleep 1; read -r _ b <<<"$(head -1 /proc/stat)"
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); n = 8; t = 0  # guest time is in user already
    for (i = 1; i <= n; i++) t += y[i] - x[i]
    idle = (y[4] - x[4]) + (y[5] - x[5]); printf "%d", (t > 0 ? 100 * (t - idle) / t : 0) }'
}

# run_timed ID CMD...: runs CMD with a time limit; output to runs/ID.out and runs/ID.err.
# Also notes the load average before it (other work on the machine skews every figure) and
# the ERROR lines PostgreSQL logged while it ran (runs/ID.pgerrors).
run_timed() {
  local id=$1; shift
  local t0 rc=0 pglog="$work/logs/postgres.log" pgpos
  loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
  [ -n "$busy_before" ] || busy_before=$(cpu_busy_pct)
  [ "$busy_before" -lt 25 ] || note "$id: the machine was ${busy_before}% busy before the run (other work)"
  pgpos=$(stat -c %s "$pglog")
  t0=$(date +%s.%N)
  started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  timeout -k 15 "$RUN_TIMEOUT" "$@" >"$work/runs/$id.out" 2>"$work/runs/$id.err" </dev/null &
  child_pid=$!
  wait "$child_pid" || rc=$?
  child_pid=""
  wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  tail -c +"$((pgpos + 1))" "$pglog" | grep -E '\] (ERROR|FATAL|PANIC):' >"$work/runs/$id.pgerrors" || true
  [ "$rc" -ne 124 ] || note "$id: stopped after $RUN_TIMEOUT s"
  return "$rc"
}

# jq_run ID TITLE -- MODE ARGS...: one jq-bench run against a fresh server and database.
jq_run() {
  local id=$1 title=$2; shift 3
  selected "$id" || return 0
  local mode=$1; shift
  local fallback="" rc attempt
  started_at=""; wall=""; loadavg=""; busy_before=""; server_note=""
  for attempt in 1 2; do
    reset_state
    busy_before=$(cpu_busy_pct)
    if ! start_server "$id"; then
      rc=1
      : >"$work/runs/$id.out"; cp "$work/logs/server-$id.log" "$work/runs/$id.err"
      command_line="(jq-server did not start)"
      break
    fi
    local cmd=("$JQ_BENCH_BIN" "$mode" --server "$server_addr" --json --label "$id"
               --server-pid "$server_pid" --timeline "$work/runs/$id.csv" "$@")
    [ -z "$fallback" ] || cmd+=(--report-mode unary)
    command_line=$(printf '%q ' "${cmd[@]}"); command_line=${command_line% }
    note "$id: $command_line"
    rm -f "$work/runs/$id.csv"
    if [ -n "$before_sql" ]; then
      # Data the scenario needs in the table first (the server has applied the schema).
      note "$id: preparing: $before_sql"
      psql_ -c "$before_sql" -c "ANALYZE jobs" jq >/dev/null
      settle_disk
    fi
    rc=0; run_timed "$id" "${cmd[@]}" || rc=$?
    stop_sampler
    curl -fsS "http://$metrics_addr/metrics" >"$work/runs/$id.metrics" 2>/dev/null || true
    local threads_end="" rss_end=""
    if [ -r "/proc/$server_pid/status" ]; then
      threads_end=$(awk '/^Threads:/ { print $2 }' "/proc/$server_pid/status")
      rss_end=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status")
    fi
    local peak_t="" peak_r=""
    if [ -f "$work/runs/sampler" ]; then
      read -r peak_t peak_r <"$work/runs/sampler" || true
      peak_r=$(awk -v k="$peak_r" 'BEGIN { printf "%.1f", k / 1024 }')
    fi
    server_note=""
    if ! kill -0 "$server_pid" 2>/dev/null; then
      server_note="jq-server exited during the run (see $(rel "$work")/logs/server-$id.log)"
      note "$id: $server_note"
    fi
    stop_server
    # A server without the ReportBatch RPC: run e2e again with one ReportResult per job.
    if [ "$attempt" = 1 ] && [ "$mode" = e2e ] && [[ " $* " != *" --report-mode "* ]] &&
       grep -qs UNIMPLEMENTED "$work/runs/$id.out" "$work/runs/$id.err"; then
      fallback="--report-mode unary: the server answered UNIMPLEMENTED to ReportBatch"
      note "$id: $fallback; running again"
      cp "$work/runs/$id.err" "$work/runs/$id.batch-attempt.err"
      continue
    fi
    break
  done
  node "$here/collect.mjs" record "$RUNS" id="$id" system=jq title="$title" \
    command="$command_line" exit_code="$rc" started_at="$started_at" wall_seconds="$wall" \
    stdout="$work/runs/$id.out" stderr="$work/runs/$id.err" timeline="$work/runs/$id.csv" \
    metrics="$work/runs/$id.metrics" fallback="$fallback" loadavg="$loadavg" \
    busy_before_pct="$busy_before" pg_errors="$work/runs/$id.pgerrors" \
    server_threads_peak="$peak_t" server_rss_peak_mb="$peak_r" \
    server_threads_end="$threads_end" server_rss_end_mb="$rss_end" note="$server_note" >&2
  [ "$rc" -eq 0 ] || failed+=("$id")
}

# peer_run ID SYSTEM TITLE -- CMD...: one peer harness run; jq-server is not running.
peer_run() {
  local id=$1 system=$2 title=$3; shift 4
  selected "$id" || return 0
  [ "$peers" = 1 ] || return 0
  settle_disk
  [ "$system" != bullmq ] || redis-cli -p "$REDIS_PORT" flushall >/dev/null
  command_line=$(printf '%q ' "$@"); command_line=${command_line% }
  note "$id: $command_line"
  local rc=0
  busy_before=""
  run_timed "$id" "$@" || rc=$?
  node "$here/collect.mjs" record "$RUNS" id="$id" system="$system" title="$title" \
    command="$command_line" exit_code="$rc" started_at="$started_at" wall_seconds="$wall" \
    stdout="$work/runs/$id.out" stderr="$work/runs/$id.err" loadavg="$loadavg" \
    busy_before_pct="$busy_before" pg_errors="$work/runs/$id.pgerrors" >&2
  [ "$rc" -eq 0 ] || failed+=("$id")
}

# ---------------------------------------------------------------- the run
# shellcheck source=scenarios.sh
. "$here/scenarios.sh"
bench_t0=$(date +%s)
bench_started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
note "profile $BENCH_PROFILE"
run_scenarios

# ---------------------------------------------------------------- results and report
psql_ -F'|' -c "SELECT name, current_setting(name) FROM pg_settings WHERE name IN ($PG_SHOW) ORDER BY name" \
  postgres >"$work/pg_settings.txt"
pg_version=$(psql_ -c "SHOW server_version" postgres)
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
dirty=0; [ -z "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=1
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
os_release=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
suffix=""; [ "$BENCH_PROFILE" = full ] || suffix="-$BENCH_PROFILE"
out="$root/bench/results/$stamp$suffix.json"
node "$here/collect.mjs" finish "$RUNS" "$out" profile="$BENCH_PROFILE" started_at="$bench_started" \
  wall_seconds="$(( $(date +%s) - bench_t0 ))" nproc="$(nproc)" pg_version="$pg_version" \
  redis_version="$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" os_release="$os_release" \
  commit="$commit" dirty="$dirty" build_type="$build_type" pg_settings="$work/pg_settings.txt" \
  pg_command="$pg_command" redis_command="$redis_command" server_env="$server_env" peers_dir="$root/bench/peers"
cp "$out" "$root/bench/results/latest.json"
if [ "$report" = 1 ]; then
  node "$here/report.mjs" "$root/bench/results/latest.json"
fi
note "done in $(( $(date +%s) - bench_t0 )) s"
if [ ${#failed[@]} -gt 0 ]; then
  note "failed runs: ${failed[*]} (logs in $work/runs and $work/logs)"
  exit 1
fi
