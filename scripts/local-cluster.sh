# Sourced by run-cluster.sh, start-replica.sh and join-replica.sh: where the local cluster of
# `make run` listens, whether it speaks TLS, and which binaries it runs. Run from the project root.
replicas=${REPLICAS:-$(cat data/replicas 2>/dev/null || echo 5)}
base_port=${BASE_PORT:-8001}
bin=${CHAT_BIN_DIR:-$(swift build -c release --show-bin-path)}
# TLS=1 (recorded in data/tls-enabled by run-cluster.sh): HTTPS with certificates from data/tls/.
tls=${TLS:-$(cat data/tls-enabled 2>/dev/null || echo 0)}
[ "$tls" = 1 ] && scheme=https || scheme=http

# The URL of replica $1.
replica_url() { echo "$scheme://127.0.0.1:$((base_port + $1 - 1))"; }

# The URLs of the cluster's first replicas, `id=url` with `--peers` style ($1 = peers) or bare.
replica_list() {
  local list="" peer
  for peer in $(seq 1 "$replicas"); do
    if [ "${1:-}" = peers ]; then list+="${list:+,}$peer=$(replica_url "$peer")"; else list+="${list:+,}$(replica_url "$peer")"; fi
  done
  echo "$list"
}

# chatd's TLS flags for replica $1: its own certificate for serving and for calling peers
# (mutual TLS), and the throwaway CA both sides verify against. Nothing without TLS.
tls_arguments() {
  [ "$tls" = 1 ] || return 0
  echo "--tls-cert data/tls/replica-$1.pem --tls-key data/tls/replica-$1-key.pem --peer-ca data/tls/ca.pem" \
    "--peer-client-cert data/tls/replica-$1.pem --peer-client-key data/tls/replica-$1-key.pem --peer-verify-client"
}

# Whether process $1 still runs (a zombie, exited but not yet reaped, does not).
running() {
  local state
  { read -r _ _ state _ < "/proc/$1/stat"; } 2>/dev/null || return 1
  [ "$state" != Z ]
}
