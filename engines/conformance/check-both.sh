#!/usr/bin/env bash
# Smoke check: runs the conformance suite against the Java (Lua) reference engine and the Node.js
# engine, each on a free loopback port and on a unix socket, and stops exactly the processes it
# started (by PID). Exits non-zero if any run fails.
#
#   engines/conformance/check-both.sh [path/to/keystone.jar]    (default: target/keystone.jar)
#
# NODE_ENGINE_ARGS adds arguments to the Node.js engine, e.g. NODE_ENGINE_ARGS="--deadline-ms 200"
# on a busy host (its deadline is wall-clock time: CPU starvation counts against it).
#
# Each engine serves a temporary copy of scripts/<lang>/, so the suite may drop a broken script
# into it (the reload-error check) and signal the engine (the SIGHUP check) without touching the
# repository.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
JAR=${1:-$ROOT/target/keystone.jar}
SUITE=$ROOT/engines/conformance/run.js
WORK=$(mktemp -d "${TMPDIR:-/tmp}/keystone-conformance.XXXXXX")
PIDS=()

cleanup() {
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -f "$JAR" ] || { echo "check-both: no jar at $JAR (build it, or pass its path)" >&2; exit 2; }

# start NAME LISTEN LANG COMMAND...: starts the engine on a copy of scripts/LANG, waits until it
# logs "serving ... on ADDRESS", and sets ENGINE_PID and ENGINE_ADDR.
start() {
  local name=$1 listen=$2 lang=$3
  shift 3
  local dir=$WORK/$name/scripts log=$WORK/$name/engine.log
  mkdir -p "$WORK/$name" && cp -r "$ROOT/engines/conformance/scripts/$lang" "$dir"
  "$@" --scripts "$dir" --listen "$listen" >"$log" 2>&1 &
  ENGINE_PID=$!
  PIDS+=("$ENGINE_PID")
  ENGINE_DIR=$dir
  ENGINE_LOG=$log
  for _ in $(seq 1 300); do
    ENGINE_ADDR=$(sed -n 's/.* serving .* on \([^ ;]*\).*$/\1/p' "$log" | head -n 1)
    [ -n "$ENGINE_ADDR" ] && return 0
    kill -0 "$ENGINE_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "check-both: $name did not start:" >&2
  cat "$log" >&2
  return 1
}

# stop PID: SIGTERM, then the exit status of a graceful stop (0). The PID is forgotten once
# reaped, so that cleanup never signals a number the system may have given to another process.
stop() {
  local status=0
  kill -TERM "$1" && wait "$1" || status=$?
  local keep=()
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
  return $status
}

FAILED=()
# run NAME LISTEN LANG COMMAND...: one engine, one transport, the whole suite.
run() {
  local name=$1
  echo "=== $name"
  if ! start "$@"; then
    FAILED+=("$name (start)")
    return
  fi
  case $ENGINE_ADDR in
    unix:*) target=$ENGINE_ADDR ;;
    *) target=http://$ENGINE_ADDR ;;
  esac
  node "$SUITE" --engine "$target" --scripts-dir "$ENGINE_DIR" --pid "$ENGINE_PID" --engine-log "$ENGINE_LOG" || FAILED+=("$name")
  stop "$ENGINE_PID"
  local status=$?
  # 143 is SIGTERM's default action (no graceful stop): worth a note, not a failed run.
  if [ $status -eq 143 ]; then
    echo "check-both: note: $name ended with status 143 on SIGTERM, not with its graceful stop"
  elif [ $status -ne 0 ]; then
    FAILED+=("$name (exit status $status after SIGTERM)")
  fi
}

run java-tcp 127.0.0.1:0 lua java -jar "$JAR" engine
run java-unix "unix:$WORK/java.sock" lua java -jar "$JAR" engine
# shellcheck disable=SC2086 # NODE_ENGINE_ARGS is a list of words
run node-tcp 127.0.0.1:0 js node "$ROOT/engines/node/engine.js" ${NODE_ENGINE_ARGS:-}
# shellcheck disable=SC2086
run node-unix "unix:$WORK/node.sock" js node "$ROOT/engines/node/engine.js" ${NODE_ENGINE_ARGS:-}

if [ ${#FAILED[@]} -gt 0 ]; then
  echo "check-both: FAILED: ${FAILED[*]}"
  exit 1
fi
echo "check-both: all passed"
