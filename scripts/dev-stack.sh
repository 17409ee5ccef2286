#!/usr/bin/env bash
# A local jq stack in the background, for people, tests and benchmarks:
#   scripts/dev-stack.sh start [--servers N] [--workers N] [--dir DIR] [--build DIR] [--tls]
#   scripts/dev-stack.sh stop|status [--dir DIR]
# Private PostgreSQL, Redis and a Kafka mock cluster (jq-kafka-mock) on free loopback ports,
# N jq-server replicas and N jq-workers.
# The chosen addresses go to DIR/stack.env (default .jq/stack.env):
#   source .jq/stack.env && ./build/jq-ctl status
# --tls: certificates under DIR/tls (scripts/gen-certs.sh); the servers require mTLS, and the
# workers and stack.env (JQ_TLS_CA, JQ_TLS_CERT, JQ_TLS_KEY) use the client certificate.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib/servers.sh"

cmd=${1:-}; shift || true
servers=1; workers=1; dir="$root/.jq"; build="$root/build"; tls=0
while [ $# -gt 0 ]; do
  case "$1" in
    --servers) servers=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --tls) tls=1; shift ;;
    *) echo "dev-stack: unknown option $1" >&2; exit 2 ;;
  esac
done

wait_port() {  # wait_port PORT SECONDS
  for _ in $(seq 1 $(( $2 * 10 ))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

stop_pids() {
  local f pid
  for f in "$dir"/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
  done
  for f in "$dir"/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

case "$cmd" in
  start)
    if [ -f "$dir/stack.env" ]; then
      echo "dev-stack: already started ($dir/stack.env); run '$0 stop' first" >&2
      exit 1
    fi
    mkdir -p "$dir/run" "$dir/logs"
    chmod 755 "$dir"
    pg_port=$(free_port)
    pg_start "$dir" "$pg_port"
    pg_create_db "$pg_port" jq
    redis_port=$(free_port)
    redis_start "$dir" "$redis_port"
    db_url="host=127.0.0.1 port=$pg_port user=postgres dbname=jq"
    # Kafka: librdkafka's mock cluster speaks the Kafka protocol on loopback.
    kafka=""
    if [ -x "$build/jq-kafka-mock" ]; then
      setsid "$build/jq-kafka-mock" >"$dir/run/kafka.out" 2>"$dir/logs/kafka.log" </dev/null &
      echo $! >"$dir/run/kafka.pid"
      for _ in $(seq 1 100); do
        kafka=$(sed -n 's/^JQ_KAFKA_BROKERS=//p' "$dir/run/kafka.out" 2>/dev/null)
        [ -n "$kafka" ] && break
        sleep 0.1
      done
      [ -n "$kafka" ] || { echo "dev-stack: jq-kafka-mock did not start; see $dir/logs/kafka.log" >&2; exit 1; }
    fi
    server_tls=(); client_tls=()
    if [ "$tls" = 1 ]; then
      "$here/gen-certs.sh" stack "$dir/tls"
      server_tls=(JQ_SERVER_TLS_CERT="$dir/tls/server.pem" JQ_SERVER_TLS_KEY="$dir/tls/server.key"
                  JQ_SERVER_TLS_CLIENT_CA="$dir/tls/ca.pem")
      client_tls=(JQ_TLS_CA="$dir/tls/ca.pem" JQ_TLS_CERT="$dir/tls/client.pem"
                  JQ_TLS_KEY="$dir/tls/client.key")
    fi
    # Auth is on (docs/security.md): keys made in the database: an admin key for stack.env's
    # JQ_API_KEY, so jq-ctl works after `source .jq/stack.env`, and a fleet key for the workers.
    api_key=$(JQ_DB_URL="$db_url" "$build/jq-server" apikey create --tenant default --role admin \
      --description dev-stack 2>>"$dir/logs/apikey.log") \
      || { echo "dev-stack: no API key; see $dir/logs/apikey.log" >&2; exit 1; }
    fleet_key=$(JQ_DB_URL="$db_url" "$build/jq-server" apikey create --tenant default --role fleet \
      --description dev-stack-workers 2>>"$dir/logs/apikey.log") \
      || { echo "dev-stack: no fleet key; see $dir/logs/apikey.log" >&2; exit 1; }
    first_addr=""; first_metrics=""
    for i in $(seq 1 "$servers"); do
      gport=$(free_port); mport=$(free_port)
      JQ_DB_URL="$db_url" JQ_SERVER_ADDR="127.0.0.1:$gport" JQ_METRICS_ADDR="127.0.0.1:$mport" \
      JQ_REDIS_ADDR="127.0.0.1:$redis_port" JQ_KAFKA_BROKERS="$kafka" JQ_SERVER_ID="server-$i" \
        env "${server_tls[@]}" setsid "$build/jq-server" >"$dir/logs/server-$i.log" 2>&1 </dev/null &
      echo $! >"$dir/run/server-$i.pid"
      if ! wait_port "$gport" 60; then
        echo "dev-stack: jq-server $i did not start; see $dir/logs/server-$i.log" >&2
        tail -5 "$dir/logs/server-$i.log" >&2
        exit 1
      fi
      [ -n "$first_addr" ] || { first_addr="127.0.0.1:$gport"; first_metrics="127.0.0.1:$mport"; }
      echo "127.0.0.1:$gport" >>"$dir/run/servers"
    done
    if [ -x "$build/jq-worker" ]; then
      mapfile -t addrs <"$dir/run/servers"
      for i in $(seq 1 "$workers"); do
        addr=${addrs[$(( (i - 1) % ${#addrs[@]} ))]}
        JQ_API_KEY="$fleet_key" \
        JQ_SERVER_ADDR="$addr" JQ_WORKER_ID="worker-$i" JQ_METRICS_ADDR="127.0.0.1:$(free_port)" \
          env "${client_tls[@]}" setsid "$build/jq-worker" >"$dir/logs/worker-$i.log" 2>&1 </dev/null &
        echo $! >"$dir/run/worker-$i.pid"
      done
    fi
    cat >"$dir/stack.env" <<ENV
export JQ_SERVER_ADDR=$first_addr
export JQ_DB_URL="$db_url"
export JQ_REDIS_ADDR=127.0.0.1:$redis_port
export JQ_KAFKA_BROKERS=$kafka
export JQ_METRICS_ADDR=$first_metrics
export JQ_API_KEY=$api_key
ENV
    for v in "${client_tls[@]}"; do echo "export ${v%%=*}=\"${v#*=}\"" >>"$dir/stack.env"; done
    chmod 600 "$dir/stack.env"  # it holds an admin key
    echo "dev-stack: started $servers server(s), $( [ -x "$build/jq-worker" ] && echo "$workers" || echo 0 ) worker(s); logs in $dir/logs"
    cat "$dir/stack.env"
    ;;
  stop)
    stop_pids
    redis_stop "$dir"
    pg_stop "$dir"
    rm -f "$dir/stack.env" "$dir/run/servers"
    echo "dev-stack: stopped"
    ;;
  status)
    if [ ! -f "$dir/stack.env" ]; then echo "dev-stack: not running"; exit 1; fi
    cat "$dir/stack.env"
    for f in "$dir"/run/*.pid; do
      [ -f "$f" ] || continue
      name=$(basename "$f" .pid)
      if kill -0 "$(cat "$f")" 2>/dev/null; then echo "$name: running"; else echo "$name: DEAD"; fi
    done
    ;;
  *)
    echo "usage: $0 start [--servers N] [--workers N] [--dir DIR] [--build DIR] [--tls] | stop | status" >&2
    exit 2
    ;;
esac
