#!/usr/bin/env bash
# Builds the Swoole extension (a PECL extension: swoole.so) that bench/swoole/run.sh loads with
# `php -d extension=...`, from a Swoole source tree the user points at. Nothing is committed and
# nothing is installed: the build happens in a copy of the tree under the cache dir, and swoole.so
# is never enabled for askr's embedded PHP.
#
#   SWOOLE_SRC=/path/to/swoole-src bench/swoole/build.sh
#
# e.g. from a clone: git -C swoole-src archive v5.1.8 | tar -x -C /tmp/swoole-5.1.8 (5.1.8 is the
# version the figures in docs/benchmarks-swoole.md were taken with; it builds against PHP 8.2 with
# `phpize && ./configure --disable-brotli --enable-swoole && make`, ~4 minutes on 2 cores, no extra
# Debian packages beyond php8.2-dev).
#
# Prints the path of swoole.so on its last line. Exits 2 (skipped, with the reason) when
# SWOOLE_SRC is unset or is not a Swoole source tree, or phpize is missing.
#
# Environment:
#   SWOOLE_SRC        the Swoole source tree (required; config.m4 and ext-src/ at its top)
#   SWOOLE_BUILD_DIR  where to build (default: ~/.cache/askr/swoole-<version from the tree>);
#                     an existing modules/swoole.so there is reused, not rebuilt
#   SWOOLE_REBUILD    1: build again even if swoole.so is there (default 0)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"

skip() { log "SKIPPED: $*"; exit 2; }

[[ -n ${SWOOLE_SRC:-} ]] || skip "SWOOLE_SRC is not set: point it at a Swoole source tree (git clone https://github.com/swoole/swoole-src, then export a tag such as v5.1.8)"
[[ -f $SWOOLE_SRC/config.m4 && -d $SWOOLE_SRC/ext-src ]] || skip "SWOOLE_SRC=$SWOOLE_SRC is not a Swoole source tree (no config.m4 and ext-src/ there)"
command -v phpize >/dev/null 2>&1 || skip "phpize not found (Debian package: php8.2-dev)"
need make make

# The version, from the tree's header (#define SWOOLE_VERSION "5.1.8").
VERSION=$(sed -n 's/^#define SWOOLE_VERSION "\([^"]*\)".*/\1/p' "$SWOOLE_SRC/include/swoole_version.h" 2>/dev/null | head -n 1)
VERSION=${VERSION:-unknown}
BUILD_DIR=${SWOOLE_BUILD_DIR:-$HOME/.cache/askr/swoole-$VERSION}
SO=$BUILD_DIR/modules/swoole.so

case $(realpath -m "$BUILD_DIR")/ in
    "$(realpath "$REPO")"/*) die "SWOOLE_BUILD_DIR=$BUILD_DIR is inside the repository: choose a cache dir outside it" ;;
esac

if [[ -f $SO && ${SWOOLE_REBUILD:-0} != 1 ]]; then
    log "swoole $VERSION already built at $SO (SWOOLE_REBUILD=1 builds it again)"
else
    log "building swoole $VERSION from $SWOOLE_SRC in $BUILD_DIR (log: $BUILD_DIR/build.log)"
    mkdir -p "$BUILD_DIR"
    # A copy, so the user's tree stays clean (phpize and configure write into the tree they run in).
    [[ $(realpath "$SWOOLE_SRC") == "$(realpath "$BUILD_DIR")" ]] || cp -a "$SWOOLE_SRC/." "$BUILD_DIR/"
    (
        cd "$BUILD_DIR"
        phpize && ./configure --disable-brotli --enable-swoole && make -j"$(nproc)"
    ) >"$BUILD_DIR/build.log" 2>&1 || { tail -n 30 "$BUILD_DIR/build.log" >&2; die "the swoole build failed (see $BUILD_DIR/build.log)"; }
fi

# It must load into this machine's php CLI, which is what run.sh starts.
php -n -d extension="$SO" -r 'exit(extension_loaded("swoole") ? 0 : 1);' 2>/dev/null ||
    php -d extension="$SO" -r 'exit(extension_loaded("swoole") ? 0 : 1);' ||
    die "$SO does not load into $(command -v php) (built for another PHP?)"
log "swoole $(php -d extension="$SO" -r 'echo phpversion("swoole");') loads from $SO"
echo "$SO"
