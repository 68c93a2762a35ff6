#!/usr/bin/env bash
# Laravel over HTTP: the example app's GET /json ({"hello":"world"} through the whole web
# middleware group: cookies encrypted, a session started and saved, CSRF token) served by
#   fpm   nginx + php-fpm 8.2 (pm=static, W children, OPcache on, no timestamp checks)
#         -> examples/laravel/public/index.php, Laravel's standard nginx config
#   askr  php artisan octane:start --server=askr --workers=W --task-workers=0
# measured one after another with the same wrk load, both from the same app directory,
# .env and cached config/routes (see below). Prints req/s, p50, p99, the ratio askr/php-fpm
# (target >= 5) and whether askr's p99 is below php-fpm's p50 (target), and writes the same as
# JSON to bench/results/laravel-<date>.json. See docs/benchmarks-laravel.md.
#
# Both servers read one config and one route cache, made by `php artisan config:cache` and
# `route:cache` into this script's private temp dir (APP_CONFIG_CACHE / APP_ROUTES_CACHE, so
# nothing is written under examples/laravel/bootstrap/cache). In that cached config, and only
# there, the session files, the log file, Octane's state file and askr's tables file are moved
# into the temp dir too: the benchmark leaves the app directory as it found it and does not
# clash with someone else's `octane:start` there. BENCH_LARAVEL_CACHE=0 skips the caches
# (both servers then read .env and config/ on every boot/request, and write to the app's
# storage/; session files the run created there are deleted afterwards).
#
# Environment (all optional):
#   ASKR_BINARY          askr executable (default: <repo>/build/askr/askr; its directory is copied
#                        aside first, so that a rebuild during the run cannot swap it)
#   OCTANE_PATH          laravel/octane source (default: ~/.cache/askr/octane-1.5.6); required
#   BENCH_WORKERS        PHP workers W for askr and php-fpm; a comma list (e.g. 1,2) measures
#                        each W in turn (default: nproc)
#   BENCH_MAX_REQUESTS   octane:start --max-requests (default: 500, Octane's default; 0: never
#                        recycle). php-fpm never recycles (pm.max_requests = 0).
#   BENCH_THREADS        wrk threads (default 2)
#   BENCH_CONNECTIONS    wrk connections (default 64)
#   BENCH_DURATION       seconds measured per server (default 10)
#   BENCH_WARMUP         seconds of unrecorded load before each measurement (default 3)
#   BENCH_ROUNDS         rounds over both servers, round-robin, each started afresh; each server's
#                        median round by req/s is reported (default 3)
#   BENCH_QUIET_WAIT     before each measurement, wait up to this many seconds until the CPUs are
#                        at most BENCH_QUIET_PCT % busy (default 0: no wait)
#   BENCH_QUIET_PCT      see BENCH_QUIET_WAIT (default 10)
#   BENCH_LARAVEL_CACHE  1: config:cache + route:cache for both (default); 0: neither
#   BENCH_SESSION_DRIVER file, array or cookie: SESSION_DRIVER for both servers (default: the app's,
#                        from .env: file). With file, every wrk request is a new visitor, so each
#                        one writes a new session file and the session GC lottery (2 %) scans a
#                        directory that grows with the requests served: that dominates the figures
#                        (docs/benchmarks-laravel.md).
#   BENCH_PORT           first port tried on 127.0.0.1 (default 18280)
#   BENCH_TARGETS        comma-separated subset of fpm,askr (default: fpm,askr)
#   BENCH_RESULTS_DIR    where the JSON goes (default: <repo>/bench/results)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"
APP=$REPO/examples/laravel
# shellcheck source=../lib/fpm.sh
source "$BENCH/lib/fpm.sh"
# shellcheck source=../lib/laravel-app.sh
source "$BENCH/lib/laravel-app.sh"

OCTANE_PATH=${OCTANE_PATH:-$HOME/.cache/askr/octane-1.5.6}
WORKERS_LIST=${BENCH_WORKERS:-$(nproc)}
MAX_REQUESTS=${BENCH_MAX_REQUESTS:-500}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
ROUNDS=${BENCH_ROUNDS:-3}
QUIET_WAIT=${BENCH_QUIET_WAIT:-0}
QUIET_PCT=${BENCH_QUIET_PCT:-10}
LARAVEL_CACHE=${BENCH_LARAVEL_CACHE:-1}
SESSION_DRIVER_OVERRIDE=${BENCH_SESSION_DRIVER:-}
PORT_BASE=${BENCH_PORT:-18280}
TARGETS=${BENCH_TARGETS:-fpm,askr}
STARTUP_TIMEOUT=30
URL_PATH=/json
EXPECTED='{"hello":"world"}'
TARGET_RATIO=5

for v in MAX_REQUESTS THREADS CONNECTIONS DURATION WARMUP ROUNDS QUIET_WAIT QUIET_PCT PORT_BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done
[[ $WORKERS_LIST =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "BENCH_WORKERS must be a number or a comma list of numbers (got '$WORKERS_LIST')"
[[ $LARAVEL_CACHE == 0 || $LARAVEL_CACHE == 1 ]] || die "BENCH_LARAVEL_CACHE must be 0 or 1"
[[ -z $SESSION_DRIVER_OVERRIDE || $SESSION_DRIVER_OVERRIDE =~ ^(file|array|cookie)$ ]] ||
    die "BENCH_SESSION_DRIVER must be file, array or cookie (got '$SESSION_DRIVER_OVERRIDE')"
((ROUNDS >= 1)) || die "BENCH_ROUNDS must be at least 1"
IFS=, read -r -a target_list <<<"$TARGETS"
IFS=, read -r -a workers_list <<<"$WORKERS_LIST"
want() { [[ ",$TARGETS," == *",$1,"* ]]; }
for t in "${target_list[@]}"; do
    [[ $t == fpm || $t == askr ]] || die "unknown target '$t' (fpm, askr)"
done

need wrk wrk
need curl curl
need ss iproute2
need setsid util-linux
need php php8.2-cli
if want fpm; then need nginx nginx; need php-fpm8.2 php8.2-fpm; fi

# --- Preconditions: Octane, the app's autoloader, askr -------------------------------------------

laravel_app_require_octane

trap stop_all EXIT
trap 'exit 130' INT TERM
bench_init_tmp

if want askr; then
    if [[ ! -x $ASKR_BINARY ]]; then
        log "error: no askr binary at $ASKR_BINARY: build it with scripts/setup.sh, or set ASKR_BINARY"
        log "       (or measure php-fpm alone with BENCH_TARGETS=fpm)"
        exit 2
    fi
    # A private copy: other people's rebuilds of build/askr/ must not change the binary mid-run.
    ASKR_SOURCE=$ASKR_BINARY
    cp -a "$(dirname "$ASKR_BINARY")" "$BENCH_TMP/askr-bin"
    ASKR_BINARY=$BENCH_TMP/askr-bin/$(basename "$ASKR_BINARY")
    ASKR_VERSION=$(date -u -r "$ASKR_SOURCE" +%Y-%m-%dT%H:%MZ)
fi
export ASKR_BINARY

# --- The app's environment, shared by both servers ------------------------------------------------

laravel_app_prepare

# Without the caches, sessions land in the app's storage/: remember what was there, delete the rest.
SESSION_MARK=$BENCH_TMP/session-mark
touch "$SESSION_MARK"
cleanup_sessions() {
    if ((LARAVEL_CACHE)); then
        find "$SESSION_DIR" -mindepth 1 -delete 2>/dev/null || true
    elif [[ -d $SESSION_DIR ]]; then
        find "$SESSION_DIR" -maxdepth 1 -type f -newer "$SESSION_MARK" ! -name .gitignore -delete 2>/dev/null || true
    fi
}
finish() { cleanup_sessions; stop_all; }
trap finish EXIT

# The log's size before a server ran: anything written after it is shown as that server's errors.
log_size() { stat -c %s "$LOG_FILE" 2>/dev/null || echo 0; }
check_app_log() { # check_app_log NAME SIZE_BEFORE
    local name=$1 before=$2 after
    after=$(log_size)
    if ((after > before)); then
        log "$name: the app logged $((after - before)) bytes to $LOG_FILE during the run; first lines:"
        tail -c +"$((before + 1))" "$LOG_FILE" | head -n 10 | cut -c1-300 | sed 's/^/    /' >&2
        NOTE[$name]="${NOTE[$name]:+${NOTE[$name]}; }app logged errors (see run log)"
    fi
}

declare -A STATUS RPS P50 P99 NON2XX SOCKERR REQS BUSY OTHER LOAD NOTE


# check_response NAME URL: the full response must be the JSON, with the session and XSRF cookies
# the web group sets (proof that the request went through it).
check_response() {
    local name=$1 url=$2 headers body
    headers=$(curl -fsS -m 5 -D - -o "$BENCH_TMP/body" "$url" 2>&1) || { STATUS[$name]="failed: $url: $headers"; return 1; }
    body=$(<"$BENCH_TMP/body")
    if [[ $body != "$EXPECTED" ]] || ! grep -qi '^set-cookie: XSRF-TOKEN=' <<<"$headers" ||
            ! grep -qi '^set-cookie: askr_example_session=' <<<"$headers"; then
        STATUS[$name]="failed: unexpected response from $url (body '$body'; no session/XSRF cookie?)"
        log "$name: ${STATUS[$name]}"; printf '%s\n' "$headers" | sed 's/^/    /' >&2
        return 1
    fi
}

run_fpm() {
    local W=$1 dir=$BENCH_TMP/fpm port kv fpm_env=''
    rm -rf "$dir"; mkdir -p "$dir"
    port=$(free_port "$PORT_BASE") || { STATUS[fpm]="failed: no free port"; return 1; }
    for kv in "${APP_ENV_VARS[@]}"; do fpm_env+="env[${kv%%=*}] = ${kv#*=}"$'\n'; done
    fpm_conf "$dir" "$W" "$fpm_env"
    # Laravel's documented nginx server block (https://laravel.com/docs/8.x/deployment#nginx),
    # on 127.0.0.1, without the access log (as in bench/http) and with client keep-alive.
    {
        nginx_conf_head "$dir" 'include /etc/nginx/mime.types; default_type application/octet-stream;'
        cat <<EOF
    server {
        listen 127.0.0.1:$port backlog=4096;
        server_name _;
        root $APP/public;

        add_header X-Frame-Options "SAMEORIGIN";
        add_header X-Content-Type-Options "nosniff";

        index index.php;
        charset utf-8;

        location = /__bench_opcache_check {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $BENCH/http/opcache-check.php;
            fastcgi_pass unix:$dir/php-fpm.sock;
        }

        location / {
            try_files \$uri \$uri/ /index.php?\$query_string;
        }

        location = /favicon.ico { access_log off; log_not_found off; }
        location = /robots.txt  { access_log off; log_not_found off; }

        error_page 404 /index.php;

        location ~ \.php\$ {
            fastcgi_pass unix:$dir/php-fpm.sock;
            fastcgi_param SCRIPT_FILENAME \$realpath_root\$fastcgi_script_name;
            include /etc/nginx/fastcgi_params;
        }

        location ~ /\.(?!well-known).* {
            deny all;
        }
    }
}
EOF
    } >"$dir/nginx.conf"
    local url="http://127.0.0.1:$port$URL_PATH"
    fpm_nginx_start "$dir" "$url" "$EXPECTED" "http://127.0.0.1:$port/__bench_opcache_check" || return 1
    if ! check_response fpm "$url"; then fpm_nginx_stop; return 1; fi
    log "fpm: $(fpm_versions), $W children, OPcache on, port $port"
    local logsize
    logsize=$(log_size)
    measure fpm "$url" "$NGINX_PID" || true
    is_alive "$FPM_PID" || STATUS[fpm]="failed: php-fpm exited during the run"
    fpm_nginx_stop
    check_app_log fpm "$logsize"
    if [[ -s $dir/php-fpm.log ]] && grep -Eiq 'error|warning|fatal' "$dir/php-fpm.log"; then
        log "fpm: php-fpm's log mentions errors/warnings:"; head -n 10 "$dir/php-fpm.log" | sed 's/^/    /' >&2
        NOTE[fpm]="${NOTE[fpm]:+${NOTE[fpm]}; }php-fpm log mentions errors/warnings"
    fi
}

run_askr() {
    local W=$1 dir=$BENCH_TMP/askr port
    rm -rf "$dir"; mkdir -p "$dir"
    port=$(free_port "$PORT_BASE") || { STATUS[askr]="failed: no free port"; return 1; }
    start_server "$dir/askr.out" env -C "$APP" "${APP_ENV_VARS[@]}" ASKR_BINARY="$ASKR_BINARY" \
        php artisan octane:start --server=askr --host=127.0.0.1 --port="$port" \
        --workers="$W" --task-workers=0 --max-requests="$MAX_REQUESTS"
    local pid=$SERVER_PID url="http://127.0.0.1:$port$URL_PATH"
    if ! wait_http "$pid" "$url" "$EXPECTED" "$STARTUP_TIMEOUT"; then
        startup_failed askr "$dir/askr.out"; stop_server "$pid" 15; return 1
    fi
    if ! check_response askr "$url"; then stop_server "$pid" 15; return 1; fi
    log "askr: octane:start --server=askr --workers=$W --task-workers=0 --max-requests=$MAX_REQUESTS ($ASKR_SOURCE, built $ASKR_VERSION), port $port"
    local logsize
    logsize=$(log_size)
    measure askr "$url" "$pid" || true
    stop_server "$pid" 15
    check_app_log askr "$logsize"
    # Octane prints one request line per request; anything else that looks like trouble is shown.
    if grep -v -E '^ *(200|GET|  )' "$dir/askr.out" | grep -Eiq 'error|fatal|exception|crash|segfault'; then
        log "askr: its output mentions errors; first matching lines:"
        grep -Ei 'error|fatal|exception|crash|segfault' "$dir/askr.out" | head -n 10 | cut -c1-300 | sed 's/^/    /' >&2
        NOTE[askr]="${NOTE[askr]:+${NOTE[askr]}; }askr/Octane output mentions errors (see run log)"
    fi
}

STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "laravel bench: GET $URL_PATH, W=$WORKERS_LIST, wrk -t$THREADS -c$CONNECTIONS, ${WARMUP}s warm-up + ${DURATION}s per server, $ROUNDS round(s), targets: $TARGETS"

FIELDS=(STATUS RPS P50 P99 NON2XX SOCKERR REQS BUSY OTHER LOAD NOTE)
declare -A ROUND FINAL   # ROUND[field:target:W:round], FINAL[field:target:W] (the median round)
for W in "${workers_list[@]}"; do
    # Rounds go round-robin over the servers (each started afresh), so that a burst of load from
    # elsewhere does not land on one server only; each server's figures are its median round by req/s.
    for ((round = 1; round <= ROUNDS; round++)); do
        log "W=$W: round $round of $ROUNDS"
        for t in "${target_list[@]}"; do
            for f in "${FIELDS[@]}"; do unset "${f}[$t]"; done
            cleanup_sessions
            case $t in
                fpm) run_fpm "$W" || true ;;
                askr) run_askr "$W" || true ;;
            esac
            for f in "${FIELDS[@]}"; do
                v="${f}[$t]"; ROUND[$f:$t:$W:$round]=${!v:-}
            done
            [[ -n ${ROUND[STATUS:$t:$W:$round]} ]] || ROUND[STATUS:$t:$W:$round]="not run"
        done
    done
    for t in "${target_list[@]}"; do
        ok_rounds=$(for ((r = 1; r <= ROUNDS; r++)); do
            [[ ${ROUND[STATUS:$t:$W:$r]} == ok ]] && echo "${ROUND[RPS:$t:$W:$r]} $r"; done | sort -n | awk '{ print $2 }')
        mapfile -t ok_rounds <<<"$ok_rounds"
        [[ -n ${ok_rounds[0]:-} ]] || ok_rounds=()
        if ((${#ok_rounds[@]} == 0)); then
            FINAL[STATUS:$t:$W]=${ROUND[STATUS:$t:$W:1]}
            continue
        fi
        median=${ok_rounds[$(((${#ok_rounds[@]} - 1) / 2))]}
        for f in "${FIELDS[@]}"; do FINAL[$f:$t:$W]=${ROUND[$f:$t:$W:$median]}; done
        note=${FINAL[NOTE:$t:$W]}
        failed=$((ROUNDS - ${#ok_rounds[@]}))
        ((failed > 0)) && note="${note:+$note; }$failed of $ROUNDS rounds failed"
        for ((r = 1; r <= ROUNDS; r++)); do
            [[ ${ROUND[STATUS:$t:$W:$r]} == ok && -n ${ROUND[NOTE:$t:$W:$r]} && $r != "$median" ]] &&
                note="${note:+$note; }round $r: ${ROUND[NOTE:$t:$W:$r]}"
        done
        FINAL[NOTE:$t:$W]=$note
    done
done

ok() { [[ ${FINAL[STATUS:$1:$2]:-} == ok ]]; }
ratio() { # ratio W: askr/fpm req/s to two decimals, or empty
    ok askr "$1" && ok fpm "$1" || return 0
    awk -v a="${FINAL[RPS:askr:$1]}" -v b="${FINAL[RPS:fpm:$1]}" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
}
tail_below() { # tail_below W: "yes"/"no" (askr p99 < fpm p50), or empty
    ok askr "$1" && ok fpm "$1" || return 0
    awk -v a="${FINAL[P99:askr:$1]}" -v b="${FINAL[P50:fpm:$1]}" 'BEGIN { print (a < b ? "yes" : "no") }'
}
label() { case $1 in fpm) echo "nginx + php-fpm";; askr) echo "askr (Octane)";; esac; }

{
    echo
    printf '%-16s %3s %10s %10s %10s %8s %8s  %s\n' server W 'req/s' 'p50 ms' 'p99 ms' 'bg idle' 'bg run' status
    for W in "${workers_list[@]}"; do
        for t in "${target_list[@]}"; do
            if ok "$t" "$W"; then
                printf '%-16s %3d %10.0f %10.2f %10.2f %7s%% %7s%%  ok%s\n' "$(label "$t")" "$W" "${FINAL[RPS:$t:$W]}" \
                    "${FINAL[P50:$t:$W]}" "${FINAL[P99:$t:$W]}" "${FINAL[BUSY:$t:$W]}" "${FINAL[OTHER:$t:$W]}" \
                    "${FINAL[NOTE:$t:$W]:+ (${FINAL[NOTE:$t:$W]})}"
            else
                printf '%-16s %3d %10s %10s %10s %8s %8s  %s\n' "$(label "$t")" "$W" - - - - - "${FINAL[STATUS:$t:$W]:-not run}"
            fi
        done
    done
    if ((ROUNDS > 1)); then
        echo
        for W in "${workers_list[@]}"; do
            for t in "${target_list[@]}"; do
                line=''
                for ((r = 1; r <= ROUNDS; r++)); do
                    if [[ ${ROUND[STATUS:$t:$W:$r]} == ok ]]; then
                        line+=$(printf ' %7.0f/%.1f (bg %s%%)' "${ROUND[RPS:$t:$W:$r]}" "${ROUND[P99:$t:$W:$r]}" "${ROUND[OTHER:$t:$W:$r]}")
                    else
                        line+='          - '
                    fi
                done
                printf '%-16s W=%d req/s/p99 ms by round:%s\n' "$(label "$t")" "$W" "$line"
            done
        done
    fi
    echo
    for W in "${workers_list[@]}"; do
        r=$(ratio "$W"); tb=$(tail_below "$W")
        if [[ -n $r ]]; then
            verdict=$(awk -v r="$r" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t ? "meets" : "BELOW") " target >= " t }')
            printf 'W=%d  askr / php-fpm : %-6s %s\n' "$W" "$r" "$verdict"
            printf 'W=%d  askr p99 (%s ms) < php-fpm p50 (%s ms) : %s\n' "$W" "${FINAL[P99:askr:$W]}" "${FINAL[P50:fpm:$W]}" \
                "$([[ $tb == yes ]] && echo "yes, meets target" || echo "NO, target missed")"
        else
            printf 'W=%d  askr / php-fpm : n/a (a server did not run)\n' "$W"
        fi
    done
    echo "($(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on the same machine, $ROUNDS round(s), median round shown;"
    echo " askr: --max-requests=$MAX_REQUESTS; session driver '$SESSION_DRIVER'; config/route cache $( ((LARAVEL_CACHE)) && echo on || echo off);"
    echo " bg idle = CPUs busy in the 1 s before the server's run, while it sat idle;"
    echo " bg run  = CPUs used by processes other than the servers and wrk during the measurement)"
    disturbed=0
    for W in "${workers_list[@]}"; do for t in "${target_list[@]}"; do
        other=${FINAL[OTHER:$t:$W]:-0}
        ok "$t" "$W" && ((other > 10)) && disturbed=1
    done; done
    if ((disturbed)); then
        echo "NOTE: other processes took more than 10 % of the CPUs while some servers were measured:"
        echo "      these figures are disturbed (BENCH_QUIET_WAIT, BENCH_ROUNDS)."
    fi
}

mkdir -p "$RESULTS_DIR"
RESULT_FILE=$RESULTS_DIR/laravel-$(date +%Y-%m-%dT%H%M%S).json
{
    printf '{\n  "benchmark": "laravel-json",\n  "started": %s,\n  "finished": %s,\n' "$(json_str "$STARTED")" "$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
    printf '  "machine": {"cores": %d, "cpu": %s, "kernel": %s, "loadavg_at_end": %s},\n' "$(nproc)" \
        "$(json_str "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)")" \
        "$(json_str "$(uname -r)")" "$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)")"
    printf '  "git_commit": %s,\n' "$(json_str "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)")"
    printf '  "params": {"path": %s, "workers": [%s], "wrk_threads": %d, "connections": %d, "duration_s": %d, "warmup_s": %d, "rounds": %d, "quiet_wait_s": %d, "quiet_pct": %d, "askr_max_requests": %d, "laravel_cache": %s, "session_driver": %s, "app_env": %s, "app_debug": %s, "askr_binary": %s, "octane_path": %s},\n' \
        "$(json_str "$URL_PATH")" "$WORKERS_LIST" "$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP" "$ROUNDS" "$QUIET_WAIT" "$QUIET_PCT" \
        "$MAX_REQUESTS" "$( ((LARAVEL_CACHE)) && echo true || echo false)" "$(json_str "$SESSION_DRIVER")" \
        "$(json_str "$APP_ENV_NAME")" "$APP_DEBUG" "$(json_str "${ASKR_SOURCE:-$ASKR_BINARY}")" "$(json_str "$OCTANE_PATH")"
    printf '  "results": ['
    wsep=''
    for W in "${workers_list[@]}"; do
        printf '%s\n    {"workers": %d, "servers": {' "$wsep" "$W"
        sep=''
        for t in "${target_list[@]}"; do
            printf '%s\n      "%s": {"status": %s' "$sep" "$t" "$(json_str "${FINAL[STATUS:$t:$W]:-not run}")"
            if ok "$t" "$W"; then
                printf ', "requests": %s, "rps": %s, "p50_ms": %s, "p99_ms": %s, "non2xx": %s, "socket_errors": %s, "background_cpu_busy_pct_before": %s, "loadavg_1m_before": %s, "other_cpu_pct_during": %s' \
                    "${FINAL[REQS:$t:$W]}" "${FINAL[RPS:$t:$W]}" "${FINAL[P50:$t:$W]}" "${FINAL[P99:$t:$W]}" "${FINAL[NON2XX:$t:$W]}" \
                    "${FINAL[SOCKERR:$t:$W]}" "${FINAL[BUSY:$t:$W]}" "${FINAL[LOAD:$t:$W]}" "${FINAL[OTHER:$t:$W]}"
            fi
            [[ -n ${FINAL[NOTE:$t:$W]:-} ]] && printf ', "note": %s' "$(json_str "${FINAL[NOTE:$t:$W]}")"
            printf ',\n        "rounds": ['
            rsep=''
            for ((r = 1; r <= ROUNDS; r++)); do
                printf '%s{"status": %s' "$rsep" "$(json_str "${ROUND[STATUS:$t:$W:$r]}")"
                [[ ${ROUND[STATUS:$t:$W:$r]} == ok ]] && printf ', "rps": %s, "p50_ms": %s, "p99_ms": %s, "non2xx": %s, "socket_errors": %s, "background_cpu_busy_pct_before": %s, "other_cpu_pct_during": %s' \
                    "${ROUND[RPS:$t:$W:$r]}" "${ROUND[P50:$t:$W:$r]}" "${ROUND[P99:$t:$W:$r]}" "${ROUND[NON2XX:$t:$W:$r]}" \
                    "${ROUND[SOCKERR:$t:$W:$r]}" "${ROUND[BUSY:$t:$W:$r]}" "${ROUND[OTHER:$t:$W:$r]}"
                printf '}'
                rsep=', '
            done
            printf ']}'
            sep=','
        done
        r=$(ratio "$W"); tb=$(tail_below "$W")
        printf '\n    }, "askr_over_fpm": %s, "askr_p99_below_fpm_p50": %s}' "${r:-null}" \
            "$(case $tb in yes) echo true;; no) echo false;; *) echo null;; esac)"
        wsep=','
    done
    printf '\n  ],\n  "targets": {"askr_over_fpm_min": %s, "askr_p99_below_fpm_p50": true}\n}\n' "$TARGET_RATIO"
} >"$RESULT_FILE"
if command -v jq >/dev/null 2>&1 && ! jq empty "$RESULT_FILE" 2>/dev/null; then
    log "warning: $RESULT_FILE is not valid JSON"
fi
echo "results: $RESULT_FILE"
