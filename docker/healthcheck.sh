#!/usr/bin/env bash
# HEALTHCHECK of the jq images: GET /healthz on 127.0.0.1:PORT (jq-server 9090, jq-worker 9091:
# the port of metrics.addr / worker.metrics_addr). Uses bash's /dev/tcp so that the runtime
# image needs no HTTP client package.
#   jq-healthcheck PORT [PATH]      exit 0 when the answer is HTTP 200
set -euo pipefail
port="${1:?usage: jq-healthcheck PORT [PATH]}"
path="${2:-/healthz}"

exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
read -r -t 3 _ status _ <&3
exec 3>&-
[ "$status" = "200" ]
