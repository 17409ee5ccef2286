#!/usr/bin/env bash
# Private PostgreSQL and Redis for a test process.
#   test-servers.sh start DIR OWNER_PID  -> prints JQ_TEST_PG_PORT=.. and JQ_TEST_REDIS_PORT=..
#   test-servers.sh stop DIR
#   test-servers.sh restart-pg DIR PORT DOWN_SECONDS
# A watchdog stops the servers when OWNER_PID exits, even if it crashed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/servers.sh"

cmd=${1:-}; dir=${2:-}
[ -n "$dir" ] || { echo "usage: $0 start|stop DIR [OWNER_PID]" >&2; exit 2; }

case "$cmd" in
  start)
    owner=${3:-$PPID}
    mkdir -p "$dir"
    chmod 755 "$dir"
    # The watchdog outlives this script (setsid) and cleans up after a crashed owner, and
    # after this script if a start below fails.
    setsid bash -c "while kill -0 $owner 2>/dev/null; do sleep 1; done; '$0' stop '$dir'" \
      </dev/null >/dev/null 2>&1 &
    # Tests start their servers in parallel: a port free when probed can be taken before the
    # server binds it (seen: Redis "Address already in use"). Try again on another port.
    for attempt in 1 2 3 4 5; do
      pg_port=$(free_port)
      if pg_start "$dir" "$pg_port" fast 2>"$dir/pg_start.err"; then break; fi
      [ "$attempt" -lt 5 ] || { cat "$dir/pg_start.err" >&2; exit 1; }
    done
    for attempt in 1 2 3 4 5; do
      redis_port=$(free_port)
      # Ours only if it answers with our directory (another test may own the port).
      if redis_start "$dir" "$redis_port" 2>/dev/null &&
         [ "$(redis-cli -p "$redis_port" config get dir | tail -n 1)" = "$dir/redis" ]; then
        break
      fi
      [ "$attempt" -lt 5 ] || { echo "redis did not start; see $dir/redis.log" >&2; exit 1; }
    done
    echo "JQ_TEST_PG_PORT=$pg_port"
    echo "JQ_TEST_REDIS_PORT=$redis_port"
    ;;
  restart-pg)
    # restart-pg DIR PORT DOWN_SECONDS: a PostgreSQL outage, for reliability tests.
    port=${3:?port}; down=${4:-2}
    pg_stop "$dir"
    sleep "$down"
    pg_start "$dir" "$port" fast
    ;;
  stop)
    redis_stop "$dir"
    pg_stop "$dir"
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR [OWNER_PID]" >&2; exit 2 ;;
esac
