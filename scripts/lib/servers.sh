# shellcheck shell=bash
# Shared shell functions: start and stop private PostgreSQL and Redis servers on loopback.
# Sourced by dev-stack.sh and test-servers.sh. PostgreSQL refuses to run as root, so as root
# it runs as the postgres user.

# shellcheck disable=SC2012  # version-sorted directory names without spaces
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

# Prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( (RANDOM << 1 | RANDOM & 1) % 30000 + 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "free_port: no free port found" >&2
  return 1
}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start DIR PORT [fast]: initdb (once) and start PostgreSQL with data in DIR/pgdata.
# "fast" turns off fsync: for tests only, never for data anyone keeps.
pg_start() {
  local dir=$1 port=$2 mode=${3:-}
  mkdir -p "$dir/pgdata" "$dir/pgsock"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir" "$dir/pgdata" "$dir/pgsock"
  fi
  if [ ! -f "$dir/pgdata/PG_VERSION" ]; then
    as_pg "$PG_BIN/initdb" -D "$dir/pgdata" -A trust -U postgres --no-sync -E UTF8 \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  fi
  local opts="-p $port -k $dir/pgsock -c listen_addresses=127.0.0.1 -c max_connections=300"
  opts="$opts -c shared_buffers=256MB"
  if [ "$mode" = fast ]; then
    opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$dir/pgdata" -l "$dir/postgres.log" -w -t 60 -o "$opts" start \
    >/dev/null || { tail -20 "$dir/postgres.log" >&2; return 1; }
}

pg_stop() {
  local dir=$1
  [ -f "$dir/pgdata/postmaster.pid" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$dir/pgdata" -m fast -w -t 30 stop >/dev/null 2>&1 || \
    as_pg "$PG_BIN/pg_ctl" -D "$dir/pgdata" -m immediate stop >/dev/null 2>&1 || true
}

# pg_create_db PORT NAME: creates database NAME unless it exists.
pg_create_db() {
  local port=$1 name=$2
  if ! psql -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" \
      postgres | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE \"$name\"" postgres >/dev/null
  fi
}

# redis_start DIR PORT
redis_start() {
  local dir=$1 port=$2
  mkdir -p "$dir/redis"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/redis" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
  for _ in $(seq 1 100); do
    if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then return 0; fi
    sleep 0.05
  done
  echo "redis did not start; see $dir/redis.log" >&2
  return 1
}

redis_stop() {
  local dir=$1
  [ -f "$dir/redis.pid" ] || return 0
  local pid
  pid=$(cat "$dir/redis.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/redis.pid"
}
