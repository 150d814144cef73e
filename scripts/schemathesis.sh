#!/usr/bin/env bash
# Runs schemathesis against one real replica to check that the server answers what openapi.yaml
# says, and that openapi.yaml lists everything the server answers. `make test` runs it after the
# Swift tests, with the schemathesis of .venv-schemathesis (`make schemathesis-deps`).
#
#   scripts/schemathesis.sh [BIN_DIR]      BIN_DIR holds chatd (default .build/debug)
#
# Environment: SCHEMATHESIS (the `st` to run, default .venv-schemathesis/bin/st),
# SCHEMATHESIS_MAX_EXAMPLES (test cases per operation and phase, default 200:
# about 45 s on 2 cores),
# SCHEMATHESIS_ARGS (more arguments for `st run`, such as --seed N to repeat a run),
# CHATD_ARGS (more arguments for chatd, such as --access-log --log-level info).
# Exits non-zero when schemathesis finds anything, printing the end of the replica's log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=$(cd "${1:-$root/.build/debug}" && pwd)
st=${SCHEMATHESIS:-$root/.venv-schemathesis/bin/st}
case $st in */*) st=$(cd "$(dirname "$st")" && pwd)/$(basename "$st") ;; esac
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-200}

work=$(mktemp -d)
pid=""
waker=""
status=1
cleanup() {
  if [ -n "$waker" ]; then kill "$waker" 2>/dev/null || true; wait "$waker" 2>/dev/null || true; fi
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "$status" != 0 ] && [ -f "$work/chatd.log" ]; then
    echo "--- last lines of the replica's log ---" >&2
    tail -n 40 "$work/chatd.log" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port that was free a moment ago (the kernel picks it); chatd fails at once if it was taken since.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/cluster-secret"

"$bin_dir/chatd" --id 1 --peers "1=$base" --data-dir "$work/data" --cluster-secret-file "$work/cluster-secret" \
  --insecure-password-rounds 1000 --log-level warning ${CHATD_ARGS:-} >"$work/chatd.log" 2>&1 &
pid=$!

for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ] && break
  kill -0 "$pid" 2>/dev/null || { echo "schemathesis: chatd exited at start" >&2; exit 1; }
  sleep 0.2
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ] || { echo "schemathesis: chatd is not ready" >&2; exit 1; }

# Accounts and bearer tokens, from curl. Two operations get a token of their own, since they end
# what they are sent with: `DELETE /v1/sessions/current` revokes its token, and `DELETE
# /v1/accounts/{username}` deletes its account when schemathesis names it (it learns usernames from
# `GET /v1/accounts`). With the shared token, every later request would be a 401.
password=schemathesis-password
signup() {
  curl -sf -X POST -H 'Content-Type: application/json' -d "{\"username\": \"$1\", \"password\": \"$password\"}" \
    "$base/v1/accounts" >/dev/null
}
login() {
  curl -sf -X POST -H 'Content-Type: application/json' -d "{\"username\": \"$1\", \"password\": \"$password\"}" \
    "$base/v1/sessions" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
for user in schemathesis schemathesis-deleted schemathesis-waker; do signup "$user"; done
token=$(login schemathesis)
logout_token=$(login schemathesis)
delete_token=$(login schemathesis-deleted)
waker_token=$(login schemathesis-waker)

# `GET /v1/inbox?wait=60` is a valid request that waits 60 s when nothing arrives, and schemathesis
# sends many such (it favours the bounds), which would make a run last many minutes. A message to
# the tested account every 0.2 s ends every waiting long-poll (a wake answers at once, with the
# messages after `after`, perhaps none), so waits stay short and still go through the long-poll path.
# Bounded: at most about 10 minutes, and ended with the replica.
(
  for _ in $(seq 1 3000); do
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $waker_token" -H 'Content-Type: application/json' \
      -d '{"to": "schemathesis", "body": "wake up"}' "$base/v1/messages" || true
    sleep 0.2
  done
) &
waker=$!

# The cluster secret goes only to promote and remove, whose test cases either name no member (404) or
# replica 1, which the cluster refuses to lose or promote (409). addClusterMember runs without it (so
# only its 401 is tested): with it, schemathesis would add learners at generated URLs, anywhere on
# the network, and the leader would go on sending them Raft traffic.
cat >"$work/schemathesis.toml" <<EOF
# Nothing kept between runs (it would be a .schemathesis/ folder in the work tree).
[cache]
enabled = false

[auth.openapi.bearer]
bearer = "$token"

[[operations]]
include-operation-id = "deleteCurrentSession"
headers = { Authorization = "Bearer $logout_token" }

[[operations]]
include-operation-id = "deleteAccount"
headers = { Authorization = "Bearer $delete_token" }

[[operations]]
include-operation-id = ["promoteClusterMember", "removeClusterMember"]
headers = { X-Chat-Cluster-Secret = "$(cat "$work/cluster-secret")" }

# No waker ends a long-poll asking for messages after a position beyond the inbox's last one
# (schemathesis favours large integers), so each such poll waited its whole generated wait, up
# to 60 s: one run spent over 20 minutes on them. Every poll here waits 1 s at most; the Swift
# tests cover the bounds of wait and its long waits.
[[operations]]
include-operation-id = "readInbox"
parameters = { "query.wait" = 1 }
EOF

set +e
cd "$work" # hypothesis keeps a .hypothesis/ folder in the current one
# --request-timeout: GET /v1/inbox?wait=60 is a 60-second long-poll, and a valid request.
# --workers 1: with threads, CPython 3.11's ast.parse (which hypothesis calls to describe
# strategies) can fail with "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905).
# The hooks keep generated requests below the HTTP layer's header limit (see the file).
SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$root/scripts${PYTHONPATH:+:$PYTHONPATH}" \
"$st" --config-file "$work/schemathesis.toml" run "$root/openapi.yaml" --url "$base" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method \
  --phases examples,coverage,fuzzing,stateful --request-timeout 75 --max-examples "$max_examples" \
  --workers 1 --no-color ${SCHEMATHESIS_ARGS:-}
status=$?
set -e
exit "$status"
