#!/usr/bin/env bash
# Builds mod-mxtrap and runs its meson suites unit and integration (tests
# core, signed, fuzz-replay, answers, conf, install) against the Knot of
# other Debian suites, each in a minimal chroot (as root). Bookworm's Knot 3.2
# is the host's (tests/run-all.sh); the default here is trixie (3.4) and sid
# (3.5). On request (MXTRAP_MATRIX_SUITES) the meson suites dnssec and ops
# too, in an image with the tools they need.
#
#   tests/matrix.sh [SUITE...]
#
# Per suite: a throw-away copy of a prepared image (the cached debootstrap
# minbase of tests/lib/chroot.sh with the build and test packages installed,
# made once, remade when the base or the package list changes), the working
# tree copied to /src (git ls-files: tracked and untracked, not ignored), then
# inside: meson setup, ninja, meson test --suite unit --suite integration (or
# the suites of MXTRAP_MATRIX_SUITES).
# knotd runs inside the chroot on 127.0.0.1/::1 free ports (the host's
# network). Printed per suite: the Knot version and module ABI, build warnings
# (any is a failure), the meson test results; a closing line
# "matrix: N passed, M failed" on stderr. Exit status non-zero if a suite
# failed.
#
# Environment:
#   MXTRAP_MATRIX_SUITES   meson suites to run (default "unit integration");
#                          with dnssec or ops the image is SUITE-tools, which
#                          has TOOL_PACKAGES too (its own cache entry: the
#                          default image stays as it is), e.g.
#                          MXTRAP_MATRIX_SUITES="unit integration dnssec ops"
#   MXTRAP_MATRIX_CACHE    prepared images (default: <chroot cache>/matrix)
#   MXTRAP_MATRIX_REFRESH  1: remake the prepared images
#   MXTRAP_MATRIX_KEEP     1: keep each suite's chroot (unmounted) and say where
#   MXTRAP_MATRIX_TIMEOUT  seconds for the build and for the tests (600 each;
#                          the tests get 1500 by default with dnssec or ops)
#   and those of tests/lib/chroot.sh (MXTRAP_CHROOT_CACHE, MXTRAP_MIRROR, ...).
set -euo pipefail

src_dir=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib/chroot.sh
source "$src_dir/tests/lib/chroot.sh"

# What the build and the unit/integration suites need (knotc, knotd; nm from
# binutils, a dependency of gcc, for the install test).
PACKAGES=(knot libknot-dev knot-dnsutils check meson ninja-build pkg-config gcc libc6-dev)
# What the suites dnssec and ops call besides (need_tools in tests/dnssec/
# dnssec.sh and tests/ops/*.sh): unbound, unbound-control, unbound-checkconf
# (dnssec), dnsperf (ops/live), ss from iproute2 (dnssec's evidence for a port
# still bound); kdig and knsupdate come with knot-dnsutils. keymgr is in knot
# up to 3.4; from 3.5 it is in knot-keymgr, which knot only recommends (and
# apt runs without recommends): installed where the suite has it.
TOOL_PACKAGES=(unbound dnsperf iproute2)
TOOL_OPTIONAL=(knot-keymgr)

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(trixie sid)

read -r -a meson_suites <<<"${MXTRAP_MATRIX_SUITES:-unit integration dnssec}"
[ ${#meson_suites[@]} -gt 0 ] || { echo "matrix: MXTRAP_MATRIX_SUITES is empty" >&2; exit 1; }
image_tag=
extra=()
optional=()
for s in "${meson_suites[@]}"; do
	case $s in
	unit|integration) ;;
	dnssec|ops)
		image_tag=-tools
		extra=("${TOOL_PACKAGES[@]}")
		optional=("${TOOL_OPTIONAL[@]}")
		;;
	*)
		echo "matrix: unknown meson suite '$s' in MXTRAP_MATRIX_SUITES (unit integration dnssec ops)" >&2
		exit 1
		;;
	esac
done
test_timeout=${MXTRAP_MATRIX_TIMEOUT:-$([ -n "$image_tag" ] && echo 1500 || echo 600)}

[ "$(id -u)" = 0 ] || { echo "matrix: must run as root (debootstrap, chroot, mount)" >&2; exit 1; }

cache=${MXTRAP_MATRIX_CACHE:-$(chroot_cache_dir)/matrix}
step_timeout=${MXTRAP_MATRIX_TIMEOUT:-600}
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

log() { echo "matrix: $*" >&2; }
now() { date +%s; }

# prepared_stamp SUITE: what a prepared image is made from (base identity and
# package lists); a different stamp means the image is remade.
prepared_stamp() {
	local base all=("${PACKAGES[@]}" "${extra[@]}")
	base=$(chroot_base "$1") || return 1
	printf 'base %s\npackages %s\n' "$(stat -c '%i %Y' "$base")" "${all[*]}"
	[ ${#optional[@]} -eq 0 ] || printf 'optional %s\n' "${optional[*]}"
}

# prepare_image SUITE: makes $cache/SUITE$image_tag (base + PACKAGES + extra,
# and those of optional the suite has), caller holds the lock.
prepare_image() {
	local suite=$1 image=$1$image_tag stamp new stale pkgs opt
	stamp=$(prepared_stamp "$suite") || return 1
	if [ "${MXTRAP_MATRIX_REFRESH:-0}" != 1 ] && [ -x "$cache/$image/usr/sbin/knotd" ] &&
	   [ "$(cat "$cache/$image.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	for stale in "$cache/.$image.new."*; do
		[ -e "$stale" ] || continue
		chroot_remove "$stale" || return 1
	done
	pkgs=("${PACKAGES[@]}" "${extra[@]}")
	log "$image: preparing the image (apt-get install ${pkgs[*]}${optional[*]:+, if there: ${optional[*]}})"
	new=$(mktemp -u "$cache/.$image.new.XXXXXX")
	chroot_fresh "$suite" "$new" >/dev/null || return 1
	local ok=1
	chroot_mount "$new" || ok=
	if [ -n "$ok" ]; then
		{
			chroot_apt "$new" update &&
			for opt in "${optional[@]}"; do
				# shellcheck disable=SC2016 # $1: the chroot's bash expands it
				if chroot_run -t 60 "$new" 'apt-cache show "$1" >/dev/null 2>&1' "$opt"; then
					pkgs+=("$opt")
				else
					echo "matrix: $opt: not in $suite"
				fi
			done &&
			chroot_apt "$new" install "${pkgs[@]}" &&
			chroot_apt "$new" clean
		} >"$tmp/$image.prepare.log" 2>&1 || ok=
	fi
	chroot_umount "$new" || ok=
	if [ -z "$ok" ]; then
		log "$image: preparing failed:"
		tail -n 20 "$tmp/$image.prepare.log" >&2 || true
		chroot_remove "$new" || true
		return 1
	fi
	log "$image: installed ${pkgs[*]}"
	chroot_remove "$cache/$image" || return 1
	mv "$new" "$cache/$image"
	echo "$stamp" >"$cache/$image.stamp"
}

# fresh_root SUITE DEST: a copy of the prepared image at DEST, under the
# image's lock (a concurrent run may be remaking it).
fresh_root() {
	local suite=$1 dest=$2 image=$1$image_tag lock_fd rc=0
	exec {lock_fd}>"$cache/.$image.lock"
	if ! flock -w 900 "$lock_fd"; then
		exec {lock_fd}>&-
		log "$image: timeout waiting for the lock on $cache/$image"
		return 1
	fi
	if prepare_image "$suite"; then
		mkdir -p "$dest"
		cp -a --reflink=auto "$cache/$image/." "$dest/" || rc=1
		chroot_prepare "$dest"
	else
		rc=1
	fi
	exec {lock_fd}>&-
	return $rc
}

# copy_tree DEST: the working tree's files git knows of (tracked and untracked,
# not ignored: no build directories), or everything but build*/ and .git.
copy_tree() {
	local dest=$1
	mkdir -p "$dest"
	if git -C "$src_dir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$src_dir" && git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				# Deleted but not yet staged: not in the working tree.
				if [ -e "$f" ] || [ -L "$f" ]; then
					printf '%s\0' "$f"
				fi
			done | tar --null -T - -cf -) | tar -C "$dest" -xf -
	else
		tar -C "$src_dir" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$dest" -xf -
	fi
}

# The build and the tests, inside the chroot ($1: the build timeout, $2: the
# tests' timeout, then the meson suites). Output: marked lines "@@ NAME VALUE"
# for the summary, the logs in /src/build-logs.
INSIDE=$(cat <<'EOF'
set -uo pipefail
t=$1
tt=$2
shift 2
suite_args=()
for s in "$@"; do suite_args+=(--suite "$s"); done
cd /src
mkdir -p build-logs
echo "@@ knotd $(knotd --version 2>&1 | head -n 1)"
echo "@@ abi $(awk '/#define KNOTD_MOD_ABI_VERSION/ { print $3 }' /usr/include/knot/module.h)"
echo "@@ libknot $(pkg-config --modversion libknot)"
echo "@@ tools gcc $(gcc -dumpfullversion), meson $(meson --version), ninja $(ninja --version)"
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
grep -iE 'warning[:[]' build-logs/setup.log build-logs/build.log >build-logs/warnings.log
echo "@@ warnings $(grep -c . build-logs/warnings.log)"
sed -n '1,20s/^/    /p' build-logs/warnings.log
echo "@@ suites $*"
timeout --kill-after=10 "$tt" meson test -C build "${suite_args[@]}" \
	--print-errorlogs --no-rebuild >build-logs/test.log 2>&1
rc=$?
echo "@@ tests_rc $rc"
# One line per test; for failures meson's reports (TAP "not ok", Check's messages).
grep -E '^ *[0-9]+/[0-9]+ ' build-logs/test.log | sed 's/^ */    /'
[ $rc -eq 0 ] || grep -E '^(▶|not ok)|FAIL|ERROR|TIMEOUT' build-logs/test.log | head -n 20 | cut -c 1-300
# "ok N, fail N", then the other counts meson gives when not 0.
awk -F': *' '/^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout): / { n[tolower($1)] = $2 + 0 }
	END {
		s = "ok " n["ok"] + 0 ", fail " n["fail"] + 0
		split("expected fail,unexpected pass,skipped,timeout", o, ",")
		for (i = 1; i <= 4; i++) if (n[o[i]] > 0) s = s ", " o[i] " " n[o[i]]
		print "@@ summary " s
	}' build-logs/test.log
exit $rc
EOF
)

# get NAME: the value of the "@@ NAME" line of the current suite's output.
get() { sed -n "s/^@@ $1 //p" "$tmp/$suite.out" | head -n 1; }

start=$(now)
passed=0
failed=0
results=()
for suite in "${suites[@]}"; do
	t0=$(now)
	root=$tmp/$suite
	echo "== $suite"
	if ! fresh_root "$suite" "$root"; then
		echo "   $suite: no chroot (see above)"
		failed=$((failed + 1))
		results+=("$suite: FAILED (no chroot)")
		continue
	fi
	t1=$(now)
	chroot_mount "$root"
	copy_tree "$root/src"
	# In the background: a signal is handled at once, not after the build.
	chroot_run -t $((step_timeout + test_timeout + 180)) "$root" "$INSIDE" \
		"$step_timeout" "$test_timeout" "${meson_suites[@]}" >"$tmp/$suite.out" 2>&1 &
	run_pid=$!
	rc=0
	wait "$run_pid" || rc=$?
	run_pid=
	t2=$(now)
	chroot_cleanup
	# Details indented, the marked values collected.
	grep -v '^@@ ' "$tmp/$suite.out" | sed 's/^/    /' || true
	knotd_v=$(get knotd)
	abi=$(get abi)
	warnings=$(get warnings)
	summary=$(get summary)
	step_failed=$(get failed)
	echo "   knot:     ${knotd_v:-?} (libknot $(get libknot)), module ABI ${abi:-?}"
	echo "   tools:    $(get tools)"
	echo "   warnings: ${warnings:-?}"
	echo "   tests:    ${summary:-none} (suites $(get suites))"
	echo "   time:     $((t1 - t0)) s chroot, $((t2 - t1)) s build and tests"
	verdict=ok
	if [ $rc -ne 0 ] || [ "${warnings:-1}" != 0 ] || [ -n "$step_failed" ]; then
		verdict=FAILED
		[ -z "$step_failed" ] || echo "   failed:   $step_failed"
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			echo "   failed:   timeout"
		fi
		if [ "${MXTRAP_MATRIX_KEEP:-0}" = 1 ]; then
			echo "   logs:     $root/src/build-logs"
		else
			echo "   logs:     removed (MXTRAP_MATRIX_KEEP=1 keeps them)"
		fi
	fi
	if [ "$verdict" = ok ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
	results+=("$suite: $verdict, ${knotd_v##* } ABI ${abi:-?}, ${warnings:-?} warnings, ${summary:-no tests}, $((t2 - t0)) s")
	[ "${MXTRAP_MATRIX_KEEP:-0}" = 1 ] || chroot_remove "$root"
done

echo "== summary"
printf '   %s\n' "${results[@]}"
echo "matrix: $passed passed, $failed failed ($(($(now) - start)) s)" >&2
[ "$failed" -eq 0 ]
