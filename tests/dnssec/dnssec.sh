#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Proves that trapped MX answers validate: knotd A signs, the module signs the
# merged MX RRset with the keys of the zone's RRSIG(MX) from knotd's key store
# (never a `knotc reload` of A), unbound validates. 1: first start on empty key
# stores, every answer shape (apex, mail, CNAME, wildcard; NSEC/NSEC3, ECDSA/
# Ed25519, KSK+ZSK, CSK, two ZSKs), RRSIG(MX) as Knot makes them; no DO: no
# RRSIG; repeats cached. 2: negative control: the trap under the old RRSIG(MX),
# no module: SERVFAIL. 3: ZSK (under dnsperf), KSK (this script is the parent),
# CSK and algorithm rollovers, every step validated. 4: rrsig-lifetime 20 s and
# automatic ZSK rollovers: >= 99 % trapped. 6: mod-onlinesign before/after.
# 7: key stores elsewhere. 8: unusable keys: no trap, AD, counted, logged once.
# 9: restart. 10: `exchange` an in-zone host: validates; from Knot 3.4 its A,
# AAAA and RRSIGs in ADDITIONAL as knotd answers them, TTLs too. Cases 3 and 4
# are polled (tick) while the others run.
# DNSSEC_KEEP=1 keeps $tmp; DNSSEC_LOAD_SECONDS (30), DNSSEC_LOAD_QPS (2000).
# shellcheck disable=SC2086
set -euo pipefail

src_dir=$(cd "$(dirname "$0")" && pwd)
TAP_NAME=dnssec
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
# shellcheck source=tests/lib/unbound.sh
source "$src_dir/../lib/unbound.sh"
test_init "$@"
need_tools knotd knotc keymgr kdig unbound unbound-control unbound-checkconf
test_tmp_init
start_time=$SECONDS
LOAD_SECONDS=${DNSSEC_LOAD_SECONDS:-30} LOAD_QPS=${DNSSEC_LOAD_QPS:-2000}
for z in en dn3 ec3 two roll kroll life alt abs kmiss kbad kswap p11 os osrev neg alg calt glue; do declare "${z^^}=$z.mxtrap.test."; done
ZONES_A="$EN $DN3 $EC3 $TWO $ROLL $KROLL $LIFE $ALT $ABS $KMISS $KBAD $KSWAP $P11 $OS $OSREV $NEG $GLUE"
ZONES_C="$ALG $CALT" ROLLING="$ROLL $KROLL $EC3 $ALG"
ROLL_TTL=20 LIFE_LIFETIME=20 LIFE_REFRESH=5 LIFE_TTL=3 LIFE_ZSK_LIFETIME=25   # rollover steps last ~ROLL_TTL
take_ports port_a port_b port_c port_u port_uc
declare -A zport=() zconf=() zlife=() zttl=()
for z in $ZONES_A $ZONES_C; do zport[$z]=$port_a zconf[$z]=$tmp/a/knot.conf zlife[$z]=1209600 zttl[$z]=10; done
for z in $ZONES_C; do zport[$z]=$port_c zconf[$z]=$tmp/c/knot.conf; done
for z in $ROLLING; do zttl[$z]=$ROLL_TTL; done
zport[$NEG]=$port_b zlife[$LIFE]=$LIFE_LIFETIME zttl[$LIFE]=$LIFE_TTL zlife[$OS]='' zlife[$OSREV]=''
mkdir -p "$tmp"/{a,b,c,moved}
for z in $ZONES_A $ZONES_C; do sed "s/@TTL@/${zttl[$z]}/g" "$src_dir/zone.in" >"${zconf[$z]%/*}/${z%.}.zone"; done
# Case 10: www's AAAA with a TTL of its own, so the RRSIGs at www differ in
# TTL (Knot keeps one TTL for a node's RRSIG RRset).
printf 'www\t1\tAAAA\t2001:db8::80\n' >>"${zconf[$GLUE]%/*}/${GLUE%.}.zone"
# --- configurations --------------------------------------------------------------
# knot_conf DIR PORT [MODULE_FILE [KASP_DB]]: all but keystores, policies, zones.
knot_conf() {
	printf 'server:\n    rundir: "%s"\n    listen: 127.0.0.1@%s\n    udp-workers: 2\n    tcp-workers: 1\n' "$1" "$2"
	printf '    background-workers: 2\nlog:\n  - target: stderr\n    any: info\n'
	printf 'control:\n    listen: "%s/knot.sock"\ndatabase:\n    storage: "%s"\n' "$1" "$1"
	[ -z "${4:-}" ] || printf '    kasp-db: "%s"\n' "$4"
	[ -z "${3:-}" ] || printf 'module:\n  - id: mod-mxtrap\n    file: "%s"\n' "$3"
	printf 'template:\n  - id: default\n    storage: "%s"\n    file: "%s/%%s.zone"\n' "$1" "$1"
	printf '    zonefile-sync: -1\n    journal-content: none\n'
}
# entry KEY VALUE ITEM...: a list entry "  - KEY: VALUE" and its items.
entry() { printf '  - %s: %s\n' "$1" "$2"; shift 2; printf '    %s\n' "$@"; }
# signed ZONE [POLICY [MODULE]]: a zone knotd signs (default: ECDSA, NSEC), with the module.
signed() { entry domain "$1" "dnssec-signing: on" ${2:+"dnssec-policy: $2"} "module: ${3:-mod-mxtrap}"; }
FAST=("propagation-delay: 0" "dnskey-ttl: $ROLL_TTL" "zone-max-ttl: $ROLL_TTL")
{
	knot_conf "$tmp/a" "$port_a" "$module"
	echo "keystore:"; entry id alt 'config: "alt-keys"'
	entry id abs "config: \"$tmp/abs-keys\""
	entry id p11 "backend: pkcs11" 'config: "pkcs11:token=mxtrap;pin-value=1234 /usr/lib/softhsm/libsofthsm2.so"'
	echo "policy:"; entry id ed-nsec3 "algorithm: ed25519" "nsec3: on"
	entry id csk-roll "nsec3: on" "single-type-signing: on" "${FAST[@]}"
	entry id manual "manual: on"
	entry id roll "${FAST[@]}"
	entry id life "propagation-delay: 0" "dnskey-ttl: $LIFE_TTL" "zone-max-ttl: $LIFE_TTL" "rrsig-lifetime: $LIFE_LIFETIME" \
		"rrsig-refresh: $LIFE_REFRESH" "rrsig-pre-refresh: 1" "zsk-lifetime: $LIFE_ZSK_LIFETIME"
	for id in alt abs p11; do entry id $id "keystore: $id"; done
	echo "mod-mxtrap:"; entry id p11 "policy: p11"   # the module's only: knotd signs p11 with PEM keys; no such token
	entry id glue "exchange: www.$GLUE"
	echo "acl:"; entry id axfr "address: 127.0.0.1" "action: transfer"
	echo "zone:"; for z in "$EN" "$DN3 ed-nsec3" "$EC3 csk-roll" "$TWO manual" "$ROLL roll" "$KROLL roll" "$LIFE life" "$ALT alt" \
		"$ABS abs" "$KMISS" "$KBAD" "$KSWAP" "$P11 '' mod-mxtrap/p11" "$GLUE '' mod-mxtrap/glue"; do eval signed $z; done
	entry domain "$OS" "module: [ mod-mxtrap, mod-onlinesign ]"
	entry domain "$OSREV" "module: [ mod-onlinesign, mod-mxtrap ]"
	entry domain "$NEG" "dnssec-signing: on" "acl: axfr"
} >"$tmp/a/knot.conf"
{ knot_conf "$tmp/b" "$port_b"; echo "zone:"; entry domain "$NEG"; } >"$tmp/b/knot.conf"
conf_c() {   # ALGORITHM: knotd C (own KASP DB); case 3 changes alg's algorithm
	knot_conf "$tmp/c" "$port_c" "$module" kasp-c
	printf 'keystore:\n  - id: cks\n    config: "c-keys"\npolicy:\n'; entry id alg "algorithm: $1" "${FAST[@]}"
	entry id calt "keystore: cks"; echo "zone:"; signed "$ALG" alg; signed "$CALT" calt
}
conf_c ecdsap256sha256 >"$tmp/c/knot.conf"
# --- answers ---------------------------------------------------------------------
# parse FILE: kdig answers (of one or more queries; one awk, polls run often)
# into f_rcode (each query's), f_flags, f_mx ("PREF EXCHANGE," sorted), f_trap,
# f_mxttl, f_rrsig ("TYPE TTL ALG LABELS ORIG EXP INC TAG SIGNER", epoch times),
# f_tags[TYPE] (sorted RRSIG key tags), f_keys ("ROLE TAG" of +multi DNSKEYs), f_cds.
declare -A f_tags=()
parse() {
	local kind rest
	f_rcode='' f_flags='' f_mx='' f_trap=no f_mxttl='' f_rrsig=() f_keys='' f_cds='' f_tags=()
	while read -r kind rest; do case $kind in
		rcode) f_rcode+=${f_rcode:+ }$rest;; flags) f_flags=$rest;; mxttl) f_mxttl+=${f_mxttl:+ }$rest;;
		mx) f_mx+="$rest,"; [ "${rest%% *}" != 99 ] || f_trap=yes;;
		rrsig) f_rrsig+=("$rest");; tag) f_tags[${rest%% *}]+=${f_tags[${rest%% *}]:+ }${rest#* };;
		key) f_keys+=${f_keys:+$'\n'}$rest;; cds) f_cds+=${f_cds:+ }$rest;;
	esac; done < <(TZ=UTC awk 'function t(s) { return sprintf("%.0f", mktime(substr(s, 1, 4) " " substr(s, 5, 2) " " \
			substr(s, 7, 2) " " substr(s, 9, 2) " " substr(s, 11, 2) " " substr(s, 13, 2))) }
	function ins(p, v, num,   i) {   # V into the sorted list P
		for (i = ++c[p]; i > 1 && (num ? o[p, i - 1] + 0 > v + 0 : o[p, i - 1] > v); i--) o[p, i] = o[p, i - 1]
		o[p, i] = v
	}
	/^;; ->>HEADER<<-/ { s = $0; sub(/.*status: /, "", s); sub(/;.*/, "", s); print "rcode", s }
	/^;; Flags: / { s = $0; sub(/^;; Flags: /, "", s); sub(/;.*/, "", s); print "flags", s }
	/; [KZ]SK, .*id = [0-9]+$/ { s = $0; sub(/.*; /, "", s); split(s, k, /[ ,]+/); ins("key", k[1] " " $NF) }
	$0 == ";; ANSWER SECTION:" { on = 1; next }
	/^;; / || /^$/ { on = 0 }
	on && $4 == "MX" { ins("mx", $5 " " $6); if (!m[$2]++) print "mxttl", $2 }
	on && $4 == "CDS" { ins("cds", $5, 1) }
	on && $4 == "RRSIG" && NF >= 13 { print "rrsig", $5, $2, $6, $7, $8, t($9), t($10), $11, $12; ins("tag " $5, $11, 1) }
	END { for (p in c) for (i = 1; i <= c[p]; i++) print p, o[p, i] }' "$1")
}
f_ad() { case " $f_flags " in *" ad "*) return 0;; esac; return 1; }
hms() { TZ=UTC printf '%(%T)T' "$1"; }
stamp() { hms "$EPOCHSECONDS"; }
uctl() { unbound_ctl "$tmp/u" "$@"; }
unbound_log() { unbound_log_of "$tmp/u" "$1"; }
# mx_ok ZONE yes|no|any: f_mx is the zone's MX set, with/without the trap.
mx_ok() { local no="10 mx1.$1,20 mx2.$1,"; local yes="${no}99 mx1.$1,"; case $2 in any) [ "$f_mx" = "$no" ] || [ "$f_mx" = "$yes" ];; *) [ "$f_mx" = "${!2}" ];; esac; }
# names_of ZONE: apex, non-apex, CNAME to mail, a wildcard name never asked.
names_of() { echo "$1 mail.$1 alias.$1 w${EPOCHREALTIME/./}.wild.$1"; }
# via_unbound ZONE NAME TRAP: NOERROR, AD, the MX set via unbound (ZONE flushed); errors to E.
via_unbound() {
	local out=$tmp/u.out e=''
	tick
	unbound_ask "$tmp/u" "$port_u" "$out" "$1" "$2" && parse "$out"
	[ "$f_rcode" = NOERROR ] && f_ad || e+="status ${f_rcode:-none}, flags [$f_flags]; "
	mx_ok "$1" "$3" || e+="MX set [$f_mx]; "
	[ -z "$e" ] || E+="$2 MX through unbound: $e"$'\n'"$(grep -E '^;; (->>|Flags|EDE)' "$out" || true)"$'\n'"$(unbound_log "$2")"$'\n'
}
# direct_do ZONE NAME TRAP SIGNERS: with DO from knotd: the MX set, one RRSIG(MX) per
# key of SIGNERS ("A|B": A or B) as Knot signs: signer, labels (mod-onlinesign, no zlife,
# signs the name asked), TTL = original TTL = MX TTL, from 90 min ago for rrsig-lifetime.
direct_do() {
	local zone=$1 name=$2 out=$tmp/d.out t0=$EPOCHSECONDS now life=${zlife[$1]:-} e='' lab=$2 r type ttl labels orig ex inc tag signer
	tick; t0=$EPOCHSECONDS; q "$out" "${zport[$zone]}" "$name" MX +dnssec && now=$EPOCHSECONDS && parse "$out"
	[ "$f_rcode" = NOERROR ] || e+="status ${f_rcode:-none}; "
	mx_ok "$zone" "$3" || e+="MX set [$f_mx]; "
	case "|$4|" in *"|${f_tags[MX]:-none}|"*) ;; *) e+="RRSIG(MX) keys [${f_tags[MX]:-}], want [$4]; ";; esac
	case $name in alias.*) lab=mail.$zone;; *.wild."$zone") [ -z "$life" ] || lab=x.$zone;; esac
	lab=${lab%.} lab=${lab//[^.]/}
	for r in "${f_rrsig[@]}"; do
		read -r type ttl _ labels orig ex inc tag signer <<<"$r"
		[ "$type" = MX ] || continue
		[ "$signer" = "$zone" ] && [ "$labels" = $((${#lab} + 1)) ] && [ "$ttl" = "$f_mxttl" ] && [ "$orig" = "$f_mxttl" ] ||
			e+="RRSIG $tag: signer $signer, labels $labels, TTL $ttl, original TTL $orig (MX TTL $f_mxttl); "
		[ "$inc" -le "$now" ] && [ "$ex" -gt $((t0 + f_mxttl)) ] &&
			{ [ -z "$life" ] || { [ $((ex - inc)) = $((life + 5400)) ] && [ "$ex" -le $((now + life + 1)) ]; }; } ||
			e+="RRSIG $tag valid $(hms "$inc")..$(hms "$ex") at $(hms "$now") (lifetime ${life:-?} s); "
	done
	[ -z "$e" ] || E+="$name MX with DO from knotd: $e"$'\n'"$(section "$out" ANSWER)"$'\n'
}
# check_names CASE ZONE TRAP SIGNERS [nodo]: one TAP line: every name via unbound and
# with DO from knotd (nodo: also without DO, without and with EDNS: trap, no RRSIG).
check_names() {
	local name o; E=
	for name in $(names_of "$2"); do
		via_unbound "$2" "$name" "$3"
		direct_do "$2" "$name" "$3" "$4"
		for o in ${5:++noedns +edns}; do
			q "$tmp/n.out" "${zport[$2]}" "$name" MX +nodnssec "$o" && parse "$tmp/n.out"
			[ "$f_rcode" = NOERROR ] && mx_ok "$2" yes && [ "${#f_rrsig[@]}" = 0 ] || E+="$name MX $o: status $f_rcode, MX [$f_mx], ${#f_rrsig[@]} RRSIG"$'\n'
		done
	done
	check "case $1: $2 apex, mail, CNAME, wildcard: AD$([ "$3" = yes ] && echo " + trap" || echo ", no trap") through unbound; with DO from knotd one RRSIG(MX) per key [$4]${5:+; no DO: trap, no RRSIG}" "$E"
}
# zone_state ZONE: st_sig (RRSIG(SOA) tags; empty if a query failed), st_keys, st_cds.
zone_state() {
	q "$tmp/st.out" "${zport[$1]}" "$1" SOA +dnssec "$1" DNSKEY +multi "$1" CDS && parse "$tmp/st.out"
	st_sig=${f_tags[SOA]:-} st_keys=$f_keys st_cds=$f_cds
	[ "$f_rcode" = "NOERROR NOERROR NOERROR" ] && [ -n "$st_keys" ] || st_sig=''
}
key_tags() { zone_state "$1"; awk '{ print $2 }' <<<"$st_keys" | paste -sd ' '; }
trapped_do() { tick; q "$tmp/t.out" "$port_a" "$1" MX +dnssec; parse "$tmp/t.out"; [ "$f_trap" = yes ]; }
signers() { q "$tmp/sg.out" "${zport[$1]}" "$1" SOA +dnssec; parse "$tmp/sg.out"; echo "${f_tags[SOA]:-}"; }
# zstats ZONE [-f]: the module's counters, "NAME = VALUE"; cnt ZONE NAME[*]: one (the sum).
zstats() { { knotd_ctl "${zconf[$1]}" ${2:-} zone-stats "$1" mod-mxtrap 2>/dev/null || true; } | mod_stats; }
stats() { zstats "$1" | tr '\n' ' '; }
cnt() { zstats "$1" | awk -v k="$2" '$1 == k || (k ~ /\*$/ && index($1, substr(k, 1, length(k) - 1)) == 1) { s += $3 } END { print s + 0 }'; }
# key_id ZONE TAG: the key's ID in the KASP DB (its key file's name).
key_id() { { kenv timeout 30 keymgr -c "${zconf[$1]}" "$1" list 2>/dev/null || true; } | awk -v t="$2" '
	length($1) == 40 { for (i = 2; i <= NF; i++) if ($i == t || $i == sprintf("tag=%05d", t)) { print $1; exit } }'; }
# --- servers ---------------------------------------------------------------------
# two.: a KSK and two ZSKs before the start; every other zone's keys made after the module loaded.
for roles in "ksk=yes zsk=no" "ksk=no zsk=yes" "ksk=no zsk=yes"; do
	kenv timeout 30 keymgr -c "$tmp/a/knot.conf" "$TWO" generate algorithm=ecdsap256sha256 $roles \
		publish=+0 ready=+0 active=+0 >/dev/null || bail "keymgr generate failed"
done
[ "$(find "$tmp" -name '*.pem' | wc -l)" = 3 ] || bail "key files other than two.'s before the start"
knotd_start "$tmp/a/knot.conf" "$tmp/a/knotd.log" $ZONES_A && knotd_a=$knotd_pid || bail "knotd A did not load its zones"
knotd_start "$tmp/c/knot.conf" "$tmp/c/knotd.log" $ZONES_C && knotd_c=$knotd_pid || bail "knotd C did not load its zones"
# Case 2's zone for knotd B: neg as A signed it, the trap added under the old RRSIG(MX).
q "$tmp/neg.axfr" "$port_a" "$NEG" AXFR
awk -v z="$NEG" '/^;/ || !NF { next } $4 == "SOA" && soa++ { next } { print }
	END { printf "%s 10 IN MX 99 mx1.%s\n", z, z }' "$tmp/neg.axfr" >"$tmp/b/${NEG%.}.zone"
grep -qE "^$NEG[[:space:]].*RRSIG[[:space:]]+MX " "$tmp/b/${NEG%.}.zone" || bail "no RRSIG(MX) in the AXFR of $NEG"
knotd_start "$tmp/b/knot.conf" "$tmp/b/knotd.log" "$NEG" && knotd_b=$knotd_pid || bail "knotd B did not load $NEG"
note "knotd A $knotd_a @$port_a, B $knotd_b @$port_b, C $knotd_c @$port_c"
# unbound: the KSKs/CSKs as served are trust anchors (KSK rollovers add some); stub zones.
anchor_lines() { unbound_anchors "$tmp/anchor.out" "${zport[$1]}" "$1"; }
for z in $ZONES_A $ZONES_C; do anchor_lines "$z"; done >"$tmp/anchors"
[ "$(grep -c . "$tmp/anchors")" -ge "$(wc -w <<<"$ZONES_A $ZONES_C")" ] || bail "a zone without KSK/CSK DNSKEY"
stubs=() && for z in $ZONES_A $ZONES_C; do stubs+=("$z ${zport[$z]}"); done
unbound_start "$tmp/u" "$port_u" "$port_uc" "$tmp/anchors" "${stubs[@]}" || bail "unbound configuration: $unbound_err"
# soa_ad ZONE: unbound runs and validates the zone's SOA (AD).
soa_ad() { kill -0 "$unbound_pid" 2>/dev/null && q "$tmp/uready.out" "$port_u" "$1" SOA +dnssec && parse "$tmp/uready.out" && [ "$f_rcode" = NOERROR ] && f_ad; }
wait_for "unbound" 30 soa_ad "$EN" || { indent "$tmp/u/unbound.out"; bail "unbound does not validate $EN SOA"; }
E=; for z in $ZONES_A $ZONES_C; do soa_ad "$z" || E+="$z: status $f_rcode, flags [$f_flags] $(unbound_log "$z")"$'\n'; done
check "setup: the SOA of every zone validates through unbound (AD)" "$E"
# anchor_ksks ZONE: every KSK/CSK the zone publishes becomes a trust anchor.
anchor_ksks() {
	local new
	new=$(anchor_lines "$1" | grep -vxF -f "$tmp/anchors") || return 0
	printf '%s\n' "$new" >>"$tmp/anchors"
	uctl reload || echo "unbound-control reload failed"
	wait_for "unbound after reload" 20 soa_ad "$1" || echo "unbound does not validate $1 SOA after reload"
}
# --- case 4's sampling (in tick) -------------------------------------------------
LIFE_NAMES="$LIFE $(printf "%s.$LIFE " x.wild mail fresh1 fresh2 fresh3 fresh4 fresh5)" LIFE_MARGIN=$((LIFE_REFRESH + LIFE_TTL))
life_t0='' life_t1='' life_answers=0 life_trapped=0 life_rolls=0 life_sig='' life_errs='' life_miss='' life_last=0
declare -A life_inc=() life_incs=() life_at=() life_to=()
life_err() { [ "${#life_errs}" -gt 2000 ] || life_errs+="$(stamp) $1"$'\n'; }
# life_poll: eight MX RRsets (each its own cached signature) with DO between two
# RRSIG(SOA) queries (their keys sign the trapped answers); the apex via unbound.
life_poll() {
	local s1 s2 now=$EPOCHSECONDS n r type ex inc tag
	life_last=$SECONDS s1=$(signers "$LIFE")
	for n in $LIFE_NAMES; do life_at[$n]=$EPOCHSECONDS; q "$tmp/life-$n.out" "$port_a" "$n" MX +dnssec; life_to[$n]=$EPOCHSECONDS; done
	s2=$(signers "$LIFE")
	[ -n "$s1" ] && [ -n "$s2" ] || { life_err "no RRSIG(SOA)"; return 0; }
	life_t0=${life_t0:-$now} life_t1=$now
	[ -z "$life_sig" ] || [ "$s2" = "$life_sig" ] ||
		{ life_rolls=$((life_rolls + 1)); note "case 4: $LIFE signing key $life_sig -> $s2 (+$((now - life_t0)) s)"; }
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
	E= && via_unbound "$LIFE" "$LIFE" any
	[ -z "$E" ] || life_err "$E"
}
life_done() { [ -n "$life_t0" ] && [ $((life_t1 - life_t0)) -ge $((3 * LIFE_LIFETIME)) ] && [ "$life_rolls" -ge 2 ]; }
# --- case 3's polls (in tick) ----------------------------------------------------
declare -A rkind=([$ROLL]=ZSK [$KROLL]=KSK [$EC3]=CSK [$ALG]=algorithm)
# Each rollover's steps (' = new key, unpublished = signs SOA, not in DNSKEY); the last ends it.
declare -A rsteps=(
	[$ROLL]="DNSKEY[KSK ZSK ZSK'] RRSIG[ZSK]|DNSKEY[KSK ZSK ZSK'] RRSIG[ZSK']|DNSKEY[KSK ZSK'] RRSIG[ZSK']"
	[$KROLL]="DNSKEY[KSK KSK' ZSK] RRSIG[ZSK]|DNSKEY[KSK' ZSK] RRSIG[ZSK]"
	[$EC3]="DNSKEY[CSK CSK'] RRSIG[CSK]|DNSKEY[CSK CSK'] RRSIG[CSK']|DNSKEY[CSK'] RRSIG[CSK']"
	[$ALG]="DNSKEY[KSK ZSK] RRSIG[ZSK unpublished']|DNSKEY[KSK KSK' ZSK ZSK'] RRSIG[ZSK ZSK']|DNSKEY[KSK' ZSK'] RRSIG[ZSK' unpublished]|DNSKEY[KSK' ZSK'] RRSIG[ZSK']"
)
declare -A old_tags=() submitted=() step_checks=() step_errs=() steps=() r_u0=() fresh_n=()
roll_t0=
# step_of ZONE KEYS SIGNERS: the zone's step, "|", the SIGNERS in the DNSKEY set (the module's).
step_of() {
	local -A r=() n=(); local role t x d='' g='' p=''
	while read -r role t; do [ "${rkind[$1]}" != CSK ] || role=CSK; r[$t]=$role; done <<<"$2"
	for t in "${!r[@]}"; do x=${r[$t]}; [[ ${old_tags[$1]} == *" $t "* ]] || x+="'"; n[D$x]+="$x "; done
	for t in $3; do x=${r[$t]:-unpublished}; [[ ${old_tags[$1]} == *" $t "* ]] || x+="'"; n[S$x]+="$x "; [ -z "${r[$t]:-}" ] || p+=" $t"; done
	for x in CSK "CSK'" KSK "KSK'" ZSK "ZSK'" unpublished "unpublished'"; do d+=${n[D$x]:-} g+=${n[S$x]:-}; done
	echo "DNSKEY[${d% }] RRSIG[${g% }]|${p# }"
}
# ksk_parent ZONE: the parent: a new CDS (last zone_state) -> the zone's KSKs become
# trust anchors, knotc zone-ksk-submitted. Errors in parent_errs.
ksk_parent() {
	local out
	parent_errs=
	[ -n "$st_cds" ] && [ "$st_cds" != "${submitted[$1]:-}" ] || return 0
	parent_errs=$(anchor_ksks "$1")
	out=$(knotd_ctl "${zconf[$1]}" zone-ksk-submitted "$1" 2>&1) || parent_errs+="knotc zone-ksk-submitted $1: $out"
	submitted[$1]=$st_cds
	note "case 3: $1 publishes CDS $st_cds: trust anchors updated, submission confirmed (+$((SECONDS - ${roll_t0:-$SECONDS})) s)"
}
# roll_poll ZONE: the zone's state; in a step not yet checked, every name and a fresh
# one via unbound and with DO, then the state again (a check straddling a change: again).
roll_poll() {
	local z=$1 sig keys cds name step key signing
	zone_state "$z"
	sig=$st_sig keys=$st_keys cds=$st_cds
	[ -n "$sig" ] || return 0
	step=$(step_of "$z" "$keys" "$sig")
	signing="${step#*|}|$sig" step=${step%|*} key="$z|$step"
	[ -n "${step_checks[$key]:-}" ] || { steps[$z]+="$step|" step_checks[$key]=0; note "case 3: $z step $step (+$((SECONDS - roll_t0)) s)"; }
	if [ "${step_checks[$key]}" = 0 ]; then
		fresh_n[$z]=$((${fresh_n[$z]:-0} + 1)) E=
		for name in $(names_of "$z") "fresh${fresh_n[$z]}.$z"; do via_unbound "$z" "$name" yes; direct_do "$z" "$name" yes "$signing"; done
		zone_state "$z"
		[ "$st_sig" != "$sig" ] || [ "$st_keys" != "$keys" ] || { step_checks[$key]=1 step_errs[$key]+=${E:+$(stamp) $E}; }
	fi
	st_cds=$cds
	ksk_parent "$z"
	[ -z "$parent_errs" ] || step_errs[$key]+="$parent_errs"$'\n'
}
rolled() { [ "${step_checks[$1|${rsteps[$1]##*|}]:-0}" = 1 ]; }   # the last step was checked
all_rolled() { local z; for z in $ROLLING; do rolled "$z" || return 1; done; }
# tick: from case 3's start on, at most every 2 s, called by the other cases' queries (in
# this shell, not in its own): polls every rollover under way, case 4 every 4 s; keeps E.
tick_at=0 ticking=
tick() {
	[ -n "$roll_t0" ] && [ -z "$ticking" ] && [ "$BASHPID" = $$ ] && [ $((SECONDS - tick_at)) -ge 2 ] || return 0
	local E0=$E z; ticking=1
	for z in $ROLLING; do rolled "$z" || roll_poll "$z"; done
	[ $((SECONDS - life_last)) -lt 4 ] || life_poll
	E=$E0 ticking='' tick_at=$SECONDS
}
# --- first start of the rolling zones (cases 1, 7), then case 3 starts -------------
for z in $EC3 $ROLL $KROLL; do check_names 1 "$z" yes "$(signers "$z")" nodo; done
check_names 7 "$ALG" yes "$(signers "$ALG")"
declare -A keydir=([$ALT]=a/keys/alt-keys [$ABS]=abs-keys [$ALG]=c/kasp-c/keys [$CALT]=c/kasp-c/c-keys); E=
for z in $ALT $ABS $ALG $CALT; do
	for t in $(signers "$z"); do
		id=$(key_id "$z" "$t") && found=$(find "$tmp" -name "${id:-none}.pem" | tr '\n' ' ')
		[ -n "$id" ] && [ "$found" = "$tmp/${keydir[$z]}/$id.pem " ] || E+="$z key $t (ID ${id:-?}): files [$found]"$'\n'
	done
done
check "case 7: the signing key files of $ALT, $ABS, $ALG, $CALT in ${keydir[*]} (under $tmp) only" "$E"
for z in $ROLLING; do   # the first KSK of every rolling zone confirmed, as a parent would
	zone_state "$z"
	ksk_parent "$z"
	[ -z "$parent_errs" ] || not_ok "case 3: $z first KSK submission: $parent_errs"
	wait_for "$z CDS gone" 20 eval 'zone_state "$z"; [ -n "$st_sig" ] && [ -z "$st_cds" ]' || true
	old_tags[$z]=" $(key_tags "$z") " r_u0[$z]=$(cnt "$z" 'unchanged*')
done
roll_t0=$SECONDS E=
for z in $ROLL $KROLL $EC3; do
	k=ksk && [ "${rkind[$z]}" != ZSK ] || k=zsk
	out=$(knotd_ctl "${zconf[$z]}" zone-key-rollover "$z" "$k" 2>&1) || E+="knotc zone-key-rollover $z $k: $out"$'\n'
done
conf_c ed25519 >"$tmp/c/knot.conf"
out=$(knotd_ctl "${zconf[$ALG]}" reload 2>&1) || E+="knotc reload (knotd C): $out"$'\n'
r_u0[$ALG]=$(cnt "$ALG" 'unchanged*')   # the reload made the modules anew
check "case 3: rollovers started: $ROLL zsk, $KROLL ksk, $EC3 ksk (CSK); $ALG ECDSAP256SHA256 -> ED25519 (knotc reload of knotd C)" "$E"
perf_pid=
if command -v dnsperf >/dev/null; then
	printf '%s MX\n' "$ROLL" "mail.$ROLL" "alias.$ROLL" "x.wild.$ROLL" >"$tmp/perf.txt"
	perf_t0=$(cnt "$ROLL" trapped)
	timeout $((LOAD_SECONDS + 30)) dnsperf -s 127.0.0.1 -p "$port_a" -d "$tmp/perf.txt" -D \
		-l "$LOAD_SECONDS" -Q "$LOAD_QPS" -c 4 -t 2 >"$tmp/dnsperf.out" 2>&1 &
	perf_pid=$! && spawned+=("$perf_pid")
fi
# --- case 1 (and 7): the other zones' first start ----------------------------------
for z in $EN $DN3 $TWO; do check_names 1 "$z" yes "$(signers "$z")" nodo; done
for z in $ALT $ABS $CALT; do check_names 7 "$z" yes "$(signers "$z")"; done
s=$(signers "$TWO") && check "case 1: $TWO is signed by two ZSKs [$s]" "$([ "$(wc -w <<<"$s")" = 2 ] || echo "keys: [$s]")"
for z in $EN $TWO; do
	c0=$(cnt "$z" 'signatures[cache]') f0=$(cnt "$z" 'signatures[fresh]') t0=$(cnt "$z" trapped) miss=0
	for _ in $(seq 10); do trapped_do "mail.$z" || miss=$((miss + 1)); done
	c=$(($(cnt "$z" 'signatures[cache]') - c0)) f=$(($(cnt "$z" 'signatures[fresh]') - f0)) t=$(($(cnt "$z" trapped) - t0))
	check "case 1: $z 10 DO queries for mail: trapped +$t, signatures[cache] +$c, [fresh] +$f" \
		"$([ "$miss" = 0 ] && [ "$t" = 10 ] && [ "$c" -ge 9 ] && [ "$f" -le 1 ] || echo "$miss without the trap; $(stats "$z")")"
done
for z in $EN $OS; do   # the unchanged[] indexes: the signing reasons where the module signs only
	idx=$(zstats "$z" -f | sed -n 's/^unchanged\[\([^]]*\)\].*/\1/p' | tr '\n' ' ') E=
	for r in key-missing key-unreadable keystore-unsupported keystore-login algorithm-unsupported sign-failed; do
		case " $idx " in *" $r "*) [ "$z" = "$EN" ] || E+="$r ";; *) [ "$z" != "$EN" ] || E+="no $r ";; esac
	done
	check "case 1: $z unchanged[] indexes: $idx" "$E"
done
# --- case 10: the glue of a configured exchanger -------------------------------------
# From Knot 3.4 the module puts www's A and AAAA and their RRSIGs in
# ADDITIONAL: as knotd answers www A and AAAA, TTLs too (each RRSIG with its
# original TTL, as Knot writes those of its own glue).
E= want=
if version_at_least "$(knotd_version)" 3.4; then
	for t in A AAAA; do q "$tmp/w.out" "$port_a" "www.$GLUE" $t +dnssec; want+=$(section "$tmp/w.out" ANSWER)$'\n'; done
fi
want=$(printf '%s' "$want" | sed '/^$/d' | sort)
unbound_ask "$tmp/u" "$port_u" "$tmp/g.out" "$GLUE" "$GLUE" && parse "$tmp/g.out"
[ "$f_rcode" = NOERROR ] && f_ad && [ "$f_mx" = "10 mx1.$GLUE,20 mx2.$GLUE,99 www.$GLUE," ] ||
	E+="through unbound: ${f_rcode:-none} [$f_flags] MX [$f_mx]"$'\n'
q "$tmp/g.out" "$port_a" "$GLUE" MX +dnssec
glue=$(section "$tmp/g.out" ADDITIONAL | awk -v n="www.$GLUE" '$1 == n' | sort)
[ "$glue" = "$want" ] || E+="ADDITIONAL of www:"$'\n'"$glue"$'\n'"want:"$'\n'"$want"
types=$(awk '{ print $4 == "RRSIG" ? "RRSIG(" $5 ")" : $4 }' <<<"$want" | paste -sd ' ')
check "case 10: $GLUE exchange www: AD + trap through unbound; www in ADDITIONAL as knotd answers it: [${types:-none}]" "$E"
# --- case 2: the negative control ----------------------------------------------------
E= && direct_do "$NEG" "$NEG" yes "$(signers "$NEG")"
soa_ad "$NEG" || E+="$NEG SOA through unbound: status $f_rcode, flags [$f_flags]"$'\n'
unbound_ask "$tmp/u" "$port_u" "$tmp/neg.out" "$NEG" "$NEG" && parse "$tmp/neg.out"
[ "$f_rcode" = SERVFAIL ] || E+="$NEG MX through unbound: status ${f_rcode:-none}, flags [$f_flags], want SERVFAIL"$'\n'
reason=$(grep -F "validation failure <$NEG MX IN>" "$tmp/u/unbound.log" | tail -n 1 || true)
[ -n "$reason" ] || E+="no validation failure for $NEG MX in unbound's log"$'\n'
note "case 2: unbound: ${reason:-none}"
check "case 2: $NEG with the trap under the zone's old RRSIG(MX) (knotd B, no module): SOA AD, MX SERVFAIL (bogus)" "$E"
# --- case 6: mod-onlinesign ----------------------------------------------------------
check_names 6 "$OS" yes "$(key_tags "$OS")" nodo
u0=$(cnt "$OSREV" 'unchanged[signed]')
check_names 6 "$OSREV" no "$(key_tags "$OSREV")" nodo
u=$(($(cnt "$OSREV" 'unchanged[signed]') - u0))
check "case 6: $OSREV (onlinesign first): unchanged[signed] +$u >= 8" "$([ $u -ge 8 ] || stats "$OSREV")"
# --- case 8: keys the module cannot use ----------------------------------------------
zsk_pem() {   # ZONE: the key file of the zone's single signing key (default store)
	local s id; s=$(signers "$1") && id=$(key_id "$1" "$s")
	[ -n "$id" ] && [ "${s// /}" = "$s" ] && [ -f "$tmp/a/keys/keys/$id.pem" ] || bail "no key file of $1's ZSK"
	echo "$tmp/a/keys/keys/$id.pem"
}
declare -A neg_sig=() neg_u0=() neg_n=() neg_errs=() \
	reason=([$KMISS]=key-missing [$KBAD]=key-unreadable [$KSWAP]=key-unreadable [$P11]=keystore-unsupported)
kmiss_pem=$(zsk_pem "$KMISS") kbad_pem=$(zsk_pem "$KBAD") kswap_pem=$(zsk_pem "$KSWAP") en_pem=$(zsk_pem "$EN")
mv "$kmiss_pem" "$tmp/moved/" && cp -p "$kbad_pem" "$kswap_pem" "$tmp/moved/"
printf 'not a key\n' >"$kbad_pem" && cat "$en_pem" >"$kswap_pem" && tick
note "case 8: before their first DO query: $KMISS's ZSK file moved away, garbage in $KBAD's, $EN's ZSK in $KSWAP's"
for z in "${!reason[@]}"; do neg_sig[$z]=$(signers "$z") neg_u0[$z]=$(cnt "$z" "unchanged[${reason[$z]}]") neg_n[$z]=0; done
neg_end=$((SECONDS + 12))   # > 10 s: a failed key is looked for again meanwhile, still one log line
while [ "$SECONDS" -lt "$neg_end" ]; do
	for z in "${!reason[@]}"; do
		E=; direct_do "$z" "$z" no "${neg_sig[$z]}"; direct_do "$z" "mail.$z" no "${neg_sig[$z]}"
		neg_n[$z]=$((neg_n[$z] + 2)) neg_errs[$z]+=$E
	done
	sleep 1   # answers spread over the 12 s, not as many as the CPU allows
done
for z in "${!reason[@]}"; do
	r=${reason[$z]} E=${neg_errs[$z]:-}
	for name in $(names_of "$z"); do via_unbound "$z" "$name" no; done
	u=$(($(cnt "$z" "unchanged[$r]") - neg_u0[$z]))
	[ "$u" -ge "${neg_n[$z]}" ] || E+="unchanged[$r] +$u; $(stats "$z")"$'\n'
	lines=$(grep -F "[$z] module 'mod-mxtrap" "$tmp/a/knotd.log" || true)
	[ -n "$lines" ] && [ "$(wc -l <<<"$lines")" = 1 ] || E+="module log lines: ${lines:-none}"$'\n'
	# The missing key's notice names where it was looked for.
	[ "$z" != "$KMISS" ] || [[ $lines == *"key stores searched: $tmp/a/keys/keys;"* ]] ||
		E+="the notice does not name the key store $tmp/a/keys/keys"$'\n'
	check "case 8: $z ($r): ${neg_n[$z]} DO answers over 12 s without the trap, the zone's RRSIG(MX); AD through unbound; unchanged[$r] +$u; one log line" "$(head -n 30 <<<"$E")"
	note "case 8: $z: $lines"
done
mv "$tmp/moved/${kmiss_pem##*/}" "$kmiss_pem" && t_back=$SECONDS   # the trap within 30 s (looked for every 10 s)
wait_for "$KMISS trap" 30 trapped_do "$KMISS" && E= || E="no trap within 30 s"
check "case 8: $KMISS: the trap is back $((SECONDS - t_back)) s after the key file, no reload" "$E"
check_names 8 "$KMISS" yes "$(signers "$KMISS")"
for f in "$kbad_pem" "$kswap_pem"; do cp -p "$tmp/moved/${f##*/}" "$f"; done
# --- cases 3 and 4: polled to their ends ---------------------------------------------
E='' deadline=$((roll_t0 + 180))
while ! { all_rolled && life_done; } && [ "$SECONDS" -lt "$deadline" ]; do tick; sleep 0.1; done
ticking=over && note "case 3: polls ended after $((SECONDS - roll_t0)) s"
for z in $ROLLING; do
	E=; IFS='|' read -r -a want <<<"${rsteps[$z]}"
	for step in "${want[@]}"; do [ "${step_checks[$z|$step]:-0}" = 1 ] || E+="step $step not checked"$'\n'; done
	rolled "$z" || E+="not finished; steps seen: ${steps[$z]:-none}"$'\n'
	[ "$(cnt "$z" 'unchanged*')" = "${r_u0[$z]}" ] || E+="answers left unchanged: $(stats "$z")"$'\n'
	IFS='|' read -r -a seen <<<"${steps[$z]:-}"
	for step in "${seen[@]}"; do E+=${step_errs[$z|$step]:-}; done
	check "case 3: $z ${rkind[$z]} rollover: every step seen; in each, all names AD + trap through unbound, RRSIG(MX) by the step's published signing keys; no answer unchanged" "$(head -n 40 <<<"$E")"
done
if [ -n "$perf_pid" ]; then
	rc=0 && wait "$perf_pid" || rc=$?; forget_pid "$perf_pid"
	done_n=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$tmp/dnsperf.out") codes=$(sed -n 's/^ *Response codes: *//p' "$tmp/dnsperf.out")
	t=$(($(cnt "$ROLL" trapped) - perf_t0))
	check "case 3: dnsperf with DO on $ROLL during its ZSK rollover: ${done_n:-0} answers, all NOERROR and trapped (+$t)" \
		"$([ "$rc" = 0 ] && [ "${done_n:-0}" -gt 0 ] && [ "$t" -ge "$done_n" ] && [[ $codes == "NOERROR "*" (100.00%)" ]] || echo "dnsperf status $rc; $codes")"
else
	skip "case 3: dnsperf DO load during the ZSK rollover" "dnsperf not installed"
fi
check "case 3: knotd A and C alive after the rollovers" \
	"$(kill -0 "$knotd_a" 2>/dev/null || echo "knotd A died")$(kill -0 "$knotd_c" 2>/dev/null || echo "knotd C died")"
span=$((${life_t1:-0} - ${life_t0:-0})) incs=${#life_incs[@]} E=
note "case 4: $LIFE over $span s: $life_trapped of $life_answers DO answers trapped, $life_rolls ZSK changes," \
	"$incs RRSIG(MX) inceptions; $(stats "$LIFE")"
life_done || E+="sampled $span s, $life_rolls ZSK changes (deadline reached)"$'\n'
[ "$life_answers" -gt 0 ] && [ $((life_trapped * 100)) -ge $((life_answers * 99)) ] || E+="trapped: $life_trapped of $life_answers"$'\n'
[ "$incs" -ge 2 ] || E+="RRSIG(MX) inceptions never moved"$'\n'
[ -z "$life_miss" ] || note "case 4: answers without the trap:" "$(head -n 5 <<<"$life_miss")"
check "case 4: $LIFE over >= 3 lifetimes and 2 ZSK rollovers: >= 99 % trapped ($life_trapped/$life_answers), by the current ZSK, >= $LIFE_MARGIN s from expiry, AD" "$E$life_errs"
# --- case 9: restart; the end --------------------------------------------------------
knotd_stop "$knotd_a" || true
check "case 9: knotd A stopped by SIGTERM (exit 0, port released)" "$stop_errs"
if knotd_start "$tmp/a/knot.conf" "$tmp/a/knotd-restart.log" $ZONES_A; then
	knotd_a=$knotd_pid E=
	for z in $EN $EC3 $TWO $ROLL $KROLL $ALT $ABS $KMISS $KBAD $KSWAP; do direct_do "$z" "$z" yes "$(signers "$z")"; via_unbound "$z" "$z" yes; done
	check "case 9: after the restart the first DO MX answers are trapped, one RRSIG(MX) per key; AD + trap through unbound" "$E"
else
	knotd_a= && not_ok "case 9: knotd A started again"
fi
for s in "A $knotd_a" "B $knotd_b" "C $knotd_c"; do
	[ -n "${s#? }" ] || continue
	knotd_stop "${s#? }" || true
	check "knotd ${s%% *} stopped by SIGTERM: exit 0, port released, no sanitizer report" "$stop_errs"
done
unbound_stop "$tmp/u" "$unbound_pid" "$port_u"
check "unbound stopped by SIGTERM: exit 0, port released" "$stop_errs"
note "runtime $((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
