#!/usr/bin/env bash
# Installs tools/deploy-check's npm packages exactly as package-lock.json pins them (npm ci).
# Idempotent: does nothing when node_modules was installed from the same lock file.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.jq-lock-sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "deploy-check: npm ci in tools/deploy-check"
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
