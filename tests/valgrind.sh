#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# On-demand valgrind job (not in CI): runs the integration test 'answers' with
# both knotd servers under valgrind (memcheck), then fails unless every knotd
# log says "ERROR SUMMARY: 0 errors". Prints the summary of each process.
#
# Only definite leaks count as errors: liburcu leaves a 'possibly lost' block
# at exit that is not ours (the TLS of its call_rcu thread). knotd unloads the
# module before it exits: --keep-debuginfo keeps the module's stack frames
# readable in leak reports. Debian's knotd is not instrumented, the module is
# the normal build (./build, or BUILD_DIR).
#
# Usage: tests/valgrind.sh [BUILD_DIR]   (default build)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
start=$(date +%s)

bash tests/setup.sh "$build_dir"

vg_dir=$(realpath "$build_dir")/valgrind-logs
case $vg_dir in
*[[:space:]]*) echo "valgrind: the log directory must not contain spaces: $vg_dir" >&2; exit 2;;
esac
rm -rf "$vg_dir"
mkdir -p "$vg_dir"

# The harness splits KNOTD_WRAPPER at spaces and puts it in front of knotd;
# with a wrapper it multiplies its start, stop and I/O bounds by 10
# (MXTRAP_TIMEOUT_SCALE), Check's per-test bound gets the same factor.
export KNOTD_WRAPPER="valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
--show-leak-kinds=definite --keep-debuginfo=yes --error-exitcode=97 --num-callers=30 --log-file=$vg_dir/vg.%p.log"
export MXTRAP_TIMEOUT_SCALE=10
export CK_TIMEOUT_MULTIPLIER=10

status=0
timeout 1800 meson test -C "$build_dir" --print-errorlogs --num-processes 1 \
	--timeout-multiplier 10 --suite integration answers || status=$?

logs=("$vg_dir"/vg.*.log)
if [ ! -e "${logs[0]}" ]; then
	echo "valgrind: no valgrind log in $vg_dir (knotd never ran under valgrind)"
	logs=()
	status=1
fi
clean=0
for log in "${logs[@]}"; do
	pid=${log##*/vg.}
	pid=${pid%.log}
	cmd=$(sed -n 's/^==[0-9]*== Command: //p' "$log" | head -n 1)
	summary=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: //p' "$log" | tail -n 1)
	definite=$(sed -n 's/^==[0-9]*== *definitely lost: //p' "$log" | tail -n 1)
	possible=$(sed -n 's/^==[0-9]*== *possibly lost: //p' "$log" | tail -n 1)
	echo "valgrind: pid $pid ($cmd): ERROR SUMMARY: ${summary:-missing (killed?)};" \
	     "definitely lost: ${definite:-0 bytes}; possibly lost: ${possible:-0 bytes}"
	if grep -q '^==[0-9]*== ERROR SUMMARY: 0 errors' "$log"; then
		clean=$((clean + 1))
	else
		echo "==== $log"
		cat "$log"
		status=1
	fi
done

echo "valgrind: $clean/${#logs[@]} knotd processes with 0 errors, test exit $status," \
     "$(( $(date +%s) - start )) s: $([ "$status" -eq 0 ] && echo OK || echo FAILED)"
exit "$status"
