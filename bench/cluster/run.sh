#!/usr/bin/env bash
# Cluster benchmarks (issue: cluster replication):
#  1. convergence of a write on three local askr nodes (loopback, different ports): p50/p99/max
#     of the time until nodes 2 and 3 return a row written on node 1;
#  2. the in-process simulation of the protocol at 100 and 1,000 nodes with 1 % message loss
#     (bench/ClusterSim): convergence time and messages per node per second.
# Environment: ASKR_BINARY (default <repo>/build/askr/askr), BENCH_WRITES (200), SIM_NODES (100,1000),
# SIM_LOSS (0.01), SIM_WRITES (200). Results: bench/results/cluster-<date>.json.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
askr=${ASKR_BINARY:-$repo/build/askr/askr}
writes=${BENCH_WRITES:-200}
results=$repo/bench/results
mkdir -p "$results"
stamp=$(date -u +%Y-%m-%dT%H%M%S)
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

free_port() { php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); echo explode(":", stream_socket_get_name($s, false))[1];'; }

[ -x "$askr" ] || { echo "askr not found at $askr: run scripts/build.sh" >&2; exit 1; }
php_dir=$repo/tests-dotnet/Askr.Tests/php
export ASKR_CLUSTER_SECRET="bench-cluster-secret-$(date +%s)"
declare -a http cluster
for i in 1 2 3; do http[$i]=$(free_port); cluster[$i]=$(free_port); done
for i in 1 2 3; do
  "$askr" serve --root "$php_dir/public" --worker-script "$php_dir/tables.php" --tables "$php_dir/tables.json" \
    --port "${http[$i]}" --workers 1 --no-access-log --cluster-port "${cluster[$i]}" --seeds "127.0.0.1:${cluster[1]}" \
    > "$tmp/node$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do
  for _ in $(seq 1 100); do grep -q "askr listening" "$tmp/node$i.log" && break; sleep 0.2; done
done
sleep 3 # membership settles (every node probes the others)
echo "== three local nodes, $writes writes on node 1, read on nodes 2 and 3"
conv=$(php "$here/convergence.php" "${http[1]}" "${http[2]}" "${http[3]}" "$writes")
echo "$conv"

echo "== simulation (bench/ClusterSim)"
dotnet build "$repo/bench/ClusterSim/ClusterSim.csproj" -c Release -o "$repo/bench/build/ClusterSim" --nologo -v quiet >/dev/null
SIM_JSON="$tmp/sim.json" dotnet "$repo/bench/build/ClusterSim/ClusterSim.dll"
printf '{"benchmark":"cluster","started":"%s","three_nodes":%s,"simulation":%s}\n' "$stamp" "$conv" "$(cat "$tmp/sim.json")" > "$results/cluster-$stamp.json"
echo "written $results/cluster-$stamp.json"
