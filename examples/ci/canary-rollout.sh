#!/usr/bin/env sh
# A canary rollout from any CI job: starts the rollout of CANARY in TENANT on a running
# Keystone (its admin API) and waits for the verdict. Deploy the canary first, as a service of
# the tenant with `standby: true` (no traffic before its rollout), and reload.
#
#   examples/ci/canary-rollout.sh TENANT CANARY [STEPS] [INTERVAL] [MAX_5XX] [MAX_P99]
#   examples/ci/canary-rollout.sh shop v2 5,25,50,100 2m 1% 300ms
#
# Environment: KEYSTONE_ADMIN_URL (default http://127.0.0.1:9901), KEYSTONE_ADMIN_TOKEN
# (required), POLL seconds between checks (5), TIMEOUT seconds in all (3600; then the rollout is
# aborted). Exit: 0 promoted, 1 rolled back or aborted (the reason is printed), 2 usage or the
# gateway unreachable. Needs only sh and curl. docs/rollouts.md explains the steps.
set -u
[ $# -ge 2 ] || { echo "usage: $0 TENANT CANARY [STEPS] [INTERVAL] [MAX_5XX] [MAX_P99]" >&2; exit 2; }
TENANT=$1 CANARY=$2 STEPS=${3:-5,25,50,100} INTERVAL=${4:-2m} MAX_5XX=${5:-1%} MAX_P99=${6:-}
ADMIN=${KEYSTONE_ADMIN_URL:-http://127.0.0.1:9901}
[ -n "${KEYSTONE_ADMIN_TOKEN:-}" ] || { echo "set KEYSTONE_ADMIN_TOKEN" >&2; exit 2; }
POLL=${POLL:-5} TIMEOUT=${TIMEOUT:-3600}

api() { # METHOD PATH [BODY]: prints the answer's body, then a line with the HTTP status
  curl -sS -X "$1" -H "Authorization: Bearer $KEYSTONE_ADMIN_TOKEN" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} -w '\n%{http_code}\n' "$ADMIN/api/v1/rollouts/$TENANT$2" || { echo "cannot reach $ADMIN" >&2; exit 2; }
}
field() { # NAME: the value of a string field of the JSON on stdin
  sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -n 1
}

plan="{\"canary\":\"$CANARY\",\"steps\":\"$STEPS\",\"interval\":\"$INTERVAL\",\"max_5xx\":\"$MAX_5XX\"${MAX_P99:+,\"max_p99\":\"$MAX_P99\"}}"
answer=$(api POST "" "$plan")
status=$(printf '%s\n' "$answer" | tail -n 1)
if [ "$status" != 201 ]; then
  echo "rollout refused ($status): $(printf '%s\n' "$answer" | head -n 1 | field error)" >&2
  exit 1
fi
echo "rollout of $CANARY in $TENANT started: steps $STEPS every $INTERVAL"
waited=0
while :; do
  body=$(api GET "" | head -n 1)
  state=$(printf '%s' "$body" | field state)
  percent=$(printf '%s' "$body" | sed -n 's/.*"percent":\([0-9]*\).*/\1/p')
  case "$state" in
    promoted) echo "promoted: $CANARY takes all traffic"; exit 0 ;;
    rolled_back | aborted) echo "$state: $(printf '%s' "$body" | field reason)" >&2; exit 1 ;;
    running | paused) echo "$state at $percent%" ;;
    *) echo "unexpected answer: $body" >&2; exit 2 ;;
  esac
  if [ "$waited" -ge "$TIMEOUT" ]; then
    api POST /abort >/dev/null
    echo "no verdict after $TIMEOUT s: aborted" >&2
    exit 1
  fi
  sleep "$POLL"
  waited=$((waited + POLL))
done
