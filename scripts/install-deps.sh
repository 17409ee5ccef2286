#!/usr/bin/env bash
# Installs every Debian package jq's build, tests and `make run` need (SPEC §12).
# Idempotent: when everything is present it only runs dpkg-query and exits.
#   --build-only   only what building jq-server, jq-worker and jq-ctl needs (docker/Dockerfile's
#                  build stage runs this, so the image is built with the same packages)
set -euo pipefail

build_only=0
[ "${1:-}" = "--build-only" ] && build_only=1

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libpqxx-dev libpq-dev libhiredis-dev librdkafka-dev prometheus-cpp-dev
  libspdlog-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libcivetweb-dev libssl-dev libjwt-dev libgtest-dev libgmock-dev libbenchmark-dev
)
TEST_PACKAGES=(
  clang-format postgresql redis-server kcat prometheus curl procps
  iproute2  # ip netns: the reliability test and the chaos suite cut a worker off the network
  libfaketime  # the chaos suite skews one worker's wall clock
  # make test-deploy (the offline checks of docker/, k8s/, terraform/, docs/deploy.md):
  docker-compose shellcheck yamllint
  clang-14 libclang-rt-14-dev libfuzzer-14-dev  # make fuzz / fuzz-quick (docs/fuzzing.md)
)
PACKAGES=("${BUILD_PACKAGES[@]}")
if [ "$build_only" -eq 0 ]; then
  PACKAGES+=("${TEST_PACKAGES[@]}")
  # Node.js for tools/deploy-check (and bench's peers). Any node >= 18 will do: a machine that
  # has one from elsewhere (with its own npm) keeps it, so ask for Debian's only when none is.
  command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
  command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The deploy checks' npm packages (pinned by tools/deploy-check/package-lock.json).
install_node_tools() {
  [ "$build_only" -eq 1 ] || bash "$(dirname "$0")/../tools/deploy-check/install.sh"
}

if [ ${#missing[@]} -eq 0 ]; then
  install_node_tools
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
install_node_tools
