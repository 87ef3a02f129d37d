# Shared by tests/bench/callgrind.sh and tests/bench/throughput.sh (sourced
# from the repository root after tests/setup.sh has built ./build).
#
# Every knotd started here is recorded in BENCH_PIDS and stopped by the EXIT
# trap set in bench_tmp_init, whatever happens.
#
# BENCH_DNSSEC=1 (both scripts): the zone is signed by knotd (dnssec-signing
# with policy "bench": ECDSAP256SHA256, default lifetimes), the queries are
# DO MX queries at the apex and only mxtrap and hand-edited are compared
# (signed answers: the module's RRSIG over the merged set vs the zone's).
# BENCH_SEED, when set, is a directory with a prepared server per variant
# (BENCH_SEED/VARIANT, see bench_dnssec_arm): its databases (keys, journal,
# timers) are copied into every new server directory, so that knotd starts
# with the zone signed and the module with its keys.

BENCH_DIR=tests/bench
BENCH_ZONE=bench.test.
BENCH_DNSSEC=${BENCH_DNSSEC:-0}
if [ "$BENCH_DNSSEC" = 1 ]; then
	BENCH_SERIAL=2026010102   # signing increments the zone file's serial
else
	BENCH_SERIAL=2026010101
fi
BENCH_SEED=""
BENCH_PIDS=()

#! Builds the baseline module and the query sender (tests/bench/meson.build).
bench_build() {
	if ! ninja -C build tests/bench/mxtrapempty.so tests/bench/udp_sender >/dev/null; then
		echo "bench: cannot build tests/bench targets; the root meson.build needs" \
		     "subdir('tests/bench') (after subdir('module'))" >&2
		exit 1
	fi
	local sanitize
	sanitize=$(meson configure build 2>/dev/null | awk '$1 == "sanitize" { print $2 }')
	if [ "$sanitize" = true ]; then
		echo "bench: ./build is configured with -Dsanitize=true; benchmark a normal build" \
		     "(meson setup --reconfigure build -Dsanitize=false)" >&2
		exit 1
	fi
	for f in build/module/mxtrap.so build/tests/bench/mxtrapempty.so build/tests/bench/udp_sender; do
		[ -f "$f" ] || { echo "bench: $f missing after the build" >&2; exit 1; }
	done
}

bench_build_info() {
	local bt
	bt=$(meson configure build 2>/dev/null | awk '$1 == "buildtype" { print $2 }')
	echo "./build (buildtype=${bt:-?}), module build/module/mxtrap.so, baseline build/tests/bench/mxtrapempty.so"
}

#! Temporary directory and the safety net (stops every knotd, removes the directory).
bench_tmp_init() {
	BENCH_TMP=$(mktemp -d /tmp/mxtrap-bench.XXXXXX)
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

bench_cleanup() {
	local status=$?
	set +e
	local pid
	for pid in "${BENCH_PIDS[@]}"; do
		bench_kill "$pid"
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $BENCH_TMP"
	else
		rm -rf "$BENCH_TMP"
	fi
	exit "$status"
}

#! Stops a process with SIGTERM, then SIGKILL (bounded waits).
bench_kill() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

bench_forget_pid() {
	local keep=() p
	for p in "${BENCH_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BENCH_PIDS=("${keep[@]}")
}

#! A free port on loopback (UDP and TCP), below the ephemeral port range (so
#  that no client connection takes it meanwhile), none of the ports given.
bench_free_port() {
	local i port hex low
	low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[[ $low =~ ^[0-9]+$ ]] && [ "$low" -gt 11024 ] || low=32768
	for i in $(seq 200); do
		port=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
		[ "$port" -ne 53053 ] || continue
		case " $* " in *" $port "*) continue ;; esac
		printf -v hex ':%04X ' "$port"
		if ! cat /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		     awk '{ print $2 " " }' | grep -q -- "$hex"; then
			echo "$port"
			return 0
		fi
	done
	echo "bench: no free port found" >&2
	return 1
}

#! Writes DIR/knot.conf for a variant (mxtrap, hand-edited, empty-mod, no-module); sets BENCH_PORT.
bench_write_conf() {
	local dir=$1 variant=$2 port=${3:-}
	[ -n "$port" ] || port=$(bench_free_port) || return 1
	BENCH_PORT=$port
	local zone=bench.test.zone module_id="" module_file=""
	case $variant in
	mxtrap)      module_id=mod-mxtrap;      module_file=$PWD/build/module/mxtrap.so ;;
	hand-edited) zone=bench.test.trap.zone ;;
	empty-mod)   module_id=mod-mxtrapempty; module_file=$PWD/build/tests/bench/mxtrapempty.so ;;
	no-module)   ;;
	*) echo "bench: unknown variant $variant" >&2; return 1 ;;
	esac
	cp "$BENCH_DIR/zones/$zone" "$dir/bench.test.zone"
	if [ -n "$BENCH_SEED" ]; then
		cp -a "$BENCH_SEED/$variant/keys" "$BENCH_SEED/$variant/journal" \
			"$BENCH_SEED/$variant/timers" "$dir/" || return 1
	fi
	{
		if [ -n "$module_id" ]; then
			printf 'module:\n  - id: %s\n    file: "%s"\n\n' "$module_id" "$module_file"
		fi
		if [ "$BENCH_DNSSEC" = 1 ]; then
			printf 'policy:\n  - id: bench\n    algorithm: ECDSAP256SHA256\n\n'
		fi
		printf 'server:\n    rundir: "%s"\n    listen: 127.0.0.1@%s\n' "$dir" "$port"
		printf '    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\n'
		printf 'log:\n  - target: "%s/knotd.log"\n    any: info\n\n' "$dir"
		printf 'control:\n    listen: "%s/knot.sock"\n\n' "$dir"
		printf 'database:\n    storage: "%s"\n\n' "$dir"
		printf 'template:\n  - id: default\n    storage: "%s"\n    zonefile-sync: -1\n\n' "$dir"
		printf 'zone:\n  - domain: %s\n    file: "%s/bench.test.zone"\n' "$BENCH_ZONE" "$dir"
		if [ -n "$module_id" ]; then
			printf '    module: %s\n' "$module_id"
		fi
		if [ "$BENCH_DNSSEC" = 1 ]; then
			printf '    dnssec-signing: on\n    dnssec-policy: bench\n'
		fi
	} >"$dir/knot.conf"
}

#! Starts knotd with DIR/knot.conf behind an optional command prefix; sets BENCH_KNOTD_PID.
bench_start_knotd() {
	local dir=$1
	shift
	"$@" knotd -c "$dir/knot.conf" >"$dir/knotd.out" 2>&1 &
	BENCH_KNOTD_PID=$!
	BENCH_PIDS+=("$BENCH_KNOTD_PID")
}

# knotc through the control socket only: with -c it would parse the whole
# configuration (slow with the N zones of scale.sh) and load the module.
bench_knotc() {
	local dir=$1
	shift
	knotc -s "$dir/knot.sock" -t 10 "$@"
}

#! Polls (bounded) until the zone is loaded; the probe uses the control socket, not DNS.
#  Returns 2 if knotd could not bind its port (the caller may retry on another).
bench_wait_ready() {
	local dir=$1 polls=$2 pid=${3:-$BENCH_KNOTD_PID} i
	for i in $(seq "$polls"); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			bench_forget_pid "$pid"
			if grep -q 'cannot bind' "$dir/knotd.log" 2>/dev/null; then
				return 2
			fi
			echo "bench: knotd exited during start-up; log:" >&2
			tail -n 20 "$dir/knotd.log" "$dir/knotd.out" >&2 2>/dev/null
			return 1
		fi
		if bench_knotc "$dir" zone-status "$BENCH_ZONE" 2>/dev/null | grep -q "serial: $BENCH_SERIAL"; then
			return 0
		fi
		sleep 0.1
	done
	echo "bench: knotd not ready after $polls polls; log:" >&2
	tail -n 20 "$dir/knotd.log" >&2 2>/dev/null
	return 1
}

#! Writes the configuration, starts knotd behind a command prefix and waits
#  until it serves the zone; another port is tried (5 at most) if the chosen
#  one was taken meanwhile. Sets BENCH_PORT and BENCH_KNOTD_PID.
#  Usage: bench_launch DIR VARIANT POLLS "PORTS TO AVOID" [PREFIX...]
bench_launch() {
	local dir=$1 variant=$2 polls=$3 avoid=$4 attempt port rc
	shift 4
	for attempt in 1 2 3 4 5; do
		port=$(bench_free_port $avoid) || return 1
		bench_write_conf "$dir" "$variant" "$port" || return 1
		rm -f "$dir/knotd.log"
		bench_start_knotd "$dir" "$@"
		rc=0
		bench_wait_ready "$dir" "$polls" || rc=$?
		[ "$rc" -eq 2 ] || return "$rc"
		echo "bench: port $port taken, trying another" >&2
	done
	echo "bench: knotd could not bind a port in 5 attempts" >&2
	return 1
}

#! Stops knotd cleanly with knotc (bounded), then SIGTERM/SIGKILL; fails if not clean.
bench_stop_knotd() {
	local dir=$1 pid=${2:-$BENCH_KNOTD_PID} i rc=0
	bench_knotc "$dir" stop >/dev/null 2>&1 || true
	for i in $(seq 1200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench: knotd $pid did not stop within 120 s" >&2
		bench_kill "$pid"
		bench_forget_pid "$pid"
		return 1
	fi
	wait "$pid" || rc=$?
	bench_forget_pid "$pid"
	if [ "$rc" -ne 0 ]; then
		echo "bench: knotd exited with status $rc; log:" >&2
		tail -n 20 "$dir/knotd.log" "$dir/knotd.out" >&2 2>/dev/null
		return 1
	fi
}

#! QNAME and QTYPE number of a query kind.
bench_query() {
	case $1 in
	mx-affected)   echo "bench.test. 15" ;;
	mx-unaffected) echo "single.bench.test. 15" ;;
	a)             echo "www.bench.test. 1" ;;
	*) echo "bench: unknown query kind $1" >&2; return 1 ;;
	esac
}

#! dnsperf query file of a query kind.
bench_query_file() {
	echo "$BENCH_DIR/queries/$1.txt"
}

#! Records in ANSWER of a variant's answer to a query kind.
bench_expected_ancount() {
	case $BENCH_DNSSEC,$1,$2 in
	1,*,mx-affected) echo 4 ; return ;;   # 3 MX and their RRSIG
	esac
	case $1,$2 in
	mxtrap,mx-affected | hand-edited,mx-affected) echo 3 ;;
	*,mx-affected) echo 2 ;;
	*) echo 1 ;;
	esac
}

#! Checks mod-mxtrap's counters after N queries of a kind.
bench_check_counters() {
	local dir=$1 kind=$2 n=$3 stats
	stats=$(bench_knotc "$dir" zone-stats "$BENCH_ZONE" mod-mxtrap 2>&1) || {
		echo "bench: knotc zone-stats failed: $stats" >&2
		return 1
	}
	local want=() line
	case $BENCH_DNSSEC,$kind in
	# The first answer is signed, the others take the signature from the cache.
	1,mx-affected)   want=("trapped = $n" "signatures[cache] = $((n - 1))" "signatures[fresh] = 1") ;;
	*,mx-affected)   want=("trapped = $n") ;;
	*,mx-unaffected) want=("unchanged[no-backup] = $n") ;;
	*)               want=("trapped = 0") ;;
	esac
	for line in "${want[@]}"; do
		if ! grep -qxF -- "[$BENCH_ZONE] mod-mxtrap.$line" <<<"$stats"; then
			echo "bench: expected 'mod-mxtrap.$line' in the module counters, got: $stats" >&2
			return 1
		fi
	done
	if [ "$BENCH_DNSSEC" = 1 ] && grep -q 'unchanged' <<<"$stats"; then
		echo "bench: signed answers left unchanged: $stats" >&2
		return 1
	fi
	if [ "$kind" = a ] && grep -q 'unchanged' <<<"$stats"; then
		echo "bench: A queries must not touch the module counters: $stats" >&2
		return 1
	fi
}

#! The ANSWER section of a UDP answer, one record a line, lower case, TTL left
#  out. Usage: bench_answer PORT QNAME QTYPE [kdig options...]
bench_answer() {
	local port=$1 qname=$2 qtype=$3
	shift 3
	kdig @127.0.0.1 -p "$port" +notcp +retry=2 +timeout=2 +noall +answer "$@" "$qname" "$qtype" |
		awk 'NF { $2 = ""; print tolower($0) }'
}

#! BENCH_DNSSEC: readies a server just started on an empty key store and checks
#  its signed answers. knotd generates the keys while it loads the zone, after
#  the modules were loaded: mod-mxtrap has no keys on this first start
#  (documented) and `knotc reload` re-creates it with them. Then the apex MX
#  answer to a DO query must carry the trap and exactly one RRSIG(MX), and
#  the module's counters must show the first answer's signature made fresh
#  (none from the cache yet) and the next two answers' taken from the cache.
#  Prints one line of what was checked.
#  Usage: bench_dnssec_arm DIR VARIANT PORT
bench_dnssec_arm() {
	local dir=$1 variant=$2 port=$3 i ans="" sigs stats
	if [ "$variant" = mxtrap ]; then
		bench_knotc "$dir" reload >/dev/null || return 1
	fi
	for i in $(seq 100); do
		ans=$(bench_answer "$port" "$BENCH_ZONE" MX +dnssec +bufsize=1232) || ans=""
		grep -q ' mx 99 mail1\.bench\.test\.$' <<<"$ans" && break
		ans=""
		sleep 0.1
	done
	sigs=$(grep -c ' rrsig mx ' <<<"$ans") || sigs=0
	if [ "$sigs" -ne 1 ] || [ "$(grep -c ' in mx ' <<<"$ans")" -ne 3 ]; then
		echo "bench: $variant: the signed apex MX answer needs the trap and one RRSIG(MX):" >&2
		echo "${ans:-(no answer with the trap within 10 s)}" >&2
		return 1
	fi
	if [ "$variant" = mxtrap ]; then
		stats=$(bench_knotc "$dir" zone-stats "$BENCH_ZONE" mod-mxtrap 2>&1) || stats=""
		if ! grep -qxF "[$BENCH_ZONE] mod-mxtrap.signatures[fresh] = 1" <<<"$stats" ||
		   grep -qF 'signatures[cache]' <<<"$stats"; then
			echo "bench: mxtrap: after the first trapped answer, expected signatures[fresh] = 1" \
			     "and no cache hit: $stats" >&2
			return 1
		fi
		bench_answer "$port" "$BENCH_ZONE" MX +dnssec +bufsize=1232 >/dev/null &&
			bench_answer "$port" "$BENCH_ZONE" MX +dnssec +bufsize=1232 >/dev/null || return 1
		bench_check_counters "$dir" mx-affected 3 || return 1
	fi
	printf 'signed:    %-11s apex MX (DO): trap and 1 RRSIG(MX), key tag %s%s\n' "$variant" \
		"$(awk '$3 == "rrsig" && $4 == "mx" { print $10 }' <<<"$ans")" \
		"$([ "$variant" = mxtrap ] && echo "; signatures[fresh] 1, then [cache] 2 after 2 more")"
}

#! BENCH_DNSSEC: prepares BENCH_SEED/VARIANT for each variant given (first
#  start on an empty key store, bench_dnssec_arm, clean stop) and sets
#  BENCH_SEED: servers started afterwards begin with the zone signed and the
#  module's keys in place.
bench_dnssec_seed() {
	local seed=$BENCH_TMP/seed variant
	BENCH_SEED=""
	for variant in "$@"; do
		mkdir -p "$seed/$variant"
		bench_launch "$seed/$variant" "$variant" 300 "" || return 1
		bench_dnssec_arm "$seed/$variant" "$variant" "$BENCH_PORT" || return 1
		bench_stop_knotd "$seed/$variant" || return 1
	done
	BENCH_SEED=$seed
}

#! Inclusive Ir per query of mxtrap.so's functions and of what they call (callgrind file, N).
#  callgrind_annotate may list a function twice (with and without line
#  information): both blocks are shown.
bench_profile() {
	local file=$1 n=$2 tree
	tree=$(callgrind_annotate --inclusive=yes --tree=calling --threshold=100 "$file" 2>/dev/null) || return 0
	local fns
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
