#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# DNSSEC test of the module's signed path: knotd signs its zones, the module
# signs the merged MX RRset with the keys of the zone's RRSIG(MX) (read from
# knotd's key store) and unbound, started here, validates. No `knotc reload`
# is ever done on knotd A: the trap must not need one.
#
#   tests/dnssec/dnssec.sh BUILD_DIR [KNOTD_PRELOAD]     (TAP; meson suite dnssec)
#
# What each case proves about the module (zones NAME.mxtrap.test.):
#   1  First start on an empty key store: the first DO MX answers are trapped
#      and validate. Apex, non-apex, CNAME and wildcard answers of NSEC/NSEC3,
#      ECDSA/Ed25519, KSK+ZSK, CSK, two-ZSK zones: AD + trap via unbound; from
#      knotd one RRSIG(MX) per signing key, made as Knot makes its own (signer,
#      labels, TTL, validity); no DO: the trap, no RRSIG. Repeats are signed
#      from the module's cache.
#   2  Negative control from the test side: neg as knotd A signed it, the trap
#      written into its MX RRset under the old RRSIG(MX), served by knotd B
#      (no module, no signing): unbound SERVFAIL, the SOA still AD.
#   6  mod-onlinesign after the module: AD + trap; before it: DO answers left
#      alone (unchanged[signed]), AD.
#   7  Key stores elsewhere (relative, absolute, another KASP DB): found.
#   8  Keys it cannot use (file missing, garbage, another key, PKCS#11): the
#      zone's own answer, AD, no trap, counted, logged once over > 10 s; a
#      restored file used within 30 s.
#   3  ZSK (under a dnsperf DO load), KSK, CSK and algorithm rollovers: in
#      every step AD + trap via unbound, RRSIG(MX) by the step's keys.
#   4  rrsig-lifetime 20 s, zsk-lifetime 25 s over 3 lifetimes and 2 ZSK
#      rollovers: >= 99 % trapped, by the current ZSK, never near expiry.
#   9  knotd A restarted: trapped at once. Every server exits 0 on SIGTERM.
# Servers on 127.0.0.1: knotd A (module), B (case 2), C (module, own kasp-db,
# reloaded for the algorithm rollover), unbound (a trust anchor and stub per
# zone; the parent of KSK rollovers). Waits are bounded polls of Knot's state.
# About 2.5 min on 2 CPUs. DNSSEC_KEEP=1 keeps the temporary directory;
# DNSSEC_LOAD_SECONDS (30), DNSSEC_LOAD_QPS (2000): case 3's dnsperf load.
set -euo pipefail

src_dir=$(cd "$(dirname "$0")" && pwd)
TAP_NAME=dnssec
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
test_init "$@"
need_tools knotd knotc keymgr kdig unbound unbound-control unbound-checkconf
test_tmp_init
start_time=$SECONDS
LOAD_SECONDS=${DNSSEC_LOAD_SECONDS:-30} LOAD_QPS=${DNSSEC_LOAD_QPS:-2000}

for z in en dn3 ec3 two roll kroll life alt abs kmiss kbad kswap p11 os osrev neg alg calt; do
	declare "${z^^}=$z.mxtrap.test."
done
ZONES_A="$EN $DN3 $EC3 $TWO $ROLL $KROLL $LIFE $ALT $ABS $KMISS $KBAD $KSWAP $P11 $OS $OSREV $NEG"
ZONES_C="$ALG $CALT"
# Rollover steps last about ROLL_TTL.
ROLL_TTL=20 LIFE_LIFETIME=20 LIFE_REFRESH=5 LIFE_TTL=3 LIFE_ZSK_LIFETIME=25

take_ports port_a port_b port_c port_u port_uc
declare -A zport=() zconf=() zlife=()
for z in $ZONES_A; do zport[$z]=$port_a zconf[$z]=$tmp/a/knot.conf zlife[$z]=1209600; done
for z in $ZONES_C; do zport[$z]=$port_c zconf[$z]=$tmp/c/knot.conf zlife[$z]=1209600; done
zport[$NEG]=$port_b zlife[$LIFE]=$LIFE_LIFETIME zlife[$OS]='' zlife[$OSREV]=''
mkdir -p "$tmp/a" "$tmp/b" "$tmp/c" "$tmp/u" "$tmp/moved"

# zone_file ZONE TTL DIR: zone.in with MX owners fresh1..10 (names never
# asked before: signed anew, not from the module's cache).
zone_file() {
	{ sed "s/@TTL@/$2/g" "$src_dir/zone.in"; printf 'fresh%s\tMX\t10 mx1\nfresh%s\tMX\t20 mx2\n' $(seq 10 | sed p); } >"$3/${1%.}.zone"
}
for z in $ZONES_A $ZONES_C; do zone_file "$z" 10 "$(dirname "${zconf[$z]}")"; done
for z in $ROLL $KROLL $EC3 $ALG; do zone_file "$z" "$ROLL_TTL" "$(dirname "${zconf[$z]}")"; done
zone_file "$LIFE" "$LIFE_TTL" "$tmp/a"

# --- configurations --------------------------------------------------------------

# knot_conf DIR PORT [MODULE_FILE [KASP_DB]]: server, log, control, database,
# the module; the caller appends the rest.
knot_conf() {
	printf 'server:\n    rundir: "%s"\n    listen: 127.0.0.1@%s\n' "$1" "$2"
	printf '    udp-workers: 2\n    tcp-workers: 1\n    background-workers: 2\n'
	printf 'log:\n  - target: stderr\n    any: info\ncontrol:\n    listen: "%s/knot.sock"\n' "$1"
	printf 'database:\n    storage: "%s"\n' "$1"
	[ -z "${4:-}" ] || printf '    kasp-db: "%s"\n' "$4"
	[ -z "${3:-}" ] || printf 'module:\n  - id: mod-mxtrap\n    file: "%s"\n' "$3"
}
# entry KEY VALUE ITEM...: a list entry "  - KEY: VALUE" and its items.
entry() { printf '  - %s: %s\n' "$1" "$2"; shift 2; printf '    %s\n' "$@"; }
template() {
	printf 'template:\n  - id: default\n    storage: "%s"\n    file: "%s/%%s.zone"\n' "$1" "$1"
	printf '    zonefile-sync: -1\n    journal-content: none\nzone:\n'
}
# signed ZONE POLICY [MODULE]: a zone knotd signs, with the module.
signed() { entry domain "$1" "dnssec-signing: on" "dnssec-policy: $2" "module: ${3:-mod-mxtrap}"; }
ECDSA="algorithm: ecdsap256sha256"
FAST=("propagation-delay: 0" "dnskey-ttl: $ROLL_TTL" "zone-max-ttl: $ROLL_TTL")
# p11's policy is only named by the module's: knotd signs p11 with PEM keys.
{
	knot_conf "$tmp/a" "$port_a" "$module"
	echo "keystore:"
	entry id alt 'config: "alt-keys"'
	entry id abs "config: \"$tmp/abs-keys\""
	entry id p11 "backend: pkcs11" 'config: "pkcs11:token=mxtrap;pin-value=1234 /usr/lib/softhsm/libsofthsm2.so"'
	echo "policy:"
	entry id ecdsa-nsec "$ECDSA"
	entry id ed-nsec3 "algorithm: ed25519" "nsec3: on"
	entry id csk-roll "$ECDSA" "nsec3: on" "single-type-signing: on" "${FAST[@]}"
	entry id manual "$ECDSA" "manual: on"
	entry id roll "$ECDSA" "${FAST[@]}"
	entry id life "$ECDSA" "propagation-delay: 0" "dnskey-ttl: $LIFE_TTL" "zone-max-ttl: $LIFE_TTL" \
		"rrsig-lifetime: $LIFE_LIFETIME" "rrsig-refresh: $LIFE_REFRESH" "rrsig-pre-refresh: 1" \
		"zsk-lifetime: $LIFE_ZSK_LIFETIME"
	for id in alt abs p11; do entry id $id "keystore: $id"; done
	echo "mod-mxtrap:"
	entry id p11 "policy: p11"
	echo "acl:"
	entry id axfr "address: 127.0.0.1" "action: transfer"
	template "$tmp/a"
	signed "$EN" ecdsa-nsec
	signed "$DN3" ed-nsec3
	signed "$EC3" csk-roll
	signed "$TWO" manual
	for z in $ROLL $KROLL; do signed "$z" roll; done
	signed "$LIFE" life
	signed "$ALT" alt
	signed "$ABS" abs
	for z in $KMISS $KBAD $KSWAP; do signed "$z" ecdsa-nsec; done
	signed "$P11" ecdsa-nsec mod-mxtrap/p11
	entry domain "$OS" "module: [ mod-mxtrap, mod-onlinesign ]"
	entry domain "$OSREV" "module: [ mod-onlinesign, mod-mxtrap ]"
	entry domain "$NEG" "dnssec-signing: on" "dnssec-policy: ecdsa-nsec" "acl: axfr"
} >"$tmp/a/knot.conf"
{ knot_conf "$tmp/b" "$port_b"; template "$tmp/b"; entry domain "$NEG"; } >"$tmp/b/knot.conf"
# write_conf_c ALGORITHM: alg's policy algorithm (case 3 changes it).
write_conf_c() {
	knot_conf "$tmp/c" "$port_c" "$module" kasp-c
	printf 'keystore:\n  - id: cks\n    config: "c-keys"\npolicy:\n'
	entry id alg "algorithm: $1" "${FAST[@]}"
	entry id calt "keystore: cks"
	template "$tmp/c"
	signed "$ALG" alg
	signed "$CALT" calt
}
write_conf_c ecdsap256sha256 >"$tmp/c/knot.conf"

# --- answers ---------------------------------------------------------------------
# Polls run often on a loaded machine: one awk reads an answer, the shell does
# the rest without subshells; errors are added to E.

# parse FILE: a kdig answer into f_rcode, f_flags, f_mx ("PREF EXCHANGE," each,
# sorted), f_trap (yes/no), f_mxttl, f_rrsig ("TYPE TTL ALG LABELS ORIG EXP
# INC TAG SIGNER" lines, times in epoch seconds), f_tags[TYPE] (sorted RRSIG
# key tags), f_keys ("ROLE ALG TAG" lines of a +multi DNSKEY answer), f_cds.
declare -A f_tags=()
parse() {
	local kind rest
	f_rcode='' f_flags='' f_mx='' f_trap=no f_mxttl='' f_rrsig=() f_keys='' f_cds='' f_tags=()
	while read -r kind rest; do
		case $kind in
		rcode) f_rcode=$rest;;
		flags) f_flags=$rest;;
		mx) f_mx+="$rest,"; [ "${rest%% *}" != 99 ] || f_trap=yes;;
		mxttl) f_mxttl=$rest;;
		rrsig) f_rrsig+=("$rest");;
		tags) f_tags[${rest%% *}]=${rest#* };;
		key) f_keys+=${f_keys:+$'\n'}$rest;;
		cds) f_cds=$rest;;
		esac
	done < <(awk '
	function epoch(t,   y, m, d, e) {
		y = substr(t, 1, 4) + 0; m = substr(t, 5, 2) + 0; d = substr(t, 7, 2) + 0
		if (m <= 2) y--
		e = int(y / 400); y -= e * 400
		d = e * 146097 + y * 365 + int(y / 4) - int(y / 100) + int((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 719469
		return sprintf("%.0f", d * 86400 + substr(t, 9, 2) * 3600 + substr(t, 11, 2) * 60 + substr(t, 13, 2))
	}
	function ins(a, n, v, num,   i) {   # V into the sorted A[1..N]; the new N
		for (i = n; i > 0 && (num ? a[i] + 0 > v + 0 : a[i] > v); i--) a[i + 1] = a[i]
		a[i + 1] = v
		return n + 1
	}
	/^;; ->>HEADER<<-/ { s = $0; sub(/.*status: /, "", s); sub(/;.*/, "", s); print "rcode", s }
	/^;; Flags: / { s = $0; sub(/^;; Flags: /, "", s); sub(/;.*/, "", s); print "flags", s }
	/; [KZ]SK, .*id = [0-9]+$/ { s = $0; sub(/.*; /, "", s); split(s, k, /[ ,]+/); nk = ins(key, nk, k[1] " " k[2] " " $NF, 0) }
	$0 == ";; ANSWER SECTION:" { on = 1; next }
	/^;; / || /^$/ { on = 0 }
	on && $4 == "MX" { nmx = ins(mx, nmx, $5 " " $6, 0); if (!($2 in mt)) { mt[$2]; mxttl = mxttl " " $2 } }
	on && $4 == "CDS" { ncds = ins(cds, ncds, $5, 1) }
	on && $4 == "RRSIG" && NF >= 13 {
		print "rrsig", $5, $2, $6, $7, $8, epoch($9), epoch($10), $11, $12
		if (!($5 in tl)) types[++ntypes] = $5
		tl[$5] = tl[$5] " " $11
	}
	END {
		for (i = 1; i <= nmx; i++) print "mx", mx[i]
		print "mxttl" mxttl
		for (j = 1; j <= ntypes; j++) {
			n = split(tl[types[j]], t, " "); c = 0; s = "tags " types[j]
			for (i = 1; i <= n; i++) c = ins(tg, c, t[i], 1)
			for (i = 1; i <= c; i++) s = s " " tg[i]
			print s
		}
		s = "cds"; for (i = 1; i <= ncds; i++) s = s " " cds[i]; print s
		for (i = 1; i <= nk; i++) print "key", key[i]
	}' "$1")
}
f_ad() { case " $f_flags " in *" ad "*) return 0;; esac; return 1; }
hms() { TZ=UTC printf '%(%T)T' "$1"; }
stamp() { hms "$EPOCHSECONDS"; }
uctl() { timeout 20 unbound-control -c "$tmp/unbound.conf" "$@" >/dev/null 2>&1; }
unbound_log() { grep -F -- "${1%.}" "$tmp/unbound.log" 2>/dev/null | grep -v "keytag query" | tail -n 4 || true; }
# mx_ok ZONE TRAP(yes/no/any): f_mx is the zone's MX set, with/without the trap.
mx_ok() {
	local no="10 mx1.$1,20 mx2.$1," yes="10 mx1.$1,20 mx2.$1,99 mx1.$1,"
	case $2 in yes|no) [ "$f_mx" = "${!2}" ];; *) [ "$f_mx" = "$no" ] || [ "$f_mx" = "$yes" ];; esac
}
# Names of a zone: apex, non-apex, CNAME to mail, a wildcard name never asked.
names_of() { echo "$1 mail.$1 alias.$1 w${EPOCHREALTIME/./}.wild.$1"; }

# via_unbound ZONE NAME TRAP: NAME MX through unbound (ZONE flushed first
# unless no_flush=1): NOERROR, AD, the MX set.
no_flush=0
via_unbound() {
	local out=$tmp/u.out e=''
	[ "$no_flush" = 1 ] || uctl flush_zone "$1" || true
	q "$out" "$port_u" "$2" MX +dnssec
	parse "$out"
	[ "$f_rcode" = NOERROR ] && f_ad || e+="status ${f_rcode:-none}, flags [$f_flags]; "
	mx_ok "$1" "$3" || e+="MX set [$f_mx]; "
	[ -z "$e" ] || E+="$2 MX through unbound: $e"$'\n'"$(grep -E '^;; (->>|Flags|EDE)' "$out" || true)"$'\n'"$(unbound_log "$2")"$'\n'
}
# direct_do ZONE NAME TRAP SIGNERS: NAME MX with DO straight to knotd: the MX
# set, one RRSIG(MX) per key of SIGNERS (sorted tags; "A|B": A or B), each
# as Knot signs: signer ZONE, labels (a wildcard's own; mod-onlinesign, no
# zlife, signs the name asked), TTL = original TTL = MX TTL, valid from 90
# min ago for the zone's rrsig-lifetime and for more than the TTL from now.
direct_do() {
	local zone=$1 name=$2 out=$tmp/d.out t0=$EPOCHSECONDS now life=${zlife[$1]:-} e='' lab=$2 r
	local type ttl alg labels orig ex inc tag signer
	q "$out" "${zport[$zone]}" "$name" MX +dnssec
	now=$EPOCHSECONDS   # the answer was signed between t0 and now
	parse "$out"
	[ "$f_rcode" = NOERROR ] || e+="status ${f_rcode:-none}; "
	mx_ok "$zone" "$3" || e+="MX set [$f_mx]; "
	case "|$4|" in *"|${f_tags[MX]:-none}|"*) ;; *) e+="RRSIG(MX) keys [${f_tags[MX]:-}], want [$4]; ";; esac
	case $name in alias.*) lab=mail.$zone;; *.wild."$zone") [ -z "$life" ] || lab=x.$zone;; esac
	lab=${lab%.} lab=${lab//[^.]/}
	for r in "${f_rrsig[@]}"; do
		read -r type ttl alg labels orig ex inc tag signer <<<"$r"
		[ "$type" = MX ] || continue
		[ "$signer" = "$zone" ] && [ "$labels" = $((${#lab} + 1)) ] && [ "$ttl" = "$f_mxttl" ] &&
			[ "$orig" = "$f_mxttl" ] || e+="RRSIG $tag: signer $signer, labels $labels, TTL $ttl, original TTL $orig (MX TTL $f_mxttl); "
		[ "$inc" -le "$now" ] && [ "$ex" -gt $((t0 + f_mxttl)) ] &&
			{ [ -z "$life" ] || { [ $((ex - inc)) = $((life + 5400)) ] && [ "$ex" -le $((now + life + 1)) ]; }; } ||
			e+="RRSIG $tag valid $(hms "$inc")..$(hms "$ex") at $(hms "$now") (lifetime ${life:-?} s); "
	done
	[ -z "$e" ] || E+="$name MX with DO from knotd: $e"$'\n'"$(section "$out" ANSWER)"$'\n'
}
# check_names CASE ZONE TRAP SIGNERS [nodo]: one TAP line for the zone's names
# through unbound, with DO straight to knotd (and without DO: the trap, no
# RRSIG, without and with EDNS).
check_names() {
	local name o
	E=
	for name in $(names_of "$2"); do
		via_unbound "$2" "$name" "$3"
		direct_do "$2" "$name" "$3" "$4"
		for o in ${5:++noedns +edns}; do
			q "$tmp/n.out" "${zport[$2]}" "$name" MX +nodnssec "$o"
			parse "$tmp/n.out"
			[ "$f_rcode" = NOERROR ] && mx_ok "$2" yes && [ "${#f_rrsig[@]}" = 0 ] || E+="$name MX $o: status $f_rcode, MX [$f_mx], ${#f_rrsig[@]} RRSIG"$'\n'
		done
	done
	check "case $1: $2 apex, mail, CNAME, wildcard: AD$([ "$3" = yes ] && echo " + trap" || echo ", no trap") through unbound; with DO from knotd one RRSIG(MX) per key [$4]${5:+; no DO: trap, no RRSIG}" "$E"
}
# zone_state ZONE [nocds]: st_sig (RRSIG(SOA) key tags; empty if a query
# failed), st_keys (the DNSKEY set as f_keys), st_cds (CDS key tags).
zone_state() {
	local z=$1 p=${zport[$1]}
	q "$tmp/st.out" "$p" "$z" SOA +dnssec
	parse "$tmp/st.out"
	st_sig=${f_tags[SOA]:-}
	[ "${2:-}" != soa ] || return 0
	q "$tmp/st.out" "$p" "$z" DNSKEY +dnssec +multi
	parse "$tmp/st.out"
	st_keys=$f_keys
	[ -n "$st_keys" ] || st_sig=''
	[ "${2:-}" != nocds ] || return 0
	q "$tmp/st.out" "$p" "$z" CDS
	parse "$tmp/st.out"
	[ "$f_rcode" = NOERROR ] || st_sig=''
	st_cds=$f_cds
}
signers() { zone_state "$1" soa; echo "$st_sig"; }
# stats ZONE / cnt ZONE COUNTER (COUNTER* sums them all): the module's counters.
stats() { { knotd_ctl "${zconf[$1]}" zone-stats "$1" mod-mxtrap 2>/dev/null || true; } | sed 's/^\[[^]]*\] mod-mxtrap\.//' | tr '\n' ' '; }
cnt() {
	{ knotd_ctl "${zconf[$1]}" zone-stats "$1" mod-mxtrap 2>/dev/null || true; } | awk -v k="mod-mxtrap.$2" '
		$2 == k || (k ~ /\*$/ && index($2, substr(k, 1, length(k) - 1)) == 1) { s += $4 } END { print s + 0 }'
}
# key_id ZONE TAG: the key's ID in the KASP DB (its key file's name).
key_id() {
	{ kenv timeout 30 keymgr -c "${zconf[$1]}" "$1" list 2>/dev/null || true; } | awk -v t="$2" '
		length($1) == 40 { for (i = 2; i <= NF; i++) if ($i == t || $i == sprintf("tag=%05d", t)) { print $1; exit } }'
}

# --- servers ---------------------------------------------------------------------

# two.: a KSK and two ZSKs, all active, before the start. Every other zone
# starts on an empty key store: knotd makes its keys after the module loaded.
for roles in "ksk=yes zsk=no" "ksk=no zsk=yes" "ksk=no zsk=yes"; do
	# shellcheck disable=SC2086
	kenv timeout 30 keymgr -c "$tmp/a/knot.conf" "$TWO" generate algorithm=ecdsap256sha256 $roles \
		publish=+0 ready=+0 active=+0 >/dev/null || bail "keymgr generate failed"
done
[ "$(find "$tmp" -name '*.pem' | wc -l)" = 3 ] || bail "key files other than two.'s before the start"
# shellcheck disable=SC2086
knotd_start "$tmp/a/knot.conf" "$tmp/a/knotd.log" $ZONES_A && knotd_a=$knotd_pid || bail "knotd A did not load its zones"
# shellcheck disable=SC2086
knotd_start "$tmp/c/knot.conf" "$tmp/c/knotd.log" $ZONES_C && knotd_c=$knotd_pid || bail "knotd C did not load its zones"
# Case 2's zone: neg as knotd A signed it, the trap added to the apex MX
# RRset, the RRSIG(MX) over the old set kept; served by knotd B.
q "$tmp/neg.axfr" "$port_a" "$NEG" AXFR
awk -v z="$NEG" '/^;/ || !NF { next } $4 == "SOA" && soa++ { next } { print }
	END { printf "%s 10 IN MX 99 mx1.%s\n", z, z }' "$tmp/neg.axfr" >"$tmp/b/${NEG%.}.zone"
grep -qE "^$NEG[[:space:]].*RRSIG[[:space:]]+MX " "$tmp/b/${NEG%.}.zone" || bail "no RRSIG(MX) in the AXFR of $NEG"
knotd_start "$tmp/b/knot.conf" "$tmp/b/knotd.log" "$NEG" && knotd_b=$knotd_pid || bail "knotd B did not load $NEG"
note "knotd A $knotd_a @$port_a, B $knotd_b @$port_b, C $knotd_c @$port_c"

# unbound: a trust anchor (the KSKs/CSK as served) and a stub-zone per zone.
UZONES="$ZONES_A $ZONES_C"
anchor_lines() {
	q "$tmp/anchor.out" "${zport[$1]}" "$1" DNSKEY +dnssec
	section "$tmp/anchor.out" ANSWER | awk -v z="$1" '$4 == "DNSKEY" && $5 == 257 {
		printf "    trust-anchor: \"%s DNSKEY", z; for (i = 5; i <= NF; i++) printf " %s", $i; printf "\"\n" }'
}
write_unbound_conf() {
	cat >"$tmp/unbound.conf" <<-EOF
	server: interface: 127.0.0.1 port: $port_u do-ip6: no do-not-query-localhost: no
	    chroot: "" username: "" directory: "$tmp/u" pidfile: "$tmp/u/unbound.pid"
	    logfile: "$tmp/unbound.log" use-syslog: no val-log-level: 2 log-servfail: yes
	    aggressive-nsec: no local-zone: "test." nodefault
	$(cat "$tmp/anchors")
	remote-control: control-enable: yes control-interface: 127.0.0.1 control-port: $port_uc control-use-cert: no
	$(for z in $UZONES; do printf 'stub-zone: name: "%s" stub-addr: 127.0.0.1@%s\n' "$z" "${zport[$z]}"; done)
	EOF
}
for z in $UZONES; do anchor_lines "$z"; done >"$tmp/anchors"
[ "$(grep -c . "$tmp/anchors")" -ge "$(wc -w <<<"$UZONES")" ] || bail "a zone without KSK/CSK DNSKEY"
write_unbound_conf
out=$(unbound-checkconf "$tmp/unbound.conf" 2>&1) || bail "unbound configuration: $out"
unbound -d -c "$tmp/unbound.conf" >"$tmp/unbound.out" 2>&1 &
unbound_pid=$!
spawned+=("$unbound_pid")
# soa_ad ZONE: unbound runs and validates the zone's SOA (AD).
soa_ad() {
	kill -0 "$unbound_pid" 2>/dev/null || return 1
	q "$tmp/uready.out" "$port_u" "$1" SOA +dnssec
	parse "$tmp/uready.out"
	[ "$f_rcode" = NOERROR ] && f_ad
}
wait_for "unbound" 30 soa_ad "$EN" || { indent "$tmp/unbound.out"; bail "unbound does not validate $EN SOA"; }
E=
for z in $UZONES; do soa_ad "$z" || E+="$z: status $f_rcode, flags [$f_flags] $(unbound_log "$z")"$'\n'; done
check "setup: the SOA of every zone validates through unbound (AD)" "$E"
# anchor_ksks ZONE: every KSK/CSK the zone publishes becomes a trust anchor.
anchor_ksks() {
	local line added=0
	while read -r line; do
		[ -z "$line" ] || grep -qxF -- "$line" "$tmp/anchors" || { printf '%s\n' "$line" >>"$tmp/anchors"; added=1; }
	done <<<"$(anchor_lines "$1")"
	[ "$added" = 1 ] || return 0
	write_unbound_conf
	uctl reload || echo "unbound-control reload failed"
	wait_for "unbound after reload" 20 soa_ad "$1" || echo "unbound does not validate $1 SOA after reload"
}

# --- case 4's sampling (from case 8 on) ----------------------------------------

LIFE_NAMES="@ x.wild mail fresh1 fresh2 fresh3 fresh4 fresh5" LIFE_MARGIN=$((LIFE_REFRESH + LIFE_TTL))
life_t0='' life_t1='' life_answers=0 life_trapped=0 life_rolls=0 life_sig='' life_errs='' life_miss='' life_last=0
declare -A life_inc=() life_incs=() life_at=() life_to=()
life_err() { [ "${#life_errs}" -gt 2000 ] || life_errs+="$(stamp) $1"$'\n'; }
# life_poll: eight MX RRsets (each its own cached signature) with DO straight
# to knotd between two RRSIG(SOA) queries (their keys sign the trapped
# answers), then the apex through unbound.
life_poll() {
	local s1 s2 now n r type ex inc tag E0=$E
	life_last=$SECONDS now=$EPOCHSECONDS
	s1=$(signers "$LIFE")
	for n in $LIFE_NAMES; do
		life_at[$n]=$EPOCHSECONDS   # signed between this and the next
		q "$tmp/life-$n.out" "$port_a" "$([ "$n" = @ ] || echo "$n.")$LIFE" MX +dnssec
		life_to[$n]=$EPOCHSECONDS
	done
	s2=$(signers "$LIFE")
	[ -n "$s1" ] && [ -n "$s2" ] || { life_err "no RRSIG(SOA)"; return 0; }
	life_t0=${life_t0:-$now} life_t1=$now
	if [ -n "$life_sig" ] && [ "$s2" != "$life_sig" ]; then
		life_rolls=$((life_rolls + 1))
		note "case 4: $LIFE signing key $life_sig -> $s2 (+$((now - life_t0)) s)"
	fi
	life_sig=$s2
	for n in $LIFE_NAMES; do
		parse "$tmp/life-$n.out"
		now=${life_at[$n]} life_answers=$((life_answers + 1))
		[ "$f_trap" = yes ] || { life_miss+="$(stamp) $n: no trap, RRSIG(MX) [${f_tags[MX]:-}], ZSK [$s1]"$'\n'; continue; }
		life_trapped=$((life_trapped + 1))
		case "|$s1|$s2|" in *"|${f_tags[MX]:-}|"*) ;; *) life_err "$n: RRSIG(MX) [${f_tags[MX]:-}], ZSK [$s1|$s2]";; esac
		for r in "${f_rrsig[@]}"; do
			read -r type _ _ _ _ ex inc tag _ <<<"$r"
			[ "$type" = MX ] || continue
			[ $((ex - now)) -ge $((LIFE_MARGIN - 1)) ] && [ $((ex - ${life_to[$n]})) -le $((LIFE_LIFETIME + 1)) ] ||
				life_err "$n: RRSIG(MX) $tag expires $((ex - now)) s after the query, $((ex - ${life_to[$n]})) s after the answer"
			[ "$inc" -ge "${life_inc[$n]:-0}" ] || life_err "$n: RRSIG(MX) inception went back"
			life_inc[$n]=$inc life_incs[$inc]=1
		done
	done
	E=
	via_unbound "$LIFE" "$LIFE" any
	[ -z "$E" ] || life_err "$E"
	E=$E0
}
life_done() { [ -n "$life_t0" ] && [ $((life_t1 - life_t0)) -ge $((3 * LIFE_LIFETIME)) ] && [ "$life_rolls" -ge 2 ]; }

# --- case 1: first start, every answer shape ------------------------------------

for z in $EN $DN3 $EC3 $TWO $ROLL $KROLL; do check_names 1 "$z" yes "$(signers "$z")" nodo; done
for z in $ALT $ABS $ALG $CALT; do check_names 7 "$z" yes "$(signers "$z")"; done
s=$(signers "$TWO")
check "case 1: $TWO is signed by two ZSKs [$s]" "$([ "$(wc -w <<<"$s")" = 2 ] || echo "keys: [$s]")"
for z in $EN $TWO; do
	c0=$(cnt "$z" 'signatures[cache]') f0=$(cnt "$z" 'signatures[fresh]') t0=$(cnt "$z" trapped) miss=0
	for _ in $(seq 10); do
		q "$tmp/rep.out" "$port_a" "mail.$z" MX +dnssec
		parse "$tmp/rep.out"
		[ "$f_trap" = yes ] || miss=$((miss + 1))
	done
	c=$(($(cnt "$z" 'signatures[cache]') - c0)) f=$(($(cnt "$z" 'signatures[fresh]') - f0)) t=$(($(cnt "$z" trapped) - t0))
	check "case 1: $z 10 DO queries for mail: trapped +$t, signatures[cache] +$c, [fresh] +$f" \
		"$([ "$miss" = 0 ] && [ "$t" = 10 ] && [ "$c" -ge 9 ] && [ "$f" -le 1 ] || echo "$miss without the trap; $(stats "$z")")"
done
# The unchanged[] indexes: the signing reasons where the module signs only.
for z in $EN $OS; do
	idx=$({ knotd_ctl "${zconf[$z]}" -f zone-stats "$z" mod-mxtrap 2>&1 || true; } | sed -n 's/.*\.unchanged\[\([^]]*\)\].*/\1/p' | tr '\n' ' ')
	E=
	for r in key-missing key-unreadable keystore-unsupported algorithm-unsupported sign-failed; do
		case " $idx " in *" $r "*) [ "$z" = "$EN" ] || E+="$r ";; *) [ "$z" != "$EN" ] || E+="no $r ";; esac
	done
	check "case 1: $z unchanged[] indexes: $idx" "$E"
done

# --- case 2: the negative control ------------------------------------------------

s=$(signers "$NEG") E=
direct_do "$NEG" "$NEG" yes "$s"
uctl flush_zone "$NEG" || true
soa_ad "$NEG" || E+="$NEG SOA through unbound: status $f_rcode, flags [$f_flags]"$'\n'
q "$tmp/neg.out" "$port_u" "$NEG" MX +dnssec
parse "$tmp/neg.out"
[ "$f_rcode" = SERVFAIL ] || E+="$NEG MX through unbound: status ${f_rcode:-none}, flags [$f_flags], want SERVFAIL"$'\n'
reason=$(grep -F "validation failure <$NEG MX IN>" "$tmp/unbound.log" | tail -n 1 || true)
[ -n "$reason" ] || E+="no validation failure for $NEG MX in unbound's log"$'\n'
note "case 2: unbound: ${reason:-none}"
check "case 2: $NEG with the trap under the zone's old RRSIG(MX) (knotd B, no module): SOA AD, MX SERVFAIL (bogus)" "$E"

# --- case 6: mod-onlinesign ------------------------------------------------------

os_keys() { zone_state "$1" nocds; awk '{ print $3 }' <<<"$st_keys" | paste -sd ' '; }
check_names 6 "$OS" yes "$(os_keys "$OS")" nodo
u0=$(cnt "$OSREV" 'unchanged[signed]')
check_names 6 "$OSREV" no "$(os_keys "$OSREV")" nodo
u=$(cnt "$OSREV" 'unchanged[signed]')
check "case 6: $OSREV (onlinesign first): unchanged[signed] +$((u - u0)) >= 8" "$([ $((u - u0)) -ge 8 ] || stats "$OSREV")"

# --- case 7: key stores (trap + AD: above) ---------------------------------------

declare -A keydir=([$ALT]=a/keys/alt-keys [$ABS]=abs-keys [$ALG]=c/kasp-c/keys [$CALT]=c/kasp-c/c-keys)
E=
for z in $ALT $ABS $ALG $CALT; do
	for t in $(signers "$z"); do
		id=$(key_id "$z" "$t")
		found=$(find "$tmp" -name "${id:-none}.pem" | tr '\n' ' ')
		[ -n "$id" ] && [ "$found" = "$tmp/${keydir[$z]}/$id.pem " ] || E+="$z key $t (ID ${id:-?}): files [$found]"$'\n'
	done
done
check "case 7: the signing key files of $ALT, $ABS, $ALG, $CALT in ${keydir[*]} (under $tmp) only" "$E"

# --- case 8: keys the module cannot use ------------------------------------------

# zsk_pem ZONE: the key file of the zone's single signing key (default store).
zsk_pem() {
	local s id
	s=$(signers "$1")
	id=$(key_id "$1" "$s")
	[ -n "$id" ] && [ "${s// /}" = "$s" ] && [ -f "$tmp/a/keys/keys/$id.pem" ] || bail "no key file of $1's ZSK"
	echo "$tmp/a/keys/keys/$id.pem"
}
declare -A reason=([$KMISS]=key-missing [$KBAD]=key-unreadable [$KSWAP]=key-unreadable [$P11]=keystore-unsupported)
NEG_ZONES="${!reason[*]}"
kmiss_pem=$(zsk_pem "$KMISS") kbad_pem=$(zsk_pem "$KBAD") kswap_pem=$(zsk_pem "$KSWAP") en_pem=$(zsk_pem "$EN")
mv "$kmiss_pem" "$tmp/moved/"
cp -p "$kbad_pem" "$kswap_pem" "$tmp/moved/"
printf 'not a key\n' >"$kbad_pem"
cat "$en_pem" >"$kswap_pem"
note "case 8: before their first DO query: $KMISS's ZSK file moved away, garbage in $KBAD's, $EN's ZSK in $KSWAP's"
declare -A neg_sig=() neg_u0=() neg_n=() neg_errs=()
for z in $NEG_ZONES; do neg_sig[$z]=$(signers "$z") neg_u0[$z]=$(cnt "$z" "unchanged[${reason[$z]}]") neg_n[$z]=0; done
# > 10 s: a failed key is looked for again meanwhile, still one log line.
neg_end=$((SECONDS + 12))
while [ "$SECONDS" -lt "$neg_end" ]; do
	for z in $NEG_ZONES; do
		E=
		direct_do "$z" "$z" no "${neg_sig[$z]}"
		direct_do "$z" "mail.$z" no "${neg_sig[$z]}"
		neg_n[$z]=$((neg_n[$z] + 2)) neg_errs[$z]+=$E
	done
	life_poll
done
for z in $NEG_ZONES; do
	r=${reason[$z]} E=${neg_errs[$z]:-}
	for name in $(names_of "$z"); do via_unbound "$z" "$name" no; done
	u=$(($(cnt "$z" "unchanged[$r]") - neg_u0[$z]))
	[ "$u" -ge "${neg_n[$z]}" ] || E+="unchanged[$r] +$u; $(stats "$z")"$'\n'
	lines=$(grep -F "[$z] module 'mod-mxtrap" "$tmp/a/knotd.log" || true)
	[ -n "$lines" ] && [ "$(wc -l <<<"$lines")" = 1 ] || E+="module log lines: ${lines:-none}"$'\n'
	check "case 8: $z ($r): ${neg_n[$z]} DO answers over 12 s without the trap, the zone's RRSIG(MX); AD through unbound; unchanged[$r] +$u; one log line" "$(head -n 30 <<<"$E")"
	note "case 8: $z: $lines"
done
# kmiss: the file back, the trap within 30 s (looked for again every 10 s).
mv "$tmp/moved/${kmiss_pem##*/}" "$kmiss_pem"
t_back=$SECONDS
trapped_do() { q "$tmp/t.out" "$port_a" "$1" MX +dnssec; parse "$tmp/t.out"; [ "$f_trap" = yes ]; }
wait_for "$KMISS trap" 30 trapped_do "$KMISS" && E= || E="no trap within 30 s"
check "case 8: $KMISS: the trap is back $((SECONDS - t_back)) s after the key file, no reload" "$E"
check_names 8 "$KMISS" yes "$(signers "$KMISS")"
cp -p "$tmp/moved/${kbad_pem##*/}" "$kbad_pem"
cp -p "$tmp/moved/${kswap_pem##*/}" "$kswap_pem"

# --- case 3: rollovers -------------------------------------------------------------

ROLLING="$ROLL $KROLL $EC3 $ALG"
declare -A rkind=([$ROLL]=ZSK [$KROLL]=KSK [$EC3]=CSK [$ALG]=algorithm)
# The steps each rollover must show (' = a key new in the rollover,
# unpublished = an RRSIG(SOA) key not in the DNSKEY set); the last ends it.
declare -A rsteps=(
	[$ROLL]="DNSKEY[KSK ZSK ZSK'] RRSIG[ZSK]|DNSKEY[KSK ZSK ZSK'] RRSIG[ZSK']|DNSKEY[KSK ZSK'] RRSIG[ZSK']"
	[$KROLL]="DNSKEY[KSK KSK' ZSK] RRSIG[ZSK]|DNSKEY[KSK' ZSK] RRSIG[ZSK]"
	[$EC3]="DNSKEY[CSK CSK'] RRSIG[CSK]|DNSKEY[CSK CSK'] RRSIG[CSK']|DNSKEY[CSK'] RRSIG[CSK']"
	[$ALG]="DNSKEY[KSK ZSK] RRSIG[ZSK unpublished']|DNSKEY[KSK KSK' ZSK ZSK'] RRSIG[ZSK ZSK']|DNSKEY[KSK' ZSK'] RRSIG[ZSK' unpublished]|DNSKEY[KSK' ZSK'] RRSIG[ZSK']"
)
declare -A old_tags=() submitted=() step_checks=() step_errs=() steps=() r_u0=() fresh_n=() seen_at=() gap=()
# step_of ZONE KEYS SIGNERS: the step as the zone shows it (sorted roles),
# and after a "|" the SIGNERS the DNSKEY set has (the module leaves the
# unpublished ones out).
step_of() {
	awk -v sig="$3" -v old="${old_tags[$1]}" -v kind="${rkind[$1]}" '
	function role(t) { return (t in r ? r[t] : "unpublished") (index(old, " " t " ") ? "" : "\047") }
	function list(a, n,   i, j, v, s) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { v = a[j]; a[j] = a[j - 1]; a[j - 1] = v }
		for (i = 1; i <= n; i++) s = s (i > 1 ? " " : "") a[i]
		return s
	}
	NF == 3 { r[$3] = kind == "CSK" ? "CSK" : $1; d[++nd] = role($3) }
	END {
		n = split(sig, t, " ")
		for (i = 1; i <= n; i++) { s[i] = role(t[i]); if (t[i] in r) p = p (p == "" ? "" : " ") t[i] }
		printf "DNSKEY[%s] RRSIG[%s]|%s\n", list(d, nd), list(s, n), p
	}' <<<"$2"
}
# ksk_parent ZONE: the parent's part, from the last zone_state: CDS of a key
# not confirmed yet -> the zone's KSKs become trust anchors, then knotc
# zone-ksk-submitted. Errors in parent_errs.
ksk_parent() {
	local out
	parent_errs=
	[ -n "$st_cds" ] && [ "$st_cds" != "${submitted[$1]:-}" ] || return 0
	parent_errs=$(anchor_ksks "$1")
	out=$(knotd_ctl "${zconf[$1]}" zone-ksk-submitted "$1" 2>&1) || parent_errs+="knotc zone-ksk-submitted $1: $out"
	submitted[$1]=$st_cds
	note "case 3: $1 publishes CDS $st_cds: trust anchors updated, submission confirmed (+$((SECONDS - ${roll_t0:-$SECONDS})) s)"
}
# roll_poll ZONE: the zone's state; the first time a step is seen, every name
# and one never asked before through unbound and with DO straight to knotd,
# then the state again (a check straddling a change does not count).
roll_poll() {
	local z=$1 sig keys cds name step key signing
	zone_state "$z"
	sig=$st_sig keys=$st_keys cds=$st_cds
	[ -n "$sig" ] || return 0
	gap[$z]=$((SECONDS - ${seen_at[$z]:-$SECONDS} > ${gap[$z]:-0} ? SECONDS - ${seen_at[$z]:-$SECONDS} : ${gap[$z]:-0})) seen_at[$z]=$SECONDS
	step=$(step_of "$z" "$keys" "$sig")
	signing="${step#*|}|$sig" step=${step%|*} key="$z|$step"
	[ -n "${step_checks[$key]:-}" ] || { steps[$z]+="$step|" step_checks[$key]=0; note "case 3: $z step $step (+$((SECONDS - roll_t0)) s)"; }
	if [ "${step_checks[$key]}" = 0 ]; then
		fresh_n[$z]=$((${fresh_n[$z]:-0} + 1))
		uctl flush_zone "$z" || true
		no_flush=1 E=
		for name in $(names_of "$z") "fresh${fresh_n[$z]}.$z"; do
			via_unbound "$z" "$name" yes
			direct_do "$z" "$name" yes "$signing"
		done
		no_flush=0
		zone_state "$z" nocds
		if [ "$st_sig" = "$sig" ] && [ "$st_keys" = "$keys" ]; then
			step_checks[$key]=1
			[ -z "$E" ] || step_errs[$key]+="$(stamp) $E"
		fi
	fi
	st_cds=$cds
	ksk_parent "$z"
	[ -z "$parent_errs" ] || step_errs[$key]+="$parent_errs"$'\n'
}
# rolled ZONE: the last step was checked.
rolled() { [ "${step_checks[$1|${rsteps[$1]##*|}]:-0}" = 1 ]; }

# The first KSK of every rolling zone confirmed, as a parent would.
cds_gone() { zone_state "$1"; [ -n "$st_sig" ] && [ -z "$st_cds" ]; }
for z in $ROLLING; do
	zone_state "$z"
	ksk_parent "$z"
	[ -z "$parent_errs" ] || not_ok "case 3: $z first KSK submission: $parent_errs"
	wait_for "$z CDS gone" 20 cds_gone "$z" || true
	old_tags[$z]=" $(awk '{ print $3 }' <<<"$st_keys" | tr '\n' ' ')"
	r_u0[$z]=$(cnt "$z" 'unchanged*')
done
roll_t0=$SECONDS E=
for z in $ROLL $KROLL $EC3; do
	k=zsk; [ "$z" = "$ROLL" ] || k=ksk
	out=$(knotd_ctl "${zconf[$z]}" zone-key-rollover "$z" "$k" 2>&1) || E+="knotc zone-key-rollover $z $k: $out"$'\n'
done
write_conf_c ed25519 >"$tmp/c/knot.conf"
out=$(knotd_ctl "${zconf[$ALG]}" reload 2>&1) || E+="knotc reload (knotd C): $out"$'\n'
r_u0[$ALG]=$(cnt "$ALG" 'unchanged*')   # the reload made the modules anew
check "case 3: rollovers started: $ROLL zsk, $KROLL ksk, $EC3 ksk (CSK); $ALG ECDSAP256SHA256 -> ED25519 (knotc reload of knotd C)" "$E"
perf_pid=
if command -v dnsperf >/dev/null; then
	printf '%s MX\n' "$ROLL" "mail.$ROLL" "alias.$ROLL" "x.wild.$ROLL" >"$tmp/perf.txt"
	perf_t0=$(cnt "$ROLL" trapped)
	timeout $((LOAD_SECONDS + 30)) dnsperf -s 127.0.0.1 -p "$port_a" -d "$tmp/perf.txt" -D \
		-l "$LOAD_SECONDS" -Q "$LOAD_QPS" -c 4 -t 2 >"$tmp/dnsperf.out" 2>&1 &
	perf_pid=$!
	spawned+=("$perf_pid")
fi
roll_deadline=$((SECONDS + 150))
while [ "$SECONDS" -lt "$roll_deadline" ]; do
	active=0
	for z in $ROLLING; do rolled "$z" || { active=1; roll_poll "$z"; }; done
	[ "$active" = 1 ] || break
	[ $((SECONDS - life_last)) -lt 4 ] || life_poll
done
note "case 3: polls ended after $((SECONDS - roll_t0)) s"
for z in $ROLLING; do
	E=
	IFS='|' read -r -a want <<<"${rsteps[$z]}"
	for step in "${want[@]}"; do [ "${step_checks[$z|$step]:-0}" = 1 ] || E+="step $step not checked"$'\n'; done
	rolled "$z" || E+="not finished; steps seen: ${steps[$z]:-none}"$'\n'
	[ "$(cnt "$z" 'unchanged*')" = "${r_u0[$z]}" ] || E+="answers left unchanged: $(stats "$z")"$'\n'
	IFS='|' read -r -a seen <<<"${steps[$z]:-}"
	for step in "${seen[@]}"; do E+=${step_errs[$z|$step]:-}; done
	note "case 3: $z: at most ${gap[$z]:-?} s between two polls (steps last about $ROLL_TTL s)"
	check "case 3: $z ${rkind[$z]} rollover: every step seen; in each, all names AD + trap through unbound, RRSIG(MX) by the step's published signing keys; no answer unchanged" "$(head -n 40 <<<"$E")"
done
if [ -n "$perf_pid" ]; then
	rc=0
	wait "$perf_pid" || rc=$?
	forget_pid "$perf_pid"
	done_n=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$tmp/dnsperf.out") codes=$(sed -n 's/^ *Response codes: *//p' "$tmp/dnsperf.out")
	t=$(($(cnt "$ROLL" trapped) - perf_t0))
	check "case 3: dnsperf with DO on $ROLL during its ZSK rollover: ${done_n:-0} answers, all NOERROR and trapped (+$t)" \
		"$([ "$rc" = 0 ] && [ "${done_n:-0}" -gt 0 ] && [ "$t" -ge "$done_n" ] && [[ $codes == "NOERROR "*" (100.00%)" ]] || echo "dnsperf status $rc; $codes")"
else
	skip "case 3: dnsperf DO load during the ZSK rollover" "dnsperf not installed"
fi
check "case 3: knotd A and C alive after the rollovers" \
	"$(kill -0 "$knotd_a" 2>/dev/null || echo "knotd A died")$(kill -0 "$knotd_c" 2>/dev/null || echo "knotd C died")"

# --- case 4: the long-running zone ---------------------------------------------------

life_deadline=$((SECONDS + 150))
while ! life_done && [ "$SECONDS" -lt "$life_deadline" ]; do life_poll; done
span=$((${life_t1:-0} - ${life_t0:-0})) incs=${#life_incs[@]}
note "case 4: $LIFE over $span s: $life_trapped of $life_answers DO answers trapped, $life_rolls ZSK changes," \
	"$incs RRSIG(MX) inceptions; $(stats "$LIFE")"
E=
life_done || E+="sampled $span s, $life_rolls ZSK changes (deadline reached)"$'\n'
[ "$life_answers" -gt 0 ] && [ $((life_trapped * 100)) -ge $((life_answers * 99)) ] || E+="trapped: $life_trapped of $life_answers"$'\n'
[ "$incs" -ge 2 ] || E+="RRSIG(MX) inceptions never moved"$'\n'
[ -z "$life_miss" ] || note "case 4: answers without the trap:" "$(head -n 5 <<<"$life_miss")"
check "case 4: $LIFE over >= 3 lifetimes and 2 ZSK rollovers: >= 99 % trapped ($life_trapped/$life_answers), by the current ZSK, >= $LIFE_MARGIN s from expiry, AD" "$E$life_errs"

# --- case 9: restart; the end ----------------------------------------------------------

knotd_stop "$knotd_a" || true
check "case 9: knotd A stopped by SIGTERM (exit 0, port released)" "$stop_errs"
# shellcheck disable=SC2086
if knotd_start "$tmp/a/knot.conf" "$tmp/a/knotd-restart.log" $ZONES_A; then
	knotd_a=$knotd_pid E=
	for z in $EN $EC3 $TWO $ROLL $KROLL $ALT $ABS $KMISS $KBAD $KSWAP; do
		direct_do "$z" "$z" yes "$(signers "$z")"
		via_unbound "$z" "$z" yes
	done
	check "case 9: after the restart the first DO MX answers are trapped, one RRSIG(MX) per key; AD + trap through unbound" "$E"
else
	knotd_a=
	not_ok "case 9: knotd A started again"
fi
for s in "A $knotd_a" "B $knotd_b" "C $knotd_c"; do
	[ -n "${s#? }" ] || continue
	knotd_stop "${s#? }" || true
	check "knotd ${s%% *} stopped by SIGTERM: exit 0, port released, no sanitizer report" "$stop_errs"
done
stop_server unbound "$unbound_pid" "$port_u" "$tmp/unbound.log"
check "unbound stopped by SIGTERM: exit 0, port released" "$stop_errs"
note "runtime $((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
