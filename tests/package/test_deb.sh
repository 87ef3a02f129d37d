#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Debian package test: knot-module-mxtrap built from the working tree,
# installed with apt in a fresh bookworm chroot, run there by the packaged
# knotd with the module enabled by name only.
#
#   tests/package/test_deb.sh [DEB]      (TAP output; as root, needs network)
#
# DEB: a built knot-module-mxtrap_*.deb to test instead of building one.
# Needs dpkg-buildpackage with the Build-Depends of debian/control, kdig,
# debootstrap (first run only: the chroots are tests/lib/chroot.sh's cached
# bases). Cases, in the order they run:
#   a  dpkg-buildpackage -us -uc -b succeeds in a copy of the tree (copy_tree:
#      no git needed), nothing of the build lands in the checkout;
#      debian/knot-module-depends maps module ABIs to knot ranges as
#      documented (table below).
#   b  the .deb: Depends holds the knot range of this host's libknot-dev; it
#      has mxtrap.so in module_instdir of pkg-config knotd and the docs;
#      lintian reports no error (warnings as comments; skipped without it).
#   c  apt-get install of the .deb in a fresh chroot pulls in knot from the
#      mirror, of a version inside the range.
#   d  that knotd, with a configuration that has no `module:` section and
#      `module: mod-mxtrap` in one zone, finds the module in its own module
#      directory: that zone answers the trapped MX sets, the other its own;
#      no error or warning in its log; it exits on SIGTERM.
#   e  apt refuses the package next to a knot of another module ABI: in a
#      second fresh chroot a fake knot (no files) of version V is installed
#      and held; apt-get -s install fails for 3.1.7-1 and 3.3.0-1 with an
#      unmet knot dependency, succeeds for 3.2.99-1 (run for ABI 400 only).
#   f  no chroot mount left.
# Output: TAP on stdout, "package: N passed, M failed" on stderr. About a
# minute with the chroot cache. PACKAGE_KEEP=1 keeps the temporary directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
deb_arg=${1:-}
[ -z "$deb_arg" ] || deb_arg=$(realpath "$deb_arg")
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"
SUITE=bookworm

TAP_NAME=package
# shellcheck source=tests/lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=tests/lib/chroot.sh
source "$here/../lib/chroot.sh"
[ "$(id -u)" = 0 ] || bail "needs root (chroot, mount)"
need_tools kdig dpkg-deb chroot mount flock tar
[ -n "$deb_arg" ] || need_tools dpkg-buildpackage

start_time=$SECONDS
tmp=$(mktemp -d /tmp/mxtrap-package.XXXXXX)
pid=
cleanup() {
	local rc=$? d
	stop_pid "$pid"
	chroot_cleanup || rc=1
	if [ "${PACKAGE_KEEP:-}" = 1 ]; then
		echo "# kept $tmp"
	else
		for d in "$tmp"/root*; do chroot_remove "$d" || rc=1; done
		rm -rf --one-file-system "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
# in_root CMD: bash -c CMD in the main chroot (bounded).
in_root() { chroot_run -t 120 "$root" "$1"; }

# --- a: build ---------------------------------------------------------------------

if [ -n "$deb_arg" ]; then
	deb=$deb_arg
	[ -f "$deb" ] || bail "$deb missing"
	skip "a: dpkg-buildpackage" "given $deb"
else
	copy_tree "$repo" "$tmp/src/knot-mxtrap"
	t0=$SECONDS
	errs=
	(cd "$tmp/src/knot-mxtrap" && timeout --kill-after=10 600 dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 ||
		errs="dpkg-buildpackage failed; log:"$'\n'"$(tail -n 25 "$tmp/build.log")"
	check "a: dpkg-buildpackage -us -uc -b in a copy of the tree ($((SECONDS - t0)) s)" "$errs"
	debs=("$tmp"/src/knot-module-mxtrap_*.deb)
	if [ ${#debs[@]} != 1 ] || [ ! -f "${debs[0]}" ]; then bail "expected one knot-module-mxtrap_*.deb, got: ${debs[*]}"; fi
	deb=${debs[0]}
fi
errs=
for f in "$repo"/debian/{files,debhelper-build-stamp,.debhelper,knot-module-mxtrap,tmp} \
	"$repo"/debian/*.substvars "$repo"/obj-* "$repo"/../knot-module-mxtrap*_*.deb; do
	[ ! -e "$f" ] || errs+="$f"$'\n'
done
check "a: no build output in the checkout" "$errs"

# ARGUMENTS|DEPENDS (FAIL: must fail): 400 -> the 3.2 series, 600 -> 3.4-3.5
# or one series with a versioned module directory; an unknown ABI or a
# version of another ABI fails.
errs=
while IFS='|' read -r args want; do
	# shellcheck disable=SC2086 # three arguments
	got=$(sh "$repo/debian/knot-module-depends" $args 2>/dev/null) || got=FAIL
	[ "$got" = "$want" ] || errs+="$args: got '$got', want '$want'"$'\n'
done <<-'EOF'
	400 3.2.6 /usr/lib/x86_64-linux-gnu/knot/modules-3.2|knot (>= 3.2~), knot (<< 3.3~)
	500 3.3.5 /usr/lib/x86_64-linux-gnu/knot/modules-3.3|knot (>= 3.3~), knot (<< 3.4~)
	600 3.4.4 /usr/lib/x86_64-linux-gnu/knot/modules-3.4|knot (>= 3.4~), knot (<< 3.5~)
	600 3.5.1 /usr/lib/x86_64-linux-gnu/knot/modules-3.5|knot (>= 3.5~), knot (<< 3.6~)
	600 3.5.1 /usr/local/lib/knot|knot (>= 3.4~), knot (<< 3.6~)
	600 3.4.0 /usr/lib/knot/|knot (>= 3.4~), knot (<< 3.6~)
	400 3.3.0 /usr/lib/knot|FAIL
	700 3.6.0 /usr/lib/knot|FAIL
	600 3.4.4 /usr/lib/knot/modules-3.5|FAIL
EOF
check "a: debian/knot-module-depends table" "$errs"

# --- b: the .deb --------------------------------------------------------------------

want_depends=$(sh "$repo/debian/knot-module-depends") || bail "debian/knot-module-depends failed on this host"
depends=$(dpkg-deb -f "$deb" Depends)
note "Depends: $depends"
check "b: Depends holds '$want_depends'" \
	"$(case ", $depends, " in *", $want_depends, "*) ;; *) echo "Depends: $depends";; esac)"
module_dir=$(pkg-config --variable=module_instdir knotd)
contents=$(dpkg-deb -c "$deb" | awk '{ print substr($6, 2) }')
errs=
for f in "$module_dir/mxtrap.so" /usr/share/doc/knot-module-mxtrap/{mxtrap.rst.gz,README.md.gz,copyright}; do
	grep -qxF "$f" <<<"$contents" || errs+="$f not in the package"$'\n'
done
check "b: mxtrap.so in $module_dir and the docs in the package" "$errs"
if command -v lintian >/dev/null; then
	timeout 300 lintian --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1 || true
	grep -v 'running with root privileges' "$tmp/lintian.log" | sed 's/^/# lintian: /' || true
	check "b: no lintian error" "$(grep '^E: ' "$tmp/lintian.log" || true)"
else
	skip "b: no lintian error" "lintian not installed"
fi

# --- c: apt-get install in a fresh chroot ----------------------------------------------

root=$(chroot_fresh "$SUITE" "$tmp/root") || bail "no $SUITE chroot"
chroot_mount "$root" || bail "mounting in $root failed"
cp "$deb" "$root/tmp/"
deb_in=/tmp/$(basename "$deb")
t0=$SECONDS
errs=
{ chroot_apt "$root" update && chroot_apt "$root" install "$deb_in"; } >"$tmp/apt.log" 2>&1 ||
	errs="apt-get failed:"$'\n'"$(tail -n 25 "$tmp/apt.log")"$'\n'
knot_version=$(in_root "dpkg-query -W -f='\${Version}' knot" 2>/dev/null || true)
grep -q '^Setting up knot (' "$tmp/apt.log" || errs+="apt did not set up knot"$'\n'
# The range, by dpkg's own comparison against each relation.
while read -r op v; do
	op=${op/>=/ge} op=${op/<</lt}
	dpkg --compare-versions "${knot_version:-0}" "$op" "$v" || errs+="knot '$knot_version' is not $op $v"$'\n'
done < <(grep -o 'knot ([^)]*)' <<<"$want_depends" | sed 's/^knot (\(.*\) \(.*\))$/\1 \2/')
check "c: apt-get install $deb_in pulls in knot ${knot_version:-?} from the mirror, inside the range ($((SECONDS - t0)) s)" "$errs"

# --- d: the packaged knotd loads the module by name ------------------------------------

port=$(free_port) || bail "no free port"
kdir=$root/tmp/knot
mkdir -p "$kdir/run" "$kdir/db" "$kdir/zones"
cp "$repo/conf-examples/example.com.zone" "$kdir/zones/"
# shellcheck disable=SC2016 # a zone file's $ORIGIN
printf '%s\n' '$ORIGIN example.net.' '@ 3600 SOA ns1 hostmaster 1 3600 900 1209600 300' '@ 3600 NS ns1' \
	'ns1 3600 A 192.0.2.53' '@ 3600 MX 10 mx1' '@ 3600 MX 20 mx2' >"$kdir/zones/example.net.zone"
cat >"$kdir/knot.conf" <<-EOF
	server:
	    rundir: "/tmp/knot/run"
	    listen: 127.0.0.1@$port
	log:
	  - target: stderr
	    any: info
	database:
	    storage: "/tmp/knot/db"
	template:
	  - id: default
	    storage: "/tmp/knot/zones"
	    file: "%s.zone"
	zone:
	  - domain: example.com
	    module: mod-mxtrap
	  - domain: example.net
EOF
chroot_spawn "$tmp/knotd.log" "$root" knotd -c /tmp/knot/knot.conf
pid=$chroot_spawned_pid
soa_ok() { q "$tmp/soa" "$port" example.com. SOA; [ "$(rcode_of "$tmp/soa")" = NOERROR ]; }
wait_for "knotd in the chroot" 30 soa_ok || bail "knotd in the chroot does not answer: $(tail -n 20 "$tmp/knotd.log")"
note "$(grep -m1 -i 'starting server' "$tmp/knotd.log" || true)"
errs=
while IFS='|' read -r name want; do
	q "$tmp/mx" "$port" "$name" MX
	got=$(mx_of "$tmp/mx" | tr '\n' ',' | sed 's/,$//')
	[ "$got" = "$want" ] || errs+="$name: got {$got}, want {$want}; rcode $(rcode_of "$tmp/mx")"$'\n'
done <<-'EOF'
	example.com.|10 mail1.example.com.,20 mail2.example.com.,99 mail1.example.com.
	lists.example.com.|10 mail2.example.com.,50 mail1.example.com.,99 mail2.example.com.
	solo.example.com.|10 mail1.example.com.
	example.net.|10 mx1.example.net.,20 mx2.example.net.
EOF
[ -z "$errs" ] || errs+="$(tail -n 20 "$tmp/knotd.log")"
check "d: knotd $knot_version with only 'module: mod-mxtrap': the trap in example.com, example.net untouched" "$errs"
check "d: no error or warning in knotd's log" "$(grep -Ei 'error|warning' "$tmp/knotd.log" | head -n 10 || true)"
stop_server knotd "$pid" "$port" "$tmp/knotd.log"
pid=
check "d: knotd exits on SIGTERM (status 0), port released" "$stop_errs"

# --- e: another module ABI -----------------------------------------------------------------

if [ "$want_depends" != "knot (>= 3.2~), knot (<< 3.3~)" ]; then
	skip "e: apt refuses knot of another module ABI" "written for ABI 400 (Knot 3.2)"
else
	root2=$(chroot_fresh "$SUITE" "$tmp/root2") || bail "no second $SUITE chroot"
	chroot_mount "$root2" || bail "mounting in $root2 failed"
	cp "$deb" "$root2/tmp/"
	errs=
	for case in 3.1.7-1:refused 3.3.0-1:refused 3.2.99-1:accepted; do
		v=${case%%:*} want=${case#*:} d=$root2/tmp/knot-$v
		mkdir -p "$d/DEBIAN"
		printf '%s\n' "Package: knot" "Version: $v" "Architecture: all" \
			"Maintainer: knot-mxtrap tests <tests@example.invalid>" "Description: stand-in for knot $v" >"$d/DEBIAN/control"
		dpkg-deb --root-owner-group --build "$d" "$d.deb" >/dev/null
		if ! chroot_run -t 120 "$root2" "dpkg -i /tmp/knot-$v.deb && apt-mark hold knot" >"$tmp/fake-$v.log" 2>&1; then
			errs+="$v: installing the fake knot failed: $(tail -n 5 "$tmp/fake-$v.log")"$'\n'
			continue
		fi
		got=accepted
		chroot_apt "$root2" -s install "$deb_in" >>"$tmp/fake-$v.log" 2>&1 || got=refused
		[ "$got" = "$want" ] || errs+="knot $v held: apt $got the package, want $want"$'\n'
		[ "$want" = accepted ] || grep -q 'knot-module-mxtrap : Depends: knot (' "$tmp/fake-$v.log" ||
			errs+="knot $v: refused, but not for its knot dependency:"$'\n'"$(tail -n 8 "$tmp/fake-$v.log")"$'\n'
		note "knot $v held: $(grep -m1 'knot-module-mxtrap : Depends' "$tmp/fake-$v.log" || echo "apt-get -s install: ok")"
		chroot_run -t 60 "$root2" 'apt-mark unhold knot && dpkg --purge knot' >>"$tmp/fake-$v.log" 2>&1 ||
			errs+="$v: removing the fake knot failed"$'\n'
	done
	check "e: apt refuses the package with knot 3.1 or 3.3 held, accepts 3.2" "$errs"
fi

# --- f: mounts --------------------------------------------------------------------------

chroot_cleanup >/dev/null 2>&1 || true
check "f: no mount left below $tmp" "$(chroot_mounts_under "$tmp")"
note "runtime $((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
