#!/usr/bin/env bash
# Starts a local cluster of REPLICAS (default 5) chatd replicas on 127.0.0.1:8001… with data
# under ./data, and stops every replica cleanly on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
replicas=${REPLICAS:-5}
base_port=${BASE_PORT:-8001}
mkdir -p data
# Replicas prove to each other that they belong to this cluster with a shared secret.
[ -s data/cluster-secret ] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > data/cluster-secret)

echo "$replicas" > data/replicas

# Whether process $1 still runs (a zombie, exited but not yet reaped, does not).
running() {
  local state
  { read -r _ _ state _ < "/proc/$1/stat"; } 2>/dev/null || return 1
  [ "$state" != Z ]
}

stop_all() {
  trap - INT TERM EXIT
  echo; echo "stopping the cluster…"
  for file in data/*.pid; do
    [ -f "$file" ] && kill -TERM "$(cat "$file")" 2>/dev/null || true
  done
  # A replica hands over leadership and stops within a second; one that has not after 2.5 s
  # is killed (safe: nothing acknowledged is lost), so one Ctrl-C returns within 3 seconds.
  for _ in $(seq 1 50); do
    any=""
    for file in data/*.pid; do
      [ -f "$file" ] && running "$(cat "$file")" && any=1
    done
    [ -z "$any" ] && break
    sleep 0.05
  done
  for file in data/*.pid; do
    [ -f "$file" ] || continue
    running "$(cat "$file")" && kill -KILL "$(cat "$file")" 2>/dev/null
    rm -f "$file"
  done
  # Without this the script would go back to waiting after a Ctrl-C, and only a second one returned.
  exit 0
}
trap stop_all INT TERM EXIT

for id in $(seq 1 "$replicas"); do
  REPLICAS=$replicas ./scripts/start-replica.sh "$id"
done

for id in $(seq 1 "$replicas"); do
  url="http://127.0.0.1:$((base_port + id - 1))"
  for _ in $(seq 1 200); do
    curl -sf --max-time 1 "$url/readyz" >/dev/null && break
    sleep 0.05
  done
done

echo "chat service: $replicas replicas (any $(( (replicas - 1) / 2 )) may fail)"
for id in $(seq 1 "$replicas"); do
  echo "  replica $id: http://127.0.0.1:$((base_port + id - 1))   log: data/$id.log   pid: $(cat data/$id.pid)"
done
echo
echo "try:  curl -sL -H 'Content-Type: application/json' -d '{\"username\":\"alice\",\"password\":\"correct horse\"}' http://127.0.0.1:$base_port/v1/accounts"
echo "Ctrl-C stops every replica; scripts/start-replica.sh ID brings back one that was killed."
# Short sleeps: a Ctrl-C that lands between `sleep &` and `wait` is only seen when that sleep
# ends (a race in bash), which with an hour-long sleep kept the script waiting under load.
while true; do sleep 1 & wait $!; done
