#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The configurations operators copy: every stand-alone conf-examples/*.conf
# served by knotd with the built module. Proves that each example loads the
# module as written and that each of its zones answers the apex MX set the
# example promises (its trap, or none), over UDP, TCP and, where the example
# listens there, ::1; knotd then stops cleanly.
#
#   tests/ops/examples.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
#
# The @...@ placeholders are replaced as tests/conf does, every listen
# address moved to loopback on one free port; example.com serves
# conf-examples/example.com.zone, every other zone "MX 10 mail1, MX 20 mail2"
# at its apex. The zones of an example must be exactly those of the table.
# The examples that need a peer are served by replication.sh and catalog.sh.
set -euo pipefail
TAP_NAME=examples
# shellcheck source=tests/ops/ops.sh
source "$(dirname "$0")/ops.sh" "$@"

# EXAMPLE ZONE TRAP: the records the module adds to ZONE's "10 mail1, 20
# mail2" ("-": none, the zone is answered as it is), or EXAMPLE SCRIPT for an
# example served by another script of this directory.
table='
example           example.com.           99 mail1.example.com.
all-zones         example.com.           99 mail1.example.com.
all-zones         example.net.           99 mail1.example.net.
all-zones         example.org.           99 mail1.example.org.
all-zones         internal.example.      -
one-zone          example.com.           90 mail1.example.com.
one-zone          example.net.           -
hosting-template  hosting.example.       -
hosting-template  customer-one.example.  200 trap1.hosting.example.,200 trap2.hosting.example.
hosting-template  customer-two.example.  200 trap1.hosting.example.,200 trap2.hosting.example.
hosting-template  customer-three.example. 200 trap1.hosting.example.,200 trap2.hosting.example.
primary           replication.sh
secondary         replication.sh
catalog-primary   catalog.sh
catalog-secondary catalog.sh
'
rows() { awk -v e="$1" '$1 == e' <<<"$table"; }

write_zone() {
	if [ "$1" = example.com. ]; then
		cp "$examples/example.com.zone" "$2"
		return
	fi
	cat >"$2" <<-ZONE
	\$ORIGIN $1
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
	local name=$1 dir=$tmp/$1 conf=$tmp/$1/knot.conf port zones z trap want t errs
	port=$(free_port) || bail "no free port"
	render "$name" "$dir" -e "/^[[:space:]]*listen:/ { s/0\.0\.0\.0@/127.0.0.1@/g; s/::@/::1@/g; s/@[0-9][0-9]*/@$port/g; }"
	mkdir -p "$dir/zones/customers"
	zones=$(awk '$1 == "-" && $2 == "domain:" { z = $3; sub(/\.$/, "", z); print z "." }' "$conf" | sort)
	errs=
	[ -n "$zones" ] && [ "$zones" = "$(rows "$name" | awk '{ print $2 }' | sort)" ] ||
		errs="zones [$(oneline <<<"$zones")], the table has [$(rows "$name" | awk '{ print $2 }' | oneline)]"
	check "$name: its zones are the table's" "$errs"
	[ -z "$errs" ] || return 0
	for z in $zones; do
		# Templates keep zone files in zones/ or zones/customers/.
		write_zone "$z" "$dir/zones/${z%.}.zone"
		cp "$dir/zones/${z%.}.zone" "$dir/zones/customers/"
	done
	local transports="udp tcp"
	grep -Eq "^[[:space:]]*listen:.*::1@$port" "$conf" && transports+=" ::1"
	# shellcheck disable=SC2086 # one zone a word
	if ! knotd_start "$conf" "$dir/knotd.log" $zones; then
		not_ok "$name: knotd loads the example and its zones"
		return 0
	fi
	while read -r _ z trap; do
		want=$({ printf '%s\n' "10 mail1.$z" "20 mail2.$z"; [ "$trap" = - ] || tr ',' '\n' <<<"$trap"; } | sort)
		errs=
		for t in $transports; do
			case $t in
			udp) q "$dir/mx.out" "$port" "$z" MX ;;
			tcp) q "$dir/mx.out" "$port" "$z" MX +tcp ;;
			::1) timeout 15 kdig @::1 -p "$port" +time=3 +retry=1 "$z" MX >"$dir/mx.out" 2>&1 || true ;;
			esac
			[ "$(mx_of "$dir/mx.out")" = "$want" ] ||
				errs+="$t: [$(mx_of "$dir/mx.out" | oneline)] status $(rcode_of "$dir/mx.out")"$'\n'
		done
		check "$name: $z MX over ${transports// /, }: [$(oneline <<<"$want")]" "$errs"
	done < <(rows "$name")
	knotd_stop "$knotd_pid" || true
	check "$name: knotd exits on SIGTERM (status 0), port released, no sanitizer report" "$stop_errs"
}

for conf in "$examples"/*.conf; do
	name=$(basename "$conf" .conf)
	script=$(rows "$name" | awk 'NR == 1 && $2 ~ /\.sh$/ { print $2 }')
	if [ -z "$script" ]; then
		serve "$name"
	else
		check "$name: served by $script" \
			"$(grep -q "$name\.conf" "$src_dir/$script" || echo "$script does not name $name.conf")"
	fi
done

finish_tap
[ "$failed" -eq 0 ]
