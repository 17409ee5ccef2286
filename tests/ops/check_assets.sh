#!/usr/bin/env bash
# Validates the operator assets: Prometheus config, alert rules and their unit tests, and the
# Grafana dashboard. Registered with CTest as "ops_assets" (tests/ops/CMakeLists.txt).
#
#   bash tests/ops/check_assets.sh        (from anywhere; exits non-zero on any failure)
#
# Needs promtool (Debian package "prometheus"), and python3, jq or node for the JSON checks.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1

config=prometheus/prometheus.yml
rules=prometheus/alerts.yml
rule_tests=prometheus/alerts_test.yml
dashboard=grafana/jq-dashboard.json

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
ok() { echo "ok:   $*"; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for f in "$config" "$rules" "$rule_tests" "$dashboard"; do
  [[ -f $f ]] || fail "$f is missing"
done
((failures == 0)) || exit 1

# ------------------------------------------------------------------------------ promtool
if ! command -v promtool >/dev/null 2>&1; then
  echo "FAIL: promtool not found; install it with: sudo apt-get install -y prometheus" >&2
  exit 1
fi

run() {  # run <description> <command...>: quiet on success, full output on failure
  local what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    ok "$what"
  else
    cat "$tmp/out" >&2
    fail "$what: '$*' failed"
  fi
}

# rule_files in the config are resolved relative to the config file's directory.
run "prometheus config" promtool check config "$config"
run "alert rules" promtool check rules "$rules"
run "alert rule unit tests" promtool test rules "$rule_tests"

# ------------------------------------------------------------------------------ dashboard JSON
json_tool=""
if command -v python3 >/dev/null 2>&1; then
  json_tool=python3
elif command -v jq >/dev/null 2>&1; then
  json_tool=jq
elif command -v node >/dev/null 2>&1; then
  json_tool=node
fi

case "$json_tool" in
  python3) run "dashboard is valid JSON (python3)" python3 -m json.tool "$dashboard" ;;
  jq) run "dashboard is valid JSON (jq)" jq empty "$dashboard" ;;
  node)
    run "dashboard is valid JSON (node)" node -e \
      'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$dashboard"
    ;;
  *) fail "no JSON validator: need python3, jq or node to check $dashboard" ;;
esac

# Structure, and every PromQL expression in the dashboard must parse: the expressions (with
# Grafana's variables replaced by sample values) become recording rules for promtool.
if [[ $json_tool == python3 ]]; then
  if python3 - "$dashboard" "$tmp/dashboard_rules.yml" >"$tmp/out" 2>&1 <<'PY'; then
import json, sys

path, rules_out = sys.argv[1], sys.argv[2]
d = json.load(open(path, encoding="utf-8"))
errors = []
if not isinstance(d.get("schemaVersion"), int):
    errors.append("schemaVersion missing")
names = [v.get("name") for v in d.get("templating", {}).get("list", [])]
for want in ("DS_PROMETHEUS", "queue"):
    if want not in names:
        errors.append(f"template variable {want!r} missing")

def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))

ids, exprs = set(), []
for p in walk(d.get("panels", [])):
    if p.get("id") in ids:
        errors.append(f"duplicate panel id {p.get('id')}")
    ids.add(p.get("id"))
    if p.get("type") != "row" and not p.get("targets"):
        errors.append(f"panel {p.get('title')!r} has no targets")
    for t in p.get("targets", []):
        if not t.get("expr"):
            errors.append(f"panel {p.get('title')!r}: target without expr")
        exprs.append((p.get("title"), t.get("expr", "")))
if not exprs:
    errors.append("no PromQL expressions found")

subs = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$queue": ".*"}
with open(rules_out, "w", encoding="utf-8") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (title, e) in enumerate(exprs):
        for k, v in subs.items():
            e = e.replace(k, v)
        if "$" in e:
            errors.append(f"panel {title!r}: unknown variable in {e!r}")
        f.write(f"      - record: dashboard:expr_{i}\n        expr: {json.dumps(e)}\n")
for e in errors:
    print(e)
print(f"{len(exprs)} expressions")
sys.exit(1 if errors else 0)
PY
    ok "dashboard structure ($(tail -n1 "$tmp/out"))"
    run "dashboard PromQL parses" promtool check rules "$tmp/dashboard_rules.yml"
  else
    cat "$tmp/out" >&2
    fail "dashboard structure"
  fi
else
  echo "skip: dashboard structure and PromQL checks need python3"
fi

# ------------------------------------------------------------------------------ metric names
# Every jq_* / process_* metric named in the assets must be defined in src/ (as a quoted
# string, e.g. .Name("jq_job_total")). Histogram series suffixes are stripped; names that
# really end in _count (jq_worker_active_count) are accepted as they are.
# jq_component_up is allowed before the server exports it.
allowed_missing=" jq_component_up "
names="$(grep -ohE '\b(jq|process)_[a-z0-9_]*[a-z0-9]' "$rules" "$rule_tests" "$config" "$dashboard" |
  sort -u)"
checked=0
missing=0
for name in $names; do
  checked=$((checked + 1))
  base="$(sed -E 's/_(bucket|sum|count)$//' <<<"$name")"
  if grep -rqF "\"$name\"" src/ || grep -rqF "\"$base\"" src/; then
    continue
  fi
  [[ $allowed_missing == *" $base "* ]] && continue
  fail "metric '$name' is used in the assets but not defined in src/"
  missing=$((missing + 1))
done
if ((checked == 0)); then
  fail "no metric names found in the assets (grep pattern broken?)"
elif ((missing == 0)); then
  ok "metric names ($checked names checked against src/)"
fi

if ((failures > 0)); then
  echo "check_assets: $failures check(s) failed" >&2
  exit 1
fi
echo "check_assets: all checks passed"
