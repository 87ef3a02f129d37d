#!/usr/bin/env bash
# Soak test: a bounded mixed load against knotd running the ASan+UBSan-built
# module (build-asan, Debian's knotd with LD_PRELOAD of the ASan runtime).
#
#   tests/soak/soak.sh [SECONDS]     (default 60; 600 for the long run)
#
# Zones (tests/soak/zones): MX sets of every shape (trapped, single, equal,
# null MX, CNAME chain, wildcard, DNAME, trap present, max preference, large
# set that truncates), a module instance with require-backup off and an
# exchange list, a signed zone. Load, on loopback, for SECONDS after a
# warm-up (SECONDS/10, 3..30 s), every part bounded by rate and time:
#   - dnsperf UDP, text queries without EDNS (512-byte answers), 127.0.0.1;
#   - dnsperf UDP, binary queries (-B) with EDNS sizes 512..4096, some DO;
#   - dnsperf UDP over ::1 with DO (-D: EDNS 4096);
#   - dnsperf TCP (-m tcp) with the binary queries;
#   - tests/soak/junk: malformed messages over UDP and TCP (seed printed);
#   - halfway: the zone and the module configuration change, `knotc reload`.
# Fails if knotd dies or stops answering, the trap (after the reload: the new
# configuration) is missing, knotc reload fails, a load generator got no
# answers or overran its time bound, knotd does not exit cleanly, any
# sanitizer report exists, or RSS grows by more than the bound (see below).
#
# Environment:
#   SOAK_SEED          seed of the binary query file and of junk (warm-up:
#                      SEED, measured run: SEED+1); default: the time
#   SOAK_BUILD_DIR     default build-asan (build with SOAK_NO_ASAN=1)
#   SOAK_NO_ASAN=1     the normal build and no preload: RSS figures without
#                      ASan's bookkeeping (no sanitizer checks then)
#   SOAK_ASAN_OPTIONS  appended to knotd's and knotc's ASAN_OPTIONS, e.g.
#                      quarantine_size_mb=0 to see live memory only
#   SOAK_KEEP=1        keep the temporary directory (dnsperf outputs)
# Sanitizer reports and knotd's log are kept in BUILD_DIR/soak-logs (emptied
# at every run).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

duration=${1:-60}
if ! [[ $duration =~ ^[0-9]+$ ]] || [ "$duration" -lt 10 ] || [ "$duration" -gt 7200 ]; then
	echo "usage: $0 [SECONDS]   (10..7200, default 60)" >&2
	exit 2
fi
warmup=$((duration / 10))
warmup=$((warmup < 3 ? 3 : warmup > 30 ? 30 : warmup))
no_asan=${SOAK_NO_ASAN:-0}
build_dir=${SOAK_BUILD_DIR:-$([ "$no_asan" = 1 ] && echo build || echo build-asan)}
seed=${SOAK_SEED:-$(date +%s)}
start_time=$(date +%s)

# Load rates (queries per second, per generator).
QPS_UDP=2000 QPS_BLOB=2000 QPS_UDP6=1000 QPS_TCP=1000 QPS_JUNK=1500

# RSS bound: growth from the end of the warm-up to the end of the load must
# stay within max(16 MiB, 20% of the start). knotd's memory at rest is its
# zones, the configuration and per-worker pools; the load adds nothing that
# should stay. What may legitimately move: the reload (new zone contents and
# configuration are built before the old ones are freed; the zones here are
# tiny), the allocator's caches, and ASan's quarantine of freed blocks, which
# this script caps at 16 MiB (quarantine_size_mb) so that RSS is meaningful.
# Measured on 2 CPUs: under ASan knotd creeps by about 0.6 MiB a minute plus
# about 3 MiB at the reload (the same with no module in the zones, and with
# quarantine_size_mb=0: ASan's own bookkeeping); 600 s grew 9 MiB. Without
# ASan (SOAK_NO_ASAN=1) knotd with the module grew 184 kB in 120 s. A module
# leaking 256 bytes per trapped answer (~1,000 a second here) grows RSS by
# about 50 MiB a minute and fails even a 30 s run. Smaller leaks of
# unreachable memory are LeakSanitizer's job when knotd stops (exit status
# and report checked below); valgrind.sh checks the same without ASan.
RSS_BOUND_KIB=$((16 * 1024))
RSS_BOUND_PCT=20

fail=()
failed() { fail+=("$*"); echo "soak: FAIL: $*"; }

if [ "$no_asan" = 1 ]; then
	bash tests/setup.sh "$build_dir" >/dev/null
	sanitized=False
	preload=
else
	bash tests/setup.sh "$build_dir" -Dsanitize=true >/dev/null
	sanitized=True
	preload=$(cc -print-file-name=libasan.so)
fi
if ! meson introspect "$build_dir" --buildoptions | python3 -c 'import json, sys
want = sys.argv[1] == "True"
sys.exit(not any(o["name"] == "sanitize" and o["value"] is want for o in json.load(sys.stdin)))' \
	"$sanitized"; then
	echo "soak: $build_dir: option sanitize is not $sanitized (SOAK_NO_ASAN=$no_asan)" >&2
	exit 2
fi
module=$root/$build_dir/module/mxtrap.so
if { [ -n "$preload" ] && [ ! -e "$preload" ]; } || [ ! -e "$module" ]; then
	echo "soak: missing ${preload:+$preload or }$module" >&2
	exit 2
fi

logdir=$root/$build_dir/soak-logs
rm -rf "$logdir"
mkdir -p "$logdir"
tmp=$(mktemp -d /tmp/mxtrap-soak.XXXXXX)
knotd_pid=
load_pids=()

stop_knotd() {
	knotd_status=
	[ -n "$knotd_pid" ] || return 0
	kill -TERM "$knotd_pid" 2>/dev/null || true
	for _ in $(seq 300); do
		kill -0 "$knotd_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$knotd_pid" 2>/dev/null; then
		kill -KILL "$knotd_pid" 2>/dev/null || true
	fi
	knotd_status=0
	wait "$knotd_pid" 2>/dev/null || knotd_status=$?
	knotd_pid=
}

cleanup() {
	for pid in "${load_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	stop_knotd
	[ -f "$tmp/knotd.log" ] && cp "$tmp/knotd.log" "$logdir/knotd.log"
	if [ "${SOAK_KEEP:-}" = 1 ]; then
		echo "soak: kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

# Child environment for knotd and knotc: ASan runtime preloaded, reports into
# $logdir, the first error stops the process.
san_env=(
	"LD_PRELOAD=$preload"
	"ASAN_OPTIONS=log_path=$logdir/asan:halt_on_error=1:detect_leaks=1:quarantine_size_mb=16${SOAK_ASAN_OPTIONS:+:$SOAK_ASAN_OPTIONS}"
	"UBSAN_OPTIONS=log_path=$logdir/ubsan:halt_on_error=1:print_stacktrace=1"
)

# junk: the meson target once tests/soak is wired in, else built here.
if ninja -C "$build_dir" tests/soak/junk >/dev/null 2>&1; then
	junk=$root/$build_dir/tests/soak/junk
else
	junk=$tmp/junk
	cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -o "$junk" tests/soak/junk.c
fi

zones=$root/tests/soak/zones
names=$zones/names.txt
cp "$zones"/*.zone "$tmp/"
echo "soak: ${duration} s after ${warmup} s warm-up, seed $seed, build $build_dir$([ "$no_asan" = 1 ] &&
	echo ' (SOAK_NO_ASAN: no sanitizer)'), tmp $tmp"
"$junk" blob -d "$names" -o "$tmp/queries.blob" -n 20000 -S "$seed" | sed 's/^/soak: /'

# write_conf PORT NOBACKUP_PREFERENCE
write_conf() {
	cat > "$tmp/knot.conf" <<-EOF
	module:
	  - id: mod-mxtrap
	    file: "$module"

	mod-mxtrap:
	  - id: nobackup
	    require-backup: off
	    exchange: [ trap.soak.test. ]
	    preference: $2

	server:
	    rundir: "$tmp"
	    listen: [ 127.0.0.1@$1, ::1@$1 ]
	    udp-workers: 2
	    tcp-workers: 2
	    background-workers: 1

	log:
	  - target: stderr
	    any: notice

	control:
	    listen: "$tmp/knot.sock"

	database:
	    storage: "$tmp"

	template:
	  - id: default
	    storage: "$tmp"
	    zonefile-sync: -1

	zone:
	  - domain: soak.test.
	    file: "$tmp/soak.test.zone"
	    module: mod-mxtrap
	  - domain: nobackup.soak.
	    file: "$tmp/nobackup.soak.zone"
	    module: mod-mxtrap/nobackup
	  - domain: signed.soak.
	    file: "$tmp/signed.soak.zone"
	    module: mod-mxtrap
	    dnssec-signing: on
	EOF
}

# dig_short ADDR NAME TYPE: kdig +short, one try, bounded.
dig_short() {
	timeout 5 kdig @"$1" -p "$port" +norec +time=1 +retry=0 +short "$2" "$3" 2>/dev/null || true
}

zones_ready() {
	[ -n "$(dig_short 127.0.0.1 soak.test SOA)" ] &&
	[ -n "$(dig_short 127.0.0.1 nobackup.soak SOA)" ] &&
	[ -n "$(dig_short ::1 signed.soak DNSKEY)" ]
}

# port_in_use PORT: a TCP or UDP socket is bound to PORT (any address).
port_in_use() {
	awk -v p="$(printf ':%04X' "$1")" 'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null
}

# Start knotd on a free port (bounded attempts), wait until every zone answers.
port=
for attempt in 1 2 3 4 5; do
	cand=$((20000 + RANDOM % 40000))
	if port_in_use "$cand"; then
		continue
	fi
	port=$cand
	write_conf "$port" 500
	env "${san_env[@]}" /usr/sbin/knotd -c "$tmp/knot.conf" >>"$tmp/knotd.log" 2>&1 &
	knotd_pid=$!
	ready=0
	deadline=$((SECONDS + 30))
	while [ "$SECONDS" -lt "$deadline" ]; do
		kill -0 "$knotd_pid" 2>/dev/null || break
		if zones_ready; then ready=1; break; fi
		sleep 0.1
	done
	[ "$ready" = 1 ] && break
	stop_knotd
	port=
done
if [ -z "$port" ]; then
	echo "soak: knotd did not start; log:" >&2
	tail -n 20 "$tmp/knotd.log" >&2
	exit 1
fi
echo "soak: knotd pid $knotd_pid on 127.0.0.1@$port and ::1@$port"

# load TAG SECONDS SEED: start every generator in the background for SECONDS.
load() {
	local tag=$1 secs=$2 bound=$(($2 + 30)) junk_seed=$3
	load_pids=()
	timeout "$bound" dnsperf -s 127.0.0.1 -p "$port" -d "$names" -l "$secs" \
		-Q "$QPS_UDP" -c 8 -t 2 >"$tmp/$tag.udp-noedns.out" 2>&1 &
	load_pids+=($!)
	timeout "$bound" dnsperf -s 127.0.0.1 -p "$port" -B -d "$tmp/queries.blob" -l "$secs" \
		-Q "$QPS_BLOB" -c 8 -t 2 >"$tmp/$tag.udp-edns.out" 2>&1 &
	load_pids+=($!)
	timeout "$bound" dnsperf -s ::1 -p "$port" -d "$names" -D -l "$secs" \
		-Q "$QPS_UDP6" -c 4 -t 2 >"$tmp/$tag.udp6-do.out" 2>&1 &
	load_pids+=($!)
	timeout "$bound" dnsperf -m tcp -s 127.0.0.1 -p "$port" -B -d "$tmp/queries.blob" \
		-l "$secs" -Q "$QPS_TCP" -c 4 -t 2 >"$tmp/$tag.tcp.out" 2>&1 &
	load_pids+=($!)
	timeout "$bound" "$junk" send -s 127.0.0.1 -p "$port" -d "$names" -t "$secs" \
		-q "$QPS_JUNK" -n $((secs * QPS_JUNK)) -S "$junk_seed" >"$tmp/$tag.junk.out" 2>&1 &
	load_pids+=($!)
}

# load_wait TAG: wait for the generators, check and print their summaries.
load_wait() {
	local tag=$1 rc
	for pid in "${load_pids[@]}"; do
		rc=0
		wait "$pid" || rc=$?
		[ "$rc" -eq 0 ] || failed "$tag: a load generator exited with status $rc (124: time bound)"
	done
	load_pids=()
	for out in "$tmp/$tag".*.out; do
		local run=${out#"$tmp/$tag."}
		run=${run%.out}
		if [ "$run" = junk ]; then
			sed -n 's/^junk: /soak: '"$tag"' junk: /p' "$out"
			grep -q 'answers [1-9]' "$out" || failed "$tag junk: no answer ($(tail -n 2 "$out" | tr '\n' ' '))"
			continue
		fi
		local sent compl lost qps codes
		sent=$(sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$out")
		compl=$(sed -n 's/^ *Queries completed: *\(.*\)/\1/p' "$out")
		lost=$(sed -n 's/^ *Queries lost: *\(.*\)/\1/p' "$out")
		qps=$(sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1/p' "$out")
		codes=$(sed -n 's/^ *Response codes: *\(.*\)/\1/p' "$out")
		local warnings
		warnings=$(grep -c '^Warning' "$out" || true)
		echo "soak: $tag dnsperf $run: sent ${sent:-?}, completed ${compl:-?}, lost ${lost:-?}, qps ${qps:-?}; $codes"
		[ "$warnings" -eq 0 ] || echo "soak: $tag dnsperf $run: $warnings warnings, e.g. $(grep -m 1 '^Warning' "$out")"
		case ${compl:-0} in
		0*|'') failed "$tag dnsperf $run: no query completed ($(tail -n 3 "$out" | tr '\n' ' '))";;
		esac
	done
}

rss_kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$knotd_pid/status" 2>/dev/null || echo 0; }

# Warm-up, then the measured run with a reload halfway.
load warmup "$warmup" "$seed"
load_wait warmup
rss_start=$(rss_kib VmRSS)
echo "soak: knotd VmRSS after warm-up: $rss_start kB"

# The measured run: load, a reload halfway.
run_main() {
	load main "$duration" $((seed + 1))
	# RSS every tenth of the run (a leak grows steadily, caches level off);
	# halfway the reload.
	local step=$((duration / 10)) i
	rss_samples=
	for i in 1 2 3 4 5; do
		sleep "$step"
		rss_samples+="$(rss_kib VmRSS) "
	done
	# Change the zone (serial 2, a third MX) and the module's configuration.
	sed -i 's/^@\tIN\tSOA\tns hostmaster 1 /@\tIN\tSOA\tns hostmaster 2 /; s/^@\tIN\tMX\t20 mx2$/&\n@\tIN\tMX\t30 mx3/' \
		"$tmp/soak.test.zone"
	write_conf "$port" 600
	rss_reload=$(rss_kib VmRSS)
	if out=$(env "${san_env[@]}" timeout 30 /usr/sbin/knotc -c "$tmp/knot.conf" -s "$tmp/knot.sock" \
		-t 20 reload 2>&1); then
		echo "soak: knotc reload at $((step * 5)) s (VmRSS before: $rss_reload kB): $out"
	else
		failed "knotc reload: $out"
	fi
	serial=
	local deadline=$((SECONDS + 10))
	while [ "$SECONDS" -lt "$deadline" ]; do
		serial=$(dig_short 127.0.0.1 soak.test SOA | awk '{print $3}')
		[ "$serial" = 2 ] && break
		sleep 0.1
	done
	[ "$serial" = 2 ] || failed "soak.test serial after reload: '${serial}', expected 2"
	for i in 6 7 8 9; do
		sleep "$step"
		rss_samples+="$(rss_kib VmRSS) "
	done
	load_wait main
}
if kill -0 "$knotd_pid" 2>/dev/null; then
	run_main
else
	failed "knotd died during the warm-up"
fi

# knotd is up, answers with the trap, memory is flat.
if kill -0 "$knotd_pid" 2>/dev/null; then
	rss_end=$(rss_kib VmRSS)
	hwm=$(rss_kib VmHWM)
	mx=$(dig_short 127.0.0.1 soak.test MX | sort -n | tr '\n' ' ')
	mx_nb=$(dig_short ::1 nobackup.soak MX | sort -n | tr '\n' ' ')
	echo "soak: soak.test MX: $mx"
	echo "soak: nobackup.soak MX: $mx_nb"
	[[ " $mx" == *" 30 mx3.soak.test. "* ]] || failed "soak.test MX: the reloaded zone's 30 mx3 is missing"
	[[ " $mx" == *" 99 mx1.soak.test. "* ]] || failed "soak.test MX: trap '99 mx1.soak.test.' missing"
	[[ " $mx_nb" == *" 600 trap.soak.test. "* ]] ||
		failed "nobackup.soak MX: trap '600 trap.soak.test.' (configuration after reload) missing"
	for zone in soak.test. nobackup.soak. signed.soak.; do
		stats=$(env "${san_env[@]}" timeout 30 /usr/sbin/knotc -c "$tmp/knot.conf" \
			-s "$tmp/knot.sock" -t 20 zone-stats "$zone" mod-mxtrap 2>&1 || true)
		echo "soak: counters $zone $(echo "$stats" | sed 's/^\[.*\] mod-mxtrap.//' | tr '\n' ' ')"
	done
	echo "soak: knotd VmRSS every $((duration / 10)) s: ${rss_samples:-}(reload after the 5th)"
	growth=$((rss_end - rss_start))
	bound=$((rss_start * RSS_BOUND_PCT / 100))
	bound=$((bound > RSS_BOUND_KIB ? bound : RSS_BOUND_KIB))
	echo "soak: knotd VmRSS start $rss_start kB, end $rss_end kB (growth $growth kB," \
	     "bound $bound kB), VmHWM $hwm kB"
	[ "$growth" -le "$bound" ] || failed "RSS grew by $growth kB (bound $bound kB)"
else
	failed "knotd died during the load"
fi

stop_knotd
[ "${knotd_status:-1}" = 0 ] || failed "knotd exit status $knotd_status on SIGTERM (LeakSanitizer?)"
grep -E 'error|critical' "$tmp/knotd.log" | head -n 5 | sed 's/^/soak: knotd log: /' || true

reports=$(find "$logdir" -type f \( -name 'asan*' -o -name 'ubsan*' \) | sort)
for f in $reports; do
	echo "==== sanitizer report: $f"
	cat "$f"
done
[ -z "$reports" ] || failed "$(echo "$reports" | wc -l) sanitizer report(s)"

echo "soak: $(( $(date +%s) - start_time )) s, seed $seed, ${#fail[@]} failure(s): $([ ${#fail[@]} -eq 0 ] && echo OK || echo FAILED)"
[ ${#fail[@]} -eq 0 ]
