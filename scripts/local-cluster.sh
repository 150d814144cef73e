# Sourced by start-replica.sh and join-replica.sh: where the local cluster of `make run` listens
# and which binaries it runs. Run from the project root.
replicas=${REPLICAS:-$(cat data/replicas 2>/dev/null || echo 5)}
base_port=${BASE_PORT:-8001}
bin=${CHAT_BIN_DIR:-$(swift build -c release --show-bin-path)}

# The URL of replica $1.
replica_url() { echo "http://127.0.0.1:$((base_port + $1 - 1))"; }

# The URLs of the cluster's first replicas, `id=url` with `--peers` style ($1 = peers) or bare.
replica_list() {
  local list="" peer
  for peer in $(seq 1 "$replicas"); do
    if [ "${1:-}" = peers ]; then list+="${list:+,}$peer=$(replica_url "$peer")"; else list+="${list:+,}$(replica_url "$peer")"; fi
  done
  echo "$list"
}
