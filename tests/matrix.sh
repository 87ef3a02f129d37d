#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds mod-mxtrap and runs its meson suites against the Knot of other
# Debian suites (bookworm's Knot 3.2 is the host's: tests/run-all.sh), each in
# a throw-away copy of a cached chroot image, as root. knotd runs inside on
# 127.0.0.1/::1 free ports (the host's network).
#
#   tests/matrix.sh [SUITE...]          (default: trixie sid, Knot 3.4 and 3.5)
#
# Per suite: the image (tests/lib/chroot.sh: the suite's minbase with the
# build and test packages; made once, remade when the base or the package
# list changes), the working tree copied to /src (copy_tree), then inside:
# meson setup, ninja, meson test of the MXTRAP_MATRIX_SUITES. Printed per
# suite: the Knot version and module ABI, the build warnings (any fails the
# suite), the tests; the last line "matrix: N passed, M failed (S s)" on
# stderr. Exit status non-zero if a suite failed.
#
# Environment:
#   MXTRAP_MATRIX_SUITES   meson suites (default "unit integration dnssec";
#                          with dnssec or ops the image is SUITE-tools, which
#                          has TOOL_PACKAGES too)
#   MXTRAP_MATRIX_CACHE    the images (default: <chroot cache>/matrix)
#   MXTRAP_MATRIX_REFRESH  1: remake the images
#   MXTRAP_MATRIX_KEEP     1: keep each suite's chroot (unmounted), say where
#   MXTRAP_MATRIX_TIMEOUT  seconds for the build and for the tests (600 each;
#                          the tests get 1500 by default with dnssec or ops)
#   and those of tests/lib/chroot.sh (MXTRAP_CHROOT_CACHE, MXTRAP_MIRROR, ...).
set -euo pipefail

src_dir=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib/chroot.sh
source "$src_dir/tests/lib/chroot.sh"

# The build and the unit/integration suites (nm from binutils, a dependency
# of gcc, for the install test).
PACKAGES=(knot libknot-dev knot-dnsutils check meson ninja-build pkg-config gcc libc6-dev)
# What the dnssec and ops suites call besides (their need_tools): unbound,
# dnsperf, ss (iproute2); keymgr is in knot up to 3.4, from 3.5 in
# knot-keymgr, which knot only recommends: installed where the suite has it.
TOOL_PACKAGES=(unbound dnsperf iproute2)
TOOL_OPTIONAL=(knot-keymgr)

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(trixie sid)
read -r -a meson_suites <<<"${MXTRAP_MATRIX_SUITES:-unit integration dnssec}"
[ ${#meson_suites[@]} -gt 0 ] || { echo "matrix: MXTRAP_MATRIX_SUITES is empty" >&2; exit 1; }
image_tag='' extra=() optional=()
for s in "${meson_suites[@]}"; do
	case $s in
	unit|integration) ;;
	dnssec|ops) image_tag=-tools extra=("${TOOL_PACKAGES[@]}") optional=("${TOOL_OPTIONAL[@]}") ;;
	*) echo "matrix: unknown meson suite '$s' (unit integration dnssec ops)" >&2; exit 1 ;;
	esac
done
step_timeout=${MXTRAP_MATRIX_TIMEOUT:-600}
test_timeout=${MXTRAP_MATRIX_TIMEOUT:-$([ -n "$image_tag" ] && echo 1500 || echo 600)}
[ "$(id -u)" = 0 ] || { echo "matrix: must run as root (debootstrap, chroot, mount)" >&2; exit 1; }

cache=${MXTRAP_MATRIX_CACHE:-$(chroot_cache_dir)/matrix}
mkdir -p "$cache/runs"
# Run copies next to the images: same file system (reflinks where possible).
tmp=$(mktemp -d "$cache/runs/run.XXXXXX")
run_pid=
cleanup() {
	local rc=$?
	[ -z "$run_pid" ] || kill "$run_pid" 2>/dev/null || true
	chroot_cleanup || rc=1
	if [ "${MXTRAP_MATRIX_KEEP:-0}" = 1 ]; then
		echo "matrix: kept $tmp" >&2
	else
		chroot_remove "$tmp" || rc=1
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# make_image NEW BASE SUITE: BASE + PACKAGES + extra + those of optional
# SUITE has (chroot_image's MAKE).
make_image() {
	local new=$1 opt pkgs=("${PACKAGES[@]}" "${extra[@]}")
	chroot_copy "$2" "$new" && chroot_mount "$new" && chroot_apt "$new" update || return 1
	for opt in "${optional[@]}"; do
		# shellcheck disable=SC2016 # $1: the chroot's bash expands it
		if chroot_run -t 60 "$new" 'apt-cache show "$1" >/dev/null 2>&1' "$opt"; then
			pkgs+=("$opt")
		else
			echo "matrix: $opt: not in $3"
		fi
	done
	chroot_apt "$new" install "${pkgs[@]}" && chroot_apt "$new" clean
}
# image SUITE: the image's path (made first when needed); the stamp: the
# base's identity and the package lists.
image() {
	local base stamp dir=$cache/$1$image_tag all=("${PACKAGES[@]}" "${extra[@]}")
	base=$(chroot_base "$1") || return 1
	stamp=$(printf 'base %s\npackages %s\n' "$(stat -c '%i %Y' "$base")" "${all[*]}"
		[ ${#optional[@]} -eq 0 ] || printf 'optional %s\n' "${optional[*]}")
	[ "${MXTRAP_MATRIX_REFRESH:-0}" != 1 ] || rm -f "$dir.stamp"
	chroot_image "$dir" "$stamp" make_image "$base" "$1"
}

# Inside the chroot ($1: the build timeout, $2: the tests', then the meson
# suites): marked lines "@@ NAME VALUE" for the summary, logs in
# /src/build-logs.
INSIDE=$(cat <<'EOF'
set -uo pipefail
t=$1 tt=$2
shift 2
suite_args=()
for s in "$@"; do suite_args+=(--suite "$s"); done
cd /src && mkdir -p build-logs
echo "@@ knotd $(knotd --version 2>&1 | head -n 1)"
echo "@@ abi $(awk '/#define KNOTD_MOD_ABI_VERSION/ { print $3 }' /usr/include/knot/module.h)"
if ! timeout --kill-after=10 120 meson setup build >build-logs/setup.log 2>&1; then
	echo "@@ failed meson setup"
	tail -n 30 build-logs/setup.log
	exit 1
fi
if ! timeout --kill-after=10 "$t" ninja -C build >build-logs/build.log 2>&1; then
	echo "@@ failed ninja"
	grep -E 'error|warning|FAILED' build-logs/build.log | head -n 40
	exit 1
fi
# Compiler and linker warnings (those -Werror leaves), meson's warnings.
grep -iE 'warning[:[]' build-logs/setup.log build-logs/build.log | head -n 20 | sed 's/^/    /'
echo "@@ warnings $(cat build-logs/setup.log build-logs/build.log | grep -ciE 'warning[:[]')"
timeout --kill-after=10 "$tt" meson test -C build "${suite_args[@]}" --print-errorlogs --no-rebuild \
	>build-logs/test.log 2>&1
rc=$?
# One line per test; for failures meson's reports.
grep -E '^ *[0-9]+/[0-9]+ ' build-logs/test.log | sed 's/^ */    /'
[ $rc -eq 0 ] || grep -E '^(▶|not ok)|FAIL|ERROR|TIMEOUT' build-logs/test.log | grep -vE '^ *[0-9]+/[0-9]+ ' |
	awk '!seen[$0]++' | head -n 20 | cut -c 1-300
# "ok N, fail N", then the other counts meson gives when not 0.
awk -F': *' '/^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout): / { n[$1] = $2 + 0 }
	END {
		s = "ok " n["Ok"] + 0 ", fail " n["Fail"] + 0
		split("Expected Fail,Unexpected Pass,Skipped,Timeout", o, ",")
		for (i = 1; i <= 4; i++) if (n[o[i]] > 0) s = s ", " tolower(o[i]) " " n[o[i]]
		print "@@ summary " s
	}' build-logs/test.log
exit $rc
EOF
)

# get NAME: the value of the "@@ NAME" line of the current suite's output.
get() { sed -n "s/^@@ $1 //p" "$tmp/$suite.out" | head -n 1; }
start=$SECONDS
passed=0 failed=0 results=()
for suite in "${suites[@]}"; do
	t0=$SECONDS
	root=$tmp/$suite
	echo "== $suite"
	rc=0
	if img=$(image "$suite") && chroot_copy "$img" "$root"; then
		t1=$SECONDS
		chroot_mount "$root"
		copy_tree "$src_dir" "$root/src"
		# In the background: a signal is handled at once, not after the build.
		chroot_run -t $((step_timeout + test_timeout + 180)) "$root" "$INSIDE" \
			"$step_timeout" "$test_timeout" "${meson_suites[@]}" >"$tmp/$suite.out" 2>&1 &
		run_pid=$!
		wait "$run_pid" || rc=$?
		run_pid=
		chroot_cleanup
	else
		t1=$SECONDS
		echo "@@ failed no chroot (see above)" >"$tmp/$suite.out"
		rc=1
	fi
	grep -v '^@@ ' "$tmp/$suite.out" | sed 's/^/    /' || true
	warnings=$(get warnings) summary=$(get summary) knotd_v=$(get knotd) abi=$(get abi)
	echo "   knot:     ${knotd_v:-?}, module ABI ${abi:-?}"
	echo "   warnings: ${warnings:-?}"
	echo "   tests:    ${summary:-none} (suites ${meson_suites[*]})"
	echo "   time:     $((t1 - t0)) s chroot, $((SECONDS - t1)) s build and tests"
	verdict=ok
	why=$(get failed)
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || why+=" timeout"
	[ $rc -eq 0 ] || [ -n "$why" ] || why="tests"
	[ "${warnings:-1}" = 0 ] || [ -n "$why" ] || why="warnings"
	if [ -n "$why" ]; then
		verdict=FAILED
		echo "   failed:   $why"
		echo "   logs:     $([ "${MXTRAP_MATRIX_KEEP:-0}" = 1 ] && echo "$root/src/build-logs" || echo "removed (MXTRAP_MATRIX_KEEP=1 keeps them)")"
	fi
	if [ $verdict = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	results+=("$suite: $verdict, ${knotd_v##* } ABI ${abi:-?}, ${warnings:-?} warnings, ${summary:-no tests}, $((SECONDS - t0)) s")
	[ "${MXTRAP_MATRIX_KEEP:-0}" = 1 ] || chroot_remove "$root"
done

echo "== summary"
printf '   %s\n' "${results[@]}"
echo "matrix: $passed passed, $failed failed ($((SECONDS - start)) s)" >&2
[ "$failed" -eq 0 ]
