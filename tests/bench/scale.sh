#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Scale benchmark: knotd start-up and memory with many zones, with mod-mxtrap
# enabled on all of them and without it (on demand, not a meson test).
#
# Usage (from the repository root, after the build):
#   bash tests/bench/scale.sh [N]          # N zones, default 10000
#   SCALE_RUNS=1 bash tests/bench/scale.sh 100000
# Environment: SCALE_RUNS (runs per variant, default 3, the order alternating
#   from run to run; medians are reported), SCALE_UDP_WORKERS,
#   SCALE_TCP_WORKERS, SCALE_BG_WORKERS (default: what knotd 3.2 picks
#   itself on this machine, written into both configurations),
#   SCALE_TIMEOUT (seconds a start may take, default 60 + N/500),
#   BENCH_KEEP=1 (keep the temporary directory).
#
# Method
# - N zone files z000001.scale.test. ... are generated once by a single awk
#   process: SOA, NS, 2 MX (even zones) or 3 MX (odd zones), A records. Every
#   zone's apex MX is one the module traps (at least two exchangers).
# - Three variants, configurations identical but for one line: the `module:`
#   section loads build/module/mxtrap.so and the do-nothing baseline
#   build/tests/bench/mxtrapempty.so in all; the default template, which all
#   N zones use, carries `module: mod-mxtrap` (mod-mxtrap), `module:
#   mod-mxtrapempty` (empty-module: knotd's own cost of any zone module) or
#   nothing (no-module).
#   Same workers, `journal-content: none`, `zonefile-sync: -1`, log to a
#   file at severity info, loopback and a free high port.
# - Each start is cold: a new run directory (storage: timers, journal). The
#   time is taken from the launch of knotd to the moment the last zone
#   answers: knotd logs "[zone] loaded, serial ..." at info after the zone
#   is published (zone_update_commit), so a `tail -F | grep -m N` on the log
#   returns when the N-th zone is in service (no polling of N zones during
#   the timed part), and one kdig MX query of that N-th zone must then
#   answer (included in the time).
# - Then, outside the timed part: 1 s of rest, VmRSS and VmHWM from
#   /proc/PID/status; kdig MX of the first, last and 10 random zones (the
#   module's trap "MX 99 mx1" present exactly once with mod-mxtrap, absent
#   without); a dnsperf sweep of one MX query per zone (all N must answer
#   NOERROR, none lost); with mod-mxtrap, `knotc zone-stats` must show a
#   trapped answer in every zone. Any failed check ends the script with a
#   non-zero status: it cannot measure a module that does not work.
# - Log: lines knotd wrote by the end of the load, per severity, and those
#   naming the module (mod-mxtrap), then those added by the queries.
#
# Output: one line per run, then the medians per variant, the ratios
# mod-mxtrap / no-module, the difference per zone and "goal <= 1.05: met /
# NOT MET" for the time, VmRSS and VmHWM. A missed goal does not fail the
# script. Also shown: knotd's CPU time (user + system, all threads) up to
# the answer and, with SCALE_RUNS > 1, the fastest start of each variant:
# on a busy machine (the load average is printed) the elapsed times vary by
# tens of percent from run to run, the memory figures hardly at all.
# Notes: knotd sets the modules of all zones up one zone after another in
# its main thread before it starts loading them, so the module's load
# function adds its time per zone to the start-up directly. Each zone's
# module instance carries its counters once per UDP and TCP worker (knotd
# 3.2 starts at least 10 TCP workers), hence SCALE_*_WORKERS.
set -Eeuo pipefail
# No silent exits (but not from subshells, nor once the EXIT trap's set +e is on).
trap '[[ $- == *e* && $BASHPID == "$$" ]] && echo "scale.sh: command failed at line $LINENO" >&2' ERR
export LC_ALL=C   # "." in $EPOCHREALTIME and awk numbers

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

N=${1:-10000}
RUNS=${SCALE_RUNS:-3}
cpus=$(nproc)
UDP_W=${SCALE_UDP_WORKERS:-$cpus}
TCP_W=${SCALE_TCP_WORKERS:-$((cpus > 10 ? cpus : 10))}
BG_W=${SCALE_BG_WORKERS:-$((cpus < 10 ? cpus : 10))}
TIMEOUT=${SCALE_TIMEOUT:-$((60 + N / 500))}
GOAL=1.05
for v in N RUNS UDP_W TCP_W BG_W TIMEOUT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "scale.sh: $v must be a positive number" >&2; exit 2; }
done
[ "$N" -le 999999 ] || { echo "scale.sh: at most 999999 zones" >&2; exit 2; }
export PATH="$PATH:/usr/sbin:/sbin"
for tool in knotd knotc kdig dnsperf ninja tail timeout; do
	command -v "$tool" >/dev/null || { echo "scale.sh: $tool not found" >&2; exit 1; }
done

# The module and the baseline built in ./build (no tests/setup.sh), $tmp.
BENCH_NO_SETUP=1
# shellcheck source=tests/bench/common.sh
source tests/bench/common.sh
bench_init module/mxtrap.so tests/bench/mxtrapempty.so
knotd_start_secs=$TIMEOUT knotd_stop_secs=$TIMEOUT
MODULE=$root/build/module/mxtrap.so
EMPTY_MODULE=$root/build/tests/bench/mxtrapempty.so
VARIANTS=(no-module empty-module mod-mxtrap)
ZONES=$tmp/zones
mkdir -p "$ZONES"

#
# Zones, the zone list of knot.conf and dnsperf's queries, once.
#
t=$EPOCHREALTIME
awk -v n="$N" -v dir="$ZONES" -v conf="$tmp/zones.conf" -v q="$tmp/queries.txt" 'BEGIN {
	print "zone:" > conf
	for (i = 1; i <= n; i++) {
		z = sprintf("z%06d.scale.test", i)
		f = dir "/" z ".zone"
		printf "$ORIGIN %s.\n$TTL 3600\n@ SOA ns1 hostmaster 1 3600 900 604800 300\n", z > f
		printf "@ NS ns1\nns1 A 192.0.2.1\n@ MX 10 mx1\n@ MX 20 mx2\n" > f
		printf "mx1 A 192.0.2.10\nmx2 A 192.0.2.20\n" > f
		if (i % 2) printf "@ MX 30 mx3\nmx3 A 192.0.2.30\n" > f
		close(f)
		printf "  - domain: %s.\n", z > conf
		printf "%s. MX\n", z > q
	}
}'
gen_s=$(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
zname() { printf 'z%06d.scale.test.' "$1"; }

#! DIR/knot.conf of a variant (no-module, empty-module, mod-mxtrap) on PORT.
write_conf() {
	local dir=$1 variant=$2 port=$3
	{
		printf 'module:\n  - id: mod-mxtrap\n    file: "%s"\n' "$MODULE"
		printf '  - id: mod-mxtrapempty\n    file: "%s"\n\n' "$EMPTY_MODULE"
		printf 'server:\n    rundir: "%s"\n    listen: 127.0.0.1@%s\n' "$dir" "$port"
		printf '    udp-workers: %s\n    tcp-workers: %s\n    background-workers: %s\n\n' \
			"$UDP_W" "$TCP_W" "$BG_W"
		printf 'log:\n  - target: "%s/knotd.log"\n    any: info\n\n' "$dir"
		printf 'control:\n    listen: "%s/knot.sock"\n\n' "$dir"
		printf 'database:\n    storage: "%s"\n\n' "$dir"
		printf 'template:\n  - id: default\n    storage: "%s"\n    file: "%s/%%s.zone"\n' "$dir" "$ZONES"
		printf '    journal-content: none\n    zonefile-sync: -1\n'
		case $variant in
		mod-mxtrap) printf '    module: mod-mxtrap\n';;
		empty-module) printf '    module: mod-mxtrapempty\n';;
		esac
		printf '\n'
		cat "$tmp/zones.conf"
	} >"$dir/knot.conf"
}

fail() { # dir message...
	local dir=$1
	shift
	echo "scale.sh: $*" >&2
	tail -n 20 "$dir/knotd.log" "$dir/knotd.out" >&2 2>/dev/null || true
	exit 1
}

#! Checks the MX answer of zone I in a variant (trap once, or none).
check_mx() {
	local dir=$1 variant=$2 port=$3 i=$4 z ans want traps
	z=$(zname "$i")
	ans=$(bench_answer "$port" "$z" MX) || ans=""
	want=$(( i % 2 ? 3 : 2 ))
	traps=$(grep -c " mx 99 mx1\.$z\$" <<<"$ans") || traps=0
	if [ "$variant" = mod-mxtrap ]; then
		want=$((want + 1))
		[ "$traps" -eq 1 ] || fail "$dir" "$variant: no trap (MX 99 mx1) in the answer for $z: $(tr '\n' '|' <<<"$ans")"
	else
		[ "$traps" -eq 0 ] || fail "$dir" "$variant: a trap in the answer for $z: $(tr '\n' '|' <<<"$ans")"
	fi
	[ "$(grep -c ' in mx ' <<<"$ans")" -eq "$want" ] ||
		fail "$dir" "$variant: expected $want MX for $z, got: $(tr '\n' '|' <<<"$ans")"
}

#! One start of a variant; appends "variant seconds rss_kib hwm_kib" to RESULTS
#  and, for the first run of a variant, the log counts to LOGINFO.
RESULTS=()
declare -A LOGINFO
run_one() {
	local variant=$1 run=$2 dir port pid tailpid t0 t1 loaded last rc
	dir=$tmp/run$run-${variant%%-*}   # (not the module's name: the log greps for it)
	rm -rf "$dir"
	mkdir -p "$dir"
	take_ports port
	write_conf "$dir" "$variant" "$port"
	mkfifo "$dir/log.fifo"
	t0=$EPOCHREALTIME
	knotd_start "$dir/knot.conf" "$dir/knotd.out" || fail "$dir" "$variant: knotd did not start"
	pid=$knotd_pid
	# Ends at EOF (knotd gone, --pid) or when stopped below.
	tail -n +1 -F -s 0.05 --pid="$pid" "$dir/knotd.log" >"$dir/log.fifo" 2>/dev/null &
	tailpid=$!
	spawned+=("$tailpid")
	rc=0
	timeout --foreground "$TIMEOUT" grep -m "$N" -F '] loaded, serial' <"$dir/log.fifo" >"$dir/loaded.txt" || rc=$?
	case $rc in 130 | 143) exit "$rc" ;; esac   # interrupted (Ctrl-C): no diagnosis
	stop_pid "$tailpid"
	loaded=$(wc -l <"$dir/loaded.txt")
	if [ "$loaded" -ne "$N" ]; then
		[ "$rc" -ne 124 ] || fail "$dir" "$variant: $loaded of $N zones loaded after $TIMEOUT s (SCALE_TIMEOUT)"
		fail "$dir" "$variant: $loaded of $N zones loaded, then knotd ended or the log stopped"
	fi
	# The N-th zone loaded must answer now (part of the time).
	last=$(tail -n 1 "$dir/loaded.txt" | sed -n 's/.*\[\(z[0-9]*\.scale\.test\.\)\] loaded, serial.*/\1/p')
	[ -n "$last" ] || fail "$dir" "cannot read the zone name in: $(tail -n 1 "$dir/loaded.txt")"
	bench_answer "$port" "$last" MX | grep -q ' in mx ' ||
		fail "$dir" "$variant: $last logged as loaded but does not answer MX"
	t1=$EPOCHREALTIME
	# knotd's CPU time (all threads, user + system): less disturbed by other
	# processes than the elapsed time.
	local ticks
	ticks=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")

	sleep 1
	local rss hwm
	read -r rss hwm < <(awk '$1 == "VmRSS:" { r = $2 } $1 == "VmHWM:" { h = $2 } END { print r, h }' "/proc/$pid/status")
	local secs cpu
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	cpu=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
	RESULTS+=("$variant $secs $rss $hwm $cpu")

	# Log at the end of the load: before any query.
	local log_load mod_load
	log_load=$(wc -l <"$dir/knotd.log")
	mod_load=$(grep -cF "module 'mod-mxtrap" "$dir/knotd.log") || mod_load=0

	# Correctness, outside the time.
	local i
	for i in 1 "$N" $((RANDOM % N + 1)) $((RANDOM % N + 1)) $((RANDOM % N + 1)) $((RANDOM % N + 1)) \
		 $((RANDOM % N + 1)) $((RANDOM % N + 1)) $((RANDOM % N + 1)) $((RANDOM % N + 1)) \
		 $((RANDOM % N + 1)) $((RANDOM % N + 1)); do
		check_mx "$dir" "$variant" "$port" "$i"
	done
	local out completed noerror lost
	out=$(dnsperf -s 127.0.0.1 -p "$port" -d "$tmp/queries.txt" -n 1 -c 1 -q 20 -t 5 2>&1) ||
		fail "$dir" "dnsperf failed: $out"
	completed=$(awk '/Queries completed:/ { print $3 }' <<<"$out")
	lost=$(awk '/Queries lost:/ { print $3 }' <<<"$out")
	noerror=$(awk '/Response codes:/ { for (f = 3; f < NF; f++) if ($f == "NOERROR") print $(f + 1) }' <<<"$out")
	if [ "${completed:-0}" -ne "$N" ] || [ "${noerror:-0}" -ne "$N" ] || [ "${lost:-1}" -ne 0 ]; then
		fail "$dir" "$variant: sweep of $N MX queries: completed ${completed:-?}, NOERROR ${noerror:-?}, lost ${lost:-?}"
	fi
	local trapped=-
	if [ "$variant" = mod-mxtrap ]; then
		local stats
		stats=$(bench_knotc "$dir" zone-stats -- mod-mxtrap 2>&1) ||
			fail "$dir" "$variant: knotc zone-stats failed: $(head -n 3 <<<"$stats")"
		trapped=$(awk '/\] mod-mxtrap\.trapped = [1-9]/ { n++ } END { print n + 0 }' <<<"$stats")
		[ "$trapped" -eq "$N" ] ||
			fail "$dir" "$variant: knotc zone-stats shows trapped answers in $trapped of $N zones"
	fi

	printf '  run %d  %-10s  %6.2f s (CPU %6.2f s)  VmRSS %6.1f MiB  VmHWM %6.1f MiB  sweep: %s NOERROR of %s%s\n' \
		"$run" "$variant" "$secs" "$cpu" "$(mib "$rss")" "$(mib "$hwm")" "$noerror" "$N" \
		"$([ "$trapped" = - ] || echo ", trapped in $trapped zones")"

	if [ -z "${LOGINFO[$variant]:-}" ]; then
		local levels mod_after
		levels=$(head -n "$log_load" "$dir/knotd.log" |
			awk '{ for (f = 1; f <= 3; f++) if ($f ~ /^(debug|info|notice|warning|error|critical):$/) { c[$f]++; break } }
			     END { for (l in c) printf "%s %d, ", substr(l, 1, length(l) - 1), c[l] }')
		mod_after=$(grep -cF "module 'mod-mxtrap" "$dir/knotd.log") || mod_after=0
		LOGINFO[$variant]="$log_load lines at load (${levels%, }), $mod_load naming mod-mxtrap; after $((N + 13)) queries: $((mod_after - mod_load)) more"
		# The module's lines, time stamps left out, zone names folded.
		LOGINFO[$variant]+=$({ grep -F "module 'mod-mxtrap" "$dir/knotd.log" || true; } | cut -d' ' -f2- |
			sed 's/\[z[0-9]*\.scale\.test\.\]/[ZONE]/' | sort | uniq -c | head -n 5 |
			awk '{ printf "\n                %s", $0 }')
	fi

	bench_stop "$dir" "$pid"
	rm -rf "$dir"   # N-zone timers database, no longer needed
}

echo
echo "=== mod-mxtrap scale benchmark: $N zones, knotd start-up and memory, with and without the module ==="
echo "command:   bash tests/bench/scale.sh $N   (SCALE_RUNS=$RUNS)"
echo "knotd:     $(knotd --version); udp-workers $UDP_W, tcp-workers $TCP_W, background-workers $BG_W"
echo "zones:     $N generated in $gen_s s (2 or 3 MX each, all trapped); template default, journal-content none"
echo "machine:   $cpus CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
if awk '{ exit !($1 > 0.5) }' /proc/loadavg; then
	echo "warning:   the machine is busy (load average above 0.5): other processes disturb the figures"
fi
echo

for run in $(seq "$RUNS"); do
	# The order rotates from run to run.
	for k in 0 1 2; do
		run_one "${VARIANTS[$(((run + k) % 3))]}" "$run"
	done
done

median() { # variant column
	printf '%s\n' "${RESULTS[@]}" | awk -v v="$1" -v c="$2" '$1 == v { print $c }' | sort -g |
		awk '{ x[NR] = $1 } END { printf "%.6f", (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2 }'
}
# Columns of RESULTS: 2 seconds, 3 VmRSS KiB, 4 VmHWM KiB, 5 CPU seconds.
declare -A MED RATIO FLOOR OVER
for c in 2 3 4 5; do
	for variant in "${VARIANTS[@]}"; do
		MED[$variant,$c]=$(median "$variant" "$c")
	done
	RATIO[$c]=$(awk -v a="${MED[mod-mxtrap,$c]}" -v b="${MED[no-module,$c]}" 'BEGIN { printf "%.3f", a / b }')
	FLOOR[$c]=$(awk -v a="${MED[empty-module,$c]}" -v b="${MED[no-module,$c]}" 'BEGIN { printf "%.3f", a / b }')
	OVER[$c]=$(awk -v a="${MED[mod-mxtrap,$c]}" -v b="${MED[empty-module,$c]}" 'BEGIN { printf "%.3f", a / b }')
done

echo
echo "medians of $RUNS run(s), $N zones:"
printf '  %-12s %16s %12s %12s %12s\n' variant start-to-answer VmRSS VmHWM "(CPU)"
for variant in "${VARIANTS[@]}"; do
	printf '  %-12s %14.2f s %8.1f MiB %8.1f MiB %10.2f s\n' "$variant" "${MED[$variant,2]}" \
		"$(mib "${MED[$variant,3]}")" "$(mib "${MED[$variant,4]}")" "${MED[$variant,5]}"
done
printf '  %-12s %16s %12s %12s %12s   (mod-mxtrap / no-module)\n' ratio \
	"${RATIO[2]}" "${RATIO[3]}" "${RATIO[4]}" "${RATIO[5]}"
printf '  %-12s %16s %12s %12s %12s   (empty-module / no-module: knotd'"'"'s own cost of a zone module)\n' floor \
	"${FLOOR[2]}" "${FLOOR[3]}" "${FLOOR[4]}" "${FLOOR[5]}"
printf '  %-12s %16s %12s %12s %12s   (mod-mxtrap / empty-module)\n' over-floor \
	"${OVER[2]}" "${OVER[3]}" "${OVER[4]}" "${OVER[5]}"
awk -v n="$N" -v t="${MED[mod-mxtrap,2]}" -v t0="${MED[no-module,2]}" \
	-v r="${MED[mod-mxtrap,3]}" -v r0="${MED[no-module,3]}" -v re="${MED[empty-module,3]}" \
	-v c="${MED[mod-mxtrap,5]}" -v c0="${MED[no-module,5]}" 'BEGIN {
	printf "  per zone:   mod-mxtrap adds %.0f bytes VmRSS, %.0f us start-up (%.0f us CPU)\n",
		(r - r0) * 1024 / n, (t - t0) * 1e6 / n, (c - c0) * 1e6 / n
	printf "              of which knotd for any zone module (empty-module) %.0f bytes\n", (re - r0) * 1024 / n }'
if [ "$RUNS" -gt 1 ]; then
	# The fastest start is the least disturbed by other processes.
	fast() { printf '%s\n' "${RESULTS[@]}" | awk -v v="$1" '$1 == v { print $2 }' | sort -g | head -n 1; }
	awk -v a="$(fast mod-mxtrap)" -v b="$(fast no-module)" 'BEGIN {
		printf "  fastest:    no-module %.2f s, mod-mxtrap %.2f s, ratio %.3f\n", b, a, a / b }'
fi
verdict=""
for c in 2 3 4; do
	case $c in 2) name="time" ;; 3) name="VmRSS" ;; 4) name="VmHWM" ;; esac
	if awk -v r="${RATIO[$c]}" -v g="$GOAL" 'BEGIN { exit !(r <= g) }'; then
		verdict+="$name ${RATIO[$c]} met, "
	else
		verdict+="$name ${RATIO[$c]} NOT MET, "
	fi
done
echo "goal <= $GOAL: ${verdict%, }"
echo
echo "log (severity info, first run of each variant):"
for variant in "${VARIANTS[@]}"; do
	printf '  %-12s  %s\n' "$variant" "${LOGINFO[$variant]}"
done
