#!/usr/bin/env bash
# Prints the environment a test process needs to trust the throwaway certificate of the local S3 server
# (scripts/s3rver.sh), creating that certificate when missing. Use: eval "$(scripts/test-env.sh)"; dotnet test ...
# .NET on Linux reads SSL_CERT_FILE through OpenSSL when it first loads the root store, so it must be in the process's
# environment at start: it cannot be set from inside an already running test process.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bundle="$("$root/scripts/s3rver.sh" ca-bundle)"
printf 'export SSL_CERT_FILE=%q\n' "$bundle"
