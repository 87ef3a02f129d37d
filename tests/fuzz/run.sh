#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Fuzzes mxtrap_apply() with libFuzzer (clang, ASan+UBSan) for SECONDS (default 60) from
# tests/fuzz/corpus; fails on any crash, leak, timeout or failed check, keeping the input.
# Usage: tests/fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
work=$(mktemp -d /tmp/mxtrap-fuzz.XXXXXX)
artifacts=$(mktemp -d /tmp/mxtrap-fuzz-artifacts.XXXXXX)
trap 'rm -rf "$work"; rmdir "$artifacts" 2>/dev/null || true' EXIT

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if ! { CC=clang CFLAGS="$san" LDFLAGS="-fsanitize=address,undefined" \
	meson setup "$work/build" -Dfuzzer=true -Dbuildtype=debugoptimized &&
	ninja -C "$work/build" tests/fuzz/fuzz_core; } >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log"
	echo "fuzz: FAILED to build"
	exit 1
fi
cp -r tests/fuzz/corpus "$work/corpus"
echo "fuzz: $(ls "$work/corpus" | wc -l) seeds, running for ${seconds}s"
status=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 timeout -k 30 $((seconds + 120)) \
	"$work/build/tests/fuzz/fuzz_core" -max_total_time="$seconds" -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
	-dict=tests/fuzz/dns.dict "$work/corpus" >"$work/log" 2>&1 || status=$?
if [ "$status" = 0 ] && grep -q '^Done [0-9]* runs' "$work/log"; then
	grep -E '^#[0-9]+[[:space:]]+DONE|^Done|^stat::(number_of_executed|average_exec)' "$work/log"
	echo "fuzz: OK, no crash, leak or failed check"
else  # Without the line per new input.
	grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$work/log" | tail -n 80
	echo "fuzz: FAILED (status $status); reproducers: build/tests/fuzz/fuzz_replay $artifacts"
	exit 1
fi
