#!/usr/bin/env bash
# The test command: starts the real dependencies (PostgreSQL, the S3 server over HTTPS) and runs every test.
# Extra arguments go to `dotnet test` (for example: --filter FullyQualifiedName~Quota).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
bash scripts/postgres.sh start
bash scripts/s3rver.sh install
# The S3 server's throwaway certificate is trusted through the CA bundle the script made.
SSL_CERT_FILE="$(bash scripts/s3rver.sh ca-bundle)"
export SSL_CERT_FILE
dotnet build Orleans.sln -c Release -nologo -v q
# One test project at a time: several of them start silos, silo processes and servers of their own, and two cores
# shared by all of them at once make timings, not behaviour, the subject.
status=0
: >.local/test-output.txt
for project in tests/GeminiEmulator.Tests tests/Grains.Tests tests/Silo.Tests; do
  dotnet test "$project" -c Release --no-build -nologo --logger "console;verbosity=normal" "$@" 2>&1 |
    tee -a .local/test-output.txt || status=${PIPESTATUS[0]}
done
count() { awk -v key="$1" '$1 == key":" {s += $2} END {print s + 0}' .local/test-output.txt; }
passed=$(count Passed)
failed=$(count Failed)
skipped=$(count Skipped)
echo "tests: $passed passed, $failed failed, $skipped skipped" | tee .local/test-summary.txt
exit "$status"
