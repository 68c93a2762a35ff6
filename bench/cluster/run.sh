#!/usr/bin/env bash
# Cluster benchmarks (issue: cluster replication):
#  1. convergence of a write on three local askr nodes (loopback, different ports): p50/p99/max
#     of the time until nodes 2 and 3 return a row written on node 1;
#  2. the in-process simulation of the protocol at 100 and 1,000 nodes with 1 % message loss
#     (bench/ClusterSim): convergence time and messages per node per second.
# The machine's state during part 1 is printed and recorded with it: CPU steal (jiffies and % of
# all CPU time, from /proc/stat) and the load average before and after.
# Environment: ASKR_BINARY (default <repo>/build/askr/askr), BENCH_WRITES (200; the nodes' table,
# bench/cluster/tables.json, holds 4096 rows), BENCH_PORT (first port tried on 127.0.0.1, 18700),
# BENCH_SIM (1; 0 skips part 2, which does not depend on the transport or the binary),
# SIM_NODES (100,1000), SIM_LOSS (0.01), SIM_WRITES (200).
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
declare -a http cluster pid startup_ms
next=${BENCH_PORT:-18700}
for i in 1 2 3; do
  http[i]=$(free_port "$next") || die "no free port"
  cluster[i]=$(free_port $((http[i] + 1))) || die "no free port"
  next=$((cluster[i] + 1))
done
started_ns=$(date +%s%N)
for i in 1 2 3; do
  start_server "$BENCH_TMP/node$i.log" "$ASKR_BINARY" serve --root "$php_dir/public" --worker-script "$php_dir/tables.php" \
    --tables "$HERE/tables.json" --port "${http[i]}" --workers 1 --no-access-log \
    --cluster-port "${cluster[i]}" --seeds "127.0.0.1:${cluster[1]}"
  pid[i]=$SERVER_PID
done
# startup: from launching the three nodes together until each logs that it listens (50 ms steps)
for i in 1 2 3; do
  for _ in $(seq 1 400); do grep -q "askr listening" "$BENCH_TMP/node$i.log" && break; sleep 0.05; done
  startup_ms[i]=$((($(date +%s%N) - started_ns) / 1000000))
done
sleep 3 # membership settles (every node probes the others)
# steal and total jiffies of all CPUs (/proc/stat: the 8th number of the cpu line is steal)
cpu_steal() { awk 'NR == 1 { t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t }' /proc/stat; }
echo "== three local nodes, $writes writes on node 1, read on nodes 2 and 3 ($ASKR_BINARY)"
read -r steal0 total0 < <(cpu_steal)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
conv=$(php "$HERE/convergence.php" "${http[1]}" "${http[2]}" "${http[3]}" "$writes")
read -r steal1 total1 < <(cpu_steal)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
machine=$(awk -v s=$((steal1 - steal0)) -v t=$((total1 - total0)) -v a="$load0" -v b="$load1" \
    'BEGIN { printf "{\"steal_jiffies\":%d,\"steal_pct\":%.2f,\"load_before\":\"%s\",\"load_after\":\"%s\"}", s, (t > 0 ? 100 * s / t : 0), a, b }')
# the supervisors' memory after the writes (the cluster agent lives in the supervisor): VmRSS and VmHWM, KiB
rss=$(for i in 1 2 3; do awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "{\"rss_kib\":%d,\"hwm_kib\":%d}\n", r, h }' "/proc/${pid[i]}/status"; done | paste -sd, -)
echo "$conv"
echo "machine: $machine"
echo "supervisors: [$rss]; startup of the three nodes, launched together: ${startup_ms[*]} ms"

sim=null
if [[ ${BENCH_SIM:-1} != 0 ]]; then
  echo "== simulation (bench/ClusterSim)"
  dotnet build "$BENCH/ClusterSim/ClusterSim.csproj" -c Release -o "$BENCH/build/ClusterSim" --nologo -v quiet >/dev/null
  SIM_JSON="$BENCH_TMP/sim.json" dotnet "$BENCH/build/ClusterSim/ClusterSim.dll"
  sim=$(cat "$BENCH_TMP/sim.json")
fi
printf '{"benchmark":"cluster","started":"%s","binary":"%s","three_nodes":%s,"machine":%s,"supervisors":[%s],"startup_ms":[%s],"simulation":%s}\n' \
  "$stamp" "$ASKR_BINARY" "$conv" "$machine" "$rss" "$(IFS=,; echo "${startup_ms[*]}")" "$sim" > "$RESULTS_DIR/cluster-$stamp.json"
echo "written $RESULTS_DIR/cluster-$stamp.json"
