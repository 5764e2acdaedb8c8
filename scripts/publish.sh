#!/usr/bin/env bash
# Publishes the silo executable (framework-dependent, Release) to OUT_DIR.
#   scripts/publish.sh OUT_DIR
# The Dockerfile builds the image with exactly this script, and scripts/smoke-published.sh starts what it produces the
# way the image does (`dotnet GenerationWorker.Silo.dll` in OUT_DIR), so CI tests the same build the image ships.
set -euo pipefail
out="${1:?usage: scripts/publish.sh OUT_DIR}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet publish src/Silo/GenerationWorker.Silo.csproj -c Release -o "$out" -nologo -v q
