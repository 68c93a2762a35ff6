#!/usr/bin/env bash
# Hello-world over HTTP, three servers measured one after another with the same wrk load:
#   fpm      nginx + php-fpm 8.2 (pm=static, W children, OPcache on, no timestamp checks) -> hello.php
#   askr     askr serve --workers W                                                     -> hello-worker.php
#   kestrel  bare Kestrel hello-world (bench/KestrelHello), the ceiling for askr's HTTP path
#   askr-tls askr serve --https-port with its development certificate, wrk over TLS (HTTP/1.1);
#            opt-in (BENCH_TARGETS=askr,askr-tls): prints askr TLS / askr plain
# Prints a table and the ratios askr/php-fpm (target >= 4) and askr/Kestrel (target >= 0.8),
# and writes the same as JSON to bench/results/http-<date>.json. See bench/README.md.
#
# Environment (all optional):
#   ASKR_BINARY          askr executable (default: <repo>/build/askr/askr; skipped if missing)
#   BENCH_WORKERS        PHP workers W for askr and php-fpm (default: nproc)
#   BENCH_THREADS        wrk threads (default 2)
#   BENCH_CONNECTIONS    wrk connections (default 64)
#   BENCH_DURATION       seconds measured per server (default 10)
#   BENCH_WARMUP         seconds of unrecorded load before each measurement (default 3)
#   BENCH_ROUNDS         rounds over all servers; each server's median round is reported (default 1)
#   BENCH_QUIET_WAIT     on a shared machine: before each measurement, wait up to this many seconds
#                        until the CPUs are at most BENCH_QUIET_PCT % busy (default 10) (default 0: no wait)
#   BENCH_PORT           first port tried on 127.0.0.1 (default 18080)
#   BENCH_TARGETS        comma-separated subset of fpm,askr,kestrel,askr-log (default: fpm,askr,kestrel);
#                        askr-log is askr with its access log on (text lines to a file, the default a
#                        user runs): askr-log / askr is the log path's cost (target: within 10 %)
#   BENCH_RESULTS_DIR    where the JSON goes (default: <repo>/bench/results)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"
# shellcheck source=../lib/fpm.sh
source "$BENCH/lib/fpm.sh"

WORKERS=${BENCH_WORKERS:-$(nproc)}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
ROUNDS=${BENCH_ROUNDS:-1}
QUIET_WAIT=${BENCH_QUIET_WAIT:-0}
QUIET_PCT=${BENCH_QUIET_PCT:-10}
PORT_BASE=${BENCH_PORT:-18080}
TARGETS=${BENCH_TARGETS:-fpm,askr,kestrel}
STARTUP_TIMEOUT=30
EXPECTED='Hello, World!'

for v in WORKERS THREADS CONNECTIONS DURATION WARMUP ROUNDS QUIET_WAIT QUIET_PCT PORT_BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done

need wrk wrk
need curl curl
need ss iproute2
need setsid util-linux

trap stop_all EXIT
trap 'exit 130' INT TERM
bench_init_tmp

declare -A STATUS RPS P50 P99 NON2XX SOCKERR REQS BUSY OTHER LOAD NOTE


run_fpm() {
    need nginx nginx
    need php-fpm8.2 php8.2-fpm
    local dir=$BENCH_TMP/fpm port
    mkdir -p "$dir"
    port=$(free_port "$PORT_BASE") || { STATUS[fpm]="failed: no free port"; return 1; }
    fpm_conf "$dir" "$WORKERS"
    {
        nginx_conf_head "$dir" 'default_type text/plain;'
        cat <<EOF
    server {
        listen 127.0.0.1:$port backlog=4096;
        root $HERE;
        location = /opcache-check.php {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $HERE/opcache-check.php;
            fastcgi_pass unix:$dir/php-fpm.sock;
        }
        location / {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $HERE/hello.php;
            fastcgi_pass unix:$dir/php-fpm.sock;
        }
    }
}
EOF
    } >"$dir/nginx.conf"
    fpm_nginx_start "$dir" "http://127.0.0.1:$port/" "$EXPECTED" "http://127.0.0.1:$port/opcache-check.php" || return 1
    log "fpm: $(fpm_versions), $WORKERS children, OPcache on, port $port"
    measure fpm "http://127.0.0.1:$port/" "$NGINX_PID" || true
    is_alive "$FPM_PID" || STATUS[fpm]="failed: php-fpm exited during the run"
    fpm_nginx_stop
}

run_askr() { # run_askr [askr-log]: the target name; askr-log keeps the access log on
    local target=${1:-askr} log_flag=--no-access-log
    [[ $target == askr-log ]] && log_flag=
    if [[ ! -x $ASKR_BINARY ]]; then
        STATUS[$target]="skipped: no askr binary at $ASKR_BINARY (build it with scripts/setup.sh, or set ASKR_BINARY)"
        log "$target: SKIPPED, ${STATUS[$target]#skipped: }"
        return 0
    fi
    local dir=$BENCH_TMP/$target port
    mkdir -p "$dir"
    port=$(free_port "$PORT_BASE") || { STATUS[$target]="failed: no free port"; return 1; }
    # shellcheck disable=SC2086  # $log_flag is empty or one word
    start_server "$dir/askr.out" "$ASKR_BINARY" serve --root "$HERE" --worker-script "$HERE/hello-worker.php" \
        --workers "$WORKERS" --host 127.0.0.1 --port "$port" $log_flag
    local pid=$SERVER_PID
    if ! wait_http "$pid" "http://127.0.0.1:$port/" "$EXPECTED" "$STARTUP_TIMEOUT"; then
        startup_failed "$target" "$dir/askr.out"; stop_server "$pid"; return 1
    fi
    log "$target: $ASKR_BINARY, $WORKERS workers, port $port${log_flag:+, no access log}"
    measure "$target" "http://127.0.0.1:$port/" "$pid" || true
    stop_server "$pid" 15
    # A clean run prints nothing alarming; show anything that looks like trouble.
    if grep -Eiq 'error|fatal|exception|warn|crash|segfault|restart' "$dir/askr.out"; then
        log "$target: its output mentions errors/warnings; first matching lines:"
        grep -Ei 'error|fatal|exception|warn|crash|segfault|restart' "$dir/askr.out" | head -n 20 | sed 's/^/    /' >&2
        NOTE[$target]="${NOTE[$target]:+${NOTE[$target]}; }askr output mentions errors/warnings (see run log)"
    fi
}

run_askr_tls() {
    if [[ ! -x $ASKR_BINARY ]]; then
        STATUS[askr-tls]="skipped: no askr binary at $ASKR_BINARY"
        return 0
    fi
    local dir=$BENCH_TMP/askr-tls port https
    mkdir -p "$dir/cache"
    port=$(free_port "$PORT_BASE") || { STATUS[askr-tls]="failed: no free port"; return 1; }
    https=$(free_port $((port + 1))) || { STATUS[askr-tls]="failed: no free port"; return 1; }
    # The development certificate goes to this run's temp dir; curl checks it against itself.
    start_server "$dir/askr.out" env XDG_CACHE_HOME="$dir/cache" "$ASKR_BINARY" serve --root "$HERE" \
        --worker-script "$HERE/hello-worker.php" --workers "$WORKERS" --host 127.0.0.1 --port "$port" \
        --https-port "$https" --https-dev --no-access-log
    local pid=$SERVER_PID
    if ! CURL_CA_BUNDLE="$dir/cache/askr/dev-certificate/certificate.pem" wait_http "$pid" "https://127.0.0.1:$https/" "$EXPECTED" "$STARTUP_TIMEOUT"; then
        startup_failed askr-tls "$dir/askr.out"; stop_server "$pid"; return 1
    fi
    log "askr-tls: $ASKR_BINARY, $WORKERS workers, HTTPS port $https (wrk: HTTP/1.1 over TLS, keep-alive)"
    measure askr-tls "https://127.0.0.1:$https/" "$pid" || true
    stop_server "$pid" 15
}

run_kestrel() {
    need dotnet dotnet-sdk-10.0
    local dir=$BENCH_TMP/kestrel out=$BENCH/build/KestrelHello port
    mkdir -p "$dir"
    if [[ -z ${KESTREL_BUILT:-} ]]; then
    log "kestrel: dotnet build -c Release bench/KestrelHello"
    if ! dotnet build -c Release -nologo -v quiet -o "$out" "$BENCH/KestrelHello/KestrelHello.csproj" >"$dir/build.out" 2>&1; then
        startup_failed kestrel "$dir/build.out"; STATUS[kestrel]="failed: build failed"; return 1
    fi
    KESTREL_BUILT=1
    fi
    port=$(free_port "$PORT_BASE") || { STATUS[kestrel]="failed: no free port"; return 1; }
    start_server "$dir/kestrel.out" "$out/KestrelHello" "$port"
    local pid=$SERVER_PID
    if ! wait_http "$pid" "http://127.0.0.1:$port/" "$EXPECTED" "$STARTUP_TIMEOUT"; then
        startup_failed kestrel "$dir/kestrel.out"; stop_server "$pid"; return 1
    fi
    log "kestrel: bench/KestrelHello (.NET $(dotnet --list-runtimes | awk '/AspNetCore/{v=$2} END{print v}')), port $port"
    measure kestrel "http://127.0.0.1:$port/" "$pid" || true
    stop_server "$pid"
}

ratio() { # ratio A B: A/B to two decimals, or empty if either is missing
    [[ ${STATUS[$1]:-} == ok && ${STATUS[$2]:-} == ok ]] || return 0
    awk -v a="${RPS[$1]}" -v b="${RPS[$2]}" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
}
verdict() { # verdict RATIO TARGET
    [[ -n $1 ]] || { echo "n/a"; return; }
    awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "meets" : "BELOW") " target >= " t }'
}

STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "http bench: W=$WORKERS workers, wrk -t$THREADS -c$CONNECTIONS, ${WARMUP}s warm-up + ${DURATION}s per server, targets: $TARGETS"
IFS=, read -r -a target_list <<<"$TARGETS"
for t in "${target_list[@]}"; do
    [[ $t == fpm || $t == askr || $t == kestrel || $t == askr-log || $t == askr-tls ]] || die "unknown target '$t' (fpm, askr, kestrel, askr-log, askr-tls)"
done

# Rounds go round-robin over the servers (each started afresh), so that a burst of load from
# elsewhere on the machine does not land on one server only; each server's figures are those
# of its median round by req/s.
FIELDS=(STATUS RPS P50 P99 NON2XX SOCKERR REQS BUSY OTHER NOTE)
declare -A ROUND
for ((round = 1; round <= ROUNDS; round++)); do
    ((ROUNDS > 1)) && log "round $round of $ROUNDS"
    for t in "${target_list[@]}"; do
        for f in "${FIELDS[@]}"; do unset "${f}[$t]"; done
        case $t in
            fpm) run_fpm || true ;;
            askr) run_askr || true ;;
            askr-log) run_askr askr-log || true ;;
            kestrel) run_kestrel || true ;;
            askr-tls) run_askr_tls || true ;;
        esac
        for f in "${FIELDS[@]}"; do
            v="${f}[$t]"; ROUND[$f:$t:$round]=${!v:-}
        done
        [[ -n ${ROUND[STATUS:$t:$round]} ]] || ROUND[STATUS:$t:$round]="not run"
    done
done

for t in "${target_list[@]}"; do
    ok_rounds=$(for ((r = 1; r <= ROUNDS; r++)); do
        [[ ${ROUND[STATUS:$t:$r]} == ok ]] && echo "${ROUND[RPS:$t:$r]} $r"; done | sort -n | awk '{ print $2 }')
    mapfile -t ok_rounds <<<"$ok_rounds"
    [[ -n ${ok_rounds[0]:-} ]] || ok_rounds=()
    if ((${#ok_rounds[@]} == 0)); then
        STATUS[$t]=${ROUND[STATUS:$t:1]}
        continue
    fi
    median=${ok_rounds[$(((${#ok_rounds[@]} - 1) / 2))]}
    for f in "${FIELDS[@]}"; do
        declare -n field=$f  # the per-server array named by $f (STATUS, RPS, ...)
        # shellcheck disable=SC2034,SC2004  # written through the nameref
        field[$t]=${ROUND[$f:$t:$median]}
        unset -n field
    done
    failed=$((ROUNDS - ${#ok_rounds[@]}))
    if ((failed > 0)); then
        NOTE[$t]="${NOTE[$t]:+${NOTE[$t]}; }$failed of $ROUNDS rounds failed"
    fi
    if ((ROUNDS > 1)); then
        for ((r = 1; r <= ROUNDS; r++)); do
            [[ ${ROUND[STATUS:$t:$r]} == ok ]] || continue
            [[ -n ${ROUND[NOTE:$t:$r]} && $r != "$median" ]] && NOTE[$t]="${NOTE[$t]:+${NOTE[$t]}; }round $r: ${ROUND[NOTE:$t:$r]}"
        done
    fi
done

ASKR_FPM=$(ratio askr fpm)
ASKR_KESTREL=$(ratio askr kestrel)
ASKR_LOG=$(ratio askr-log askr)
ASKR_TLS=$(ratio askr-tls askr)

label() { case $1 in fpm) echo "nginx + php-fpm";; askr) echo "askr";; askr-log) echo "askr access log";; kestrel) echo "Kestrel (bare)";; askr-tls) echo "askr (TLS)";; esac; }
{
    echo
    printf '%-16s %12s %10s %10s %8s %8s  %s\n' server 'req/s' 'p50 ms' 'p99 ms' 'bg idle' 'bg run' status
    for t in "${target_list[@]}"; do
        if [[ ${STATUS[$t]:-} == ok ]]; then
            printf '%-16s %12.0f %10.2f %10.2f %7s%% %7s%%  ok%s\n' "$(label "$t")" "${RPS[$t]}" "${P50[$t]}" "${P99[$t]}" \
                "${BUSY[$t]}" "${OTHER[$t]}" "${NOTE[$t]:+ (${NOTE[$t]})}"
        else
            printf '%-16s %12s %10s %10s %8s %8s  %s\n' "$(label "$t")" - - - - - "${STATUS[$t]:-not run}"
        fi
    done
    if ((ROUNDS > 1)); then
        echo
        for t in "${target_list[@]}"; do
            line=''
            for ((r = 1; r <= ROUNDS; r++)); do
                if [[ ${ROUND[STATUS:$t:$r]} == ok ]]; then
                    line+=$(printf ' %8.0f (bg %s%%)' "${ROUND[RPS:$t:$r]}" "${ROUND[OTHER:$t:$r]}")
                else
                    line+='        - '
                fi
            done
            printf '%-16s req/s by round:%s\n' "$(label "$t")" "$line"
        done
    fi
    echo
    printf 'askr / php-fpm : %-6s %s\n' "${ASKR_FPM:--}" "$(verdict "$ASKR_FPM" 4)"
    printf 'askr / Kestrel : %-6s %s\n' "${ASKR_KESTREL:--}" "$(verdict "$ASKR_KESTREL" 0.8)"
    [[ -n $ASKR_LOG ]] && printf 'askr access log on / off : %-6s %s\n' "$ASKR_LOG" "$(verdict "$ASKR_LOG" 0.9)"
    [[ -n $ASKR_TLS ]] && printf 'askr TLS / askr: %-6s (the cost of TLS, HTTP/1.1 keep-alive)\n' "$ASKR_TLS"
    echo "(W=$WORKERS, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on the same machine, $ROUNDS round(s), median shown;"
    echo " bg idle = CPUs busy in the 1 s before the server's run, while it sat idle;"
    echo " bg run  = CPUs used by processes other than the server and wrk during the measurement)"
    for t in "${target_list[@]}"; do
        if [[ ${STATUS[$t]:-} == ok ]] && ((OTHER[$t] > 10)); then
            echo "NOTE: other processes took more than 10 % of the CPUs while some servers were measured:"
            echo "      these figures are disturbed (see bench/README.md, BENCH_QUIET_WAIT, BENCH_ROUNDS)."
            break
        fi
    done
} 

mkdir -p "$RESULTS_DIR"
RESULT_FILE=$RESULTS_DIR/http-$(date +%Y-%m-%dT%H%M%S).json
{
    printf '{\n  "benchmark": "http-hello",\n  "started": %s,\n' "$(json_str "$STARTED")"
    printf '  "machine": {"cores": %d, "cpu": %s, "kernel": %s, "loadavg_at_end": %s},\n' "$(nproc)" \
        "$(json_str "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)")" \
        "$(json_str "$(uname -r)")" "$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)")"
    printf '  "git_commit": %s,\n' "$(json_str "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)")"
    printf '  "params": {"workers": %d, "wrk_threads": %d, "connections": %d, "duration_s": %d, "warmup_s": %d, "rounds": %d, "quiet_wait_s": %d, "quiet_pct": %d, "askr_binary": %s},\n' \
        "$WORKERS" "$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP" "$ROUNDS" "$QUIET_WAIT" "$QUIET_PCT" "$(json_str "$ASKR_BINARY")"
    printf '  "results": {'
    sep=''
    for t in "${target_list[@]}"; do
        printf '%s\n    "%s": {"status": %s' "$sep" "$t" "$(json_str "${STATUS[$t]:-not run}")"
        if [[ ${STATUS[$t]:-} == ok ]]; then
            printf ', "requests": %s, "rps": %s, "p50_ms": %s, "p99_ms": %s, "non2xx": %s, "socket_errors": %s, "background_cpu_busy_pct_before": %s, "other_cpu_pct_during": %s' \
                "${REQS[$t]}" "${RPS[$t]}" "${P50[$t]}" "${P99[$t]}" "${NON2XX[$t]}" "${SOCKERR[$t]}" "${BUSY[$t]}" "${OTHER[$t]}"
        fi
        [[ -n ${NOTE[$t]:-} ]] && printf ', "note": %s' "$(json_str "${NOTE[$t]}")"
        printf ',\n      "rounds": ['
        rsep=''
        for ((r = 1; r <= ROUNDS; r++)); do
            printf '%s{"status": %s' "$rsep" "$(json_str "${ROUND[STATUS:$t:$r]}")"
            [[ ${ROUND[STATUS:$t:$r]} == ok ]] && printf ', "rps": %s, "p50_ms": %s, "p99_ms": %s, "other_cpu_pct_during": %s' \
                "${ROUND[RPS:$t:$r]}" "${ROUND[P50:$t:$r]}" "${ROUND[P99:$t:$r]}" "${ROUND[OTHER:$t:$r]}"
            printf '}'
            rsep=', '
        done
        printf ']}'
        sep=','
    done
    printf '\n  },\n  "ratios": {"askr_over_fpm": %s, "askr_over_kestrel": %s, "askr_log_over_askr": %s, "askr_tls_over_askr": %s},\n' "${ASKR_FPM:-null}" "${ASKR_KESTREL:-null}" "${ASKR_LOG:-null}" "${ASKR_TLS:-null}"
    printf '  "targets": {"askr_over_fpm_min": 4, "askr_over_kestrel_min": 0.8}\n}\n'
} >"$RESULT_FILE"
if command -v jq >/dev/null 2>&1 && ! jq empty "$RESULT_FILE" 2>/dev/null; then
    log "warning: $RESULT_FILE is not valid JSON"
fi
echo "results: $RESULT_FILE"
