#!/usr/bin/env bash
# DNSSEC integration test: knotd with the module serving automatically signed
# zones, unbound (started here) validating every answer.
#
#   tests/dnssec/dnssec.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
#
# BUILD_DIR holds module/mxtrap.so and module/mxtrap_keepsig.so (the negative
# control: the merged MX RRset with the zone's old RRSIG). KNOTD_PRELOAD is
# the ASan runtime for a sanitized build (preloaded into knotd, knotc and
# keymgr, which load the module too), empty otherwise.
#
# Servers, all on 127.0.0.1 and free high ports, all stopped by this script:
#   - knotd A (mxtrap.so), zones under mxtrap.test., the same content each
#     (tests/dnssec/zone.in):
#       en     ECDSAP256SHA256, NSEC, KSK+ZSK          (automatic)
#       dn3    ED25519, NSEC3, KSK+ZSK                 (automatic)
#       ec3    ECDSAP256SHA256, NSEC3, CSK             (automatic)
#       two    ECDSAP256SHA256, NSEC, KSK + two active ZSKs, made with keymgr
#              before the first start (manual policy)
#       roll   like en, fast ZSK rollover policy (TTL 8 s, no propagation delay)
#       life   like en, rrsig-lifetime 40 s, rrsig-refresh 10 s (TTL 3 s)
#       os     dnssec-signing off, module: [ mod-mxtrap, mod-onlinesign ]
#       osrev  dnssec-signing off, module: [ mod-onlinesign, mod-mxtrap ]
#              (reported, not asserted)
#   - knotd B (mxtrap_keepsig.so as mod-mxtrap): ks-en, ks-dn3.
#   - unbound -d: validator + iterator, a trust anchor per zone (its KSK/CSK
#     DNSKEY as served by knotd), a stub-zone per zone, remote control on a
#     port (no certificates) to flush the cache between steps.
#
# Cases, in the order they run:
#   5  first start with an empty key store: everything validates (AD), DO
#      answers unchanged (no trap), non-DO answers trapped, unchanged[no-keys]
#      counted; a zone whose keys existed before the start is trapped at once.
#   -  knotc reload (both knotd).
#   1  apex, non-apex, CNAME and wildcard MX in en/dn3/ec3/two/roll/life: AD + trap
#      through unbound; straight to knotd with DO: the trap and exactly one
#      RRSIG(MX) per signing key (key tags of the zone's ZSKs, or CSK, in its
#      DNSKEY set, = the keys of RRSIG(SOA)), signer, labels (wildcard), TTLs;
#      without DO: the trap and no RRSIG. Counters: signatures[cache] grows on
#      repeated queries, signatures[fresh] does not.
#   2  knotd B: the merged set under the zone's old RRSIG, unbound SERVFAIL
#      (and AD for the SOA: the trust anchor is right).
#   6  os: AD + trap through unbound, one RRSIG(MX) by onlinesign's key.
#      osrev: what happens is printed as TAP comments.
#   3  roll: knotc zone-key-rollover zsk; every poll (bounded) until the old
#      ZSK is gone: every name validates through unbound (trap or not), and
#      straight to knotd the keys of RRSIG(MX) are the keys of RRSIG(SOA);
#      each rollover step is seen; unchanged[key-mismatch] counted; after
#      knotc reload: AD + trap, signed by the new ZSK.
#   4  life: after knotc reload, poll until the module's signatures (made at
#      the reload, rrsig-lifetime 40 s) are expired + 5 s: AD always; a
#      trapped DO answer's RRSIG(MX) expires >= refresh + TTL from now; the
#      trap goes away before they expire (unchanged[expiring] counted); after
#      knotc reload: AD + trap. About 50 s; DNSSEC_SKIP_LIFETIME=1 skips it
#      (reported as a TAP skip).
#   -  every server is stopped by the script and must release its ports; no
#      sanitizer report in knotd's logs.
#
# Output: TAP on stdout (plan at the end), then "dnssec: N passed, M failed"
# on stderr. Runtime about 90 s (2 CPUs); everything is bounded (polls with
# deadlines, kdig and knotc under timeout).
# Environment: DNSSEC_KEEP=1 keeps the temporary directory (logs, configs).
set -euo pipefail

src_dir=$(cd "$(dirname "$0")" && pwd)

BASE=mxtrap.test.

TAP_NAME=dnssec
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
test_init "$@"
keepsig=$build_dir/module/mxtrap_keepsig.so

need_tools knotd knotc keymgr kdig unbound unbound-control unbound-checkconf

tmp=$(mktemp -d /tmp/mxtrap-dnssec.XXXXXX)
knotd_a_pid=
knotd_b_pid=
unbound_pid=

cleanup() {
	local rc=$?
	stop_pid "$unbound_pid"
	stop_pid "$knotd_a_pid"
	stop_pid "$knotd_b_pid"
	if [ "${DNSSEC_KEEP:-}" = 1 ]; then
		echo "# kept $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- DNS helpers (signed answers) ---------------------------------------------

# rrsig_of FILE TYPE: RRSIGs in ANSWER covering TYPE:
# "TTL ALG LABELS ORIG_TTL EXPIRATION INCEPTION TAG SIGNER OWNER".
rrsig_of() {
	section "$1" ANSWER | awk -v t="$2" '$4 == "RRSIG" && $5 == t { print $2, $6, $7, $8, $9, $10, $11, $12, $1 }'
}
# rrsig_count FILE: every RRSIG in ANSWER.
rrsig_count() { section "$1" ANSWER | awk '$4 == "RRSIG"' | wc -l; }
tags_of() { rrsig_of "$1" "$2" | awk '{ print $7 }' | sort -n | tr '\n' ' ' | sed 's/ $//'; }
# to_epoch YYYYMMDDHHmmSS
to_epoch() {
	local t=$1
	date -u -d "${t:0:4}-${t:4:2}-${t:6:2} ${t:8:2}:${t:10:2}:${t:12:2}" +%s
}
labels() { local d=${1%.}; echo "$d" | awk -F. '{ print NF }'; }

uflush() {
	timeout 10 unbound-control -c "$tmp/unbound.conf" flush_zone "$1" >/dev/null 2>&1 || true
	timeout 10 unbound-control -c "$tmp/unbound.conf" flush_bogus >/dev/null 2>&1 || true
	timeout 10 unbound-control -c "$tmp/unbound.conf" flush_negative >/dev/null 2>&1 || true
}

# unbound_evidence NAME: unbound's log lines about NAME (validation reasons).
unbound_evidence() {
	grep -F -- "${1%.}" "$tmp/unbound.log" 2>/dev/null | grep -v "generate keytag query" | tail -n 6 | sed 's/^/unbound.log: /' || true
}

# zone_signers ZONE: key tags of RRSIG(SOA) straight from knotd A's zone.
zone_signers() {
	local port=${2:-$port_a}
	q "$tmp/soa.out" "$port" "$1" SOA +dnssec
	tags_of "$tmp/soa.out" SOA
}
# dnskey_signers ZONE [PORT]: tags of the ZSKs in the DNSKEY set, or of the
# KSKs (CSK) when there is no ZSK.
dnskey_signers() {
	local port=${2:-$port_a}
	q "$tmp/dnskey.out" "$port" "$1" DNSKEY +dnssec +multi
	local keys
	keys=$(sed -n 's/.*; \([KZ]SK\), .*id = \([0-9]*\)$/\1 \2/p' "$tmp/dnskey.out")
	if printf '%s\n' "$keys" | grep -q '^ZSK'; then
		printf '%s\n' "$keys" | awk '$1 == "ZSK" { print $2 }'
	else
		printf '%s\n' "$keys" | awk '$1 == "KSK" { print $2 }'
	fi | sort -n | tr '\n' ' ' | sed 's/ $//'
}
zsk_count() {
	q "$tmp/dnskey.out" "${2:-$port_a}" "$1" DNSKEY +dnssec +multi
	grep -c '; ZSK, ' "$tmp/dnskey.out" || true
}

# dcounter ZONE NAME [CONF] / dstats ZONE [CONF]: counters of knotd A
# (or of CONF), see counter and stats_line in tests/lib/common.sh.
dcounter() { counter "${3:-$tmp/a/knot.conf}" "$1" "$2"; }
dstats() { stats_line "${2:-$tmp/a/knot.conf}" "$1"; }

# expected_mx ZONE TRAP(yes/no): the MX set as mx_of prints it.
expected_mx() {
	{
		echo "10 mx1.$1"
		echo "20 mx2.$1"
		[ "$2" = yes ] && echo "99 mx1.$1"
	} | sort
}
has_trap() { mx_of "$1" | grep -q '^99 '; }

# The names of a zone: apex, non-apex, CNAME to the non-apex owner, and a
# fresh wildcard name (never cached).
wild_n=0
names_of() {
	wild_n=$((wild_n + 1))
	echo "$1 mail.$1 alias.$1 w$wild_n-$RANDOM.wild.$1"
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

# via_unbound ZONE NAME TRAP(yes/no/any) TAG: NAME MX through unbound after a
# flush of ZONE (unless no_flush=1: the caller flushed); errors on stdout
# (empty: fine). The answer stays in $tmp/u-TAG.out.
no_flush=0
via_unbound() {
	local zone=$1 name=$2 trap=$3 out=$tmp/u-$4.out errs=
	[ "$no_flush" = 1 ] || uflush "$zone"
	q "$out" "$port_u" "$name" MX +dnssec
	local rc
	rc=$(rcode_of "$out")
	[ "$rc" = NOERROR ] || errs+="unbound: status ${rc:-none} for $name MX"$'\n'
	has_ad "$out" || errs+="unbound: no AD flag ($(flags_of "$out")) for $name MX"$'\n'
	local got
	got=$(mx_of "$out")
	case $trap in
	yes|no)
		[ "$got" = "$(expected_mx "$zone" "$trap")" ] ||
			errs+="unbound: MX set [$(echo "$got" | tr '\n' ',')] want [$(expected_mx "$zone" "$trap" | tr '\n' ',')]"$'\n'
		;;
	any)
		[ "$got" = "$(expected_mx "$zone" yes)" ] || [ "$got" = "$(expected_mx "$zone" no)" ] ||
			errs+="unbound: MX set [$(echo "$got" | tr '\n' ',')]"$'\n'
		;;
	esac
	if [ -n "$errs" ]; then
		printf '%s' "$errs"
		echo "unbound answer:"
		grep -E '^;; (->>|Flags|EDE)|	MX	|	RRSIG	MX' "$out" | head -n 12 || true
		echo "unbound log:"
		grep -F -- "${name%.}" "$tmp/unbound.log" 2>/dev/null | grep -v "generate keytag query" | tail -n 6 || true
	fi
}

# direct_do ZONE NAME TRAP(yes/no/any) SIGNERS PORT TAG: NAME MX with DO
# straight to knotd: the MX set, exactly one RRSIG(MX) per key of SIGNERS
# (sorted tags), signer ZONE, labels, TTL = original TTL = MX TTL, validity
# around now. Errors on stdout.
direct_do() {
	local zone=$1 name=$2 trap=$3 signers=$4 port=$5 out=$tmp/d-$6.out errs=
	q "$out" "$port" "$name" MX +dnssec
	local rc got
	rc=$(rcode_of "$out")
	[ "$rc" = NOERROR ] || errs+="knotd: status ${rc:-none}"$'\n'
	got=$(mx_of "$out")
	case $trap in
	yes|no)
		[ "$got" = "$(expected_mx "$zone" "$trap")" ] ||
			errs+="knotd DO: MX set [$(echo "$got" | tr '\n' ',')] want [$(expected_mx "$zone" "$trap" | tr '\n' ',')]"$'\n'
		;;
	any)
		[ "$got" = "$(expected_mx "$zone" yes)" ] || [ "$got" = "$(expected_mx "$zone" no)" ] ||
			errs+="knotd DO: MX set [$(echo "$got" | tr '\n' ',')]"$'\n'
		;;
	esac
	local tags
	tags=$(tags_of "$out" MX)
	[ "$tags" = "$signers" ] || errs+="knotd DO: RRSIG(MX) key tags [$tags], want one per signing key [$signers]"$'\n'
	local mx_ttl want_labels now
	mx_ttl=$(section "$out" ANSWER | awk '$4 == "MX" { print $2 }' | sort -u | tr '\n' ' ' | sed 's/ $//')
	want_labels=$(rrsig_labels "$name" "$zone")
	now=$(date +%s)
	while read -r ttl alg lab orig exp inc tag signer owner; do
		[ -n "$ttl" ] || continue
		[ "$signer" = "$zone" ] || errs+="knotd DO: RRSIG(MX) $tag signer $signer"$'\n'
		[ "$lab" = "$want_labels" ] || errs+="knotd DO: RRSIG(MX) $tag labels $lab, want $want_labels"$'\n'
		[ "$orig" = "$mx_ttl" ] && [ "$ttl" = "$mx_ttl" ] ||
			errs+="knotd DO: RRSIG(MX) $tag TTL $ttl original TTL $orig, MX TTL $mx_ttl"$'\n'
		local e i
		e=$(to_epoch "$exp")
		i=$(to_epoch "$inc")
		[ "$i" -le "$now" ] && [ "$e" -gt $((now + mx_ttl)) ] ||
			errs+="knotd DO: RRSIG(MX) $tag validity $inc..$exp (now $(date -u +%Y%m%d%H%M%S))"$'\n'
		: "$alg" "$owner"
	done < <(rrsig_of "$out" MX)
	if [ -n "$errs" ]; then
		printf '%s' "$errs"
		echo "knotd answer (kdig +dnssec):"
		section "$out" ANSWER
	fi
}

# direct_nodo ZONE NAME PORT TAG [KDIG_OPTION]: without DO: the trap, no RRSIG.
direct_nodo() {
	local zone=$1 name=$2 port=$3 out=$tmp/n-$4.out errs=
	q "$out" "$port" "$name" MX +nodnssec "${@:5}"
	local got
	got=$(mx_of "$out")
	[ "$(rcode_of "$out")" = NOERROR ] || errs+="knotd: status $(rcode_of "$out")"$'\n'
	[ "$got" = "$(expected_mx "$zone" yes)" ] ||
		errs+="knotd no DO: MX set [$(echo "$got" | tr '\n' ',')] want the trap"$'\n'
	[ "$(rrsig_count "$out")" = 0 ] || errs+="knotd no DO: $(rrsig_count "$out") RRSIG in ANSWER"$'\n'
	if [ -n "$errs" ]; then
		printf '%s' "$errs"
		section "$out" ANSWER
	fi
}

# trapped_do ZONE PORT: the apex DO answer straight from knotd has the trap.
trapped_do() {
	q "$tmp/t.out" "$2" "$1" MX +dnssec
	has_trap "$tmp/t.out"
}

# --- zones and configuration -----------------------------------------------

mkdir -p "$tmp/a" "$tmp/b" "$tmp/u"

# zone_file ZONE TTL DIR
zone_file() {
	sed "s/@TTL@/$2/g" "$src_dir/zone.in" >"$3/${1%.}.zone"
}

EN=en.$BASE DN3=dn3.$BASE EC3=ec3.$BASE TWO=two.$BASE
ROLL=roll.$BASE LIFE=life.$BASE OS=os.$BASE OSREV=osrev.$BASE
KS_EN=ks-en.$BASE KS_DN3=ks-dn3.$BASE
ZONES_AUTO="$EN $DN3 $EC3"
ZONES_A="$EN $DN3 $EC3 $TWO $ROLL $LIFE $OS $OSREV"
ZONES_B="$KS_EN $KS_DN3"

# roll: each rollover step lasts the TTL (no propagation delay): long enough
# for a few polls on a loaded machine.
ROLL_TTL=8
LIFE_LIFETIME=40 LIFE_REFRESH=10 LIFE_TTL=3

for z in $EN $DN3 $EC3 $TWO $OS $OSREV; do zone_file "$z" 10 "$tmp/a"; done
zone_file "$ROLL" "$ROLL_TTL" "$tmp/a"
zone_file "$LIFE" "$LIFE_TTL" "$tmp/a"
for z in $ZONES_B; do zone_file "$z" 10 "$tmp/b"; done

policies() {
	cat <<-EOF
	policy:
	  - id: ecdsa-nsec
	    algorithm: ecdsap256sha256
	  - id: ed-nsec3
	    algorithm: ed25519
	    nsec3: on
	  - id: ecdsa-nsec3-csk
	    algorithm: ecdsap256sha256
	    nsec3: on
	    single-type-signing: on
	  - id: manual
	    algorithm: ecdsap256sha256
	    manual: on
	  - id: roll
	    algorithm: ecdsap256sha256
	    propagation-delay: 0
	    dnskey-ttl: $ROLL_TTL
	    zone-max-ttl: $ROLL_TTL
	  - id: life
	    algorithm: ecdsap256sha256
	    propagation-delay: 0
	    dnskey-ttl: $LIFE_TTL
	    zone-max-ttl: $LIFE_TTL
	    rrsig-lifetime: $LIFE_LIFETIME
	    rrsig-refresh: $LIFE_REFRESH
	    rrsig-pre-refresh: 1

	EOF
}

# knot_conf DIR PORT MODULE_FILE
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

	module:
	  - id: mod-mxtrap
	    file: "$3"

	EOF
	policies
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

write_conf_a() {
	knot_conf "$tmp/a" "$port_a" "$module"
	zone_entry() {
		printf '  - domain: %s\n' "$1"
		shift
		printf '    %s\n' "$@"
	}
	zone_entry "$EN" "dnssec-signing: on" "dnssec-policy: ecdsa-nsec" "module: mod-mxtrap"
	zone_entry "$DN3" "dnssec-signing: on" "dnssec-policy: ed-nsec3" "module: mod-mxtrap"
	zone_entry "$EC3" "dnssec-signing: on" "dnssec-policy: ecdsa-nsec3-csk" "module: mod-mxtrap"
	zone_entry "$TWO" "dnssec-signing: on" "dnssec-policy: manual" "module: mod-mxtrap"
	zone_entry "$ROLL" "dnssec-signing: on" "dnssec-policy: roll" "module: mod-mxtrap"
	zone_entry "$LIFE" "dnssec-signing: on" "dnssec-policy: life" "module: mod-mxtrap"
	zone_entry "$OS" "module: [ mod-mxtrap, mod-onlinesign ]"
	zone_entry "$OSREV" "module: [ mod-onlinesign, mod-mxtrap ]"
}

write_conf_b() {
	knot_conf "$tmp/b" "$port_b" "$keepsig"
	printf '  - domain: %s\n    dnssec-signing: on\n    dnssec-policy: ecdsa-nsec\n    module: mod-mxtrap\n' "$KS_EN"
	printf '  - domain: %s\n    dnssec-signing: on\n    dnssec-policy: ed-nsec3\n    module: mod-mxtrap\n' "$KS_DN3"
}

# zones_ready PORT ZONE...: every zone answers its SOA and a DNSKEY set.
zones_ready() {
	local port=$1 z
	shift
	for z in "$@"; do
		q "$tmp/ready.out" "$port" "$z" DNSKEY +dnssec
		[ "$(rcode_of "$tmp/ready.out")" = NOERROR ] || return 1
		section "$tmp/ready.out" ANSWER | awk '$4 == "DNSKEY" { f = 1 } END { exit !f }' || return 1
	done
}

# start_knotd DIR LOG ZONES... -> pid in $started_pid; fails if not ready.
start_knotd() {
	local dir=$1 port=$2
	shift 2
	spawn "$dir/knotd.log" knotd -c "$dir/knot.conf"
	started_pid=$spawned_pid
	local deadline=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$deadline" ]; do
		kill -0 "$started_pid" 2>/dev/null || return 1
		zones_ready "$port" "$@" && return 0
		sleep 0.1
	done
	return 1
}

# knotc_a ARGS...: knotc on knotd A (bounded).
knotc_a() { kenv timeout 60 knotc -c "$tmp/a/knot.conf" -t 50 "$@"; }
knotc_b() { kenv timeout 60 knotc -c "$tmp/b/knot.conf" -t 50 "$@"; }

start_time=$SECONDS
echo "# tmp $tmp"

port_a=$(free_port) || bail "no free port"
port_b=$(free_port) || bail "no free port"
port_u=$(free_port) || bail "no free port"
port_c=$(free_port) || bail "no free port"

write_conf_a >"$tmp/a/knot.conf"
write_conf_b >"$tmp/b/knot.conf"
if ! out=$(kenv knotc -c "$tmp/a/knot.conf" conf-check 2>&1); then
	bail "knotd A configuration: $out"
fi

# Zone two.: a KSK and two ZSKs, all active, in the key store before the start.
for roles in "ksk=yes zsk=no" "ksk=no zsk=yes" "ksk=no zsk=yes"; do
	# shellcheck disable=SC2086
	kenv keymgr -c "$tmp/a/knot.conf" "$TWO" generate algorithm=ecdsap256sha256 $roles \
		publish=+0 ready=+0 active=+0 >/dev/null || bail "keymgr generate failed"
done

# shellcheck disable=SC2086
start_knotd "$tmp/a" "$port_a" $ZONES_A || {
	tail -n 30 "$tmp/a/knotd.log" | sed 's/^/# knotd A: /'
	bail "knotd A did not start or sign its zones on port $port_a"
}
knotd_a_pid=$started_pid
note "knotd A pid $knotd_a_pid on 127.0.0.1@$port_a"

if [ -f "$keepsig" ]; then
	# shellcheck disable=SC2086
	if start_knotd "$tmp/b" "$port_b" $ZONES_B; then
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

unbound_zones="$ZONES_A"
[ -n "$knotd_b_pid" ] && unbound_zones+=" $ZONES_B"
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
	    local-zone: "test." nodefault
	EOF
	for z in $unbound_zones; do
		case " $ZONES_B " in *" $z "*) p=$port_b;; *) p=$port_a;; esac
		q "$tmp/anchor.out" "$p" "$z" DNSKEY +dnssec
		section "$tmp/anchor.out" ANSWER | awk -v z="$z" '$4 == "DNSKEY" && $5 == 257 {
			printf "    trust-anchor: \"%s DNSKEY", z
			for (i = 5; i <= NF; i++) printf " %s", $i
			printf "\"\n" }'
	done
	cat <<-EOF

	remote-control:
	    control-enable: yes
	    control-interface: 127.0.0.1
	    control-port: $port_c
	    control-use-cert: no

	EOF
	for z in $unbound_zones; do
		case " $ZONES_B " in *" $z "*) p=$port_b;; *) p=$port_a;; esac
		printf 'stub-zone:\n    name: "%s"\n    stub-addr: 127.0.0.1@%s\n' "$z" "$p"
	done
} >"$tmp/unbound.conf"

for z in $unbound_zones; do
	grep -q "trust-anchor: \"$z DNSKEY 257 " "$tmp/unbound.conf" || bail "no KSK/CSK DNSKEY for $z"
done
out=$(unbound-checkconf "$tmp/unbound.conf" 2>&1) || bail "unbound configuration: $out"

unbound -d -c "$tmp/unbound.conf" >"$tmp/unbound.out" 2>&1 &
unbound_pid=$!
unbound_ready() {
	kill -0 "$unbound_pid" 2>/dev/null || return 1
	q "$tmp/uready.out" "$port_u" "$EN" SOA +dnssec
	[ "$(rcode_of "$tmp/uready.out")" = NOERROR ] && has_ad "$tmp/uready.out"
}
if ! wait_for "unbound" 30 unbound_ready; then
	indent "$tmp/unbound.out"
	tail -n 20 "$tmp/unbound.log" 2>/dev/null | sed 's/^/# unbound.log: /'
	indent "$tmp/uready.out"
	bail "unbound did not validate $EN SOA on port $port_u"
fi
note "unbound pid $unbound_pid on 127.0.0.1@$port_u (control $port_c)"

# The trust anchors work for every zone: SOA through unbound has AD.
for z in $unbound_zones; do
	uflush "$z"
	q "$tmp/soa-u.out" "$port_u" "$z" SOA +dnssec
	errs=
	[ "$(rcode_of "$tmp/soa-u.out")" = NOERROR ] && has_ad "$tmp/soa-u.out" ||
		errs="status $(rcode_of "$tmp/soa-u.out"), flags $(flags_of "$tmp/soa-u.out")"$'\n'"$(unbound_evidence "$z")"
	check "setup: $z SOA validates through unbound (AD)" "$errs"
done

# run_names CASE ZONE TRAP SIGNERS PORT [nodo]: the four names of ZONE through
# unbound (AD, trap per TRAP) and straight to knotd with DO (trap per TRAP,
# one RRSIG(MX) per key of SIGNERS) and, with nodo, without DO.
run_names() {
	local c=$1 zone=$2 trap=$3 signers=$4 port=$5 nodo=${6:-} name tag errs
	local what
	case $trap in yes) what="AD + trap";; no) what="AD, no trap";; any) what="AD";; esac
	for name in $(names_of "$zone"); do
		tag=$c-${name%%.*}-${zone%%.*}
		errs=$(via_unbound "$zone" "$name" "$trap" "$tag")
		check "case $c: $name MX through unbound: $what" "$errs"
		errs=$(direct_do "$zone" "$name" "$trap" "$signers" "$port" "$tag")
		check "case $c: $name MX with DO straight to knotd: $( [ "$trap" = yes ] && echo 'trap, ')one RRSIG per key [$signers]" "$errs"
		if [ "$nodo" = nodo ]; then
			errs=$(direct_nodo "$zone" "$name" "$port" "$tag" +noedns)
			check "case $c: $name MX without DO (no EDNS): trap, no RRSIG" "$errs"
			errs=$(direct_nodo "$zone" "$name" "$port" "$tag-edns" +edns +bufsize=1232)
			check "case $c: $name MX with EDNS, DO clear: trap, no RRSIG" "$errs"
		fi
	done
}

# signers_check CASE ZONE: RRSIG(SOA) keys = ZSKs (or CSK) of the DNSKEY set;
# prints the signer tags in $signers.
signers_check() {
	local c=$1 zone=$2 from_dnskey
	signers=$(zone_signers "$zone")
	from_dnskey=$(dnskey_signers "$zone")
	local errs=
	[ -n "$signers" ] && [ "$signers" = "$from_dnskey" ] ||
		errs="RRSIG(SOA) keys [$signers], DNSKEY ZSKs/CSK [$from_dnskey]"
	check "case $c: $zone signing keys [$signers] = ZSKs (or CSK) in its DNSKEY set" "$errs"
}

# reload_and_wait DESC KNOTC_FN PORT ZONE...: knotc reload, then wait (bounded)
# until each ZONE's apex DO answer has the trap.
reload_and_wait() {
	local desc=$1 fn=$2 port=$3 z out errs=
	shift 3
	if ! out=$("$fn" reload 2>&1); then
		errs="knotc reload: $out"
	fi
	for z in "$@"; do
		wait_for "$z trap after reload" 20 trapped_do "$z" "$port" ||
			errs+="${errs:+$'\n'}$z: no trap in the DO answer 20 s after the reload"$'\n'"$(section "$tmp/t.out" ANSWER)"
	done
	check "$desc" "$errs"
}

# --- case 5: first start with an empty key store -----------------------------

note "case 5: first start, keys created by knotd after the modules loaded"
for z in $ZONES_AUTO $ROLL $LIFE; do
	signers_check 5 "$z"
	run_names 5 "$z" no "$signers" "$port_a" nodo
	v=$(dcounter "$z" 'unchanged[no-keys]')
	check "case 5: $z unchanged[no-keys] counted ($v)" "$([ "$v" -gt 0 ] || echo "counters: $(dstats "$z")")"
done
note "case 5: $TWO (keys in the store before the start): trap at once"
signers_check 5 "$TWO"
run_names 5 "$TWO" yes "$signers" "$port_a"

# --- reload ---------------------------------------------------------------

# shellcheck disable=SC2086
reload_and_wait "case 5: after knotc reload, knotd A's signed zones answer DO with the trap" \
	knotc_a "$port_a" $ZONES_AUTO $TWO $ROLL $LIFE
if [ -n "$knotd_b_pid" ]; then
	# shellcheck disable=SC2086
	reload_and_wait "case 2: after knotc reload, knotd B's zones answer DO with the trap" \
		knotc_b "$port_b" $ZONES_B
fi

# --- case 1 -------------------------------------------------------------------

for z in $ZONES_AUTO $TWO $ROLL $LIFE; do
	signers_check 1 "$z"
	run_names 1 "$z" yes "$signers" "$port_a" nodo
done
two_keys=$(zone_signers "$TWO" | wc -w)
check "case 1: $TWO is signed by two ZSKs ($two_keys)" "$([ "$two_keys" = 2 ] || echo "keys: $(zone_signers "$TWO")")"

# Counters: repeated DO queries for one name are signed from the cache.
REPEAT=20
for z in $ZONES_AUTO $TWO; do
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

# --- case 2: negative control -------------------------------------------------

if [ -z "$knotd_b_pid" ]; then
	not_ok "case 2: negative control (knotd B with $keepsig) did not run"
else
	for z in $ZONES_B; do
		signers=$(zone_signers "$z" "$port_b")
		for name in $(names_of "$z"); do
			tag=2-${name%%.*}-${z%%.*}
			errs=$(direct_do "$z" "$name" yes "$signers" "$port_b" "$tag")
			# The RRSIG over the merged set is the zone's: one per key, as it must
			# look for the test to be meaningful.
			check "case 2: $name MX with DO from knotd B: trap under the zone's RRSIG [$signers]" "$errs"
			uflush "$z"
			out=$tmp/u-$tag.out
			q "$out" "$port_u" "$name" MX +dnssec
			rc=$(rcode_of "$out")
			errs=
			[ "$rc" = SERVFAIL ] || errs="status ${rc:-none} (flags $(flags_of "$out")), want SERVFAIL"$'\n'"$(section "$out" ANSWER)"
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
run_names 6 "$OS" yes "$os_key" "$port_a" nodo
note "case 6: $OS counters: $(dstats "$OS")"

note "case 6 (reported, not asserted): $OSREV, module: [ mod-onlinesign, mod-mxtrap ]"
for name in $(names_of "$OSREV"); do
	uflush "$OSREV"
	q "$tmp/rev-u.out" "$port_u" "$name" MX +dnssec
	q "$tmp/rev-d.out" "$port_a" "$name" MX +dnssec
	q "$tmp/rev-n.out" "$port_a" "$name" MX +nodnssec
	note "  $name: unbound $(rcode_of "$tmp/rev-u.out") flags [$(flags_of "$tmp/rev-u.out")] MX [$(mx_of "$tmp/rev-u.out" | tr '\n' ',')];" \
		"  knotd DO MX [$(mx_of "$tmp/rev-d.out" | tr '\n' ',')] RRSIG(MX) [$(tags_of "$tmp/rev-d.out" MX)];" \
		"  knotd no DO MX [$(mx_of "$tmp/rev-n.out" | tr '\n' ',')] RRSIG $(rrsig_count "$tmp/rev-n.out")"
done
note "  $OSREV counters: $(dstats "$OSREV")"

# --- case 3: ZSK rollover ---------------------------------------------------------

roll_old=$(zone_signers "$ROLL")
mm0=$(dcounter "$ROLL" 'unchanged[key-mismatch]')
note "case 3: $ROLL ZSK $roll_old, rolling over"
errs=
out=$(knotc_a zone-key-rollover "$ROLL" zsk 2>&1) || errs="knotc failed: $out"
check "case 3: knotc zone-key-rollover $ROLL zsk" "$errs"

# One poll: the step (ZSKs in DNSKEY, signer of the SOA), then every name
# through unbound (AD, trap or not) and straight to knotd (RRSIG(MX) keys =
# RRSIG(SOA) keys). A poll that straddles a zone change (SOA signers differ
# before and after) is repeated.
declare -A step_polls=() step_errs=() step_traps=()
roll_new=
roll_deadline=$((SECONDS + 90))
done_polls=0
while [ "$SECONDS" -lt "$roll_deadline" ]; do
	s_before=$(zone_signers "$ROLL")
	zsks=$(zsk_count "$ROLL")
	errs=
	traps=0
	# One flush per poll: each name is asked once after it.
	uflush "$ROLL"
	no_flush=1
	for name in $(names_of "$ROLL"); do
		tag=3-${name%%.*}
		e=$(via_unbound "$ROLL" "$name" any "$tag")
		[ -z "$e" ] || errs+="$name: $e"$'\n'
		e=$(direct_do "$ROLL" "$name" any "$s_before" "$port_a" "$tag")
		[ -z "$e" ] || errs+="$name: $e"$'\n'
		has_trap "$tmp/d-$tag.out" && traps=$((traps + 1))
	done
	no_flush=0
	s_after=$(zone_signers "$ROLL")
	if [ "$s_before" != "$s_after" ] || [ "$zsks" != "$(zsk_count "$ROLL")" ]; then
		continue
	fi
	if [ "$s_before" = "$roll_old" ] && [ "$zsks" = 1 ]; then
		step=0-before
	elif [ "$s_before" = "$roll_old" ] && [ "$zsks" = 2 ]; then
		step=1-new-ZSK-published
	elif [ "$zsks" = 2 ]; then
		step=2-new-ZSK-active
		roll_new=$s_before
	elif [ "$zsks" = 1 ]; then
		step=3-old-ZSK-removed
		roll_new=$s_before
		done_polls=$((done_polls + 1))
	else
		step="unexpected-$zsks-ZSKs"
	fi
	step_polls[$step]=$((${step_polls[$step]:-0} + 1))
	step_traps[$step]=$((${step_traps[$step]:-0} + traps))
	[ -z "$errs" ] || step_errs[$step]+="$errs"
	[ "$done_polls" -lt 3 ] || break
done
for step in 1-new-ZSK-published 2-new-ZSK-active 3-old-ZSK-removed; do
	if [ -z "${step_polls[$step]:-}" ]; then
		not_ok "case 3: rollover step $step seen"
		continue
	fi
	check "case 3: rollover step $step: ${step_polls[$step]} polls x 4 names, all AD through unbound, RRSIG(MX) keys = zone's keys (trapped DO answers: ${step_traps[$step]})" \
		"${step_errs[$step]:-}"
done
for step in "${!step_polls[@]}"; do
	case $step in 0-before|1-*|2-*|3-*) ;; *) not_ok "case 3: unexpected rollover state $step";; esac
done
note "case 3: new ZSK ${roll_new:-none}; counters: $(dstats "$ROLL")"
mm1=$(dcounter "$ROLL" 'unchanged[key-mismatch]')
check "case 3: unchanged[key-mismatch] counted after the rollover (+$((mm1 - mm0)))" \
	"$([ "$mm1" -gt "$mm0" ] || echo "counters: $(dstats "$ROLL")")"
reload_and_wait "case 3: knotc reload after the rollover: trap back" knotc_a "$port_a" "$ROLL"
signers=$(zone_signers "$ROLL")
check "case 3: $ROLL signed by the new ZSK [$signers] after the rollover" \
	"$([ -n "$signers" ] && [ "$signers" != "$roll_old" ] || echo "old $roll_old, now $signers")"
run_names 3 "$ROLL" yes "$signers" "$port_a"

# --- case 4: signature lifetime -----------------------------------------------------

if [ "${DNSSEC_SKIP_LIFETIME:-}" = 1 ]; then
	skip "case 4: signature lifetime" "DNSSEC_SKIP_LIFETIME=1"
else
	exp0=$(dcounter "$LIFE" 'unchanged[expiring]')
	# t0 before the reload: the module's signatures are made during it, so they
	# expire at t0 + lifetime or later.
	t0=$(date +%s)
	reload_and_wait "case 4: knotc reload (module signatures made now)" knotc_a "$port_a" "$LIFE"
	end=$((t0 + LIFE_LIFETIME + 5))
	margin=$((LIFE_REFRESH + LIFE_TTL))
	polls=0 trapped=0 first_untrapped='' last_trapped='' errs='' min_left=''
	while [ "$(date +%s)" -lt "$end" ] && [ "$polls" -lt 200 ]; do
		polls=$((polls + 1))
		s=$(zone_signers "$LIFE")
		for name in "$LIFE" "w$polls-$RANDOM.wild.$LIFE"; do
			tag=4-${name%%.*}
			e=$(via_unbound "$LIFE" "$name" any "$tag")
			[ -z "$e" ] || errs+="$(date -u +%T) $name: $e"$'\n'
			now=$(date +%s)
			e=$(direct_do "$LIFE" "$name" any "$s" "$port_a" "$tag")
			[ -z "$e" ] || [ "$s" != "$(zone_signers "$LIFE")" ] || errs+="$(date -u +%T) $name: $e"$'\n'
			if has_trap "$tmp/d-$tag.out"; then
				trapped=$((trapped + 1))
				last_trapped=$((now - t0))
				while read -r _ _ _ _ exp _ tagk _ _; do
					left=$(($(to_epoch "$exp") - now))
					[ -z "$min_left" ] || [ "$left" -lt "$min_left" ] && min_left=$left
					[ "$left" -ge $((margin - 1)) ] ||
						errs+="$(date -u +%T) $name: trapped DO answer with RRSIG(MX) $tagk expiring in $left s (< refresh $LIFE_REFRESH + TTL $LIFE_TTL)"$'\n'
				done < <(rrsig_of "$tmp/d-$tag.out" MX)
			elif [ -z "$first_untrapped" ]; then
				first_untrapped=$((now - t0))
			fi
		done
		sleep 1
	done
	note "case 4: $polls polls over $(($(date +%s) - t0)) s: $trapped trapped DO answers, last at +${last_trapped:-none} s (closest RRSIG expiry ${min_left:-?} s ahead), first untrapped at +${first_untrapped:-never} s"
	check "case 4: answers validate through unbound for $((LIFE_LIFETIME + 5)) s after the module's signatures were made (lifetime $LIFE_LIFETIME s); trapped answers' RRSIG(MX) >= $margin s from expiry" "$errs"
	check "case 4: the trap was served at first (trapped DO answers: $trapped)" "$([ "$trapped" -gt 0 ] || echo none)"
	check "case 4: the trap went away before the module's signatures expired (first untrapped at +${first_untrapped:-never} s)" \
		"$([ -n "$first_untrapped" ] && [ "$first_untrapped" -lt "$LIFE_LIFETIME" ] || echo "first untrapped: ${first_untrapped:-never}")"
	exp1=$(dcounter "$LIFE" 'unchanged[expiring]')
	check "case 4: unchanged[expiring] counted (+$((exp1 - exp0)))" \
		"$([ "$exp1" -gt "$exp0" ] || echo "counters: $(dstats "$LIFE")")"
	note "case 4: counters: $(dstats "$LIFE")"
	reload_and_wait "case 4: knotc reload: trap back" knotc_a "$port_a" "$LIFE"
	run_names 4 "$LIFE" yes "$(zone_signers "$LIFE")" "$port_a"
fi

# --- end --------------------------------------------------------------------------

check "knotd A still running" "$(kill -0 "$knotd_a_pid" 2>/dev/null || echo "knotd A died; log:"$'\n'"$(tail -n 20 "$tmp/a/knotd.log")")"
check "unbound still running" "$(kill -0 "$unbound_pid" 2>/dev/null || echo "unbound died")"

# Stop every server here and check that its port is free again (nothing left
# behind).
for srv in "unbound $unbound_pid $port_u $port_c" "knotd-A $knotd_a_pid $port_a" "knotd-B $knotd_b_pid $port_b"; do
	read -r what pid ports <<<"$srv"
	[ -n "$pid" ] || continue
	stop_pid "$pid"
	case $what in unbound) unbound_pid=;; knotd-A) knotd_a_pid=;; knotd-B) knotd_b_pid=;; esac
	errs=
	for port in $ports; do
		port_free() { ! port_bound "$port"; }
		wait_for "$what to release port $port" 10 port_free ||
			errs+="port $port still bound: $(ss -lntup 2>/dev/null | grep ":$port " || true)"$'\n'
	done
	check "$what stopped, port(s) $ports released" "$errs"
done
# Sanitizer reports (ASan build: knotd's stderr is its log).
for log in "$tmp/a/knotd.log" "$tmp/b/knotd.log"; do
	[ -f "$log" ] || continue
	errs=$(grep -E -m 10 'ERROR: |AddressSanitizer|LeakSanitizer|runtime error' "$log" || true)
	check "no sanitizer report in ${log#"$tmp/"}" "$errs"
done
note "knotd A log, mod-mxtrap lines:"
grep -F "module 'mod-mxtrap'" "$tmp/a/knotd.log" | head -n 30 | sed 's/^/#   /' || true
note "runtime $((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
