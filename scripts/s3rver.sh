#!/usr/bin/env bash
# A real S3 server on loopback over HTTPS, for the storage tests: @20minutes/s3rver 5.0.0 (verifies SigV4 signatures).
#   scripts/s3rver.sh install                 -> installs the package (npm ci from tools/s3rver) and a throwaway
#                                                self-signed certificate into .local/s3rver/ when missing
#   scripts/s3rver.sh start PORT DIR BUCKET   -> starts it in the background on https://127.0.0.1:PORT, storing under
#                                                DIR with bucket BUCKET, and returns once it answers
#   scripts/s3rver.sh run PORT DIR BUCKET     -> the same in the foreground (the process becomes the server)
#   scripts/s3rver.sh wait PORT [SECONDS [PID]] -> returns once https://127.0.0.1:PORT answers (default deadline 30 s),
#                                                or fails as soon as process PID (the server) has exited
#   scripts/s3rver.sh stop [PORT]             -> stops what `start` started (every port when none is given) and
#                                                returns once it has exited (at most 5 s)
#   scripts/s3rver.sh ca-bundle               -> prints the CA bundle path (system bundle + the throwaway certificate)
# Credentials: access key S3RVER, secret S3RVER. A process that calls the server trusts it through
# SSL_CERT_FILE=$(scripts/s3rver.sh ca-bundle) (see scripts/test-env.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
home="$root/.local/s3rver"
system_bundle="${SYSTEM_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

install_package() {
  local stamp="$home/package-lock.sha256" want
  want=$(cat "$root/tools/s3rver/package.json" "$root/tools/s3rver/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ -f "$home/node_modules/@20minutes/s3rver/lib/cli.js" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  cp "$root/tools/s3rver/package.json" "$root/tools/s3rver/package-lock.json" "$home/"
  (cd "$home" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null 2>"$home/npm.log") ||
    { cat "$home/npm.log" >&2; exit 1; }
  echo "$want" >"$stamp"
}

install_certificate() {
  if [ ! -f "$home/cert.pem" ] || [ ! -f "$home/key.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=s3rver test server" \
      -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -addext "basicConstraints=critical,CA:TRUE" \
      -keyout "$home/key.pem.tmp" -out "$home/cert.pem.tmp" 2>/dev/null
    mv "$home/key.pem.tmp" "$home/key.pem"
    mv "$home/cert.pem.tmp" "$home/cert.pem"
    rm -f "$home/ca-bundle.pem"
  fi
  if [ ! -f "$home/ca-bundle.pem" ]; then
    { [ -f "$system_bundle" ] && cat "$system_bundle"; cat "$home/cert.pem"; } >"$home/ca-bundle.pem.tmp"
    mv "$home/ca-bundle.pem.tmp" "$home/ca-bundle.pem"
  fi
}

locked() {
  mkdir -p "$home"
  # Several test processes may ask at once: one installs, the others wait for it.
  (flock 9 && "$@") 9>"$home/install.lock"
}

install() {
  locked install_package
  locked install_certificate
}

# The server in the foreground, bound to loopback only. The package ships no bin file, so its CLI module is called
# directly; node -e leaves no script name in argv, so one is put back for the CLI's argv.slice(2).
serve() {
  local port="$1" dir="$2" bucket="$3"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  cd "$home"
  exec node -e "require('@20minutes/s3rver/lib/cli').parseAsync([process.argv0, 's3rver', ...process.argv.slice(1)])" -- \
    -d "$dir" -a 127.0.0.1 -p "$port" --key "$home/key.pem" --cert "$home/cert.pem" --configure-bucket "$bucket"
}

wait_until_answers() {
  local port="$1" seconds="${2:-30}" pid="${3:-0}"
  # Any HTTP answer over verified TLS means the server is up; the deadline bounds the wait.
  node -e '
    const https = require("https"), fs = require("fs");
    const [port, seconds, ca, pid] = process.argv.slice(1);
    const alive = () => { if (pid === "0") return true; try { process.kill(Number(pid), 0); return true; } catch { return false; } };
    const deadline = Date.now() + Number(seconds) * 1000;
    const attempt = () => {
      const req = https.get({ host: "127.0.0.1", port: Number(port), path: "/", ca: fs.readFileSync(ca), timeout: 1000 },
        res => { res.resume(); process.exit(0); });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", err => {
        if (!alive()) { console.error("s3rver exited before answering on port " + port); process.exit(1); }
        if (Date.now() > deadline) { console.error("s3rver did not answer on port " + port + ": " + err.message); process.exit(1); }
        setTimeout(attempt, 100);
      });
    };
    attempt();' "$port" "$seconds" "$home/cert.pem" "$pid"
}

usage() {
  echo "usage: scripts/s3rver.sh install | start PORT DIR BUCKET | run PORT DIR BUCKET | wait PORT [SECONDS [PID]] | stop [PORT] | ca-bundle" >&2
  exit 2
}

case "${1:-}" in
  install)
    install
    ;;
  run)
    [ $# -eq 4 ] || usage
    install
    serve "$2" "$3" "$4"
    ;;
  start)
    [ $# -eq 4 ] || usage
    install
    port="$2"
    (serve "$port" "$3" "$4" >"$home/s3rver-$port.log" 2>&1) &
    echo $! >"$home/s3rver-$port.pid"
    if ! wait_until_answers "$port" 30 "$!"; then
      cat "$home/s3rver-$port.log" >&2
      exit 1
    fi
    ;;
  wait)
    [ $# -ge 2 ] || usage
    wait_until_answers "$2" "${3:-30}" "${4:-0}"
    ;;
  stop)
    shopt -s nullglob
    if [ $# -ge 2 ]; then pids=("$home/s3rver-$2.pid"); else pids=("$home"/s3rver-*.pid); fi
    for pidfile in "${pids[@]}"; do
      [ -f "$pidfile" ] || continue
      pid="$(cat "$pidfile")"
      kill "$pid" 2>/dev/null || true
      # Returns once the port is free again: wait (bounded) for the process to be gone.
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      rm -f "$pidfile"
    done
    ;;
  ca-bundle)
    locked install_certificate
    echo "$home/ca-bundle.pem"
    ;;
  *)
    usage
    ;;
esac
