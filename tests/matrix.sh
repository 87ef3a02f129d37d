#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The module against the Knot of other Debian suites (the host's bookworm has
# 3.2): per suite, in a throw-away copy of a cached chroot image (the suite's
# minbase with the build and test packages), the working tree is built with
# -Werror and the meson suites run; knotd listens on loopback. As root.
#
#   tests/matrix.sh [SUITE...]          (default: the other two of bookworm trixie sid)
#   tests/matrix.sh --image SUITE...    only the images, their paths on stdout
#                                       (tests/package/test_deb.sh builds in them)
#
# Fails a suite on a build warning or a test failure. Last line, on stderr:
# "matrix: N passed, M failed (S s)". Environment: MXTRAP_MATRIX_SUITES (meson
# suites, default "unit integration dnssec"; ops too), MXTRAP_MATRIX_CACHE
# (<chroot cache>/matrix), MXTRAP_MATRIX_REFRESH=1 (remake the images),
# MXTRAP_MATRIX_KEEP=1 (keep each chroot, unmounted), MXTRAP_MATRIX_TIMEOUT
# (seconds for the build, and for the tests: 600 and 1500), and those of
# tests/lib/chroot.sh.
set -euo pipefail

src_dir=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib/chroot.sh
source "$src_dir/tests/lib/chroot.sh"

# Build and tests (nm of binutils for the install test comes with gcc; the
# dnssec and ops suites need unbound, dnsperf, ss); dpkg-buildpackage (it
# checks build-essential) with debian/control's Build-Depends (the rest are
# above); the exporter test reads the counters through libknot's Python
# binding; keymgr is in knot up to 3.4, in knot-keymgr from 3.5: installed
# where the suite has it.
PACKAGES=(knot libknot-dev knot-dnsutils check meson ninja-build pkg-config gcc libc6-dev unbound dnsperf iproute2
          build-essential debhelper dpkg-dev python3-libknot python3-prometheus-client)
OPTIONAL=(knot-keymgr)

# make_image NEW BASE SUITE (chroot_image's MAKE). Without manual pages,
# docs (but copyrights) and translations: smaller and faster to copy, and
# man-db (debhelper's) has no index to build.
make_image() {
	local new=$1 opt pkgs=("${PACKAGES[@]}")
	chroot_copy "$2" "$new" && chroot_mount "$new" && chroot_apt "$new" update || return 1
	printf '%s\n' 'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*' 'path-exclude=/usr/share/locale/*' \
		'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' >"$new/etc/dpkg/dpkg.cfg.d/01-nodoc"
	for opt in "${OPTIONAL[@]}"; do
		# shellcheck disable=SC2016 # the chroot's bash expands $1
		if chroot_run -t 60 "$new" 'apt-cache show "$1" >/dev/null 2>&1' "$opt"; then pkgs+=("$opt"); fi
	done
	MXTRAP_APT_TIMEOUT=${MXTRAP_APT_TIMEOUT:-1200} chroot_apt "$new" install "${pkgs[@]}" && chroot_apt "$new" clean
}
# image SUITE: the image's path, made when missing or when the base, the
# package lists or make_image changed.
image() {
	local base stamp
	base=$(chroot_base "$1") || return 1
	stamp=$(printf 'base %s\npackages %s\noptional %s\nmake %s\n' "$(stat -c '%i %Y' "$base")" "${PACKAGES[*]}" \
		"${OPTIONAL[*]}" "$(declare -f make_image | md5sum | cut -c 1-12)")
	[ "${MXTRAP_MATRIX_REFRESH:-0}" != 1 ] || rm -f "$cache/$1-tools.stamp"
	chroot_image "$cache/$1-tools" "$stamp" make_image "$base" "$1"
}

[ "$(id -u)" = 0 ] || { echo "matrix: must run as root (debootstrap, chroot, mount)" >&2; exit 1; }
cache=${MXTRAP_MATRIX_CACHE:-$(chroot_cache_dir)/matrix}
if [ "${1:-}" = --image ]; then
	for suite in "${@:2}"; do image "$suite" || exit 1; done
	exit 0
fi

suites=("$@")
# Default: the Knot series other than the host's (bookworm 3.2, trixie 3.4, sid 3.5).
host=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ ${#suites[@]} -gt 0 ] || for s in bookworm trixie sid; do [ "$s" = "$host" ] || suites+=("$s"); done
read -r -a meson_suites <<<"${MXTRAP_MATRIX_SUITES:-unit integration dnssec}"
for s in "${meson_suites[@]:-}"; do
	case $s in
	unit|integration|dnssec|ops) ;;
	*) echo "matrix: meson suites from unit integration dnssec ops, not '$s'" >&2; exit 1 ;;
	esac
done
step_timeout=${MXTRAP_MATRIX_TIMEOUT:-600}
test_timeout=${MXTRAP_MATRIX_TIMEOUT:-1500}

mkdir -p "$cache/runs"
# Run copies beside the images: same file system, reflinks where possible.
tmp=$(mktemp -d "$cache/runs/run.XXXXXX")
cleanup() {
	local rc=$?
	chroot_cleanup || rc=1
	if [ "${MXTRAP_MATRIX_KEEP:-0}" = 1 ]; then echo "matrix: kept $tmp" >&2; else chroot_remove "$tmp" || rc=1; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Inside the chroot (build timeout, tests' timeout, meson suites): "@@ NAME
# VALUE" lines for the summary, logs in /src/build-logs.
INSIDE=$(cat <<'EOF'
set -uo pipefail
t=$1 tt=$2
shift 2
cd /src && mkdir -p build-logs
echo "@@ knotd $(knotd --version 2>&1 | head -n 1)"
echo "@@ abi $(awk '/#define KNOTD_MOD_ABI_VERSION/ { print $3 }' /usr/include/knot/module.h)"
if ! timeout --kill-after=10 120 meson setup build >build-logs/setup.log 2>&1 ||
   ! timeout --kill-after=10 "$t" ninja -C build >build-logs/build.log 2>&1; then
	echo "@@ failed build"
	cat build-logs/setup.log build-logs/build.log 2>/dev/null | grep -E 'error|warning|FAILED|ERROR' | head -n 40
	exit 1
fi
# Warnings -Werror leaves (linker, meson) fail the suite too.
cat build-logs/setup.log build-logs/build.log | grep -iE 'warning[:[]' | head -n 20
echo "@@ warnings $(cat build-logs/setup.log build-logs/build.log | grep -ciE 'warning[:[]')"
timeout --kill-after=10 "$tt" meson test -C build $(printf ' --suite %s' "$@") --print-errorlogs --no-rebuild \
	>build-logs/test.log 2>&1
rc=$?
grep -E '^ *[0-9]+/[0-9]+ ' build-logs/test.log
[ $rc -eq 0 ] || grep -E '^(▶|not ok)|FAIL|ERROR|TIMEOUT' build-logs/test.log | grep -vE '^ *[0-9]+/[0-9]+ ' |
	awk '!seen[$0]++' | head -n 20 | cut -c 1-300
awk -F': *' '/^(Ok|Fail|Skipped|Timeout): / && ($1 ~ /^(Ok|Fail)$/ || $2 > 0) { s = s (s ? ", " : "") tolower($1) " " $2 + 0 }
	END { print "@@ summary " s }' build-logs/test.log
exit $rc
EOF
)

get() { sed -n "s/^@@ $1 //p" "$tmp/$suite.out" | head -n 1; }
start=$SECONDS passed=0 failed=0 results=()
for suite in "${suites[@]}"; do
	t0=$SECONDS root=$tmp/$suite rc=0
	echo "== $suite"
	if img=$(image "$suite") && chroot_copy "$img" "$root"; then
		chroot_mount "$root"
		copy_tree "$src_dir" "$root/src"
		chroot_run -t $((step_timeout + test_timeout + 180)) "$root" "$INSIDE" \
			"$step_timeout" "$test_timeout" "${meson_suites[@]}" >"$tmp/$suite.out" 2>&1 || rc=$?
		chroot_cleanup
	else
		echo "@@ failed no chroot (see above)" >"$tmp/$suite.out"
		rc=1
	fi
	grep -v '^@@ ' "$tmp/$suite.out" | sed 's/^ */    /' || true
	why=$(get failed)
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || why+=" timeout"
	[ $rc -eq 0 ] || [ -n "$why" ] || why=tests
	[ "$(get warnings)" = 0 ] || [ -n "$why" ] || why=warnings
	knot=$(get knotd)
	result="$suite: ${why:+FAILED ($why), }knot ${knot##* }, ABI $(get abi), $(get warnings) warnings,"
	result+=" ${meson_suites[*]}: $(get summary), $((SECONDS - t0)) s"
	echo "   $result"
	results+=("$result")
	if [ -z "$why" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	[ "${MXTRAP_MATRIX_KEEP:-0}" = 1 ] || chroot_remove "$root"
done

echo "== summary"
printf '   %s\n' "${results[@]}"
echo "matrix: $passed passed, $failed failed ($((SECONDS - start)) s)" >&2
[ "$failed" -eq 0 ]
