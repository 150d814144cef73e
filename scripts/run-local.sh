#!/usr/bin/env bash
# Runs the chat service locally until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(swift build -c release --show-bin-path)/chatd
mkdir -p data
echo "chat service: http://127.0.0.1:8001"
echo "try: curl -s -H 'Content-Type: application/json' -d '{\"username\":\"alice\",\"password\":\"correct horse\"}' http://127.0.0.1:8001/v1/accounts"
exec "$bin" --id 1 --peers 1=http://127.0.0.1:8001 --data-dir data/1
