#!/usr/bin/env bash
# The fault suite (issue 7): a private stack of PostgreSQL, Redis, a Kafka mock, 3 jq-servers
# and 4 jq-workers under a steady mixed load; one fault at a time, then invariants checked from
# the database, the workers' own execution logs and the processes.
#   scripts/chaos.sh [--quick] [--only FAULT[,FAULT...]] [--build DIR] [--dir DIR] [--keep]
#   scripts/chaos.sh --selftest   # no fault; forged records must trip the invariants
# Exits non-zero if any invariant fails. See docs/reliability.md.
# The fault_* functions and cleanup are called indirectly (by name, or from the trap).
# shellcheck disable=SC2317
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib/servers.sh
. "$here/lib/servers.sh"

quick=0; only=""; build="$root/build"; dir=""; keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --only) only=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --selftest) only=selftest; quick=1; shift ;;
    -h|--help) sed -n 2,7p "$0"; exit 0 ;;
    *) echo "chaos: unknown option $1" >&2; exit 2 ;;
  esac
done
for b in jq-server jq-worker jq-ctl; do
  [ -x "$build/$b" ] || { echo "chaos: $build/$b missing; build it first" >&2; exit 2; }
done
dir=${dir:-$(mktemp -d /tmp/jq-chaos.XXXXXX)}
mkdir -p "$dir/run" "$dir/logs" "$dir/exec" "$dir/acks"
chmod 755 "$dir" "$dir/exec"
chmod 777 "$dir/exec"  # jobs may run as another user (worker.run_as_user)

# Short timings, as the e2e tests use (tests/e2e/e2e_support.cpp FastTimings).
LEASE=4
export JQ_DISPATCH_LEASE_SECONDS=$LEASE JQ_REAPER_INTERVAL_MS=200 \
  JQ_REAPER_WORKER_TIMEOUT_SECONDS=4 JQ_WORKER_HEARTBEAT_SECONDS=1 JQ_WORKER_KILL_GRACE_SECONDS=1 \
  JQ_SERVER_KEEPALIVE_SECONDS=2 JQ_WORKER_KEEPALIVE_SECONDS=2
RECOVERY_LIMIT=$((LEASE + 5))
# Auth is on: the servers take this bootstrap admin key; workers and jq-ctl send it.
JQ_AUTH_BOOTSTRAP_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
export JQ_AUTH_BOOTSTRAP_KEY JQ_API_KEY=$JQ_AUTH_BOOTSTRAP_KEY
if [ "$quick" = 1 ]; then
  BASE=8; AFTER=12; PG_DOWN=10; RATE=10
  default_faults="worker-kill,server-kill,sigstop,selftest"
else
  BASE=10; AFTER=15; PG_DOWN=60; RATE=10
  default_faults="worker-kill,server-kill,sigstop,pg-restart,pg-down,pg-terminate,redis-kill"
  default_faults="$default_faults,redis-flush,conn-exhaust,kafka-down,xmin-hold,net-cut"
  default_faults="$default_faults,clock-skew,disk-full,selftest"
fi
faults=${only:-$default_faults}
DRAIN_LIMIT=90
NSERVERS=3; NWORKERS=4; CONCURRENCY=4

# As scripts/lib/servers.sh's free_port, but below Linux's ephemeral range (32768-60999): a
# port that an outgoing connection holds cannot be bound, and nothing listens on it to warn.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( RANDOM % 12000 + 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "free_port: no free port found" >&2
  return 1
}

now() { echo "$EPOCHREALTIME"; }
log() { printf '[chaos %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- the stack ------------------------------------------------------------------------------

declare -a server_port server_pid worker_pid worker_server
pg_port=""; redis_port=""; kafka=""; kafka_pid=""; kafka_port=""; kafka_cutoff=0
listen_host=127.0.0.1; netns=""; netns_host_if=""; netns_host_ip=""; faketime_lib=""; small_disk=""
NETNS_WORKER=4; SKEW_WORKER=3

# Optional parts of the stack: a fault whose part could not be set up is reported as SKIP.
setup_netns() {  # worker NETNS_WORKER in its own network namespace, joined by a veth pair
  [ "$(id -u)" = 0 ] && command -v ip >/dev/null || return 0
  local ns="jqchaos$$" net=$(( $$ % 200 + 10 ))
  if ip netns add "$ns" 2>/dev/null &&
     ip link add "${ns}h" type veth peer name "${ns}w" &&
     ip link set "${ns}w" netns "$ns" &&
     ip addr add "10.214.$net.1/24" dev "${ns}h" && ip link set "${ns}h" up &&
     ip netns exec "$ns" ip addr add "10.214.$net.2/24" dev "${ns}w" &&
     ip netns exec "$ns" ip link set "${ns}w" up && ip netns exec "$ns" ip link set lo up; then
    netns=$ns; netns_host_if="${ns}h"; netns_host_ip="10.214.$net.1"
    listen_host=0.0.0.0  # the servers must be reachable from the namespace too
  else
    log "no network namespace (net-cut will be skipped)"
    ip link del "${ns}h" 2>/dev/null; ip netns del "$ns" 2>/dev/null
  fi
  return 0
}

setup_faketime() {
  local f
  for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 /usr/lib/*/faketime/libfaketimeMT.so.1; do
    [ -f "$f" ] && { faketime_lib=$f; break; }
  done
  echo "+0" >"$dir/run/skew"
  [ -n "$faketime_lib" ] || log "no libfaketime (clock-skew will be skipped)"
}

# job_outputs (what jobs print) moved to a tablespace on a 32 MiB tmpfs that disk-full fills.
setup_small_disk() {
  [ "$(id -u)" = 0 ] || { log "not root: disk-full will be skipped"; return 0; }
  mkdir -p "$dir/outdisk"
  mount -t tmpfs -o size=32m chaos-outputs "$dir/outdisk" 2>/dev/null ||
    { log "cannot mount a tmpfs: disk-full will be skipped"; return 0; }
  small_disk="$dir/outdisk"
  mkdir -p "$small_disk/ts"; chown postgres "$small_disk/ts"
  psqlq -c "CREATE TABLESPACE chaos_outputs LOCATION '$small_disk/ts'"
  psqlq -c "ALTER TABLE job_outputs SET TABLESPACE chaos_outputs"
  psqlq -c "DO \$\$ DECLARE r record; BEGIN
              FOR r IN SELECT indexrelid::regclass i FROM pg_index WHERE indrelid = 'job_outputs'::regclass
              LOOP EXECUTE format('ALTER INDEX %s SET TABLESPACE chaos_outputs', r.i); END LOOP;
            END \$\$"
}

psqlq() { psql -h 127.0.0.1 -p "$pg_port" -U postgres -d jq -X -q -tA -v ON_ERROR_STOP=1 "$@"; }

wait_port() {  # wait_port PORT SECONDS
  for _ in $(seq 1 $(( $2 * 10 ))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# free_port probes, then the process binds: another process can take the port in between (seen:
# a worker's metrics port). A process that exits at start is started again on fresh ports.
start_server() {  # start_server INDEX (its gRPC port is kept: workers and the load know it)
  local i=$1 attempt
  for attempt in 1 2 3 4 5; do
    JQ_DB_URL="host=127.0.0.1 port=$pg_port user=postgres dbname=jq" \
    JQ_SERVER_ADDR="$listen_host:${server_port[$i]}" JQ_METRICS_ADDR="127.0.0.1:$(free_port)" \
    JQ_REDIS_ADDR="127.0.0.1:$redis_port" JQ_KAFKA_BROKERS="$kafka" JQ_SERVER_ID="server-$i" \
      setsid "$build/jq-server" >>"$dir/logs/server-$i.log" 2>&1 </dev/null &
    server_pid[i]=$!
    disown "$!"  # no "Killed" notices from bash when a fault kills it
    if wait_port "${server_port[$i]}" 60 && sleep 0.5 && kill -0 "${server_pid[$i]}" 2>/dev/null; then
      return 0
    fi
    kill -KILL "${server_pid[$i]}" 2>/dev/null || true
    log "jq-server $i did not start (attempt $attempt): $(tail -1 "$dir/logs/server-$i.log")"
    [ -n "${stack_up:-}" ] || server_port[i]=$(free_port)
  done
  return 1
}

# Worker i knows every server, its own ((i-1) mod 3)+1 first: a killed server's workers fail
# over. The worker in the network namespace (net-cut) reaches them at the host's veth address;
# the skewed one (clock-skew) runs under libfaketime, its offset read from a file.
worker_addrs() {  # worker_addrs INDEX HOST
  local i=$1 host=$2 k s out=""
  for k in $(seq 0 $((NSERVERS - 1))); do
    s=$(( (worker_server[i] - 1 + k) % NSERVERS + 1 ))
    out="$out${out:+,}$host:${server_port[$s]}"
  done
  echo "$out"
}

start_worker() {  # start_worker INDEX
  local i=$1 attempt host=127.0.0.1 wrap=() skew=()
  if [ "$i" = "$NETNS_WORKER" ] && [ -n "$netns" ]; then
    host=$netns_host_ip; wrap=(ip netns exec "$netns")
  fi
  if [ "$i" = "$SKEW_WORKER" ] && [ -n "$faketime_lib" ]; then
    # Only the wall clock is skewed, as a wrong NTP setting would; monotonic time is not.
    skew=(LD_PRELOAD="$faketime_lib" FAKETIME_TIMESTAMP_FILE="$dir/run/skew"
          FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1)
  fi
  for attempt in 1 2 3 4 5; do
    env JQ_WORKER_SERVER_ADDR="$(worker_addrs "$i" "$host")" JQ_WORKER_ID="worker-$i" \
      JQ_WORKER_CONCURRENCY=$CONCURRENCY JQ_METRICS_ADDR="127.0.0.1:$(free_port)" "${skew[@]}" \
      setsid "${wrap[@]}" "$build/jq-worker" >>"$dir/logs/worker-$i.log" 2>&1 </dev/null &
    worker_pid[i]=$!
    disown "$!"
    sleep 0.5
    kill -0 "${worker_pid[$i]}" 2>/dev/null && return 0
    log "jq-worker $i did not start (attempt $attempt): $(tail -1 "$dir/logs/worker-$i.log")"
  done
  return 1
}

start_kafka() {  # the first start picks a port; a restart (kafka-down) keeps it
  [ -x "$build/jq-kafka-mock" ] || return 0
  local k="" attempt
  for attempt in 1 2 3 4 5; do
    # A fixed port, so that the mock can come back where the servers expect it.
    [ -n "$kafka_port" ] && [ -n "$kafka" ] || kafka_port=$(free_port)
    rm -f "$dir/run/kafka.out"
    setsid "$build/jq-kafka-mock" --port "$kafka_port" >"$dir/run/kafka.out" \
      2>>"$dir/logs/kafka.log" </dev/null &
    kafka_pid=$!
    disown "$!"
    for _ in $(seq 1 100); do
      k=$(sed -n 's/^JQ_KAFKA_BROKERS=//p' "$dir/run/kafka.out" 2>/dev/null)
      [ -n "$k" ] && break
      kill -0 "$kafka_pid" 2>/dev/null || break
      sleep 0.1
    done
    if [ -n "$k" ]; then
      kafka=$k
      # A mock keeps nothing: only events after this one must be found in the new one.
      [ -z "${stack_up:-}" ] || kafka_cutoff=$(psqlq -c "SELECT coalesce(max(id), 0) FROM job_events")
      return 0
    fi
    log "jq-kafka-mock did not start (attempt $attempt): $(tail -1 "$dir/logs/kafka.log")"
    kill -KILL "$kafka_pid" 2>/dev/null || true
    sleep 1
  done
  return 1
}

cleanup() {
  set +e
  local p
  [ -n "${submit_pid:-}" ] && kill "$submit_pid" 2>/dev/null
  for p in "${worker_pid[@]}" "${server_pid[@]}" "$kafka_pid" "${hold_pid:-}"; do
    [ -n "$p" ] || continue
    kill -CONT "$p" 2>/dev/null
    kill -KILL "$p" 2>/dev/null
  done
  redis_stop "$dir"
  pg_stop "$dir"
  [ -z "$netns" ] || { ip link del "$netns_host_if" 2>/dev/null; ip netns del "$netns" 2>/dev/null; }
  [ -z "$small_disk" ] || umount "$small_disk" 2>/dev/null
  if [ "$keep" = 0 ] && [ "${failed:-1}" = 0 ]; then rm -rf "$dir"; else log "logs kept in $dir"; fi
}
trap cleanup EXIT

start_stack() {
  setup_netns
  setup_faketime
  pg_port=$(free_port)
  pg_start "$dir" "$pg_port" fast
  pg_create_db "$pg_port" jq
  redis_port=$(free_port)
  redis_start "$dir" "$redis_port"
  start_kafka
  local i
  for i in $(seq 1 "$NSERVERS"); do server_port[i]=$(free_port); start_server "$i"; done
  for i in $(seq 1 "$NWORKERS"); do worker_server[i]=$(( (i - 1) % NSERVERS + 1 )); start_worker "$i"; done
  stack_up=1
  psqlq -c "CREATE TABLE IF NOT EXISTS chaos_acked (id uuid PRIMARY KEY, kind text NOT NULL,
            phase text NOT NULL DEFAULT '', acked_at double precision NOT NULL)"
  psqlq -c "CREATE TABLE IF NOT EXISTS chaos_kafka (topic text NOT NULL, job_id text NOT NULL)"
  setup_small_disk
  log "stack up in $dir: pg $pg_port, redis $redis_port, kafka ${kafka:-none}," \
      "servers ${server_port[*]}, workers ${worker_pid[*]}"
}

ctl() {  # ctl SERVER_INDEX ARGS...
  local i=$1; shift
  env -u JQ_SERVER_ADDR "$build/jq-ctl" --server-addr "127.0.0.1:${server_port[$i]}" --timeout 5 "$@"
}

# ---- the load -------------------------------------------------------------------------------

# Each job appends "id attempt worker" to its worker's execution log before doing its work:
# the workers' own record of what ran, independent of what the server stored.
payload() {  # payload KIND
  local body
  case "$1" in
    short) body="sleep 0.1" ;;
    long) body="sleep 5" ;;
    fail) body="exit 1" ;;
    timeout) body="sleep 30" ;;
  esac
  # shellcheck disable=SC2016 # $JQ_* are expanded by the job's shell, not here
  # It also prints 1.5 KB, so that every job has output to store (disk-full fills its disk).
  printf '{"command":["sh","-c","echo \\"$JQ_JOB_ID $JQ_JOB_ATTEMPT $JQ_WORKER_ID\\" >> %s/$JQ_WORKER_ID.log; seq 1 400; %s"]}' \
    "$dir/exec" "$body"
}

submitter() {  # submitter QUEUE ACKFILE: open loop at RATE jobs/s, round robin over servers
  local queue=$1 ack=$2 n=0 kind srv id extra next interval
  interval=$(awk -v r="$RATE" 'BEGIN { printf "%d", 1000000 / r }')
  next=${EPOCHREALTIME/./}
  while :; do
    case $(( n % 10 )) in
      7) kind=long; extra=() ;;
      8) kind=fail; extra=(--max-retries 2) ;;
      9) kind=timeout; extra=(--max-retries 1 --timeout 2) ;;
      *) kind=short; extra=() ;;
    esac
    srv=$(( n % NSERVERS + 1 ))
    # Only an id printed by a successful call counts as acknowledged.
    if id=$(ctl "$srv" job submit --queue "$queue" --payload "$(payload "$kind")" "${extra[@]}" \
              2>>"$dir/logs/submit.err"); then
      echo "$id,$kind,$EPOCHREALTIME" >>"$ack"
    fi
    n=$((n + 1))
    next=$((next + interval))
    local t=${EPOCHREALTIME/./}
    if [ "$t" -lt "$next" ]; then
      sleep "$(awk -v d=$((next - t)) 'BEGIN { printf "%.6f", d / 1000000 }')"
    else
      next=$t  # behind (a fault slowed submits): do not burst to catch up
    fi
  done
}

# ---- faults ---------------------------------------------------------------------------------
# Each fault_* injects, holds and ends its fault; it sets fault_end and may set faulted_worker
# (a worker whose jobs may legitimately run again) and stale_expected (1: its late reports must
# be refused).

busy_worker() {  # index of a worker with a RUNNING job (a long one if possible)
  local w
  w=$(psqlq -c "SELECT worker_id FROM jobs WHERE status = 3 AND worker_id IS NOT NULL
                ORDER BY (payload::text LIKE '%sleep 5%') DESC, started_at LIMIT 1")
  w=${w#worker-}
  echo "${w:-1}"
}

fault_worker_kill() {
  local w; w=$(busy_worker); faulted_worker="worker-$w"
  log "kill -9 worker-$w (pid ${worker_pid[$w]})"
  kill -KILL "${worker_pid[$w]}"
  sleep 1
  start_worker "$w"
  fault_end=$(now)
}

fault_server_kill() {
  log "kill -9 server-2 (pid ${server_pid[2]})"
  kill -KILL "${server_pid[2]}"
  sleep 2
  start_server 2
  fault_end=$(now)
}

fault_sigstop() {
  local w; w=$(busy_worker); faulted_worker="worker-$w"; stale_expected=1
  log "SIGSTOP worker-$w for $((LEASE * 2 + 2)) s (lease $LEASE s)"
  kill -STOP "${worker_pid[$w]}"
  sleep $((LEASE * 2 + 2))
  kill -CONT "${worker_pid[$w]}"
  fault_end=$(now)
}

fault_pg_restart() {
  log "PostgreSQL restart"
  pg_stop "$dir"
  pg_start "$dir" "$pg_port" fast
  fault_end=$(now)
}

fault_pg_down() {
  log "PostgreSQL unreachable for $PG_DOWN s"
  pg_stop "$dir"
  sleep "$PG_DOWN"
  pg_start "$dir" "$pg_port" fast
  fault_end=$(now)
}

fault_pg_terminate() {
  log "pg_terminate_backend on jq's connections every 0.5 s for 10 s"
  local end=$((SECONDS + 10))
  while [ "$SECONDS" -lt "$end" ]; do
    psqlq -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
              WHERE datname = 'jq' AND pid <> pg_backend_pid() AND backend_type = 'client backend'" \
      >>"$dir/logs/terminate.log" 2>&1 || true
    sleep 0.5
  done
  fault_end=$(now)
}

fault_redis_kill() {
  log "Redis kill -9, back after 5 s"
  kill -KILL "$(cat "$dir/redis.pid")"
  rm -f "$dir/redis.pid"
  sleep 5
  redis_start "$dir" "$redis_port"
  fault_end=$(now)
}

fault_redis_flush() {
  log "Redis FLUSHALL"
  redis-cli -p "$redis_port" FLUSHALL >/dev/null
  fault_end=$(now)
}

fault_conn_exhaust() {
  # Idle connections held by one other client (pgbench: one SELECT, then \sleep) take every
  # slot that jq does not hold already (max_connections 300, 3 reserved for superusers): jq
  # keeps its open connections but can open no new one.
  local used n
  used=$(psqlq -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
  n=$((300 - 3 - used - 1))
  log "connection exhaustion: $n idle connections (jq and the suite hold $used) for 10 s"
  printf 'SELECT 1;\n\\sleep 10 s\n' >"$dir/run/idle.sql"
  pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -c "$n" -j 4 -t 1 -f "$dir/run/idle.sql" jq \
    >"$dir/logs/conn-exhaust.log" 2>&1 &
  local bench=$!
  sleep 3
  psqlq -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'" \
    >>"$dir/logs/conn-exhaust.log" 2>&1 || true
  log "client backends at the peak: $(tail -1 "$dir/logs/conn-exhaust.log")"
  wait "$bench" || log "pgbench failed; see $dir/logs/conn-exhaust.log"
  fault_end=$(now)
}

fault_kafka_down() {
  [ -n "$kafka_pid" ] || { log "no Kafka mock; skipped"; fault_end=$(now); return; }
  log "Kafka mock down for 10 s, back on the same port (empty: a mock keeps nothing)"
  kill -KILL "$kafka_pid"
  sleep 10
  start_kafka
  fault_end=$(now)
}

fault_net_cut() {
  [ -n "$netns" ] || { skipped="needs root and ip netns"; fault_end=$(now); return; }
  faulted_worker="worker-$NETNS_WORKER"
  log "worker-$NETNS_WORKER cut off the network for 15 s (lease $LEASE s)"
  ip link set "$netns_host_if" down
  sleep 15
  ip link set "$netns_host_if" up
  fault_end=$(now)
  rejoin_lines=$( (wc -l <"$dir/exec/worker-$NETNS_WORKER.log") 2>/dev/null || echo 0)
}

# The wall clock of one worker 5 minutes fast, then 5 minutes slow; nothing should notice:
# leases and timeouts are measured by the server's clock and the worker's monotonic one.
fault_clock_skew() {
  [ -n "$faketime_lib" ] || { skipped="needs libfaketime"; fault_end=$(now); return; }
  log "worker-$SKEW_WORKER's wall clock +5 min for 8 s, then -5 min for 8 s"
  echo "+5m" >"$dir/run/skew"
  sleep 8
  echo "-5m" >"$dir/run/skew"
  sleep 8
  echo "+0" >"$dir/run/skew"
  fault_end=$(now)
}

# The disk that holds job output (job_outputs' tablespace) full for 15 s: a report cannot be
# stored until space is back; it must be kept and sent again, never lost or turned into a failure.
fault_disk_full() {
  [ -n "$small_disk" ] || { skipped="needs root and a tmpfs mount"; fault_end=$(now); return; }
  log "the disk of job_outputs full for 15 s"
  local avail
  avail=$(df --output=avail -B1 "$small_disk" | tail -1)
  fallocate -l "$avail" "$small_disk/fill" 2>/dev/null || true
  dd if=/dev/zero of="$small_disk/fill2" bs=4k 2>/dev/null || true  # whatever is left
  log "disk of job_outputs: $(df --output=avail -B1 "$small_disk" | tail -1) bytes free"
  sleep 15
  rm -f "$small_disk/fill" "$small_disk/fill2"
  fault_end=$(now)
}

# No fault: check_phase forges violations after the drain (see forge_violations), to show that
# the checks can fail.
fault_selftest() {
  log "self-test: no fault; records will be forged before the checks"
  forge=1
  fault_end=$(now)
}

forge_violations() {  # forge_violations NAME QUEUE
  local name=$1 q=$2 id
  # A second SUCCESS, under an old attempt, for one DONE job.
  psqlq -c "INSERT INTO job_events (job_id, tenant, queue, from_status, to_status, reason, worker_id, attempt)
            SELECT id, tenant, queue, 3, 4, 'SUCCESS', worker_id, attempt - 1 FROM jobs
            WHERE queue = '$q' AND status = 4 LIMIT 1" >/dev/null
  # A second execution of a short job on a healthy worker.
  id=$(psqlq -c "SELECT id FROM chaos_acked WHERE phase = '$name' AND kind = 'short' LIMIT 1")
  echo "$id 2 worker-1" >>"$dir/exec/worker-1.log"
  # An acknowledged id the database never saw.
  psqlq -c "INSERT INTO chaos_acked VALUES ('00000000-0000-0000-0000-000000000001', 'short', '$name', 0)"
}

fault_xmin_hold() {
  log "a transaction holding the xmin horizon for 20 s"
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -d jq -X -q \
    -c "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM jobs; SELECT pg_sleep(20); COMMIT" \
    >/dev/null 2>&1 &
  hold_pid=$!
  wait "$hold_pid" || true
  hold_pid=""
  fault_end=$(now)
}

# ---- invariants -----------------------------------------------------------------------------

results=()
failed=1  # until the phases have run (cleanup keeps the logs of a failed start)

check_phase() {  # check_phase NAME QUEUE
  local name=$1 q=$2 bad=() n
  psqlq -c "\\copy chaos_acked (id, kind, acked_at) FROM '$dir/acks/$name.csv' WITH (FORMAT csv)"
  # \copy cannot set a constant column: fill it in.
  psqlq -c "UPDATE chaos_acked SET phase = '$name' WHERE phase = ''" >/dev/null
  local acked; acked=$(psqlq -c "SELECT count(*) FROM chaos_acked WHERE phase = '$name'")

  # Drain: every acknowledged job terminal within DRAIN_LIMIT seconds.
  local deadline=$((SECONDS + DRAIN_LIMIT)) open=1
  while [ $SECONDS -lt $deadline ]; do
    open=$(psqlq -c "SELECT count(*) FROM chaos_acked a LEFT JOIN jobs j USING (id)
                     WHERE a.phase = '$name' AND (j.status IS NULL OR j.status NOT IN (4, 6))" \
           2>/dev/null || echo 1)
    [ "$open" = 0 ] && break
    sleep 1
  done
  [ "${forge:-0}" = 1 ] && forge_violations "$name" "$q"
  sql_ids() {  # sql_ids LABEL QUERY: a failed invariant lists up to 5 job ids
    local out; out=$(psqlq -c "$2" 2>&1 | head -5 | paste -sd' ')
    if [ -n "$out" ]; then bad+=("$1"); echo "  $name: $1: $out" >>"$dir/findings.txt"; fi
  }
  sql_ids lost "SELECT a.id FROM chaos_acked a LEFT JOIN jobs j USING (id)
                WHERE a.phase = '$name' AND j.id IS NULL"
  sql_ids not-terminal "SELECT a.id || ':' || j.status FROM chaos_acked a JOIN jobs j USING (id)
                        WHERE a.phase = '$name' AND j.status NOT IN (4, 6)"
  sql_ids terminal-events "SELECT j.id FROM jobs j WHERE j.queue = '$q' AND j.status IN (4, 6)
      AND (SELECT count(*) FROM job_events e WHERE e.job_id = j.id AND e.to_status IN (4, 6)) <> 1"
  sql_ids one-success "SELECT j.id || ':' || j.status FROM jobs j WHERE j.queue = '$q' AND
      (SELECT count(*) FROM job_events e WHERE e.job_id = j.id AND e.reason = 'SUCCESS')
      <> CASE WHEN j.status = 4 THEN 1 ELSE 0 END AND j.status IN (4, 6)"
  sql_ids outcome "SELECT a.id || ':' || a.kind || ':' || j.status FROM chaos_acked a JOIN jobs j USING (id)
      WHERE a.phase = '$name' AND j.status IN (4, 6) AND
            (j.status = 4) <> (a.kind IN ('short', 'long'))"
  # A worker's report counts only under the lease it holds: no report accepted for an attempt
  # older than one already claimed, and a DONE job's SUCCESS is its latest claim's.
  sql_ids stale-lease "SELECT e.job_id || ':' || e.reason || '@' || e.attempt FROM job_events e
      WHERE e.queue = '$q' AND e.reason IN ('SUCCESS', 'FAILED_EXIT_CODE', 'TIMEOUT') AND EXISTS (
        SELECT 1 FROM job_events a WHERE a.job_id = e.job_id AND a.id < e.id
          AND a.reason = 'ASSIGNED' AND a.attempt > e.attempt)
      UNION ALL
      SELECT j.id || ':done@' || j.attempt FROM jobs j JOIN job_events e ON e.job_id = j.id
      WHERE j.queue = '$q' AND j.status = 4 AND e.reason = 'SUCCESS'
        AND (e.attempt <> j.attempt OR e.worker_id IS DISTINCT FROM j.worker_id)"
  # A lease is taken away only from the worker the fault hit: a healthy worker's job that
  # expired or was declared lost is re-run although nothing was wrong with it.
  sql_ids lease-healthy "SELECT e.job_id || ':' || e.reason || ':' || e.worker_id || '@' || e.attempt
      FROM job_events e WHERE e.queue = '$q' AND e.reason IN ('LEASE_EXPIRED', 'WORKER_LOST')
        AND e.worker_id IS DISTINCT FROM '${faulted_worker:-none}'"
  # Execution logs: a job runs again only if its worker was the one the fault hit.
  local reruns
  reruns=$(psqlq -c "SELECT id || ' ' || kind FROM chaos_acked WHERE phase = '$name'" |
    awk -v fw="${faulted_worker:-none}" '
      FNR == NR { kind[$1] = $2; next }
      ($1 in kind) && $3 != fw { runs[$1]++ }
      END {
        for (id in runs) {
          k = kind[id]; want = (k == "fail") ? 3 : (k == "timeout") ? 2 : 1
          if (runs[id] > want) printf "%s:%s:%d ", id, k, runs[id]
        }
      }' - "$dir"/exec/*.log 2>/dev/null | cut -d' ' -f1-5)
  if [ -n "$reruns" ]; then bad+=(rerun-healthy); echo "  $name: rerun-healthy: $reruns" >>"$dir/findings.txt"; fi
  # Processes: every server and worker alive (the ones a fault killed were restarted).
  local i dead=""
  for i in $(seq 1 "$NSERVERS"); do kill -0 "${server_pid[$i]}" 2>/dev/null || dead="$dead server-$i"; done
  for i in $(seq 1 "$NWORKERS"); do kill -0 "${worker_pid[$i]}" 2>/dev/null || dead="$dead worker-$i"; done
  if [ -n "$dead" ]; then bad+=(crash); echo "  $name: crash:$dead" >>"$dir/findings.txt"; fi
  # A frozen worker's late reports must have been refused: the server answers
  # FAILED_PRECONDITION "stale lease ..." (logged by the worker at warning, by the server at debug).
  if [ "${stale_expected:-0}" = 1 ]; then
    n=$(cat "$dir"/logs/*.log | grep -c "stale lease" || true)
    if [ "$n" -le "${stale_before:-0}" ]; then
      bad+=(stale-refused); echo "  $name: stale-refused: no 'stale lease' refusal in the logs" >>"$dir/findings.txt"
    fi
  fi
  # Kafka: the relay's cursor passed every event of this phase.
  if [ -n "$kafka" ]; then
    local lag=1 kd=$((SECONDS + 30))
    while [ $SECONDS -lt $kd ]; do
      lag=$(psqlq -c "SELECT count(*) FROM job_events WHERE queue = '$q'
                      AND id > (SELECT last_event_id FROM outbox_cursors WHERE name = 'kafka')")
      [ "$lag" = 0 ] && break
      sleep 1
    done
    if [ "$lag" != 0 ]; then bad+=(kafka); echo "  $name: kafka: $lag events of $q not published" >>"$dir/findings.txt"; fi
  fi

  # Kafka itself: per job and topic, at least as many messages as the relay had to send there
  # (at least once), for every event after the mock's last start (a restarted mock is empty).
  if [ -n "$kafka" ] && command -v kcat >/dev/null; then
    local t topics="job.submitted job.assigned job.started job.completed job.failed job.retried"
    topics="$topics job.cancelled job.dead-lettered"
    : >"$dir/run/kafka.csv"
    for t in $topics; do
      kcat -b "$kafka" -C -t "$t" -o beginning -e -q -f "$t,%k\n" >>"$dir/run/kafka.csv" 2>>"$dir/logs/kcat.log" || true
    done
    psqlq -c "TRUNCATE chaos_kafka"
    psqlq -c "\\copy chaos_kafka FROM '$dir/run/kafka.csv' WITH (FORMAT csv)"
    sql_ids kafka-messages "WITH e AS (
        SELECT e.job_id::text job_id, t.topic FROM job_events e, LATERAL (SELECT unnest(CASE
          WHEN e.to_status = 1 AND (coalesce(e.from_status, 0) = 0 OR e.reason = 'SUBMITTED') THEN ARRAY['job.submitted']
          WHEN e.to_status = 1 THEN ARRAY['job.retried']
          WHEN e.to_status = 2 THEN ARRAY['job.assigned', 'job.submitted']
          WHEN e.to_status = 3 THEN ARRAY['job.started']
          WHEN e.to_status = 4 THEN ARRAY['job.completed']
          WHEN e.to_status = 5 THEN ARRAY['job.failed']
          WHEN e.reason = 'CANCELLED' THEN ARRAY['job.cancelled', 'job.dead-lettered']
          ELSE ARRAY['job.dead-lettered'] END) topic) t
        WHERE e.queue = '$q' AND e.id > $kafka_cutoff),
      want AS (SELECT job_id, topic, count(*) n FROM e GROUP BY 1, 2),
      got AS (SELECT job_id, topic, count(*) n FROM chaos_kafka GROUP BY 1, 2)
      SELECT w.job_id || ':' || w.topic || ':' || coalesce(g.n, 0) || '<' || w.n
      FROM want w LEFT JOIN got g USING (job_id, topic) WHERE coalesce(g.n, 0) < w.n"
  fi
  # A worker cut off the network works again once it is back.
  if [ -n "${rejoin_lines:-}" ]; then
    local lines_now; lines_now=$( (wc -l <"$dir/exec/worker-$NETNS_WORKER.log") 2>/dev/null || echo 0)
    if [ "$lines_now" -le "$rejoin_lines" ]; then
      bad+=(rejoined); echo "  $name: rejoined: worker-$NETNS_WORKER ran nothing after the network came back" >>"$dir/findings.txt"
    fi
  fi

  # Rates from SUCCESS timestamps: baseline before the fault; "during" over the fault, or the
  # 10 s after an instantaneous one; recovery = first 2 s window from the fault's end at >= 50%.
  local during_end; during_end=$(awk -v s="$fault_start" -v e="$fault_end" 'BEGIN { printf "%.6f", (e - s < 10) ? s + 10 : e }')
  local stats
  stats=$(psqlq -c "
    WITH s AS (SELECT extract(epoch FROM occurred_at) t FROM job_events
               WHERE queue = '$q' AND reason = 'SUCCESS'),
    b AS (SELECT count(*) / ($fault_start - $base_start)::float r FROM s
          WHERE t >= $base_start AND t < $fault_start),
    d AS (SELECT count(*) / ($during_end - $fault_start)::float r FROM s
          WHERE t >= $fault_start AND t < $during_end),
    w AS (SELECT min(o) o FROM generate_series(0, ($load_end - $fault_end - 2)::numeric, 0.25) o
          WHERE (SELECT count(*) FROM s WHERE t >= $fault_end + o AND t < $fault_end + o + 2)
                >= 0.5 * 2 * (SELECT r FROM b))
    SELECT round((SELECT r FROM b)::numeric, 2), round((100 * (SELECT r FROM d) / nullif((SELECT r FROM b), 0))::numeric),
           coalesce((SELECT o FROM w)::text, 'none')")
  local base_rate pct rec
  IFS='|' read -r base_rate pct rec <<<"$stats"
  if [ "$rec" = none ] || awk -v r="$rec" -v l="$RECOVERY_LIMIT" 'BEGIN { exit !(r > l) }'; then
    bad+=(recovery); echo "  $name: recovery: ${rec} s (limit $RECOVERY_LIMIT s)" >>"$dir/findings.txt"
  fi
  local verdict=PASS
  if [ ${#bad[@]} -gt 0 ]; then verdict="FAIL: ${bad[*]}"; fi
  if [ -n "$skipped" ]; then verdict="SKIP ($skipped)"; fi
  if [ "${forge:-0}" = 1 ]; then
    # The self-test passes when exactly the forged violations were caught.
    if [ "${bad[*]}" = "lost terminal-events one-success stale-lease rerun-healthy" ]; then
      verdict="PASS (caught: ${bad[*]})"
      sed -i "/^  $name: /d" "$dir/findings.txt"
    else
      verdict="FAIL: expected the forged violations to be caught, got: ${bad[*]:-none}"
    fi
  fi
  [ "$verdict" = "${verdict#FAIL}" ] || failed=1
  results+=("| $name | $acked | $verdict | $base_rate | ${pct:-?}% | $rec |")
  log "$name: $verdict (acked $acked, baseline $base_rate/s, during ${pct}%, recovery $rec s)"
}

run_phase() {  # run_phase FAULT
  local name=$1 q="chaos-$1" fn="fault_${1//-/_}"
  declare -F "$fn" >/dev/null || { echo "chaos: unknown fault $name" >&2; exit 2; }
  ctl 1 queue create "$q" --max-retries 3 --backoff-base-ms 200 --backoff-max-ms 1000 >/dev/null
  faulted_worker=""; stale_expected=0; forge=0; skipped=""; rejoin_lines=""
  stale_before=$(cat "$dir"/logs/*.log | grep -c "stale lease" || true)
  : >"$dir/acks/$name.csv"
  submitter "$q" "$dir/acks/$name.csv" &
  submit_pid=$!
  base_start=$(awk -v t="$(now)" 'BEGIN { printf "%.6f", t + 3 }')  # skip the ramp-up
  sleep "$BASE"
  fault_start=$(now)
  "$fn"
  sleep "$AFTER"
  load_end=$(now)
  kill "$submit_pid"; wait "$submit_pid" 2>/dev/null || true; submit_pid=""
  check_phase "$name" "$q"
}

start_stack
sleep 2
IFS=',' read -r -a fault_list <<<"$faults"
failed=0
for f in "${fault_list[@]}"; do run_phase "$f"; done

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo
  echo "jq fault suite, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $([ "$quick" = 1 ] && echo quick || echo full)"
  echo "lease ${LEASE} s, load ${RATE} jobs/s (70% short, 10% sleep 5, 10% exit 1, 10% timing out), $NSERVERS servers, $NWORKERS workers x $CONCURRENCY"
  echo
  echo "| fault | jobs acked | invariants | baseline completions/s | rate during fault | recovery s |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${results[@]}"
  if [ -s "$dir/findings.txt" ]; then echo; echo "Findings:"; cat "$dir/findings.txt"; fi
} | tee "$dir/report.md"
exit "$failed"
