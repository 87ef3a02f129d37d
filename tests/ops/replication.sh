#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A primary and its secondary, conf-examples/primary.conf and secondary.conf
# as shipped (peers moved to loopback), both loading the module. Proves that
# the trap is made per answer and never stored: the secondary, filled by AXFR
# and then updated by IXFR after an MX change on the primary (a knotc
# transaction: + MX 30 mail3, - MX 10 mail1), answers the same trapped MX
# sets as the primary, and neither transfer carries a trap record.
#
#   tests/ops/replication.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
set -euo pipefail
TAP_NAME=replication
# shellcheck source=tests/ops/ops.sh
source "$(dirname "$0")/ops.sh" "$@"
Z=example.com.

# STAGE NAME MX-SET: both servers' answer before (0) and after (1) the change.
answers='
0 example.com.       10 mail1,20 mail2,99 mail1
0 lists.example.com. 10 mail2,50 mail1,99 mail2
0 solo.example.com.  10 mail1
1 example.com.       20 mail2,30 mail3,99 mail2
1 lists.example.com. 10 mail2,50 mail1,99 mail2
'
render_pair primary secondary
answers_equal() {
	local stage name set want p errs
	while read -r stage name set; do
		want=$(tr ',' '\n' <<<"$set" | sed "s/\$/.$Z/" | sort)
		errs=
		for p in "$port_p" "$port_s"; do
			q "$tmp/mx.out" "$p" "$name" MX
			[ "$(mx_of "$tmp/mx.out")" = "$want" ] ||
				errs+="port $p: [$(mx_of "$tmp/mx.out" | oneline)] status $(rcode_of "$tmp/mx.out")"$'\n'
		done
		check "stage $stage: $name MX on primary and secondary: [$(oneline <<<"$want")]" "$errs"
	done < <(awk -v s="$1" '$1 == s' <<<"$answers")
}
# A transfer's MX records at the trap's preference 99 (the zone has none).
trap_records() { awk '!/^;/ && $4 == "MX" && $5 == 99' "$1"; }
serial_of() { q "$tmp/soa.out" "$1" "$Z" SOA; section "$tmp/soa.out" ANSWER | awk '$4 == "SOA" { print $7 }'; }
# Transfers the secondary logged ("[example.com.] IXFR, incoming, remote 127.0.0.1@PORT TCP, finished").
xfrs() { grep -cE "\[$Z\] $1, incoming, remote 127\.0\.0\.1@$port_p( [A-Z]+)?, finished" "$tmp/s/knotd.log" || true; }

cp "$examples/${Z%.}.zone" "$tmp/p/zones/"
knotd_start "$tmp/p/knot.conf" "$tmp/p/knotd.log" "$Z" || bail "the primary does not start"
pid_p=$knotd_pid
knotd_start "$tmp/s/knot.conf" "$tmp/s/knotd.log" "$Z" || bail "the secondary does not get $Z"
pid_s=$knotd_pid
serial0=$(serial_of "$port_p")

q "$tmp/axfr.out" "$port_p" "$Z" AXFR
errs=
[ "$(xfrs AXFR)" = 1 ] || errs+="AXFR lines in the secondary's log: $(xfrs AXFR)"$'\n'
[ "$(serial_of "$port_s")" = "$serial0" ] || errs+="secondary serial $(serial_of "$port_s"), primary $serial0"$'\n'
[ "$(awk '!/^;/ && $4 == "MX"' "$tmp/axfr.out" | wc -l)" = 5 ] || errs+="not the zone's 5 MX records:"$'\n'"$(head -n 30 "$tmp/axfr.out")"$'\n'
errs+=$(trap_records "$tmp/axfr.out")
check "the secondary got $Z by AXFR (serial $serial0): the zone's MX records, no trap record" "$errs"
answers_equal 0

errs=
for cmd in "zone-begin $Z" "zone-set $Z @ 3600 MX 30 mail3.$Z" "zone-unset $Z @ MX 10 mail1.$Z" "zone-commit $Z"; do
	# shellcheck disable=SC2086 # the command's words
	out=$(knotd_ctl "$tmp/p/knot.conf" $cmd 2>&1) || errs+="knotc $cmd: $out"$'\n'
done
serial1=$((serial0 + 1))
secondary_has() { [ "$(serial_of "$port_s")" = "$serial1" ] && [ "$(xfrs IXFR)" -gt 0 ]; }
wait_for "serial $serial1 by IXFR on the secondary" 30 secondary_has ||
	errs+="secondary serial $(serial_of "$port_s"), IXFR lines $(xfrs IXFR), want $serial1 by IXFR"$'\n'
q "$tmp/ixfr.out" "$port_p" "$Z" "IXFR=$serial0"
# The MX changes, "-"/"+" as the transfer's SOA pairs go (removed, then added).
changes=$(awk '!/^;/ && NF >= 4 { if ($4 == "SOA") n++; else if ($4 == "MX") print (n % 2 ? "+" : "-"), $5, $6 }' \
	"$tmp/ixfr.out" | sort | oneline)
want=$(printf '%s\n' "+ 30 mail3.$Z" "- 10 mail1.$Z" | sort | oneline)
[ "$changes" = "$want" ] || errs+="IXFR MX changes [$changes], want [$want]"$'\n'"$(head -n 30 "$tmp/ixfr.out")"
check "knotc on the primary: the secondary follows by IXFR (serial $serial1) of the edit alone, no trap record" "$errs"
answers_equal 1

for pid in "$pid_s" "$pid_p"; do
	knotd_stop "$pid" || true
	check "knotd $pid ($([ "$pid" = "$pid_p" ] && echo primary || echo secondary)) exits on SIGTERM (status 0), port released, no sanitizer report" "$stop_errs"
done
finish_tap
[ "$failed" = 0 ]
