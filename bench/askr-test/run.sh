#!/usr/bin/env bash
# askr test vs plain phpunit vs one cold phpunit process per file, on the example app's own
# PHPUnit suite (examples/laravel/tests), in the same run. Each way runs ROUNDS times (default 5),
# alternating; the script prints the median wall time of each, with steal (8th field of "cpu" in
# /proc/stat, over the run) and the load average. Takes /tmp/askr-bench.lock (shared machine).
# Usage: bench/askr-test/run.sh [ROUNDS]
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
rounds=${1:-5}
app="$REPO/examples/laravel"
need phpunit phpunit
[ -x "$ASKR_BINARY" ] || die "askr not built at $ASKR_BINARY (scripts/build.sh)"
exec 9>/tmp/askr-bench.lock
flock 9

wall() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
per_file() { local f; for f in $(find "$app/tests" -name '*Test.php' | sort); do (cd "$app" && phpunit "$f") || true; done; }

files=$(find "$app/tests" -name '*Test.php' | wc -l)
steal0=$(steal); load0=$(cut -d' ' -f1-3 /proc/loadavg)
declare -a A P C
for _ in $(seq "$rounds"); do
    A+=("$(wall "$ASKR_BINARY" test --app "$app")")
    P+=("$(wall bash -c "cd '$app' && phpunit")")
    C+=("$(wall per_file)")
done
steal1=$(steal); load1=$(cut -d' ' -f1-3 /proc/loadavg)
printf 'example app suite: %s test files, %s rounds, median wall time\n' "$files" "$rounds"
printf '  askr test (boot once, fork per file, --parallel %s): %.3f s\n' "$(nproc)" "$(printf '%s\n' "${A[@]}" | median)"
printf '  phpunit (one process, all files):                  %.3f s\n' "$(printf '%s\n' "${P[@]}" | median)"
printf '  phpunit per file (one cold process each):          %.3f s\n' "$(printf '%s\n' "${C[@]}" | median)"
printf '  steal over the run: %s jiffies; load average before: %s, after: %s\n' "$((steal1 - steal0))" "$load0" "$load1"
