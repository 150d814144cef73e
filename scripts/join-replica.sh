#!/usr/bin/env bash
# Starts a new replica ID (listening on 127.0.0.1:8000+ID) that joins the local cluster of
# `make run`: it asks the leader to add it as a learner, catches up, and is promoted to voter
# (LEARNER=1 keeps it a learner). pid in data/ID.pid, log in data/ID.log, like start-replica.sh;
# restart it later with ./scripts/start-replica.sh ID (its data directory remembers the cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
id=$1
replicas=${REPLICAS:-$(cat data/replicas 2>/dev/null || echo 5)}
base_port=${BASE_PORT:-8001}
bin=${CHAT_BIN_DIR:-$(swift build -c release --show-bin-path)}
join=""
for peer in $(seq 1 "$replicas"); do
  join+="${join:+,}http://127.0.0.1:$((base_port + peer - 1))"
done
learner=()
[ "${LEARNER:-0}" = 1 ] && learner=(--learner)
nohup "$bin/chatd" --id "$id" --join "$join" --listen "127.0.0.1:$((base_port + id - 1))" "${learner[@]}" \
  --cluster-secret-file data/cluster-secret --data-dir "data/$id" >>"data/$id.log" 2>&1 &
echo $! > "data/$id.pid"
echo "replica $id starting on http://127.0.0.1:$((base_port + id - 1)), joining through $join (log: data/$id.log)"
