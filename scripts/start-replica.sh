#!/usr/bin/env bash
# Starts replica ID of the local cluster in the background (as `make run` does), writing its
# pid to data/ID.pid and its log to data/ID.log. Used by run-cluster.sh, and by hand to bring
# back a replica that was killed (or one that joined: its data directory remembers the cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
id=$1
source scripts/local-cluster.sh
# Its pid file must keep naming the replica that runs (chatd would refuse the directory anyway).
if [ -f "data/$id.pid" ] && running "$(cat "data/$id.pid")"; then
  echo "replica $id already runs (pid $(cat "data/$id.pid")): stop it first" >&2
  exit 1
fi
# The secret is read from its file, so it shows neither in ps nor in the environment.
# shellcheck disable=SC2046 # tls_arguments is a list of flags
nohup "$bin/chatd" --id "$id" --peers "$(replica_list peers)" --cluster-secret-file data/cluster-secret \
  --data-dir "data/$id" $(tls_arguments "$id") >>"data/$id.log" 2>&1 &
echo $! > "data/$id.pid"
