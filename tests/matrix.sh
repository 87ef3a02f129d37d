#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The module against the Knot of other Debian suites (the host's bookworm has
# 3.2), and against a Knot built from source: per target, in a throw-away
# copy of a cached chroot image (the suite's minbase with the build and test
# packages), the working tree is built with -Werror and the meson suites run,
# then built with ASan+UBSan and the sanitizer suites run with the module
# loaded into that knotd through LD_PRELOAD (as tests/sanitize.sh does on the
# host); knotd listens on loopback. As root.
#
#   tests/matrix.sh [TARGET...]         (default: the other two of bookworm trixie sid)
#   tests/matrix.sh --image SUITE...    only the images, their paths on stdout
#                                       (tests/package/test_deb.sh builds in them)
#
# A TARGET is a Debian suite (its knot packages), or knot-src: the Knot of the
# source tarball MXTRAP_KNOT_SRC (a knot-*.tar.xz, or a directory holding one;
# tests/run-all.sh --knot-src sets it), built once in a chroot of sid and
# cached by the tarball's SHA-256. Without MXTRAP_KNOT_SRC, knot-src is
# reported as not run and does not count as passed or failed.
#
# Fails a target on a build warning, a test failure or a sanitizer report,
# and prints the output of each failed test. Last line, on stderr: "matrix: N
# passed, M failed (S s)". Environment: MXTRAP_MATRIX_SUITES (meson suites of
# the plain build, default "unit integration"), MXTRAP_MATRIX_ASAN_SUITES (of
# the ASan build, default "unit integration dnssec"; empty: no ASan build;
# the ops test restore runs with them), MXTRAP_MATRIX_CACHE (<chroot
# cache>/matrix), MXTRAP_MATRIX_REFRESH=1 (remake the images),
# MXTRAP_MATRIX_KEEP=1 (keep each chroot, unmounted), MXTRAP_MATRIX_TIMEOUT
# (seconds for each build, and for the tests: 600 and 1500), and those of
# tests/lib/chroot.sh.
set -euo pipefail

src_dir=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib/chroot.sh
source "$src_dir/tests/lib/chroot.sh"

# Build and tests (nm of binutils for the install test comes with gcc; the
# dnssec and ops suites need unbound, dnsperf, ss; the unit and dnssec suites
# SoftHSM tokens); dpkg-buildpackage (it
# checks build-essential) with debian/control's Build-Depends (the rest are
# above); the exporter test reads the counters through libknot's Python
# binding; keymgr is in knot up to 3.4, in knot-keymgr from 3.5: installed
# where the suite has it.
PACKAGES=(knot libknot-dev knot-dnsutils check meson ninja-build pkg-config gcc libc6-dev unbound dnsperf iproute2
          build-essential debhelper dpkg-dev python3-libknot python3-prometheus-client libgnutls28-dev softhsm2)
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

# Knot from source: the release whose toolchain and libraries suit it (Knot
# 3.6 needs nothing sid lacks), what building it needs (QUIC through
# libngtcp2), and the test packages of PACKAGES but Debian's Knot: its
# libknot-dev (with libdnssec's own headers) would hide what the source
# changed.
SRC_SUITE=sid
SRC_PACKAGES=(autoconf automake libtool make gcc libc6-dev pkgconf libgnutls28-dev liburcu-dev liblmdb-dev
              libedit-dev libngtcp2-dev libngtcp2-crypto-gnutls-dev check meson ninja-build unbound dnsperf
              iproute2 python3 softhsm2)
# src_tarball: the tarball of MXTRAP_KNOT_SRC, or nothing.
src_tarball() {
	local t=${MXTRAP_KNOT_SRC:-}
	[ ! -d "$t" ] || t=$(find "$t" -maxdepth 1 -name 'knot-*.tar.xz' | sort | tail -n 1)
	[ -z "$t" ] || [ ! -f "$t" ] || realpath "$t"
}
# make_src_image NEW BASE TARBALL: the packages, then Knot configured as the
# knot-src README says (no fast parser: minutes less), installed in
# /usr/local with knotd's module directory; the source tree removed.
make_src_image() {
	local new=$1
	chroot_copy "$2" "$new" && chroot_mount "$new" && chroot_apt "$new" update || return 1
	printf '%s\n' 'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*' 'path-exclude=/usr/share/locale/*' \
		'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' >"$new/etc/dpkg/dpkg.cfg.d/01-nodoc"
	MXTRAP_APT_TIMEOUT=${MXTRAP_APT_TIMEOUT:-1200} chroot_apt "$new" install "${SRC_PACKAGES[@]}" &&
		chroot_apt "$new" clean || return 1
	mkdir -p "$new/usr/src/knot" && tar -C "$new/usr/src/knot" --strip-components=1 -xJf "$3" || return 1
	chroot_run -t 1800 "$new" 'set -e; cd /usr/src/knot; autoreconf -fi >/dev/null
		./configure --prefix=/usr/local --with-moduledir=/usr/local/lib/knot/modules \
			--disable-documentation --disable-fastparser --disable-static
		make -j"$(nproc)" >/dev/null; make install >/dev/null; ldconfig' || return 1
	rm -rf "$new/usr/src/knot"
}
# src_image TARBALL: the image's path, made when missing or when the
# tarball's checksum, the base, the packages or make_src_image changed.
src_image() {
	local base stamp
	base=$(chroot_base "$SRC_SUITE") || return 1
	stamp=$(printf 'source %s\nbase %s\npackages %s\nmake %s\n' "$(sha256sum "$1" | cut -d ' ' -f 1)" \
		"$(stat -c '%i %Y' "$base")" "${SRC_PACKAGES[*]}" "$(declare -f make_src_image | md5sum | cut -c 1-12)")
	[ "${MXTRAP_MATRIX_REFRESH:-0}" != 1 ] || rm -f "$cache/knot-src.stamp"
	chroot_image "$cache/knot-src" "$stamp" make_src_image "$base" "$1"
}

[ "$(id -u)" = 0 ] || { echo "matrix: must run as root (debootstrap, chroot, mount)" >&2; exit 1; }
cache=${MXTRAP_MATRIX_CACHE:-$(chroot_cache_dir)/matrix}
if [ "${1:-}" = --image ]; then
	for suite in "${@:2}"; do image "$suite" || exit 1; done
	exit 0
fi

targets=("$@")
# Default: the Knot series other than the host's (bookworm 3.2, trixie 3.4, sid 3.5).
host=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ ${#targets[@]} -gt 0 ] || for s in bookworm trixie sid; do [ "$s" = "$host" ] || targets+=("$s"); done
read -r -a plain_suites <<<"${MXTRAP_MATRIX_SUITES-unit integration}"
read -r -a asan_suites <<<"${MXTRAP_MATRIX_ASAN_SUITES-unit integration dnssec}"
for s in "${plain_suites[@]}" "${asan_suites[@]}"; do
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

# Inside the chroot (build timeout, tests' timeout, plain suites, "--",
# ASan suites): "@@ NAME VALUE" lines for the summary, logs in
# /src/build-logs; the output of each failed test (meson_failures).
INSIDE=$(cat <<'EOF'
set -uo pipefail
t=$1 tt=$2 plain=() asan=()
shift 2
while [ $# -gt 0 ] && [ "$1" != -- ]; do plain+=("$1"); shift; done
[ $# -eq 0 ] || { shift; asan=("$@"); }
cd /src && mkdir -p build-logs
source tests/lib/common.sh   # meson_results, meson_failures
echo "@@ knotd $(knotd --version 2>&1 | head -n 1)"
echo "@@ abi $(cat /usr/include/knot/module.h /usr/local/include/knot/module.h 2>/dev/null |
	awk '/#define KNOTD_MOD_ABI_VERSION/ { print $3 }')"
# build DIR [MESON_OPTION...]: with -Werror; warnings it leaves (linker,
# meson) counted in "@@ warnings".
warnings=0
build() {
	local dir=$1 n
	shift
	if ! timeout --kill-after=10 120 meson setup "$dir" "$@" >"build-logs/$dir-setup.log" 2>&1 ||
	   ! timeout --kill-after=10 "$t" ninja -C "$dir" >"build-logs/$dir.log" 2>&1; then
		echo "@@ failed build $dir"
		cat "build-logs/$dir-setup.log" "build-logs/$dir.log" 2>/dev/null | grep -E 'error|warning|FAILED|ERROR' | head -n 40
		return 1
	fi
	cat "build-logs/$dir-setup.log" "build-logs/$dir.log" | grep -iE 'warning[:[]' | head -n 20
	n=$(cat "build-logs/$dir-setup.log" "build-logs/$dir.log" | grep -ciE 'warning[:[]')
	warnings=$((warnings + n))
}
# run DIR LOGBASE ARG...: meson test ARG... in DIR, bounded; the tests' own
# lines in the output.
run() {
	local dir=$1 base=$2 rc=0
	shift 2
	timeout --kill-after=10 "$tt" meson test -C "$dir" --no-rebuild --num-processes 1 --logbase "$base" "$@" \
		>"build-logs/$dir-$base.log" 2>&1 || rc=$?
	grep -E '^ *[0-9]+/[0-9]+ ' "build-logs/$dir-$base.log" | sed "s|^|$dir: |"
	return $rc
}
# summary WORD JSON...: "@@ WORD passed N, failed M", and each failed test's output.
summary() {
	local word=$1 passed failed
	shift
	read -r passed failed < <(meson_results "$@")
	echo "@@ $word passed $passed, failed $failed"
	meson_failures "$@"
}
rc=0
if [ ${#plain[@]} -gt 0 ]; then
	build build || exit 1
	run build testlog $(printf ' --suite %s' "${plain[@]}") || rc=1
	summary plain build/meson-logs/testlog.json
fi
if [ ${#asan[@]} -gt 0 ]; then
	build build-asan -Db_sanitize=address,undefined || exit 1
	# Where the Knot programs' reports go (ASAN_OPTIONS log_path).
	mkdir -p build-asan/sanitizer-logs
	run build-asan testlog $(printf ' --suite %s' "${asan[@]}") || rc=1
	# zone-backup and zone-restore under queries: restore unloads and loads the module on Knot >= 3.5.4.
	run build-asan testlog-restore restore || rc=1
	summary asan build-asan/meson-logs/testlog.json build-asan/meson-logs/testlog-restore.json
	reports=$(find build-asan/sanitizer-logs -type f | sort)
	for f in $reports; do echo "==== sanitizer report: $f"; cat "$f"; done
	echo "@@ reports $(grep -c . <<<"$reports")"
	[ -z "$reports" ] || rc=1
fi
echo "@@ warnings $warnings"
exit $rc
EOF
)

get() { sed -n "s/^@@ $1 //p" "$tmp/$target.out" | head -n 1; }
start=$SECONDS passed=0 failed=0 results=()
for target in "${targets[@]}"; do
	t0=$SECONDS root=$tmp/$target rc=0 img=
	echo "== $target"
	if [ "$target" = knot-src ]; then
		tarball=$(src_tarball)
		if [ -z "$tarball" ]; then
			result="knot-src: NOT RUN: no Knot source tarball (MXTRAP_KNOT_SRC='${MXTRAP_KNOT_SRC:-}';"
			result+=" tests/run-all.sh --knot-src DIR)"
			echo "   $result"
			results+=("$result")
			continue
		fi
		echo "   source: $tarball"
		img=$(src_image "$tarball") || img=
	else
		img=$(image "$target") || img=
	fi
	if [ -n "$img" ] && chroot_copy "$img" "$root"; then
		chroot_mount "$root"
		copy_tree "$src_dir" "$root/src"
		chroot_run -t $((2 * step_timeout + 2 * test_timeout + 180)) "$root" "$INSIDE" \
			"$step_timeout" "$test_timeout" "${plain_suites[@]}" -- "${asan_suites[@]}" >"$tmp/$target.out" 2>&1 || rc=$?
		chroot_cleanup
	else
		echo "@@ failed no chroot (see above)" >"$tmp/$target.out"
		rc=1
	fi
	grep -v '^@@ ' "$tmp/$target.out" | sed 's/^/    /' || true
	why=$(get failed)
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || why+=" timeout"
	[ $rc -eq 0 ] || [ -n "$why" ] || why=tests
	[ "$(get warnings)" = 0 ] || [ -n "$why" ] || why=warnings
	knot=$(get knotd)
	result="$target: ${why:+FAILED ($why), }knot ${knot##* }, ABI $(get abi), $(get warnings) warnings"
	[ ${#plain_suites[@]} = 0 ] || result+="; ${plain_suites[*]}: $(get plain)"
	[ ${#asan_suites[@]} = 0 ] || result+="; ASan+UBSan ${asan_suites[*]} restore: $(get asan), $(get reports) reports"
	result+="; $((SECONDS - t0)) s"
	echo "   $result"
	results+=("$result")
	if [ -z "$why" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	[ "${MXTRAP_MATRIX_KEEP:-0}" = 1 ] || chroot_remove "$root"
done

echo "== summary"
printf '   %s\n' "${results[@]}"
echo "matrix: $passed passed, $failed failed ($((SECONDS - start)) s)" >&2
[ "$failed" -eq 0 ]
