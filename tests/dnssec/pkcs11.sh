#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Keys in a PKCS#11 token (SoftHSM, made by this test): knotd A signs its
# zone with `keystore: backend: pkcs11`, the module signs the trapped MX
# RRset with the token's keys; knotd B, a secondary (the zone by AXFR, the
# module with `dnssec: on` and a policy naming the token), traps too. Each
# server behind its own validating unbound. 1: A and B trap, AD through
# unbound, RRSIG(MX) by the ZSK. 2: a ZSK rollover (knotc zone-key-rollover),
# every step knotd publishes checked on A and B. 3: knotc reload of A. 4: a
# wrong PIN on B: no trap, the zone's RRSIG(MX), AD, unchanged[keystore-login],
# one log line naming the token without its PIN; the right PIN again: the
# trap at once. 5: 20 reloads of B: no file descriptor more in knotd.
# PKCS11_KEEP=1 keeps $tmp.
set -euo pipefail

src_dir=$(cd "$(dirname "$0")" && pwd)
TAP_NAME=pkcs11
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
# shellcheck source=tests/lib/unbound.sh
source "$src_dir/../lib/unbound.sh"
test_init "$@"
need_tools knotd knotc kdig unbound unbound-control unbound-checkconf softhsm2-util
test_tmp_init
start_time=$SECONDS
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
[ -f "$SOFTHSM" ] || bail "$SOFTHSM missing (tests/setup.sh installs softhsm2)"
Z=p11.mxtrap.test.
TTL=8   # every TTL of the zone and the DNSKEY: a rollover step lasts about that long
PIN=1234 WRONG_PIN=9999
take_ports port_a port_b port_ua port_uac port_ub port_ubc
mkdir -p "$tmp"/{a,b,ua,ub,tokens}
# The token, where knotd's SoftHSM looks (both knotd inherit SOFTHSM2_CONF).
export SOFTHSM2_CONF=$tmp/softhsm2.conf
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp" >"$SOFTHSM2_CONF"
out=$(softhsm2-util --init-token --free --label mxtrap --pin "$PIN" --so-pin 12345678 2>&1) ||
	bail "softhsm2-util --init-token: $out"
token() { printf 'pkcs11:token=mxtrap;pin-value=%s %s' "$1" "$SOFTHSM"; }
sed "s/@TTL@/$TTL/g" "$src_dir/zone.in" >"$tmp/a/${Z%.}.zone"

# --- configurations --------------------------------------------------------------
# server_conf DIR PORT PIN: all but the zone; the token as keystore and policy.
server_conf() {
	printf 'server:\n    rundir: "%s"\n    listen: 127.0.0.1@%s\n    udp-workers: 2\n    tcp-workers: 1\n' "$1" "$2"
	printf '    background-workers: 2\nlog:\n  - target: stderr\n    any: info\n'
	printf 'control:\n    listen: "%s/knot.sock"\ndatabase:\n    storage: "%s"\n' "$1" "$1"
	printf 'module:\n  - id: mod-mxtrap\n    file: "%s"\n' "$module"
	printf 'keystore:\n  - id: token\n    backend: pkcs11\n    config: "%s"\n' "$(token "$3")"
	printf 'policy:\n  - id: token\n    keystore: token\n    propagation-delay: 0\n'
	printf '    dnskey-ttl: %s\n    zone-max-ttl: %s\n' "$TTL" "$TTL"
	printf 'template:\n  - id: default\n    storage: "%s"\n    file: "%s/%%s.zone"\n    zonefile-sync: -1\n' "$1" "$1"
}
{
	server_conf "$tmp/a" "$port_a" "$PIN"
	printf 'remote:\n  - id: b\n    address: 127.0.0.1@%s\n' "$port_b"
	printf 'acl:\n  - id: to-b\n    address: 127.0.0.1\n    action: transfer\n'
	printf 'zone:\n  - domain: %s\n    dnssec-signing: on\n    dnssec-policy: token\n' "$Z"
	printf '    module: mod-mxtrap\n    notify: b\n    acl: to-b\n'
} >"$tmp/a/knot.conf"
conf_b() {   # PIN: knotd B's configuration (Knot 3.2 calls the primary "master")
	server_conf "$tmp/b" "$port_b" "$1"
	printf 'mod-mxtrap:\n  - id: secondary\n    dnssec: on\n    policy: token\n'
	printf 'remote:\n  - id: a\n    address: 127.0.0.1@%s\n' "$port_a"
	printf 'acl:\n  - id: from-a\n    address: 127.0.0.1\n    action: notify\n'
	printf 'zone:\n  - domain: %s\n    master: a\n    acl: from-a\n    module: mod-mxtrap/secondary\n' "$Z"
	printf '    journal-content: all\n'
}
conf_b "$PIN" >"$tmp/b/knot.conf"

# --- answers ---------------------------------------------------------------------
declare -A port_of=([a]=$port_a [b]=$port_b [ua]=$port_ua [ub]=$port_ub)
WANT_TRAP="10 mx1.$Z,20 mx2.$Z,99 mx1.$Z," WANT_PLAIN="10 mx1.$Z,20 mx2.$Z,"
mx_set() { mx_of "$1" | tr '\n' ','; }
flags_of() { sed -n 's/^;; Flags: \([^;]*\);.*/\1/p' "$1" | head -n 1; }
# tags_of FILE TYPE: the key tags of the RRSIGs over TYPE in ANSWER, sorted.
tags_of() { section "$1" ANSWER | awk -v t="$2" '$4 == "RRSIG" && $5 == t { print $11 }' | sort -n | paste -sd ' '; }
# signers SERVER: the tags of RRSIG(SOA), the zone's signing keys now.
signers() { q "$tmp/sg.out" "${port_of[$1]}" "$Z" SOA +dnssec; tags_of "$tmp/sg.out" SOA; }
# dnskeys SERVER: "ROLE TAG" of the DNSKEY set, sorted.
dnskeys() {
	q "$tmp/dk.out" "${port_of[$1]}" "$Z" DNSKEY +multi
	sed -nE 's/.*; ([KZ]SK)[,;] .*id = ([0-9]+)$/\1 \2/p' "$tmp/dk.out" | sort | paste -sd ','
}
serial_of() { q "$tmp/se.out" "${port_of[$1]}" "$Z" SOA; section "$tmp/se.out" ANSWER | awk '$4 == "SOA" { print $7 }'; }
names() { echo "$Z mail.$Z alias.$Z w${EPOCHREALTIME/./}.wild.$Z"; }
# via_unbound U NAME WANT: through unbound U (ua: A, ub: B; the zone flushed):
# NOERROR, AD, the MX set WANT; errors to E.
via_unbound() {
	local out=$tmp/$1.out
	unbound_ask "$tmp/$1" "${port_of[$1]}" "$out" "$Z" "$2"
	[ "$(rcode_of "$out")" = NOERROR ] && [[ " $(flags_of "$out") " == *" ad "* ]] && [ "$(mx_set "$out")" = "$3" ] ||
		E+="$2 MX via unbound ($1): $(rcode_of "$out") [$(flags_of "$out")] MX [$(mx_set "$out")]; $(unbound_log_of "$tmp/$1" "$2" | tail -n 2)"$'\n'
}
# direct_do SERVER NAME WANT SIGNERS: with DO from knotd SERVER: the MX set
# WANT, RRSIG(MX) by the keys SIGNERS; errors to E.
direct_do() {
	local out=$tmp/$1-do.out
	q "$out" "${port_of[$1]}" "$2" MX +dnssec
	[ "$(rcode_of "$out")" = NOERROR ] && [ "$(mx_set "$out")" = "$3" ] && [ "$(tags_of "$out" MX)" = "$4" ] ||
		E+="$2 MX with DO from knotd $1: $(rcode_of "$out") MX [$(mx_set "$out")] RRSIG(MX) [$(tags_of "$out" MX)], want [$4]"$'\n'
}
# check_server SERVER U WANT SIGNERS: every name with DO from SERVER and through U.
check_server() {
	local name
	for name in $(names); do direct_do "$1" "$name" "$3" "$4"; via_unbound "$2" "$name" "$3"; done
}
# cnt SERVER NAME: a counter of the zone on knotd SERVER.
cnt() {
	{ knotd_ctl "$tmp/$1/knot.conf" -f zone-stats "$Z" mod-mxtrap 2>/dev/null || true; } | mod_stats |
		awk -v k="$2" '$1 == k { v = $3 } END { print v + 0 }'
}
stats() { stats_line "$tmp/$1/knot.conf" "$Z" || true; }
soa_ad() {
	q "$tmp/$1-soa.out" "${port_of[$1]}" "$Z" SOA +dnssec
	[ "$(rcode_of "$tmp/$1-soa.out")" = NOERROR ] && [[ " $(flags_of "$tmp/$1-soa.out") " == *" ad "* ]]
}
module_lines() { grep -F "[$Z] module 'mod-mxtrap" "$1" || true; }

# --- setup ---------------------------------------------------------------------------
knotd_start "$tmp/a/knot.conf" "$tmp/a/knotd.log" "$Z" && knotd_a=$knotd_pid || bail "knotd A did not sign $Z"
wait_for "$Z signed by a KSK and a ZSK" 60 eval '[[ $(dnskeys a) == KSK\ *,ZSK\ * ]] && [ -n "$(signers a)" ]' ||
	bail "$Z on knotd A: DNSKEY [$(dnskeys a)] RRSIG(SOA) [$(signers a)]"
zsk=$(signers a) keys0=$(dnskeys a)
pems=$(find "$tmp" -name '*.pem' | head -n 3)
check "setup: knotd A signs $Z with keys it made in the SoftHSM token [$keys0], no key file" \
	"$([ -z "$pems" ] || echo "key files: $pems")"
knotd_start "$tmp/b/knot.conf" "$tmp/b/knotd.log" "$Z" && knotd_b=$knotd_pid || bail "knotd B did not load $Z"
wait_for "$Z on B as on A" 30 eval '[ "$(serial_of b)" = "$(serial_of a)" ]' || bail "$Z: serial $(serial_of b) on B, $(serial_of a) on A"
q "$tmp/anchor.out" "$port_a" "$Z" DNSKEY
section "$tmp/anchor.out" ANSWER | awk '$4 == "DNSKEY" && $5 == 257' >"$tmp/anchors"
[ -s "$tmp/anchors" ] || bail "no KSK DNSKEY of $Z"
unbound_start "$tmp/ua" "$port_ua" "$port_uac" "$tmp/anchors" "$Z $port_a" || bail "unbound configuration: $unbound_err"
unbound_a=$unbound_pid
unbound_start "$tmp/ub" "$port_ub" "$port_ubc" "$tmp/anchors" "$Z $port_b" || bail "unbound configuration: $unbound_err"
unbound_b=$unbound_pid
for u in ua ub; do wait_for "unbound $u" 30 soa_ad "$u" || { indent "$tmp/$u/unbound.out"; bail "unbound $u does not validate $Z SOA"; }; done
note "knotd A $knotd_a @$port_a, B $knotd_b @$port_b; unbound @$port_ua (A), @$port_ub (B); ZSK $zsk"

# --- case 1: both trap ---------------------------------------------------------------
for s in a b; do
	E= && check_server "$s" "u$s" "$WANT_TRAP" "$zsk"
	f=$(cnt "$s" 'signatures[fresh]') t=$(cnt "$s" trapped)
	[ "$t" -ge 8 ] && [ "$f" -ge 1 ] || E+="counters: $(stats "$s")"$'\n'
	check "case 1: knotd ${s^^} $Z apex, mail, CNAME, wildcard: trap + AD through unbound, RRSIG(MX) by the ZSK $zsk from the token; trapped $t, signatures[fresh] $f" "$E"
done

# --- case 2: ZSK rollover ------------------------------------------------------------
# Polled: each new state A publishes (DNSKEY set, RRSIG(SOA) keys) checked on A
# and, once B has A's serial, on B; until the old ZSK is gone.
out=$(knotd_ctl "$tmp/a/knot.conf" zone-key-rollover "$Z" zsk 2>&1) || bail "knotc zone-key-rollover: $out"
roll_t0=$SECONDS E= states='' state='' deadline=$((SECONDS + 40 * TTL))
until [ "$SECONDS" -ge "$deadline" ]; do
	sig=$(signers a) keys=$(dnskeys a)
	now="DNSKEY[$keys] RRSIG[$sig]"
	if [ -n "$sig" ] && [ "$now" != "$state" ]; then
		state=$now states+="$now (+$((SECONDS - roll_t0)) s)"$'\n'
		check_server a ua "$WANT_TRAP" "$sig"
		serial=$(serial_of a)
		wait_for "B at serial $serial" 30 eval '[ "$(serial_of b)" = "$serial" ]' || E+="B not at A's serial $serial"$'\n'
		check_server b ub "$WANT_TRAP" "$sig"
		[ "$(signers a)" = "$sig" ] && [ "$(dnskeys a)" = "$keys" ] || state=''   # changed meanwhile: again
	fi
	[ -z "$state" ] || [[ $keys == *"ZSK $zsk"* ]] || [ "$sig" = "$zsk" ] || break
	sleep 0.2
done
new_zsk=$(signers a)
nstates=$(grep -c . <<<"$states")
note "case 2: states seen:" && sed 's/^/#   /' <<<"${states%$'\n'}"
[ "$new_zsk" != "$zsk" ] && [ -n "$new_zsk" ] && [[ $(dnskeys a) != *"ZSK $zsk"* ]] ||
	E+="not rolled within $((40 * TTL)) s: DNSKEY [$(dnskeys a)] RRSIG(SOA) [$new_zsk]"$'\n'
grep -qE "ZSK [0-9]+,ZSK [0-9]+\] RRSIG\[$new_zsk\]" <<<"$states" ||
	E+="never seen: both ZSKs published, $new_zsk signing"$'\n'
[ "$(cnt a 'unchanged[keystore-login]')$(cnt a 'unchanged[key-missing]')" = 00 ] || E+="A: $(stats a)"$'\n'
check "case 2: ZSK rollover $zsk -> $new_zsk: in each of the $nstates states seen, A and B trap, AD through unbound, RRSIG(MX) by the signing ZSK" "$(head -n 30 <<<"$E")"

# --- case 3: knotc reload of A -------------------------------------------------------
out=$(knotd_ctl "$tmp/a/knot.conf" reload 2>&1) || not_ok "case 3: knotc reload (A): $out"
E= && wait_for "A trapping after the reload" 30 eval 'E= && direct_do a "$Z" "$WANT_TRAP" "$new_zsk" && [ -z "$E" ]' || true
E= && check_server a ua "$WANT_TRAP" "$new_zsk"
check "case 3: after knotc reload of A: trap + AD through unbound, RRSIG(MX) by $new_zsk; $(stats a)" "$E"

# --- case 4: a wrong PIN on B --------------------------------------------------------
lines0=$(module_lines "$tmp/b/knotd.log" | wc -l)
conf_b "$WRONG_PIN" >"$tmp/b/knot.conf"
out=$(knotd_ctl "$tmp/b/knot.conf" reload 2>&1) || not_ok "case 4: knotc reload (B): $out"
E= asked=0 end=$((SECONDS + 2 * 10 + 2))   # > two key retries (10 s): still one log line
while [ "$SECONDS" -lt "$end" ]; do
	direct_do b "$Z" "$WANT_PLAIN" "$new_zsk"; direct_do b "mail.$Z" "$WANT_PLAIN" "$new_zsk"
	asked=$((asked + 2))
	sleep 1
done
for name in $(names); do via_unbound ub "$name" "$WANT_PLAIN"; done
u=$(cnt b 'unchanged[keystore-login]')
[ "$u" -ge "$asked" ] || E+="unchanged[keystore-login] $u < $asked: $(stats b)"$'\n'
lines=$(module_lines "$tmp/b/knotd.log" | tail -n +$((lines0 + 1)))
[ "$(grep -c . <<<"$lines")" = 1 ] && [[ $lines == *"refused the login"*"; key stores searched: pkcs11:token=mxtrap; tried again every"* ]] ||
	E+="module log lines: ${lines:-none}"$'\n'
! grep -qE "pin-value|$WRONG_PIN" <<<"$lines" || E+="the PIN logged"$'\n'
check "case 4: B with a wrong PIN: $asked DO answers over $((2 * 10 + 2)) s without the trap, the zone's RRSIG(MX), AD through unbound; unchanged[keystore-login] $u; one log line, the token without its PIN" "$(head -n 20 <<<"$E")"
note "case 4: $lines"
conf_b "$PIN" >"$tmp/b/knot.conf"
out=$(knotd_ctl "$tmp/b/knot.conf" reload 2>&1) || not_ok "case 4: knotc reload (B): $out"
E= && check_server b ub "$WANT_TRAP" "$new_zsk"
check "case 4: B with the right PIN again (knotc reload): the first answers trap, AD through unbound" "$E"

# --- case 5: file descriptors over reloads -------------------------------------------
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# reload_b: knotc reload, then a DO answer trapped (the keys read from the token again).
reload_b() {
	local out
	out=$(knotd_ctl "$tmp/b/knot.conf" reload 2>&1) || { E+="knotc reload: $out"$'\n'; return 1; }
	wait_for "B trapping after the reload" 30 eval 'q "$tmp/r.out" "$port_b" "$Z" MX +dnssec && [ "$(mx_set "$tmp/r.out")" = "$WANT_TRAP" ]' ||
		{ E+="no trap after a reload: $(stats b)"$'\n'; return 1; }
}
E= && reload_b && reload_b
fd0=$(fds "$knotd_b")
for _ in $(seq 20); do reload_b || break; done
fd1=$(fds "$knotd_b")
[ "$fd1" -le "$fd0" ] || E+="$fd0 file descriptors before, $fd1 after: $(ls -l "/proc/$knotd_b/fd" | tail -n +2 | awk '{ print $NF }' | sort | uniq -c | sort -rn | head -n 5)"$'\n'
check "case 5: knotd B over 20 reloads, each with DO answers signed by the token's key: $fd0 file descriptors before, $fd1 after" "$E"

# --- the end -------------------------------------------------------------------------
for s in "A $knotd_a" "B $knotd_b"; do
	knotd_stop "${s#* }" || true
	check "knotd ${s%% *} stopped by SIGTERM: exit 0, port released, no sanitizer report" "$stop_errs"
done
for s in "ua $unbound_a $port_ua" "ub $unbound_b $port_ub"; do
	read -r u pid port <<<"$s"
	unbound_stop "$tmp/$u" "$pid" "$port"
	check "unbound $u stopped by SIGTERM: exit 0, port released" "$stop_errs"
done
note "runtime $((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
