# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Shared by the benchmarks (README.md): knotd's configurations, the queries and
# the answers expected, the signed set-up (BENCH_DNSSEC=1), figures and goals.

BENCH_ZONE=bench.test.
BENCH_DNSSEC=${BENCH_DNSSEC:-0}
BENCH_SEED=""
TAP_NAME=bench   # BENCH_KEEP=1 keeps $tmp (test_cleanup)
export LC_ALL=C
# shellcheck source=tests/lib/common.sh
source tests/lib/common.sh
finish_tap() { :; }   # not TAP: bail prints its reason and exits 1
set -E   # no silent exit (set -e) without the line
trap '[[ $- == *e* && $BASHPID == "$$" ]] && echo "${0##*/}: command failed at line $LINENO" >&2' ERR

# bench_init TARGET...: ./build (tests/setup.sh makes it), not sanitized, with
# the module and the TARGETs built; $tmp.
bench_init() {
	[ -d build ] || bash tests/setup.sh >/dev/null
	ninja -C build module/mxtrap.so "$@" >/dev/null || bail "cannot build"
	[ "$(meson_option build b_sanitize)" = none ] ||
		bail "./build is sanitized; benchmark a normal build (meson setup --reconfigure build -Db_sanitize=none)"
	test_init build
	test_tmp_init
}
bench_positive() { [[ "$* " =~ ^([1-9][0-9]*\ )+$ ]] || bail "not positive numbers: $*"; }

# bench_header TITLE COMMAND: what is measured, with what, where.
bench_header() {
	printf '\n=== mod-mxtrap %s ===\ncommand:   %s\n' "$1" "$2"
	[ "$BENCH_DNSSEC" != 1 ] || echo "zone:      signed by knotd (dnssec-signing: on, ECDSAP256SHA256, default lifetimes)"
	echo "build:     ./build (buildtype=$(meson_option build buildtype)), $(knotd --version)"
	echo "machine:   $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	! awk '{ exit !($1 > 0.5) }' /proc/loadavg ||
		echo "warning:   the machine is busy (load average above 0.5): other processes disturb the figures"
}

# bench_conf DIR PORT UDP TCP BG [MODULE]: knot.conf but the zones (workers
# of each kind, MODULE on the default template, which ends the output).
bench_conf() {
	printf 'module:\n  - id: mod-mxtrap\n    file: "%s"\n' "$PWD/build/module/mxtrap.so"
	printf '  - id: mod-mxtrapempty\n    file: "%s"\n' "$PWD/build/tests/bench/mxtrapempty.so"
	[ "$BENCH_DNSSEC" != 1 ] || printf 'policy:\n  - id: bench\n    algorithm: ECDSAP256SHA256\n'
	printf 'server:\n    rundir: "%s"\n    listen: 127.0.0.1@%s\n' "$1" "$2"
	printf '    udp-workers: %s\n    tcp-workers: %s\n    background-workers: %s\n' "$3" "$4" "$5"
	printf 'log:\n  - target: "%s/knotd.log"\n    any: info\ncontrol:\n    listen: "%s/knot.sock"\n' "$1" "$1"
	printf 'database:\n    storage: "%s"\ntemplate:\n  - id: default\n    storage: "%s"\n' "$1" "$1"
	printf '    zonefile-sync: -1\n'
	[ -z "${6:-}" ] || printf '    module: %s\n' "$6"
	[ "$BENCH_DNSSEC" != 1 ] || printf '    dnssec-signing: on\n    dnssec-policy: bench\n'
}

# bench_launch DIR VARIANT: knotd of VARIANT ready (zone loaded, no query sent),
# BENCH_PORT and knotd_pid set; with BENCH_SEED, it starts with the zone signed.
bench_launch() {
	local dir=$1 zone=bench.test.zone mod=''
	case $2 in
	mxtrap)      mod="mod-mxtrap";;
	hand-edited) zone=bench.test.trap.zone;;
	empty-mod)   mod="mod-mxtrapempty";;
	no-module)   ;;
	esac
	take_ports BENCH_PORT
	cp "tests/bench/zones/$zone" "$dir/bench.test.zone"
	[ -z "$BENCH_SEED" ] || cp -a "$BENCH_SEED/$2/"{keys,journal,timers} "$dir/"
	{
		bench_conf "$dir" "$BENCH_PORT" 1 1 1 "$mod"
		printf 'zone:\n  - domain: %s\n    file: "%s/bench.test.zone"\n' "$BENCH_ZONE" "$dir"
	} >"$dir/knot.conf"
	knotd_start "$dir/knot.conf" "$dir/knotd.out" "$BENCH_ZONE" || bail "knotd ($2) did not start"
}
# bench_stop DIR [PID]: SIGTERM, knotd must end cleanly.
bench_stop() {
	knotd_stop "${2:-$knotd_pid}" || bail "knotd in $1: $stop_errs$(tail -n 20 "$1/knotd.log")"
}

# bench_query KIND: "QNAME QTYPE" (also a dnsperf query file's line).
bench_query() {
	case $1 in
	mx-affected)   echo "bench.test. MX";;   # the module adds MX 99 mail1
	mx-unaffected) echo "single.bench.test. MX";;   # one exchanger: left alone
	a)             echo "www.bench.test. A";;
	esac
}
# bench_ancount VARIANT KIND: records in ANSWER.
bench_ancount() {
	case $BENCH_DNSSEC,$1,$2 in
	1,*,mx-affected) echo 4;;   # 3 MX and their RRSIG
	*,mxtrap,mx-affected | *,hand-edited,mx-affected) echo 3;;
	*,*,mx-affected) echo 2;;
	*) echo 1;;
	esac
}
# bench_counters DIR: mod-mxtrap's counters of the zone, "NAME = VALUE" a line.
bench_counters() {
	knotd_ctl "$1/knot.conf" zone-stats "$BENCH_ZONE" mod-mxtrap 2>&1 | mod_stats
}
# bench_check_counters DIR KIND N: the counters after N queries of KIND.
bench_check_counters() {
	local stats want line
	stats=$(bench_counters "$1")
	case $BENCH_DNSSEC,$2 in
	# The first answer is signed, the others take the signature from the cache.
	1,mx-affected)   want=("trapped = $3" "signatures[cache] = $(($3 - 1))" "signatures[fresh] = 1");;
	*,mx-affected)   want=("trapped = $3");;
	*,mx-unaffected) want=("unchanged[no-backup] = $3");;
	*)               want=("trapped = 0");;
	esac
	for line in "${want[@]}"; do
		grep -qxF -- "$line" <<<"$stats" ||
			bail "expected mod-mxtrap.$line; counters: $(tr '\n' ';' <<<"$stats")"
	done
	if { [ "$BENCH_DNSSEC" = 1 ] || [ "$2" = a ]; } && grep -q unchanged <<<"$stats"; then
		bail "answers left unchanged ($2): $(tr '\n' ';' <<<"$stats")"
	fi
}
# bench_answer PORT QNAME QTYPE [KDIG_OPTION...]: ANSWER of a UDP answer, one
# record a line, lower case, without TTLs.
bench_answer() {
	local port=$1 qname=$2 qtype=$3
	shift 3
	kdig @127.0.0.1 -p "$port" +notcp +retry=2 +timeout=2 +noall +answer "$@" "$qname" "$qtype" |
		awk 'NF { $2 = ""; print tolower($0) }'
}

# bench_dnssec_arm DIR VARIANT: a server started on an empty key store signs
# the zone (no reload: the module reads knotd's keys); the apex MX answer to DO
# has the trap and one RRSIG(MX); mxtrap signs it once, then uses its cache.
signed_mx=''
bench_signed_mx() {
	signed_mx=$(bench_answer "$1" "$BENCH_ZONE" MX +dnssec +bufsize=1232) &&
		grep -q ' mx 99 mail1\.bench\.test\.$' <<<"$signed_mx"
}
bench_dnssec_arm() {
	local stats
	wait_for "the signed apex MX ($2)" 10 bench_signed_mx "$BENCH_PORT" || true
	[ "$(grep -c ' rrsig mx ' <<<"$signed_mx")" = 1 ] && [ "$(grep -c ' in mx ' <<<"$signed_mx")" = 3 ] ||
		bail "$2: the signed apex MX answer needs the trap and one RRSIG(MX): $(tr '\n' '|' <<<"$signed_mx")"
	if [ "$2" = mxtrap ]; then
		stats=$(bench_counters "$1")
		grep -qxF 'signatures[fresh] = 1' <<<"$stats" && ! grep -qF 'signatures[cache]' <<<"$stats" ||
			bail "mxtrap: after the first trapped answer, expected signatures[fresh] = 1 and no cache hit: $stats"
		bench_signed_mx "$BENCH_PORT" && bench_signed_mx "$BENCH_PORT" || true
		bench_check_counters "$1" mx-affected 3
	fi
	printf 'signed:    %-11s apex MX (DO): trap and 1 RRSIG(MX), key tag %s%s\n' "$2" \
		"$(awk '$3 == "rrsig" && $4 == "mx" { print $10 }' <<<"$signed_mx")" \
		"$([ "$2" != mxtrap ] || echo "; signatures[fresh] 1, then [cache] 2 after 2 more")"
}
# bench_dnssec_seed VARIANT...: a first start of each (bench_dnssec_arm), whose
# databases BENCH_SEED keeps for the servers started afterwards.
bench_dnssec_seed() {
	local variant
	for variant in "$@"; do
		mkdir -p "$tmp/seed/$variant"
		bench_launch "$tmp/seed/$variant" "$variant"
		bench_dnssec_arm "$tmp/seed/$variant" "$variant"
		bench_stop "$tmp/seed/$variant"
	done
	BENCH_SEED=$tmp/seed
}
# bench_calc DECIMALS EXPR: an awk expression's value.
bench_calc() { awk "BEGIN { printf \"%.$1f\", $2 }"; }
# bench_stats "V..." : "MEAN MEDIAN MIN MAX".
bench_stats() {
	tr ' ' '\n' <<<"$1" | awk NF | sort -g | awk '{ v[NR] = $1; s += $1 } END {
		printf "%f %f %f %f", s / NR, (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2, v[1], v[NR] }'
}
# bench_goal LABEL VALUE OP LIMIT: GOAL MET or GOAL MISSED (sets MISSED=1).
MISSED=0
bench_goal() {
	local verdict="GOAL MET   "
	awk "BEGIN { exit !($2 $3 $4) }" || { verdict="GOAL MISSED"; MISSED=1; }
	printf '  %s  %-52s %10s   (goal %s %s)\n' "$verdict" "$1" "$2" "$3" "$4"
}
# bench_profile CALLGRIND_FILE N: inclusive instructions per query of
# mxtrap.so's functions (*) and of what they call (>), from callgrind_annotate
# (which may list a function more than once, with and without line information).
bench_profile() {
	callgrind_annotate --inclusive=yes --tree=calling --threshold=100 "$1" >"$1.tree" 2>/dev/null || return 0
	awk -v n="$2" '
		function perq(s) { gsub(",", "", s); return s / n }
		function fname(l) { sub(/ \[[^]]*\]$/, "", l); sub(/ \([0-9,]+x\)$/, "", l); sub(/^.*:/, "", l); return l }
		NR == FNR { if (/\*  / && /mxtrap\.so\]$/) want[fname($0)] = 1; next }
		/^$/ { p = 0; next }
		/^ *[0-9,]+ .*\*  / { p = fname($0) in want }
		p && /^ *[0-9,]+ .*[*>] / {
			cost = perq($1); line = $0
			sub(/^ *[0-9,]+ +\([ 0-9.]+%\) +/, "", line)
			sub(/ \[[^]]*\]$/, "", line)
			if (match(line, /\([0-9,]+x\)/))
				sub(/\([0-9,]+x\)/, sprintf("(%.2f calls/query)", perq(substr(line, RSTART + 1, RLENGTH - 3))), line)
			sub(/^\* +/, "* ", line); sub(/\* [^ ]*\/module\//, "* ", line)
			sub(/> +[^ ]*\/module\//, ">   ", line); sub(/> +\.\/string\/[^:]*:/, ">   ", line)
			printf "%8.1f  %s\n", cost, line
		}' "$1.tree" "$1.tree"
}
