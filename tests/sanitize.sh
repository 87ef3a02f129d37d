#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Sanitizer job: ./build-asan with -Db_sanitize=address,undefined; runs the
# unit, integration and dnssec suites (the module's signing path inside knotd,
# unbound validating) and the ops tests examples, replication, catalog,
# restore and signed-secondary (the module's load and unload paths:
# conf-commit, catalog members, IXFR, zone-restore; signing on a secondary);
# fails on any test failure or sanitizer report. Debian's knot programs get
# the ASan runtime by LD_PRELOAD (meson's knotd_preload), their reports go
# to BUILD_DIR/sanitizer-logs; the test programs are linked with ASan.
#
# Usage: tests/sanitize.sh [BUILD_DIR]   (default build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/lib/common.sh
source tests/lib/common.sh   # meson_results

build_dir=${1:-build-asan}
start=$SECONDS
bash tests/setup.sh "$build_dir" -Db_sanitize=address,undefined
log_dir=$build_dir/sanitizer-logs
rm -rf "$log_dir" "$build_dir"/meson-logs/testlog*.json
mkdir -p "$log_dir"

status=0
timeout 900 meson test -C "$build_dir" --print-errorlogs --num-processes 1 \
	--suite unit --suite integration --suite dnssec || status=$?
timeout 600 meson test -C "$build_dir" --print-errorlogs --num-processes 1 \
	--logbase testlog-ops examples replication catalog restore signed-secondary || status=$?

shopt -s nullglob
read -r passed failed < <(meson_results "$build_dir"/meson-logs/testlog*.json)
reports=$(find "$log_dir" -type f | sort)
for f in $reports; do echo "==== sanitizer report: $f"; cat "$f"; done
[ -z "$reports" ] || status=1
[ "$failed" = 0 ] && [ "$passed" -gt 0 ] || status=1
echo "sanitize: $passed passed, $failed failed, $(grep -c . <<<"$reports") sanitizer reports," \
     "$((SECONDS - start)) s: $([ "$status" = 0 ] && echo OK || echo FAILED)"
exit "$status"
