#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Instructions per query of knotd's UDP worker thread under callgrind: mod-mxtrap,
# the hand-edited zone, the empty module, no module (method, goals, figures:
# tests/bench/README.md). Environment: BENCH_N1 (2000), BENCH_N2 (12000),
# BENCH_RUNS (3), BENCH_PROFILE (1, 0, auto: if a goal is missed), BENCH_DNSSEC=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/bench/common.sh
N1=${BENCH_N1:-2000} N2=${BENCH_N2:-12000} RUNS=${BENCH_RUNS:-3} PROFILE=${BENCH_PROFILE:-auto}
bench_positive "$N1" "$N2" "$RUNS"
[ "$N2" -gt "$N1" ] || bail "BENCH_N2 must be greater than BENCH_N1"
bench_init tests/bench/mxtrapempty.so tests/bench/udp_sender
need_tools valgrind callgrind_annotate kdig
knotd_start_secs=120 knotd_stop_secs=120   # under valgrind

DO=() VARIANTS=(mxtrap hand-edited empty-mod no-module) KINDS=(mx-affected mx-unaffected a)
if [ "$BENCH_DNSSEC" = 1 ]; then
	DO=("do") VARIANTS=(mxtrap hand-edited) KINDS=(mx-affected)
	[ -n "${BENCH_PROFILE:-}" ] || PROFILE=1
fi
bench_header "callgrind benchmark: instructions per query (UDP worker thread)" \
	"bash tests/bench/callgrind.sh   (BENCH_N1=$N1 BENCH_N2=$N2 BENCH_RUNS=$RUNS BENCH_DNSSEC=$BENCH_DNSSEC)"
echo "knotd:     valgrind --tool=callgrind --separate-threads=yes knotd -c knot.conf"
echo "queries:   build/tests/bench/udp_sender PORT QNAME QTYPE N ANCOUNT${DO[*]:+ do} (N = $N1 and $N2, one at a time)"
printf 'figure:    (Ir(N2) - Ir(N1)) / (N2 - N1), %d runs each; spread = max - min over the runs\n\n' "$RUNS"
[ "$BENCH_DNSSEC" != 1 ] || { bench_dnssec_seed "${VARIANTS[@]}"; echo; }

# run_one VARIANT KIND N RUN: knotd under callgrind answers N queries; sets
# RUN_IR, the UDP worker's instructions, and RUN_FILE, its profile.
run_one() {
	local dir=$tmp/run.$1.$2.$3.$4 qname qtype out files
	mkdir -p "$dir"
	knotd_wrapper=(valgrind --tool=callgrind --separate-threads=yes --vgdb=no
	               --callgrind-out-file="$dir/cg.out.%p" --log-file="$dir/valgrind.log")
	bench_launch "$dir" "$1"
	knotd_wrapper=()
	read -r qname qtype <<<"$(bench_query "$2")"
	out=$(build/tests/bench/udp_sender "$BENCH_PORT" "$qname" "$qtype" "$3" \
		"$(bench_ancount "$1" "$2")" "${DO[@]}" 2>&1) || bail "$1, $2, N=$3: $out"
	[ "$1" != mxtrap ] || bench_check_counters "$dir" "$2" "$3"
	bench_stop "$dir"
	# The UDP worker is the one thread whose profile calls recvmmsg.
	files=$(grep -l recvmmsg "$dir/cg.out.$knotd_pid"-* 2>/dev/null) || true
	[ "$(wc -w <<<"$files")" = 1 ] || bail "cannot tell the UDP worker thread in $dir (files: ${files:-none})"
	RUN_FILE=$files
	RUN_IR=$(awk '/^summary:/ { print $2; exit }' "$files")
	[[ $RUN_IR =~ ^[0-9]+$ ]] || bail "no summary in $files"
}

declare -A PERQ PROF MEAN
for kind in "${KINDS[@]}"; do
	for run in $(seq "$RUNS"); do
		for variant in "${VARIANTS[@]}"; do
			run_one "$variant" "$kind" "$N1" "$run"
			ir1=$RUN_IR
			run_one "$variant" "$kind" "$N2" "$run"
			pq=$(bench_calc 2 "($RUN_IR - $ir1) / ($N2 - $N1)")
			PERQ[$kind,$variant]+="$pq "
			[ "$variant" != mxtrap ] || PROF[$kind]=$RUN_FILE
			printf '  run %d  %-13s %-11s Ir(%d) = %-10s Ir(%d) = %-10s -> %s /query\n' \
				"$run" "$kind" "$variant" "$N1" "$ir1" "$N2" "$RUN_IR" "$pq"
		done
	done
done

printf '\nInstructions per query (mean over %d runs; spread = max - min):\n%-14s' "$RUNS" query
for variant in "${VARIANTS[@]}"; do printf ' %12s %7s' "$variant" spread; done
echo
for kind in "${KINDS[@]}"; do
	printf '%-14s' "$kind"
	for variant in "${VARIANTS[@]}"; do
		read -r mean _ lo hi <<<"$(bench_stats "${PERQ[$kind,$variant]}")"
		MEAN[$kind,$variant]=$(bench_calc 2 "$mean")
		printf ' %12s %7s' "${MEAN[$kind,$variant]}" "$(bench_calc 2 "$hi - $lo")"
	done
	echo
done
echo
# of_means DECIMALS KIND VARIANT OP VARIANT: MEAN of one variant OP the other's.
of_means() { bench_calc "$1" "${MEAN[$2,$3]} $4 ${MEAN[$2,$5]}"; }
if [ "$BENCH_DNSSEC" = 1 ]; then
	bench_goal "mx-affected, signed, DO: hand-edited / mxtrap" "$(of_means 4 mx-affected hand-edited / mxtrap)" ">=" 0.90
	echo "  for information:"
	echo "    mx-affected    mxtrap / hand-edited (instructions):       $(of_means 4 mx-affected mxtrap / hand-edited)"
	echo "    mx-affected    mxtrap - hand-edited (instructions/query): $(of_means 2 mx-affected mxtrap - hand-edited)"
else
	bench_goal "mx-affected:   mxtrap / hand-edited" "$(of_means 4 mx-affected mxtrap / hand-edited)" "<=" 1.00
	bench_goal "mx-unaffected: mxtrap - empty-mod (instructions/query)" \
		"$(of_means 2 mx-unaffected mxtrap - empty-mod)" "<=" 60
	bench_goal "a: mxtrap - empty-mod (instructions/query)" "$(of_means 2 a mxtrap - empty-mod)" "<=" 10
	echo "  for information:"
	for kind in "${KINDS[@]}"; do
		printf '    %-14s empty-mod - no-module (knotd cost of any module): %s\n' "$kind" \
			"$(of_means 2 "$kind" empty-mod - no-module)"
	done
	printf '    %-14s mxtrap - empty-mod (the trap, module side):      %s\n' mx-affected \
		"$(of_means 2 mx-affected mxtrap - empty-mod)"
fi

if [ "$PROFILE" = 1 ] || { [ "$PROFILE" = auto ] && [ "$MISSED" = 1 ]; }; then
	printf '\nProfile of the mxtrap runs (N=%d, UDP worker): instructions per query, inclusive,\n' "$N2"
	echo "of mxtrap.so's functions (*) and of what they call (>):"
	[ "$BENCH_DNSSEC" != 1 ] || echo "(the run's one fresh signature, sign_rrset, is spread over the N2 queries)"
	for kind in "${KINDS[@]}"; do
		echo "  $kind:"
		bench_profile "${PROF[$kind]}" "$N2" | sed 's/^/    /'
	done
fi
