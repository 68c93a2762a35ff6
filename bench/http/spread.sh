#!/usr/bin/env bash
# Load spreading across askr's workers (issue 15): hello-world under wrk keep-alive, askr serve
# --spread bpf (a BPF reuseport program taking the slots in turn) against --spread hash (the
# kernel's SO_REUSEPORT hash), interleaved in the same run. For each round and W, prints the
# requests each worker answered during the measurement (from the admin endpoint's /status,
# per-worker counters), max/min (target <= 1.2), req/s, the ratio bpf/hash of req/s, and the
# steal time (jiffies, /proc/stat) during the round. Beside them, what the spreading itself
# decides and what it does not: the connections each worker holds (ss, mid-run) and the CPU time
# each worker process got (utime+stime, jiffies, spinning thread-pool threads included) and its
# PHP thread alone (the thread named "php", /proc/<pid>/task/<tid>/stat). Under
# keep-alive a connection stays with its worker, so requests per worker also depend on how fast
# each worker serves its connections on a shared machine, which the spreading does not decide. See docs/benchmarks.md, "Load spreading".
#
# Environment (all optional):
#   ASKR_BINARY        askr executable (default: <repo>/build/askr/askr)
#   BENCH_WORKERS      space-separated worker counts (default "2 4")
#   BENCH_ROUNDS       rounds; each round measures every W with bpf and hash, order alternating (default 3)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_CONNECTIONS  wrk connections (default 64)
#   BENCH_DURATION     seconds measured per server (default 10)
#   BENCH_PORT         first port tried on 127.0.0.1 (default 18480)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"

WORKER_COUNTS=${BENCH_WORKERS:-"2 4"}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
DURATION=${BENCH_DURATION:-10}
PORT_BASE=${BENCH_PORT:-18480}
STARTUP_TIMEOUT=60
TOKEN=bench-spread-token-0123456789
for v in ROUNDS THREADS CONNECTIONS DURATION PORT_BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done

need wrk wrk; need curl curl; need ss iproute2; need setsid util-linux; need python3 python3
[[ -x $ASKR_BINARY ]] || die "askr not built at $ASKR_BINARY (scripts/build.sh)"

bench_begin

# per_worker ADMIN_PORT: "SPREAD slot=requests:pid:cpu_jiffies ..." of the HTTP workers, from /status and /proc.
per_worker() {
    curl -fsS -m 5 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$1/status" | python3 -c '
import json, sys
import os
def jiffies(stat):
    with open(stat) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
def cpu(pid):
    return jiffies(f"/proc/{pid}/stat")
def php(pid):  # the PHP thread of the worker (named "php", Askr.Php.PhpThread)
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() == "php":
                return jiffies(f"/proc/{pid}/task/{tid}/stat")
    return 0
d = json.load(sys.stdin)
print(d["spread"], " ".join("%d=%d:%d:%d:%d" % (w["slot"], w["requests"], w["pid"], cpu(w["pid"]), php(w["pid"])) for w in sorted(d["workers"], key=lambda w: w["slot"]) if w["kind"] == "http"))'
}

# connections PORT: "pid=count ..." of the established connections to PORT, by the process holding them.
connections() {
    ss -tnpH state established "( sport = :$1 )" | grep -o 'pid=[0-9]*' | sort | uniq -c | awk '{ printf "%s=%s ", substr($2, 5), $1 }'
}

# run MODE W: one measurement; prints one result line and appends it to $BENCH_TMP/results.
run() {
    local mode=$1 w=$2 dir=$BENCH_TMP/$1-$2 port admin before after s0 s1 out
    mkdir -p "$dir"
    port=$(free_port "$PORT_BASE") || die "no free port"
    admin=$(free_port $((port + 1))) || die "no free port"
    start_server "$dir/askr.out" env ASKR_ADMIN_TOKEN=$TOKEN "$ASKR_BINARY" serve --root "$HERE" \
        --worker-script "$HERE/hello-worker.php" --workers "$w" --host 127.0.0.1 --port "$port" \
        --admin-port "$admin" --no-access-log --spread "$mode"
    local pid=$SERVER_PID
    if ! wait_http "$pid" "http://127.0.0.1:$port/" 'Hello, World!' "$STARTUP_TIMEOUT"; then
        tail -n 20 "$dir/askr.out" >&2; stop_server "$pid"; return 1
    fi
    # Every worker ready (wait_http saw only one of them answer).
    local deadline=$((SECONDS + STARTUP_TIMEOUT))
    until grep -q 'askr listening on' "$dir/askr.out" || ((SECONDS > deadline)); do sleep 0.2; done
    sleep 1.2 # workers report their counts once a second
    before=$(per_worker "$admin")
    s0=$(steal)
    out=$dir/wrk.txt
    timeout --foreground $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -s "$BENCH/lib/report.lua" "http://127.0.0.1:$port/" >"$out" 2>&1 &
    local wrk_pid=$!
    sleep $((DURATION / 2))
    conns=$(connections "$port")
    wait "$wrk_pid" || { sed 's/^/    /' "$out" >&2; stop_server "$pid"; return 1; }
    s1=$(steal)
    sleep 1.5
    after=$(per_worker "$admin")
    stop_server "$pid" 15
    parse_result "$out" || { log "no result from wrk"; return 1; }
    python3 - "$mode" "$w" "$before" "$after" "$R_rps" "$((s1 - s0))" "$R_p99_ms" "$conns" <<'PY' | tee -a "$BENCH_TMP/results"
import sys
mode, w, before, after, rps, steal, p99, conns = sys.argv[1:]
def parse(s):
    spread, *pairs = s.split()
    out = {}
    for p in pairs:
        slot, rest = p.split("=")
        out[int(slot)] = tuple(map(int, rest.split(":")))  # requests, pid, process jiffies, PHP thread jiffies
    return spread, out
effective, b = parse(before)
_, a = parse(after)
conn = {int(k): int(v) for k, v in (c.split("=") for c in conns.split())}
slots = sorted(a)
per = [a[k][0] - b[k][0] for k in slots]
cpu = [a[k][2] - b[k][2] for k in slots]
php = [a[k][3] - b[k][3] for k in slots]
held = [conn.get(a[k][1], 0) for k in slots]
def r(xs): return max(xs) / min(xs) if min(xs) > 0 else float("inf")
print(f"W={w} {mode:4} (in effect: {effective:4}) req/s {float(rps):7.0f} p99 {float(p99):6.1f} ms | requests {' '.join(map(str, per))} max/min {r(per):.3f}"
      f" | connections {' '.join(map(str, held))} | cpu jiffies {' '.join(map(str, cpu))} max/min {r(cpu):.3f}"
      f" | PHP thread jiffies {' '.join(map(str, php))} max/min {r(php):.3f} | steal {steal}")
PY
}

log "askr --spread bpf vs hash: W in {$WORKER_COUNTS}, $ROUNDS round(s), wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s keep-alive"
log "2 cores shared with other jobs: absolute req/s are noisy; compare within a round"
: >"$BENCH_TMP/results"
for ((round = 1; round <= ROUNDS; round++)); do
    for w in $WORKER_COUNTS; do
        if ((round % 2)); then order="bpf hash"; else order="hash bpf"; fi
        echo "round $round, W=$w:"
        declare -A RPS_OF=()
        for mode in $order; do
            line=$(run "$mode" "$w") || { echo "  $mode: failed"; continue; }
            echo "  $line"
            RPS_OF[$mode]=$(awk '{for (i = 1; i <= NF; i++) if ($i == "req/s") print $(i + 1)}' <<<"$line")
        done
        if [[ -n ${RPS_OF[bpf]:-} && -n ${RPS_OF[hash]:-} ]]; then
            echo "  req/s bpf/hash: $(awk -v a="${RPS_OF[bpf]}" -v b="${RPS_OF[hash]}" 'BEGIN { printf "%.3f", a / b }')"
        fi
    done
done
