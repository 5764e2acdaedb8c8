#!/usr/bin/env bash
# Runs the whole service on this machine with local defaults and shows jobs going through end to end:
#   - its own PostgreSQL under .local/postgres (installed from Debian's packages when missing), unless DATABASE_URL is set;
#   - the project's Gemini emulator on 127.0.0.1:${EMULATOR_PORT:-8090};
#   - one silo (or SILOS=N silos) with local image storage under .local/storage, served at http://localhost:8080/files;
#   - a few demo jobs enqueued with the operator CLI, then `watch` until they are done.
# The silos keep running afterwards (Ctrl+C stops everything). DEMO_JOBS=0 skips the demo jobs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mkdir -p .local/logs

if [ -z "${DATABASE_URL:-}" ]; then
  bash scripts/postgres.sh start
  DATABASE_URL="$(bash scripts/postgres.sh url)"
fi
export DATABASE_URL

echo "Building..."
dotnet build Orleans.sln -c Release -nologo -v q >/dev/null

silo_dll="$root/src/Silo/bin/Release/net10.0/GenerationWorker.Silo.dll"
emulator_dll="$root/src/GeminiEmulator/bin/Release/net10.0/GenerationWorker.GeminiEmulator.dll"
emulator_port="${EMULATOR_PORT:-8090}"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

EMULATOR_LATENCY_MS="${EMULATOR_LATENCY_MS:-400}" dotnet "$emulator_dll" --urls "http://127.0.0.1:$emulator_port" \
  >.local/logs/emulator.log 2>&1 &
pids+=($!)

export GEMINI_API_KEY="${GEMINI_API_KEY:-emulator-key}"
export GEMINI_BASE_URL="${GEMINI_BASE_URL:-http://127.0.0.1:$emulator_port}"
export STORAGE="${STORAGE:-local}"
export LOCAL_STORAGE_DIR="${LOCAL_STORAGE_DIR:-$root/.local/storage}"
export ORLEANS_ADVERTISED_IP="${ORLEANS_ADVERTISED_IP:-127.0.0.1}"
export IMAGE_URL_ALLOW_PRIVATE="${IMAGE_URL_ALLOW_PRIVATE:-true}"
export LOG_FORMAT="${LOG_FORMAT:-text}"

dotnet "$silo_dll" migrate >/dev/null
silos="${SILOS:-1}"
for i in $(seq 0 $((silos - 1))); do
  PORT=$((8080 + i)) SILO_PORT=$((11111 + i)) GATEWAY_PORT=$((30000 + i)) R2_PUBLIC_URL="http://localhost:$((8080 + i))/files" \
    dotnet "$silo_dll" >".local/logs/silo-$i.log" 2>&1 &
  pids+=($!)
done

deadline=$((SECONDS + 60))
until curl -sf http://localhost:8080/health >/dev/null; do
  if [ $SECONDS -gt $deadline ]; then
    echo "The silo did not become healthy; see .local/logs/silo-0.log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "Healthy: $(curl -s http://localhost:8080/health)   (logs in .local/logs/)"

if [ "${DEMO_JOBS:-3}" != 0 ]; then
  cli() { dotnet "$silo_dll" "$@"; }
  cli enqueue --type image_generation --prompt "a lighthouse at dawn, watercolor" --variants 3 --aspect-ratio 16:9 --quality 2k >/dev/null
  cli enqueue --type image_generation --prompt "a red bicycle, studio light" --variants 2 --aspect-ratio 1:1 >/dev/null
  cli enqueue --type image_generation --prompt "[emulate:503-once] a retried job: the first Gemini call fails" >/dev/null
  cli watch
  cli list --limit 5
  echo "Images are served under http://localhost:8080/files/ (see the imageUrls above)."
fi

echo "The service keeps running: try 'dotnet $silo_dll stats' in another terminal. Ctrl+C stops it."
wait
