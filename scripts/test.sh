#!/usr/bin/env bash
# Runs every test suite: tests-dotnet (xunit, the runtime against real PHP) and tests-php
# (PHPUnit: the driver, end-to-end against the example Laravel app, and Octane's own table tests
# inside a real askr worker, when laravel/octane's source is available; those tests report
# themselves skipped otherwise).
# tests-php runs twice: against Octane 1.5.6 (OCTANE_PATH, default ~/.cache/askr/octane-1.5.6)
# and against Octane 2.x (OCTANE2_PATH, default ~/.cache/askr/octane-2.2.7), the second pass
# skipped with a hint when that source is absent.
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

# tests-php against the laravel/octane source at $1 (the PHPUnit run and the example app it starts
# both load Octane from OCTANE_PATH).
php_suites() {
  rm -f "$out.xml"
  OCTANE_PATH="$1" phpunit -c "$repo/tests-php/phpunit.xml" --log-junit "$out.xml" 2>&1
  [ $? -eq 0 ] || status=1
  if [ -f "$out.xml" ]; then
    read -r t e fl sk < <(php -r '$x = simplexml_load_file($argv[1]); $s = $x->testsuite; echo (int)$s["tests"], " ", (int)$s["errors"], " ", (int)$s["failures"], " ", (int)$s["skipped"], "\n";' "$out.xml")
    passed=$((passed + t - e - fl - sk)); failed=$((failed + e + fl)); skipped=$((skipped + sk))
  else
    status=1
  fi
}

octane1="${OCTANE_PATH:-$HOME/.cache/askr/octane-1.5.6}"
echo "== tests-php, laravel/octane from $octane1"
php_suites "$octane1"

octane2="${OCTANE2_PATH:-$HOME/.cache/askr/octane-2.2.7}"
if [ -f "$octane2/src/Worker.php" ]; then
  echo "== tests-php, laravel/octane 2.x from $octane2"
  php_suites "$octane2"
else
  echo "== tests-php on laravel/octane 2.x: skipped: no Octane source at $octane2 (OCTANE2_PATH)."
  echo "   Export v2.2.7, the newest 2.x that loads on Debian's Laravel 8.83 / Symfony 5.4 (docs/driver.md):"
  echo "   mkdir -p $octane2 && git -C <clone of laravel/octane> archive v2.2.7 | tar -x -C $octane2"
  skipped=$((skipped + 1))
fi
rm -f "$out" "$out.xml"

echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
