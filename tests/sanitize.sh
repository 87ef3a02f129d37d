#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Sanitizer job: builds ./build-asan with -Db_sanitize=address,undefined
# (module, core and tests with ASan+UBSan), runs the unit, integration and
# dnssec suites and the ops tests examples, replication and catalog there,
# and fails on any test failure or any sanitizer report. The DNSSEC suite
# (unbound validating the module's signatures) runs here, with the module's
# signing path instrumented inside knotd; the ops tests reload and re-create
# modules (conf-commit, catalog members, IXFR): the module's load and unload
# paths instrumented (live's load is left to the normal build).
#
# Debian's knotd, knotc and keymgr are not instrumented: the tests start them
# with LD_PRELOAD of the ASan runtime (meson variable knotd_preload); their
# reports go to build-asan/sanitizer-logs (emptied here). The test programs
# themselves are linked with ASan: their reports fail the test.
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
	--logbase testlog-ops examples replication catalog || status=$?

logs=()
for f in "$build_dir"/meson-logs/testlog*.json; do [ ! -f "$f" ] || logs+=("$f"); done
read -r passed failed < <(meson_results "${logs[@]}")
reports=$(find "$log_dir" -type f | sort)
for f in $reports; do
	echo "==== sanitizer report: $f"
	cat "$f"
done
[ -z "$reports" ] || status=1
[ "$failed" = 0 ] && [ "$passed" -gt 0 ] || status=1
echo "sanitize: $passed passed, $failed failed, $(grep -c . <<<"$reports") sanitizer reports," \
     "$((SECONDS - start)) s: $([ "$status" = 0 ] && echo OK || echo FAILED)"
exit "$status"
