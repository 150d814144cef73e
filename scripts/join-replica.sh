#!/usr/bin/env bash
# Starts a new replica ID (listening on 127.0.0.1:8000+ID) that joins the local cluster of
# `make run`: it asks the leader to add it as a learner, catches up, and is promoted to voter
# (LEARNER=1 keeps it a learner). pid in data/ID.pid, log in data/ID.log, like start-replica.sh;
# restart it later with ./scripts/start-replica.sh ID.
set -euo pipefail
cd "$(dirname "$0")/.."
id=$1
source scripts/local-cluster.sh
learner=()
[ "${LEARNER:-0}" = 1 ] && learner=(--learner)
# shellcheck disable=SC2046 # tls_arguments is a list of flags
nohup "$bin/chatd" --id "$id" --join "$(replica_list)" --listen "127.0.0.1:$((base_port + id - 1))" "${learner[@]}" \
  --cluster-secret-file data/cluster-secret --data-dir "data/$id" $(tls_arguments "$id") >>"data/$id.log" 2>&1 &
echo $! > "data/$id.pid"
echo "replica $id starting on $(replica_url "$id"), joining through $(replica_list) (log: data/$id.log)"
