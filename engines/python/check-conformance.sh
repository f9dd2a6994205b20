#!/usr/bin/env bash
# Runs the conformance suite against the Python engine, on a loopback port and on a unix socket,
# each on a temporary copy of engines/conformance/scripts/py (so --scripts-dir, --pid and
# --engine-log are given and no check is skipped), then stops it with SIGTERM, which must exit 0.
# Signals only the PIDs it started. Exits non-zero if anything failed.
#
#   engines/python/check-conformance.sh            (PY_ENGINE_PORT=19851 to pick the port; default: any free one)
#   PY_ENGINE_ARGS="--deadline-ms 200" engines/python/check-conformance.sh
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pyengine-conformance.XXXXXX")
PIDS=()
FAILED=()

cleanup() {
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

run() {
  local name=$1 listen=$2 dir=$WORK/$1/scripts log=$WORK/$1/engine.log
  echo "=== python-$name"
  mkdir -p "$WORK/$name" && cp -r "$ROOT/engines/conformance/scripts/py" "$dir"
  # shellcheck disable=SC2086 # PY_ENGINE_ARGS is a list of words
  "$PYTHON" "$ROOT/engines/python/engine.py" --scripts "$dir" --listen "$listen" ${PY_ENGINE_ARGS:-} >"$log" 2>&1 &
  local pid=$! addr=
  PIDS+=("$pid")
  for _ in $(seq 1 100); do
    addr=$(sed -n 's/.* serving .* on \([^ ;]*\).*$/\1/p' "$log" | head -n 1)
    [ -n "$addr" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$addr" ]; then
    echo "check-conformance: the engine did not start:" >&2
    cat "$log" >&2
    FAILED+=("$name (start)")
    return
  fi
  case $addr in unix:*) target=$addr ;; *) target=http://$addr ;; esac
  node "$ROOT/engines/conformance/run.js" --engine "$target" --scripts-dir "$dir" --pid "$pid" --engine-log "$log" || FAILED+=("$name")
  local status=0
  kill -TERM "$pid" && wait "$pid" || status=$?
  PIDS=()
  [ $status -eq 0 ] || FAILED+=("$name (exit status $status after SIGTERM)")
}

run tcp "127.0.0.1:${PY_ENGINE_PORT:-0}"
run unix "unix:$WORK/engine.sock"

if [ ${#FAILED[@]} -gt 0 ]; then
  echo "check-conformance: FAILED: ${FAILED[*]}"
  exit 1
fi
echo "check-conformance: all passed"
