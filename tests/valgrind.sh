#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# On-demand valgrind job (not in CI): the integration test 'answers' with both
# knotd (the normal build's module) under memcheck; fails unless every knotd
# log says "ERROR SUMMARY: 0 errors". Only definite leaks count: liburcu's
# call_rcu thread leaves a 'possibly lost' block that is not ours.
# --keep-debuginfo: knotd unloads the module before its leak report.
#
# Usage: tests/valgrind.sh [BUILD_DIR]   (default build)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
start=$SECONDS
bash tests/setup.sh "$build_dir"
vg_dir=$(realpath "$build_dir")/valgrind-logs
[[ $vg_dir != *[[:space:]]* ]] || { echo "valgrind: no spaces in the log directory: $vg_dir" >&2; exit 2; }
rm -rf "$vg_dir"
mkdir -p "$vg_dir"

# The harness splits KNOTD_WRAPPER at spaces, puts it in front of knotd and
# multiplies its bounds by MXTRAP_TIMEOUT_SCALE; Check's by CK_TIMEOUT_MULTIPLIER.
export KNOTD_WRAPPER="valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
--show-leak-kinds=definite --keep-debuginfo=yes --error-exitcode=97 --num-callers=30 --log-file=$vg_dir/vg.%p.log"
export MXTRAP_TIMEOUT_SCALE=10 CK_TIMEOUT_MULTIPLIER=10

status=0
timeout 1800 meson test -C "$build_dir" --print-errorlogs --num-processes 1 \
	--timeout-multiplier 10 --suite integration answers || status=$?

shopt -s nullglob
logs=("$vg_dir"/vg.*.log)
[ ${#logs[@]} -gt 0 ] || { echo "valgrind: no log in $vg_dir (knotd never ran under valgrind)"; status=1; }
clean=0
field() { sed -n "s/^==[0-9]*== *$1: //p" "$log" | tail -n 1; }
for log in "${logs[@]}"; do
	echo "valgrind: $(basename "$log") ($(field Command)): ERROR SUMMARY: $(field 'ERROR SUMMARY' | grep . || echo 'missing (killed?)');" \
	     "definitely lost: $(field 'definitely lost'); possibly lost: $(field 'possibly lost')"
	if grep -q '^==[0-9]*== ERROR SUMMARY: 0 errors' "$log"; then
		clean=$((clean + 1))
	else
		echo "==== $log"
		cat "$log"
		status=1
	fi
done
echo "valgrind: $clean/${#logs[@]} knotd processes with 0 errors, test exit $status," \
     "$((SECONDS - start)) s: $([ "$status" -eq 0 ] && echo OK || echo FAILED)"
exit "$status"
