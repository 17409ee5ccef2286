#!/usr/bin/env bash
# `make run`: a private stack in the foreground. Ctrl-C stops everything it started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
dir="$root/.jq"

if [ -f "$dir/stack.env" ]; then
  echo "run: a stack from an earlier run is still recorded; stopping it first"
  "$here/dev-stack.sh" stop >/dev/null || true
fi

tail_pid=""
cleanup() {
  trap - INT TERM EXIT
  echo
  # Background commands of a script ignore SIGINT, so the log tail is stopped by hand.
  [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
  "$here/dev-stack.sh" stop
  exit 0
}
trap cleanup INT TERM EXIT

"$here/dev-stack.sh" start --servers 1 --workers 1
# shellcheck source=/dev/null  # written by dev-stack.sh at run time
. "$dir/stack.env"
cat <<MSG

jq is running. In another terminal:

  source .jq/stack.env
  ./build/jq-ctl status
  ./build/jq-ctl job submit --queue default --payload '{"command":["echo","hello"]}' --wait
  ./build/jq-ctl job list
  ./build/jq-ctl job output <job_id>
  curl -s \$JQ_METRICS_ADDR/metrics | grep ^jq_
  kcat -b \$JQ_KAFKA_BROKERS -C -t job.completed -o beginning -e   # the events, as protobuf

Logs: .jq/logs/ (one JSON object per line). Ctrl-C stops PostgreSQL, Redis, the Kafka mock,
jq-server and jq-worker.
MSG
# Follow the server log until interrupted.
tail -n 0 -F "$dir"/logs/*.log &
tail_pid=$!
wait "$tail_pid"
