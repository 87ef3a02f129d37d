#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Debian package test, per Debian release. Proves that knot-module-mxtrap,
# built in the release's environment, depends on exactly the release's Knot
# series (its version above the previous release's), installs with apt in a
# fresh chroot of the release (pulling in its knot), that its knotd finds the
# module by name alone (`module: mod-mxtrap`): the trap in that zone, none in
# the other, a clean log and exit; and that apt refuses it next to a Knot of
# another series.
#
#   tests/package/test_deb.sh [SUITE...]   (in release order; default: bookworm trixie sid)
#
# Each package is built by dpkg-buildpackage in a copy of its suite's cached
# image (tests/matrix.sh --image) and installed in a copy of the suite's
# minbase (chroot_fresh). TAP; as root, needs the Debian mirror. The time per
# suite in notes; "package: N passed, M failed" on stderr; PACKAGE_KEEP=1 keeps $tmp.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bookworm trixie sid)
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"
TAP_NAME=package
# shellcheck source=tests/lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=tests/lib/chroot.sh
source "$here/../lib/chroot.sh"
[ "$(id -u)" = 0 ] || bail "needs root (chroot, mount)"
need_tools kdig dpkg-deb chroot mount flock tar

start_time=$SECONDS
tmp=$(mktemp -d /tmp/mxtrap-package.XXXXXX)
pid=
cleanup() {
	local rc=$?
	stop_pid "$pid"
	chroot_cleanup || rc=1
	if [ "${PACKAGE_KEEP:-}" = 1 ]; then echo "# kept $tmp"; else chroot_remove "$tmp" || rc=1; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# debian/knot-module-depends ABI VERSION MODULE_DIR: 400 -> the 3.2 series,
# 600 -> 3.4-3.6, or one series when the module directory names it; an
# unknown ABI or a version of another ABI fails.
depends_table() {
	local args want got errs=
	while IFS='|' read -r args want; do
		# shellcheck disable=SC2086 # three arguments
		got=$(sh "$repo/debian/knot-module-depends" $args 2>/dev/null) || got=FAIL
		[ "$got" = "$want" ] || errs+="$args: got '$got', want '$want'"$'\n'
	done <<-'EOF'
		400 3.2.6 /usr/lib/x86_64-linux-gnu/knot/modules-3.2|knot (>= 3.2~), knot (<< 3.3~)
		500 3.3.5 /usr/lib/x86_64-linux-gnu/knot/modules-3.3|knot (>= 3.3~), knot (<< 3.4~)
		600 3.4.4 /usr/lib/x86_64-linux-gnu/knot/modules-3.4|knot (>= 3.4~), knot (<< 3.5~)
		600 3.5.1 /usr/lib/x86_64-linux-gnu/knot/modules-3.5|knot (>= 3.5~), knot (<< 3.6~)
		600 3.6.2 /usr/lib/x86_64-linux-gnu/knot/modules-3.6|knot (>= 3.6~), knot (<< 3.7~)
		600 3.5.1 /usr/local/lib/knot|knot (>= 3.4~), knot (<< 3.7~)
		600 3.4.0 /usr/lib/knot/|knot (>= 3.4~), knot (<< 3.7~)
		400 3.3.0 /usr/lib/knot|FAIL
		700 3.6.0 /usr/lib/knot|FAIL
		600 3.4.4 /usr/lib/knot/modules-3.5|FAIL
	EOF
	check "debian/knot-module-depends: the Knot range of each module ABI" "$errs"
}

# build_deb SUITE: dpkg-buildpackage in a copy of SUITE's image; sets deb, and
# from that image's knot: want (its series alone: Debian's knotd loads
# modules from .../modules-X.Y only) and module_dir.
build_deb() {
	local s=$1 b=$tmp/$1/build img errs='' t0=$SECONDS version='' major='' minor='' debs
	deb='' want='' module_dir=''
	img=$(bash "$repo/tests/matrix.sh" --image "$s" 2>"$tmp/$s/image.log") ||
		{ check "$s: build image" "$(tail -n 20 "$tmp/$s/image.log")"; return 1; }
	if ! chroot_copy "$img" "$b" || ! chroot_mount "$b"; then check "$s: build chroot" "copying $img failed"; return 1; fi
	copy_tree "$repo" "$b/src/knot-mxtrap"
	chroot_run -t 600 "$b" 'cd /src/knot-mxtrap && dpkg-buildpackage -us -uc -b' >"$tmp/$s/build.log" 2>&1 ||
		errs="dpkg-buildpackage failed:"$'\n'"$(tail -n 25 "$tmp/$s/build.log")"
	# shellcheck disable=SC2016 # the chroot's shell expands it
	read -r version module_dir < <(chroot_run -t 60 "$b" \
		'echo "$(dpkg-query -W -f="\${Version}" knot) $(pkg-config --variable=module_instdir knotd)"' || true)
	read -r major minor < <(sed -n 's/^\([0-9]*:\)\{0,1\}\([0-9]*\)\.\([0-9]*\)[.~].*/\2 \3/p' <<<"$version")
	[ -n "${minor:-}" ] && [ -n "$module_dir" ] || errs+="no knot version or module dir: '$version' '$module_dir'"$'\n'
	want="knot (>= $major.$minor~), knot (<< $major.$((minor + 1))~)"
	debs=("$b"/src/knot-module-mxtrap_*.deb)
	if [ -z "$errs" ] && { [ ${#debs[@]} != 1 ] || [ ! -f "${debs[0]}" ]; }; then
		errs="expected one .deb, got: ${debs[*]}"
	fi
	check "$s: dpkg-buildpackage -us -uc -b against knot $version ($((SECONDS - t0)) s)" "$errs"
	[ -z "$errs" ] || return 1
	deb=$tmp/$s/${debs[0]##*/}
	mv "${debs[0]}" "$deb"
	chroot_remove "$b" || true
}

# inspect_deb SUITE: the .deb's Depends, version (above the previous
# suite's) and files; the .deb joins $built_debs for lintian_debs.
prev='' built_debs=()
inspect_deb() {
	local s=$1 depends version contents f errs=
	depends=$(dpkg-deb -f "$deb" Depends)
	check "$s: the .deb depends on '$want'" "$([[ ", $depends, " == *", $want, "* ]] || echo "Depends: $depends")"
	version=$(dpkg-deb -f "$deb" Version)
	[ -z "$prev" ] || check "$s: version $version above ${prev% *}'s ${prev#* } (the release upgrade upgrades it)" \
		"$(dpkg --compare-versions "${prev#* }" lt "$version" || echo "not above")"
	prev="$s $version"
	contents=$(dpkg-deb -c "$deb" | awk '{ print substr($6, 2) }')
	for f in "$module_dir/mxtrap.so" /usr/share/doc/knot-module-mxtrap/{mxtrap.rst.gz,README.md.gz,copyright}; do
		grep -qxF "$f" <<<"$contents" || errs+="$f not in the package"$'\n'
	done
	check "$s: mxtrap.so in $module_dir, and the docs" "$errs"
	built_debs+=("$deb")
}

# lintian_debs: the host's lintian over every .deb built, in one run (its
# start-up is most of its time).
lintian_debs() {
	local log=$tmp/lintian.log
	if ! command -v lintian >/dev/null; then skip "no lintian error" "lintian not installed"; return 0; fi
	[ ${#built_debs[@]} -gt 0 ] || return 0
	timeout 300 lintian --tag-display-limit 0 "${built_debs[@]}" >"$log" 2>&1 || true
	grep -v 'running with root privileges' "$log" | sed 's/^/# lintian: /' || true
	check "no lintian error in ${built_debs[*]##*/}" "$(grep '^E: ' "$log" || true)"
}

# install_deb SUITE: apt-get install of the .deb in a fresh SUITE chroot; sets root.
install_deb() {
	local s=$1 errs='' t0=$SECONDS version op v
	if ! root=$(chroot_fresh "$s" "$tmp/$s/root") || ! chroot_mount "$root" || ! chroot_apt_cache "$root" "$s"; then
		check "$s: fresh chroot" "no $s chroot"
		return 1
	fi
	cp "$deb" "$root/tmp/"
	{ chroot_apt "$root" update && chroot_apt "$root" install "/tmp/${deb##*/}"; } >"$tmp/$s/apt.log" 2>&1 ||
		errs="apt-get failed:"$'\n'"$(tail -n 25 "$tmp/$s/apt.log")"$'\n'
	version=$(chroot_run -t 60 "$root" "dpkg-query -W -f='\${Version}' knot" 2>/dev/null || true)
	while read -r op v; do
		dpkg --compare-versions "${version:-0}" "$op" "$v" || errs+="knot '$version' is not $op $v"$'\n'
	done < <(grep -o 'knot ([^)]*)' <<<"$want" | sed 's/^knot (\(.*\) \(.*\))$/\1 \2/; s/^>=/ge/; s/^<</lt/')
	check "$s: apt-get install pulls in knot ${version:-?}, inside the range ($((SECONDS - t0)) s)" "$errs"
	[ -z "$errs" ]
}

# serve SUITE: the chroot's knotd with `module: mod-mxtrap` alone on example.com.
serve() {
	local s=$1 port kdir=$root/tmp/knot log=$tmp/$1/knotd.log name want got errs=
	take_ports port
	mkdir -p "$kdir/run" "$kdir/db" "$kdir/zones"
	cp "$repo/conf-examples/example.com.zone" "$kdir/zones/"
	# shellcheck disable=SC2016 # a zone file's $ORIGIN
	printf '%s\n' '$ORIGIN example.net.' '@ 3600 SOA ns1 hostmaster 1 3600 900 1209600 300' '@ 3600 NS ns1' \
		'ns1 3600 A 192.0.2.53' '@ 3600 MX 10 mx1' '@ 3600 MX 20 mx2' >"$kdir/zones/example.net.zone"
	printf '%s\n' server: '    rundir: "/tmp/knot/run"' "    listen: 127.0.0.1@$port" log: '  - target: stderr' \
		'    any: info' database: '    storage: "/tmp/knot/db"' template: '  - id: default' \
		'    storage: "/tmp/knot/zones"' '    file: "%s.zone"' zone: '  - domain: example.com' \
		'    module: mod-mxtrap' '  - domain: example.net' >"$kdir/knot.conf"
	chroot_spawn "$log" "$root" knotd -c /tmp/knot/knot.conf
	pid=$chroot_spawned_pid
	soa_ok() { q "$tmp/soa" "$port" example.com. SOA; [ "$(rcode_of "$tmp/soa")" = NOERROR ]; }
	if ! wait_for "knotd in the $s chroot" 30 soa_ok; then
		check "$s: knotd answers" "$(tail -n 20 "$log")"
		stop_pid "$pid"
		pid=
		return 1
	fi
	while IFS='|' read -r name want; do
		q "$tmp/mx" "$port" "$name" MX
		got=$(mx_of "$tmp/mx" | paste -sd,)
		[ "$got" = "$want" ] || errs+="$name: got {$got}, want {$want}; rcode $(rcode_of "$tmp/mx")"$'\n'
	done <<-'EOF'
		example.com.|10 mail1.example.com.,20 mail2.example.com.,99 mail1.example.com.
		lists.example.com.|10 mail2.example.com.,50 mail1.example.com.,99 mail2.example.com.
		solo.example.com.|10 mail1.example.com.
		example.net.|10 mx1.example.net.,20 mx2.example.net.
	EOF
	[ -z "$errs" ] || errs+="$(tail -n 20 "$log")"
	check "$s: knotd, 'module: mod-mxtrap' only: the trap in example.com, example.net untouched" "$errs"
	check "$s: no error or warning in knotd's log" "$(grep -Ei 'error|warning' "$log" | head -n 10 || true)"
	stop_server knotd "$pid" "$port" "$log"
	pid=
	check "$s: knotd exits on SIGTERM (status 0), port released" "$stop_errs"
}

# apt_refuses SUITE: stand-in knot packages (held) just below, inside and at the
# end of the range; apt must take the .deb only with the one inside.
apt_refuses() {
	local s=$1 major minor hi case v expect got d log=$tmp/$1/standin.log errs=
	read -r major minor < <(sed -n 's/.*knot (>= \([0-9]*\)\.\([0-9]*\)~).*/\1 \2/p' <<<"$want")
	hi=$(sed -n 's/.*knot (<< \([0-9.]*\)~).*/\1/p' <<<"$want")
	chroot_run -t 120 "$root" 'apt-get purge -y -q knot-module-mxtrap knot' >"$log" 2>&1 ||
		{ check "$s: removing the installed packages" "$(tail -n 5 "$log")"; return 1; }
	for case in "$major.$((minor - 1)).99-1:refused" "$major.$minor.99-1:accepted" "$hi.0-1:refused"; do
		v=${case%%:*} expect=${case#*:} d=$root/tmp/knot-$v
		mkdir -p "$d/DEBIAN"
		printf '%s\n' "Package: knot" "Version: $v" "Architecture: all" \
			"Maintainer: knot-mxtrap tests <tests@example.invalid>" "Description: stand-in for knot $v" >"$d/DEBIAN/control"
		dpkg-deb --root-owner-group --build "$d" "$d.deb" >/dev/null
		chroot_run -t 120 "$root" "dpkg -i /tmp/knot-$v.deb && apt-mark hold knot" >>"$log" 2>&1 ||
			{ errs+="installing the stand-in knot $v failed: $(tail -n 5 "$log")"$'\n'; break; }
		got=accepted
		chroot_apt "$root" -s install "/tmp/${deb##*/}" >"$tmp/$s/standin-$v.log" 2>&1 || got=refused
		[ "$got" = "$expect" ] || errs+="knot $v held: apt $got the package, want $expect"$'\n'
		[ "$expect" = accepted ] || grep -q 'knot-module-mxtrap : Depends: knot (' "$tmp/$s/standin-$v.log" ||
			errs+="knot $v: not refused for its knot dependency: $(tail -n 5 "$tmp/$s/standin-$v.log")"$'\n'
		chroot_run -t 60 "$root" 'apt-mark unhold knot && dpkg --purge knot' >>"$log" 2>&1 ||
			{ errs+="removing the stand-in knot $v failed"$'\n'; break; }
	done
	check "$s: apt refuses the package next to knot $major.$((minor - 1)) or $hi, takes $major.$minor" "$errs"
}

depends_table
times=()
for suite in "${suites[@]}"; do
	t0=$SECONDS
	note "$suite"
	mkdir -p "$tmp/$suite"
	if build_deb "$suite"; then
		inspect_deb "$suite"
		if install_deb "$suite"; then serve "$suite" || true; apt_refuses "$suite"; fi
	fi
	chroot_remove "$tmp/$suite/build" || true
	chroot_remove "$tmp/$suite/root" || true
	times+=("$suite $((SECONDS - t0)) s")
done
lintian_debs
check "no mount left below $tmp" "$(chroot_mounts_under "$tmp")"
note "runtime $((SECONDS - start_time)) s ($(printf '%s, ' "${times[@]}" | sed 's/, $//'))"
finish_tap
[ "$failed" = 0 ]
