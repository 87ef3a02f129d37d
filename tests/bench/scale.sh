#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# knotd's start-up time and memory with N zones (default 10000): no module,
# the do-nothing module and mod-mxtrap on every zone; method, goals and figures
# in tests/bench/README.md. Usage: bash tests/bench/scale.sh [N]. Environment:
# SCALE_RUNS (3), SCALE_TCP_WORKERS, SCALE_TIMEOUT (s a start may take), BENCH_KEEP=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/bench/common.sh
BENCH_DNSSEC=0
N=${1:-10000} RUNS=${SCALE_RUNS:-3} cpus=$(nproc)
# knotd 3.2's own choice of workers, written out (the counters are per worker).
UDP_W=$cpus TCP_W=${SCALE_TCP_WORKERS:-$((cpus > 10 ? cpus : 10))} BG_W=$((cpus < 10 ? cpus : 10))
TIMEOUT=${SCALE_TIMEOUT:-$((60 + N / 500))}
bench_positive "$N" "$RUNS" "$TCP_W" "$TIMEOUT"
[ "$N" -le 999999 ] || bail "at most 999999 zones"
bench_init tests/bench/mxtrapempty.so
need_tools knotd knotc kdig dnsperf tail timeout
knotd_start_secs=$TIMEOUT knotd_stop_secs=$TIMEOUT
VARIANTS=(no-module empty-module mod-mxtrap)

# The zones (2 or 3 MX each: every apex MX is trapped), knot.conf's zone list
# and dnsperf's queries, once.
t=$EPOCHREALTIME
mkdir -p "$tmp/zones"
awk -v n="$N" -v dir="$tmp/zones" -v conf="$tmp/zones.conf" -v q="$tmp/queries.txt" 'BEGIN {
	print "zone:" > conf
	for (i = 1; i <= n; i++) {
		z = sprintf("z%06d.scale.test", i); f = dir "/" z ".zone"
		printf "$ORIGIN %s.\n$TTL 3600\n@ SOA ns1 hostmaster 1 3600 900 604800 300\n", z > f
		printf "@ NS ns1\nns1 A 192.0.2.1\n@ MX 10 mx1\n@ MX 20 mx2\nmx1 A 192.0.2.10\nmx2 A 192.0.2.20\n" > f
		if (i % 2) printf "@ MX 30 mx3\nmx3 A 192.0.2.30\n" > f
		close(f)
		printf "  - domain: %s.\n", z > conf
		printf "%s. MX\n", z > q
	}
}'
gen_s=$(bench_calc 1 "$EPOCHREALTIME - $t")

fail() { tail -n 20 "$1/knotd.log" "$1/knotd.out" >&2 2>/dev/null || true; shift; bail "$*"; }
mib() { bench_calc 1 "$1 / 1024"; }

# check_mx DIR VARIANT PORT I: zone I's MX answer, the trap (MX 99 mx1) with mod-mxtrap only.
check_mx() {
	local z want got
	z=$(printf 'z%06d.scale.test.' "$4")
	want="10 mx1.$z 20 mx2.$z $([ $(($4 % 2)) = 0 ] || echo "30 mx3.$z ")$([ "$2" != mod-mxtrap ] || echo "99 mx1.$z ")"
	got=$(bench_answer "$3" "$z" MX | awk '$3 == "mx" { print $4, $5 }' | sort -n | tr '\n' ' ')
	[ "$got" = "$want" ] || fail "$1" "$2: MX of $z: '$got', expected '$want'"
}

# run_one VARIANT RUN: a cold start, then checks; "VARIANT SECONDS RSS_KIB HWM_KIB CPU_S" in RESULTS.
RESULTS=()
declare -A LOGINFO
run_one() {
	local variant=$1 dir=$tmp/run$2-${1%%-*} mod='' port t0 fd tailpid last ticks rss hwm secs cpu i out
	local completed lost noerror trapped=-
	mkdir -p "$dir"
	take_ports port
	case $variant in mod-mxtrap) mod="mod-mxtrap";; empty-module) mod="mod-mxtrapempty";; esac
	{
		bench_conf "$dir" "$port" "$UDP_W" "$TCP_W" "$BG_W" "$mod"
		printf '    file: "%s/%%s.zone"\n    journal-content: none\n' "$tmp/zones"
		cat "$tmp/zones.conf"
	} >"$dir/knot.conf"
	t0=$EPOCHREALTIME
	knotd_start "$dir/knot.conf" "$dir/knotd.out" || fail "$dir" "$variant: knotd did not start"
	# knotd logs "[ZONE] loaded, serial" once a zone is in service: the N-th
	# such line, read as it is written, ends the load; that zone must answer.
	exec {fd}< <(exec tail -n +1 -F -s 0.05 --pid="$knotd_pid" "$dir/knotd.log" 2>/dev/null)
	tailpid=$!
	spawned+=("$tailpid")
	timeout --foreground "$TIMEOUT" grep -m "$N" -F '] loaded, serial' <&"$fd" >"$dir/loaded.txt" || true
	exec {fd}<&-
	stop_pid "$tailpid"
	[ "$(wc -l <"$dir/loaded.txt")" = "$N" ] ||
		fail "$dir" "$variant: $(wc -l <"$dir/loaded.txt") of $N zones loaded within $TIMEOUT s (SCALE_TIMEOUT)"
	last=$(tail -n 1 "$dir/loaded.txt" | grep -o 'z[0-9]*\.scale\.test\.')
	bench_answer "$port" "$last" MX | grep -q ' in mx ' || fail "$dir" "$variant: $last loaded, no MX answer"
	secs=$(bench_calc 3 "$EPOCHREALTIME - $t0")
	# knotd's CPU time (all threads, user + system), less disturbed than the elapsed time.
	ticks=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$knotd_pid/stat")
	cpu=$(bench_calc 2 "$ticks / $(getconf CLK_TCK)")
	sleep 1   # memory settles: not a wait for anything
	read -r rss hwm <<<"$(awk '$1 == "VmRSS:" { r = $2 } $1 == "VmHWM:" { h = $2 } END { print r, h }' \
		"/proc/$knotd_pid/status")"
	RESULTS+=("$variant $secs $rss $hwm $cpu")
	cp "$dir/knotd.log" "$dir/load.log"

	# Correctness, outside the time: 12 zones with kdig, all N with dnsperf,
	# and with mod-mxtrap a trapped answer in every zone's counters.
	for i in 1 "$N" $(shuf -i "1-$N" -n 10 -r); do check_mx "$dir" "$variant" "$port" "$i"; done
	out=$(dnsperf -s 127.0.0.1 -p "$port" -d "$tmp/queries.txt" -n 1 -c 1 -q 20 -t 5 2>&1) ||
		fail "$dir" "dnsperf failed: $out"
	read -r completed lost noerror <<<"$(awk '/Queries completed:/ { c = $3 } /Queries lost:/ { l = $3 }
		/Response codes:/ { for (f = 3; f < NF; f++) if ($f == "NOERROR") e = $(f + 1) + 0 }
		END { print c + 0, l + 0, e + 0 }' <<<"$out")"
	[ "$completed" = "$N" ] && [ "$noerror" = "$N" ] && [ "$lost" = 0 ] ||
		fail "$dir" "$variant: sweep of $N MX queries: completed $completed, NOERROR $noerror, lost $lost"
	if [ "$variant" = mod-mxtrap ]; then
		trapped=$(knotd_ctl "$dir/knot.conf" zone-stats -- mod-mxtrap.trapped 2>&1 | mod_stats |
			awk '$1 == "trapped" && $3 > 0 { n++ } END { print n + 0 }')
		[ "$trapped" = "$N" ] || fail "$dir" "$variant: trapped answers in $trapped of $N zones (knotc zone-stats)"
	fi
	printf '  run %d  %-12s %6.2f s (CPU %6.2f s)  VmRSS %6.1f MiB  VmHWM %6.1f MiB  sweep: %s NOERROR of %s%s\n' \
		"$2" "$variant" "$secs" "$cpu" "$(mib "$rss")" "$(mib "$hwm")" "$noerror" "$N" \
		"$([ "$trapped" = - ] || echo ", trapped in $trapped zones")"
	# The log of the first run of each variant: lines by severity at the end
	# of the load, and those naming the module then and after the queries.
	[ -n "${LOGINFO[$variant]:-}" ] || LOGINFO[$variant]=$(awk -v q=$((N + 13)) '
		NR == FNR { n++; for (f = 1; f <= 3; f++) if ($f ~ /^(debug|info|notice|warning|error|critical):$/) {
			c[substr($f, 1, length($f) - 1)]++; break } }
		/module .mod-mxtrap/ { m[NR == FNR]++ }
		END { printf "%d lines at load (", n; for (l in c) { printf "%s%s %d", s, l, c[l]; s = ", " }
		      printf "), %d naming mod-mxtrap; after %d queries: %d more", m[1], q, m[0] - m[1] }' \
		"$dir/load.log" "$dir/knotd.log")
	bench_stop "$dir"
	rm -rf "$dir"   # the N-zone timers database
}

bench_header "scale benchmark: $N zones, knotd start-up and memory, with and without the module" \
	"bash tests/bench/scale.sh $N   (SCALE_RUNS=$RUNS)"
echo "knotd:     udp-workers $UDP_W, tcp-workers $TCP_W, background-workers $BG_W"
echo "zones:     $N generated in $gen_s s (2 or 3 MX each, all trapped); template default, journal-content none"
echo
for run in $(seq "$RUNS"); do
	for k in 0 1 2; do run_one "${VARIANTS[$(((run + k) % 3))]}" "$run"; done   # the order rotates
done

# Columns of RESULTS: 2 seconds, 3 VmRSS KiB, 4 VmHWM KiB, 5 CPU seconds.
declare -A MED MIN
for c in 2 3 4 5; do
	for v in "${VARIANTS[@]}"; do
		read -r _ "MED[$v,$c]" "MIN[$v,$c]" _ <<<"$(bench_stats "$(printf '%s\n' "${RESULTS[@]}" |
			awk -v v="$v" -v c="$c" '$1 == v { printf "%s ", $c }')")"
	done
done
printf '\nmedians of %d run(s), %d zones:\n' "$RUNS" "$N"
printf '  %-12s %16s %12s %12s %12s\n' variant start-to-answer VmRSS VmHWM "(CPU)"
for v in "${VARIANTS[@]}"; do
	printf '  %-12s %14.2f s %8.1f MiB %8.1f MiB %10.2f s\n' "$v" "${MED[$v,2]}" \
		"$(mib "${MED[$v,3]}")" "$(mib "${MED[$v,4]}")" "${MED[$v,5]}"
done
rat() { bench_calc 3 "${MED[$2,$1]} / ${MED[$3,$1]}"; }   # COLUMN A B
ratios() { # NAME A B NOTE
	printf '  %-12s %16s %12s %12s %12s   (%s)\n' "$1" "$(rat 2 "$2" "$3")" "$(rat 3 "$2" "$3")" \
		"$(rat 4 "$2" "$3")" "$(rat 5 "$2" "$3")" "$4"
}
ratios ratio mod-mxtrap no-module "mod-mxtrap / no-module"
ratios floor empty-module no-module "empty-module / no-module: knotd's own cost of a zone module"
ratios over-floor mod-mxtrap empty-module "mod-mxtrap / empty-module"
per_zone() { bench_calc 0 "(${MED[$1,$2]} - ${MED[no-module,$2]}) * $3 / $N"; }   # VARIANT COLUMN UNIT
echo "  per zone:   mod-mxtrap adds $(per_zone mod-mxtrap 3 1024) bytes VmRSS, $(per_zone mod-mxtrap 2 1e6)" \
	"us start-up ($(per_zone mod-mxtrap 5 1e6) us CPU)"
echo "              of which knotd for any zone module (empty-module) $(per_zone empty-module 3 1024) bytes"
# The fastest start is the least disturbed by other processes.
[ "$RUNS" = 1 ] || printf '  fastest:    no-module %.2f s, mod-mxtrap %.2f s, ratio %s\n' "${MIN[no-module,2]}" \
	"${MIN[mod-mxtrap,2]}" "$(bench_calc 3 "${MIN[mod-mxtrap,2]} / ${MIN[no-module,2]}")"
echo
for c in 2:time 3:VmRSS 4:VmHWM; do
	bench_goal "${c#*:}: mod-mxtrap / no-module" "$(rat "${c%:*}" mod-mxtrap no-module)" "<=" 1.05
done
printf '\nlog (severity info, first run of each variant):\n'
for variant in "${VARIANTS[@]}"; do printf '  %-12s  %s\n' "$variant" "${LOGINFO[$variant]}"; done
