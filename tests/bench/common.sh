# SPDX-License-Identifier: GPL-3.0-or-later
# What only the benchmarks share (tests/bench/callgrind.sh, throughput.sh,
# scale.sh): the build they measure, the variants and their configurations,
# the queries and the answers expected, the signed set-up and callgrind's
# profile. Processes, ports, the temporary directory and knotd's start and
# stop are tests/lib/common.sh's (sourced here; bench_init sets them up).
#
# BENCH_DNSSEC=1 (callgrind.sh, throughput.sh): the zone is signed by knotd
# (policy "bench": ECDSAP256SHA256, default lifetimes), the queries are DO MX
# queries at the apex and only mxtrap and hand-edited are compared (signed
# answers: the module's RRSIG over the merged set vs the zone's). BENCH_SEED,
# when set, is a directory with a prepared server per variant
# (BENCH_SEED/VARIANT, see bench_dnssec_seed): its databases (keys, journal,
# timers) are copied into every new server directory, so that knotd starts
# with the zone signed.

BENCH_DIR=tests/bench
BENCH_ZONE=bench.test.
BENCH_DNSSEC=${BENCH_DNSSEC:-0}
BENCH_SEED=""
TAP_NAME=bench
# shellcheck source=tests/lib/common.sh
source tests/lib/common.sh
finish_tap() { :; }   # (not TAP: bail prints its reason and exits 1)

# bench_init TARGET...: ./build (tests/setup.sh unless BENCH_NO_SETUP=1), the
# TARGETs built, a normal (not sanitized) build; $tmp and the EXIT trap that
# stops every process started (BENCH_KEEP=1 keeps $tmp).
bench_init() {
	[ "${BENCH_NO_SETUP:-0}" = 1 ] || bash tests/setup.sh >/dev/null
	ninja -C build "$@" >/dev/null || bail "cannot build $*"
	[ "$(meson_option build b_sanitize)" = none ] ||
		bail "./build is sanitized; benchmark a normal build (meson setup --reconfigure build -Db_sanitize=none)"
	test_init build
	test_tmp_init
}

bench_build_info() {
	echo "./build (buildtype=$(meson_option build buildtype)), module build/module/mxtrap.so, baseline build/tests/bench/mxtrapempty.so"
}

# bench_write_conf DIR VARIANT PORT: DIR/knot.conf of a variant (mxtrap,
# hand-edited, empty-mod, no-module), 1 worker of each kind, log to a file.
bench_write_conf() {
	local dir=$1 port=$3 zone=bench.test.zone id='' file=''
	case $2 in
	mxtrap)      id=mod-mxtrap      file=$PWD/build/module/mxtrap.so;;
	hand-edited) zone=bench.test.trap.zone;;
	empty-mod)   id=mod-mxtrapempty file=$PWD/build/tests/bench/mxtrapempty.so;;
	no-module)   ;;
	*) bail "unknown variant $2";;
	esac
	cp "$BENCH_DIR/zones/$zone" "$dir/bench.test.zone"
	[ -z "$BENCH_SEED" ] || cp -a "$BENCH_SEED/$2/keys" "$BENCH_SEED/$2/journal" "$BENCH_SEED/$2/timers" "$dir/"
	{
		[ -z "$id" ] || printf 'module:\n  - id: %s\n    file: "%s"\n' "$id" "$file"
		[ "$BENCH_DNSSEC" != 1 ] || printf 'policy:\n  - id: bench\n    algorithm: ECDSAP256SHA256\n'
		printf 'server:\n    rundir: "%s"\n    listen: 127.0.0.1@%s\n' "$dir" "$port"
		printf '    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n'
		printf 'log:\n  - target: "%s/knotd.log"\n    any: info\n' "$dir"
		printf 'control:\n    listen: "%s/knot.sock"\n' "$dir"
		printf 'database:\n    storage: "%s"\n' "$dir"
		printf 'template:\n  - id: default\n    storage: "%s"\n    zonefile-sync: -1\n' "$dir"
		printf 'zone:\n  - domain: %s\n    file: "%s/bench.test.zone"\n' "$BENCH_ZONE" "$dir"
		[ -z "$id" ] || printf '    module: %s\n' "$id"
		[ "$BENCH_DNSSEC" != 1 ] || printf '    dnssec-signing: on\n    dnssec-policy: bench\n'
	} >"$dir/knot.conf"
}

# bench_launch DIR VARIANT: its configuration on a free port, knotd started
# behind knotd_wrapper (knotd_start: ready when its control socket reports
# the zone loaded, no DNS query sent). Sets BENCH_PORT and knotd_pid.
bench_launch() {
	take_ports BENCH_PORT
	bench_write_conf "$1" "$2" "$BENCH_PORT"
	knotd_start "$1/knot.conf" "$1/knotd.out" "$BENCH_ZONE" || bail "knotd ($2) did not start"
}
# bench_stop DIR [PID]: knotd stopped by SIGTERM, cleanly (knotd_stop).
bench_stop() {
	knotd_stop "${2:-$knotd_pid}" || bail "knotd in $1: $stop_errs$(tail -n 20 "$1/knotd.log")"
}
bench_knotc() { local dir=$1; shift; knotd_ctl "$dir/knot.conf" "$@"; }

# bench_query KIND: QNAME and QTYPE number; bench_query_file KIND: dnsperf's file.
bench_query() {
	case $1 in
	mx-affected)   echo "bench.test. 15";;
	mx-unaffected) echo "single.bench.test. 15";;
	a)             echo "www.bench.test. 1";;
	*) bail "unknown query kind $1";;
	esac
}
bench_query_file() { echo "$BENCH_DIR/queries/$1.txt"; }

# bench_expected_ancount VARIANT KIND: records in ANSWER.
bench_expected_ancount() {
	case $BENCH_DNSSEC,$1,$2 in
	1,*,mx-affected) echo 4;;   # 3 MX and their RRSIG
	*,mxtrap,mx-affected | *,hand-edited,mx-affected) echo 3;;
	*,*,mx-affected) echo 2;;
	*) echo 1;;
	esac
}

# bench_check_counters DIR KIND N: mod-mxtrap's counters after N queries.
bench_check_counters() {
	local dir=$1 kind=$2 n=$3 stats want=() line
	stats=$(bench_knotc "$dir" zone-stats "$BENCH_ZONE" mod-mxtrap 2>&1) || { echo "bench: knotc zone-stats: $stats" >&2; return 1; }
	case $BENCH_DNSSEC,$kind in
	# The first answer is signed, the others take the signature from the cache.
	1,mx-affected)   want=("trapped = $n" "signatures[cache] = $((n - 1))" "signatures[fresh] = 1");;
	*,mx-affected)   want=("trapped = $n");;
	*,mx-unaffected) want=("unchanged[no-backup] = $n");;
	*)               want=("trapped = 0");;
	esac
	for line in "${want[@]}"; do
		grep -qxF -- "[$BENCH_ZONE] mod-mxtrap.$line" <<<"$stats" ||
			{ echo "bench: expected 'mod-mxtrap.$line' in the module counters, got: $stats" >&2; return 1; }
	done
	if { [ "$BENCH_DNSSEC" = 1 ] || [ "$kind" = a ]; } && grep -q 'unchanged' <<<"$stats"; then
		echo "bench: answers left unchanged ($kind): $stats" >&2
		return 1
	fi
}

# bench_answer PORT QNAME QTYPE [KDIG_OPTION...]: the ANSWER section of a UDP
# answer, one record a line, lower case, TTL left out.
bench_answer() {
	local port=$1 qname=$2 qtype=$3
	shift 3
	kdig @127.0.0.1 -p "$port" +notcp +retry=2 +timeout=2 +noall +answer "$@" "$qname" "$qtype" |
		awk 'NF { $2 = ""; print tolower($0) }'
}

# bench_dnssec_arm DIR VARIANT PORT: BENCH_DNSSEC, a server just started on
# an empty key store (knotd makes the keys after the module loaded; the module
# needs no reload): the apex MX answer to a DO query has the trap and one
# RRSIG(MX); for mxtrap the first answer's signature is made fresh, the next
# two come from the cache (counters). Prints what was checked.
bench_dnssec_arm() {
	local dir=$1 variant=$2 port=$3 ans='' stats
	for _ in $(seq 100); do
		ans=$(bench_answer "$port" "$BENCH_ZONE" MX +dnssec +bufsize=1232) || ans=''
		grep -q ' mx 99 mail1\.bench\.test\.$' <<<"$ans" && break
		ans=''
		sleep 0.1
	done
	if [ "$(grep -c ' rrsig mx ' <<<"$ans")" != 1 ] || [ "$(grep -c ' in mx ' <<<"$ans")" != 3 ]; then
		echo "bench: $variant: the signed apex MX answer needs the trap and one RRSIG(MX): ${ans:-none within 10 s}" >&2
		return 1
	fi
	if [ "$variant" = mxtrap ]; then
		stats=$(bench_knotc "$dir" zone-stats "$BENCH_ZONE" mod-mxtrap 2>&1) || stats=''
		if ! grep -qxF "[$BENCH_ZONE] mod-mxtrap.signatures[fresh] = 1" <<<"$stats" || grep -qF 'signatures[cache]' <<<"$stats"; then
			echo "bench: mxtrap: after the first trapped answer, expected signatures[fresh] = 1 and no cache hit: $stats" >&2
			return 1
		fi
		bench_answer "$port" "$BENCH_ZONE" MX +dnssec +bufsize=1232 >/dev/null
		bench_answer "$port" "$BENCH_ZONE" MX +dnssec +bufsize=1232 >/dev/null
		bench_check_counters "$dir" mx-affected 3 || return 1
	fi
	printf 'signed:    %-11s apex MX (DO): trap and 1 RRSIG(MX), key tag %s%s\n' "$variant" \
		"$(awk '$3 == "rrsig" && $4 == "mx" { print $10 }' <<<"$ans")" \
		"$([ "$variant" = mxtrap ] && echo "; signatures[fresh] 1, then [cache] 2 after 2 more")"
}

# bench_dnssec_seed VARIANT...: BENCH_SEED/VARIANT prepared for each (first
# start on an empty key store, bench_dnssec_arm, clean stop), BENCH_SEED set:
# servers started afterwards begin with the zone signed.
bench_dnssec_seed() {
	local seed=$tmp/seed variant
	BENCH_SEED=""
	for variant in "$@"; do
		mkdir -p "$seed/$variant"
		bench_launch "$seed/$variant" "$variant"
		bench_dnssec_arm "$seed/$variant" "$variant" "$BENCH_PORT" || return 1
		bench_stop "$seed/$variant"
	done
	BENCH_SEED=$seed
}

# bench_profile CALLGRIND_FILE N: inclusive Ir per query of mxtrap.so's
# functions and of what they call. callgrind_annotate may list a function
# twice (with and without line information): both blocks are shown.
bench_profile() {
	local file=$1 n=$2 tree fns
	tree=$(callgrind_annotate --inclusive=yes --tree=calling --threshold=100 "$file" 2>/dev/null) || return 0
	fns=$(awk '/\*  / && /mxtrap\.so\]/ { sub(/ \[[^]]*\]$/, ""); sub(/^.*:/, ""); print }' <<<"$tree" | sort -u)
	awk -v n="$n" -v fns="$fns" '
		function perq(s) { gsub(",", "", s); return s / n }
		function fname(l) { sub(/ \[[^]]*\]$/, "", l); sub(/ \([0-9,]+x\)$/, "", l); sub(/^.*:/, "", l); return l }
		BEGIN { split(fns, a, "\n"); for (k in a) want[a[k]] = 1 }
		/^$/ { p = 0; next }
		/^ *[0-9,]+ .*\*  / { p = (fname($0) in want) }
		p && /^ *[0-9,]+ .*[*>] / {
			cost = perq($1)
			line = $0
			sub(/^ *[0-9,]+ +\([ 0-9.]+%\) +/, "", line)
			sub(/ \[[^]]*\]$/, "", line)
			if (match(line, /\([0-9,]+x\)/)) {
				calls = substr(line, RSTART + 1, RLENGTH - 3)
				sub(/ \([0-9,]+x\)/, sprintf(" (%.2f calls/query)", perq(calls)), line)
			}
			sub(/^\* +/, "* ", line)
			sub(/\* [^ ]*\/module\//, "* ", line)
			sub(/> +[^ ]*\/module\//, ">   ", line)
			sub(/> +\.\/string\/[^:]*:/, ">   ", line)
			printf "%8.1f  %s\n", cost, line
		}' <<<"$tree"
}
