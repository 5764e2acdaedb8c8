#!/usr/bin/env bash
# The chaos run: three silo processes against a private PostgreSQL and the Gemini emulator, with silos killed (-9) and
# restarted, database connections terminated and one PostgreSQL restart; then checks that no job was lost, duplicated or
# stranded and that the Gemini budget held. Writes bench-results/chaos.json; exit code 1 when a check fails.
#   scripts/chaos.sh            -> 300 jobs
#   scripts/chaos.sh --short    -> 60 jobs, under 3 minutes
#   scripts/chaos.sh --jobs N --seed N
#   scripts/chaos.sh --short --pooler -> the silos' DATABASE_URL goes through PgBouncer in transaction mode (Neon's
#                                        -pooler host), DATABASE_URL_UNPOOLED is direct; installs pgbouncer when missing
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The private cluster needs PostgreSQL's binaries; this installs them when missing.
bash scripts/postgres.sh start
dotnet run --project bench/GenerationWorker.Chaos -c Release -- "$@"
