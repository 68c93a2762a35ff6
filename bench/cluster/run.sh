#!/usr/bin/env bash
# Cluster benchmarks (issue: cluster replication):
#  1. convergence of a write on three local askr nodes (loopback, different ports): p50/p99/max
#     of the time until nodes 2 and 3 return a row written on node 1;
#  2. the in-process simulation of the protocol at 100 and 1,000 nodes with 1 % message loss
#     (bench/ClusterSim): convergence time and messages per node per second.
# Environment: ASKR_BINARY (default <repo>/build/askr/askr), BENCH_WRITES (200), BENCH_PORT (first port
# tried on 127.0.0.1, 18700), SIM_NODES (100,1000), SIM_LOSS (0.01), SIM_WRITES (200).
# Results: BENCH_RESULTS_DIR (default bench/results)/cluster-<date>.json.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"
writes=${BENCH_WRITES:-200}
mkdir -p "$RESULTS_DIR"
stamp=$(date -u +%Y-%m-%dT%H%M%S)
trap stop_all EXIT
bench_init_tmp

[[ -x $ASKR_BINARY ]] || die "askr not found at $ASKR_BINARY: run scripts/build.sh"
php_dir=$REPO/tests-dotnet/Askr.Tests/php
ASKR_CLUSTER_SECRET="bench-cluster-secret-$(date +%s)"
export ASKR_CLUSTER_SECRET
declare -a http cluster
next=${BENCH_PORT:-18700}
for i in 1 2 3; do
  http[i]=$(free_port "$next") || die "no free port"
  cluster[i]=$(free_port $((http[i] + 1))) || die "no free port"
  next=$((cluster[i] + 1))
done
for i in 1 2 3; do
  start_server "$BENCH_TMP/node$i.log" "$ASKR_BINARY" serve --root "$php_dir/public" --worker-script "$php_dir/tables.php" \
    --tables "$php_dir/tables.json" --port "${http[i]}" --workers 1 --no-access-log \
    --cluster-port "${cluster[i]}" --seeds "127.0.0.1:${cluster[1]}"
done
for i in 1 2 3; do
  for _ in $(seq 1 100); do grep -q "askr listening" "$BENCH_TMP/node$i.log" && break; sleep 0.2; done
done
sleep 3 # membership settles (every node probes the others)
echo "== three local nodes, $writes writes on node 1, read on nodes 2 and 3"
conv=$(php "$HERE/convergence.php" "${http[1]}" "${http[2]}" "${http[3]}" "$writes")
echo "$conv"

echo "== simulation (bench/ClusterSim)"
dotnet build "$BENCH/ClusterSim/ClusterSim.csproj" -c Release -o "$BENCH/build/ClusterSim" --nologo -v quiet >/dev/null
SIM_JSON="$BENCH_TMP/sim.json" dotnet "$BENCH/build/ClusterSim/ClusterSim.dll"
printf '{"benchmark":"cluster","started":"%s","three_nodes":%s,"simulation":%s}\n' "$stamp" "$conv" "$(cat "$BENCH_TMP/sim.json")" > "$RESULTS_DIR/cluster-$stamp.json"
echo "written $RESULTS_DIR/cluster-$stamp.json"
