#!/usr/bin/env bash
# Pusher-protocol WebSockets (docs/websockets.md): idle connections one askr node holds (worker
# RSS per connection), fan-out latency of one event to WS_SUBSCRIBERS subscribers (p50/p99), and
# events/s to them through the HTTP API. Clients: ws and the pusher library from
# tests-dotnet/pusher-clients (scripts/setup.sh installs them), one Node process on this machine:
# its own event loop is part of every latency measured. Prints one JSON line with load and steal.
#
# Environment (all optional): ASKR_BINARY, WS_WORKERS (default 2), WS_IDLE (default 5000),
# WS_SUBSCRIBERS (default 1000), WS_ROUNDS (default 20), WS_EVENTS (default 200).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ASKR=${ASKR_BINARY:-$REPO/build/askr/askr}
[ -x "$ASKR" ] || { echo "askr not built at $ASKR: run scripts/setup.sh" >&2; exit 2; }
[ -d "$REPO/tests-dotnet/pusher-clients/node_modules/ws" ] || { echo "run scripts/setup.sh first (npm ci in tests-dotnet/pusher-clients)" >&2; exit 2; }
WORKERS=${WS_WORKERS:-2}; IDLE=${WS_IDLE:-5000}; SUBS=${WS_SUBSCRIBERS:-1000}; ROUNDS=${WS_ROUNDS:-20}; EVENTS=${WS_EVENTS:-200}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
steal() { awk '/^cpu /{print $9}' /proc/stat; }
PORT=$(free_port); ADMIN=$(free_port)

exec 9>/tmp/askr-bench.lock
flock 9
"$ASKR" serve --root "$REPO/bench/http" --worker-script "$REPO/bench/http/hello-worker.php" --host 127.0.0.1 --port "$PORT" \
    --workers "$WORKERS" --admin-port "$ADMIN" --no-access-log --pusher-app bench:bench-key:bench-secret >/tmp/askr-ws-bench-$$.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -f /tmp/askr-ws-bench-$$.log' EXIT
for _ in $(seq 100); do grep -q "askr listening" /tmp/askr-ws-bench-$$.log && break; sleep 0.1; done
ulimit -n "$(ulimit -Hn)" || true
steal0=$(steal); load0=$(cut -d' ' -f1-3 /proc/loadavg)
result=$(cd "$REPO/tests-dotnet/pusher-clients" && NODE_PATH=$PWD/node_modules node "$HERE/bench.js" \
    "{\"port\":$PORT,\"adminPort\":$ADMIN,\"appId\":\"bench\",\"key\":\"bench-key\",\"secret\":\"bench-secret\",\"idle\":$IDLE,\"subscribers\":$SUBS,\"rounds\":$ROUNDS,\"events\":$EVENTS}")
steal1=$(steal); load1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "{\"workers\":$WORKERS,\"result\":$result,\"steal_ticks\":$((steal1 - steal0)),\"load_before\":\"$load0\",\"load_after\":\"$load1\"}"
