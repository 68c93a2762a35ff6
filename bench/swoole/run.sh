#!/usr/bin/env bash
# askr against Swoole + Octane on the same Laravel app, in one run (issue 18). The example app
# (examples/laravel: array sessions, config and route cache, APP_ENV=production, prepared by
# lib/laravel-app.sh exactly as bench/laravel does) is served by
#   swoole  php -d extension=$SWOOLE_SO artisan octane:start --server=swoole
#   askr    php artisan octane:start --server=askr
# both with --workers=W, and measured in rounds; in every round each phase runs once per server,
# back to back (the order of the servers alternates from round to round), each on a fresh server:
#   json500     GET /json (the web middleware group), wrk -c64, --max-requests=500, task workers 0
#   json0       the same with recycling off (--max-requests=0), then memory: the RSS and PSS
#               (/proc/PID/smaps_rollup) of every process of the server after at least
#               BENCH_MEMORY_REQUESTS requests in all (the measurement's, topped up by a counted wrk run)
#   tasks       Octane::concurrently() of 3 trivial closures (p50, p99) and of 3 closures that
#               sleep 100 ms, timed in PHP by the route (lib/concurrently-client.php, the same routes
#               as bench/tasks), --task-workers=BENCH_TASK_WORKERS, one request at a time
# The steal counter (8th number of `cpu` in /proc/stat, jiffies) is read around every measurement.
# Prints every round's figures with the ratio askr/Swoole and its steal, and writes them to
# bench/results/swoole-<date>.json. See docs/benchmarks-swoole.md.
#
# Octane's table get/set/incr is measured by bench/tables/run.sh; BENCH_TABLES=1 runs it after
# this script's rounds, with SWOOLE_SO in its environment.
#
# Swoole: SWOOLE_SO (a built swoole.so) or, if unset, ~/.cache/askr/swoole-5.1.8/modules/swoole.so
# when it exists, else a build from SWOOLE_SRC by bench/swoole/build.sh. With none of them the
# script is skipped (exit 2) with a message. swoole.so is only ever loaded with php -d extension=
# into the swoole server's PHP, never into askr's embedded PHP.
#
# Environment (all optional):
#   SWOOLE_SO / SWOOLE_SRC   see above
#   ASKR_BINARY              askr executable (default: <repo>/build/askr/askr; copied aside first)
#   OCTANE_PATH              laravel/octane source (default: ~/.cache/askr/octane-1.5.6); it must
#                            carry bin/swoole-server (an export of the whole package, not only src/)
#   BENCH_WORKERS            HTTP workers W for both (default 2)
#   BENCH_ROUNDS             rounds (default 3)
#   BENCH_PHASES             comma subset of json500,json0,tasks (default: all)
#   BENCH_THREADS            wrk threads (default 2)
#   BENCH_CONNECTIONS        wrk connections (default 64)
#   BENCH_DURATION           seconds measured per /json measurement (default 10)
#   BENCH_WARMUP             seconds of unrecorded load before it (default 3)
#   BENCH_MEMORY_REQUESTS    requests served before the memory reading, in all (default 100000;
#                            0: no memory reading)
#   BENCH_TASK_WORKERS       task workers in the tasks phase (default 3)
#   BENCH_TASK_REQUESTS      measured trivial concurrently() requests (default 1000; sleep100: a tenth)
#   BENCH_TASK_WARMUP        warm-up requests before them (default 300)
#   BENCH_SESSION_DRIVER     SESSION_DRIVER for both (default array)
#   BENCH_SWOOLE_OPCACHE     1: Swoole's PHP runs with opcache.enable_cli=1 (default), as askr's
#                            embedded PHP always does (native/shim/sapi.c); 0: php's CLI default
#                            (Debian: opcache.enable_cli=Off, so every Swoole worker compiles the app
#                            into its own heap and runs without OPcache)
#   BENCH_TABLES             1: run bench/tables/run.sh afterwards (default 0)
#   BENCH_ASKR_VARIANTS      more askr servers measured in the same rounds, each with extra
#                            environment variables: ';' between variants, ' ' between NAME=VALUE
#                            (e.g. 'DOTNET_GCgen0size=0x400000;DOTNET_TieredCompilation=0'), shown as
#                            askr1, askr2, ... (default: none). For tuning: nothing is changed otherwise.
#   BENCH_QUIET_WAIT         before each /json measurement, wait up to this many seconds until the
#                            CPUs are at most BENCH_QUIET_PCT % busy (default 0: no wait; PCT default 10)
#   BENCH_PORT               first port tried on 127.0.0.1 (default 18580)
#   BENCH_RESULTS_DIR        where the JSON goes (default: <repo>/bench/results)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"
# shellcheck source=../lib/laravel-app.sh
source "$BENCH/lib/laravel-app.sh"
APP=$REPO/examples/laravel

OCTANE_PATH=${OCTANE_PATH:-$HOME/.cache/askr/octane-1.5.6}
W=${BENCH_WORKERS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
PHASES=${BENCH_PHASES:-json500,json0,tasks}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
MEMORY_REQUESTS=${BENCH_MEMORY_REQUESTS:-100000}
TASK_WORKERS=${BENCH_TASK_WORKERS:-3}
TASK_REQUESTS=${BENCH_TASK_REQUESTS:-1000}
TASK_WARMUP=${BENCH_TASK_WARMUP:-300}
SESSION_DRIVER_OVERRIDE=${BENCH_SESSION_DRIVER:-array}
RUN_TABLES=${BENCH_TABLES:-0}
SWOOLE_OPCACHE=${BENCH_SWOOLE_OPCACHE:-1}
PORT_BASE=${BENCH_PORT:-18580}
LARAVEL_CACHE=1
QUIET_WAIT=${BENCH_QUIET_WAIT:-0} QUIET_PCT=${BENCH_QUIET_PCT:-10}   # for lib/common.sh's measure()
STARTUP_TIMEOUT=60
URL_PATH=/json
EXPECTED='{"hello":"world"}'
SERVERS=(swoole askr)
declare -A VARIANT_ENV   # askrN -> "NAME=VALUE ..."
if [[ -n ${BENCH_ASKR_VARIANTS:-} ]]; then
    IFS=';' read -r -a variants <<<"$BENCH_ASKR_VARIANTS"
    for i in "${!variants[@]}"; do
        for kv in ${variants[$i]}; do [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*=.*$ ]] || die "BENCH_ASKR_VARIANTS: '$kv' is not NAME=VALUE"; done
        SERVERS+=("askr$((i + 1))"); VARIANT_ENV[askr$((i + 1))]=${variants[$i]}
    done
fi

for v in QUIET_WAIT QUIET_PCT W ROUNDS THREADS CONNECTIONS DURATION WARMUP MEMORY_REQUESTS TASK_WORKERS TASK_REQUESTS TASK_WARMUP PORT_BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done
((W >= 1 && ROUNDS >= 1 && TASK_WORKERS >= 1 && TASK_REQUESTS >= 1)) || die "BENCH_WORKERS, BENCH_ROUNDS, BENCH_TASK_WORKERS and BENCH_TASK_REQUESTS must be at least 1"
[[ $SWOOLE_OPCACHE == 0 || $SWOOLE_OPCACHE == 1 ]] || die "BENCH_SWOOLE_OPCACHE must be 0 or 1"
[[ $SESSION_DRIVER_OVERRIDE =~ ^(file|array|cookie)$ ]] || die "BENCH_SESSION_DRIVER must be file, array or cookie (got '$SESSION_DRIVER_OVERRIDE')"
IFS=, read -r -a phase_list <<<"$PHASES"
for p in "${phase_list[@]}"; do [[ $p =~ ^(json500|json0|tasks)$ ]] || die "unknown phase '$p' (json500, json0, tasks)"; done
want_phase() { [[ ",$PHASES," == *",$1,"* ]]; }

need wrk wrk
need curl curl
need ss iproute2
need setsid util-linux
need php php8.2-cli

# --- Swoole, Octane, askr ---------------------------------------------------------------------

if [[ -z ${SWOOLE_SO:-} ]]; then
    if [[ -f $HOME/.cache/askr/swoole-5.1.8/modules/swoole.so ]]; then
        SWOOLE_SO=$HOME/.cache/askr/swoole-5.1.8/modules/swoole.so
    elif [[ -n ${SWOOLE_SRC:-} ]]; then
        SWOOLE_SO=$("$HERE/build.sh" | tail -n 1) || { rc=$?; ((rc == 2)) && exit 2; die "bench/swoole/build.sh failed"; }
    else
        log "SKIPPED: no Swoole: set SWOOLE_SO to a built swoole.so, or SWOOLE_SRC to a Swoole source tree"
        log "         (bench/swoole/build.sh builds it; see its header)"
        exit 2
    fi
fi
[[ -f $SWOOLE_SO ]] || die "SWOOLE_SO=$SWOOLE_SO does not exist"
SWOOLE_VERSION=$(php -d extension="$SWOOLE_SO" -r 'echo phpversion("swoole") ?: "";' 2>/dev/null) || true
[[ -n $SWOOLE_VERSION ]] || die "$SWOOLE_SO does not load into $(command -v php)"
php -r 'exit(extension_loaded("swoole") ? 1 : 0);' ||
    die "the php CLI loads swoole without -d extension= (an ini file enables it): askr's PHP must not have it; disable it there"

laravel_app_require_octane
[[ -f $OCTANE_PATH/bin/swoole-server ]] || die "OCTANE_PATH=$OCTANE_PATH has no bin/swoole-server (export the whole laravel/octane package)"

[[ -x $ASKR_BINARY ]] || { log "error: no askr binary at $ASKR_BINARY: build it with scripts/setup.sh, or set ASKR_BINARY"; exit 2; }

trap stop_all EXIT
trap 'exit 130' INT TERM
bench_init_tmp

# A private copy: other people's rebuilds of build/askr/ must not change the binary mid-run.
ASKR_SOURCE=$ASKR_BINARY
cp -a "$(dirname "$ASKR_BINARY")" "$BENCH_TMP/askr-bin"
ASKR_BINARY=$BENCH_TMP/askr-bin/$(basename "$ASKR_BINARY")
export ASKR_BINARY

# Octane's swoole command starts bin/swoole-server with octane.swoole.php_options: the extension.
SWOOLE_PHP_OPTIONS=(-d "extension=$SWOOLE_SO")
if ((SWOOLE_OPCACHE)); then
    SWOOLE_PHP_OPTIONS+=(-d opcache.enable_cli=1)
    php "${SWOOLE_PHP_OPTIONS[@]}" -r 'exit(function_exists("opcache_get_status") && (opcache_get_status(false)["opcache_enabled"] ?? false) ? 0 : 1);' ||
        die "OPcache does not come up in php ${SWOOLE_PHP_OPTIONS[*]} (Debian package: php8.2-opcache); BENCH_SWOOLE_OPCACHE=0 measures Swoole without it"
fi
laravel_app_prepare
STATE_FILE=$LARAVEL_TMP/octane-server-state.json

# --- Servers -----------------------------------------------------------------------------------

# start_octane SERVER MAX_REQUESTS TASK_WORKERS LOGFILE: octane:start on a free port; sets
# SERVER_PID and BASE (http://127.0.0.1:PORT). False (log tail shown) if it did not come up.
start_octane() {
    local server=$1 max=$2 tasks=$3 logfile=$4 port admin
    port=$(free_port "$PORT_BASE") || { log "no free port"; return 1; }
    rm -f "$STATE_FILE"   # Octane refuses to start over a state file naming a live pid
    case $server in
        swoole)
            start_server "$logfile" env -C "$APP" "${APP_ENV_VARS[@]}" \
                php -d extension="$SWOOLE_SO" artisan octane:start --server=swoole --host=127.0.0.1 --port="$port" \
                --workers="$W" --task-workers="$tasks" --max-requests="$max" ;;
        askr*)
            local extra=()
            read -r -a extra <<<"${VARIANT_ENV[$server]:-}"
            admin=$(free_port $((port + 1))) || { log "no free admin port"; return 1; }
            start_server "$logfile" env -C "$APP" "${APP_ENV_VARS[@]}" ASKR_BINARY="$ASKR_BINARY" ${extra[@]+"${extra[@]}"} \
                php artisan octane:start --server=askr --host=127.0.0.1 --port="$port" --admin-port="$admin" \
                --workers="$W" --task-workers="$tasks" --max-requests="$max" ;;
    esac
    BASE=http://127.0.0.1:$port
    if ! wait_http "$SERVER_PID" "$BASE$URL_PATH" "$EXPECTED" "$STARTUP_TIMEOUT"; then
        log "$server did not come up; last lines of its output:"
        tail -n 30 "$logfile" | cut -c1-400 | sed 's/^/    /' >&2
        stop_server "$SERVER_PID" 15
        return 1
    fi
    # The web group ran: session and XSRF cookies are set.
    local headers
    headers=$(curl -fsS -m 5 -D - -o /dev/null "$BASE$URL_PATH" 2>&1) || true
    if ! grep -qi '^set-cookie: XSRF-TOKEN=' <<<"$headers"; then
        log "$server: $URL_PATH answered without the XSRF cookie of the web group:"; sed 's/^/    /' <<<"$headers" >&2
        stop_server "$SERVER_PID" 15
        return 1
    fi
}

# processes_memory PID: one line per process of the server (PID and its descendants):
# "pid rss_kib pss_kib name", from /proc/PID/smaps_rollup (name: the first 60 characters of its command line).
processes_memory() {
    local p rss pss name
    for p in "$1" $(descendants "$1"); do
        read -r rss pss < <(awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { print r + 0, p + 0 }' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
        ((rss > 0)) || continue
        name=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60)
        printf '%s %s %s %s\n' "$p" "$rss" "$pss" "${name:-?}"
    done
}

# count_requests URL N OUT: N more requests with wrk (lib/count.lua), at most 600 s.
count_requests() {
    local url=$1 n=$2 out=$3 done_dir pid rc=0
    done_dir=$(mktemp -d "$BENCH_TMP/count.XXXXXX")
    BENCH_REQUESTS=$n BENCH_THREADS=$THREADS BENCH_DONE_DIR=$done_dir \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d600s -s "$BENCH/lib/count.lua" "$url" >"$out" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if (($(find "$done_dir" -name 'done-*' | wc -l) >= THREADS)); then kill -INT "$pid" 2>/dev/null || true; break; fi
        sleep 0.2
    done
    wait "$pid" || rc=$?
    ((rc == 0)) && parse_result "$out"
}

declare -A STATUS RPS P50 P99 NON2XX SOCKERR REQS BUSY OTHER LOAD NOTE   # measure()'s results
declare -A R   # R[phase:server:round:field]

# run_phase PHASE SERVER ROUND: one measurement on a fresh server; fills R.
run_phase() {
    local phase=$1 s=$2 r=$3 key="$1:$2:$3" max=0 tasks=0 logfile s0 line kv
    case $phase in json500) max=500 ;; tasks) tasks=$TASK_WORKERS ;; esac
    logfile=$BENCH_TMP/$phase-$s-$r.log
    R[$key:status]="failed: did not start"
    start_octane "$s" "$max" "$tasks" "$logfile" || return 0
    local pid=$SERVER_PID
    log "$phase/$s round $r: octane:start --server=$s --workers=$W --task-workers=$tasks --max-requests=$max, $BASE"
    s0=$(steal)
    if [[ $phase == tasks ]]; then
        if line=$(php "$BENCH/lib/concurrently-client.php" "$BASE" "$TASK_REQUESTS" "$TASK_WARMUP"); then
            for kv in ${line#BENCH_TASKS }; do R[$key:${kv%%=*}]=${kv#*=}; done
            R[$key:status]=ok
        else
            R[$key:status]="failed: concurrently client"
        fi
        R[$key:steal]=$(($(steal) - s0))
    else
        for f in STATUS RPS P50 P99 NOTE; do unset "${f}[$s]"; done
        measure "$s" "$BASE$URL_PATH" "$pid" || true
        R[$key:steal]=$(($(steal) - s0))
        R[$key:status]=${STATUS[$s]:-failed}
        R[$key:rps]=${RPS[$s]:-} R[$key:p50]=${P50[$s]:-} R[$key:p99]=${P99[$s]:-}
        R[$key:note]=${NOTE[$s]:-} R[$key:other]=${OTHER[$s]:-}
        if [[ $phase == json0 && ${R[$key:status]} == ok ]] && ((MEMORY_REQUESTS > 0)); then
            local more=$((MEMORY_REQUESTS - ${REQS[$s]:-0}))
            s0=$(steal)
            if ((more > 0)); then
                log "$phase/$s round $r: $more more requests before the memory reading"
                count_requests "$BASE$URL_PATH" "$more" "$BENCH_TMP/count-$s-$r.txt" || R[$key:note]+=" memory top-up failed"
            fi
            R[$key:mem_steal]=$(($(steal) - s0))
            processes_memory "$pid" >"$BENCH_TMP/mem-$s-$r.txt"
            sed 's/^/    /' "$BENCH_TMP/mem-$s-$r.txt" >&2
            # Totals over all processes; a worker is a process whose command line says worker but not task.
            read -r R[$key:rss] R[$key:pss] R[$key:nproc] R[$key:wrss_min] R[$key:wrss_max] R[$key:wpss_max] < <(awk '
                { rss += $2; pss += $3; n++
                  name = tolower(substr($0, index($0, $4)))
                  if (name ~ /worker/ && name !~ /task/) { w = 1; if (!wmin || $2 < wmin) wmin = $2; if ($2 > wmax) wmax = $2; if ($3 > wpmax) wpmax = $3 } }
                END { printf "%d %d %d %d %d %d\n", rss, pss, n, wmin, wmax, wpmax }' "$BENCH_TMP/mem-$s-$r.txt")
            cp "$BENCH_TMP/mem-$s-$r.txt" "$BENCH_TMP/keep-mem-$s-$r.txt"
        fi
    fi
    is_alive "$pid" || R[$key:status]="failed: server exited during the run"
    stop_server "$pid" 20
    if grep -Eiq 'fatal|segfault|exception' "$logfile"; then
        log "$phase/$s round $r: its output mentions errors:"; grep -Ei 'fatal|segfault|exception' "$logfile" | head -n 5 | cut -c1-300 | sed 's/^/    /' >&2
        R[$key:note]+=" output mentions errors"
    fi
    log "$phase/$s round $r: ${R[$key:status]}, steal ${R[$key:steal]} jiffies"
}

STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "swoole bench: Swoole $SWOOLE_VERSION ($SWOOLE_SO) vs askr ($ASKR_SOURCE), W=$W, $ROUNDS round(s), phases $PHASES"
for ((round = 1; round <= ROUNDS; round++)); do
    order=("${SERVERS[@]}")
    if ((round % 2 == 0)); then order=(); for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do order+=("${SERVERS[$i]}"); done; fi
    for phase in "${phase_list[@]}"; do
        for s in "${order[@]}"; do run_phase "$phase" "$s" "$round"; done
    done
done

# --- Report --------------------------------------------------------------------------------------

val() { echo "${R[$1:$2:$3:$4]:-}"; }
ok() { [[ $(val "$1" "$2" "$3" status) == ok ]]; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2f", a / b; else printf "-" }'; }
mib() { awk -v k="$1" 'BEGIN { if (k != "") printf "%.1f", k / 1024; else printf "-" }'; }

# row LABEL PHASE FIELD FORMAT_FN: one line per round: each server's figure, each askr's / Swoole's,
# and the steal (jiffies) during each server's measurement, in the order of the header.
row() {
    local label=$1 phase=$2 field=$3 fmt=$4 r s v sw line steals stf=steal
    [[ $field == *rss* || $field == *pss* ]] && stf=mem_steal
    for ((r = 1; r <= ROUNDS; r++)); do
        line=$(printf '%-34s %2d' "$label" "$r"); steals=''
        sw=''; ok "$phase" swoole "$r" && sw=$(val "$phase" swoole "$r" "$field")
        for s in "${SERVERS[@]}"; do
            v=''; ok "$phase" "$s" "$r" && v=$(val "$phase" "$s" "$r" "$field")
            line+=$(printf ' %10s' "$( [[ -n $v ]] && $fmt <<<"$v" || echo -)")
            steals+="${steals:+/}$(val "$phase" "$s" "$r" "$stf")"
        done
        for s in "${SERVERS[@]:1}"; do
            v=''; ok "$phase" "$s" "$r" && v=$(val "$phase" "$s" "$r" "$field")
            line+=$(printf ' %9s' "$(div "$v" "$sw")")
        done
        printf '%s  %s\n' "$line" "$steals"
    done
}
header() {
    local s line
    line=$(printf '%-34s %2s' measure rd)
    for s in "${SERVERS[@]}"; do line+=$(printf ' %10s' "$s"); done
    for s in "${SERVERS[@]:1}"; do line+=$(printf ' %9s' "$s/sw"); done
    printf '%s  steal %s\n' "$line" "$(IFS=/; echo "${SERVERS[*]}")"
}
rps_fmt() { awk '{ printf "%.0f", $1 }'; }
ms_fmt() { awk '{ printf "%.2f", $1 }'; }
mib_fmt() { awk '{ printf "%.1f", $1 / 1024 }'; }

{
    echo
    header
    if want_phase json500; then
        row "/json req/s, max-requests=500" json500 rps rps_fmt
        row "/json p50 ms, max-requests=500" json500 p50 ms_fmt
        row "/json p99 ms, max-requests=500" json500 p99 ms_fmt
    fi
    if want_phase json0; then
        row "/json req/s, recycling off" json0 rps rps_fmt
        row "/json p50 ms, recycling off" json0 p50 ms_fmt
        row "/json p99 ms, recycling off" json0 p99 ms_fmt
        if ((MEMORY_REQUESTS > 0)); then
            row "RSS all processes MiB" json0 rss mib_fmt
            row "PSS all processes MiB" json0 pss mib_fmt
            row "RSS largest worker MiB" json0 wrss_max mib_fmt
            row "PSS largest worker MiB" json0 wpss_max mib_fmt
        fi
    fi
    if want_phase tasks; then
        row "concurrently 3 trivial p50 ms" tasks trivial_p50_ms ms_fmt
        row "concurrently 3 trivial p99 ms" tasks trivial_p99_ms ms_fmt
        row "concurrently 3 x 100 ms p50 ms" tasks sleep100_p50_ms ms_fmt
        row "concurrently 3 x 100 ms p99 ms" tasks sleep100_p99_ms ms_fmt
    fi
    echo "(W=$W; wrk -t$THREADS -c$CONNECTIONS ${WARMUP}s warm-up + ${DURATION}s; memory after >= $MEMORY_REQUESTS requests with recycling off;"
    echo " Swoole's PHP: ${SWOOLE_PHP_OPTIONS[*]} (OPcache $( ((SWOOLE_OPCACHE)) && echo on || echo off); askr's embedded PHP: OPcache on);"
    echo " tasks: $TASK_WORKERS task workers, $TASK_REQUESTS trivial requests after $TASK_WARMUP warm-up, one at a time;"
    echo " steal: jiffies of steal during each server's measurement in that round (memory rows: during the top-up);"
    for s in "${SERVERS[@]}"; do if [[ -n ${VARIANT_ENV[$s]:-} ]]; then echo " $s: askr with ${VARIANT_ENV[$s]}"; fi; done
    echo " $(nproc) cores shared with other jobs: compare within a round, not across runs)"
    for ((r = 1; r <= ROUNDS; r++)); do for p in "${phase_list[@]}"; do for s in "${SERVERS[@]}"; do
        st=$(val "$p" "$s" "$r" status); nt=$(val "$p" "$s" "$r" note)
        [[ $st == ok && -z ${nt// /} ]] || echo "round $r $p $s: $st${nt:+ ($nt)}"
    done; done; done
    if want_phase json0 && ((MEMORY_REQUESTS > 0)); then
        echo; echo "processes (pid RSS KiB PSS KiB command line), round 1:"
        for s in "${SERVERS[@]}"; do
            [[ ! -f $BENCH_TMP/keep-mem-$s-1.txt ]] || sed "s/^/  $s: /" "$BENCH_TMP/keep-mem-$s-1.txt"
        done
    fi
}

mkdir -p "$RESULTS_DIR"
RESULT_FILE=$RESULTS_DIR/swoole-$(date +%Y-%m-%dT%H%M%S).json
{
    printf '{\n  "benchmark": "swoole-vs-askr",\n  "started": %s,\n  "finished": %s,\n' "$(json_str "$STARTED")" "$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
    printf '  "machine": {"cores": %d, "loadavg_at_end": %s},\n' "$(nproc)" "$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)")"
    printf '  "git_commit": %s, "swoole": %s, "askr_binary": %s,\n' "$(json_str "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)")" \
        "$(json_str "$SWOOLE_VERSION")" "$(json_str "$ASKR_SOURCE")"
    printf '  "params": {"workers": %d, "rounds": %d, "wrk_threads": %d, "connections": %d, "duration_s": %d, "warmup_s": %d, "memory_requests": %d, "task_workers": %d, "task_requests": %d, "session_driver": %s, "swoole_opcache": %s, "askr_variants": %s},\n' \
        "$W" "$ROUNDS" "$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP" "$MEMORY_REQUESTS" "$TASK_WORKERS" "$TASK_REQUESTS" "$(json_str "$SESSION_DRIVER")" \
        "$( ((SWOOLE_OPCACHE)) && echo true || echo false)" "$(json_str "${BENCH_ASKR_VARIANTS:-}")"
    printf '  "rounds": ['
    sep=''
    for key in $(printf '%s\n' "${!R[@]}" | sort); do
        printf '%s\n    {"key": %s, "value": %s}' "$sep" "$(json_str "${key}")" "$(json_str "${R[$key]}")"
        sep=','
    done
    printf '\n  ]\n}\n'
} >"$RESULT_FILE"
echo "results: $RESULT_FILE"

if ((RUN_TABLES)); then
    log "BENCH_TABLES=1: bench/tables/run.sh"
    SWOOLE_SO=$SWOOLE_SO "$BENCH/tables/run.sh" || log "bench/tables/run.sh failed (exit $?)"
fi
