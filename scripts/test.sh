#!/usr/bin/env bash
# Runs every test suite: tests-dotnet (xunit, the runtime against real PHP) and tests-php
# (PHPUnit: the driver, and end-to-end against the example Laravel app when laravel/octane's
# source is available; those tests report themselves skipped otherwise).
# Ends with one summary line "tests: N passed, N failed, N skipped".
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
export ASKR_BINARY="${ASKR_BINARY:-$repo/build/askr/askr}"
status=0
passed=0; failed=0; skipped=0

echo "== tests-dotnet"
out=$(mktemp)
dotnet test "$repo/tests-dotnet/Askr.Tests/Askr.Tests.csproj" -c Release --nologo 2>&1 | tee "$out"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
line=$(grep -E '(Passed|Failed)!' "$out" | tail -1)
p=$(sed -nE 's/.*Passed: *([0-9]+).*/\1/p' <<<"$line"); f=$(sed -nE 's/.*Failed: *([0-9]+).*/\1/p' <<<"$line"); s=$(sed -nE 's/.*Skipped: *([0-9]+).*/\1/p' <<<"$line")
[ -n "$p" ] || status=1
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))

echo "== tests-php"
phpunit -c "$repo/tests-php/phpunit.xml" --log-junit "$out.xml" 2>&1
[ $? -eq 0 ] || status=1
if [ -f "$out.xml" ]; then
  read -r t e fl sk < <(php -r '$x = simplexml_load_file($argv[1]); $s = $x->testsuite; echo (int)$s["tests"], " ", (int)$s["errors"], " ", (int)$s["failures"], " ", (int)$s["skipped"], "\n";' "$out.xml")
  passed=$((passed + t - e - fl - sk)); failed=$((failed + e + fl)); skipped=$((skipped + sk))
else
  status=1
fi
rm -f "$out" "$out.xml"

echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
