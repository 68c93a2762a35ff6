#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for askr: apt packages (PHP 8.2 embed SAPI, the Laravel
# packages the tests use, the benchmark peers), the native shim, the .NET runtime and test
# builds, and the example Laravel app when laravel/octane's source is available.
# Needs the .NET 10 SDK on PATH (Debian 12 does not package it). Run as root or with sudo.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

packages=(
  # the runtime: PHP's embed SAPI and headers for the shim
  libphp8.2-embed php8.2-dev php8.2-cli php8.2-opcache cmake gcc make
  # gen_stub.php (php8.2-dev) generates the natives' argument info from the stub; it runs on PHP-Parser
  php-parser
  # what Laravel and the driver's tests need
  php8.2-mbstring php8.2-xml php8.2-curl php8.2-sqlite3 php8.2-apcu php8.2-redis php8.2-intl
  php-laravel-framework php-laravel-serializable-closure php-opis-closure phpunit php-mockery composer
  # real clients and benchmark peers
  curl redis-tools redis-server nginx php8.2-fpm wrk
  # the response cache benchmark compares with Varnish in front of nginx + php-fpm (bench/response-cache)
  varnish
  # the cluster tests put each node in its own network namespace
  iproute2
)
sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null; then
  echo "dotnet (the .NET 10 SDK) is not on PATH: install it first (https://learn.microsoft.com/dotnet/core/install/linux-debian)" >&2
  exit 1
fi

"$repo/scripts/build.sh"
dotnet build "$repo/tests-dotnet/Askr.Tests/Askr.Tests.csproj" -c Release --nologo -v quiet >/dev/null
echo "built tests-dotnet"
"$repo/build/askr/askr" doctor

# The Pusher-protocol tests' real clients (pusher-js, laravel-echo, pusher, ws; docs/websockets.md), from the npm registry.
if command -v npm >/dev/null; then
  (cd "$repo/tests-dotnet/pusher-clients" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) && echo "installed tests-dotnet/pusher-clients"
else
  echo "note: npm is not installed; the WebSocket tests (tests-dotnet/pusher-clients) will be skipped"
fi

octane="${OCTANE_PATH:-$HOME/.cache/askr/octane-1.5.6}"
if [ -f "$octane/src/Worker.php" ] || [ -n "${ASKR_EXAMPLE_COMPOSER:-}" ]; then
  OCTANE_PATH="$octane" "$repo/examples/laravel/setup.sh"
else
  echo "note: laravel/octane's source was not found at $octane; the example Laravel app and the"
  echo "      Octane end-to-end tests need it (see README, 'Octane's source'). Everything else is ready."
fi
echo "setup complete"
