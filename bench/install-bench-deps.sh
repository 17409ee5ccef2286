#!/usr/bin/env bash
# Installs what `make bench` needs beyond scripts/install-deps.sh: gnuplot (charts), node and npm
# (bench/report.mjs and the graphile-worker / BullMQ peer harnesses). Debian packages only.
# Idempotent: when every command is present it only checks and exits.
set -euo pipefail

missing=()
# gnuplot-nox has the pngcairo terminal and needs no X libraries.
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
# A node that is already installed (for example from another repository, which brings its own
# npm) is used as it is: Debian's npm package would conflict with it.
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-bench-deps: missing packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-bench-deps: not root, so cannot apt-get install; run as root" \
       "(or: sudo apt-get install -y --no-install-recommends ${missing[*]})" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  # A fresh machine has no package lists: update once, then try again.
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-bench-deps: done"
