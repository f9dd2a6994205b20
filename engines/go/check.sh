#!/usr/bin/env bash
# Builds and tests the Go engine SDK, then runs the conformance suite against its conformance
# engine (cmd/conformance-engine) on a loopback port and on a unix socket, stopping exactly the
# processes it started (by PID). Exits non-zero if anything failed. Go's standard library only:
# no module is downloaded (GOFLAGS=-mod=mod GOPROXY=off).
#
#   engines/go/check.sh
#
# GO_ENGINE_TCP sets the TCP address (default 127.0.0.1:0, a free port); GO_ENGINE_ARGS adds
# arguments to the engine, e.g. GO_ENGINE_ARGS="--deadline-ms 200" on a busy host (the deadline is
# wall-clock time: CPU starvation counts against it).
#
# Skipped, as README.md explains: the hostile group (JavaScript and Lua sandbox escapes, time
# shares, memory limits of interpreters: not what compiled Go handlers are), and the admin checks
# that need --scripts-dir (a reload with a syntax error in a script file: Go handlers are compiled in).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=$HERE/../conformance/run.js
WORK=$(mktemp -d "${TMPDIR:-/tmp}/keystone-go-engine.XXXXXX")
PIDS=()
export GOFLAGS=-mod=mod GOPROXY=off

cleanup() {
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

FAILED=()
(cd "$HERE" && gofmt -l . | tee "$WORK/gofmt" && [ ! -s "$WORK/gofmt" ] && go vet ./... && go test -count=1 ./...) || FAILED+=("go vet/test/gofmt")
(cd "$HERE" && go build -o "$WORK/conformance-engine" ./cmd/conformance-engine) || { echo "check: build failed" >&2; exit 1; }

# run NAME LISTEN: the conformance engine on LISTEN, the suite against it, then SIGTERM (exit 0).
run() {
  local name=$1 listen=$2 log=$WORK/$1.log addr=""
  echo "=== $name"
  # shellcheck disable=SC2086 # GO_ENGINE_ARGS is a list of words
  "$WORK/conformance-engine" --listen "$listen" ${GO_ENGINE_ARGS:-} >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 100); do
    addr=$(sed -n 's/.* serving .* on \([^ ;]*\).*$/\1/p' "$log" | head -n 1)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  if [ -z "$addr" ]; then
    cat "$log" >&2
    FAILED+=("$name (start)")
    return
  fi
  case $addr in unix:*) ;; *) addr=http://$addr ;; esac
  node "$SUITE" --engine "$addr" --skip hostile --pid "$pid" --engine-log "$log" || FAILED+=("$name")
  local status=0
  kill -TERM "$pid" && wait "$pid" || status=$?
  PIDS=()
  [ $status -eq 0 ] || FAILED+=("$name (exit status $status after SIGTERM)")
}

run go-tcp "${GO_ENGINE_TCP:-127.0.0.1:0}"
run go-unix "unix:$WORK/engine.sock"

if [ ${#FAILED[@]} -gt 0 ]; then
  echo "check: FAILED: ${FAILED[*]}"
  exit 1
fi
echo "check: all passed"
