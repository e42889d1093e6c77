#!/usr/bin/env bash
# One entry point: set-up, build, publish, test, run, bench.
#   ./build.sh            install what is missing, restore, publish artifacts/loomsched (this host's architecture)
#   ./build.sh dist       also cross-compile artifacts/linux-arm64/loomsched, and write the release archives
#                         artifacts/dist/loomsched-VERSION-linux-{x64,arm64}.tar.gz and artifacts/dist/SHA256SUMS
#   ./build.sh test       the same as dist and both image-rootfs, a daemon with sample user functions, then every
#                         test (unit, generator, end-to-end; the arm64 binary and image under qemu)
#   ./build.sh run        start a loopback nats-server if none listens, run the daemon on
#                         config/scheduler.example.yaml and print what it publishes (Ctrl-C stops)
#   ./build.sh bench      benchmarks (measure, never fail)
#   ./build.sh image-rootfs           the FROM-scratch image's file system in artifacts/rootfs (no Docker)
#   ./build.sh image-rootfs arm64     the same for linux-arm64 (cross-built) in artifacts/rootfs-arm64
#   ./build.sh install PREFIX         binary, example config and systemd units under PREFIX (DESTDIR honoured; the units
#                                     suit this host's systemd, or SYSTEMD_VERSION when staging for another)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
ART="$ROOT/artifacts"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '==> %s\n' "$*" >&2; }

ensure_tools() {
  command -v dotnet >/dev/null || { echo "the .NET SDK 10 is required (dotnet not on PATH)" >&2; exit 1; }
  local missing=()
  command -v nats-server >/dev/null || missing+=(nats-server)
  command -v openssl >/dev/null || missing+=(openssl)
  # NativeAOT links with the platform toolchain.
  command -v cc >/dev/null || missing+=(gcc)
  [ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  # The image's build links OpenSSL statically (packaging/rootfs.sh): cmake and make build the shim.
  command -v cmake >/dev/null || missing+=(cmake)
  command -v make >/dev/null || missing+=(make)
  [ -e /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
  if [ -n "$WANT_ARM64" ]; then
    [ "$(uname -m)" = x86_64 ] || { echo "the linux-arm64 build is cross-compiled on an x86_64 host; this one is $(uname -m)" >&2; exit 1; }
    # NativeAOT cross-links with clang and lld, against Debian's arm64 cross glibc and libgcc.
    command -v clang >/dev/null || missing+=(clang)
    command -v ld.lld >/dev/null || missing+=(lld)
    command -v aarch64-linux-gnu-objcopy >/dev/null || missing+=(binutils-aarch64-linux-gnu)
    [ -d /usr/lib/gcc-cross/aarch64-linux-gnu ] || missing+=(gcc-aarch64-linux-gnu)
    [ -e /usr/aarch64-linux-gnu/lib/crt1.o ] || missing+=(libc6-dev-arm64-cross)
  fi
  # Packages of Debian's arm64 multiarch archive: the tests run the arm64 binary under qemu's user mode with arm64
  # glibc and OpenSSL (libssl3:arm64 brings libc6:arm64); the arm64 image links OpenSSL in statically and ships
  # arm64 glibc (libssl-dev:arm64, libc6:arm64).
  local foreign=() pkg
  [ -z "$WANT_QEMU" ] || { command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static); foreign+=(libssl3); }
  [ -z "$WANT_ARM64_IMAGE" ] || foreign+=(libssl-dev libc6)
  for pkg in "${foreign[@]}"; do
    dpkg-query -W -f '${Status}' "$pkg:arm64" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg:arm64")
  done
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  case " ${missing[*]} " in
    *:arm64\ *) dpkg --print-foreign-architectures | grep -qx arm64 || $sudo dpkg --add-architecture arm64 ;;
  esac
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (apt)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

publish() {
  log "publishing the NativeAOT binary"
  dotnet publish src/LoomSched/LoomSched.csproj -c Release -o "$ART/publish" -nologo -v:q -clp:NoSummary
  cp "$ART/publish/loomsched" "$ART/loomsched"
  log "artifacts/loomsched: $(du -h "$ART/loomsched" | cut -f1)"
}

# linux-arm64, cross-compiled. SysRoot=/ lets clang find the cross glibc where Debian's packages put it (a SysRoot of
# /usr/aarch64-linux-gnu breaks on the absolute paths in its libc.so linker script). A separate ArtifactsPath keeps
# this build from invalidating the host's one in artifacts/build.
ARM64_PUBLISH_PROPERTIES=(-r linux-arm64 -p:SysRoot=/ -p:LinkerFlavor=lld -p:ObjCopyName=aarch64-linux-gnu-objcopy)
publish_arm64() {
  log "publishing the linux-arm64 NativeAOT binary (cross-compiled)"
  dotnet publish src/LoomSched/LoomSched.csproj -c Release -o "$ART/linux-arm64/publish" -nologo -v:q -clp:NoSummary \
    "-p:ArtifactsPath=$ART/arm64-build" "${ARM64_PUBLISH_PROPERTIES[@]}"
  cp "$ART/linux-arm64/publish/loomsched" "$ART/linux-arm64/loomsched"
  log "artifacts/linux-arm64/loomsched: $(du -h "$ART/linux-arm64/loomsched" | cut -f1)"
}

# A daemon built the way a user builds one with functions of their own: a copy of the daemon's sources with
# tests/user-functions/ dropped into its project (a function asking for ILogger<T>, IOptions<T> and a service of its
# own, and the ExpansionServices.cs that registers them), published on its own in artifacts/user-sample.
publish_user_sample() {
  local root="$ART/user-sample"
  log "publishing a daemon with the sample user functions (tests/user-functions) in artifacts/user-sample"
  rm -rf "$root"; mkdir -p "$root"
  cp -r src generators config Directory.Build.props Directory.Packages.props global.json "$root/"
  cp tests/user-functions/*.cs "$root/src/LoomSched/"
  dotnet publish "$root/src/LoomSched/LoomSched.csproj" -c Release -o "$root/publish" -nologo -v:q -clp:NoSummary
}

# The release archives, one per architecture: loomsched-VERSION-linux-ARCH/ with the binary, the example config, the
# systemd units (for PREFIX /usr/local; before-253/ holds loomsched.service for an older systemd) and the README's
# install section, then SHA256SUMS over both. Reproducible:
# the entries' owner, order and time are fixed (the time of the last commit), and gzip records no name or time.
UNITS=(loomsched.service loomsched-health.service loomsched-health.timer)

# A unit with its paths under PREFIX, for a given systemd version. loomsched.service is written for systemd 253 or
# newer (Type=notify-reload); for an older one (Debian 12 and RHEL 9 have 252) it becomes Type=notify, with SIGHUP
# sent by an ExecReload line after the validating one.
render_unit() {
  local unit=$1 prefix=$2 systemd=$3
  local edits=(-e "s|@BINDIR@|$prefix/bin|g" -e "s|@CONFDIR@|$prefix/etc/loomsched|g")
  if [ "$unit" = loomsched.service ] && [ "$systemd" -lt 253 ]; then
    edits+=(-e 's|^Type=notify-reload$|Type=notify|' -e '/^ExecReload=.* validate /a ExecReload=/bin/kill -HUP $MAINPID')
  fi
  sed "${edits[@]}" "packaging/systemd/$unit"
}

# The systemd version the installed units are for: SYSTEMD_VERSION if set (staging for another host), else this
# host's, else (no systemctl here) a current one.
target_systemd() {
  local version="${SYSTEMD_VERSION:-}"
  [ -n "$version" ] || version=$(systemctl --version 2>/dev/null | awk 'NR == 1 { print $2 }') || true
  case "$version" in
    '' ) echo 999 ;;
    *[!0-9]*) echo "SYSTEMD_VERSION must be a number such as 252, not '$version'" >&2; exit 2 ;;
    *) echo "$version" ;;
  esac
}
dist_archives() {
  local version epoch out="$ART/dist" arch name stage unit
  version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
  epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
  rm -rf "$out"; mkdir -p "$out"
  for arch in x64 arm64; do
    name="loomsched-$version-linux-$arch"; stage="$out/$name"
    mkdir -p "$stage/systemd"
    if [ "$arch" = x64 ]; then install -m 0755 "$ART/loomsched" "$stage/loomsched"; else install -m 0755 "$ART/linux-arm64/loomsched" "$stage/loomsched"; fi
    install -m 0644 config/scheduler.example.yaml "$stage/scheduler.example.yaml"
    for unit in "${UNITS[@]}"; do
      render_unit "$unit" /usr/local 999 >"$stage/systemd/$unit"
      chmod 0644 "$stage/systemd/$unit"
    done
    mkdir -p "$stage/systemd/before-253"
    render_unit loomsched.service /usr/local 252 >"$stage/systemd/before-253/loomsched.service"
    chmod 0644 "$stage/systemd/before-253/loomsched.service"
    { printf '# loomsched %s for linux-%s\n\n' "$version" "$arch"
      sed -n '/^<!-- dist-readme:begin -->$/,/^<!-- dist-readme:end -->$/p' README.md | sed -e '1d;$d' -e 's/^### /## /'; } >"$stage/README.md"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$out" -cf - "$name" | gzip -9n >"$out/$name.tar.gz"
    rm -rf "$stage"
  done
  (cd "$out" && sha256sum -- *.tar.gz >SHA256SUMS)
  log "artifacts/dist: $(cd "$out" && ls -- *.tar.gz | tr '\n' ' ')and SHA256SUMS"
}

run_tests() {
  log "building the tests"
  export LOOMSCHED_BINARY="$ART/loomsched" LOOMSCHED_ARM64_BINARY="$ART/linux-arm64/loomsched" LOOMSCHED_DIST="$ART/dist" \
    LOOMSCHED_USER_SAMPLE_BINARY="$ART/user-sample/publish/loomsched"
  dotnet build LoomSchedAot.sln -c Release -nologo -v:q -clp:NoSummary
  local failed=0 total_passed=0 total_failed=0
  for proj in tests/*/*.Tests.csproj; do
    local name; name=$(basename "$proj" .csproj)
    log "testing $name"
    if ! dotnet test "$proj" -c Release --no-build -nologo --blame-hang-timeout 5m \
        --logger "console;verbosity=normal" >"$ART/$name.log" 2>&1; then
      failed=1
      # Show what failed, with the assertion, without drowning the reader.
      grep -E -A25 '^\s+Failed [A-Za-z]' "$ART/$name.log" | head -200 || tail -50 "$ART/$name.log"
    fi
    local p q
    p=$(grep -oE '^\s+Passed: +[0-9]+' "$ART/$name.log" | grep -oE '[0-9]+' | tail -1 || true)
    q=$(grep -oE '^\s+Failed: +[0-9]+' "$ART/$name.log" | grep -oE '[0-9]+' | tail -1 || true)
    echo "    $name: ${p:-0} passed, ${q:-0} failed"
    total_passed=$((total_passed + ${p:-0})); total_failed=$((total_failed + ${q:-0}))
  done
  echo "$total_passed passed, $total_failed failed"
  return $failed
}

# The FROM-scratch image's file system, without Docker: packaging/rootfs.sh, the script the Dockerfile's
# build stage runs, publishes the image's build of the binary and assembles artifacts/rootfs (this host's
# architecture) or, cross-built, artifacts/rootfs-arm64.
image_rootfs() {
  if [ "${1:-}" = arm64 ]; then
    log "assembling the arm64 image's file system in artifacts/rootfs-arm64 (packaging/rootfs.sh, as in the Dockerfile)"
    packaging/rootfs.sh --arch arm64 "$ART/rootfs-arm64"
  else
    log "assembling the image's file system in artifacts/rootfs (packaging/rootfs.sh, as in the Dockerfile)"
    packaging/rootfs.sh "$ART/rootfs"
  fi
}

# ./build.sh install PREFIX: PREFIX/bin/loomsched, PREFIX/etc/loomsched/scheduler.example.yaml and the
# systemd units in PREFIX/lib/systemd/system, their paths pointing into PREFIX. DESTDIR stages the same
# files under another root (for packaging). An existing scheduler.yaml is never touched.
install_to() {
  local prefix="${1:-}"
  case "$prefix" in
    /*) prefix="${prefix%/}" ;;
    *) echo "usage: ./build.sh install PREFIX   (an absolute path, e.g. /usr/local)" >&2; exit 2 ;;
  esac
  local root="${DESTDIR:-}$prefix" unit systemd
  systemd=$(target_systemd)
  log "installing loomsched into ${DESTDIR:+$DESTDIR:}${prefix:-/} (units for systemd $systemd)"
  install -D -m 0755 "$ART/loomsched" "$root/bin/loomsched"
  install -D -m 0644 config/scheduler.example.yaml "$root/etc/loomsched/scheduler.example.yaml"
  mkdir -p "$root/lib/systemd/system"
  for unit in "${UNITS[@]}"; do
    render_unit "$unit" "$prefix" "$systemd" >"$root/lib/systemd/system/$unit"
    chmod 0644 "$root/lib/systemd/system/$unit"
  done
}

port_listening() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

run_bench() {
  log "building the benchmarks"
  dotnet build tests/LoomSched.Benchmarks/LoomSched.Benchmarks.csproj -c Release -nologo -v:q -clp:NoSummary
  # BENCH_SCALE=quick for a one-minute smoke run; every duration has its own BENCH_* override (see the README).
  log "benchmarks, ${BENCH_SCALE:-full} run (measure, never fail on timing): table below, numbers in artifacts/bench.json"
  BENCH_BINARY="${BENCH_BINARY:-$ART/loomsched}" BENCH_OUT="${BENCH_OUT:-$ART/bench.json}" \
    dotnet run -c Release --no-build --project tests/LoomSched.Benchmarks/LoomSched.Benchmarks.csproj
}

# The traps run after run_daemon's locals are gone: the pids they need are globals. Background jobs of a
# script ignore SIGINT, so Ctrl-C reaches the script, whose trap stops each child with SIGTERM.
server_pid="" watch_pid="" daemon_pid=""
stop_children() {
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [ -n "$watch_pid" ] && kill -TERM "$watch_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null
  wait 2>/dev/null || true
}

run_daemon() {
  local url="${NATS_URL:-nats://127.0.0.1:4222}"
  trap stop_children EXIT
  trap 'exit 130' INT TERM
  if ! port_listening 4222; then
    log "starting nats-server on 127.0.0.1:4222 (log: artifacts/nats-server.log)"
    nats-server -a 127.0.0.1 -p 4222 >"$ART/nats-server.log" 2>&1 & server_pid=$!
    for _ in $(seq 50); do port_listening 4222 && break; sleep 0.1; done
  fi
  log "daemon on config/scheduler.example.yaml; the messages it publishes follow (Ctrl-C stops)"
  "$ART/loomsched" watch --nats-url "$url" "loom.>" & watch_pid=$!
  "$ART/loomsched" run --config config/scheduler.example.yaml --nats-url "$url" & daemon_pid=$!
  wait "$daemon_pid" || true
}

mkdir -p "$ART"
cmd="${1:-build}"
WANT_ARM64="" WANT_QEMU="" WANT_ARM64_IMAGE=""
case "$cmd" in
  dist) WANT_ARM64=1 ;;
  test) WANT_ARM64=1 WANT_QEMU=1 WANT_ARM64_IMAGE=1 ;;
  image-rootfs) case "${2:-}" in arm64) WANT_ARM64=1 WANT_ARM64_IMAGE=1 ;; ""|x64) ;; *) echo "usage: ./build.sh image-rootfs [arm64]" >&2; exit 2 ;; esac ;;
esac
case "$cmd" in
  build|"") ensure_tools; publish ;;
  dist) ensure_tools; publish; publish_arm64; dist_archives ;;
  test) ensure_tools; publish; publish_arm64; dist_archives; image_rootfs; image_rootfs arm64; publish_user_sample; run_tests ;;
  run) ensure_tools; [ -x "$ART/loomsched" ] || publish; run_daemon ;;
  bench) ensure_tools; publish; run_bench ;;
  image-rootfs) ensure_tools; image_rootfs "${2:-}" ;;
  install) ensure_tools; [ -x "$ART/loomsched" ] || publish; install_to "${2:-}" ;;
  *) echo "usage: ./build.sh [build|dist|test|run|bench|image-rootfs [arm64]|install PREFIX]" >&2; exit 2 ;;
esac
