#!/usr/bin/env bash
# RESP endpoint against redis-server, the same redis-benchmark load on each, one after the other:
#   redis   redis-server (Debian) --save '' --appendonly no, on 127.0.0.1
#   askr    askr serve (example hello worker) --tables <bench tables> --resp-port P
#   askr-inline  the same with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 (socket completions run
#           on the epoll threads instead of hopping to the thread pool; see docs/benchmarks-resp.md)
# Loads (-c BENCH_CLIENTS; pipelined -P 16 with -n BENCH_PIPELINED_REQUESTS, not pipelined with
# -n BENCH_REQUESTS: each test runs ~1.5-2.5 s either way on this 2-core VM):
#   SET, GET   redis-benchmark -t set,get: key "key:__rand_int__" is a plain key -> octane cache table
#   HSET       redis-benchmark HSET bench:__rand_int__ name value: a row of table "bench"
#              (redis-benchmark's own -t hset uses field names that are no table's columns)
# Each server first gets BENCH_WARMUP pipelined requests of each test, unrecorded (.NET compiles
# hot code in tiers; redis-server needs no warm-up, and it gets the same).
# Prints requests/s of each, the ratio askr/redis (target >= 0.8), and each server's CPU time per
# request in microseconds (its process tree's utime + stime over the run), and writes the figures as
# JSON to bench/results/resp-<date>.json. The tables are Octane's defaults: cache 1000 rows of
# 10000 bytes; bench 1000 rows of a string:32.
#
# Environment (all optional):
#   ASKR_BINARY          askr executable (default: <repo>/build/askr/askr; build with scripts/build.sh)
#   BENCH_REQUESTS       requests per test without pipelining (default 200000)
#   BENCH_PIPELINED_REQUESTS  requests per pipelined test (default 2000000; 200000 lasted ~0.15 s,
#                        too short a window: the ratio swung by +-0.2 between identical runs)
#   BENCH_CLIENTS        connections (default 50)
#   BENCH_PIPELINE       pipeline depth of the pipelined runs (default 16)
#   BENCH_KEYSPACE       redis-benchmark -r (random keys); default: none, every request hits one key
#   BENCH_WARMUP         unrecorded requests per test before measuring (default 300000; 0: none)
#   BENCH_TARGETS        comma-separated subset of redis,askr,askr-inline (default: all three)
#   BENCH_ROUNDS         rounds over both servers; each figure is the median round (default 3)
#   BENCH_PORT           first port tried on 127.0.0.1 (default 16380)
#   BENCH_RESULTS_DIR    where the JSON goes (default: <repo>/bench/results)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"

REQUESTS=${BENCH_REQUESTS:-200000}
PIPELINED_REQUESTS=${BENCH_PIPELINED_REQUESTS:-2000000}
CLIENTS=${BENCH_CLIENTS:-50}
PIPELINE=${BENCH_PIPELINE:-16}
KEYSPACE=${BENCH_KEYSPACE:-}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-300000}
TARGETS=${BENCH_TARGETS:-redis,askr,askr-inline}
PORT_BASE=${BENCH_PORT:-16380}

need redis-server redis-server
need redis-benchmark redis-tools
need redis-cli redis-tools
[[ -x $ASKR_BINARY ]] || die "askr not found at $ASKR_BINARY: run scripts/build.sh"

trap stop_all EXIT
bench_init_tmp

# wait_resp PID PORT: poll until the server answers PING.
wait_resp() {
    local pid=$1 port=$2 deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        is_alive "$pid" || { log "server (pid $pid) exited while starting"; return 1; }
        [[ $(redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null) == PONG ]] && return 0
        sleep 0.2
    done
    log "no PONG on port $port within 30s"
    return 1
}

start_redis() {
    local port dir=$BENCH_TMP/redis
    port=$(free_port "$PORT_BASE") || die "no free port"
    mkdir -p "$dir"
    start_server "$BENCH_TMP/redis.log" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir"
    wait_resp "$SERVER_PID" "$port" || { cat "$BENCH_TMP/redis.log" >&2; die "redis-server did not start"; }
    PORT=$port
}

start_askr() {
    local port http env=()
    [[ ${1:-} == inline ]] && env=(env DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1)
    port=$(free_port "$PORT_BASE") || die "no free port"
    http=$(free_port $((PORT_BASE + 100))) || die "no free port"
    cat >"$BENCH_TMP/tables.json" <<'JSON'
{"tables": {"bench:1000": {"name": "string:32"}}, "cache": {"rows": 1000, "bytes": 10000}}
JSON
    start_server "$BENCH_TMP/askr.log" "${env[@]}" "$ASKR_BINARY" serve --root "$REPO/examples/hello" \
        --worker-script "$REPO/examples/hello/worker.php" --workers 1 --port "$http" \
        --tables "$BENCH_TMP/tables.json" --resp-port "$port"
    wait_resp "$SERVER_PID" "$port" || { cat "$BENCH_TMP/askr.log" >&2; die "askr did not start"; }
    PORT=$port
}

# cpu_ticks PID: CPU time (utime + stime, in clock ticks) of PID and its children so far.
cpu_ticks() {
    local p t=0
    for p in "$1" $(descendants "$1"); do
        t=$((t + $(awk '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }' /proc/"$p"/task/*/stat 2>/dev/null || echo 0)))
    done
    echo "$t"
}

# run_load PID PORT PIPELINE REQUESTS: prints "test rps cpu_us_per_request" lines for SET, GET and HSET,
# the last being the server's CPU time per request (less sensitive than rps to other load on a shared machine).
run_load() {
    local pid=$1 port=$2 pipeline=$3 requests=$4 range=() test before after out rps hz
    hz=$(getconf CLK_TCK)
    [[ -n $KEYSPACE ]] && range=(-r "$KEYSPACE")
    for test in SET GET HSET; do
        before=$(cpu_ticks "$pid")
        if [[ $test == HSET ]]; then
            out=$(redis-benchmark -h 127.0.0.1 -p "$port" -n "$requests" -c "$CLIENTS" -P "$pipeline" "${range[@]}" -q --csv \
                HSET 'bench:__rand_int__' name value 2>&1)
        else
            out=$(redis-benchmark -h 127.0.0.1 -p "$port" -t "${test,,}" -n "$requests" -c "$CLIENTS" -P "$pipeline" "${range[@]}" -q --csv 2>&1)
        fi
        after=$(cpu_ticks "$pid")
        if grep -q 'ERR\|rror' <<<"$out"; then echo "error $out"; continue; fi
        rps=$(awk -F'","' '!/^"test"/ && NF > 1 { print $2; exit }' <<<"$out")
        echo "$test $rps $(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')"
    done
}

start_askr-inline() { start_askr inline; }

# warm_up PORT: the tests, pipelined, unrecorded.
warm_up() {
    ((WARMUP > 0)) || return 0
    redis-benchmark -h 127.0.0.1 -p "$1" -t set,get -n "$WARMUP" -c "$CLIENTS" -P "$PIPELINE" -q >/dev/null 2>&1
    redis-benchmark -h 127.0.0.1 -p "$1" -n "$WARMUP" -c "$CLIENTS" -P "$PIPELINE" -q HSET 'bench:__rand_int__' name value >/dev/null 2>&1
}

IFS=, read -r -a SERVERS <<<"$TARGETS"
declare -A RPS=() CPU=()
for ((round = 1; round <= ROUNDS; round++)); do
    for server in "${SERVERS[@]}"; do
        "start_$server"
        pid=$SERVER_PID
        log "round $round/$ROUNDS: $server, warm-up"
        warm_up "$PORT"
        for p in "$PIPELINE" 1; do
            log "round $round/$ROUNDS: $server, -P $p"
            while read -r test rps cpu; do
                [[ $test == error ]] && die "$server answered an error: $rps $cpu"
                RPS[$server,$test,$p]+="$rps "
                CPU[$server,$test,$p]+="$cpu "
            done < <(run_load "$pid" "$PORT" "$p" "$( ((p > 1)) && echo "$PIPELINED_REQUESTS" || echo "$REQUESTS")")
        done
        stop_server "$pid" 5
        BENCH_PIDS=()
    done
done

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

mkdir -p "$RESULTS_DIR"
stamp=$(date +%Y-%m-%dT%H%M%S)
json="$RESULTS_DIR/resp-$stamp.json"
rows=()
printf '\n%-6s %-9s' test pipeline
for server in "${SERVERS[@]}"; do printf ' %14s' "$server"; done
for server in "${SERVERS[@]}"; do [[ $server == redis ]] || printf ' %12s' "$server/redis"; done
for server in "${SERVERS[@]}"; do printf ' %12s' "cpu_us:$server"; done
printf '\n'
for p in "$PIPELINE" 1; do
    for test in SET GET HSET; do
        printf '%-6s %-9s' "$test" "-P $p"
        declare -A M=()
        for server in "${SERVERS[@]}"; do
            M[$server]=$(median <<<"${RPS[$server,$test,$p]:-}")
            printf ' %14s' "${M[$server]:-?}"
        done
        fields="\"test\": \"$test\", \"pipeline\": $p"
        for server in "${SERVERS[@]}"; do
            fields+=", \"${server}_rps\": ${M[$server]:-0}"
            [[ $server == redis ]] && continue
            ratio=$(awk -v a="${M[$server]:-0}" -v r="${M[redis]:-0}" 'BEGIN { printf "%.2f", (r > 0 ? a / r : 0) }')
            printf ' %12s' "$ratio"
            fields+=", \"${server}_ratio\": $ratio"
        done
        for server in "${SERVERS[@]}"; do
            c=$(median <<<"${CPU[$server,$test,$p]:-}")
            printf ' %12s' "${c:-?}"
            fields+=", \"${server}_cpu_us_per_request\": ${c:-0}"
        done
        printf '\n'
        rows+=("{$fields}")
        unset M
    done
done
{
    printf '{"date": "%s", "host": %s, "cpus": %s, "requests": %s, "pipelined_requests": %s, "clients": %s, "rounds": %s, "keyspace": %s, "results": [\n' \
        "$stamp" "$(json_str "$(hostname)")" "$(nproc)" "$REQUESTS" "$PIPELINED_REQUESTS" "$CLIENTS" "$ROUNDS" "$(json_str "${KEYSPACE:-1 key}")"
    (IFS=$'\n'; printf '%s' "${rows[*]}" | sed 's/$/,/; $ s/,$//')
    printf '\n]}\n'
} >"$json"
log "wrote $json"
