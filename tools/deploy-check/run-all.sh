#!/usr/bin/env bash
# Every offline check of the deployment files (make test-deploy). No Docker engine, cluster or
# cloud account is needed (the smoke step starts a private PostgreSQL and Redis on loopback);
# each check prints "ok:" or "FAIL:", and the script exits non-zero if any failed.
#   tools/deploy-check/run-all.sh [BUILD_DIR]     (BUILD_DIR holds the built jq-server,
#                                                   jq-worker and jq-ctl; default: build)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
build="$(cd "${1:-build}" && pwd)" || { echo "FAIL: no build directory ${1:-build}" >&2; exit 1; }

failed=()
step() {
  local name="$1"
  shift
  echo "== $name"
  if "$@"; then echo "ok:   $name"; else echo "FAIL: $name" >&2; failed+=("$name"); fi
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

compose_config() {
  docker-compose -f docker-compose.yml config --quiet
}

compose_prometheus() {
  cp docker/compose/prometheus.yml prometheus/alerts.yml "$tmp/" || return 1
  if ! promtool check config "$tmp/prometheus.yml" >"$tmp/promtool.out" 2>&1; then
    cat "$tmp/promtool.out" >&2
    return 1
  fi
}

shell_scripts() {
  # Every shell script in the repository: *.sh and files starting with a sh/bash shebang.
  git ls-files -z --cached --others --exclude-standard 2>/dev/null |
    while IFS= read -r -d '' f; do
      [ -f "$f" ] || continue
      case "$f" in
        *.sh) printf '%s\0' "$f" ;;
        *.*) ;;
        *) head -c 64 "$f" | grep -Eq '^#!.*\b(ba)?sh\b' && printf '%s\0' "$f" ;;
      esac
    done
}

run_shellcheck() {
  local files=()
  mapfile -d '' -t files < <(shell_scripts)
  [ "${#files[@]}" -gt 0 ] || { echo "no shell scripts found" >&2; return 1; }
  echo "   ${#files[@]} scripts"
  shellcheck "${files[@]}"
}

run_yamllint() {
  yamllint --strict .
}

systemd_units() {
  if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "   systemd-analyze not installed: only the unit checks of check.mjs ran"
    return 0
  fi
  # Verified as installed, with ExecStart pointing at the binaries just built.
  for u in jq-server jq-worker; do
    sed "s|/usr/local/bin/|$build/|g" "packaging/systemd/$u.service" >"$tmp/$u.service"
  done
  systemd-analyze verify "$tmp/jq-server.service" "$tmp/jq-worker.service" >"$tmp/verify.out" 2>&1
  local rc=$?
  if [ "$rc" -ne 0 ] || [ -s "$tmp/verify.out" ]; then cat "$tmp/verify.out" >&2; return 1; fi
}

step "deploy-check's own tests (node --test)" node --test --test-reporter=spec tools/deploy-check/test/
step "docker-compose config (docker-compose.yml)" compose_config
step "promtool check config (docker/compose/prometheus.yml)" compose_prometheus
step "yamllint --strict (every YAML file, .yamllint)" run_yamllint
step "shellcheck (every shell script)" run_shellcheck
step "kubernetes, terraform, compose, systemd, docs (tools/deploy-check/check.mjs)" node tools/deploy-check/check.mjs
step "runtime image libraries (ldd + dpkg -S)" bash tools/deploy-check/image-libs.sh "$build"
step "systemd-analyze verify (packaging/systemd)" systemd_units
step "smoke: the pods' config and commands with the built binaries (PostgreSQL, Redis on loopback)" \
  bash tools/deploy-check/smoke.sh "$build"
step "smoke with TLS and mTLS: the job-queue-dev-tls overlay (certificates from scripts/gen-certs.sh)" \
  bash tools/deploy-check/smoke.sh "$build" job-queue-dev-tls

if [ "${#failed[@]}" -gt 0 ]; then
  echo "test-deploy: ${#failed[@]} check(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "test-deploy: all checks passed"
