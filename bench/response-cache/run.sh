#!/usr/bin/env bash
# askr's response cache (docs/response-cache.md), measured in one run, each against its peer:
#   askr-hit     a cache HIT of /page (BODY_BYTES bytes), served by Kestrel from shared memory
#   askr-static  askr serving a static file of the same size (the target: hit >= 0.8x static)
#   varnish-hit  Varnish 7 (-s malloc) in front of nginx + php-fpm, its own hit of the same body
#                (the target: askr hit >= 1.0x Varnish hit)
# then the stampede (200 concurrent cold requests to a 300 ms route: total time and PHP runs;
# target 1 run, <= 1.3 x 300 ms) and the cost of a tag purge with 1k and with BENCH_PURGE_ENTRIES
# entries stored (target: the same). Prints a table with load and steal beside every figure;
# takes /tmp/askr-bench.lock so benchmarks of parallel sessions do not overlap.
#
# Environment (all optional): ASKR_BINARY, BENCH_WORKERS (default nproc), BENCH_THREADS (2),
# BENCH_CONNECTIONS (64), BENCH_DURATION (10), BENCH_WARMUP (3), BENCH_BODY_BYTES (4096),
# BENCH_PURGE_ENTRIES (100000), BENCH_PORT (18380).
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
BODY_BYTES=${BENCH_BODY_BYTES:-4096}
PURGE_ENTRIES=${BENCH_PURGE_ENTRIES:-100000}
PORT_BASE=${BENCH_PORT:-18380}
QUIET_WAIT=0 QUIET_PCT=10 STARTUP_TIMEOUT=30
export BODY_BYTES

need wrk wrk; need curl curl; need varnishd varnish; need nginx nginx; need php-fpm8.2 php8.2-fpm
[[ -x $ASKR_BINARY ]] || die "askr not built at $ASKR_BINARY (scripts/build.sh)"

bench_begin
declare -A STATUS RPS P50 P99 NON2XX SOCKERR REQS BUSY OTHER LOAD NOTE STEAL

# measure_with_steal NAME URL PID: measure, noting the steal jiffies spent during it.
measure_with_steal() {
    local s0; s0=$(steal)
    measure "$1" "$2" "$3" || true
    STEAL[$1]=$(( $(steal) - s0 ))
}

# ---- askr: hit and static file ----
root=$BENCH_TMP/public; mkdir -p "$root"
head -c "$BODY_BYTES" /dev/zero | tr '\0' x >"$root/static.txt"
askr_port=$(free_port "$PORT_BASE")
admin_port=$(free_port $((PORT_BASE + 1)))
export STAMPEDE_LOG=$BENCH_TMP/stampede.log; : >"$STAMPEDE_LOG"
start_server "$BENCH_TMP/askr.out" env ASKR_ADMIN_TOKEN=bench-admin-token-0123456789 "$ASKR_BINARY" serve --root "$root" --worker-script "$HERE/worker.php" \
    --host 127.0.0.1 --port "$askr_port" --workers "$WORKERS" --admin-port "$admin_port" --no-access-log \
    --response-cache 512M
ASKR_PID=$SERVER_PID
wait_http "$ASKR_PID" "http://127.0.0.1:$askr_port/static.txt" "$(cat "$root/static.txt")" "$STARTUP_TIMEOUT" || { tail "$BENCH_TMP/askr.out"; die "askr did not start"; }
curl -fsS -o /dev/null "http://127.0.0.1:$askr_port/page"
state=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$askr_port/page" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-askr-cache"{print $2}')
[[ $state == HIT ]] || die "/page is not a HIT ($state)"
measure_with_steal askr-hit "http://127.0.0.1:$askr_port/page" "$ASKR_PID"
measure_with_steal askr-static "http://127.0.0.1:$askr_port/static.txt" "$ASKR_PID"

# ---- stampede: 200 concurrent cold requests to a 300 ms route ----
urls=$BENCH_TMP/urls.txt; : >"$urls"
for _ in $(seq 200); do echo "url = \"http://127.0.0.1:$askr_port/slow\"" >>"$urls"; echo "output = /dev/null" >>"$urls"; done
s0=$(date +%s%N)
curl -s --parallel --parallel-immediate --parallel-max 200 -K "$urls" -w '%{http_code}\n' >"$BENCH_TMP/stampede-codes.txt"
STAMPEDE_MS=$(( ($(date +%s%N) - s0) / 1000000 ))
STAMPEDE_RUNS=$(wc -l <"$STAMPEDE_LOG")
STAMPEDE_OK=$(grep -c '^200$' "$BENCH_TMP/stampede-codes.txt" || true)
STAMPEDE_LOAD=$(cut -d' ' -f1 /proc/loadavg)
log "stampede: 200 requests in ${STAMPEDE_MS} ms, $STAMPEDE_OK answered 200, PHP ran $STAMPEDE_RUNS time(s)"

# ---- tag purge cost: 1k entries, then PURGE_ENTRIES ----
fill() { # fill N: store about N entries through wrk (each request a new key)
    local n=$1 rate
    timeout 600 wrk -t2 -c32 -d600s -s "$HERE/fill.lua" "http://127.0.0.1:$askr_port" >/dev/null 2>&1 &
    local w=$!
    until (( $(curl -fsS "http://127.0.0.1:$admin_port/status" | php -r '$s = json_decode(stream_get_contents(STDIN), true); echo $s["response_cache"]["entries"];') >= n )); do sleep 0.5; done
    kill "$w" 2>/dev/null; wait "$w" 2>/dev/null || true
}
purge_cost() { curl -fsS "http://127.0.0.1:$askr_port/purge-cost?n=100000"; }
fill 1000
ENTRIES_1K=$(curl -fsS "http://127.0.0.1:$admin_port/status" | php -r 'echo json_decode(stream_get_contents(STDIN), true)["response_cache"]["entries"];')
PURGE_1K=$(purge_cost)
fill "$PURGE_ENTRIES"
ENTRIES_BIG=$(curl -fsS "http://127.0.0.1:$admin_port/status" | php -r 'echo json_decode(stream_get_contents(STDIN), true)["response_cache"]["entries"];')
PURGE_BIG=$(purge_cost)
stop_server "$ASKR_PID"

# ---- Varnish in front of nginx + php-fpm ----
dir=$BENCH_TMP/fpm; mkdir -p "$dir"
nginx_port=$(free_port $((PORT_BASE + 10)))
varnish_port=$(free_port $((PORT_BASE + 11)))
fpm_conf "$dir" "$WORKERS" "env[BODY_BYTES] = $BODY_BYTES"
{
    nginx_conf_head "$dir" 'default_type text/plain;'
    cat <<CONF
    server {
        listen 127.0.0.1:$nginx_port backlog=4096;
        location = /opcache-check.php { include /etc/nginx/fastcgi_params; fastcgi_param SCRIPT_FILENAME $BENCH/http/opcache-check.php; fastcgi_pass unix:$dir/php-fpm.sock; }
        location / { include /etc/nginx/fastcgi_params; fastcgi_param SCRIPT_FILENAME $HERE/page.php; fastcgi_pass unix:$dir/php-fpm.sock; }
    }
}
CONF
} >"$dir/nginx.conf"
fpm_nginx_start "$dir" "http://127.0.0.1:$nginx_port/page" "$(cat "$root/static.txt")" "http://127.0.0.1:$nginx_port/opcache-check.php" || die "nginx + php-fpm did not start"
jail=(-j none); ((EUID == 0)) || jail=()
start_server "$BENCH_TMP/varnish.out" varnishd -F "${jail[@]}" -n "$BENCH_TMP/varnish" -a "127.0.0.1:$varnish_port" -b "127.0.0.1:$nginx_port" -s malloc,256M
VARNISH_PID=$SERVER_PID
wait_http "$VARNISH_PID" "http://127.0.0.1:$varnish_port/page" "$(cat "$root/static.txt")" "$STARTUP_TIMEOUT" || { tail "$BENCH_TMP/varnish.out"; die "varnish did not start"; }
age=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$varnish_port/page" | tr -d '\r' | awk -F': ' 'tolower($1)=="age"{print $2}')
log "varnish: second request Age: $age (a hit)"
measure_with_steal varnish-hit "http://127.0.0.1:$varnish_port/page" "$VARNISH_PID"
stop_server "$VARNISH_PID"; fpm_nginx_stop

# ---- report ----
printf '\n%-13s %12s %9s %9s %6s %6s %s\n' target 'req/s' 'p50 ms' 'p99 ms' load steal note
for t in askr-hit askr-static varnish-hit; do
    printf '%-13s %12s %9s %9s %6s %6s %s\n' "$t" "${RPS[$t]:-}" "${P50[$t]:-}" "${P99[$t]:-}" "${LOAD[$t]:-}" "${STEAL[$t]:-}" "${STATUS[$t]:-} ${NOTE[$t]:-}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "askr hit / askr static file: $(ratio "${RPS[askr-hit]:-0}" "${RPS[askr-static]:-0}") (target >= 0.8)"
echo "askr hit / Varnish hit:      $(ratio "${RPS[askr-hit]:-0}" "${RPS[varnish-hit]:-0}") (target >= 1.0)"
echo "stampede: 200 cold requests to a 300 ms route: ${STAMPEDE_MS} ms in all, PHP ran ${STAMPEDE_RUNS} time(s), ${STAMPEDE_OK}/200 answered 200 (load $STAMPEDE_LOAD)"
echo "tag purge (native, 100k purges): ${PURGE_1K} ns each with ${ENTRIES_1K} entries, ${PURGE_BIG} ns each with ${ENTRIES_BIG} entries"
echo "body $BODY_BYTES bytes, $WORKERS workers, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s; steal = jiffies of steal during the measurement; figures are provisional on a shared machine"
