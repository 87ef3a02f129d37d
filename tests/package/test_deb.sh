#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Debian package test. Proves that knot-module-mxtrap, built from the working
# tree, depends on exactly the Knot series of its module ABI, installs with
# apt in a fresh bookworm chroot (pulling in a knot of that range), and that
# the packaged knotd finds the module by name alone (`module: mod-mxtrap`):
# the trap in that zone, none in the other, a clean log and exit; and that apt
# refuses it next to a Knot of another series.
#
#   tests/package/test_deb.sh [DEB]      (TAP output; as root, needs network)
#
# DEB: a built knot-module-mxtrap_*.deb instead of building one (else
# dpkg-buildpackage in a copy of the tree: copy_tree, no git needed).
# "package: N passed, M failed" on stderr; PACKAGE_KEEP=1 keeps $tmp.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
deb=${1:+$(realpath "$1")}
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"
TAP_NAME=package
# shellcheck source=tests/lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=tests/lib/chroot.sh
source "$here/../lib/chroot.sh"
[ "$(id -u)" = 0 ] || bail "needs root (chroot, mount)"
need_tools kdig dpkg-deb chroot mount flock tar
[ -n "$deb" ] || need_tools dpkg-buildpackage

start_time=$SECONDS
tmp=$(mktemp -d /tmp/mxtrap-package.XXXXXX)
pid=
cleanup() {
	local rc=$?
	stop_pid "$pid"
	chroot_cleanup || rc=1
	if [ "${PACKAGE_KEEP:-}" = 1 ]; then
		echo "# kept $tmp"
	else
		chroot_remove "$tmp/root" || rc=1
		rm -rf --one-file-system "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- the build and its Depends -------------------------------------------------

if [ -n "$deb" ]; then
	[ -f "$deb" ] || bail "$deb missing"
	skip "dpkg-buildpackage" "given $deb"
else
	copy_tree "$repo" "$tmp/src/knot-mxtrap"
	t0=$SECONDS
	errs=
	(cd "$tmp/src/knot-mxtrap" && timeout --kill-after=10 600 dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 ||
		errs="dpkg-buildpackage failed:"$'\n'"$(tail -n 25 "$tmp/build.log")"
	check "dpkg-buildpackage -us -uc -b in a copy of the tree ($((SECONDS - t0)) s)" "$errs"
	debs=("$tmp"/src/knot-module-mxtrap_*.deb)
	[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || bail "expected one knot-module-mxtrap_*.deb, got: ${debs[*]}"
	deb=${debs[0]}
fi
errs=
for f in "$repo"/debian/{files,debhelper-build-stamp,.debhelper,knot-module-mxtrap,tmp} \
	"$repo"/debian/*.substvars "$repo"/obj-* "$repo"/../knot-module-mxtrap*_*.deb; do
	[ ! -e "$f" ] || errs+="$f"$'\n'
done
check "no build output in the checkout" "$errs"

# debian/knot-module-depends ABI VERSION MODULE_DIR: 400 -> the 3.2 series,
# 600 -> 3.4-3.5, or one series when the module directory names it; an
# unknown ABI or a version of another ABI fails.
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
check "debian/knot-module-depends: the Knot range of each module ABI" "$errs"

want_depends=$(sh "$repo/debian/knot-module-depends") || bail "debian/knot-module-depends failed on this host"
depends=$(dpkg-deb -f "$deb" Depends)
check "the .deb depends on '$want_depends'" \
	"$([[ ", $depends, " == *", $want_depends, "* ]] || echo "Depends: $depends")"
module_dir=$(pkg-config --variable=module_instdir knotd)
contents=$(dpkg-deb -c "$deb" | awk '{ print substr($6, 2) }')
errs=
for f in "$module_dir/mxtrap.so" /usr/share/doc/knot-module-mxtrap/{mxtrap.rst.gz,README.md.gz,copyright}; do
	grep -qxF "$f" <<<"$contents" || errs+="$f not in the package"$'\n'
done
check "mxtrap.so in $module_dir, and the docs" "$errs"
if command -v lintian >/dev/null; then
	timeout 300 lintian --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1 || true
	grep -v 'running with root privileges' "$tmp/lintian.log" | sed 's/^/# lintian: /' || true
	check "no lintian error" "$(grep '^E: ' "$tmp/lintian.log" || true)"
else
	skip "no lintian error" "lintian not installed"
fi

# --- apt-get install in a fresh chroot ---------------------------------------------

root=$(chroot_fresh bookworm "$tmp/root") || bail "no bookworm chroot"
chroot_mount "$root" || bail "mounting in $root failed"
cp "$deb" "$root/tmp/"
t0=$SECONDS
errs=
{ chroot_apt "$root" update && chroot_apt "$root" install "/tmp/${deb##*/}"; } >"$tmp/apt.log" 2>&1 ||
	errs="apt-get failed:"$'\n'"$(tail -n 25 "$tmp/apt.log")"$'\n'
knot_version=$(chroot_run -t 60 "$root" "dpkg-query -W -f='\${Version}' knot" 2>/dev/null || true)
while read -r op v; do
	dpkg --compare-versions "${knot_version:-0}" "$op" "$v" || errs+="knot '$knot_version' is not $op $v"$'\n'
done < <(grep -o 'knot ([^)]*)' <<<"$want_depends" | sed 's/^knot (\(.*\) \(.*\))$/\1 \2/; s/^>=/ge/; s/^<</lt/')
check "apt-get install pulls in knot ${knot_version:-?}, inside the range ($((SECONDS - t0)) s)" "$errs"

# --- the packaged knotd loads the module by name --------------------------------------

take_ports port
kdir=$root/tmp/knot
mkdir -p "$kdir/run" "$kdir/db" "$kdir/zones"
cp "$repo/conf-examples/example.com.zone" "$kdir/zones/"
# shellcheck disable=SC2016 # a zone file's $ORIGIN
printf '%s\n' '$ORIGIN example.net.' '@ 3600 SOA ns1 hostmaster 1 3600 900 1209600 300' '@ 3600 NS ns1' \
	'ns1 3600 A 192.0.2.53' '@ 3600 MX 10 mx1' '@ 3600 MX 20 mx2' >"$kdir/zones/example.net.zone"
printf '%s\n' server: '    rundir: "/tmp/knot/run"' "    listen: 127.0.0.1@$port" log: '  - target: stderr' \
	'    any: info' database: '    storage: "/tmp/knot/db"' template: '  - id: default' \
	'    storage: "/tmp/knot/zones"' '    file: "%s.zone"' zone: '  - domain: example.com' \
	'    module: mod-mxtrap' '  - domain: example.net' >"$kdir/knot.conf"
chroot_spawn "$tmp/knotd.log" "$root" knotd -c /tmp/knot/knot.conf
pid=$chroot_spawned_pid
soa_ok() { q "$tmp/soa" "$port" example.com. SOA; [ "$(rcode_of "$tmp/soa")" = NOERROR ]; }
wait_for "knotd in the chroot" 30 soa_ok || bail "knotd in the chroot does not answer: $(tail -n 20 "$tmp/knotd.log")"
errs=
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
[ -z "$errs" ] || errs+="$(tail -n 20 "$tmp/knotd.log")"
check "knotd $knot_version, 'module: mod-mxtrap' only: the trap in example.com, example.net untouched" "$errs"
check "no error or warning in knotd's log" "$(grep -Ei 'error|warning' "$tmp/knotd.log" | head -n 10 || true)"
stop_server knotd "$pid" "$port" "$tmp/knotd.log"
pid=
check "knotd exits on SIGTERM (status 0), port released" "$stop_errs"

# --- apt refuses it next to a Knot of another series ---------------------------------

# Stand-in knot packages (held) just below, inside and at the end of the range.
lo=$(sed -n 's/.*knot (>= \([0-9]*\)\.\([0-9]*\)~).*/\1 \2/p' <<<"$want_depends")
hi=$(sed -n 's/.*knot (<< \([0-9.]*\)~).*/\1/p' <<<"$want_depends")
read -r major minor <<<"$lo"
chroot_run -t 120 "$root" 'apt-get purge -y -q knot-module-mxtrap knot' >"$tmp/fake.log" 2>&1 ||
	bail "removing the installed packages failed: $(tail -n 5 "$tmp/fake.log")"
errs=
for case in "$major.$((minor - 1)).99-1:refused" "$major.$minor.99-1:accepted" "$hi.0-1:refused"; do
	v=${case%%:*} want=${case#*:} d=$root/tmp/knot-$v
	mkdir -p "$d/DEBIAN"
	printf '%s\n' "Package: knot" "Version: $v" "Architecture: all" \
		"Maintainer: knot-mxtrap tests <tests@example.invalid>" "Description: stand-in for knot $v" >"$d/DEBIAN/control"
	dpkg-deb --root-owner-group --build "$d" "$d.deb" >/dev/null
	got=accepted
	chroot_run -t 120 "$root" "dpkg -i /tmp/knot-$v.deb && apt-mark hold knot" >>"$tmp/fake.log" 2>&1 ||
		bail "installing the stand-in knot $v failed: $(tail -n 5 "$tmp/fake.log")"
	chroot_apt "$root" -s install "/tmp/${deb##*/}" >"$tmp/fake-$v.log" 2>&1 || got=refused
	[ "$got" = "$want" ] || errs+="knot $v held: apt $got the package, want $want"$'\n'
	[ "$want" = accepted ] || grep -q 'knot-module-mxtrap : Depends: knot (' "$tmp/fake-$v.log" ||
		errs+="knot $v: not refused for its knot dependency: $(tail -n 5 "$tmp/fake-$v.log")"$'\n'
	chroot_run -t 60 "$root" 'apt-mark unhold knot && dpkg --purge knot' >>"$tmp/fake.log" 2>&1 ||
		bail "removing the stand-in knot $v failed"
done
check "apt refuses the package next to knot $major.$((minor - 1)) or $hi, takes $major.$minor" "$errs"

chroot_cleanup >/dev/null 2>&1 || true
check "no mount left below $tmp" "$(chroot_mounts_under "$tmp")"
note "runtime $((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
