#!/usr/bin/env bash
# Debian package test: builds knot-module-mxtrap from the working tree with
# dpkg-buildpackage (in a copy: nothing lands in the checkout), installs it
# with apt in a fresh bookworm chroot, where it must pull in knot from the
# mirror, and runs that knotd with a configuration that enables the module in
# a zone by name only (`module: mod-mxtrap`, no `module:` section with a
# file): knotd must find mxtrap.so in its own module directory.
#
#   tests/package/test_deb.sh [DEB]      (TAP output; as root, needs network)
#
# DEB: a built knot-module-mxtrap_*.deb to test instead of building one.
# Needs dpkg-buildpackage with the Build-Depends of debian/control,
# debootstrap (first run only), kdig; the chroots come from
# tests/lib/chroot.sh (cached base in MXTRAP_CHROOT_CACHE, default
# /var/cache/knot-mxtrap-chroots; made on first use, ~1 min).
#
# Cases, in the order they run:
#   a  build: dpkg-buildpackage -us -uc -b succeeds in a copy of the tree,
#      no build output in the checkout (debian/files, obj-*, ../*.deb...); debian/knot-module-depends
#      maps module ABIs to knot ranges as documented (400 -> 3.2 series,
#      600 -> 3.4-3.5, or one series with a versioned module directory;
#      unknown ABI or a version of another ABI: failure).
#   b  the .deb: Depends holds exactly the knot range computed from this
#      host's libknot-dev; the module at module_instdir of pkg-config knotd;
#      the docs; no lintian error (warnings as comments; skipped without
#      lintian).
#   c  fresh chroot: apt-get install /tmp/knot-module-mxtrap_*.deb installs
#      knot from the mirror (version inside the range); dpkg -s shows the
#      Depends; the module file is in the directory knotd loads from (the
#      path compiled into the chroot's knotd); the docs are installed and
#      are the built tree's module/mxtrap.rst and README.md.
#   d  knotd in the chroot (127.0.0.1, free port; the chroot shares the
#      host's network): config without a module: section; the zone with
#      `module: mod-mxtrap` answers the full trapped MX sets, the zone
#      without it the zone's MX sets; knotd stops on SIGTERM and releases
#      its port.
#   e  apt refuses the package next to a knot of another module ABI: in a
#      second fresh chroot, a fake knot package (no files) of version V is
#      installed and held; apt-get -s install of the .deb fails for V =
#      3.1.7-1 and 3.3.0-1 (ABI 300, 500) with an unmet knot dependency and
#      succeeds for 3.2.99-1 (control). Run when the package is for ABI 400.
#   f  every chroot mount is gone from /proc/mounts.
#
# Output: TAP on stdout (plan at the end), "package: N passed, M failed" on
# stderr. Runtime ~45 s with the chroot cache, ~100 s when the base chroot
# has to be made (debootstrap ~50 s); apt, debootstrap, the build and every
# wait are bounded.
# Environment: PACKAGE_KEEP=1 keeps the temporary directory (chroots
# unmounted).
set -euo pipefail

src_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$src_dir/../.." && pwd)
deb_arg=${1:-}
[ -z "$deb_arg" ] || deb_arg=$(realpath "$deb_arg")

export PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"
SUITE=bookworm

TAP_NAME=package
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
# shellcheck source=tests/lib/chroot.sh
source "$src_dir/../lib/chroot.sh"

[ "$(id -u)" = 0 ] || bail "needs root (chroot, mount)"
need_tools kdig dpkg-deb chroot mount flock
[ -n "$deb_arg" ] || need_tools dpkg-buildpackage git

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
		# Only once nothing is mounted below it (chroot_remove checks).
		for d in "$tmp"/root*; do
			[ -e "$d" ] && { chroot_remove "$d" || rc=1; }
		done
		rm -rf --one-file-system "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# in_root CMD: bash -c CMD in the main chroot (bounded).
in_root() { chroot_run -t 120 "$root" "$1"; }

# --- case a: build --------------------------------------------------------------

# copy_tree DEST: the working tree as git sees it (tracked and untracked,
# not ignored: no build*/ directories, with an uncommitted debian/).
copy_tree() {
	mkdir -p "$1"
	(cd "$repo" && git ls-files -z -co --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$1"
}

if [ -n "$deb_arg" ]; then
	deb=$deb_arg
	[ -f "$deb" ] || bail "$deb missing"
	skip "case a: dpkg-buildpackage" "given $deb"
else
	note "building in $tmp/src/knot-mxtrap"
	copy_tree "$tmp/src/knot-mxtrap"
	t0=$SECONDS
	errs=
	if ! (cd "$tmp/src/knot-mxtrap" &&
		timeout --kill-after=10 600 dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
		errs="dpkg-buildpackage failed; log:"$'\n'"$(tail -n 25 "$tmp/build.log")"
	fi
	check "case a: dpkg-buildpackage -us -uc -b ($((SECONDS - t0)) s)" "$errs"
	shopt -s nullglob
	debs=("$tmp"/src/knot-module-mxtrap_*.deb)
	shopt -u nullglob
	[ ${#debs[@]} = 1 ] || bail "expected one knot-module-mxtrap_*.deb, got: ${debs[*]:-none}"
	deb=${debs[0]}
fi
# Nothing from the build in the checkout (other files may change meanwhile).
errs=
for f in "$repo"/debian/{files,debhelper-build-stamp,.debhelper,knot-module-mxtrap,tmp} \
	"$repo"/debian/*.substvars "$repo"/obj-* "$repo"/../knot-module-mxtrap*_*.deb; do
	[ ! -e "$f" ] || errs+="$f"$'\n'
done
check "case a: no build output in the checkout" "$errs"

# The ABI table, with explicit inputs.
depends_script=$repo/debian/knot-module-depends
errs=
while IFS='|' read -r args want; do
	# shellcheck disable=SC2086
	got=$(sh "$depends_script" $args 2>/dev/null) || got=FAIL
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
check "case a: debian/knot-module-depends table" "$errs"

# --- case b: the .deb --------------------------------------------------------------

module_dir=$(pkg-config --variable=module_instdir knotd)
want_depends=$(sh "$depends_script") || bail "debian/knot-module-depends failed on this host"
note "knot range for this host's libknot-dev: $want_depends"
depends=$(dpkg-deb -f "$deb" Depends)
note "Depends: $depends"
errs=
case ", $depends, " in
*", $want_depends, "*) ;;
*) errs="no '$want_depends' in Depends: $depends" ;;
esac
check "case b: Depends holds the knot range of the module ABI" "$errs"

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/contents"
errs=
for f in "$module_dir/mxtrap.so" /usr/share/doc/knot-module-mxtrap/mxtrap.rst.gz \
	/usr/share/doc/knot-module-mxtrap/README.md.gz /usr/share/doc/knot-module-mxtrap/copyright; do
	grep -qxF "$f" "$tmp/contents" || errs+="$f not in the package"$'\n'
done
[ -z "$errs" ] || errs+="$(sed 's/^/  /' "$tmp/contents")"
check "case b: package has mxtrap.so in $module_dir and the docs" "$errs"

if command -v lintian >/dev/null; then
	timeout 300 lintian --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1 || true
	grep -v 'running with root privileges' "$tmp/lintian.log" | sed 's/^/lintian: /' |
		while read -r l; do note "$l"; done
	check "case b: no lintian error" "$(grep '^E: ' "$tmp/lintian.log" || true)"
else
	skip "case b: no lintian error" "lintian not installed"
fi

# --- case c: install in a fresh chroot -------------------------------------------

t0=$SECONDS
root=$(chroot_fresh "$SUITE" "$tmp/root") || bail "no $SUITE chroot"
chroot_mount "$root" || bail "mounting in $root failed"
note "fresh $SUITE chroot in $((SECONDS - t0)) s"
cp "$deb" "$root/tmp/"
deb_in=/tmp/$(basename "$deb")

t0=$SECONDS
errs=
chroot_apt "$root" update >"$tmp/apt.log" 2>&1 || errs="apt-get update failed"$'\n'
if [ -z "$errs" ]; then
	chroot_apt "$root" install "$deb_in" >>"$tmp/apt.log" 2>&1 || errs="apt-get install failed"$'\n'
fi
[ -z "$errs" ] || errs+="$(tail -n 25 "$tmp/apt.log")"
check "case c: apt-get install $deb_in ($((SECONDS - t0)) s)" "$errs"

# What apt did: the module and knot (pulled in, not installed by us).
status_of() { in_root "dpkg-query -W -f='\${Status}' $1" 2>/dev/null || true; }
knot_version=$(in_root "dpkg-query -W -f='\${Version}' knot" 2>/dev/null || true)
errs=
[ "$(status_of knot-module-mxtrap)" = "install ok installed" ] || errs+="knot-module-mxtrap not installed"$'\n'
[ "$(status_of knot)" = "install ok installed" ] || errs+="knot not installed"$'\n'
grep -q '^Setting up knot (' "$tmp/apt.log" || errs+="apt did not set up knot"$'\n'
# The range, checked by dpkg's own comparison against each relation.
while read -r op v; do
	case $op in
	'>=') op=ge ;;
	'<<') op=lt ;;
	*) errs+="unexpected relation '$op'"$'\n'; continue ;;
	esac
	dpkg --compare-versions "$knot_version" "$op" "$v" || errs+="knot '$knot_version' is not $op $v"$'\n'
done < <(printf '%s\n' "$want_depends" | grep -o 'knot ([^)]*)' | sed 's/^knot (\(.*\) \(.*\))$/\1 \2/')
[ -z "$errs" ] || errs+="$(grep -E '^(Setting up|E:)' "$tmp/apt.log" | head -n 20)"
check "case c: apt pulled in knot ${knot_version:-?} from the mirror, inside the range" "$errs"

inst_depends=$(in_root "dpkg -s knot-module-mxtrap" 2>/dev/null | sed -n 's/^Depends: //p')
check "case c: dpkg -s knot-module-mxtrap: Depends with the range" \
	"$(case ", $inst_depends, " in *", $want_depends, "*) ;; *) echo "Depends: $inst_depends";; esac)"

# The directory compiled into this knotd (Knot's configure prints it as
# "Module dir:"; the binary holds the path) against the package listing.
so_path=$(in_root 'dpkg -L knot-module-mxtrap' 2>/dev/null | grep '/mxtrap\.so$' || true)
knotd_dir=$(in_root "grep -ao '/[a-z0-9_/.-]*/knot/modules-[0-9.]*' /usr/sbin/knotd | sort -u" 2>/dev/null || true)
errs=
[ -n "$so_path" ] || errs+="no mxtrap.so in dpkg -L"$'\n'
[ "$(printf '%s\n' "$knotd_dir" | grep -c .)" = 1 ] || errs+="knotd's module dir not found once: '$knotd_dir'"$'\n'
[ "$so_path" = "$knotd_dir/mxtrap.so" ] || errs+="mxtrap.so at '$so_path', knotd loads from '$knotd_dir'"$'\n'
[ -f "$root$so_path" ] || errs+="$so_path missing on disk"$'\n'
check "case c: mxtrap.so in knotd's module directory ($knotd_dir)" "$errs"

errs=
for doc in module/mxtrap.rst README.md; do
	f=$root/usr/share/doc/knot-module-mxtrap/$(basename "$doc")
	[ -f "$f.gz" ] && f=$f.gz
	if [ ! -f "$f" ]; then
		errs+="$doc: not installed"$'\n'
	elif [ -z "$deb_arg" ] && ! zcat -f "$f" | cmp -s - "$tmp/src/knot-mxtrap/$doc"; then
		errs+="$doc: ${f#"$root"} differs from the built tree's"$'\n'
	fi
done
check "case c: docs in /usr/share/doc/knot-module-mxtrap" "$errs"

# --- case d: knotd in the chroot ----------------------------------------------

port=$(free_port) || bail "no free port"
kdir=$root/tmp/knot
mkdir -p "$kdir/run" "$kdir/db" "$kdir/zones"
cp "$repo/conf-examples/example.com.zone" "$kdir/zones/"
cat >"$kdir/zones/example.net.zone" <<-'EOF'
	$ORIGIN example.net.
	$TTL 3600
	@	SOA	ns1 hostmaster 1 3600 900 1209600 300
	@	NS	ns1
	ns1	A	192.0.2.53
	@	MX	10 mx1
	@	MX	20 mx2
EOF
# No module: section: knotd must find mod-mxtrap by itself.
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
check "case d: knot.conf has no module: section" "$(grep -n '^module:' "$kdir/knot.conf" || true)"

chroot_spawn "$tmp/knotd.log" "$root" knotd -c /tmp/knot/knot.conf
pid=$chroot_spawned_pid
soa_ok() { q "$tmp/soa" "$port" example.com. SOA; [ "$(rcode_of "$tmp/soa")" = NOERROR ]; }
errs=
wait_for "knotd in the chroot to answer" 30 soa_ok || errs="no SOA answer; log:"$'\n'"$(tail -n 20 "$tmp/knotd.log")"
check "case d: knotd (in the chroot) answers on 127.0.0.1@$port" "$errs"
note "knotd: $(grep -m1 -i 'starting server\|Knot DNS [0-9]' "$tmp/knotd.log" || true)"

# NAME -> the MX set expected.
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
check "case d: the trap from the packaged module (full MX sets; example.net without module untouched)" "$errs"

errs=$(grep -E -i 'error|warning' "$tmp/knotd.log" | head -n 10 || true)
check "case d: no error or warning in knotd's log" "$errs"

kill -TERM "$pid" 2>/dev/null || true
gone() { ! kill -0 "$pid" 2>/dev/null; }
errs=
wait_for "knotd to exit" 15 gone || errs+="still running 15 s after SIGTERM"$'\n'
stop_pid "$pid"
pid=
port_free() { ! port_bound "$port"; }
wait_for "port $port to be released" 10 port_free || errs+="port $port still bound"$'\n'
grep -q 'shutting down' "$tmp/knotd.log" || errs+="no 'shutting down' in its log"$'\n'
[ -z "$errs" ] || errs+="$(tail -n 10 "$tmp/knotd.log")"
check "case d: knotd stopped by SIGTERM, port released" "$errs"

# --- case e: another module ABI ------------------------------------------------

# fake_knot VERSION: an empty package "knot" of that version, in $tmp/fake.
fake_knot() {
	local d=$tmp/fake/knot-$1
	mkdir -p "$d/DEBIAN"
	cat >"$d/DEBIAN/control" <<-EOF
		Package: knot
		Version: $1
		Architecture: all
		Maintainer: knot-mxtrap tests <tests@example.invalid>
		Description: stand-in for knot $1
		 Only its version matters (tests/package/test_deb.sh).
	EOF
	dpkg-deb --root-owner-group --build "$d" "$tmp/fake/knot_$1_all.deb" >/dev/null
	echo "/tmp/fake/knot_$1_all.deb"
}

if [ "$want_depends" != "knot (>= 3.2~), knot (<< 3.3~)" ]; then
	skip "case e: apt refuses knot of another module ABI" "written for ABI 400 (Knot 3.2)"
else
	root2=$(chroot_fresh "$SUITE" "$tmp/root2") || bail "no second $SUITE chroot"
	chroot_mount "$root2" || bail "mounting in $root2 failed"
	cp "$deb" "$root2/tmp/"
	mkdir -p "$root2/tmp/fake"
	errs=
	# Simulation only (-s), with the base's package lists.
	for case in 3.1.7-1:refused 3.3.0-1:refused 3.2.99-1:accepted; do
		v=${case%%:*} want=${case#*:}
		fake=$(fake_knot "$v")
		cp "$tmp/fake/knot_${v}_all.deb" "$root2/tmp/fake/"
		if ! chroot_run -t 120 "$root2" "dpkg -i $fake && apt-mark hold knot" >"$tmp/fake-$v.log" 2>&1; then
			errs+="$v: installing the fake knot failed: $(tail -n 5 "$tmp/fake-$v.log")"$'\n'
			continue
		fi
		got=accepted
		chroot_apt "$root2" -s install "$deb_in" >>"$tmp/fake-$v.log" 2>&1 || got=refused
		[ "$got" = "$want" ] || errs+="knot $v held: apt $got the package, want $want"$'\n'
		if [ "$want" = refused ] && ! grep -q 'knot-module-mxtrap : Depends: knot (' "$tmp/fake-$v.log"; then
			errs+="knot $v: refused, but not for its knot dependency:"$'\n'"$(tail -n 8 "$tmp/fake-$v.log")"$'\n'
		fi
		note "knot $v held: $(grep -m1 'knot-module-mxtrap : Depends' "$tmp/fake-$v.log" || echo "apt-get -s install: ok")"
		chroot_run -t 60 "$root2" 'apt-mark unhold knot && dpkg --purge knot' >>"$tmp/fake-$v.log" 2>&1 ||
			errs+="$v: removing the fake knot failed"$'\n'
	done
	check "case e: apt refuses the package with knot 3.1 or 3.3 held, accepts 3.2" "$errs"
fi

# --- case f: mounts ----------------------------------------------------------------

chroot_cleanup >/dev/null 2>&1 || true
check "case f: no mount left below $tmp" "$(chroot_mounts_under "$tmp")"

note "runtime $((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
