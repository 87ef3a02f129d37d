#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The configurations operators copy: every stand-alone conf-examples/*.conf,
# served by knotd with the built module (placeholders replaced, listen moved
# to one free loopback port). Proves that each example loads the module as
# written and that each of its zones answers, over UDP and TCP, the apex MX
# set the example promises (its trap, or none); knotd then stops cleanly.
# Every zone's apex is "MX 10 mail1, MX 20 mail2".
#
#   tests/ops/examples.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
set -euo pipefail
TAP_NAME=examples
# shellcheck source=tests/ops/ops.sh
source "$(dirname "$0")/ops.sh" "$@"

# EXAMPLE ZONE TRAP ("-": none), or EXAMPLE SCRIPT that serves it (with a peer).
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
signer            signed-secondary.sh
signed-secondary  signed-secondary.sh
catalog-primary   catalog.sh
catalog-secondary catalog.sh
'
rows() { awk -v e="$1" '$1 == e' <<<"$table"; }

# serve NAME: one example, start to stop.
serve() {
	local name=$1 dir=$tmp/$1 port zones z trap want t errs
	take_ports port
	render "$name" "$dir" -e "/^[[:space:]]*listen:/ { s/0\.0\.0\.0@/127.0.0.1@/g; s/::@/::1@/g; s/@[0-9][0-9]*/@$port/g; }"
	zones=$(awk '$1 == "-" && $2 == "domain:" { z = $3; sub(/\.$/, "", z); print z "." }' "$dir/knot.conf" | sort)
	errs=
	[ -n "$zones" ] && [ "$zones" = "$(rows "$name" | awk '{ print $2 }' | sort)" ] ||
		errs="zones [$(oneline <<<"$zones")], the table has [$(rows "$name" | awk '{ print $2 }' | oneline)]"
	check "$name: its zones are the table's" "$errs"
	[ -z "$errs" ] || return 0
	mkdir -p "$dir/zones/customers"    # the hosting template's
	for z in $zones; do
		printf '%s\n' "\$ORIGIN $z" "@ 3600 SOA ns1 hostmaster 1 3600 900 1209600 300" "@ 3600 NS ns1" \
			"ns1 3600 A 192.0.2.53" "@ 3600 MX 10 mail1" "@ 3600 MX 20 mail2" |
			tee "$dir/zones/customers/${z%.}.zone" >"$dir/zones/${z%.}.zone"
	done
	# shellcheck disable=SC2086 # one zone a word
	knotd_start "$dir/knot.conf" "$dir/knotd.log" $zones || { not_ok "$name: knotd loads the example and its zones"; return 0; }
	while read -r _ z trap; do
		want=$({ printf '%s\n' "10 mail1.$z" "20 mail2.$z"; [ "$trap" = - ] || tr ',' '\n' <<<"$trap"; } | sort)
		errs=
		for t in +notcp +tcp; do
			q "$dir/mx.out" "$port" "$z" MX "$t"
			[ "$(mx_of "$dir/mx.out")" = "$want" ] ||
				errs+="$t: [$(mx_of "$dir/mx.out" | oneline)] status $(rcode_of "$dir/mx.out")"$'\n'
		done
		check "$name: $z MX over UDP and TCP: [$(oneline <<<"$want")]" "$errs"
	done < <(rows "$name")
	knotd_stop || true
	check "$name: knotd exits on SIGTERM (status 0), port released, no sanitizer report" "$stop_errs"
}

for conf in "$examples"/*.conf; do
	name=$(basename "$conf" .conf)
	script=$(rows "$name" | awk 'NR == 1 && $2 ~ /\.sh$/ { print $2 }')
	if [ -z "$script" ]; then
		serve "$name"
	else
		check "$name: served by $script" "$(grep -q "$name\.conf" "$src_dir/$script" || echo "$script does not name $name.conf")"
	fi
done
finish_tap
[ "$failed" -eq 0 ]
