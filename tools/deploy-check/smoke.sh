#!/usr/bin/env bash
# Runs what the Kubernetes pods run, with the built binaries on this machine: the ConfigMap's
# config.yaml, the migration Job's arguments, jq-server's arguments with the dev Secret's
# variables, the worker container's command, the image's healthcheck on /readyz and /healthz,
# a job submitted with jq-ctl (the admin key) and run by the worker (the fleet key), and SIGTERM within each
# terminationGracePeriodSeconds. PostgreSQL and Redis are private servers on loopback
# (scripts/test-servers.sh); hosts and ports are overridden with JQ_* variables, as the
# Secret overrides the file in a pod. Exits non-zero on the first failure.
# With OVERLAY job-queue-dev-tls, the Secrets cert-manager would make are made with
# scripts/gen-certs.sh in their mount paths' place, and every gRPC call is mTLS.
#   tools/deploy-check/smoke.sh [BUILD_DIR] [OVERLAY]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
overlay="${2:-job-queue-dev}"
# shellcheck source=../../scripts/lib/servers.sh
. "$root/scripts/lib/servers.sh"

dir="$(mktemp -d /tmp/jq-deploy-smoke.XXXXXX)"
chmod 755 "$dir" # PostgreSQL runs as the postgres user when this runs as root
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  "$root/scripts/test-servers.sh" stop "$dir/servers" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: smoke: $*" >&2
  for log in "$dir"/*.log; do [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }; done
  exit 1
}
# until SECONDS COMMAND...: retries COMMAND every 0.2 s until it succeeds or time is up.
until_ok() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
# Reads KEY=VALUE lines into the environment of this shell.
export_env() {
  local line
  while IFS= read -r line; do [ -n "$line" ] && export "${line?}"; done <"$1"
}

servers_env="$("$root/scripts/test-servers.sh" start "$dir/servers" $$)" || fail "PostgreSQL and Redis did not start"
eval "$servers_env"
psql -h 127.0.0.1 -p "$JQ_TEST_PG_PORT" -U postgres -qc 'CREATE DATABASE jq' postgres >/dev/null

node "$root/tools/deploy-check/extract.mjs" "$dir" "$overlay"
sed -i "s|/etc/jq/config.yaml|$dir/config.yaml|g" "$dir/server.args" "$dir/migrate.args" "$dir/worker.sh"

# The Secret volumes (the TLS overlay's): each becomes a directory with what cert-manager
# writes (tls.crt, tls.key, ca.crt), and its mount path in the containers' env points there.
ctl_tls=()
for pod in server worker; do
  while read -r mount secret; do
    [ -d "$dir/tls" ] || "$root/scripts/gen-certs.sh" stack "$dir/tls" >/dev/null
    case "$secret" in
      jq-server-tls) leaf=server ;;
      jq-worker-tls) leaf=client ;;
      *) fail "the $pod mounts Secret $secret, which this smoke test cannot make" ;;
    esac
    mkdir -p "$dir/secrets/$secret"
    cp "$dir/tls/$leaf.pem" "$dir/secrets/$secret/tls.crt"
    cp "$dir/tls/$leaf.key" "$dir/secrets/$secret/tls.key"
    cp "$dir/tls/ca.pem" "$dir/secrets/$secret/ca.crt"
    sed -i "s|=$mount/|=$dir/secrets/$secret/|" "$dir/$pod.env"
  done <"$dir/$pod.mounts"
done
mapfile -t server_env <"$dir/server.env"
mapfile -t worker_env <"$dir/worker.env"
if grep -q '^JQ_SERVER_TLS_CERT=' "$dir/server.env"; then
  ctl_tls=(JQ_TLS_CA="$dir/tls/ca.pem" JQ_TLS_CERT="$dir/tls/client.pem" JQ_TLS_KEY="$dir/tls/client.key")
fi
grpc=$(free_port)
metrics=$(free_port)
worker_metrics=$(free_port)
export PATH="$build:$PATH"

# The dev Secret, then the local servers in place of its in-namespace hosts.
export_env "$dir/secret.env"
export JQ_DB_HOST=127.0.0.1 JQ_DB_PORT="$JQ_TEST_PG_PORT" JQ_DB_USER=postgres
export JQ_REDIS_ADDR="127.0.0.1:$JQ_TEST_REDIS_PORT" JQ_REDIS_PASSWORD=""

mapfile -t migrate_args <"$dir/migrate.args"
jq-server "${migrate_args[@]}" >"$dir/migrate.log" 2>&1 || fail "the migration Job's command failed"
echo "   migration Job: $(tail -n 1 "$dir/migrate.log")"

mapfile -t server_args <"$dir/server.args"
JQ_SERVER_ADDR="127.0.0.1:$grpc" JQ_METRICS_ADDR="127.0.0.1:$metrics" JQ_SERVER_ID=smoke-server \
  env ${server_env[@]+"${server_env[@]}"} jq-server "${server_args[@]}" >"$dir/server.log" 2>&1 &
server=$!
pids+=("$server")
until_ok 60 bash "$root/docker/healthcheck.sh" "$metrics" /readyz || fail "jq-server never became ready (/readyz)"
bash "$root/docker/healthcheck.sh" "$metrics" /healthz || fail "jq-server: /healthz"
echo "   jq-server ready: docker/healthcheck.sh $metrics /readyz"

# The worker pod has no JQ_* backends: only its address and metrics port are overridden here.
env -u JQ_DB_HOST -u JQ_DB_PORT -u JQ_DB_USER -u JQ_DB_PASSWORD -u JQ_REDIS_ADDR -u JQ_REDIS_PASSWORD \
  -u JQ_API_KEY -u JQ_AUTH_BOOTSTRAP_KEY -u JQ_AUTH_BOOTSTRAP_FLEET_KEY \
  POD_NAME=smoke-worker JQ_WORKER_SERVER_ADDR="127.0.0.1:$grpc" \
  JQ_WORKER_METRICS_ADDR="127.0.0.1:$worker_metrics" ${worker_env[@]+"${worker_env[@]}"} \
  bash "$dir/worker.sh" >"$dir/worker.log" 2>&1 &
worker=$!
pids+=("$worker")
until_ok 60 bash "$root/docker/healthcheck.sh" "$worker_metrics" /healthz || fail "jq-worker: /healthz"
id=smoke-worker # POD_NAME
echo "   jq-worker up: docker/healthcheck.sh $worker_metrics /healthz"

# The operator's jq-ctl holds the admin key; the worker sent the Secret's JQ_WORKER_API_KEY, a
# fleet key.
[ "$JQ_WORKER_API_KEY" = "$JQ_AUTH_BOOTSTRAP_FLEET_KEY" ] || fail "the workers' key is not the fleet key"
ctl() {
  JQ_API_KEY="$JQ_AUTH_BOOTSTRAP_KEY" env ${ctl_tls[@]+"${ctl_tls[@]}"} \
    jq-ctl --server-addr "127.0.0.1:$grpc" --timeout 30 "$@"
}
worker_listed() { ctl worker list | grep -q "$id"; }
until_ok 60 worker_listed || fail "the worker never registered as $id"
if [ "${#ctl_tls[@]}" -gt 0 ]; then
  # mTLS: a client without the CA's certificate is refused, with a message that says why.
  if out="$(JQ_API_KEY="$JQ_AUTH_BOOTSTRAP_KEY" jq-ctl --server-addr "127.0.0.1:$grpc" --timeout 10 worker list 2>&1)"; then
    fail "a plaintext jq-ctl reached the TLS server: $out"
  fi
  echo "   mTLS: the worker connected with its certificate; plaintext refused ($(head -c 100 <<<"$out"))"
fi
out="$(ctl job submit --queue default --payload '{"command":["echo","hello from the pod'"'"'s config"]}' --wait 2>&1)" ||
  fail "job submit --wait: $out"
grep -q DONE <<<"$out" || fail "the job did not end DONE: $out"
echo "   a job ran: $(tr '\n' ' ' <<<"$out" | cut -c1-100)"

# The fleet key works the WorkerService only: no AdminService, so no operator's power in a pod.
if out="$(JQ_API_KEY="$JQ_WORKER_API_KEY" env ${ctl_tls[@]+"${ctl_tls[@]}"} jq-ctl --server-addr "127.0.0.1:$grpc" worker drain "$id" 2>&1)"; then
  fail "the workers' key could drain a worker: $out"
fi
grep -q PERMISSION_DENIED <<<"$out" || fail "the workers' key on the AdminService: $out"
echo "   the workers' key is refused the AdminService"

# SIGTERM: each stops within its pod's terminationGracePeriodSeconds (90 and 45).
stopped_within() {  # stopped_within PID SECONDS
  kill -TERM "$1"
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
stopped_within "$worker" 90 || fail "jq-worker did not stop within 90 s of SIGTERM"
stopped_within "$server" 45 || fail "jq-server did not stop within 45 s of SIGTERM"
echo "   SIGTERM: worker and server stopped within their grace periods"
