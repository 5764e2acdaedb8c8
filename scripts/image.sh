#!/usr/bin/env bash
# Builds the container image from the project's Dockerfile and runs it for real, on a machine that cannot reach any
# container registry:
#   1. installs Debian's docker.io and debootstrap when missing and starts a Docker daemon of its own (its data under
#      .local/docker, no iptables, no bridge: every container uses --network host);
#   2. assembles the two base images the Dockerfile names, locally, and tags them with those names:
#        mcr.microsoft.com/dotnet/aspnet:10.0  a Debian 12 minbase root file system (debootstrap), this machine's
#                                              ASP.NET Core runtime, and the `app` user (APP_UID=1654) as the official
#                                              images define them;
#        mcr.microsoft.com/dotnet/sdk:10.0     the same root file system with this machine's .NET SDK and CA bundle;
#      both are kept (root file system in .local/image, images in the daemon's data) and rebuilt when an input changes;
#   3. builds the Dockerfile users build (`docker build --network host`: the restore reaches NuGet);
#   4. runs the image's `migrate`, then two containers of the image on different ports as one cluster, against a
#      database of its own on the local PostgreSQL (scripts/postgres.sh), the project's Gemini emulator and the local
#      image store, and checks: /health answers 200 from both; both see a two-member cluster; a job completes and each
#      image URL of its result is a stored image file, served by the silo; the silo process's uid is not 0; the image
#      is at most 500 MB; SIGTERM to the silo running a job lets the job complete and exits 0 within the drain.
# Stops whatever it started (PostgreSQL only if it was not running) and exits non-zero at the first failed check.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DEBIAN_FRONTEND=noninteractive
pgport="${PGPORT:-55432}"
image="generation-worker:local"
max_image_mb=500
drain_seconds=15
cache="$root/.local/image"
work="$(mktemp -d /tmp/generation-worker-image.XXXXXX)"
db="image_$(date +%s)_$$"
dockerd_pid="" emulator_pid="" started_postgres="" containers=()

# Debian's docker.io client, which matches its daemon (another `docker` earlier on PATH may be a newer client only).
docker() { /usr/bin/docker "$@"; }
psql_admin() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc "$1"; }
psql_db() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qtAc "$1"; }
say() { echo "image: [${SECONDS}s] $*"; }

# Unmounts every file system mounted under directory $1, deepest first.
mounts_under() { awk -v dir="$1/" 'index($2, dir) == 1 { print $2 }' /proc/mounts; }
unmount_under() { mounts_under "$1" | sort -r | xargs -r umount -l; }

cleanup() {
  set +e
  unmount_under "$cache/rootfs"
  for name in "${containers[@]}"; do docker rm -f "$name" >/dev/null 2>&1; done
  if [ -n "$dockerd_pid" ]; then
    # Build stages are the next build's cache; dangling ones untouched for a week go.
    docker image prune -f --filter until=168h >/dev/null 2>&1
    kill -TERM "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$dockerd_pid" 2>/dev/null
    # The daemon leaves its default network namespace mounted under its exec root.
    unmount_under "$work"
  fi
  [ -n "$emulator_pid" ] && kill -TERM "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
  psql_admin "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
  [ -n "$started_postgres" ] && bash scripts/postgres.sh stop
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "image: FAILED: $*" >&2
  mkdir -p "$cache/logs"
  for name in "${containers[@]}"; do
    docker logs "$name" >"$cache/logs/$name.log" 2>&1 || continue
    echo "--- $name: last 20 log lines (all in .local/image/logs/$name.log) ---" >&2
    tail -n 20 "$cache/logs/$name.log" >&2
  done
  exit 1
}

# N distinct TCP ports on loopback that nothing listens on, one a line.
free_ports() {
  local port found=()
  while [ "${#found[@]}" -lt "$1" ]; do
    port=$((20000 + RANDOM % 40000))
    [[ " ${found[*]} " == *" $port "* ]] && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || found+=("$port")
  done
  printf '%s\n' "${found[@]}"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- 1. Tools and the Docker daemon -----------------------------------------------------------------------------------
if ! command -v dockerd >/dev/null || [ ! -x /usr/bin/docker ] || ! command -v debootstrap >/dev/null; then
  say "installing Debian's docker.io and debootstrap"
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends docker.io debootstrap >/dev/null
fi

# One run at a time per checkout: two daemons must not share a data directory.
mkdir -p "$cache" "$root/.local/docker"
exec 9>"$cache/lock"
flock -n 9 || fail "another scripts/image.sh runs in this checkout"

# The daemon's sockets live in a short temporary path (a socket path has at most 107 bytes); its data in .local. It runs
# niced, and so do the builds and containers it starts: other processes share this machine's cores.
export DOCKER_HOST="unix://$work/docker.sock"
nice -n 10 dockerd --data-root "$root/.local/docker" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" -H "$DOCKER_HOST" \
  --iptables=false --ip6tables=false --bridge=none >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
deadline=$((SECONDS + 60))
until docker version >/dev/null 2>&1; do
  kill -0 "$dockerd_pid" 2>/dev/null || { tail -n 20 "$work/dockerd.log" >&2; fail "dockerd exited"; }
  [ "$SECONDS" -lt "$deadline" ] || { tail -n 20 "$work/dockerd.log" >&2; fail "dockerd did not answer within 60 s"; }
  sleep 0.2
done
say "Docker daemon $(docker version -f '{{.Server.Version}}') running, data in .local/docker"

# --- 2. The base images -----------------------------------------------------------------------------------------------
# The packages the .NET runtime needs on Debian 12 (those minbase lacks: libc6, libgcc-s1, libstdc++6 and zlib1g are in
# it). libstdc++6 and libgcc-s1 are also all an image encoder's self-contained native library needs besides glibc.
suite=bookworm
packages="ca-certificates,libicu72,libssl3,tzdata"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
rootfs="$cache/debian-$suite-$(echo "$suite $packages v1" | sha256sum | cut -c1-12).tar"
if [ ! -f "$rootfs" ]; then
  say "debootstrap: Debian $suite minbase with $packages"
  unmount_under "$cache/rootfs"
  rm -rf --one-file-system "$cache/rootfs" "$cache"/debian-*.tar*
  nice -n 10 debootstrap --variant=minbase --include="$packages" "$suite" "$cache/rootfs" "$mirror" \
    >"$cache/debootstrap.log" 2>&1 || { tail -n 20 "$cache/debootstrap.log" >&2; fail "debootstrap failed"; }
  # debootstrap mounts /proc in the target and, seen here once, left it mounted: nothing below may reach the host's.
  unmount_under "$cache/rootfs"
  [ -z "$(mounts_under "$cache/rootfs")" ] || fail "file systems still mounted under $cache/rootfs"
  # What an image does not need: downloaded packages, package lists, documentation, translations, device nodes.
  rm -rf --one-file-system "$cache/rootfs"/var/cache/apt/archives/*.deb "$cache/rootfs"/var/lib/apt/lists/* \
    "$cache/rootfs"/usr/share/{doc,man,info,locale}/* "$cache/rootfs"/dev/* "$cache/rootfs"/debootstrap
  tar --numeric-owner --one-file-system -C "$cache/rootfs" -cf "$rootfs.tmp" .
  mv "$rootfs.tmp" "$rootfs"
  rm -rf --one-file-system "$cache/rootfs"
fi

dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
ca_bundle="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
newest() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1; }
aspnet_version="$(newest "$dotnet_root/shared/Microsoft.AspNetCore.App")"
runtime_version="$(newest "$dotnet_root/shared/Microsoft.NETCore.App")"
sdk_version="$(dotnet --version)"

# What the official runtime-deps and aspnet images set, in the same words.
cat >"$work/aspnet.Dockerfile" <<EOF
FROM scratch
ADD $(basename "$rootfs") /
ENV APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true
RUN groupadd --gid=\$APP_UID app && useradd --no-log-init --uid=\$APP_UID --gid=\$APP_UID --create-home app
ENV DOTNET_VERSION=$runtime_version ASPNET_VERSION=$aspnet_version
COPY dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
CMD ["bash"]
EOF
# The SDK with this machine's CA bundle, which its HTTPS to NuGet needs, and its NuGet certificate revocation mode: here
# "offline", as no revocation server is reachable (online, each package's check waits for a time-out: the restore took
# 112 s instead of 16 s).
revocation_mode="${NUGET_CERT_REVOCATION_MODE:-online}"
cat >"$work/sdk.Dockerfile" <<EOF
FROM scratch
ADD $(basename "$rootfs") /
ENV APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true
RUN groupadd --gid=\$APP_UID app && useradd --no-log-init --uid=\$APP_UID --gid=\$APP_UID --create-home app
ENV DOTNET_VERSION=$runtime_version ASPNET_VERSION=$aspnet_version DOTNET_SDK_VERSION=$sdk_version \
    DOTNET_GENERATE_ASPNET_CERTIFICATE=false DOTNET_NOLOGO=true DOTNET_USE_POLLING_FILE_WATCHER=true \
    NUGET_XMLDOC_MODE=skip NUGET_CERT_REVOCATION_MODE=$revocation_mode
COPY dotnet /usr/share/dotnet
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
CMD ["bash"]
EOF

# The context of a base image, streamed as one tar: its Dockerfile, the root file system, and the given paths under
# $work (the CA bundle, and dotnet/..., which reaches this machine's .NET installation through a symbolic link).
ln -s "$dotnet_root" "$work/dotnet"
cp "$ca_bundle" "$work/ca-certificates.crt"

# Builds base image TAG from DOCKERFILE unless the image already carries KEY (the hash of its inputs) as its label.
build_base() {
  local tag="$1" dockerfile="$2" key="$3"
  shift 3
  local have
  have="$(docker image inspect -f '{{index .Config.Labels "generation-worker.inputs"}}' "$tag" 2>/dev/null || true)"
  if [ "$have" = "$key" ]; then say "$tag: up to date"; return; fi
  say "$tag: building"
  (cd "$work" && tar -c "$dockerfile" "$@" -C "$cache" "$(basename "$rootfs")") |
    docker build -q --network host --label "generation-worker.inputs=$key" -f "$dockerfile" -t "$tag" - \
      >"$work/base.log" 2>&1 || { cat "$work/base.log" >&2; fail "building $tag failed"; }
}

inputs() { { basename "$rootfs"; cat "$@"; } | sha256sum | cut -c1-16; }
build_base mcr.microsoft.com/dotnet/aspnet:10.0 aspnet.Dockerfile "$(inputs "$work/aspnet.Dockerfile")" \
  dotnet/dotnet dotnet/host dotnet/shared dotnet/LICENSE.txt dotnet/ThirdPartyNotices.txt
sdk_paths=()
for path in "$work"/dotnet/*; do sdk_paths+=("dotnet/${path##*/}"); done
build_base mcr.microsoft.com/dotnet/sdk:10.0 sdk.Dockerfile "$(inputs "$work/sdk.Dockerfile" "$ca_bundle")" \
  ca-certificates.crt "${sdk_paths[@]}"

# --- 3. The project's image -------------------------------------------------------------------------------------------
say "building the Dockerfile (docker build --network host -t $image .)"
previous="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
# The log's lines carry the script's clock, which shows where a build spends its time.
docker build --network host -t "$image" . 2>&1 |
  while IFS= read -r line; do printf '[%ss] %s\n' "$SECONDS" "$line"; done >"$cache/build.log" ||
  { tail -n 40 "$cache/build.log" >&2; fail "docker build failed (log: .local/image/build.log)"; }
current="$(docker image inspect -f '{{.Id}}' "$image")"
[ -z "$previous" ] || [ "$previous" = "$current" ] || docker rmi "$previous" >/dev/null 2>&1 || true
say "built $image"

size_bytes="$(docker image inspect -f '{{.Size}}' "$image")"
size_mb=$((size_bytes / 1000000))
say "image size: $size_mb MB ($size_bytes bytes; at most $max_image_mb MB)"
[ "$size_mb" -le "$max_image_mb" ] || fail "the image is $size_mb MB, more than $max_image_mb MB"

# --- 4. Two containers of the image as one cluster --------------------------------------------------------------------
# A server already answering on the port (another checkout's, CI's) is used as it is, and left running.
if ! psql_admin "SELECT 1" >/dev/null 2>&1; then
  bash scripts/postgres.sh start
  started_postgres=1
fi
psql_admin "CREATE DATABASE \"$db\""
database_url="postgres://postgres@127.0.0.1:$pgport/$db"

say "starting the Gemini emulator"
emulator=src/GeminiEmulator
dotnet build "$emulator/GenerationWorker.GeminiEmulator.csproj" -c Release -nologo -v q >"$work/emulator.log" 2>&1 ||
  { cat "$work/emulator.log" >&2; fail "building the emulator failed"; }
# The emulator's port, then for each silo: HTTP, silo-to-silo, gateway.
mapfile -t ports < <(free_ports 7)
emulator_port="${ports[0]}"
http_ports=("${ports[@]:1:2}") silo_ports=("${ports[@]:3:2}") gateway_ports=("${ports[@]:5:2}")
dotnet "$emulator/bin/Release/net10.0/GenerationWorker.GeminiEmulator.dll" --urls "http://127.0.0.1:$emulator_port" \
  >"$work/emulator.log" 2>&1 &
emulator_pid=$!
deadline=$((SECONDS + 60))
until curl -sf "http://127.0.0.1:$emulator_port/_emulator/stats" >/dev/null; do
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.log" >&2; fail "the emulator exited"; }
  [ "$SECONDS" -lt "$deadline" ] || fail "the emulator did not answer within 60 s"
  sleep 0.2
done

# The operator commands, run from the image as a platform's pre-deploy command would be.
cli() { docker run --rm --network host -e DATABASE_URL="$database_url" "$image" dotnet GenerationWorker.Silo.dll "$@"; }
cli migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; fail "the image's migrate failed"; }
say "migrate: ok"

# Both silos share one image store (a directory the image's non-root user can write) and serve it at /files.
mkdir -p "$work/storage"
chown 1654:1654 "$work/storage"
public_url="http://127.0.0.1:${http_ports[0]}/files"
# /cluster, like the dashboard, answers only with the operator's credentials.
operator="operator:$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
for i in 0 1; do
  name="generation-worker-image-$i-$$"
  docker run -d --name "$name" --network host -v "$work/storage:/data/storage" \
    -e DATABASE_URL="$database_url" -e ORLEANS_CLUSTER_ID="image-$$" \
    -e PORT="${http_ports[$i]}" -e SILO_PORT="${silo_ports[$i]}" -e GATEWAY_PORT="${gateway_ports[$i]}" \
    -e GEMINI_API_KEY=emulator-key -e GEMINI_BASE_URL="http://127.0.0.1:$emulator_port" \
    -e STORAGE=local -e LOCAL_STORAGE_DIR=/data/storage -e R2_PUBLIC_URL="$public_url" \
    -e DASHBOARD_USERNAME="${operator%%:*}" -e DASHBOARD_PASSWORD="${operator#*:}" \
    -e SHUTDOWN_TIMEOUT_SECONDS="$drain_seconds" "$image" >/dev/null
  containers+=("$name")
done
say "started two containers, HTTP on ports ${http_ports[*]}"

for i in 0 1; do
  name="${containers[$i]}" url="http://127.0.0.1:${http_ports[$i]}"
  deadline=$((SECONDS + 120))
  until [ "$(curl -s -o "$work/health.json" -w '%{http_code}' "$url/health" || true)" = 200 ]; do
    [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ] || fail "$name exited before /health answered 200"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name: /health did not answer 200 within 120 s"
    sleep 0.5
  done
  say "check: /health on port ${http_ports[$i]} -> 200 $(cat "$work/health.json")"
done

for i in 0 1; do
  name="${containers[$i]}" url="http://127.0.0.1:${http_ports[$i]}"
  deadline=$((SECONDS + 60))
  until [ "$(curl -s -u "$operator" "$url/cluster" | jq '.members | length' 2>/dev/null)" = 2 ]; do
    [ "$SECONDS" -lt "$deadline" ] ||
      fail "$name does not see a two-member cluster: $(curl -s -w ' (HTTP %{http_code})' -u "$operator" "$url/cluster")"
    sleep 0.5
  done
done
say "check: both silos see one cluster of 2 members"

for name in "${containers[@]}"; do
  uid="$(awk '/^Uid:/ { print $2 }' "/proc/$(docker inspect -f '{{.State.Pid}}' "$name")/status")"
  [ "$uid" != 0 ] || fail "$name runs as root"
  say "check: $name's process runs as uid $uid"
done

# Waits until job $1 has left pending and processing; prints its status.
wait_job() {
  local status deadline=$((SECONDS + 90))
  while true; do
    status="$(psql_db "SELECT status FROM generation_job WHERE id = '$1'")"
    case "$status" in pending | processing) ;; *) echo "$status"; return ;; esac
    [ "$SECONDS" -lt "$deadline" ] || { echo "$status (after 90 s)"; return; }
    sleep 0.3
  done
}

job="$(cli enqueue --type image_generation --prompt "a lighthouse at dawn, from the image" --variants 2 | tail -n 1)" ||
  fail "the image's enqueue failed"
status="$(wait_job "$job")"
[ "$status" = completed ] ||
  fail "job $job ended $status: $(psql_db "SELECT error FROM generation_job WHERE id = '$job'")"
urls="$(psql_db "SELECT result FROM generation_job WHERE id = '$job'" | jq -r '.imageUrls[]')"
[ "$(wc -l <<<"$urls")" = 2 ] || fail "job $job's result has not 2 image URLs: $urls"
for url in $urls; do
  key="${url#"$public_url/"}"
  [ "$key" != "$url" ] || fail "image URL $url is not under $public_url"
  file="$work/storage/$key"
  [ -s "$file" ] || fail "image URL $url points at no stored file"
  # PNG, JPEG or WebP, by their first bytes.
  magic="$(od -An -tx1 -N12 "$file" | tr -d ' \n')"
  [[ "$magic" == 89504e470d0a1a0a* || "$magic" == ffd8ff* || ("$magic" == 52494646* && "$magic" == *57454250) ]] ||
    fail "the stored file of $url is not an image (first bytes $magic)"
  curl -sf -o "$work/served" "$url" || fail "GET $url failed"
  cmp -s "$file" "$work/served" || fail "GET $url did not serve the stored file"
done
say "check: job $job completed; its 2 image URLs are stored image files, served by the silo"

# A rolling deploy: SIGTERM to the silo running a job (the emulator holds its Gemini answer for 5 s) while the other
# keeps running; the drain lets the job finish, then the silo exits 0. Then SIGTERM to the other one.
stop_silo() {
  local name="$1" signalled=$SECONDS code
  docker kill -s TERM "$name" >/dev/null
  code="$(timeout $((drain_seconds + 15)) docker wait "$name")" ||
    fail "$name did not exit within $((drain_seconds + 15)) s of SIGTERM (drain: $drain_seconds s)"
  [ "$code" = 0 ] || fail "$name exited with $code after SIGTERM (expected 0)"
  say "check: $name exited 0, $((SECONDS - signalled)) s after SIGTERM (drain: $drain_seconds s)"
}
slow="$(cli enqueue --type image_generation --prompt "[emulate:delay=5s] in flight during a deploy" | tail -n 1)" ||
  fail "the image's enqueue failed"
deadline=$((SECONDS + 30))
until owner="$(psql_db "SELECT locked_by FROM generation_job WHERE id = '$slow' AND status = 'processing'")" &&
  [ -n "$owner" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "job $slow was not claimed within 30 s"
  sleep 0.1
done
# The owner is the silo's identity, address:port@generation; its port tells the container.
owner_port="${owner%@*}"
owner_port="${owner_port##*:}"
holder=""
for i in 0 1; do
  [ "${silo_ports[$i]}" = "$owner_port" ] && holder="$i"
done
[ -n "$holder" ] || fail "job $slow is held by $owner, neither container's silo port (${silo_ports[*]})"
stop_silo "${containers[$holder]}"
status="$(psql_db "SELECT status FROM generation_job WHERE id = '$slow'")"
[ "$status" = completed ] || fail "job $slow, in flight at SIGTERM, is $status (expected completed within the drain)"
say "check: job $slow, in flight at SIGTERM, completed"
stop_silo "${containers[$((1 - holder))]}"
say "passed"
