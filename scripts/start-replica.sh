#!/usr/bin/env bash
# Starts replica ID of the local cluster in the background (as `make run` does), writing its
# pid to data/ID.pid and its log to data/ID.log. Used by run-cluster.sh, and by hand to bring
# back a replica that was killed.
set -euo pipefail
cd "$(dirname "$0")/.."
id=$1
replicas=${REPLICAS:-$(cat data/replicas 2>/dev/null || echo 5)}
base_port=${BASE_PORT:-8001}
bin=${CHAT_BIN_DIR:-$(swift build -c release --show-bin-path)}
peers=""
for peer in $(seq 1 "$replicas"); do
  peers+="${peers:+,}$peer=http://127.0.0.1:$((base_port + peer - 1))"
done
# The secret is read from its file, so it shows neither in ps nor in the environment.
nohup "$bin/chatd" --id "$id" --peers "$peers" --cluster-secret-file data/cluster-secret \
  --data-dir "data/$id" >>"data/$id.log" 2>&1 &
echo $! > "data/$id.pid"
