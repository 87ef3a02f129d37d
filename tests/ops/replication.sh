#!/usr/bin/env bash
# Replication test: conf-examples/primary.conf and conf-examples/secondary.conf
# as they are, both with mod-mxtrap. The trap is made per answer, so both
# servers must give the same trapped MX answers while zone transfers (AXFR,
# IXFR) carry the zone as written, with no trap record.
#
#   tests/ops/replication.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
#
# Servers, on 127.0.0.1 and free high ports, stopped by this script:
#   - primary: conf-examples/primary.conf, conf-examples/example.com.zone
#   - secondary: conf-examples/secondary.conf, no zone file; one ACL added
#     so that kdig may ask it for AXFR/IXFR (the example allows none)
# The examples' addresses 192.0.2.1@53 / 192.0.2.2@53 are mapped to
# 127.0.0.1@PORT with sed, the four @...@ placeholders replaced; nothing
# else in the examples is changed. Since both servers share 127.0.0.1, the
# primary's "transfer to the secondary" ACL also lets kdig transfer.
#
# Expected MX answers are derived from the zone file (its MX records, plus
# the trap the module adds with default options: MX max(99, Q + 1) to each
# exchanger at the lowest preference, when there are two preferences).
#
# Cases, in the order they run:
#   a  the secondary got the zone by AXFR (its log), serials equal; every MX
#      owner of the zone answers the same full MX set on both servers over UDP
#      and TCP (apex and lists: trapped; solo: single exchanger, untouched).
#   b  AXFR from each server: its MX records are exactly the zone file's (no
#      trap), and both AXFRs are the same set of records.
#   c  knotc transaction on the primary (apex: + MX 30 mail3, + mail3 A,
#      - MX 10 mail1): serial + 1, the secondary gets it by IXFR (log: IXFR
#      incoming, no new AXFR), both answer {20 mail2, 30 mail3, 99 mail2}.
#      Second transaction (- MX 20 mail2): the apex has one exchanger, no trap
#      on either server, unchanged[no-backup] grows on both.
#   d  AXFR from both after the changes: the edited zone's MX records, no trap,
#      same records; IXFR from the original serial and from the middle one,
#      asked of both servers: incremental, the same on both, exactly the MX
#      records (and TTLs) removed/added by knotc, no trap. (Knot 3.3.8 to
#      3.5.5: the primary's removals have TTL 0, see unset_ttl_p.)
#   e  counters: trapped grows by exactly the number of trapped queries sent
#      to each server between two reads; at the end trapped and
#      unchanged[no-backup] equal the answers of that kind each server gave
#      (transfers count nothing).
#   f  both servers still running, stopped with SIGTERM: they exit, release
#      their ports; no sanitizer report in their logs.
#
# Output: TAP on stdout (plan at the end), "replication: N passed, M failed"
# on stderr. Runtime a few seconds; every wait is bounded (polls with
# deadlines, kdig and knotc under timeout).
# Environment: REPLICATION_KEEP=1 or OPS_KEEP=1 keeps the temporary directory.
set -euo pipefail

src_dir=$(cd "$(dirname "$0")" && pwd)
examples=$(cd "$src_dir/../../conf-examples" && pwd)

ZONE=example.com.

TAP_NAME=replication
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
test_init "$@"

need_tools knotd knotc kdig
for f in primary.conf secondary.conf "${ZONE%.}.zone"; do
	[ -f "$examples/$f" ] || bail "conf-examples/$f missing"
done

knot_version=$(knotd_version)
[ -n "$knot_version" ] || bail "no version in 'knotd -V': $(kenv knotd -V 2>&1 | head -n 1)"
# The TTL of a record removed with knotc zone-unset (which takes no TTL) in
# the primary's changeset, hence in its IXFR answers: the record's own, but 0
# in Knot 3.3.8 to 3.5.5 (Knot's commit 14a7ba8ab, 'zone.default-ttl', left
# the TTL of zone-unset's record at 0; fixed by d053cae51 "ctl: use current
# TTL for zone-unset", NEWS 3.5.6 "zone control unset does not respect the
# TTL value of the removed record"; 3.4 up to 3.4.10 at least). Knot's
# journal, not the module (answers only): the secondary, which applies the
# IXFR to its zone, lists the removed records with their TTL on every version.
unset_ttl_p=
if version_at_least "$knot_version" 3.3.8 && ! version_at_least "$knot_version" 3.5.6; then
	unset_ttl_p=0
fi

start_time=$SECONDS
test_tmp_init

knotc_p() { kenv timeout 60 knotc -c "$tmp/p/knot.conf" -t 50 "$@"; }

# --- zone data ------------------------------------------------------------

# zone_file_mx FILE ORIGIN: "OWNER PREF EXCHANGE" (absolute names) of the MX
# records of a zone file written like conf-examples/example.com.zone (owner
# in the first column or inherited, relative names, @).
zone_file_mx() {
	awk -v o="$2" '
	function abs(n) { return n == "@" ? o : (n ~ /\.$/ ? n : n "." o) }
	/^\$/ { next }
	{ sub(/;.*/, "") }
	NF == 0 { next }
	/^[^ \t]/ { owner = $1 }
	{ for (i = 1; i < NF - 1; i++) if ($i == "MX") { print abs(owner), $(i + 1), abs($(i + 2)); break } }
	' "$1" | sort
}
# zone_mx holds the zone's MX records ("OWNER PREF EXCHANGE", sorted), kept
# up to date with the knotc edits below.
zone_mx=$(zone_file_mx "$examples/${ZONE%.}.zone" "$ZONE")
mx_owners() { printf '%s\n' "$zone_mx" | awk '{ print $1 }' | sort -u; }
# zone_mx_at OWNER: "PREF EXCHANGE" of OWNER, sorted (what an untouched answer has).
zone_mx_at() { printf '%s\n' "$zone_mx" | awk -v n="$1" '$1 == n { print $2, $3 }' | sort; }
mx_add() { zone_mx=$(printf '%s\n%s\n' "$zone_mx" "$*" | sort); }
# The zone file's default TTL: that of its records (none has its own).
zone_ttl=$(awk '$1 == "$TTL" { print $2; exit }' "$examples/${ZONE%.}.zone")
mx_del() { zone_mx=$(printf '%s\n' "$zone_mx" | grep -vxF -- "$*" || true); }

# with_trap: "PREF EXCHANGE" lines on stdin -> the MX set the module answers
# with default options (sorted).
with_trap() {
	awk '{ p[NR] = $1 + 0; e[NR] = $2; print }
	NR == 1 || $1 + 0 < lo { lo = $1 + 0 }
	NR == 1 || $1 + 0 > hi { hi = $1 + 0 }
	END {
		if (NR == 0 || hi == lo) exit
		t = hi + 1 > 99 ? hi + 1 : 99
		for (i = 1; i <= NR; i++) if (p[i] == lo) print t, e[i]
	}' | sort
}
expected_answer() { zone_mx_at "$1" | with_trap; }
oneline() { tr '\n' ',' | sed 's/,$//'; }

# records_of FILE: the records of a kdig transfer/answer, whitespace normalised.
records_of() { awk '!/^;/ && NF >= 4 { $1 = $1; print }' "$@"; }
# axfr_mx FILE: "OWNER PREF EXCHANGE" of the MX records in a kdig AXFR, sorted.
axfr_mx() { records_of "$1" | awk '$4 == "MX" { print $1, $5, $6 }' | sort; }
# ixfr_diff FILE: the records of a kdig IXFR without its SOAs, each prefixed
# by - (removed) or + (added), in transfer order.
ixfr_diff() {
	records_of "$1" | awk '$4 == "SOA" { n++; sign = n % 2 == 0 ? "-" : "+"; next } { print sign, $0 }'
}
# ixfr_serials FILE: the SOA serials of a kdig IXFR, in order.
ixfr_serials() { records_of "$1" | awk '$4 == "SOA" { print $7 }' | oneline; }

soa_serial() {
	q "$tmp/soa-$1.out" "$1" "$ZONE" SOA
	section "$tmp/soa-$1.out" ANSWER | awk '$4 == "SOA" { print $7 }'
}
serials_equal() {
	local a b
	a=$(soa_serial "$port_p")
	b=$(soa_serial "$port_s")
	[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "${want_serial:-$a}" ]
}
want_serial=

# --- configurations -----------------------------------------------------------

port_p=$(free_port) || bail "no free port"
port_s=$(free_port) || bail "no free port"

# render EXAMPLE DIR: the example with the placeholders replaced and the
# documentation addresses mapped to loopback.
render() {
	mkdir -p "$2/run" "$2/storage" "$2/zones"
	sed -e "s|@MXTRAP_MODULE@|$module|g" \
	    -e "s|@RUNDIR@|$2/run|g" \
	    -e "s|@STORAGE@|$2/storage|g" \
	    -e "s|@ZONEDIR@|$2/zones|g" \
	    -e "s/192\.0\.2\.1@53/127.0.0.1@$port_p/g" \
	    -e "s/192\.0\.2\.2@53/127.0.0.1@$port_s/g" \
	    "$examples/$1" >"$2/knot.conf"
	if grep -n -E '@[A-Z_]+@|192\.0\.2\.[12]\b' "$2/knot.conf"; then
		bail "$1: placeholder or documentation address left after rendering"
	fi
}
render primary.conf "$tmp/p"
render secondary.conf "$tmp/s"
cp "$examples/${ZONE%.}.zone" "$tmp/p/zones/"
# The secondary example allows no outgoing transfer; the test asks it for
# AXFR/IXFR, so its zones get one more ACL for the test's kdig.
sed -i -e '/^acl:$/a\  - id: test_kdig_transfer\n    address: 127.0.0.1\n    action: transfer' \
       -e 's/^\(    acl: \)notify_from_primary$/\1[ notify_from_primary, test_kdig_transfer ]/' \
       "$tmp/s/knot.conf"
grep -q 'acl: \[ notify_from_primary, test_kdig_transfer \]' "$tmp/s/knot.conf" ||
	bail "secondary.conf: cannot add the test ACL (no 'acl: notify_from_primary' line)"
for s in p s; do
	out=$(kenv timeout 60 knotc -c "$tmp/$s/knot.conf" conf-check 2>&1) || bail "conf-check $s: $out"
done

# --- start --------------------------------------------------------------------------

spawn "$tmp/p/knotd.log" knotd -c "$tmp/p/knot.conf"
pid_p=$spawned_pid
primary_up() { [ -n "$(soa_serial "$port_p")" ]; }
if ! wait_for "the primary to serve $ZONE" 20 primary_up; then
	indent "$tmp/p/knotd.log"
	bail "primary does not serve $ZONE"
fi
serial0=$(soa_serial "$port_p")

spawn "$tmp/s/knotd.log" knotd -c "$tmp/s/knot.conf"
pid_s=$spawned_pid
if ! wait_for "the secondary to have $ZONE" 30 serials_equal; then
	indent "$tmp/s/knotd.log"
	bail "secondary does not get $ZONE (primary serial $serial0, secondary $(soa_serial "$port_s"))"
fi
note "primary 127.0.0.1@$port_p, secondary 127.0.0.1@$port_s, $ZONE serial $serial0"

# Transfer log lines of the secondary ("[example.com.] AXFR, incoming, remote
# 127.0.0.1@PORT, finished, ..."; Knot >= 3.4 writes "@PORT TCP, finished").
xfr_lines() {
	grep -E "\[${ZONE//./\\.}\] $1, incoming, remote 127\.0\.0\.1@$port_p( [A-Z]+)?, finished" \
		"$tmp/s/knotd.log" || true
}
xfr_count() { xfr_lines "$1" | wc -l; }

# --- answers --------------------------------------------------------------------------

# Per server: answers the module changed (trapped) and single-exchanger
# answers (no-backup) this script received, for the counter checks.
declare -A got_trapped=([p]=0 [s]=0) got_nobackup=([p]=0 [s]=0)
# tally SERVER FILE OWNER: count one MX answer of SERVER.
tally() {
	local zone_set got
	zone_set=$(zone_mx_at "$3")
	got=$(mx_of "$2")
	if [ "$got" != "$zone_set" ]; then
		got_trapped[$1]=$((got_trapped[$1] + 1))
	elif [ "$(printf '%s\n' "$zone_set" | awk '{ print $1 }' | sort -u | wc -l)" = 1 ]; then
		got_nobackup[$1]=$((got_nobackup[$1] + 1))
	fi
}

# answers_check CASE: every MX owner of the zone, UDP and TCP, both servers:
# the full expected MX set.
answers_check() {
	local c=$1 owner proto want errs s port got opt
	for owner in $(mx_owners); do
		want=$(expected_answer "$owner")
		for proto in UDP TCP; do
			opt=+notcp
			[ "$proto" = TCP ] && opt=+tcp
			errs=
			for s in p s; do
				port=$port_p
				[ "$s" = s ] && port=$port_s
				q "$tmp/a-$s.out" "$port" "$owner" MX "$opt"
				tally "$s" "$tmp/a-$s.out" "$owner"
				got=$(mx_of "$tmp/a-$s.out")
				[ "$(rcode_of "$tmp/a-$s.out")" = NOERROR ] || errs+="$s: status $(rcode_of "$tmp/a-$s.out")"$'\n'
				[ "$got" = "$want" ] || errs+="$s: MX [$(echo "$got" | oneline)]"$'\n'"$(section "$tmp/a-$s.out" ANSWER)"$'\n'
			done
			check "case $c: $owner MX over $proto, primary and secondary: [$(echo "$want" | oneline)]" "$errs"
		done
	done
}

# --- case a --------------------------------------------------------------------------------

errs=
[ "$(xfr_count AXFR)" = 1 ] || errs="AXFR incoming lines: $(xfr_count AXFR)"$'\n'"$(grep -F "[$ZONE]" "$tmp/s/knotd.log" | tail -n 10)"
check "case a: secondary got $ZONE by AXFR from the primary (serial $serial0 on both)" "$errs"
note "$(xfr_lines AXFR)"
# The documented example (conf-examples/example.com.zone): the oracle agrees.
check "case a: apex answer derived from the zone file is the documented one" \
	"$([ "$(expected_answer "$ZONE" | oneline)" = "10 mail1.$ZONE,20 mail2.$ZONE,99 mail1.$ZONE" ] ||
		echo "derived: $(expected_answer "$ZONE" | oneline); zone MX: $(echo "$zone_mx" | oneline)")"
answers_check a

# --- case b --------------------------------------------------------------------------------

# axfr_check CASE: AXFR from both servers = the zone's MX records, no trap,
# the same records on both.
axfr_check() {
	local c=$1 s port errs
	for s in p s; do
		port=$port_p
		[ "$s" = s ] && port=$port_s
		q "$tmp/axfr-$s.out" "$port" "$ZONE" AXFR
		errs=
		[ "$(axfr_mx "$tmp/axfr-$s.out")" = "$zone_mx" ] ||
			errs="AXFR MX records:"$'\n'"$(axfr_mx "$tmp/axfr-$s.out")"$'\n'"want:"$'\n'"$zone_mx"$'\n'"$(head -n 40 "$tmp/axfr-$s.out")"
		check "case $c: AXFR from $( [ "$s" = p ] && echo primary || echo secondary ): MX records = the zone's ($(printf '%s\n' "$zone_mx" | wc -l)), no trap" "$errs"
	done
	errs=$(diff <(records_of "$tmp/axfr-p.out" | sort -u) <(records_of "$tmp/axfr-s.out" | sort -u) || true)
	[ "$(records_of "$tmp/axfr-p.out" | wc -l)" -gt 3 ] || errs+="${errs:+$'\n'}AXFR from the primary: $(head -n 5 "$tmp/axfr-p.out")"
	check "case $c: AXFR from primary and secondary: the same $(records_of "$tmp/axfr-p.out" | sort -u | wc -l) records" "$errs"
	errs=$(records_of "$tmp/axfr-p.out" "$tmp/axfr-s.out" | awk '$4 == "MX" && $5 == 99' || true)
	check "case $c: no MX 99 record in either AXFR" "$errs"
}
t0_p=$(counter "$tmp/p/knot.conf" "$ZONE" trapped)
t0_s=$(counter "$tmp/s/knot.conf" "$ZONE" trapped)
axfr_check b
t1_p=$(counter "$tmp/p/knot.conf" "$ZONE" trapped)
t1_s=$(counter "$tmp/s/knot.conf" "$ZONE" trapped)
check "case b: AXFR counted as no trapped answer (primary $t0_p -> $t1_p, secondary $t0_s -> $t1_s)" \
	"$([ "$t0_p" = "$t1_p" ] && [ "$t0_s" = "$t1_s" ] || echo "primary: $(stats_line "$tmp/p/knot.conf" "$ZONE")"$'\n'"secondary: $(stats_line "$tmp/s/knot.conf" "$ZONE")")"

# --- case c --------------------------------------------------------------------------------

# commit DESC COMMAND...: a knotc transaction on the primary, COMMANDs are
# "zone-set ..." / "zone-unset ..." argument strings after the zone name.
commit() {
	local desc=$1 cmd errs='' out
	shift
	out=$(knotc_p zone-begin "$ZONE" 2>&1) || errs+="zone-begin: $out"$'\n'
	for cmd in "$@"; do
		# shellcheck disable=SC2086
		out=$(knotc_p $cmd 2>&1) || errs+="$cmd: $out"$'\n'
	done
	out=$(knotc_p zone-commit "$ZONE" 2>&1) || errs+="zone-commit: $out"$'\n'
	if [ -n "$errs" ]; then
		knotc_p zone-abort "$ZONE" >/dev/null 2>&1 || true
	fi
	check "case c: knotc on the primary: $desc" "$errs"
}

# replicated CASE OLD_SERIAL: serial OLD + 1 on both servers by IXFR.
replicated() {
	local c=$1 old=$2 new errs=
	new=$((old + 1))
	want_serial=$new
	wait_for "serial $new on both servers" 20 serials_equal ||
		errs+="serials: primary $(soa_serial "$port_p"), secondary $(soa_serial "$port_s"), want $new"$'\n'
	want_serial=
	ixfr_seen() { [ "$(xfr_count IXFR)" -gt "$ixfr_before" ]; }
	wait_for "IXFR in the secondary's log" 10 ixfr_seen ||
		errs+="no new 'IXFR, incoming ... finished' line in the secondary's log"$'\n'
	[ "$(xfr_count AXFR)" = 1 ] || errs+="AXFR incoming lines: $(xfr_count AXFR)"$'\n'
	[ -z "$errs" ] || errs+="$(grep -F "[$ZONE]" "$tmp/s/knotd.log" | tail -n 8)"
	check "case $c: serial $old -> $new on both servers, the secondary by IXFR (no new AXFR)" "$errs"
	note "$(xfr_lines IXFR | tail -n 1)"
}

ixfr_before=$(xfr_count IXFR)
commit "apex + MX 30 mail3, + mail3 A, - MX 10 mail1" \
	"zone-set $ZONE @ $zone_ttl MX 30 mail3.$ZONE" \
	"zone-set $ZONE mail3 $zone_ttl A 192.0.2.27" \
	"zone-unset $ZONE @ MX 10 mail1.$ZONE"
mx_add "$ZONE 30 mail3.$ZONE"
mx_del "$ZONE 10 mail1.$ZONE"
replicated c "$serial0"
serial1=$((serial0 + 1))
check "case c: the apex answer now derived is {20 mail2, 30 mail3, 99 mail2}" \
	"$([ "$(expected_answer "$ZONE" | oneline)" = "20 mail2.$ZONE,30 mail3.$ZONE,99 mail2.$ZONE" ] ||
		echo "derived: $(expected_answer "$ZONE" | oneline)")"
answers_check c

nb0_p=$(counter "$tmp/p/knot.conf" "$ZONE" 'unchanged[no-backup]')
nb0_s=$(counter "$tmp/s/knot.conf" "$ZONE" 'unchanged[no-backup]')
ixfr_before=$(xfr_count IXFR)
commit "apex - MX 20 mail2 (one exchanger left)" "zone-unset $ZONE @ MX 20 mail2.$ZONE"
mx_del "$ZONE 20 mail2.$ZONE"
replicated c "$serial1"
serial2=$((serial1 + 1))
for s in p s; do
	port=$port_p
	[ "$s" = s ] && port=$port_s
	errs=
	for opt in +notcp +tcp; do
		q "$tmp/single.out" "$port" "$ZONE" MX "$opt"
		tally "$s" "$tmp/single.out" "$ZONE"
		[ "$(mx_of "$tmp/single.out")" = "30 mail3.$ZONE" ] ||
			errs+="$opt: $(section "$tmp/single.out" ANSWER)"$'\n'
	done
	check "case c: $( [ "$s" = p ] && echo primary || echo secondary ): apex MX over UDP and TCP: [30 mail3], no trap" "$errs"
done
nb1_p=$(counter "$tmp/p/knot.conf" "$ZONE" 'unchanged[no-backup]')
nb1_s=$(counter "$tmp/s/knot.conf" "$ZONE" 'unchanged[no-backup]')
check "case c: unchanged[no-backup] +2 on both (primary $nb0_p -> $nb1_p, secondary $nb0_s -> $nb1_s)" \
	"$([ $((nb1_p - nb0_p)) = 2 ] && [ $((nb1_s - nb0_s)) = 2 ] ||
		echo "primary: $(stats_line "$tmp/p/knot.conf" "$ZONE")"$'\n'"secondary: $(stats_line "$tmp/s/knot.conf" "$ZONE")")"
answers_check c

# --- case d --------------------------------------------------------------------------------

axfr_check d

# ixfr_check FROM WANT_SERIALS WANT_MX_DIFF: IXFR=FROM from both servers.
# WANT_MX_DIFF: "+|- OWNER PREF EXCHANGE" lines (sorted); every record added
# or removed has the zone's TTL, except the primary's removals on a Knot
# with unset_ttl_p.
ixfr_check() {
	local from=$1 want_serials=$2 want_mx=$3 s port errs got want del_ttl
	for s in p s; do
		port=$port_p
		del_ttl=$zone_ttl
		if [ "$s" = s ]; then
			port=$port_s
		else
			del_ttl=${unset_ttl_p:-$zone_ttl}
		fi
		want=$(awk -v add="$zone_ttl" -v del="$del_ttl" '{ print $1, $2, ($1 == "+" ? add : del), $3, $4 }' \
			<<<"$want_mx" | sort)
		q "$tmp/ixfr-$s.out" "$port" "$ZONE" "IXFR=$from"
		errs=
		got=$(ixfr_serials "$tmp/ixfr-$s.out")
		[ "$got" = "$want_serials" ] || errs+="SOA serials [$got], want [$want_serials] (incremental)"$'\n'
		got=$(ixfr_diff "$tmp/ixfr-$s.out" | awk '$5 == "MX" { print $1, $2, $3, $6, $7 }' | sort)
		[ "$got" = "$want" ] || errs+="MX changes (SIGN OWNER TTL PREF EXCHANGE):"$'\n'"$got"$'\n'"want:"$'\n'"$want"$'\n'
		[ -z "$errs" ] || errs+="$(head -n 30 "$tmp/ixfr-$s.out")"
		check "case d: IXFR=$from from the $( [ "$s" = p ] && echo primary || echo secondary ): serials [$want_serials], MX changes [$(echo "$want" | oneline)], no trap" "$errs"
	done
	# The same records, but the primary's removals with the TTL the secondary
	# has where knotd gives them TTL 0 (checked exactly above).
	errs=$(diff <(ixfr_diff "$tmp/ixfr-p.out" |
			awk -v f="${unset_ttl_p:-$zone_ttl}" -v t="$zone_ttl" '$1 == "-" && $3 == f { $3 = t } 1') \
		<(ixfr_diff "$tmp/ixfr-s.out") || true)
	check "case d: IXFR=$from: the same changes from primary and secondary ($(ixfr_diff "$tmp/ixfr-p.out" | wc -l) records${unset_ttl_p:+, removals from the primary with TTL $unset_ttl_p on knotd $knot_version})" "$errs"
}
ixfr_check "$serial0" "$serial2,$serial0,$serial1,$serial1,$serial2,$serial2" "$(printf '%s\n' \
	"- $ZONE 10 mail1.$ZONE" "+ $ZONE 30 mail3.$ZONE" "- $ZONE 20 mail2.$ZONE" | sort)"
ixfr_check "$serial1" "$serial2,$serial1,$serial2,$serial2" "- $ZONE 20 mail2.$ZONE"

# --- case e --------------------------------------------------------------------------------

# lists.example.com is still trapped (MX 10 mail2, 50 mail1).
LISTS=lists.$ZONE
REPEAT=5
for s in p s; do
	port=$port_p
	[ "$s" = s ] && port=$port_s
	conf=$tmp/$s/knot.conf
	t0=$(counter "$conf" "$ZONE" trapped)
	miss=0
	for _ in $(seq "$REPEAT"); do
		for opt in +notcp +tcp; do
			q "$tmp/rep.out" "$port" "$LISTS" MX "$opt"
			tally "$s" "$tmp/rep.out" "$LISTS"
			[ "$(mx_of "$tmp/rep.out")" = "$(expected_answer "$LISTS")" ] || miss=$((miss + 1))
		done
	done
	t1=$(counter "$conf" "$ZONE" trapped)
	errs=
	[ "$miss" = 0 ] || errs+="$miss answers without the expected trap"$'\n'
	[ "$t0" -gt 0 ] || errs+="trapped was $t0 before (earlier trapped answers: ${got_trapped[$s]})"$'\n'
	[ $((t1 - t0)) = $((2 * REPEAT)) ] || errs+="trapped +$((t1 - t0)), want +$((2 * REPEAT))"$'\n'
	[ -z "$errs" ] || errs+="counters: $(stats_line "$conf" "$ZONE")"
	check "case e: $( [ "$s" = p ] && echo primary || echo secondary ): $((2 * REPEAT)) trapped $LISTS queries (UDP+TCP): trapped $t0 -> $t1" "$errs"
done
for s in p s; do
	conf=$tmp/$s/knot.conf
	tr=$(counter "$conf" "$ZONE" trapped)
	nb=$(counter "$conf" "$ZONE" 'unchanged[no-backup]')
	errs=
	[ "$tr" = "${got_trapped[$s]}" ] || errs+="trapped $tr, trapped answers received ${got_trapped[$s]}"$'\n'
	[ "$nb" = "${got_nobackup[$s]}" ] || errs+="unchanged[no-backup] $nb, single-exchanger answers received ${got_nobackup[$s]}"$'\n'
	[ -z "$errs" ] || errs+="counters: $(stats_line "$conf" "$ZONE")"
	check "case e: $( [ "$s" = p ] && echo primary || echo secondary ): counters = answers received (trapped $tr, unchanged[no-backup] $nb)" "$errs"
	note "$( [ "$s" = p ] && echo primary || echo secondary ) counters: $(stats_line "$conf" "$ZONE")"
done

# --- case f --------------------------------------------------------------------------------

for s in p s; do
	pid=$pid_p
	[ "$s" = s ] && pid=$pid_s
	check "case f: $( [ "$s" = p ] && echo primary || echo secondary ) still running" \
		"$(kill -0 "$pid" 2>/dev/null || { echo "knotd died; log:"; tail -n 20 "$tmp/$s/knotd.log"; })"
done
for srv in "secondary s $pid_s $port_s" "primary p $pid_p $port_p"; do
	read -r what s pid port <<<"$srv"
	stop_server "$what" "$pid" "$port" "$tmp/$s/knotd.log"
	errs=$stop_errs
	grep -q 'shutting down' "$tmp/$s/knotd.log" || errs+=$'\n'"no 'shutting down' in its log"
	[ -z "$errs" ] || errs+=$'\n'"$(tail -n 10 "$tmp/$s/knotd.log")"
	check "case f: $what stopped by SIGTERM (exit 0), port $port released, no sanitizer report" "$errs"
done
note "runtime $((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
