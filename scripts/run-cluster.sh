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
tls=${TLS:-0}
if [ "$tls" = 1 ]; then
  # A throwaway CA and a certificate for each replica, and for up to 9 ids so replicas can join.
  ./scripts/tls-certs.sh data/tls 9
fi
echo "$tls" > data/tls-enabled
export TLS=$tls
source scripts/local-cluster.sh
curl_tls=()
[ "$tls" = 1 ] && curl_tls=(--cacert data/tls/ca.pem)

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
# A cluster already running from ./data is left alone: its replicas hold their data
# directories, and this script's exit would stop them through their pid files.
for file in data/*.pid; do
  if [ -f "$file" ] && running "$(cat "$file")"; then
    echo "a cluster is already running from ./data (replica $(basename "$file" .pid), pid $(cat "$file")): stop it first" >&2
    exit 1
  fi
done
trap stop_all INT TERM EXIT

for id in $(seq 1 "$replicas"); do
  REPLICAS=$replicas ./scripts/start-replica.sh "$id"
done

for id in $(seq 1 "$replicas"); do
  url=$(replica_url "$id")
  for _ in $(seq 1 200); do
    curl -sf "${curl_tls[@]}" --max-time 1 "$url/readyz" >/dev/null && break
    sleep 0.05
  done
done

echo "chat service: $replicas replicas (any $(( (replicas - 1) / 2 )) may fail)"
for id in $(seq 1 "$replicas"); do
  echo "  replica $id: $(replica_url "$id")   log: data/$id.log   pid: $(cat data/$id.pid)"
done
echo
echo "try:  curl -sL ${curl_tls[*]:+${curl_tls[*]} }-H 'Content-Type: application/json' -d '{\"username\":\"alice\",\"password\":\"correct horse\"}' $(replica_url 1)/v1/accounts"
echo "Ctrl-C stops every replica; scripts/start-replica.sh ID brings back one that was killed."
# Short sleeps: a Ctrl-C that lands between `sleep &` and `wait` is only seen when that sleep
# ends (a race in bash), which with an hour-long sleep kept the script waiting under load.
while true; do sleep 1 & wait $!; done
