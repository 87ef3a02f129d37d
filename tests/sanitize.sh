#!/usr/bin/env bash
# Sanitizer job: builds ./build-asan (-Dsanitize=true: module, core and tests
# with ASan+UBSan), runs the unit, integration and dnssec suites and the ops
# tests examples, replication and catalog there, and fails on
# any test failure or any sanitizer report. The DNSSEC suite (unbound
# validating the module's signatures) runs here, with the module's signing
# path instrumented inside knotd.
#
# The integration tests start Debian's knotd and knotc with LD_PRELOAD of the
# ASan runtime (meson variable knotd_preload) so the ASan-built module can be
# loaded; their reports go to build-asan/sanitizer-logs/{asan,ubsan}.TAG.PID
# (emptied here for every run). The test programs themselves are linked with
# ASan: their reports fail the test through its exit status.
#
# Usage: tests/sanitize.sh [BUILD_DIR]   (default build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build-asan}
start=$(date +%s)

bash tests/setup.sh "$build_dir" -Dsanitize=true

log_dir=$build_dir/sanitizer-logs
rm -rf "$log_dir"
mkdir -p "$log_dir"

status=0
timeout 900 meson test -C "$build_dir" --print-errorlogs --num-processes 1 \
	--suite unit --suite integration --suite dnssec || status=$?
# The operators' set-ups that reload and re-create modules (conf-commit on a
# primary, catalog members coming and going, IXFR): the module's load and
# unload paths and mxtrap_pin() instrumented. (The live test's load is left
# to the normal build: ASan's slowdown is not what it compares.)
timeout 600 meson test -C "$build_dir" --print-errorlogs --num-processes 1 \
	--logbase testlog-ops examples replication catalog || status=$?

summaries=("$build_dir/meson-logs/testlog.txt" "$build_dir/meson-logs/testlog-ops.txt")
passed=$(cat "${summaries[@]}" | grep -c '^result: *exit status 0$' || true)
total=$(cat "${summaries[@]}" | grep -c '^result: ' || true)

reports=()
while IFS= read -r -d '' f; do
	reports+=("$f")
done < <(find "$log_dir" -type f -print0 | sort -z)
for f in "${reports[@]}"; do
	echo "==== sanitizer report: $f"
	cat "$f"
done
if [ ${#reports[@]} -gt 0 ]; then
	status=1
fi

echo "sanitize: $passed/$total test programs passed, ${#reports[@]} sanitizer reports," \
     "$(( $(date +%s) - start )) s: $([ "$status" -eq 0 ] && echo OK || echo FAILED)"
exit "$status"
