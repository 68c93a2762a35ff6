#!/usr/bin/env bash
# Micro-benchmarks of the runtime's hot paths (bench/Askr.Benchmarks, BenchmarkDotNet): RESP
# parsing, the shared table's get/set/incr, the task board, the request envelope and the control
# frames of a task. Not part of scripts/test.sh. Arguments go to BenchmarkDotNet, e.g.
#   bench/micro/run.sh                          # everything, BenchmarkDotNet's default job
#   bench/micro/run.sh --filter '*Table*'       # one class
#   BENCH_JOB=short bench/micro/run.sh          # fewer iterations (--job short), for a quick look
# Results (tables and CSV) go to bench/results/micro/ (gitignored). On a shared machine, wrap it in
# `flock /tmp/askr-bench.lock` like the other benchmarks, and read the StdDev column.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--filter '*')
[ -z "${BENCH_JOB:-}" ] || args+=(--job "$BENCH_JOB")
cd "$REPO/bench/Askr.Benchmarks"
exec dotnet run -c Release -- --artifacts "$REPO/bench/results/micro" "${args[@]}"
