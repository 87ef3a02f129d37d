#!/usr/bin/env bash
# Serves every stand-alone knot.conf of conf-examples/ with the built module
# and checks the MX answers each one promises.
#
#   tests/ops/examples.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
#
# For each example: the @...@ placeholders are replaced as tests/conf does,
# every listen address is moved to loopback (0.0.0.0 -> 127.0.0.1, :: -> ::1)
# on one free port, and a zone file is written for every zone of the example
# (conf-examples/example.com.zone where the example serves example.com, else
# a zone with "MX 10 mail1" and "MX 20 mail2" at the apex). knotd starts,
# every zone answers, then for each zone the apex MX set is compared with the
# expected one (the table below) over UDP, TCP and, where the example listens
# on ::1, IPv6; the zones the module handles must count their trapped
# answers in `knotc zone-stats`. The knotd is stopped before the next example.
#
# The primary/secondary and catalog examples need their peer: they are
# served by tests/ops/replication.sh and tests/ops/catalog.sh; this script
# fails if an example is covered by neither.
set -euo pipefail

src_dir=$(cd "$(dirname "$0")" && pwd)
examples_dir=$(cd "$src_dir/../../conf-examples" && pwd)

TAP_NAME=examples
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
test_init "$@"
need_tools knotd knotc kdig

test_tmp_init
knotd_pid=

# expected EXAMPLE ZONE: the apex MX set the example promises for ZONE
# ("PREF EXCHANGE" lines as mx_of prints them, unsorted here).
expected() {
	local z=$2
	echo "10 mail1.$z"
	echo "20 mail2.$z"
	case $1:$z in
	example:example.com.|all-zones:example.com.|all-zones:example.net.|all-zones:example.org.)
		echo "99 mail1.$z";;
	one-zone:example.com.)
		echo "90 mail1.$z";;
	hosting-template:customer-*)
		echo "200 trap1.hosting.example."
		echo "200 trap2.hosting.example.";;
	esac
}
# Examples served elsewhere (they need a peer server).
served_elsewhere() {
	case $1 in
	primary|secondary) echo tests/ops/replication.sh;;
	catalog-primary|catalog-secondary) echo tests/ops/catalog.sh;;
	esac
}

# zones_of CONF: the zone names of a configuration, fully qualified (the
# examples list them as "- domain: NAME" lines).
zones_of() {
	awk '$1 == "-" && $2 == "domain:" { z = $3; sub(/\.$/, "", z); print z "." }' "$1"
}

write_zone() {
	local zone=$1 file=$2
	if [ "$zone" = example.com. ]; then
		cp "$examples_dir/example.com.zone" "$file"
		return
	fi
	cat >"$file" <<-ZONE
	\$ORIGIN $zone
	\$TTL 3600
	@	SOA	ns1 hostmaster 2026010101 3600 900 1209600 300
	@	NS	ns1
	ns1	A	192.0.2.53
	@	MX	10 mail1
	@	MX	20 mail2
	mail1	A	192.0.2.25
	mail2	A	192.0.2.26
	ZONE
}

# serve NAME: one example, start to stop.
serve() {
	local name=$1 dir=$tmp/$1 port
	port=$(free_port) || bail "no free port"
	mkdir -p "$dir/run" "$dir/storage" "$dir/zones/customers"
	sed -e "s|@MXTRAP_MODULE@|$module|g" -e "s|@RUNDIR@|$dir/run|g" \
	    -e "s|@STORAGE@|$dir/storage|g" -e "s|@ZONEDIR@|$dir/zones|g" \
	    -e "/^[[:space:]]*listen:/ { s/0\.0\.0\.0@/127.0.0.1@/g; s/::@/::1@/g; s/@[0-9][0-9]*/@$port/g; }" \
	    "$examples_dir/$name.conf" >"$dir/knot.conf"
	local out
	if ! out=$(kenv timeout 20 knotc -c "$dir/knot.conf" conf-check 2>&1); then
		not_ok "$name: conf-check"
		printf '%s\n' "$out" | sed 's/^/#   /'
		return
	fi
	local zones
	zones=$(zones_of "$dir/knot.conf")
	[ -n "$zones" ] || { not_ok "$name: no zones read from the configuration"; return; }
	local z
	for z in $zones; do
		# Templates keep zone files in zones/ or zones/customers/.
		write_zone "$z" "$dir/zones/${z%.}.zone"
		cp "$dir/zones/${z%.}.zone" "$dir/zones/customers/"
	done
	local v6=no
	grep -Eq "^[[:space:]]*listen:.*::1@$port" "$dir/knot.conf" && v6=yes

	spawn "$dir/knotd.log" knotd -c "$dir/knot.conf"
	knotd_pid=$spawned_pid
	local deadline=$((SECONDS + 30)) ready=no
	while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$knotd_pid" 2>/dev/null; do
		ready=yes
		for z in $zones; do
			q "$dir/soa.out" "$port" "$z" SOA
			[ "$(rcode_of "$dir/soa.out")" = NOERROR ] || { ready=no; break; }
		done
		[ "$ready" = yes ] && break
		sleep 0.2
	done
	if [ "$ready" != yes ]; then
		not_ok "$name: knotd serves every zone ($zones) on 127.0.0.1@$port"
		indent "$dir/knotd.log" 30
		stop_pid "$knotd_pid"
		knotd_pid=
		return
	fi
	ok "$name: knotd serves $(echo "$zones" | wc -l) zones"

	for z in $zones; do
		local want errs= t0 t1 transport
		want=$(expected "$name" "$z" | sort)
		t0=$(counter "$dir/knot.conf" "$z" trapped)
		local transports="udp tcp"
		[ "$v6" = yes ] && transports+=" v6"
		for transport in $transports; do
			case $transport in
			udp) q "$dir/mx.out" "$port" "$z" MX;;
			tcp) q "$dir/mx.out" "$port" "$z" MX +tcp;;
			v6) timeout 15 kdig @::1 -p "$port" +time=3 +retry=1 "$z" MX >"$dir/mx.out" 2>&1 || true;;
			esac
			if [ "$(mx_of "$dir/mx.out")" != "$want" ]; then
				errs+="$transport: got [$(mx_of "$dir/mx.out" | tr '\n' ',')] want [$(echo "$want" | tr '\n' ',')]"$'\n'
			fi
		done
		t1=$(counter "$dir/knot.conf" "$z" trapped)
		local traps
		traps=$(echo "$want" | grep -cvE "^(10 mail1|20 mail2)\." || true)
		if [ "$traps" -gt 0 ] && [ $((t1 - t0)) -ne "$(echo "$transports" | wc -w)" ]; then
			errs+="trapped counter $t0 -> $t1 after $(echo "$transports" | wc -w) queries"$'\n'
		fi
		check "$name: $z MX ($transports) $( [ "$traps" -gt 0 ] && echo trapped || echo untouched)" "$errs"
	done

	stop_pid "$knotd_pid"
	knotd_pid=
	if grep -Eq 'AddressSanitizer|runtime error' "$dir/knotd.log"; then
		not_ok "$name: sanitizer report"
		indent "$dir/knotd.log" 40
	fi
}

for conf in "$examples_dir"/*.conf; do
	name=$(basename "$conf" .conf)
	elsewhere=$(served_elsewhere "$name")
	if [ -n "$elsewhere" ]; then
		if grep -q "conf-examples/$name.conf\|$name\.conf" "$src_dir/../../$elsewhere" 2>/dev/null; then
			ok "$name: served by $elsewhere"
		else
			not_ok "$name: $elsewhere does not serve it"
		fi
		continue
	fi
	serve "$name"
done

finish_tap
[ "$failed" -eq 0 ]
