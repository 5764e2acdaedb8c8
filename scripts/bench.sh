#!/usr/bin/env bash
# Whole-system benchmarks: real silo processes, the Gemini emulator as a process, a fresh database per scenario on the
# project's Postgres (started by scripts/postgres.sh when it is not running). Prints tables; writes bench-results/*.json.
#   scripts/bench.sh                      -> every figure, full sizes
#   scripts/bench.sh all --short          -> every figure, CI sizes (a few minutes)
#   scripts/bench.sh pickup|throughput|idle|memory|budget|failover|successor [--short] [--json out.json]
#   scripts/bench.sh budget --kill-quota-silo | --two-models | --throttle
# The silo and the emulator are built in Release first (incremental). No figure asserts a time: the exit code is non-zero
# only when a figure could not be measured.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[ $# -eq 0 ] && set -- all
# The harness is the tests' support project (silo processes, databases): building it builds the silo and the emulator.
dotnet build -c Release -nologo -v q bench/GenerationWorker.Bench/GenerationWorker.Bench.csproj >/dev/null
# BENCH_POSTGRES (a superuser connection string) is the server the tests' TEST_POSTGRES names.
if [ -n "${BENCH_POSTGRES:-}" ]; then export TEST_POSTGRES="$BENCH_POSTGRES"; fi
exec dotnet run --project bench/GenerationWorker.Bench -c Release --no-build -- "$@"
