#!/usr/bin/env bash
# A flood of 1 MB bodies to one tenant of a gateway with a supervised Node engine (256 MB), and
# what two neighbour tenants get meanwhile (engines/node/README.md, "Isolation"; round 9, N9-2).
#   engines/node/bench/body-flood/run.sh [path/to/keystone.jar] [SECONDS]
# Ports 19610 (gateway), 19611 (admin), 19650 (backend) on 127.0.0.1; stops what it started, by PID.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
JAR=${1:-$ROOT/target/keystone.jar}
SECS=${2:-20}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/keystone-body-flood.XXXXXX")
cp -r "$HERE/scripts" "$WORK/scripts"
cat > "$WORK/gw.yaml" <<YAML
lua_engine:
  enabled: true
  timeout: 50ms
  supervise: { command: [node, "$ROOT/engines/node/engine.js"], sandbox: none, scripts: scripts, memory: 256MB }
tenants:
  - { name: victim, path_prefix: /victim/, lua_script: jsonbody, script_body: 1MB, on_script_error: fail_closed, services: [{ name: b, url: "http://127.0.0.1:19650" }] }
  - { name: light, path_prefix: /light/, lua_script: light, services: [{ name: b, url: "http://127.0.0.1:19650" }] }
  - { name: keep10, path_prefix: /keep10/, lua_script: keep10, services: [{ name: b, url: "http://127.0.0.1:19650" }] }
YAML
cd "$WORK"
node "$HERE/traffic.js" backend 19650 & B=$!
java -jar "$JAR" run --config gw.yaml --listen 127.0.0.1:19610 --admin 127.0.0.1:19611 > gw.log 2>&1 & G=$!
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:19610/light/x && break; sleep 0.2; done
for _ in $(seq 1 10); do curl -s -o /dev/null http://127.0.0.1:19610/keep10/x; done
node "$HERE/traffic.js" load 19610 "$SECS"
kill "$G"; wait "$G" 2>/dev/null; kill "$B"; wait "$B" 2>/dev/null
rm -rf "$WORK"
