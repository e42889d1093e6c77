#!/usr/bin/env bash
# One entry point: set-up, build, publish, test, run, bench.
#   ./build.sh            install what is missing, restore, publish artifacts/loomsched
#   ./build.sh test       the same, then every test (unit, generator, end-to-end)
#   ./build.sh run        start a loopback nats-server if none listens, run the daemon on
#                         config/scheduler.example.yaml and print what it publishes (Ctrl-C stops)
#   ./build.sh bench      benchmarks (measure, never fail)
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
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (apt)"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
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

run_tests() {
  log "building and running the tests"
  export LOOMSCHED_BINARY="$ART/loomsched"
  dotnet build LoomSchedAot.sln -c Release -nologo -v:q -clp:NoSummary
  local failed=0
  for proj in tests/*/*.Tests.csproj; do
    log "dotnet test $proj"
    dotnet test "$proj" -c Release --no-build -nologo --logger "console;verbosity=normal" \
      2>&1 | tee "$ART/$(basename "$proj" .csproj).log" | grep -E '^\s*(Passed|Failed|Skipped)!|^\s*Failed |error' || true
    if ! grep -qE '^\s*Passed!' "$ART/$(basename "$proj" .csproj).log"; then failed=1; fi
  done
  total_passed=0; total_failed=0
  for f in "$ART"/*.Tests.log; do
    p=$(grep -oE 'Passed: +[0-9]+' "$f" | tail -1 | grep -oE '[0-9]+' || echo 0)
    q=$(grep -oE 'Failed: +[0-9]+' "$f" | tail -1 | grep -oE '[0-9]+' || echo 0)
    total_passed=$((total_passed + p)); total_failed=$((total_failed + q))
  done
  echo "$total_passed passed, $total_failed failed"
  return $failed
}

free_port_listening() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

run_daemon() {
  local url="${NATS_URL:-nats://127.0.0.1:4222}" server_pid=""
  if ! free_port_listening 4222; then
    log "starting nats-server on 127.0.0.1:4222"
    nats-server -a 127.0.0.1 -p 4222 >"$ART/nats-server.log" 2>&1 & server_pid=$!
    sleep 0.5
  fi
  trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; kill 0 2>/dev/null' EXIT INT TERM
  log "daemon on config/scheduler.example.yaml; messages it publishes follow (Ctrl-C stops)"
  "$ART/loomsched" watch --nats-url "$url" "loom.>" &
  "$ART/loomsched" run --config config/scheduler.example.yaml --nats-url "$url"
}

mkdir -p "$ART"
cmd="${1:-build}"
case "$cmd" in
  build|"") ensure_tools; publish ;;
  test) ensure_tools; publish; run_tests ;;
  run) ensure_tools; [ -x "$ART/loomsched" ] || publish; run_daemon ;;
  bench) ensure_tools; publish; log "benchmarks: not written yet"; exit 0 ;;
  *) echo "usage: ./build.sh [build|test|run|bench]" >&2; exit 2 ;;
esac
