#!/usr/bin/env bash
# Starts (or stops) a throwaway PostgreSQL cluster of the project's own under .local/postgres.
#   scripts/postgres.sh start   -> prints nothing but errors; the server listens on 127.0.0.1:${PGPORT:-55432}
#   scripts/postgres.sh stop
#   scripts/postgres.sh url     -> prints the DATABASE_URL of the local database "generation_worker"
# Installs Debian's postgresql package when it is missing. PostgreSQL refuses to run as root, so the cluster runs as
# the postgres user (or the current user when not root).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${PGDATA_DIR:-$root/.local/postgres}"
port="${PGPORT:-55432}"

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$bin" ]; then
    echo "PostgreSQL is not installed; installing Debian's postgresql package" >&2
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
    fi
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$bin"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    bin=$(pg_bin)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 >/dev/null
      cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '/tmp'
max_connections = 300
shared_preload_libraries = 'pg_stat_statements'
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
CONF
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w start >/dev/null
    fi
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'generation_worker'" | grep -q 1 ||
      psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE generation_worker" >/dev/null
    ;;
  stop)
    bin=$(pg_bin)
    [ -f "$dir/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
    ;;
  restart)
    bin=$(pg_bin)
    as_owner "$bin/pg_ctl" -D "$dir" -m fast -w restart -l "$dir/server.log" >/dev/null
    ;;
  url)
    echo "postgres://postgres@127.0.0.1:$port/generation_worker"
    ;;
  *)
    echo "usage: scripts/postgres.sh start|stop|restart|url" >&2; exit 2 ;;
esac
