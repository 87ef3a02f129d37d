#!/usr/bin/env bash
# DNSSEC integration test: knotd with the module serving zones knotd signs
# itself, unbound (started here) validating every answer. The module signs the
# merged MX RRset with the keys of the zone's RRSIG(MX), read from knotd's key
# store: the trap must never need `knotc reload` (none is done for it here).
#
#   tests/dnssec/dnssec.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
#
# BUILD_DIR holds module/mxtrap.so and module/mxtrap_keepsig.so (the negative
# control: the merged MX RRset with the zone's old RRSIG). KNOTD_PRELOAD is
# the ASan runtime for a sanitized build (preloaded into knotd, knotc and
# keymgr, which load the module too), empty otherwise.
#
# Servers, all on 127.0.0.1 and free high ports, all stopped by this script:
#   - knotd A (mxtrap.so), zones under mxtrap.test. (tests/dnssec/zone.in;
#     rollover zones and life also have MX owners fresh1, fresh2, ...):
#       en, dn3      ECDSAP256SHA256 NSEC / ED25519 NSEC3, KSK+ZSK
#       ec3          ECDSAP256SHA256 NSEC3 CSK        } rollover timers: TTL
#       roll, kroll  ECDSAP256SHA256 NSEC KSK+ZSK     } ROLL_TTL, no propagation delay
#       two          KSK + two active ZSKs made with keymgr before the start
#       life         rrsig-lifetime 20 s, rrsig-refresh 5 s, zsk-lifetime 25 s, TTL 3 s
#       alt, abs     key store "alt-keys" (relative: under the KASP DB), absolute path
#       kmiss, kbad, kswap, p11   negative cases (case 8)
#       os, osrev    dnssec-signing off, mod-onlinesign after / before mod-mxtrap
#   - knotd B (mxtrap_keepsig.so as mod-mxtrap): ks-en, ks-dn3.
#   - knotd C (mxtrap.so, database kasp-db "kasp-c"): alg (default key store,
#     kasp-c/keys; algorithm rollover), calt (key store "c-keys", kasp-c/c-keys).
#   - unbound -d: validator + iterator, a trust anchor per zone (its KSK/CSK
#     as served), a stub-zone per zone, remote control to flush the cache. In
#     a KSK rollover, when the zone publishes CDS, the script plays the parent:
#     the new KSK becomes a trust anchor (unbound reloaded), then knotc
#     zone-ksk-submitted.
#
# Cases, in the order they run (no knotc reload on knotd A at all):
#   5  first start, empty key stores: the first DO MX answer of each zone is
#      trapped with one RRSIG(MX) per key of RRSIG(SOA); AD + trap via unbound.
#   1  apex, non-apex, CNAME, wildcard MX in en/dn3/ec3/two/roll/kroll: AD +
#      trap via unbound; straight to knotd with DO the trap and exactly one
#      RRSIG(MX) per signing key (= RRSIG(SOA) keys = ZSKs/CSK of the DNSKEY
#      set), signer, labels, TTLs, validity (inception now - 90 min,
#      expiration + rrsig-lifetime); without DO the trap, no RRSIG. Counters:
#      signatures[cache] grows on repeats, signatures[fresh] does not; the new
#      unchanged[] indexes (and none of the old) where the module signs.
#   2  knotd B: the merged set under the zone's old RRSIG: unbound SERVFAIL.
#   6  os: AD + trap, RRSIG(MX) by onlinesign's key. osrev: reported only.
#   7  key store locations (alt, abs, C's alg and calt): key files where
#      knotd resolves them, AD + trap.
#   8  kmiss (ZSK .pem moved away), kbad (garbage .pem), kswap (another
#      zone's key in the ZSK's .pem), p11 (module policy with a PKCS#11 key
#      store), set up before their first DO query, queried for > 10 s: no
#      trap and the zone's own RRSIG(MX), AD, unchanged[REASON] counted, one
#      log line per zone; kmiss: the trap is back within 30 s of the file.
#   3  rollovers at once: roll ZSK (under a dnsperf DO load), kroll KSK, ec3
#      CSK, alg algorithm ECDSAP256SHA256 -> ED25519 (policy rewritten, knotc
#      reload of knotd C: the operator's change). Every poll, every name and
#      one never asked before (no cached signature): AD + trap via unbound,
#      trap and RRSIG(MX) keys = the RRSIG(SOA) keys the DNSKEY set has, or
#      all RRSIG(SOA) keys (an algorithm rollover also signs with unpublished
#      keys) straight to knotd; each
#      step reported, the characteristic ones required; no unchanged answer;
#      dnsperf all NOERROR and trapped, knotd alive.
#   4  life, sampled from case 8 on, for 3 signature lifetimes and 2 ZSK
#      rollovers: AD always; >= 99 % of DO answers trapped, RRSIG(MX) by the
#      current ZSK, >= rrsig-refresh + TTL from expiry; inceptions advance.
#   9  knotd A stopped (SIGTERM, exit 0) and started again: trap at once, AD.
#   -  every server stopped, exit status 0, ports released, no sanitizer
#      report in the logs.
#
# Output: TAP on stdout (plan at the end), then "dnssec: N passed, M failed"
# on stderr. Runtime about 2 minutes (2 CPUs; with ASan too); everything is
# bounded (polls with deadlines, kdig, knotc, keymgr, dnsperf under timeout).
# Environment: DNSSEC_KEEP=1 keeps the temporary directory (logs, configs);
# DNSSEC_LOAD_SECONDS (default 30) and DNSSEC_LOAD_QPS (default 2000) set the
# dnsperf load of case 3 (skipped when dnsperf is missing).
set -euo pipefail

src_dir=$(cd "$(dirname "$0")" && pwd)

BASE=mxtrap.test.

TAP_NAME=dnssec
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
test_init "$@"
keepsig=$build_dir/module/mxtrap_keepsig.so

need_tools knotd knotc keymgr kdig unbound unbound-control unbound-checkconf
LOAD_SECONDS=${DNSSEC_LOAD_SECONDS:-30}
LOAD_QPS=${DNSSEC_LOAD_QPS:-2000}

test_tmp_init
start_time=$SECONDS
echo "# tmp $tmp"

# --- zones and servers -----------------------------------------------------------

EN=en.$BASE DN3=dn3.$BASE EC3=ec3.$BASE TWO=two.$BASE
ROLL=roll.$BASE KROLL=kroll.$BASE LIFE=life.$BASE
ALT=alt.$BASE ABS=abs.$BASE
KMISS=kmiss.$BASE KBAD=kbad.$BASE KSWAP=kswap.$BASE P11=p11.$BASE
OS=os.$BASE OSREV=osrev.$BASE
KS_EN=ks-en.$BASE KS_DN3=ks-dn3.$BASE
ALG=alg.$BASE CALT=calt.$BASE
ZONES_A="$EN $DN3 $EC3 $TWO $ROLL $KROLL $LIFE $ALT $ABS $KMISS $KBAD $KSWAP $P11 $OS $OSREV"
ZONES_B="$KS_EN $KS_DN3"
ZONES_C="$ALG $CALT"

# Rollover zones: each step lasts about the TTL (no propagation delay), long
# enough for a few polls of all rolling zones on a loaded machine.
ROLL_TTL=15
LIFE_LIFETIME=20 LIFE_REFRESH=5 LIFE_TTL=3 LIFE_ZSK_LIFETIME=25
DEFAULT_LIFETIME=1209600

# Per zone: the port and configuration of its knotd, its rrsig-lifetime
# (empty: not checked, onlinesign).
declare -A zport=() zconf=() zlife=()
for z in $ZONES_A; do zconf[$z]=$tmp/a/knot.conf zlife[$z]=$DEFAULT_LIFETIME; done
for z in $ZONES_B; do zconf[$z]=$tmp/b/knot.conf zlife[$z]=$DEFAULT_LIFETIME; done
for z in $ZONES_C; do zconf[$z]=$tmp/c/knot.conf zlife[$z]=$DEFAULT_LIFETIME; done
zlife[$LIFE]=$LIFE_LIFETIME zlife[$OS]='' zlife[$OSREV]=''

mkdir -p "$tmp/a" "$tmp/b" "$tmp/c" "$tmp/u" "$tmp/moved"

# zone_file ZONE TTL DIR [FRESH]: the zone; FRESH more MX owners fresh1,
# fresh2, ... (rollover zones: a name never asked before in each poll, so the
# module signs anew with the keys of the moment instead of its cache; life:
# more RRsets, each with its own cached signature, per poll).
FRESH_NAMES=80
zone_file() {
	{
		sed "s/@TTL@/$2/g" "$src_dir/zone.in"
		for i in $(seq "${4:-0}"); do printf 'fresh%s\tMX\t10 mx1\nfresh%s\tMX\t20 mx2\n' "$i" "$i"; done
	} >"$3/${1%.}.zone"
}
for z in $ZONES_A; do zone_file "$z" 10 "$tmp/a"; done
for z in $ROLL $KROLL $EC3; do zone_file "$z" "$ROLL_TTL" "$tmp/a" "$FRESH_NAMES"; done
zone_file "$LIFE" "$LIFE_TTL" "$tmp/a" 5
for z in $ZONES_B; do zone_file "$z" 10 "$tmp/b"; done
zone_file "$ALG" "$ROLL_TTL" "$tmp/c" "$FRESH_NAMES"
zone_file "$CALT" 10 "$tmp/c"

# knot_conf DIR PORT MODULE_FILE [KASP_DB]: server, log, control, database
# and the module; the caller adds key stores, policies, module sections,
# template and zones (in that order: references must be defined first).
knot_conf() {
	cat <<-EOF
	server:
	    rundir: "$1"
	    listen: 127.0.0.1@$2
	    udp-workers: 2
	    tcp-workers: 1
	    background-workers: 2

	log:
	  - target: stderr
	    any: info

	control:
	    listen: "$1/knot.sock"

	database:
	    storage: "$1"
	EOF
	[ -z "${4:-}" ] || echo "    kasp-db: \"$4\""
	cat <<-EOF

	module:
	  - id: mod-mxtrap
	    file: "$3"

	EOF
}
# fast_timers TTL: policy lines for quick key rollovers.
fast_timers() {
	printf '    propagation-delay: 0\n    dnskey-ttl: %s\n    zone-max-ttl: %s\n' "$1" "$1"
}
template() {
	cat <<-EOF

	template:
	  - id: default
	    storage: "$1"
	    file: "$1/%s.zone"
	    zonefile-sync: -1
	    journal-content: none

	zone:
	EOF
}
# zone_entry DOMAIN ITEM...
zone_entry() {
	printf '  - domain: %s\n' "$1"
	shift
	printf '    %s\n' "$@"
}
# signed DOMAIN POLICY [MODULE]: a zone knotd signs, with the module.
signed() { zone_entry "$1" "dnssec-signing: on" "dnssec-policy: $2" "module: ${3:-mod-mxtrap}"; }

# The p11 policy is only named by the module option: knotd signs p11 with a
# PEM policy and never opens the PKCS#11 key store (no softhsm needed).
write_conf_a() {
	knot_conf "$tmp/a" "$port_a" "$module"
	cat <<-EOF
	keystore:
	  - id: alt
	    backend: pem
	    config: "alt-keys"
	  - id: abs
	    backend: pem
	    config: "$tmp/abs-keys"
	  - id: p11
	    backend: pkcs11
	    config: "pkcs11:token=mxtrap;pin-value=1234 /usr/lib/softhsm/libsofthsm2.so"

	policy:
	  - id: ecdsa-nsec
	    algorithm: ecdsap256sha256
	  - id: ed-nsec3
	    algorithm: ed25519
	    nsec3: on
	  - id: csk-roll
	    algorithm: ecdsap256sha256
	    nsec3: on
	    single-type-signing: on
	$(fast_timers "$ROLL_TTL")
	  - id: manual
	    algorithm: ecdsap256sha256
	    manual: on
	  - id: roll
	    algorithm: ecdsap256sha256
	$(fast_timers "$ROLL_TTL")
	  - id: life
	    algorithm: ecdsap256sha256
	$(fast_timers "$LIFE_TTL")
	    rrsig-lifetime: $LIFE_LIFETIME
	    rrsig-refresh: $LIFE_REFRESH
	    rrsig-pre-refresh: 1
	    zsk-lifetime: $LIFE_ZSK_LIFETIME
	  - id: alt
	    keystore: alt
	  - id: abs
	    keystore: abs
	  - id: p11
	    keystore: p11

	mod-mxtrap:
	  - id: p11
	    policy: p11
	EOF
	template "$tmp/a"
	signed "$EN" ecdsa-nsec
	signed "$DN3" ed-nsec3
	signed "$EC3" csk-roll
	signed "$TWO" manual
	signed "$ROLL" roll
	signed "$KROLL" roll
	signed "$LIFE" life
	signed "$ALT" alt
	signed "$ABS" abs
	signed "$KMISS" ecdsa-nsec
	signed "$KBAD" ecdsa-nsec
	signed "$KSWAP" ecdsa-nsec
	signed "$P11" ecdsa-nsec mod-mxtrap/p11
	zone_entry "$OS" "module: [ mod-mxtrap, mod-onlinesign ]"
	zone_entry "$OSREV" "module: [ mod-onlinesign, mod-mxtrap ]"
}

write_conf_b() {
	knot_conf "$tmp/b" "$port_b" "$keepsig"
	cat <<-EOF
	policy:
	  - id: ecdsa-nsec
	    algorithm: ecdsap256sha256
	  - id: ed-nsec3
	    algorithm: ed25519
	    nsec3: on
	EOF
	template "$tmp/b"
	signed "$KS_EN" ecdsa-nsec
	signed "$KS_DN3" ed-nsec3
}

# write_conf_c ALGORITHM: the alg zone's policy algorithm (case 3 changes it).
write_conf_c() {
	knot_conf "$tmp/c" "$port_c" "$module" kasp-c
	cat <<-EOF
	keystore:
	  - id: cks
	    backend: pem
	    config: "c-keys"

	policy:
	  - id: alg
	    algorithm: $1
	$(fast_timers "$ROLL_TTL")
	  - id: calt
	    keystore: cks
	EOF
	template "$tmp/c"
	signed "$ALG" alg
	signed "$CALT" calt
}

knotc_of() {
	local conf=${zconf[$1]}
	shift
	kenv timeout 60 knotc -c "$conf" -t 50 "$@"
}

# --- DNS helpers (signed answers) ---------------------------------------------
# The polls below run many times on a loaded machine: each answer is read
# by one awk (facts/parse), the rest is done by the shell.

# facts FILE: a kdig answer in one pass, one fact per line:
#   rcode STATUS | flags FLAG... | mx PREF EXCHANGE (ANSWER, sorted) |
#   mxttl TTL... | rrsig TYPE TTL ALG LABELS ORIG_TTL EXPIRATION INCEPTION
#   TAG SIGNER (ANSWER, times in seconds since the epoch) | tags TYPE TAG...
#   (RRSIG key tags per covered type, sorted) | key ROLE ALG TAG (DNSKEYs of
#   a +multi answer, ROLE KSK for flags 257, sorted) | cds TAG... | dnskey N
facts() {
	awk '
	function epoch(t,   y, m, d, era, yoe, doy) {
		y = substr(t, 1, 4) + 0; m = substr(t, 5, 2) + 0; d = substr(t, 7, 2) + 0
		if (m <= 2) y--
		era = int(y / 400); yoe = y - era * 400
		doy = int((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1
		d = era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
		return sprintf("%.0f", d * 86400 + substr(t, 9, 2) * 3600 + substr(t, 11, 2) * 60 + substr(t, 13, 2))
	}
	# ins(A, N, V, NUM): V into the sorted A[1..N]; the new N.
	function ins(a, n, v, num,   i) {
		for (i = n; i > 0 && (num ? a[i] + 0 > v + 0 : a[i] > v); i--) a[i + 1] = a[i]
		a[i + 1] = v
		return n + 1
	}
	/^;; ->>HEADER<<-/ { s = $0; sub(/.*status: /, "", s); sub(/;.*/, "", s); rcode = s }
	/^;; Flags: / { s = $0; sub(/^;; Flags: /, "", s); sub(/;.*/, "", s); flags = s }
	/; [KZ]SK, .*id = [0-9]+$/ {
		s = $0; sub(/.*; /, "", s); split(s, k, /[ ,]+/); nkey = ins(key, nkey, k[1] " " k[2] " " $NF, 0)
	}
	$0 == ";; ANSWER SECTION:" { on = 1; next }
	/^;; / || /^$/ { on = 0 }
	!on { next }
	$4 == "MX" { nmx = ins(mx, nmx, $5 " " $6, 0); if (!($2 in mt)) { mt[$2]; mxttl = mxttl " " $2 } }
	$4 == "CDS" { ncds = ins(cds, ncds, $5, 1) }
	$4 == "DNSKEY" { ndnskey++ }
	$4 == "RRSIG" && NF >= 13 {
		print "rrsig", $5, $2, $6, $7, $8, epoch($9), epoch($10), $11, $12
		if (!($5 in tl)) types[++ntypes] = $5
		tl[$5] = tl[$5] " " $11
	}
	END {
		print "rcode", rcode
		print "flags", flags
		for (i = 1; i <= nmx; i++) print "mx", mx[i]
		print "mxttl" mxttl
		for (j = 1; j <= ntypes; j++) {
			n = split(tl[types[j]], t, " "); nt = 0
			for (i = 1; i <= n; i++) nt = ins(tg, nt, t[i], 1)
			s = "tags " types[j]
			for (i = 1; i <= nt; i++) s = s " " tg[i]
			print s
		}
		for (i = 1; i <= nkey; i++) print "key", key[i]
		s = "cds"; for (i = 1; i <= ncds; i++) s = s " " cds[i]; print s
		print "dnskey", ndnskey + 0
	}' "$1"
}
# parse FILE: the facts of an answer in f_rcode, f_flags, f_mx ("PREF
# EXCHANGE," each), f_trap (yes/no), f_mxttl, f_tags[TYPE] (sorted RRSIG key
# tags), f_rrsig (lines "TYPE TTL ALG LABELS ORIG EXP INC TAG SIGNER"),
# f_keys ("ROLE ALG TAG" lines), f_cds, f_dnskey (DNSKEY count).
declare -A f_tags=()
parse() {
	local kind rest
	f_rcode='' f_flags='' f_mx='' f_trap=no f_mxttl='' f_rrsig=() f_keys='' f_cds='' f_dnskey=0 f_tags=()
	while read -r kind rest; do
		case $kind in
		rcode) f_rcode=$rest;;
		flags) f_flags=$rest;;
		mx) f_mx+="$rest,"; [ "${rest%% *}" != 99 ] || f_trap=yes;;
		mxttl) f_mxttl=$rest;;
		rrsig) f_rrsig+=("$rest");;
		tags) f_tags[${rest%% *}]=${rest#* };;
		key) f_keys+="$rest"$'\n';;
		cds) f_cds=$rest;;
		dnskey) f_dnskey=$rest;;
		esac
	done < <(facts "$1")
	f_keys=${f_keys%$'\n'}
}
f_ad() { case " $f_flags " in *" ad "*) return 0;; esac; return 1; }
# answer FILE: the ANSWER section (evidence).
answer() { section "$1" ANSWER; }
# hms EPOCH: HH:MM:SS (UTC).
hms() { TZ=UTC printf '%(%T)T' "$1"; }
stamp() { hms "$EPOCHSECONDS"; }
# labels NAME: its number of labels.
labels() { local d=${1%.} dots; dots=${d//[^.]/}; echo $((${#dots} + 1)); }

uflush() {
	timeout 10 unbound-control -c "$tmp/unbound.conf" flush_zone "$1" >/dev/null 2>&1 || true
	timeout 10 unbound-control -c "$tmp/unbound.conf" flush_bogus >/dev/null 2>&1 || true
	timeout 10 unbound-control -c "$tmp/unbound.conf" flush_negative >/dev/null 2>&1 || true
}

# unbound_evidence NAME: unbound's log lines about NAME (validation reasons).
unbound_evidence() {
	grep -F -- "${1%.}" "$tmp/unbound.log" 2>/dev/null | grep -v "generate keytag query" | tail -n 6 | sed 's/^/unbound.log: /' || true
}

# zone_signers ZONE: key tags of RRSIG(SOA) straight from the zone's knotd.
zone_signers() {
	q "$tmp/soa.out" "${zport[$1]}" "$1" SOA +dnssec
	parse "$tmp/soa.out"
	echo "${f_tags[SOA]:-}"
}
# dnskey_signers ZONE: tags of the ZSKs in the DNSKEY set, or of the KSKs
# (CSK) when there is no ZSK.
dnskey_signers() {
	local role
	q "$tmp/dnskey.out" "${zport[$1]}" "$1" DNSKEY +dnssec +multi
	parse "$tmp/dnskey.out"
	role=KSK
	case $'\n'"$f_keys" in *$'\nZSK '*) role=ZSK;; esac
	printf '%s\n' "$f_keys" | awk -v r="$role" '$1 == r { print $3 }' | sort -n | tr '\n' ' ' | sed 's/ $//'
}
# zone_state ZONE [nocds]: st_sig (RRSIG(SOA) key tags), st_keys (DNSKEY set,
# "ROLE ALG TAG" lines), st_cds (key tags of the CDS records, unless nocds);
# st_sig empty if a query failed.
zone_state() {
	local z=$1 p=${zport[$1]}
	q "$tmp/st-soa.out" "$p" "$z" SOA +dnssec
	parse "$tmp/st-soa.out"
	st_sig=${f_tags[SOA]:-}
	q "$tmp/st-dnskey.out" "$p" "$z" DNSKEY +dnssec +multi
	parse "$tmp/st-dnskey.out"
	st_keys=$f_keys
	[ -n "$st_keys" ] || st_sig=''
	[ "${2:-}" != nocds ] || return 0
	q "$tmp/st-cds.out" "$p" "$z" CDS
	parse "$tmp/st-cds.out"
	[ "$f_rcode" = NOERROR ] || st_sig=''
	st_cds=$f_cds
}

# dcounter ZONE NAME / dstats ZONE: counters of the zone's knotd (see counter
# and stats_line in tests/lib/common.sh).
dcounter() { counter "${zconf[$1]}" "$1" "$2"; }
dstats() { stats_line "${zconf[$1]}" "$1"; }
# unchanged_sum ZONE: every unchanged[] counter of the zone, added up.
unchanged_sum() {
	kenv timeout 20 knotc -c "${zconf[$1]}" zone-stats "$1" mod-mxtrap 2>/dev/null |
		awk '$2 ~ /^mod-mxtrap\.unchanged\[/ { s += $4 } END { print s + 0 }'
}

# mod_log ZONE [LOG]: the module's log lines for ZONE (knotd's log: "[ZONE]
# module 'mod-mxtrap...', ...").
mod_log() {
	grep -F "[$1] module 'mod-mxtrap" "${2:-$tmp/a/knotd.log}" 2>/dev/null || true
}

# expected_mx ZONE TRAP(yes/no): the MX set as f_mx has it.
expected_mx() {
	echo "10 mx1.$1,20 mx2.$1,$([ "$2" = no ] || echo "99 mx1.$1,")"
}
# has_trap FILE: the answer's MX set has the trap.
has_trap() { parse "$1"; [ "$f_trap" = yes ]; }

# The names of a zone: apex, non-apex, CNAME to the non-apex owner, and a
# fresh wildcard name (never cached). label NAME: the name's first label
# ("wild" for these), for file names.
names_of() {
	echo "$1 mail.$1 alias.$1 w${EPOCHREALTIME/./}.wild.$1"
}
label() {
	case $1 in *.wild.*) echo wild;; *) echo "${1%%.*}";; esac
}
# rrsig_labels NAME ZONE: the labels field RRSIG(MX) must have.
# mod-onlinesign signs a wildcard answer as an existing name (its denial is
# made up per query), so there the labels are the owner's.
rrsig_labels() {
	case $1 in
	*.wild."$2")
		if [ "$2" = "$OS" ]; then labels "$1"; else echo $(($(labels "$2") + 1)); fi;;
	alias."$2") labels "mail.$2";;
	*) labels "$1";;
	esac
}

# mx_check WHO ZONE TRAP(yes/no/any): the parsed MX set; errors on stdout.
mx_check() {
	case $3 in
	yes|no)
		[ "$f_mx" = "$(expected_mx "$2" "$3")" ] || echo "$1: MX set [$f_mx] want [$(expected_mx "$2" "$3")]";;
	any)
		[ "$f_mx" = "$(expected_mx "$2" yes)" ] || [ "$f_mx" = "$(expected_mx "$2" no)" ] || echo "$1: MX set [$f_mx]";;
	esac
}

# via_unbound ZONE NAME TRAP(yes/no/any) TAG: NAME MX through unbound after a
# flush of ZONE (unless no_flush=1: the caller flushed); errors on stdout
# (empty: fine). The answer stays in $tmp/u-TAG.out.
no_flush=0
via_unbound() {
	local zone=$1 name=$2 trap=$3 out=$tmp/u-$4.out errs=''
	[ "$no_flush" = 1 ] || uflush "$zone"
	q "$out" "$port_u" "$name" MX +dnssec
	parse "$out"
	[ "$f_rcode" = NOERROR ] || errs+="unbound: status ${f_rcode:-none} for $name MX"$'\n'
	f_ad || errs+="unbound: no AD flag ($f_flags) for $name MX"$'\n'
	errs+=$(mx_check unbound "$zone" "$trap")
	if [ -n "$errs" ]; then
		printf '%s\n' "${errs%$'\n'}"
		echo "unbound answer:"
		grep -E '^;; (->>|Flags|EDE)|	MX	|	RRSIG	MX' "$out" | head -n 12 || true
		echo "unbound log:"
		grep -F -- "${name%.}" "$tmp/unbound.log" 2>/dev/null | grep -v "generate keytag query" | tail -n 6 || true
	fi
}

# direct_do ZONE NAME TRAP(yes/no/any) SIGNERS TAG: NAME MX with DO straight
# to the zone's knotd: the MX set, exactly one RRSIG(MX) per key of SIGNERS
# (sorted tags; "A|B": the keys of A or of B), signer ZONE, labels, TTL = original TTL = MX TTL, validity:
# inception <= now, expiration > now + TTL and <= now + the zone's
# rrsig-lifetime, expiration - inception = rrsig-lifetime + 90 min (as Knot
# signs). Errors on stdout; the answer stays in $tmp/d-TAG.out (parsed).
direct_do() {
	local zone=$1 name=$2 trap=$3 signers=$4 out=$tmp/d-$5.out errs='' now=$EPOCHSECONDS
	local want_labels life=${zlife[$zone]:-} r type ttl alg lab orig e i tag signer
	q "$out" "${zport[$zone]}" "$name" MX +dnssec
	parse "$out"
	[ "$f_rcode" = NOERROR ] || errs+="knotd: status ${f_rcode:-none}"$'\n'
	errs+=$(mx_check "knotd DO" "$zone" "$trap")
	[ -z "$errs" ] || errs=${errs%$'\n'}$'\n'
	case "|$signers|" in
	*"|${f_tags[MX]:-}|"*) ;;
	*) errs+="knotd DO: RRSIG(MX) key tags [${f_tags[MX]:-}], want one per signing key [$signers]"$'\n';;
	esac
	want_labels=$(rrsig_labels "$name" "$zone")
	for r in "${f_rrsig[@]}"; do
		read -r type ttl alg lab orig e i tag signer <<<"$r"
		[ "$type" = MX ] || continue
		[ "$signer" = "$zone" ] || errs+="knotd DO: RRSIG(MX) $tag signer $signer"$'\n'
		[ "$lab" = "$want_labels" ] || errs+="knotd DO: RRSIG(MX) $tag labels $lab, want $want_labels"$'\n'
		[ "$orig" = "$f_mxttl" ] && [ "$ttl" = "$f_mxttl" ] ||
			errs+="knotd DO: RRSIG(MX) $tag TTL $ttl original TTL $orig, MX TTL $f_mxttl"$'\n'
		[ "$i" -le "$now" ] && [ "$e" -gt $((now + f_mxttl)) ] ||
			errs+="knotd DO: RRSIG(MX) $tag valid $(hms "$i")..$(hms "$e") (now $(hms "$now"))"$'\n'
		if [ -n "$life" ]; then
			[ $((e - i)) = $((life + 5400)) ] && [ "$e" -le $((now + life + 2)) ] ||
				errs+="knotd DO: RRSIG(MX) $tag valid $(hms "$i")..$(hms "$e") (now $(hms "$now")), want rrsig-lifetime $life s + 90 min, expiring <= now + $life s"$'\n'
		fi
		: "$alg"
	done
	if [ -n "$errs" ]; then
		printf '%s' "$errs"
		echo "knotd answer (kdig +dnssec):"
		answer "$out"
	fi
}

# direct_nodo ZONE NAME TAG [KDIG_OPTION]: without DO: the trap, no RRSIG.
direct_nodo() {
	local zone=$1 name=$2 out=$tmp/n-$3.out errs=''
	q "$out" "${zport[$zone]}" "$name" MX +nodnssec "${@:4}"
	parse "$out"
	[ "$f_rcode" = NOERROR ] || errs+="knotd: status $f_rcode"$'\n'
	errs+=$(mx_check "knotd no DO" "$zone" yes)
	[ -z "$errs" ] || errs=${errs%$'\n'}$'\n'
	[ "${#f_rrsig[@]}" = 0 ] || errs+="knotd no DO: ${#f_rrsig[@]} RRSIG in ANSWER"$'\n'
	if [ -n "$errs" ]; then
		printf '%s' "$errs"
		answer "$out"
	fi
}

# trapped_do ZONE: the apex DO answer straight from knotd has the trap.
trapped_do() {
	q "$tmp/t.out" "${zport[$1]}" "$1" MX +dnssec
	has_trap "$tmp/t.out"
}

# run_names CASE ZONE TRAP SIGNERS [nodo]: the four names of ZONE through
# unbound (AD, trap per TRAP) and straight to knotd with DO (trap per TRAP,
# one RRSIG(MX) per key of SIGNERS) and, with nodo, without DO.
run_names() {
	local c=$1 zone=$2 trap=$3 signers=$4 nodo=${5:-} name tag errs what
	case $trap in yes) what="AD + trap";; no) what="AD, no trap";; any) what="AD";; esac
	for name in $(names_of "$zone"); do
		tag=$c-$(label "$name")-${zone%%.*}
		errs=$(via_unbound "$zone" "$name" "$trap" "$tag")
		check "case $c: $name MX through unbound: $what" "$errs"
		errs=$(direct_do "$zone" "$name" "$trap" "$signers" "$tag")
		check "case $c: $name MX with DO straight to knotd: $( [ "$trap" = yes ] && echo 'trap, ')one RRSIG per key [$signers]" "$errs"
		if [ "$nodo" = nodo ]; then
			errs=$(direct_nodo "$zone" "$name" "$tag" +noedns)
			check "case $c: $name MX without DO (no EDNS): trap, no RRSIG" "$errs"
			errs=$(direct_nodo "$zone" "$name" "$tag-edns" +edns +bufsize=1232)
			check "case $c: $name MX with EDNS, DO clear: trap, no RRSIG" "$errs"
		fi
	done
}

# signers_check CASE ZONE: RRSIG(SOA) keys = ZSKs (or CSK) of the DNSKEY set;
# the signer tags in $signers.
signers_check() {
	local c=$1 zone=$2 from_dnskey errs=
	signers=$(zone_signers "$zone")
	from_dnskey=$(dnskey_signers "$zone")
	[ -n "$signers" ] && [ "$signers" = "$from_dnskey" ] ||
		errs="RRSIG(SOA) keys [$signers], DNSKEY ZSKs/CSK [$from_dnskey]"
	check "case $c: $zone signing keys [$signers] = ZSKs (or CSK) in its DNSKEY set" "$errs"
}

# key_id ZONE TAG: the KASP DB's key ID (40 hex digits) of the zone's key TAG.
key_id() {
	kenv timeout 30 keymgr -c "${zconf[$1]}" "$1" list 2>/dev/null |
		awk -v t="$2" 'length($1) == 40 && $1 ~ /^[0-9a-f]+$/ {
			for (i = 2; i <= NF; i++) if ($i == t || $i == sprintf("tag=%05d", t)) { print $1; exit } }'
}

# --- servers -----------------------------------------------------------------

# zones_ready ZONE...: every zone answers its SOA and a DNSKEY set.
zones_ready() {
	local z
	for z in "$@"; do
		q "$tmp/ready.out" "${zport[$z]}" "$z" DNSKEY +dnssec
		parse "$tmp/ready.out"
		[ "$f_rcode" = NOERROR ] && [ "$f_dnskey" -gt 0 ] || return 1
	done
}

# start_knotd DIR LOG ZONE... -> pid in $started_pid; fails if not ready.
start_knotd() {
	local dir=$1 log=$2
	shift 2
	spawn "$log" knotd -c "$dir/knot.conf"
	started_pid=$spawned_pid
	local deadline=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$deadline" ]; do
		kill -0 "$started_pid" 2>/dev/null || return 1
		zones_ready "$@" && return 0
		sleep 0.1
	done
	return 1
}

port_a=$(free_port) || bail "no free port"
port_b=$(free_port) || bail "no free port"
port_c=$(free_port) || bail "no free port"
port_u=$(free_port) || bail "no free port"
port_uc=$(free_port) || bail "no free port"
for z in $ZONES_A; do zport[$z]=$port_a; done
for z in $ZONES_B; do zport[$z]=$port_b; done
for z in $ZONES_C; do zport[$z]=$port_c; done

write_conf_a >"$tmp/a/knot.conf"
write_conf_b >"$tmp/b/knot.conf"
write_conf_c ecdsap256sha256 >"$tmp/c/knot.conf"
for s in a b c; do
	out=$(kenv timeout 30 knotc -c "$tmp/$s/knot.conf" conf-check 2>&1) || bail "knotd ${s^^} configuration: $out"
done

# Zone two.: a KSK and two ZSKs, all active, in the key store before the start.
for roles in "ksk=yes zsk=no" "ksk=no zsk=yes" "ksk=no zsk=yes"; do
	# shellcheck disable=SC2086
	kenv timeout 30 keymgr -c "$tmp/a/knot.conf" "$TWO" generate algorithm=ecdsap256sha256 $roles \
		publish=+0 ready=+0 active=+0 >/dev/null || bail "keymgr generate failed"
done
# Every other zone starts with an empty key store: knotd makes its keys after
# the module has loaded (checked: no other key file yet).
pems=$(find "$tmp" -name '*.pem' | wc -l)
[ "$pems" = 3 ] || bail "expected only two.'s 3 key files before the start, found $pems"

# shellcheck disable=SC2086
start_knotd "$tmp/a" "$tmp/a/knotd.log" $ZONES_A || {
	tail -n 30 "$tmp/a/knotd.log" | sed 's/^/# knotd A: /'
	bail "knotd A did not start or sign its zones on port $port_a"
}
knotd_a_pid=$started_pid
note "knotd A pid $knotd_a_pid on 127.0.0.1@$port_a"
# shellcheck disable=SC2086
start_knotd "$tmp/c" "$tmp/c/knotd.log" $ZONES_C || {
	tail -n 30 "$tmp/c/knotd.log" | sed 's/^/# knotd C: /'
	bail "knotd C did not start or sign its zones on port $port_c"
}
knotd_c_pid=$started_pid
note "knotd C pid $knotd_c_pid on 127.0.0.1@$port_c"

knotd_b_pid=
if [ -f "$keepsig" ]; then
	# shellcheck disable=SC2086
	if start_knotd "$tmp/b" "$tmp/b/knotd.log" $ZONES_B; then
		knotd_b_pid=$started_pid
		note "knotd B (keepsig) pid $knotd_b_pid on 127.0.0.1@$port_b"
	else
		tail -n 30 "$tmp/b/knotd.log" | sed 's/^/# knotd B: /'
		stop_pid "$started_pid"
		note "knotd B did not start"
	fi
else
	note "$keepsig missing: negative control cannot run"
fi

# --- unbound ---------------------------------------------------------------

unbound_zones="$ZONES_A $ZONES_C"
[ -n "$knotd_b_pid" ] && unbound_zones+=" $ZONES_B"

# anchor_lines ZONE: unbound trust-anchor lines for the zone's KSKs/CSKs
# (flags 257) as its knotd serves them now.
anchor_lines() {
	q "$tmp/anchor.out" "${zport[$1]}" "$1" DNSKEY +dnssec
	section "$tmp/anchor.out" ANSWER | awk -v z="$1" '$4 == "DNSKEY" && $5 == 257 {
		printf "    trust-anchor: \"%s DNSKEY", z
		for (i = 5; i <= NF; i++) printf " %s", $i
		printf "\"\n" }'
}
# write_unbound_conf: the configuration, trust anchors from $tmp/anchors.
write_unbound_conf() {
	{
		cat <<-EOF
		server:
		    interface: 127.0.0.1
		    port: $port_u
		    do-ip6: no
		    do-not-query-localhost: no
		    chroot: ""
		    username: ""
		    directory: "$tmp/u"
		    pidfile: "$tmp/u/unbound.pid"
		    logfile: "$tmp/unbound.log"
		    use-syslog: no
		    log-time-ascii: yes
		    num-threads: 1
		    module-config: "validator iterator"
		    val-log-level: 2
		    verbosity: 1
		    log-servfail: yes
		    aggressive-nsec: no
		    prefetch: no
		    serve-expired: no
		    harden-algo-downgrade: no
		    local-zone: "test." nodefault
		EOF
		cat "$tmp/anchors"
		cat <<-EOF

		remote-control:
		    control-enable: yes
		    control-interface: 127.0.0.1
		    control-port: $port_uc
		    control-use-cert: no

		EOF
		for z in $unbound_zones; do
			printf 'stub-zone:\n    name: "%s"\n    stub-addr: 127.0.0.1@%s\n' "$z" "${zport[$z]}"
		done
	} >"$tmp/unbound.conf"
}

: >"$tmp/anchors"
for z in $unbound_zones; do
	lines=$(anchor_lines "$z")
	[ -n "$lines" ] || bail "no KSK/CSK DNSKEY for $z"
	printf '%s\n' "$lines" >>"$tmp/anchors"
done
write_unbound_conf
out=$(unbound-checkconf "$tmp/unbound.conf" 2>&1) || bail "unbound configuration: $out"

# unbound is no Knot program (no preload): started here, stopped by
# test_cleanup like the others.
unbound -d -c "$tmp/unbound.conf" >"$tmp/unbound.out" 2>&1 &
unbound_pid=$!
spawned+=("$unbound_pid")
# unbound_ready [ZONE]: unbound runs and validates ZONE's SOA (AD).
unbound_ready() {
	kill -0 "$unbound_pid" 2>/dev/null || return 1
	q "$tmp/uready.out" "$port_u" "${1:-$EN}" SOA +dnssec
	parse "$tmp/uready.out"
	[ "$f_rcode" = NOERROR ] && f_ad
}
if ! wait_for "unbound" 30 unbound_ready; then
	indent "$tmp/unbound.out"
	tail -n 20 "$tmp/unbound.log" 2>/dev/null | sed 's/^/# unbound.log: /'
	indent "$tmp/uready.out"
	bail "unbound did not validate $EN SOA on port $port_u"
fi
note "unbound pid $unbound_pid on 127.0.0.1@$port_u (control $port_uc)"

# The trust anchors work for every zone: SOA through unbound has AD.
for z in $unbound_zones; do
	uflush "$z"
	q "$tmp/soa-u.out" "$port_u" "$z" SOA +dnssec
	parse "$tmp/soa-u.out"
	errs=
	[ "$f_rcode" = NOERROR ] && f_ad || errs="status $f_rcode, flags $f_flags"$'\n'"$(unbound_evidence "$z")"
	check "setup: $z SOA validates through unbound (AD)" "$errs"
done

# anchor_ksks ZONE: every KSK/CSK the zone publishes is a trust anchor of
# unbound (new ones added, unbound reloaded). Errors on stdout.
anchor_ksks() {
	local z=$1 line added=0 out
	while read -r line; do
		[ -n "$line" ] || continue
		grep -qxF -- "$line" "$tmp/anchors" && continue
		printf '%s\n' "$line" >>"$tmp/anchors"
		added=1
	done <<<"$(anchor_lines "$z")"
	[ "$added" = 1 ] || return 0
	write_unbound_conf
	out=$(timeout 20 unbound-control -c "$tmp/unbound.conf" reload 2>&1) || echo "unbound-control reload: $out"
	wait_for "unbound after reload" 20 unbound_ready "$z" || echo "unbound does not validate $z SOA after the reload"
}

# --- the long-running zone, sampled from case 8 on (case 4) ----------------------

LIFE_MARGIN=$((LIFE_REFRESH + LIFE_TTL))
life_t0='' life_t1='' life_polls=0 life_answers=0 life_trapped=0 life_straddles=0
life_rolls=0 life_signers='' life_nerrs=0 life_errs='' life_miss='' life_unbound=0 life_unbound_trap=0
declare -A life_last_inc=() life_incs=()
# life_err MSG: keeps the first 10 errors of case 4 (all are counted).
life_err() {
	life_nerrs=$((life_nerrs + 1))
	[ "$life_nerrs" -gt 10 ] || life_errs+="$(stamp) $1"$'\n'
}
# life_poll: eight MX RRsets (apex, wildcard, mail, fresh1-5: each its own
# cached signature) with DO straight to knotd A, between two RRSIG(SOA)
# queries (a poll that straddles a change of the zone's ZSK is repeated),
# then the apex through unbound.
life_poll() {
	local s1='' s2 now kind out r e i tag
	for _ in 1 2 3; do
		s1=$(zone_signers "$LIFE")
		now=$EPOCHSECONDS
		q "$tmp/life-apex.out" "$port_a" "$LIFE" MX +dnssec
		q "$tmp/life-wild.out" "$port_a" "x.wild.$LIFE" MX +dnssec
		for kind in mail fresh1 fresh2 fresh3 fresh4 fresh5; do
			q "$tmp/life-$kind.out" "$port_a" "$kind.$LIFE" MX +dnssec
		done
		s2=$(zone_signers "$LIFE")
		[ -n "$s1" ] && [ "$s1" = "$s2" ] && break
		life_straddles=$((life_straddles + 1))
		s1=''
	done
	if [ -z "$s1" ]; then
		life_err "three polls in a row straddled a change of the signing key (or failed)"
		return 0
	fi
	[ -n "$life_t0" ] || life_t0=$now
	life_t1=$now
	if [ -n "$life_signers" ] && [ "$s1" != "$life_signers" ]; then
		life_rolls=$((life_rolls + 1))
		note "case 4: $LIFE signing key $life_signers -> $s1 (+$((now - life_t0)) s)"
	fi
	life_signers=$s1
	life_polls=$((life_polls + 1))
	for kind in apex wild mail fresh1 fresh2 fresh3 fresh4 fresh5; do
		out=$tmp/life-$kind.out
		parse "$out"
		life_answers=$((life_answers + 1))
		if [ "$f_trap" != yes ]; then
			[ "$(printf '%s' "$life_miss" | grep -c .)" -ge 5 ] ||
				life_miss+="$(stamp) $kind: DO answer without the trap, RRSIG(MX) [${f_tags[MX]:-}], ZSK [$s1]"$'\n'
			continue
		fi
		life_trapped=$((life_trapped + 1))
		[ "${f_tags[MX]:-}" = "$s1" ] || life_err "$kind: trapped answer's RRSIG(MX) keys [${f_tags[MX]:-}], zone's current ZSK [$s1]"
		for r in "${f_rrsig[@]}"; do
			read -r type _ _ _ _ e i tag _ <<<"$r"
			[ "$type" = MX ] || continue
			[ $((e - now)) -ge $((LIFE_MARGIN - 1)) ] ||
				life_err "$kind: RRSIG(MX) $tag expires in $((e - now)) s (< rrsig-refresh $LIFE_REFRESH + TTL $LIFE_TTL)"
			[ $((e - now)) -le $((LIFE_LIFETIME + 1)) ] ||
				life_err "$kind: RRSIG(MX) $tag expires in $((e - now)) s (> rrsig-lifetime $LIFE_LIFETIME)"
			if [ -n "${life_last_inc[$kind]:-}" ] && [ "$i" -lt "${life_last_inc[$kind]}" ]; then
				life_err "$kind: RRSIG(MX) inception went back: $(hms "$i") after $(hms "${life_last_inc[$kind]}")"
			fi
			life_last_inc[$kind]=$i
			life_incs[$i]=1
		done
	done
	e=$(via_unbound "$LIFE" "$LIFE" any life)
	life_unbound=$((life_unbound + 1))
	[ -z "$e" ] || life_err "through unbound: $e"
	[ "$f_trap" != yes ] || life_unbound_trap=$((life_unbound_trap + 1))
	return 0
}
life_done() {
	[ -n "$life_t0" ] && [ $((life_t1 - life_t0)) -ge $((3 * LIFE_LIFETIME)) ] && [ "$life_rolls" -ge 2 ]
}

# --- case 5: first start with an empty key store -----------------------------

note "case 5: first start: keys made by knotd after the module loaded; first DO MX answer of each zone"
for z in $EN $DN3 $EC3 $ROLL $KROLL $LIFE $ALT $ABS $ALG $CALT; do
	signers=$(zone_signers "$z")
	errs=$(direct_do "$z" "$z" yes "$signers" "5-${z%%.*}")
	check "case 5: $z: the first DO MX answer straight to knotd has the trap and one RRSIG(MX) per key [$signers]" "$errs"
	errs=$(via_unbound "$z" "$z" yes "5-${z%%.*}")
	check "case 5: $z MX through unbound: AD + trap" "$errs"
done

# --- case 1 -------------------------------------------------------------------

for z in $EN $DN3 $EC3 $TWO $ROLL $KROLL; do
	signers_check 1 "$z"
	run_names 1 "$z" yes "$signers" nodo
done
two_keys=$(zone_signers "$TWO" | wc -w)
check "case 1: $TWO is signed by two ZSKs ($two_keys)" "$([ "$two_keys" = 2 ] || echo "keys: $(zone_signers "$TWO")")"

# Counters: repeated DO queries for one name are signed from the cache.
REPEAT=20
for z in $EN $DN3 $EC3 $TWO; do
	c0=$(dcounter "$z" 'signatures[cache]')
	f0=$(dcounter "$z" 'signatures[fresh]')
	t0=$(dcounter "$z" trapped)
	miss=0
	for _ in $(seq "$REPEAT"); do
		q "$tmp/rep.out" "$port_a" "mail.$z" MX +dnssec
		has_trap "$tmp/rep.out" || miss=$((miss + 1))
	done
	c1=$(dcounter "$z" 'signatures[cache]')
	f1=$(dcounter "$z" 'signatures[fresh]')
	t1=$(dcounter "$z" trapped)
	errs=
	[ "$miss" = 0 ] || errs+="$miss of $REPEAT answers without the trap"$'\n'
	[ $((t1 - t0)) = "$REPEAT" ] || errs+="trapped +$((t1 - t0)), want +$REPEAT"$'\n'
	[ $((c1 - c0)) -ge $((REPEAT - 1)) ] || errs+="signatures[cache] +$((c1 - c0)), want >= $((REPEAT - 1))"$'\n'
	[ $((f1 - f0)) -le 1 ] || errs+="signatures[fresh] +$((f1 - f0)), want <= 1"$'\n'
	[ -z "$errs" ] || errs+="counters: $(dstats "$z")"
	check "case 1: $z $REPEAT DO queries for mail: signatures[cache] +$((c1 - c0)), signatures[fresh] +$((f1 - f0)), trapped +$((t1 - t0))" "$errs"
	note "case 1: $z counters: $(dstats "$z")"
done

# The unchanged[] indexes: the signing reasons where the module signs, none
# of the old ones anywhere.
SIGNING_REASONS="key-missing key-unreadable keystore-unsupported algorithm-unsupported sign-failed"
for z in $EN $OS; do
	idx=$(kenv timeout 20 knotc -f -c "${zconf[$z]}" zone-stats "$z" mod-mxtrap 2>&1 |
		sed -n 's/.*mod-mxtrap\.unchanged\[\([^]]*\)\].*/\1/p' | tr '\n' ' ')
	errs=
	for r in $SIGNING_REASONS; do
		case " $idx " in
		*" $r "*) [ "$z" = "$EN" ] || errs+="index $r where the module does not sign"$'\n';;
		*) [ "$z" != "$EN" ] || errs+="no index $r"$'\n';;
		esac
	done
	for r in no-keys key-mismatch expiring; do
		case " $idx " in *" $r "*) errs+="old index $r"$'\n';; esac
	done
	[ -z "$errs" ] || errs+="indexes: $idx"
	check "case 1: $z unchanged[] indexes ($([ "$z" = "$EN" ] && echo "module signs" || echo "module does not sign")): $idx" "$errs"
done

# --- case 2: negative control -------------------------------------------------

if [ -z "$knotd_b_pid" ]; then
	not_ok "case 2: negative control (knotd B with $keepsig) did not run"
else
	for z in $ZONES_B; do
		signers=$(zone_signers "$z")
		for name in $(names_of "$z"); do
			tag=2-$(label "$name")-${z%%.*}
			errs=$(direct_do "$z" "$name" yes "$signers" "$tag")
			# The RRSIG over the merged set is the zone's: one per key, as it must
			# look for the test to be meaningful.
			check "case 2: $name MX with DO from knotd B: trap under the zone's RRSIG [$signers]" "$errs"
			uflush "$z"
			out=$tmp/u-$tag.out
			q "$out" "$port_u" "$name" MX +dnssec
			parse "$out"
			errs=
			[ "$f_rcode" = SERVFAIL ] || errs="status ${f_rcode:-none} (flags $f_flags), want SERVFAIL"$'\n'"$(answer "$out")"
			check "case 2: $name MX through unbound: SERVFAIL (bogus)" "$errs"
			reason=$(grep -F "validation failure <$name MX IN>" "$tmp/unbound.log" | tail -n 1 || true)
			note "case 2: unbound: ${reason:-no validation failure line for $name}"
			check "case 2: unbound logged a validation failure for $name MX" \
				"$([ -n "$reason" ] || unbound_evidence "$name")"
		done
	done
fi

# --- case 6: mod-onlinesign -----------------------------------------------------

os_key=$(dnskey_signers "$OS")
run_names 6 "$OS" yes "$os_key" nodo
note "case 6: $OS counters: $(dstats "$OS")"

note "case 6 (reported, not asserted): $OSREV, module: [ mod-onlinesign, mod-mxtrap ]"
for name in $(names_of "$OSREV"); do
	uflush "$OSREV"
	q "$tmp/rev-u.out" "$port_u" "$name" MX +dnssec
	q "$tmp/rev-d.out" "$port_a" "$name" MX +dnssec
	q "$tmp/rev-n.out" "$port_a" "$name" MX +nodnssec
	parse "$tmp/rev-u.out"
	line="  $name: unbound $f_rcode flags [$f_flags] MX [$f_mx];"
	parse "$tmp/rev-d.out"
	line+="  knotd DO MX [$f_mx] RRSIG(MX) [${f_tags[MX]:-}];"
	parse "$tmp/rev-n.out"
	note "$line  knotd no DO MX [$f_mx] RRSIG ${#f_rrsig[@]}"
done
note "  $OSREV counters: $(dstats "$OSREV")"

# --- case 7: key store locations ----------------------------------------------------

# zone_dir ZONE: where knotd keeps the zone's key files (policy keystore
# config, relative to the KASP DB directory, itself relative to the storage).
declare -A zkeydir=(
	[$ALT]=$tmp/a/keys/alt-keys [$ABS]=$tmp/abs-keys
	[$ALG]=$tmp/c/kasp-c/keys [$CALT]=$tmp/c/kasp-c/c-keys
)
for z in $ALT $ABS $ALG $CALT; do
	signers=$(zone_signers "$z")
	errs=
	for t in $signers; do
		id=$(key_id "$z" "$t")
		found=$(find "$tmp" -name "${id:-none}.pem" | tr '\n' ' ')
		[ -n "$id" ] && [ "$found" = "${zkeydir[$z]}/$id.pem " ] ||
			errs+="key $t (ID ${id:-not found by keymgr}): files [$found], want ${zkeydir[$z]}/$id.pem only"$'\n'
	done
	check "case 7: $z signing key files [$signers] in ${zkeydir[$z]#"$tmp/"} only" "$errs"
	run_names 7 "$z" yes "$signers"
done

# --- case 8: keys the module cannot use -----------------------------------------------

# zsk_pem ZONE: the key file of the zone's (single) signing key in knotd A's
# default key store.
zsk_pem() {
	local s id
	s=$(zone_signers "$1")
	id=$(key_id "$1" "$s")
	[ -n "$id" ] && [ "${s// /}" = "$s" ] || return 1
	echo "$tmp/a/keys/keys/$id.pem"
}
declare -A neg_reason=([$KMISS]=key-missing [$KBAD]=key-unreadable [$KSWAP]=key-unreadable [$P11]=keystore-unsupported)
NEG_ZONES="$KMISS $KBAD $KSWAP $P11"
# Before the zones' first DO MX query: the ZSK's key file moved away
# (kmiss), garbage (kbad), another zone's key (kswap: en's ZSK).
kmiss_pem=$(zsk_pem "$KMISS") || bail "no ZSK key file of $KMISS"
kbad_pem=$(zsk_pem "$KBAD") || bail "no ZSK key file of $KBAD"
kswap_pem=$(zsk_pem "$KSWAP") || bail "no ZSK key file of $KSWAP"
en_pem=$(zsk_pem "$EN") || bail "no ZSK key file of $EN"
for f in "$kmiss_pem" "$kbad_pem" "$kswap_pem" "$en_pem"; do
	[ -f "$f" ] || bail "no key file $f"
done
mv "$kmiss_pem" "$tmp/moved/"
cp -p "$kbad_pem" "$tmp/moved/kbad.pem"
cp -p "$kswap_pem" "$tmp/moved/kswap.pem"
printf 'not a key\n' >"$kbad_pem"
cat "$en_pem" >"$kswap_pem"
note "case 8: moved ${kmiss_pem#"$tmp/"} away, garbage in ${kbad_pem#"$tmp/"}, $EN's ZSK in ${kswap_pem#"$tmp/"}"

declare -A neg_signers=() neg_u0=() neg_n=() neg_errs=()
for z in $NEG_ZONES; do
	neg_signers[$z]=$(zone_signers "$z")
	neg_u0[$z]=$(dcounter "$z" "unchanged[${neg_reason[$z]}]")
	neg_n[$z]=0
	[ "$(mod_log "$z" | wc -l)" = 0 ] || note "case 8: $z: module log lines before its first DO query: $(mod_log "$z")"
done
# > 10 s: a failed key is looked up again meanwhile, still one log line.
neg_end=$((SECONDS + 12))
while [ "$SECONDS" -lt "$neg_end" ]; do
	for z in $NEG_ZONES; do
		for name in "$z" "mail.$z"; do
			e=$(direct_do "$z" "$name" no "${neg_signers[$z]}" "8-${z%%.*}")
			neg_n[$z]=$((neg_n[$z] + 1))
			[ -z "$e" ] || neg_errs[$z]+="$name: $e"$'\n'
		done
	done
	life_poll
done
for z in $NEG_ZONES; do
	r=${neg_reason[$z]}
	check "case 8: $z (${r}): ${neg_n[$z]} DO answers over 12 s straight to knotd: no trap, the zone's own RRSIG(MX) [${neg_signers[$z]}]" \
		"$(printf '%s' "${neg_errs[$z]:-}" | head -n 20)"
	for name in $(names_of "$z"); do
		errs=$(via_unbound "$z" "$name" no "8-$(label "$name")-${z%%.*}")
		check "case 8: $name MX through unbound: AD, no trap" "$errs"
	done
	u1=$(dcounter "$z" "unchanged[$r]")
	check "case 8: $z unchanged[$r] +$((u1 - neg_u0[$z])) (>= ${neg_n[$z]} DO answers)" \
		"$([ $((u1 - neg_u0[$z])) -ge "${neg_n[$z]}" ] || echo "counters: $(dstats "$z")")"
	lines=$(mod_log "$z")
	check "case 8: $z: exactly one mod-mxtrap log line" \
		"$([ -n "$lines" ] && [ "$(printf '%s\n' "$lines" | wc -l)" = 1 ] || printf 'log lines:\n%s' "${lines:-none}")"
	note "case 8: $z log: ${lines:-none}"
done

# kmiss: the key file back, the trap within 30 s (a failed key is looked up
# again after 10 s), no reload.
mv "$tmp/moved/$(basename "$kmiss_pem")" "$kmiss_pem"
t_back=$SECONDS
back=0
wait_for "$KMISS trap after the key file is back" 30 trapped_do "$KMISS" && back=1
check "case 8: $KMISS: the trap is back $((SECONDS - t_back)) s after the key file (deadline 30 s), no reload" \
	"$([ "$back" = 1 ] || answer "$tmp/t.out")"
run_names 8 "$KMISS" yes "$(zone_signers "$KMISS")"
note "case 8: $KMISS log after the key file is back: $(mod_log "$KMISS" | tail -n +2 | tr '\n' ' ')"
# kbad, kswap: their files back for case 9 (knotd signs them again at start).
cp -p "$tmp/moved/kbad.pem" "$kbad_pem"
cp -p "$tmp/moved/kswap.pem" "$kswap_pem"

# --- case 3: rollovers --------------------------------------------------------------

ROLLING="$ROLL $KROLL $EC3 $ALG"
declare -A rkind=([$ROLL]=ZSK [$KROLL]=KSK [$EC3]=CSK [$ALG]=algorithm)
declare -A rcmd=([$ROLL]=zsk [$KROLL]=ksk [$EC3]=ksk)
# The steps each rollover must show (' = a key that was not there before the
# rollover; unpublished = an RRSIG(SOA) key without DNSKEY). The algorithm
# rollover signs with both algorithms from before the new DNSKEYs are
# published until after the old ones are withdrawn: all three such steps.
declare -A rsteps=(
	[$ROLL]="DNSKEY[KSK ZSK ZSK'] RRSIG[ZSK]|DNSKEY[KSK ZSK ZSK'] RRSIG[ZSK']|DNSKEY[KSK ZSK'] RRSIG[ZSK']"
	[$KROLL]="DNSKEY[KSK KSK' ZSK] RRSIG[ZSK]|DNSKEY[KSK' ZSK] RRSIG[ZSK]"
	[$EC3]="DNSKEY[CSK CSK'] RRSIG[CSK]|DNSKEY[CSK CSK'] RRSIG[CSK']|DNSKEY[CSK'] RRSIG[CSK']"
	[$ALG]="DNSKEY[KSK ZSK] RRSIG[ZSK unpublished']|DNSKEY[KSK KSK' ZSK ZSK'] RRSIG[ZSK ZSK']|DNSKEY[KSK' ZSK'] RRSIG[ZSK' unpublished]|DNSKEY[KSK' ZSK'] RRSIG[ZSK']"
)
declare -A old_tags=() submitted=() rolled=() step_polls=() step_traps=() step_errs=() steps=()
declare -A r_u0=() straddles=()

# published SIGNERS KEYS: the tags of SIGNERS that KEYS (zone_state's
# st_keys) has. The module signs with these (a signature by a key not in the
# DNSKEY set, as an algorithm rollover makes, is one no validator checks); a
# cached set made while all of them were published may still carry them all.
published() {
	local tag
	for tag in $1; do
		printf '%s\n' "$2" | awk -v t="$tag" '$3 == t { print t; exit }'
	done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# step_of ZONE KEYS SIGNERS: the rollover step as the zone shows it.
step_of() {
	local z=$1 keys=$2 sig=$3 role alg tag d=() s=() mark
	local -A roles=()
	while read -r role alg tag; do
		[ -n "$tag" ] || continue
		[ "${rkind[$z]}" = CSK ] && role=CSK
		roles[$tag]=$role
		mark=; case ${old_tags[$z]} in *" $tag "*) ;; *) mark="'";; esac
		d+=("$role$mark")
	done <<<"$keys"
	for tag in $sig; do
		mark=; case ${old_tags[$z]} in *" $tag "*) ;; *) mark="'";; esac
		s+=("${roles[$tag]:-unpublished}$mark")
	done
	: "$alg"
	echo "DNSKEY[$(printf '%s\n' "${d[@]}" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')]" \
		"RRSIG[$(printf '%s\n' "${s[@]}" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')]"
}
# ksk_parent ZONE: the parent's part of a KSK rollover, from the last
# zone_state: CDS for a KSK not confirmed yet -> its KSKs become trust
# anchors of unbound, then knotc zone-ksk-submitted. Errors in parent_errs.
ksk_parent() {
	local z=$1 out
	parent_errs=
	[ -n "$st_cds" ] && [ "$st_cds" != "${submitted[$z]:-}" ] || return 0
	parent_errs=$(anchor_ksks "$z")
	out=$(knotc_of "$z" zone-ksk-submitted "$z" 2>&1) ||
		parent_errs+="${parent_errs:+$'\n'}knotc zone-ksk-submitted $z: $out"
	submitted[$z]=$st_cds
	note "case 3: $z publishes CDS for key $st_cds: trust anchors updated, KSK submission confirmed (+$((SECONDS - ${roll_t0:-$SECONDS})) s)"
}
cds_gone() { zone_state "$1"; [ -n "$st_sig" ] && [ -z "$st_cds" ]; }

# roll_poll ZONE: one poll (the state, every name and a fresh one through
# unbound and straight to knotd, the state again; a poll that straddles a
# change is not counted), recorded per step.
declare -A fresh_n=()
roll_poll() {
	local z=$1 sig keys cds name tag e errs='' traps=0 step key fresh
	fresh_n[$z]=$((${fresh_n[$z]:-0} + 1))
	fresh=fresh$(((fresh_n[$z] - 1) % FRESH_NAMES + 1)).$z
	zone_state "$z"
	sig=$st_sig keys=$st_keys cds=$st_cds
	[ -n "$sig" ] || return 0
	uflush "$z"
	no_flush=1
	for name in $(names_of "$z") "$fresh"; do
		tag=3-$(label "$name")-${z%%.*}
		e=$(via_unbound "$z" "$name" yes "$tag")
		[ -z "$e" ] || errs+="$(stamp) $name: $e"$'\n'
		e=$(direct_do "$z" "$name" yes "$(published "$sig" "$keys")|$sig" "$tag")
		[ -z "$e" ] || errs+="$(stamp) $name: $e"$'\n'
		has_trap "$tmp/d-$tag.out" && traps=$((traps + 1))
	done
	no_flush=0
	zone_state "$z" nocds
	if [ "$st_sig" != "$sig" ] || [ "$st_keys" != "$keys" ]; then
		straddles[$z]=$((${straddles[$z]:-0} + 1))
		return 0
	fi
	step=$(step_of "$z" "$keys" "$sig")
	key="$z|$step"
	if [ -z "${step_polls[$key]:-}" ]; then
		steps[$z]+="$step|"
		note "case 3: $z step $step (+$((SECONDS - roll_t0)) s)"
	fi
	step_polls[$key]=$((${step_polls[$key]:-0} + 1))
	step_traps[$key]=$((${step_traps[$key]:-0} + traps))
	[ -z "$errs" ] || step_errs[$key]+="$errs"
	# Finished: the last characteristic step, polled twice.
	[ "$step" != "${rsteps[$z]##*|}" ] || rolled[$z]=$((${rolled[$z]:-0} + 1))
	st_cds=$cds
	ksk_parent "$z"
	[ -z "$parent_errs" ] || step_errs[$key]+="$parent_errs"$'\n'
}

# Confirm the zones' first KSK (ready since the start), as a parent would.
for z in $ROLLING; do
	zone_state "$z"
	[ -n "$st_sig" ] || bail "no state of $z"
	ksk_parent "$z"
	[ -z "$parent_errs" ] || not_ok "case 3: $z first KSK submission: $parent_errs"
	wait_for "$z CDS gone" 20 cds_gone "$z" || true
	old_tags[$z]=" $(printf '%s\n' "$st_keys" | awk '{ print $3 }' | tr '\n' ' ')"
	r_u0[$z]=$(unchanged_sum "$z")
done

roll_t0=$SECONDS
errs=
for z in $ROLL $KROLL $EC3; do
	out=$(knotc_of "$z" zone-key-rollover "$z" "${rcmd[$z]}" 2>&1) ||
		errs+="knotc zone-key-rollover $z: $out"$'\n'
done
write_conf_c ed25519 >"$tmp/c/knot.conf"
out=$(knotc_of "$ALG" reload 2>&1) || errs+="knotc reload (knotd C): $out"$'\n'
# knotd 3.2 makes the modules anew on reload: their counters start at 0.
r_u0[$ALG]=$(unchanged_sum "$ALG")
check "case 3: rollovers started: knotc zone-key-rollover $ROLL zsk, $KROLL ksk, $EC3 ksk (CSK); $ALG policy ECDSAP256SHA256 -> ED25519 + knotc reload of knotd C" "$errs"

perf_pid=
if command -v dnsperf >/dev/null; then
	for name in "$ROLL" "mail.$ROLL" "alias.$ROLL" "x.wild.$ROLL"; do echo "$name MX"; done >"$tmp/perf.txt"
	r_t0=$(dcounter "$ROLL" trapped)
	timeout $((LOAD_SECONDS + 30)) dnsperf -s 127.0.0.1 -p "$port_a" -d "$tmp/perf.txt" -D \
		-l "$LOAD_SECONDS" -Q "$LOAD_QPS" -c 4 -t 2 >"$tmp/dnsperf.out" 2>&1 &
	perf_pid=$!
	spawned+=("$perf_pid")
	note "case 3: dnsperf -D on $ROLL MX names, $LOAD_QPS q/s for $LOAD_SECONDS s"
fi

roll_deadline=$((SECONDS + 150))
while [ "$SECONDS" -lt "$roll_deadline" ]; do
	active=0
	for z in $ROLLING; do
		[ "${rolled[$z]:-0}" -lt 2 ] || continue
		active=1
		roll_poll "$z"
	done
	[ "$active" = 1 ] || break
	life_poll
done
note "case 3: polls ended after $((SECONDS - roll_t0)) s"

for z in $ROLLING; do
	k=${rkind[$z]}
	IFS='|' read -r -a want <<<"${rsteps[$z]}"
	for step in "${want[@]}"; do
		[ -n "${step_polls[$z|$step]:-}" ] || not_ok "case 3: $z $k rollover: step $step seen (steps seen: ${steps[$z]:-none})"
	done
	IFS='|' read -r -a seen <<<"${steps[$z]:-}"
	for step in "${seen[@]}"; do
		[ -n "$step" ] || continue
		key="$z|$step"
		check "case 3: $z $k rollover, step $step: ${step_polls[$key]} polls x 5 names (one never asked before): AD + trap through unbound; straight to knotd trapped (${step_traps[$key]}) with one RRSIG(MX) per RRSIG(SOA) key (unpublished ones optional)" \
			"$(printf '%s' "${step_errs[$key]:-}" | head -n 40)"
	done
	check "case 3: $z $k rollover finished (final step polled ${rolled[$z]:-0} times of 2)" \
		"$([ "${rolled[$z]:-0}" -ge 2 ] || echo "steps seen: ${steps[$z]:-none}")"
	u=$(unchanged_sum "$z")
	check "case 3: $z: no DO MX answer left unchanged during the rollover (unchanged[] +$((u - r_u0[$z])))" \
		"$([ "$u" = "${r_u0[$z]}" ] || echo "counters: $(dstats "$z")")"
	note "case 3: $z: ${straddles[$z]:-0} polls straddled a change (not counted); counters: $(dstats "$z")"
	note "case 3: $z module log: $(mod_log "$z" "$(dirname "${zconf[$z]}")/knotd.log" | tr '\n' ' ')"
done

if [ -z "$perf_pid" ]; then
	skip "case 3: dnsperf DO load during the ZSK rollover" "dnsperf not installed"
else
	rc=0
	wait "$perf_pid" || rc=$?
	forget_pid "$perf_pid"
	perf() { sed -n "s/^ *$1: *\([0-9]*\).*/\1/p" "$tmp/dnsperf.out" | head -n 1; }
	sent=$(perf "Queries sent") completed=$(perf "Queries completed") lost=$(perf "Queries lost")
	codes=$(sed -n 's/^ *Response codes: *//p' "$tmp/dnsperf.out")
	note "case 3: dnsperf: sent ${sent:-?}, completed ${completed:-?}, lost ${lost:-?}; $codes"
	errs=
	[ "$rc" = 0 ] || errs+="dnsperf exit status $rc (124: time bound)"$'\n'
	[ "${completed:-0}" -gt 0 ] || errs+="no query completed"$'\n'
	case $codes in "NOERROR "*" (100.00%)") ;; *) errs+="response codes: ${codes:-none}"$'\n';; esac
	[ -z "$errs" ] || errs+=$(tail -n 20 "$tmp/dnsperf.out")
	check "case 3: dnsperf with DO against $ROLL MX names during its ZSK rollover: only NOERROR answers" "$errs"
	r_t1=$(dcounter "$ROLL" trapped)
	check "case 3: $ROLL trapped +$((r_t1 - r_t0)) >= dnsperf's ${completed:-0} answers (the load's answers carried the trap)" \
		"$([ $((r_t1 - r_t0)) -ge "${completed:-0}" ] || echo "counters: $(dstats "$ROLL")")"
fi
check "case 3: knotd A and knotd C alive after the rollovers" \
	"$(kill -0 "$knotd_a_pid" 2>/dev/null || echo "knotd A died: $(tail -n 20 "$tmp/a/knotd.log")")$(kill -0 "$knotd_c_pid" 2>/dev/null || echo "knotd C died")"

# --- case 4: long-running zone ------------------------------------------------------

life_deadline=$((SECONDS + 150))
while ! life_done && [ "$SECONDS" -lt "$life_deadline" ]; do
	life_poll
done
span=$((${life_t1:-0} - ${life_t0:-0}))
share=$(awk -v t="$life_trapped" -v a="$life_answers" 'BEGIN { printf "%.1f", a ? 100 * t / a : 0 }')
incs=$(printf '%s\n' "${!life_incs[@]}" | grep -c . || true)
note "case 4: $LIFE over $span s ($(awk -v s="$span" -v l="$LIFE_LIFETIME" 'BEGIN { printf "%.1f", s / l }') signature lifetimes of $LIFE_LIFETIME s):" \
	"$life_polls polls, $life_answers DO answers straight to knotd, $life_trapped trapped ($share %)," \
	"$incs distinct RRSIG(MX) inceptions, $life_rolls ZSK changes seen, $life_straddles polls repeated (straddled a change);" \
	"$life_unbound answers through unbound, $life_unbound_trap with the trap; $life_nerrs errors"
check "case 4: $LIFE sampled over >= 3 signature lifetimes ($span s) and >= 2 ZSK rollovers ($life_rolls), no reload" \
	"$(life_done || echo "deadline reached")"
[ -z "$life_miss" ] || note "case 4: untrapped DO answers (first 5):" "$life_miss"
check "case 4: $LIFE: the trap in >= 99 % of DO answers straight to knotd ($life_trapped of $life_answers, $share %)" \
	"$([ $((life_trapped * 100)) -ge $((life_answers * 99)) ] && [ "$life_answers" -gt 0 ] || printf '%s' "$life_miss")"
check "case 4: $LIFE: every answer AD through unbound, trapped answers signed by the current ZSK, >= $LIFE_MARGIN s from expiry, inceptions never back" \
	"$([ "$life_nerrs" = 0 ] || printf '%s(%s errors)' "$life_errs" "$life_nerrs")"
check "case 4: $LIFE: RRSIG(MX) inceptions move forward ($incs distinct)" "$([ "$incs" -ge 2 ] || echo "distinct inceptions: $incs")"
note "case 4: counters: $(dstats "$LIFE")"

# --- case 9: knotd restart --------------------------------------------------------------

stop_server "knotd A" "$knotd_a_pid" "$port_a" "$tmp/a/knotd.log"
check "case 9: knotd A stopped by SIGTERM (exit 0, port released, no sanitizer report)" "$stop_errs"
# shellcheck disable=SC2086
if start_knotd "$tmp/a" "$tmp/a/knotd-restart.log" $ZONES_A; then
	knotd_a_pid=$started_pid
	note "case 9: knotd A started again, pid $knotd_a_pid"
	for z in $EN $EC3; do
		run_names 9 "$z" yes "$(zone_signers "$z")"
	done
	for z in $TWO $ROLL $KROLL $ALT $ABS $KMISS $KBAD $KSWAP; do
		signers=$(zone_signers "$z")
		errs=$(direct_do "$z" "$z" yes "$signers" "9-${z%%.*}")
		check "case 9: $z: the first DO MX answer after the restart has the trap, one RRSIG(MX) per key [$signers]" "$errs"
		errs=$(via_unbound "$z" "$z" yes "9-${z%%.*}")
		check "case 9: $z MX through unbound: AD + trap" "$errs"
	done
else
	knotd_a_pid=
	not_ok "case 9: knotd A started again"
	tail -n 30 "$tmp/a/knotd-restart.log" | sed 's/^/# knotd A: /'
fi

# --- end --------------------------------------------------------------------------

# stop_check WHAT PID PORT LOG: a server stopped here (see stop_server: by
# SIGTERM, exit status 0, port released, no sanitizer report in its log).
stop_check() {
	[ -n "$2" ] || return 0
	stop_server "$@"
	check "$1 stopped by SIGTERM: exit status 0, port $3 released, no sanitizer report" "$stop_errs"
}
stop_check unbound "$unbound_pid" "$port_u" "$tmp/unbound.log"
stop_check "knotd A" "${knotd_a_pid:-}" "$port_a" "$tmp/a/knotd-restart.log"
stop_check "knotd B" "${knotd_b_pid:-}" "$port_b" "$tmp/b/knotd.log"
stop_check "knotd C" "$knotd_c_pid" "$port_c" "$tmp/c/knotd.log"
port_free() { ! port_bound "$port_uc"; }
check "unbound's control port $port_uc released" "$(wait_for "port $port_uc" 10 port_free || echo "still bound")"

for log in "$tmp/a/knotd.log" "$tmp/a/knotd-restart.log" "$tmp/c/knotd.log"; do
	note "${log#"$tmp/"}, mod-mxtrap lines:"
	grep -F "module 'mod-mxtrap" "$log" 2>/dev/null | head -n 30 | sed 's/^/#   /' || true
done
note "runtime $((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
