#!/usr/bin/env bash
# Makes a throwaway CA and a certificate per replica, valid for 127.0.0.1, ::1 and localhost,
# for both serving and calling peers (mutual TLS):
#   DIR/ca.pem, DIR/ca-key.pem, DIR/replica-N.pem, DIR/replica-N-key.pem   (N = 1..COUNT)
# Files already there are kept, so a restarted cluster keeps its certificates.
# Usage: scripts/tls-certs.sh DIR [COUNT]
set -euo pipefail
dir=$1
count=${2:-3}
mkdir -p "$dir"
cd "$dir"
umask 077
if [ ! -s ca.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -keyout ca-key.pem -out ca.pem -subj "/CN=chat throwaway CA" 2>/dev/null
fi
for i in $(seq 1 "$count"); do
  [ -s "replica-$i.pem" ] && continue
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "replica-$i-key.pem" -out "replica-$i.csr" -subj "/CN=chat replica $i" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > "replica-$i.ext"
  openssl x509 -req -in "replica-$i.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 \
    -extfile "replica-$i.ext" -out "replica-$i.pem" 2>/dev/null
  rm -f "replica-$i.csr" "replica-$i.ext"
done
# Certificates are public; keys stay readable by their owner alone.
chmod 644 ca.pem replica-[0-9].pem replica-[0-9][0-9].pem 2>/dev/null || true
chmod 600 ca-key.pem replica-*-key.pem
