#!/usr/bin/env bash
# Runs jq's libFuzzer targets (docs/fuzzing.md) for a fixed time each, one after the other.
#   fuzz/run.sh --build build-fuzz --seconds 15 [target ...]   (targets: names under fuzz/corpus)
# Each target starts from its seed corpus (fuzz/corpus/<target>, read-only here: new inputs go
# to <build>/fuzz-work/<target>) and its dictionary (fuzz/dict/<target>.dict). A crash, a
# failed invariant, a leak or a hang fails the run and leaves the reproducer in
# <build>/fuzz-crashes/<target>/; run the target on that file to see it again.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="build-fuzz"
seconds=15
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for d in "$here"/corpus/*/; do targets+=("$(basename "$d")"); done
fi

failed=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/fuzz_$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is not built (cmake --build $build --target fuzz_all)" >&2
    exit 2
  fi
  work="$build/fuzz-work/$t"
  crashes="$build/fuzz-crashes/$t"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$work" "$crashes" "$(dirname "$log")"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384
        -artifact_prefix="$crashes/" -print_final_stats=1)
  [ -f "$here/dict/$t.dict" ] && args+=(-dict="$here/dict/$t.dict")
  # The first directory receives new inputs; the seeds (and every fixed crash) run first.
  if "$bin" "${args[@]}" "$work" "$here/corpus/$t" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz: $t ok (${seconds} s, ${runs:-?} runs, ${cov:-cov: ?})"
  else
    echo "fuzz: $t FAILED; log: $log" >&2
    grep -E 'invariant violated|ERROR: |SUMMARY: |Test unit written to' -A1 "$log" | head -20 >&2
    echo "  reproduce: $bin $crashes/<file>" >&2
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
