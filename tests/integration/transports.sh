#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Proves that the trapped answers go out alike over every transport knotd
# serves: one knotd with the module on zones/ (example.com, exin.test whose
# trap glue comes from the ADDITIONAL hook, signed.test signed by knotd with
# the trap signed by the module) listens on UDP/TCP, DNS over TLS (Knot >= 3.4)
# and DNS over QUIC (Knot >= 3.3 built with libngtcp2); for each case kdig's
# answer over TLS and over QUIC equals its answer over TCP: header (rcode,
# flags, counts), EDNS, every section, record by record; the traps (and the
# hook's glue, the module's RRSIG(MX)) are in both. A transport the knotd
# does not offer (its version, `knotd -VV`) is a SKIP line saying why.
#
#   tests/integration/transports.sh BUILD_DIR [KNOTD_PRELOAD]   (TAP output)
#
# Environment (tests/integration/meson.build): KNOTD, KNOTC, KDIG (the
# programs meson found), MXTRAP_ZONES; TRANSPORTS_KEEP=1 keeps $tmp.
set -euo pipefail
TAP_NAME=transports
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
test_init "$@"
# The programs meson found first on PATH: the helpers call them by name.
for prog in "${KDIG:-}" "${KNOTC:-}" "${KNOTD:-}"; do [ -z "$prog" ] || PATH="${prog%/*}:$PATH"; done
need_tools knotd knotc
zones=${MXTRAP_ZONES:-$(cd "$(dirname "$0")/zones" && pwd)}

# NAME|QNAME|KDIG OPTIONS|TRAPS ("PREF EXCHANGE", comma-separated)|RECORDS
# ("SECTION OWNER TYPE", comma-separated; TYPE of an RRSIG: RRSIG(COVERED)).
# The trapped cases of test_answers.c; big without EDNS: over UDP it would
# be truncated (TC, the module's doing), over the others complete.
CASES=(
	"apex|example.com.|+noedns|99 mail1.example.com.|"
	"apex-edns|example.com.|+bufsize=1232|99 mail1.example.com.|"
	"apex-do|example.com.|+bufsize=1232 +dnssec|99 mail1.example.com.|"
	"big|big.example.com.|+bufsize=1232|99 mx01.big.example.com.,99 mx02.big.example.com.,99 mx03.big.example.com.|"
	"big-noedns|big.example.com.|+noedns|99 mx01.big.example.com.,99 mx02.big.example.com.,99 mx03.big.example.com.|"
	"exchange-in|exin.test.|+noedns|500 mx1.exin.test.,500 decoy.exin.test.|ADDITIONAL decoy.exin.test. A"
	"exchange-in-do|exin.test.|+bufsize=1232 +dnssec|500 mx1.exin.test.,500 decoy.exin.test.|ADDITIONAL decoy.exin.test. AAAA"
	"signed|signed.test.|+noedns|99 mx1.signed.test.|"
	# The module's RRSIG(MX), ECDSA: the same bytes everywhere only from its cache.
	"signed-do|signed.test.|+bufsize=1232 +dnssec|99 mx1.signed.test.|ANSWER signed.test. RRSIG(MX),ADDITIONAL mx1.signed.test. RRSIG(A)"
)

# --- what this knotd serves ----------------------------------------------------------

ver=$(knotd_version)
doq=$(kenv knotd -VV 2>&1 | sed -n 's/^ *DoQ support: *//p' | head -n 1)
declare -A why=()
version_at_least "$ver" 3.4 || why[tls]="knotd $ver has no DNS over TLS (listen-tls is from Knot 3.4)"
if ! version_at_least "$ver" 3.3; then
	why[quic]="knotd $ver has no DNS over QUIC outside XDP (listen-quic is from Knot 3.3)"
elif [ "$doq" != yes ] && [ "$doq" != embedded ]; then
	why[quic]="knotd $ver is built without DoQ (knotd -VV: DoQ support: ${doq:-not shown})"
fi
run=()
for t in tls quic; do
	if [ -n "${why[$t]:-}" ]; then
		skip "$t: ${#CASES[@]} trapped answers as over TCP" "${why[$t]}"
	elif ! command -v kdig >/dev/null; then
		not_ok "$t: knotd $ver serves it, but no kdig (knot-dnsutils) to ask"
	elif [ "$t" = quic ] && ! kdig -VV 2>&1 | grep -qE '^ *DoQ support: *(yes|embedded)'; then
		not_ok "quic: knotd $ver serves it, but $(command -v kdig) is built without DoQ"
	else
		run+=("$t")
	fi
done
if [ ${#run[@]} = 0 ]; then finish_tap; [ "$failed" = 0 ]; exit; fi

# --- the server ------------------------------------------------------------------------

test_tmp_init
port='' port_tls='' port_quic=''
take_ports port port_tls port_quic
declare -A tport=([tcp]=$port [tls]=$port_tls [quic]=$port_quic)
{
	printf 'server:\n    rundir: "%s"\n    listen: 127.0.0.1@%s\n' "$tmp" "$port"
	# No key-file/cert-file: knotd makes a key (in the KASP directory) and a
	# one-time certificate; kdig's +tls and +quic do not verify it.
	for t in "${run[@]}"; do printf '    listen-%s: 127.0.0.1@%s\n' "$t" "${tport[$t]}"; done
	printf '    udp-workers: 2\n    tcp-workers: 2\n    background-workers: 2\n'
	printf 'log:\n  - target: stderr\n    any: info\ncontrol:\n    listen: "%s/knot.sock"\n' "$tmp"
	printf 'database:\n    storage: "%s"\nmodule:\n  - id: mod-mxtrap\n    file: "%s"\n' "$tmp" "$module"
	# As test_answers.c's MODULE_SECTIONS.
	printf 'mod-mxtrap:\n  - id: exin\n    exchange: [ decoy.exin.test., mx1.exin.test. ]\n    preference: 500\n'
	printf 'template:\n  - id: default\n    storage: "%s"\n    zonefile-sync: -1\nzone:\n' "$tmp"
	printf '  - domain: example.com.\n    file: "%s/example.com.zone"\n    module: mod-mxtrap\n' "$zones"
	printf '  - domain: exin.test.\n    file: "%s/exin.test.zone"\n    module: mod-mxtrap/exin\n' "$zones"
	printf '  - domain: signed.test.\n    file: "%s/signed.test.zone"\n    dnssec-signing: on\n    module: mod-mxtrap\n' "$zones"
} >"$tmp/knot.conf"
knotd_start "$tmp/knot.conf" "$tmp/knotd.log" example.com. exin.test. signed.test. ||
	bail "knotd $ver does not start with listen-${run[*]}"
pid=$knotd_pid
for t in "${run[@]}"; do
	wait_for "knotd's $t port ${tport[$t]}" 10 port_bound "${tport[$t]}" || bail "knotd does not listen on $t"
done

# --- the answers ------------------------------------------------------------------------

# comparable FILE: kdig's output less what differs between transports by
# design: the session line (TLS, QUIC), the ID (DoQ sends 0), EDNS padding
# (kdig pads queries over TLS and QUIC, knotd pads its answers to them: RFC
# 7830, 8467), the size, time and source lines. OPT itself stays counted.
comparable() {
	sed -E -e '/^;; (TLS|QUIC) session /d' -e '/^;; PADDING: /d' -e '/^;; (Received [0-9]+ B|Time |From )/d' \
		-e 's/^(;; ->>HEADER<<- .*); id: [0-9]+$/\1/' "$1"
}
# has FILE SECTION OWNER TYPE: a record of TYPE (RRSIG(COVERED)) at OWNER in SECTION.
has() {
	section "$1" "$2" | awk -v o="$3" -v t="$4" '$1 == o && ($4 == "RRSIG" ? "RRSIG(" $5 ")" : $4) == t { f = 1 }
		END { exit !f }'
}
# holds FILE TRAPS RECORDS: what the answer lacks of them, one a line (none: all there).
holds() {
	local item mx rcode
	rcode=$(rcode_of "$1") mx=$(mx_of "$1")
	[ "$rcode" = NOERROR ] || { echo "status ${rcode:-none}:"; head -n 20 "$1"; return 0; }
	while IFS= read -r item; do
		[ -z "$item" ] || grep -qxF "$item" <<<"$mx" || echo "trap $item missing"
	done < <(tr , '\n' <<<"$2")
	while IFS= read -r item; do
		# shellcheck disable=SC2086 # SECTION OWNER TYPE
		[ -z "$item" ] || has "$1" $item || echo "no $item"
	done < <(tr , '\n' <<<"$3")
}

for c in "${CASES[@]}"; do
	IFS='|' read -r name qname opts traps records <<<"$c"
	# shellcheck disable=SC2086 # kdig's options
	q "$tmp/$name.tcp" "$port" "$qname" MX +tcp $opts
	for t in "${run[@]}"; do
		# shellcheck disable=SC2086 # kdig's options
		q "$tmp/$name.$t" "${tport[$t]}" "$qname" MX +"$t" $opts
		E=$(holds "$tmp/$name.tcp" "$traps" "$records" | sed 's/^/over TCP: /'
			holds "$tmp/$name.$t" "$traps" "$records" | sed "s/^/over $t: /"
			diff <(comparable "$tmp/$name.tcp") <(comparable "$tmp/$name.$t") | head -n 30 || true)
		check "$t: $name ($qname MX $opts) as over TCP; traps [$traps]${records:+; $records}" "$E"
	done
done

knotd_stop "$pid" || true
check "knotd exits on SIGTERM (status 0), port released, no sanitizer report" "$stop_errs"
finish_tap
[ "$failed" = 0 ]
