#!/usr/bin/env bash
# Smoke test of the published service, started the way the container starts it:
#   1. scripts/publish.sh into a temporary directory (the Dockerfile's build step);
#   2. a fresh database on the local PostgreSQL (scripts/postgres.sh), STORAGE=local, a Gemini URL and an OTLP
#      collector URL nobody answers;
#   3. `dotnet GenerationWorker.Silo.dll` in the published directory (the image's CMD), stdout to a file;
#   4. waits for GET /health to answer 200 (deadline: SMOKE_TIMEOUT_SECONDS, default 120), then checks the log tells
#      that the image encoder loaded the published native libvips;
#   5. checks the logs are JSON lines (stdout is not a terminal) and runs the published `stats` command;
#   6. stops the silo with SIGTERM and checks it exits 0.
# Exits non-zero, printing the silo's log, at the first failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
pgport="${PGPORT:-55432}"
timeout_seconds="${SMOKE_TIMEOUT_SECONDS:-120}"
work="$(mktemp -d)"
db="smoke_$(date +%s)_$$"
pid=""

psql_admin() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc "$1"; }

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  psql_admin "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "smoke: FAILED: $*" >&2
  if [ -f "$work/silo.log" ]; then echo "--- silo log (last 60 lines) ---" >&2; tail -n 60 "$work/silo.log" >&2; fi
  exit 1
}

# A TCP port on loopback that nothing listens on, below the kernel's range for outgoing connections: a port in that
# range can be held by a client socket (not listening, so the check passes) and the silo's bind then fails.
ephemeral_low="$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
[ "$ephemeral_low" -gt 21000 ] 2>/dev/null || ephemeral_low=32768
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % (ephemeral_low - 20000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}

echo "smoke: publishing"
bash scripts/publish.sh "$work/app"
[ -f "$work/app/GenerationWorker.Silo.dll" ] || fail "publish produced no GenerationWorker.Silo.dll"

# A server already answering on the port (another checkout's, CI's) is used as it is.
psql_admin "SELECT 1" >/dev/null 2>&1 || bash scripts/postgres.sh start
psql_admin "CREATE DATABASE \"$db\""

http_port="$(free_port)"
export DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/$db"
export STORAGE=local LOCAL_STORAGE_DIR="$work/storage"
export GEMINI_API_KEY=smoke-test-key GEMINI_BASE_URL="http://127.0.0.1:$(free_port)/"
export PORT="$http_port" SILO_PORT="$(free_port)" GATEWAY_PORT="$(free_port)"
export ORLEANS_ADVERTISED_IP=127.0.0.1 ORLEANS_CLUSTER_ID="smoke-$$" SHUTDOWN_TIMEOUT_SECONDS=5
# The telemetry pipeline is on; its collector does not answer, which must not hurt the silo.
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$(free_port)" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
unset LOG_FORMAT

echo "smoke: starting the published silo on port $http_port"
(cd "$work/app" && exec dotnet GenerationWorker.Silo.dll) >"$work/silo.log" 2>&1 &
pid=$!

deadline=$((SECONDS + timeout_seconds))
until [ "$(curl -s -o "$work/health.json" -w '%{http_code}' "http://127.0.0.1:$http_port/health" || true)" = 200 ]; do
  kill -0 "$pid" 2>/dev/null || fail "the silo exited before /health answered 200"
  [ "$SECONDS" -lt "$deadline" ] || fail "/health did not answer 200 within $timeout_seconds s (last: $(cat "$work/health.json" 2>/dev/null))"
  sleep 0.5
done
echo "smoke: /health -> $(cat "$work/health.json")"
# The image encoder is created at start-up: its line shows the native libvips of the published output loaded.
grep -q 'Image encoder ready: libvips ' "$work/silo.log" || fail "the image encoder did not log that libvips loaded"
echo "smoke: $(grep -o 'Image encoder ready: libvips [0-9.]*' "$work/silo.log" | head -n 1)"

head -n 1 "$work/silo.log" | jq -e '.LogLevel and .Category and .Message' >/dev/null \
  || fail "the first log line is not a JSON log entry: $(head -n 1 "$work/silo.log")"

stats="$(cd "$work/app" && dotnet GenerationWorker.Silo.dll stats)" || fail "the published 'stats' command failed"
grep -q '^  pending ' <<<"$stats" || fail "'stats' printed no job counts: $stats"
echo "smoke: stats ok"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "the silo exited with $status after SIGTERM (expected 0)"
echo "smoke: passed (clean exit after SIGTERM)"
