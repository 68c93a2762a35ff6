#!/usr/bin/env bash
# Builds the shim (native/shim) and the askr runtime into build/askr/ (askr + libaskrshim.so).
# Needs what scripts/setup.sh installs. Idempotent; safe to re-run after a change.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cmake -S "$repo/native/shim" -B "$repo/build/shim" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$repo/build/shim" --parallel 2 >/dev/null
# Publish next to the live build and swap directories: a running askr keeps its mapped files
# (overwriting them in place crashes running servers with SIGSEGV).
rm -rf "$repo/build/askr.new" "$repo/build/askr.old"
dotnet publish "$repo/dotnet/src/Askr/Askr.csproj" -c Release -o "$repo/build/askr.new" --nologo -v quiet -p:UseAppHost=true >/dev/null
cp "$repo/build/shim/libaskrshim.so" "$repo/build/askr.new/libaskrshim.so"
if [ -d "$repo/build/askr" ]; then mv "$repo/build/askr" "$repo/build/askr.old"; fi
mv "$repo/build/askr.new" "$repo/build/askr"
echo "built $repo/build/askr/askr"
