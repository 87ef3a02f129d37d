#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A signed zone trapped by its secondary: conf-examples/signer.conf (knotd
# signs example.com: a KSK and a ZSK) and signed-secondary.conf (the zone by
# AXFR/IXFR, copies of the ZSK files in its module's key store), served on
# loopback; a validating unbound for each server, the signer's KSK as trust
# anchor, every answer validated afresh (cache flushed). The ZSK is copied by
# the command of signed-secondary.conf's comments, taken from the file: its
# keymgr and awk as written, cp standing in for the rsync over ssh to the
# secondary (the paths /var/lib/knot/... are the servers' storage). Proves:
#   a  after the AXFR both servers answer the same trapped MX sets with DO,
#      AD through unbound (and without DO);
#   b  the secondary's key store holds the zone's ZSK files and no KSK file
#      (key IDs as keymgr lists them);
#   c  a ZSK rollover on the signer (knotc zone-key-rollover, short timers)
#      with the new key's file not copied: the secondary's DO answers signed
#      by the new ZSK are valid (AD) without the trap, counted as
#      unchanged[key-missing], logged once; after the copy command, trapped
#      again within the module's 10 s retry (a 60 s deadline; the seconds
#      taken as a note);
#   d  through the rollover no answer of either server is bogus, the
#      signer's all trapped, the secondary's trapped share as a note; its zone
#      file and journal hold the zone's own RRSIGs only; after a restart the
#      secondary's first DO answers are trapped;
#   e  every server stops cleanly.
# And conf-examples/secondary.conf (no keys) as a secondary of the same
# signer: DO answers valid without the trap (unchanged[signed]), answers
# without DO trapped.
#
#   tests/ops/signed-secondary.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
set -euo pipefail
TAP_NAME=signed-secondary
# shellcheck source=tests/ops/ops.sh
source "$(dirname "$0")/ops.sh" "$@"
# shellcheck source=tests/lib/unbound.sh
source "$src_dir/../lib/unbound.sh"
need_tools keymgr unbound unbound-control unbound-checkconf
start_time=$SECONDS
Z=example.com.
PLAIN="10 mail1.$Z,20 mail2.$Z" TRAPPED="10 mail1.$Z,20 mail2.$Z,99 mail1.$Z"
LISTS_TRAPPED="10 mail2.$Z,50 mail1.$Z,99 mail2.$Z"
# A ZSK rollover in seconds: the new ZSK signs TTL s after it is published
# (propagation-delay 0 + dnskey-ttl), the old one goes TTL s after that.
TTL=4
render_pair signer signed-secondary -e "s/propagation-delay: 1h/propagation-delay: 0/" \
	-e "s/dnskey-ttl: 1h/dnskey-ttl: $TTL/" -e "s/zone-max-ttl: 1h/zone-max-ttl: $TTL/"
grep -q "dnskey-ttl: $TTL" "$tmp/p/knot.conf" || bail "signer.conf: no dnskey-ttl to shorten"
port_k='' port_up='' port_upc='' port_us='' port_usc='' port_uk='' port_ukc=''
take_ports port_k port_up port_upc port_us port_usc port_uk port_ukc
declare -A uport=([p]=$port_up [s]=$port_us [k]=$port_uk) dport=([p]=$port_p [s]=$port_s [k]=$port_k)
conf_p=$tmp/p/knot.conf conf_s=$tmp/s/knot.conf

# --- answers -------------------------------------------------------------------
# facts FILE: a kdig answer as a_rcode, a_ad (yes/no), a_mx ("PREF EXCHANGE,"
# sorted, without the last comma), a_trap (yes/no), a_sig (RRSIG(MX) key tags).
facts() {
	a_rcode=$(rcode_of "$1")
	a_ad=no
	[[ " $(sed -n 's/^;; Flags: \([^;]*\);.*/\1/p' "$1") " != *" ad "* ]] || a_ad=yes
	a_mx=$(mx_of "$1" | oneline)
	a_trap=no
	[[ ",$a_mx," != *",99 "* ]] || a_trap=yes
	a_sig=$(section "$1" ANSWER | awk '$4 == "RRSIG" && $5 == "MX" { print $11 }' | sort -n | paste -sd ' ')
}
# via SERVER NAME: NAME MX with DO through SERVER's unbound, cache flushed first.
via() {
	unbound_ask "$tmp/u$1" "${uport[$1]}" "$tmp/v$1.out" "$Z" "$2"
	facts "$tmp/v$1.out"
}
# direct SERVER NAME [KDIG_OPTION...]: NAME MX with DO from SERVER's knotd.
direct() {
	local srv=$1 name=$2
	shift 2
	q "$tmp/d$srv.out" "${dport[$srv]}" "$name" MX +dnssec "$@"
	facts "$tmp/d$srv.out"
}
# first N: the first N lines of the input, all of it read (no SIGPIPE under pipefail).
first() { awk -v n="$1" 'NR <= n'; }
why() { echo "${a_rcode:-no answer}, AD $a_ad, MX [$a_mx], RRSIG(MX) [$a_sig]"; }
# valid_ad: the last answer NOERROR with AD (validated).
valid_ad() { [ "$a_rcode" = NOERROR ] && [ "$a_ad" = yes ]; }
serial_of() { q "$tmp/soa-$1.out" "${dport[$1]}" "$Z" SOA; section "$tmp/soa-$1.out" ANSWER | awk '$4 == "SOA" { print $7 }'; }
# dnskey_tags SERVER: the key tags of the DNSKEY set SERVER serves.
dnskey_tags() {
	q "$tmp/dk-$1.out" "${dport[$1]}" "$Z" DNSKEY +multi
	awk '/; [KZC]SK, .*id = [0-9]+$/ { print $NF }' "$tmp/dk-$1.out" | sort -n | paste -sd ' '
}
# keys: the signer's keys, "ID ROLE TAG" (ROLE KSK, ZSK or CSK), from keymgr -e.
keys() {
	{ kenv timeout 30 keymgr -c "$conf_p" -e "$Z" list 2>/dev/null || true; } |
		awk '$2 ~ /^ksk=/ && $3 ~ /^zsk=/ && $4 ~ /^tag=/ { r = $2 == "ksk=yes" ? ($3 == "zsk=yes" ? "CSK" : "KSK") : "ZSK"
			t = $4; sub(/^tag=0*/, "", t); print $1, r, t }'
}
stat_of() { stats_line "$1" "$Z" | tr ' ' '\n' | paste -d ' ' - - - | awk -v k="$2" '$1 == k { print $3 }'; }
counter() { local v; v=$(stat_of "$1" "$2"); echo "${v:-0}"; }

# --- the copy command, as signed-secondary.conf gives it ---------------------------
doc=$(sed -n '/^#   keymgr /,/^#     rsync /p' "$examples/signed-secondary.conf" | sed 's/^#  *//')
[ "$(wc -l <<<"$doc")" = 3 ] || bail "signed-secondary.conf: no keymgr | awk | rsync command"
read -r -a hop <<<"$(sed -n 3p <<<"$doc")"
# rsync ... --files-from=- SOURCE/ [USER@]HOST:DEST/: SOURCE and DEST under
# /var/lib/knot, Debian's storage of both servers.
copy_src=${hop[-2]} copy_dest=${hop[-1]#*:}
[[ $copy_src == /var/lib/knot/* && $copy_dest == /var/lib/knot/* ]] || bail "the command's rsync: [${hop[*]}]"
copy_src=$tmp/p/storage/${copy_src#/var/lib/knot/} copy_dest=$tmp/s/storage/${copy_dest#/var/lib/knot/}
copy_cmd="$(head -n 2 <<<"$doc" | sed -e "s|/etc/knot/knot.conf|$conf_p|" -e 's/^keymgr /kenv keymgr /')
	(cd \"$copy_src\" && xargs -r cp -p -t \"$copy_dest\")"
# copy_zsks: the command with cp for rsync (the secondary's directory is local).
copy_zsks() { eval "$copy_cmd"; }
awk_line=$(sed -n 2p <<<"$doc")
check "README's 'For operators' gives the copy command of signed-secondary.conf (its awk filter)" \
	"$(grep -qF -- "$awk_line" "$src_dir/../../README.md" || echo "not in README.md: $awk_line")"
# secondary's key store (keystore signer-zsks, config @STORAGE@/signer-zsks): the copy's destination.
[ "$copy_dest" = "$(sed -n 's/^ *config: "\(.*\)"$/\1/p' "$conf_s")/" ] || bail "rsync destination $copy_dest is not the key store of signed-secondary.conf"
mkdir -p "$copy_dest"

# key_files_ok WANT_ZSK_IDS: the secondary's key store holds exactly these
# files, each a ZSK of the signer, none the signer's KSK (whose file is there).
key_files_ok() {
	local want=$1 have id e='' ks
	have=$(find "$copy_dest" -type f -printf '%f\n' | sort | paste -sd ' ')
	[ "$have" = "$(tr ' ' '\n' <<<"$want" | sed 's/$/.pem/' | sort | paste -sd ' ')" ] || e+="files [$have], want the ZSKs [$want]"$'\n'
	ks=$(keys | awk '$2 != "ZSK" { print $1 }')
	[ -n "$ks" ] || e+="keymgr lists no KSK"$'\n'
	for id in $ks; do
		[ -f "$copy_src/$id.pem" ] || e+="the KSK $id has no file on the signer ($copy_src)"$'\n'
		[ ! -e "$copy_dest/$id.pem" ] || e+="the KSK's file $id.pem is on the secondary"$'\n'
	done
	printf '%s' "$e"
}

# --- servers ---------------------------------------------------------------------
cp "$examples/${Z%.}.zone" "$tmp/p/zones/"
knotd_start "$conf_p" "$tmp/p/knotd.log" "$Z" || bail "the signer does not start"
pid_p=$knotd_pid
# The signer publishes the first KSK; its DS submission confirmed, as a parent would.
knotd_ctl "$conf_p" zone-ksk-submitted "$Z" >/dev/null 2>&1 || true
zsk0=$(keys | awk '$2 == "ZSK" { print $1 }') tag0=$(keys | awk '$2 == "ZSK" { print $3 }')
[ "$(wc -w <<<"$zsk0")" = 1 ] || bail "the signer has not one ZSK: $(keys | oneline)"
out=$(copy_zsks 2>&1) || bail "the copy command: $out"
knotd_start "$conf_s" "$tmp/s/knotd.log" "$Z" || bail "the secondary does not get $Z"
pid_s=$knotd_pid

unbound_anchors "$tmp/anchor.out" "$port_p" "$Z" >"$tmp/anchors"
[ -s "$tmp/anchors" ] || bail "no KSK DNSKEY from the signer"
declare -A unbound_pids=()
# start_unbound SERVER: its unbound, validating the zone's SOA within 30 s.
start_unbound() {
	unbound_start "$tmp/u$1" "${uport[$1]}" "$2" "$tmp/anchors" "$Z ${dport[$1]}" || bail "unbound configuration: $unbound_err"
	unbound_pids[$1]=$unbound_pid
	soa_ad() { kill -0 "${unbound_pids[$1]}" 2>/dev/null && q "$tmp/ur$1.out" "${uport[$1]}" "$Z" SOA +dnssec && facts "$tmp/ur$1.out" && valid_ad; }
	wait_for "unbound of $1" 30 soa_ad "$1" || { indent "$tmp/u$1/unbound.out"; bail "unbound does not validate $Z SOA from $1"; }
}
start_unbound p "$port_upc"
start_unbound s "$port_usc"
note "signer knotd $pid_p @$port_p, secondary knotd $pid_s @$port_s, unbound @$port_up and @$port_us"

# --- a: after the AXFR -------------------------------------------------------------
e=
[ "$(serial_of s)" = "$(serial_of p)" ] || e+="serials: secondary $(serial_of s), signer $(serial_of p)"$'\n'
grep -qE "\[$Z\] AXFR, incoming, remote 127\.0\.0\.1@$port_p( [A-Z]+)?, finished" "$tmp/s/knotd.log" || e+="no AXFR in the secondary's log"$'\n'
for name in "$Z" "lists.$Z"; do
	want=$TRAPPED && [ "$name" = "$Z" ] || want=$LISTS_TRAPPED
	for srv in p s; do
		via "$srv" "$name"
		valid_ad && [ "$a_mx" = "$want" ] || e+="$name via $srv's unbound: $(why)"$'\n'"$(unbound_log_of "$tmp/u$srv" "$name")"$'\n'
		direct "$srv" "$name"
		[ "$a_mx" = "$want" ] && [ "$a_sig" = "$tag0" ] || e+="$name with DO from $srv: $(why), want one RRSIG(MX) by ZSK $tag0"$'\n'
		direct "$srv" "$name" +nodnssec
		[ "$a_mx" = "$want" ] && [ -z "$a_sig" ] || e+="$name without DO from $srv: $(why)"$'\n'
	done
done
check "a: after the AXFR both servers answer $Z and lists.$Z with the trap: AD through unbound, RRSIG(MX) by the ZSK $tag0; without DO too" "$e"

# --- b: the secondary's key store ---------------------------------------------------
check "b: the secondary's key store holds the ZSK's file $zsk0.pem alone, not the KSK's (keymgr: $(keys | awk '{ print $2, $3 }' | oneline))" \
	"$(key_files_ok "$zsk0")"

# --- the secondary without keys (conf-examples/secondary.conf) ------------------------
render secondary "$tmp/k" -e "s/192\.0\.2\.1@53/127.0.0.1@$port_p/g" -e "s/192\.0\.2\.2@53/127.0.0.1@$port_k/g" \
	-e 's/192\.0\.2\.[12]\([^0-9]\|$\)/127.0.0.1\1/g'
# keyless_log_errs: the module's log lines on the secondary without keys must
# be one notice: signed answers go out without the trap, and what to set.
keyless_log_errs() {
	local lines
	lines=$(grep -F "[$Z] module 'mod-mxtrap'" "$tmp/k/knotd.log" || true)
	[ "$(grep -c . <<<"$lines")" = 1 ] && [[ $lines == *"signed MX answers go out without the trap: this server does not sign the zone; to trap them, set dnssec: on and a policy"* ]] ||
		echo "the module's log lines: ${lines:-none}, want the one notice"
}
if knotd_start "$tmp/k/knot.conf" "$tmp/k/knotd.log" "$Z"; then
	pid_k=$knotd_pid
	start_unbound k "$port_ukc"
	e='' u0=$(counter "$tmp/k/knot.conf" 'unchanged[signed]') t0=$(counter "$tmp/k/knot.conf" trapped) answers=0
	for name in "$Z" "lists.$Z"; do
		want=$TRAPPED plain=$PLAIN && [ "$name" = "$Z" ] || want=$LISTS_TRAPPED plain="10 mail2.$Z,50 mail1.$Z"
		via k "$name"
		valid_ad && [ "$a_mx" = "$plain" ] || e+="$name via unbound: $(why), want AD, [$plain]"$'\n'"$(unbound_log_of "$tmp/uk" "$name")"$'\n'
		direct k "$name"
		[ "$a_mx" = "$plain" ] && [ "$a_sig" = "$tag0" ] || e+="$name with DO: $(why), want [$plain] and the zone's RRSIG(MX) by $tag0"$'\n'
		direct k "$name" +nodnssec
		[ "$a_mx" = "$want" ] && [ -z "$a_sig" ] || e+="$name without DO: $(why), want [$want]"$'\n'
		answers=$((answers + 1))
	done
	u=$(($(counter "$tmp/k/knot.conf" 'unchanged[signed]') - u0)) t=$(($(counter "$tmp/k/knot.conf" trapped) - t0))
	[ "$u" -ge $((2 * answers)) ] && [ "$t" = "$answers" ] || e+="unchanged[signed] +$u, trapped +$t: $(stats_line "$tmp/k/knot.conf" "$Z")"$'\n'
	e+=$(keyless_log_errs)
	check "secondary.conf (no keys) of the signed zone: DO answers AD without the trap, the zone's RRSIG(MX) (unchanged[signed] +$u); without DO trapped (+$t); one notice in the log" "$e"
	knotd_stop "$pid_k" || true
	check "secondary.conf: knotd exits on SIGTERM (status 0), port released, no sanitizer report" "$stop_errs"
	unbound_stop "$tmp/uk" "${unbound_pids[k]}" "$port_uk"
	check "secondary.conf: its unbound stopped by SIGTERM" "$stop_errs"
else
	not_ok "secondary.conf: knotd gets $Z from the signer"
fi

# --- c, d: a ZSK rollover on the signer, its new key not yet copied -----------------
# sample: the apex MX with DO of each server through its unbound, and of the
# secondary from its knotd (d_sig: its RRSIG(MX) tags); one line per answer in
# $tmp/samples: "PHASE SERVER RCODE AD TRAP RRSIG-TAGS" (SERVER p, s, or sd:
# the secondary's knotd).
phase=before bogus_notes=0
sample() {
	local srv
	for srv in p s; do
		via "$srv" "$Z"
		echo "$phase $srv ${a_rcode:-none} $a_ad $a_trap ${a_sig// /+}" >>"$tmp/samples"
		# The first few answers that did not validate, with unbound's reason.
		if ! valid_ad && [ $((bogus_notes += 1)) -le 5 ]; then
			note "$(stamp) via $srv's unbound: $(why)" "$(unbound_log_of "$tmp/u$srv" "$Z")"
		fi
	done
	v_trap=$a_trap v_ad=$a_ad
	direct s "$Z"
	d_sig=$a_sig
	echo "$phase sd ${a_rcode:-none} - $a_trap ${a_sig// /+}" >>"$tmp/samples"
}
stamp() { printf '+%ss' "$((SECONDS - start_time))"; }
# sample_until DESC SECS COND...: sample, then COND, until COND succeeds or SECS
# pass; after one such timeout, 20 s at most (the failure is told, and the
# test ends within meson's timeout).
waits_failed=0
sample_until() {
	local desc=$1 secs=$2
	shift 2
	[ "$waits_failed" = 0 ] || [ "$secs" -le 20 ] || secs=20
	local deadline=$((SECONDS + secs))
	while :; do
		sample
		"$@" && return 0
		[ "$SECONDS" -lt "$deadline" ] || { note "timeout ($secs s) waiting for $desc"; waits_failed=1; return 1; }
		sleep 0.2
	done
}
mod_lines() { grep -F "module 'mod-mxtrap" "$tmp/s/knotd.log" || true; }
zsk1='' tag1=''
new_zsk_published() {
	zsk1=$(keys | awk -v o="$zsk0" '$2 == "ZSK" && $1 != o { print $1 }') tag1=$(keys | awk -v o="$zsk0" '$2 == "ZSK" && $1 != o { print $3 }')
	[ -n "$tag1" ] && [[ " $(dnskey_tags s) " == *" $tag1 "* ]]
}
new_zsk_signs() { [ -n "$tag1" ] && [ "$d_sig" = "$tag1" ]; }
window_seen() {
	[ "$(awk '$1 == "missing" && $2 == "sd"' "$tmp/samples" | wc -l)" -ge 3 ] &&
		[ "$(counter "$conf_s" 'unchanged[key-missing]')" -ge 3 ] && [ -n "$(mod_lines)" ]
}
trap_back() { [ "$v_trap" = yes ] && [ "$v_ad" = yes ]; }
rolled() { [[ " $(dnskey_tags s) " != *" $tag0 "* ]] && [[ " $(dnskey_tags p) " != *" $tag0 "* ]] && [ "$(serial_of s)" = "$(serial_of p)" ]; }

: >"$tmp/samples"
sample
e=$(knotd_ctl "$conf_p" zone-key-rollover "$Z" zsk 2>&1) && e= || e="knotc zone-key-rollover: $e"
roll_t0=$SECONDS
sample_until "the new ZSK in the secondary's DNSKEY set" 60 new_zsk_published || e+="no new ZSK in the DNSKEY set of the secondary: keys $(keys | oneline), DNSKEY [$(dnskey_tags s)]"$'\n'
check "c: knotc zone-key-rollover $Z zsk on the signer: the new ZSK $tag1 published, on the secondary too (+$((SECONDS - roll_t0)) s)" "$e"
note "c: ZSK $tag0 -> $tag1 ($zsk1); its file not copied"
e='' km0=$(counter "$conf_s" 'unchanged[key-missing]')
sample_until "RRSIG(MX) by the new ZSK on the secondary" 60 new_zsk_signs || e+="the secondary's RRSIG(MX) [$d_sig], want [$tag1]"$'\n'
phase=missing
note "c: the new ZSK $tag1 signs the zone on the secondary (+$((SECONDS - roll_t0)) s)"
sample_until "key-missing answers, counted and logged" 30 window_seen || e+="not seen: 3 answers, the counter, a log line"$'\n'
read -r n_sd n_s_plain < <(awk '$1 == "missing" && $2 == "sd" { n++ } $1 == "missing" && $2 == "s" && $3 == "NOERROR" && $4 == "yes" && $5 == "no" { plain++ }
	END { print n + 0, plain + 0 }' "$tmp/samples")
n_s=$(awk '$1 == "missing" && $2 == "s"' "$tmp/samples" | wc -l)
bad=$(awk -v t="$tag1" '$1 == "missing" && (($2 == "s" && ($3 != "NOERROR" || $4 != "yes" || $5 != "no")) ||
	($2 == "sd" && ($3 != "NOERROR" || $5 != "no" || $6 != t)))' "$tmp/samples" | first 5)
[ -z "$bad" ] || e+="answers (PHASE SERVER RCODE AD TRAP RRSIG): $bad"$'\n'
km=$(($(counter "$conf_s" 'unchanged[key-missing]') - km0))
[ "$km" -ge "$n_sd" ] || e+="unchanged[key-missing] +$km for $n_sd DO answers from knotd: $(stats_line "$conf_s" "$Z")"$'\n'
lines=$(mod_lines)
[ "$(grep -c . <<<"$lines")" = 1 ] && [[ $lines == *"key $tag1 (ID $zsk1)"* ]] || e+="the module's log lines: ${lines:-none}"$'\n'
check "c: new ZSK's file not on the secondary: $n_s_plain of $n_s answers via unbound AD without the trap, $n_sd from knotd with the zone's RRSIG(MX) by $tag1; unchanged[key-missing] +$km; one notice" "$e"
note "c: the secondary logged: ${lines#*notice: }"

phase=copied
out=$(copy_zsks 2>&1) || not_ok "the copy command after the rollover: $out"
t_copy=$EPOCHREALTIME
sample_until "the trap on the secondary after the copy" 60 trap_back && t_back=$EPOCHREALTIME || t_back=
phase=back
recovery=$([ -z "$t_back" ] || awk -v a="$t_copy" -v b="$t_back" 'BEGIN { printf "%.1f", b - a }')
note "recovery time after the key sync: ${recovery:-none} s (from the copy to the first trapped answer validated through unbound; the module looks again every 10 s)"
check "c: the copy command (cp for rsync), then the secondary traps again, AD through unbound, within 60 s (${recovery:-never} s)" \
	"$([ -n "$t_back" ] || echo "no trapped answer within 60 s: $(stats_line "$conf_s" "$Z")")"
check "b: after the copy the secondary's key store holds the ZSKs $zsk0.pem and $zsk1.pem, not the KSK's" "$(key_files_ok "$zsk0 $zsk1")"
e=
sample_until "the old ZSK withdrawn on both servers" 60 rolled || e+="DNSKEY [$(dnskey_tags p)] on the signer, [$(dnskey_tags s)] on the secondary"$'\n'
sample
note "d: rollover over after $((SECONDS - roll_t0)) s"
bad=$(awk '$2 != "sd" && ($3 != "NOERROR" || $4 != "yes")' "$tmp/samples" | first 5)
[ -z "$bad" ] || e+="not validated (PHASE SERVER RCODE AD TRAP RRSIG): $bad"$'\n'
bad=$(awk '$2 == "p" && $5 != "yes"' "$tmp/samples" | first 5)
[ -z "$bad" ] || e+="the signer without the trap: $bad"$'\n'
bad=$(awk '$1 == "back" && $2 != "p" && $5 != "yes"' "$tmp/samples" | first 5)
[ -z "$bad" ] || e+="the secondary without the trap after it came back: $bad"$'\n'
bad=$(awk -v t="$tag1" '$2 != "p" && $5 == "no" && $6 != t' "$tmp/samples" | first 5)
[ -z "$bad" ] || e+="the secondary without the trap, not signed by the new ZSK: $bad"$'\n'
[ "$(mod_lines | grep -c .)" = 1 ] || e+="the module's log lines on the secondary: $(mod_lines)"$'\n'
read -r s_valid s_trapped p_valid p_n < <(awk '$2 == "s" && $4 == "yes" { v++; if ($5 == "yes") t++ } $2 == "p" { pn++; if ($4 == "yes") pv++ }
	END { print v + 0, t + 0, pv + 0, pn + 0 }' "$tmp/samples")
share=$(awk -v t="$s_trapped" -v v="$s_valid" 'BEGIN { printf "%.1f", v ? 100 * t / v : 0 }')
note "trapped share of validated answers on the secondary through the rollover: $s_trapped of $s_valid ($share %)"
check "d: through the rollover every answer AD through unbound, none bogus (signer $p_valid of $p_n, all trapped; secondary $s_valid, without the trap only signed by the new ZSK before its copy; its one notice)" "$e"

# The old ZSK deleted on the signer: out of keymgr's list, its file gone (Knot
# 3.6 keeps it in the trash bin for trash-delay), the copy left on the secondary.
old_deleted() { ! keys | grep -q "^$zsk0 " && { [ -n "$trash_bin" ] || [ ! -e "$copy_src/$zsk0.pem" ]; }; }
trash_bin='' && version_at_least "$(knotd_version)" 3.6 && trash_bin=" (Knot 3.6: its file in the trash bin)"
wait_for "the old ZSK deleted on the signer" 30 old_deleted && e='' ||
	e="keymgr: $(keys | oneline); file $copy_src/$zsk0.pem: $([ -e "$copy_src/$zsk0.pem" ] && echo there || echo gone)"$'\n'
[ -f "$copy_dest/$zsk0.pem" ] || e+="its copy is gone from the secondary"$'\n'
check "d: the signer deleted the old ZSK after the rollover$trash_bin; its copy stays on the secondary (as signed-secondary.conf says)" "$e"

# The secondary's zone file and journal: what the signer made, never the trap.
e=
zonefile_serial() { awk '$3 == "SOA" { print $6; exit }' "$1" 2>/dev/null; }
synced() { [ "$(zonefile_serial "$tmp/s/zones/${Z%.}.zone")" = "$(serial_of s)" ] && [ "$(zonefile_serial "$tmp/p/zones/${Z%.}.zone")" = "$(serial_of p)" ]; }
wait_for "the zone files at the served serial" 30 synced || e+="zone file serials $(zonefile_serial "$tmp/s/zones/${Z%.}.zone") (secondary), $(zonefile_serial "$tmp/p/zones/${Z%.}.zone") (signer)"$'\n'
# rrsig_mx FILE: its RRSIG(MX) records (zone file or kjournalprint format), blanks squeezed.
rrsig_mx() { awk '!/^;/ && $3 == "RRSIG" && $4 == "MX" { $1 = $1; print }' "$@" | sort -u; }
traps() { awk '!/^;/ && $3 == "MX" && $4 == 99' "$@"; }
rrsig_mx "$tmp/s/zones/${Z%.}.zone" >"$tmp/s.rrsig"
rrsig_mx "$tmp/p/zones/${Z%.}.zone" >"$tmp/p.rrsig"
[ -s "$tmp/s.rrsig" ] && cmp -s "$tmp/s.rrsig" "$tmp/p.rrsig" || e+="the RRSIG(MX) of the zone files differ:"$'\n'"$(diff "$tmp/p.rrsig" "$tmp/s.rrsig" | first 6)"$'\n'
e+=$(traps "$tmp/s/zones/${Z%.}.zone")
what="zone file"
if command -v kjournalprint >/dev/null; then
	for srv in p s; do kenv timeout 30 kjournalprint -c "$tmp/$srv/knot.conf" -x "$Z" >"$tmp/$srv.journal" 2>&1 || true; done
	rrsig_mx "$tmp/s.journal" >"$tmp/sj.rrsig"
	rrsig_mx "$tmp/p.journal" >"$tmp/pj.rrsig"
	[ -s "$tmp/sj.rrsig" ] || e+="no RRSIG(MX) in the secondary's journal: $(head -n 3 "$tmp/s.journal")"$'\n'
	extra=$(comm -23 "$tmp/sj.rrsig" "$tmp/pj.rrsig" | first 3)
	[ -z "$extra" ] || e+="RRSIG(MX) in the secondary's journal, not in the signer's: $extra"$'\n'
	e+=$(traps "$tmp/s.journal")
	what+=" and journal (kjournalprint)"
fi
check "d: the secondary's $what: the signer's RRSIG(MX) records ($(grep -c . "$tmp/s.rrsig") in the zone file), no trap record" "$e"

# --- restart; e: the end ---------------------------------------------------------------
knotd_stop "$pid_s" || true
check "e: the secondary exits on SIGTERM (status 0), port released, no sanitizer report" "$stop_errs"
if knotd_start "$conf_s" "$tmp/s/knotd-restart.log" "$Z"; then
	pid_s=$knotd_pid e=
	direct s "$Z"
	[ "$a_mx" = "$TRAPPED" ] && [ "$a_sig" = "$tag1" ] || e+="with DO from knotd: $(why)"$'\n'
	via s "$Z"
	valid_ad && [ "$a_mx" = "$TRAPPED" ] || e+="through unbound: $(why)"$'\n'"$(unbound_log_of "$tmp/us" "$Z")"$'\n'
	check "d: after a restart the secondary's first DO answers are trapped, RRSIG(MX) by $tag1, AD through unbound" "$e"
	knotd_stop "$pid_s" || true
	check "e: the secondary, restarted, exits on SIGTERM (status 0), port released, no sanitizer report" "$stop_errs"
else
	not_ok "d: the secondary starts again"
fi
knotd_stop "$pid_p" || true
check "e: the signer exits on SIGTERM (status 0), port released, no sanitizer report" "$stop_errs"
for srv in p s; do
	unbound_stop "$tmp/u$srv" "${unbound_pids[$srv]}" "${uport[$srv]}"
	check "e: the unbound of $([ "$srv" = p ] && echo the signer || echo the secondary) stops on SIGTERM" "$stop_errs"
done
note "runtime $((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
