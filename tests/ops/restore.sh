#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# knotc zone-backup and zone-restore of zones with the module, an unsigned one
# and one knotd signs. A restore resets the zone's modules: knotd unloads the
# module and loads it again (context, key store and signature cache made
# anew) and, from Knot 3.5.4, unloads it once more should that load fail.
# Proves that the module comes through that path: five restores while
# dnsperf sends MX queries with DO, knotd up, the trap back in both zones
# after each (the signed one with its RRSIG(MX)) and 200 answers trapped
# before the next; then a restore without
# load: the counters start from zero (the proof that the reset ran); a clean
# exit and, with the ASan module, no sanitizer report.
#
#   tests/ops/restore.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
set -euo pipefail
TAP_NAME=restore
# shellcheck source=tests/ops/ops.sh
source "$(dirname "$0")/ops.sh" "$@"
need_tools dnsperf
U=example.com. S=signed.test.
take_ports port
dir=$tmp/k
mkdir -p "$dir/zones" "$tmp/backup"
cp "$examples/example.com.zone" "$dir/zones/"
sed "s/^\$ORIGIN example\.com\./\$ORIGIN $S/" "$examples/example.com.zone" >"$dir/zones/${S%.}.zone"
printf '%s\n' server: "    rundir: \"$dir\"" "    listen: 127.0.0.1@$port" "    udp-workers: 2" "    tcp-workers: 1" \
	"    background-workers: 2" log: "  - target: stderr" "    any: info" control: "    listen: \"$dir/knot.sock\"" \
	database: "    storage: \"$dir\"" module: "  - id: mod-mxtrap" "    file: \"$module\"" \
	template: "  - id: default" "    storage: \"$dir/zones\"" "    file: \"%s.zone\"" "    zonefile-sync: -1" \
	"    module: mod-mxtrap" zone: "  - domain: $U" "  - domain: $S" "    dnssec-signing: on" >"$dir/knot.conf"
ctl() { knotd_ctl "$dir/knot.conf" "$@"; }
# trapped ZONE: ZONE's apex MX set with DO has the trap (and, signed, an RRSIG(MX)).
trapped() {
	q "$tmp/$1.out" "$port" "$1" MX +dnssec
	[ "$(mx_of "$tmp/$1.out" | oneline)" = "10 mail1.$1,20 mail2.$1,99 mail1.$1" ] || return 1
	[ "$1" != "$S" ] || section "$tmp/$1.out" ANSWER | awk '$4 == "RRSIG" && $5 == "MX" { f = 1 } END { exit !f }'
}
counter() { ctl -f zone-stats "$1" mod-mxtrap.trapped 2>/dev/null | mod_stats | awk '$1 == "trapped" { print $3 }'; }
both_trapped() { trapped "$U" && trapped "$S"; }

knotd_start "$dir/knot.conf" "$dir/knotd.log" "$U" "$S" || bail "knotd does not start"
version=$(knotd_version)
note "knotd $version on 127.0.0.1@$port"
errs=
for z in "$U" "$S"; do
	trapped "$z" || errs+="$z: [$(mx_of "$tmp/$z.out" | oneline)]"$'\n'"$(section "$tmp/$z.out" ANSWER)"$'\n'
done
check "before: the trap in $U and, signed, in $S (MX with DO)" "$errs"

out=$(ctl -b zone-backup "$U" "$S" +backupdir "$tmp/backup" 2>&1) || true
check "knotc -b zone-backup of both zones" "$([ -d "$tmp/backup" ] && [ -n "$(ls -A "$tmp/backup")" ] || echo "$out")"

printf '%s MX\n' "$U" "$S" "lists.$U" "solo.$S" >"$tmp/queries.txt"
# Until the restores are done (SIGINT: dnsperf stops and reports), 120 s at most.
dnsperf -s 127.0.0.1 -p "$port" -d "$tmp/queries.txt" -D -l 120 -Q 2000 -c 8 -t 1 >"$tmp/dnsperf.out" 2>&1 &
load_pid=$!
spawned+=("$load_pid")
# loaded: dnsperf's answers have been trapped 200 times since the last reset.
loaded() { [ "$(counter "$U")" -ge 200 ] 2>/dev/null; }
wait_for "dnsperf's first answers" 30 loaded || bail "no answers to dnsperf: $(cat "$tmp/dnsperf.out")"
errs=
for i in 1 2 3 4 5; do
	out=$(ctl -b zone-restore "$U" "$S" +backupdir "$tmp/backup" 2>&1) || errs+="knotc zone-restore $i: $out"$'\n'
	wait_for "the trap in both zones after restore $i" 30 both_trapped ||
		errs+="after restore $i: $U [$(mx_of "$tmp/$U.out" | oneline)], $S [$(mx_of "$tmp/$S.out" | oneline)]"$'\n'
	wait_for "200 trapped answers after restore $i" 30 loaded || errs+="after restore $i: trapped $(counter "$U")"$'\n'
	kill -0 "$knotd_pid" 2>/dev/null || bail "knotd exited: $(tail -n 20 "$dir/knotd.log" | tr '\n' '|')"
done
kill -INT "$load_pid" 2>/dev/null || errs+="dnsperf ended before the restores did"$'\n'
wait "$load_pid" || errs+="dnsperf: exit status $?"$'\n'
forget_pid "$load_pid"
note "dnsperf: $(grep -E '^ *(Queries (sent|completed|lost)|Response codes):' "$tmp/dnsperf.out" | tr -s ' \n' ' ')"
grep -q '^ *Queries completed: *[1-9]' "$tmp/dnsperf.out" || errs+="no answers to dnsperf"$'\n'
check "5 zone-restores under load: knotd answers, the trap back in both zones and 200 trapped answers after each" "$errs"

# Quiet now: after a blocking restore nothing has queried the zone since.
errs=
both_trapped || errs+="before: no trap"$'\n'
before=$(counter "$U")
out=$(ctl -b zone-restore "$U" "$S" +backupdir "$tmp/backup" 2>&1) || errs+="knotc zone-restore: $out"$'\n'
after=$(counter "$U")
[ "${before:-0}" -gt 0 ] && [ "$after" = 0 ] || errs+="trapped ${before:-none} before, ${after:-none} after"
wait_for "the trap in both zones" 30 both_trapped || errs+=$'\n'"then no trap"
check "a restore without load: $U's counter trapped back to 0 (the module reset)" "$errs"

errs=$(grep -E 'mod-mxtrap.*(error|failed)|failed to load' "$dir/knotd.log" || true)
knotd_stop || errs+=$'\n'"$stop_errs"
check "knotd exits on SIGTERM (status 0), no module error logged, no sanitizer report" "$errs"
finish_tap
[ "$failed" = 0 ]
