#!/usr/bin/env bash
# Installs every Debian package jq's build, tests and `make run` need (SPEC §12).
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git clang-format
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libpqxx-dev libpq-dev libhiredis-dev librdkafka-dev prometheus-cpp-dev
  libspdlog-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libcivetweb-dev libssl-dev libjwt-dev libgtest-dev libgmock-dev libbenchmark-dev
  postgresql redis-server kcat prometheus curl procps
  iproute2  # ip netns: the reliability test and the chaos suite cut a worker off the network
  libfaketime  # the chaos suite skews one worker's wall clock
  clang-14 libclang-rt-14-dev libfuzzer-14-dev  # make fuzz / fuzz-quick (docs/fuzzing.md)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: missing packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: not root; run as root (or: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; update once, then install.
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts services on install; jq runs its own private servers, so stop the system ones.
for svc in redis-server postgresql prometheus; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  service "$svc" stop >/dev/null 2>&1 || true
done
echo "install-deps: done"
