# shellcheck shell=bash disable=SC2034  # sets globals (R_*, CPU_SNAP, ...) that the scripts read
# Shared helpers for the bench scripts (sourced, not run).
#
# Process rule: every server a script starts goes through start_server, which runs it in a
# new session (setsid) so that it and everything it forks share one process group that we
# own. stop_all (installed as an EXIT trap by the scripts) stops exactly those groups, plus
# any descendants that left the group, and nothing else.

# Paths and defaults every script shares (ASKR_BINARY and BENCH_RESULTS_DIR are documented in
# each script's header).
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(dirname "$BENCH")
ASKR_BINARY=${ASKR_BINARY:-$REPO/build/askr/askr}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$BENCH/results}

BENCH_PIDS=()          # leaders started by start_server
BENCH_TMP=""           # private temp dir (mktemp -d), removed by stop_all

bench_init_tmp() {
    BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/askr-bench.XXXXXX")
}

# bench_begin: what a measuring script does before it starts a server. Takes
# /tmp/askr-bench.lock (fd 9, held until the script exits: benchmarks of other checkouts wait, so
# two never measure at once), installs stop_all as the EXIT trap (INT and TERM exit through it)
# and makes BENCH_TMP.
bench_begin() {
    exec 9>/tmp/askr-bench.lock
    log "waiting for /tmp/askr-bench.lock"
    flock 9
    trap stop_all EXIT
    trap 'exit 130' INT TERM
    bench_init_tmp
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

die() { log "error: $*"; exit 1; }

need() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' not found (Debian package: $pkg)"
}

# is_alive PID: true if the process exists and is not a zombie.
is_alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ -n $state && $state != Z* ]]
}

# descendants PID: every live descendant of PID, one per line.
descendants() {
    local table
    table=$(ps -e -o pid=,ppid=)
    awk -v root="$1" '
        { parent[$1] = $2; pids[NR] = $1 }
        END {
            found[root] = 1
            do {
                grew = 0
                for (i in pids) { p = pids[i]
                    if (!(p in found) && (parent[p] in found)) { found[p] = 1; grew = 1; print p } }
            } while (grew)
        }' <<<"$table"
}

# start_server LOGFILE CMD [ARGS...]: start CMD in its own session, output to LOGFILE.
# Sets SERVER_PID (= its process group id).
start_server() {
    local logfile=$1; shift
    # Not a group leader (no job control in scripts), so setsid execs in place: $! is the
    # server's pid and its new process group id.
    setsid "$@" >"$logfile" 2>&1 </dev/null &
    SERVER_PID=$!
    BENCH_PIDS+=("$SERVER_PID")
}

# stop_server PID [GRACE_SECONDS]: SIGTERM to the leader (servers stop their own children
# gracefully), wait up to GRACE seconds, then SIGKILL the group and stray descendants.
stop_server() {
    local pid=$1 grace=${2:-10} deadline p left
    is_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    local family
    family=$(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + grace))
    while ((SECONDS < deadline)); do
        left=0
        for p in "$pid" $family; do is_alive "$p" && left=1; done
        ((left)) || break
        sleep 0.1
    done
    if ((left)); then
        log "process $pid (or a child) did not stop within ${grace}s; sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || true
        for p in $family; do is_alive "$p" && kill -KILL "$p" 2>/dev/null; done
    fi
    wait "$pid" 2>/dev/null || true
}

stop_all() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do stop_server "$pid" 5; done
    BENCH_PIDS=()
    if [[ -n $BENCH_TMP && -d $BENCH_TMP ]]; then rm -rf "$BENCH_TMP"; fi
}

# free_port START: the first port >= START with no listener on 127.0.0.1 (or any address).
# Matters for askr, whose SO_REUSEPORT sockets could otherwise share a port with a stranger.
free_port() {
    local p=$1
    while ((p < $1 + 200)); do
        if [[ -z $(ss -Hltn "( sport = :$p )" 2>/dev/null) ]]; then echo "$p"; return 0; fi
        p=$((p + 1))
    done
    return 1
}

# wait_http PID URL EXPECTED_BODY TIMEOUT_SECONDS: poll until URL answers with the body.
wait_http() {
    local pid=$1 url=$2 expected=$3 timeout=$4 deadline body
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        is_alive "$pid" || { log "server (pid $pid) exited while starting"; return 1; }
        body=$(curl -fsS -m 2 "$url" 2>/dev/null) && [[ $body == "$expected" ]] && return 0
        sleep 0.2
    done
    log "no '$expected' from $url within ${timeout}s (last body: '${body:-}')"
    return 1
}

# steal: the machine's steal time so far, in jiffies (8th number of the `cpu` line of /proc/stat:
# time the host gave this VM's CPUs to someone else). Two readings around a measurement say how
# much of it the host took.
steal() { awk '/^cpu /{print $9}' /proc/stat; }

# cpu_busy_pct SECONDS: share of all CPUs busy over the next SECONDS (from /proc/stat),
# used to note what else was running on the machine just before a measurement.
cpu_busy_pct() {
    local a b
    a=$(head -1 /proc/stat); sleep "$1"; b=$(head -1 /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {
        n = split(a, x); split(b, y); tot = 0
        for (i = 2; i <= n; i++) tot += y[i] - x[i]
        idle = (y[5] + y[6]) - (x[5] + x[6])
        printf "%.0f", (tot > 0 ? 100 * (tot - idle) / tot : 0) }'
}

# cpu_snapshot: sets CPU_SNAP to "<all jiffies of all CPUs> <jiffies used by processes outside this
# script's own process tree>". The latter sums utime+stime+cutime+cstime of every process, so a
# short-lived compiler is still counted once its parent reaps it. Not /proc/stat's busy time
# minus ours: softirq time from our own loopback traffic is not attributed to any process.
# Two snapshots around a wrk run give, with other_cpu_pct, the share of the machine that went to
# something else than the measured server and wrk.
cpu_snapshot() {
    local ours
    ours=$( { echo "$$"; descendants "$$"; } | tr '\n' ' ')
    CPU_SNAP=$(
        awk 'NR == 1 { tot = 0; for (i = 2; i <= NF; i++) tot += $i; printf "%d ", tot }' /proc/stat
        cat /proc/[0-9]*/stat 2>/dev/null | awk -v ours="$ours" '
            BEGIN { n = split(ours, o, " "); for (i = 1; i <= n; i++) skip[o[i]] = 1 }
            { pid = $1; if (pid in skip) next
              sub(/^.*\) /, ""); sum += $12 + $13 + $14 + $15 }
            END { printf "%d\n", sum }')
}

# other_cpu_pct SNAPSHOT_BEFORE SNAPSHOT_AFTER: that share, in % of all CPUs.
other_cpu_pct() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        split(a, x); split(b, y); tot = y[1] - x[1]; o = tot > 0 ? 100 * (y[2] - x[2]) / tot : 0
        printf "%.0f", (o < 0 ? 0 : o) }'
}

# parse_result FILE: reads the BENCH_RESULT line written by lib/report.lua or lib/count.lua
# into R_requests, R_rps, R_p50_ms, R_p99_ms, R_non2xx, R_socket_errors. False if absent.
parse_result() {
    local line kv p50_us='' p99_us=''
    line=$(grep -m1 '^BENCH_RESULT ' "$1") || return 1
    R_requests='' R_rps='' R_non2xx='' R_socket_errors=''
    for kv in ${line#BENCH_RESULT }; do
        case ${kv%%=*} in
            requests) R_requests=${kv#*=} ;;
            rps) R_rps=${kv#*=} ;;
            p50_us) p50_us=${kv#*=} ;;
            p99_us) p99_us=${kv#*=} ;;
            non2xx) R_non2xx=${kv#*=} ;;
            socket_errors) R_socket_errors=${kv#*=} ;;
        esac
    done
    [[ -n $R_requests && -n $R_rps && -n $p50_us && -n $p99_us ]] || return 1
    R_p50_ms=$(awk -v u="$p50_us" 'BEGIN { printf "%.3f", u / 1000 }')
    R_p99_ms=$(awk -v u="$p99_us" 'BEGIN { printf "%.3f", u / 1000 }')
}

json_str() {
    local s=$1
    s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/ }
    printf '"%s"' "$s"
}

# The wrk measurement shared by bench/http and bench/laravel. The caller declares the associative
# arrays STATUS RPS P50 P99 NON2XX SOCKERR REQS BUSY OTHER LOAD NOTE and sets THREADS, CONNECTIONS,
# DURATION, WARMUP, QUIET_WAIT, QUIET_PCT and BENCH_TMP.
# measure NAME URL SERVER_PID: warm up, then measure with wrk; fills the result arrays.
# shellcheck disable=SC2004,SC2034  # the arrays are the caller's associative arrays
measure() {
    local name=$1 url=$2 pid=$3 out=$BENCH_TMP/wrk-$1.txt before
    BUSY[$name]=$(cpu_busy_pct 1)
    if ((QUIET_WAIT > 0 && BUSY[$name] > QUIET_PCT)); then
        local until=$((SECONDS + QUIET_WAIT))
        log "$name: CPUs ${BUSY[$name]}% busy; waiting up to ${QUIET_WAIT}s for <= ${QUIET_PCT}%"
        while ((SECONDS < until)); do
            BUSY[$name]=$(cpu_busy_pct 1)
            ((BUSY[$name] <= QUIET_PCT)) && break
        done
    fi
    LOAD[$name]=$(cut -d' ' -f1 /proc/loadavg)
    log "$name: background CPU busy ${BUSY[$name]}% over 1 s while idle (load ${LOAD[$name]}); warm-up ${WARMUP}s"
    if ((WARMUP > 0)); then
        timeout --foreground $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >/dev/null 2>&1 || true
    fi
    log "$name: measuring ${DURATION}s: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency $url"
    cpu_snapshot; before=$CPU_SNAP
    if ! timeout --foreground $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
            -s "$BENCH/lib/report.lua" "$url" >"$out" 2>&1; then
        STATUS[$name]="failed: wrk exited with an error"; sed 's/^/    /' "$out" >&2; return 1
    fi
    cpu_snapshot; OTHER[$name]=$(other_cpu_pct "$before" "$CPU_SNAP")
    log "$name: other processes used ${OTHER[$name]}% of the CPUs during the measurement"
    sed -e '/^BENCH_RESULT/d' -e 's/^/    /' "$out" >&2
    parse_result "$out" || { STATUS[$name]="failed: no result from wrk"; return 1; }
    is_alive "$pid" || { STATUS[$name]="failed: server exited during the run"; return 1; }
    RPS[$name]=$R_rps P50[$name]=$R_p50_ms P99[$name]=$R_p99_ms
    NON2XX[$name]=$R_non2xx SOCKERR[$name]=$R_socket_errors REQS[$name]=$R_requests
    STATUS[$name]=ok
    if ((R_non2xx > 0 || R_socket_errors > 0)); then
        NOTE[$name]="$R_non2xx non-2xx responses, $R_socket_errors socket errors"
        log "$name: WARNING ${NOTE[$name]}"
    fi
}

# shellcheck disable=SC2004  # STATUS is the caller's associative array
startup_failed() {
    local name=$1 logfile=$2
    STATUS[$name]="failed: did not start (see log tail above)"
    log "$name: did not come up; last lines of its output:"
    tail -n 30 "$logfile" | cut -c1-400 | sed 's/^/    /' >&2
}
