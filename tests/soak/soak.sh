#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Soak test: knotd running the ASan+UBSan-built module (build-asan, the ASan
# runtime preloaded into Debian's knotd) under a bounded mixed load.
#
#   tests/soak/soak.sh [SECONDS]     (default 60; TAP output)
#
# Proves that through SECONDS of load after a warm-up (SECONDS/10, 3..30 s),
# with every MX shape the module meets (tests/soak/zones: trapped, single,
# equal, null MX, CNAME chain, wildcard, DNAME, trap present, max preference,
# a set that truncates with the trap, an instance with require-backup off and
# an exchange list, a zone knotd signs), sent as UDP without EDNS (512 bytes:
# the TC path), UDP with EDNS, UDP over ::1 with DO (the module signs) and
# TCP with DO, and a `knotc reload` of a changed zone and module
# configuration halfway: knotd stays up, every generator gets answers, the
# trap follows the new configuration (signed in signed.soak.), knotd's RSS
# grows less than max(16 MiB, 20 %) (memory kept per answer or signature
# would show), knotd exits 0 on SIGTERM with LeakSanitizer on, and no
# sanitizer report is written. (Malformed queries never reach a module hook;
# the fuzz target covers the module's parser.)
#
# Environment: SOAK_BUILD_DIR (default build-asan; build with SOAK_NO_ASAN=1:
# RSS without ASan's bookkeeping, no sanitizer), SOAK_ASAN_OPTIONS (appended
# to ASAN_OPTIONS), SOAK_KEEP=1. Reports and knotd's log: BUILD_DIR/soak-logs.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

duration=${1:-60}
if ! [[ $duration =~ ^[0-9]+$ ]] || [ "$duration" -lt 10 ] || [ "$duration" -gt 7200 ]; then
	echo "usage: $0 [SECONDS]   (10..7200, default 60)" >&2
	exit 2
fi
warmup=$((duration / 10 < 3 ? 3 : duration / 10 > 30 ? 30 : duration / 10))
no_asan=${SOAK_NO_ASAN:-0}
build_dir=${SOAK_BUILD_DIR:-$([ "$no_asan" = 1 ] && echo build || echo build-asan)}
QPS_UDP=2000 QPS_EDNS=1000 QPS_DO6=1000 QPS_TCP=1000
# ASan's bookkeeping and quarantine (capped at 16 MiB) move RSS by a few MiB.
RSS_BOUND_KIB=$((16 * 1024)) RSS_BOUND_PCT=20
if [ "$no_asan" = 1 ]; then
	bash tests/setup.sh "$build_dir" >/dev/null
	want=none preload=
else
	bash tests/setup.sh "$build_dir" -Db_sanitize=address,undefined >/dev/null
	want=address,undefined preload=$(cc -print-file-name=libasan.so)
fi

TAP_NAME=soak
# shellcheck source=tests/lib/common.sh
source tests/lib/common.sh
[ "$(meson_option "$build_dir" b_sanitize)" = "$want" ] || bail "$build_dir: b_sanitize is not $want (SOAK_NO_ASAN=$no_asan)"
export SANITIZER_LOG_DIR=$root/$build_dir/soak-logs
rm -rf "$SANITIZER_LOG_DIR"
test_init "$build_dir" "$preload"
need_tools knotd knotc kdig dnsperf
# Leaks count here (knotd's exit status); the capped quarantine keeps RSS meaningful.
[ -z "$preload" ] || knot_env+=("ASAN_OPTIONS=log_path=$SANITIZER_LOG_DIR/asan.soak:halt_on_error=1:detect_leaks=1:quarantine_size_mb=16${SOAK_ASAN_OPTIONS:+:$SOAK_ASAN_OPTIONS}")
knotd_stop_secs=30
test_tmp_init
start_time=$SECONDS
names=$root/tests/soak/zones/names.txt
cp tests/soak/zones/*.zone "$tmp/"
for i in $(seq -w 1 24); do
	printf 'big\tIN\tMX\t10 mx-exchanger-host-number-%s.big\n' "$i"
	printf 'mx-exchanger-host-number-%s.big\tIN\tA\t192.0.2.1%s\n' "$i" "$i"
done >>"$tmp/soak.test.zone"
printf 'big\tIN\tMX\t20 mx2\n' >>"$tmp/soak.test.zone"
take_ports port

# write_conf NOBACKUP_PREFERENCE
write_conf() {
	cat >"$tmp/knot.conf" <<-EOF
	module:
	  - id: mod-mxtrap
	    file: "$module"
	mod-mxtrap:
	  - id: nobackup
	    require-backup: off
	    exchange: [ trap.soak.test. ]
	    preference: $1
	server:
	    rundir: "$tmp"
	    listen: [ 127.0.0.1@$port, ::1@$port ]
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
	    file: "$tmp/%s.zone"
	    zonefile-sync: -1
	zone:
	  - domain: soak.test.
	    module: mod-mxtrap
	  - domain: nobackup.soak.
	    module: mod-mxtrap/nobackup
	  - domain: signed.soak.
	    module: mod-mxtrap
	    dnssec-signing: on
	EOF
}
write_conf 500
knotd_start "$tmp/knot.conf" "$tmp/knotd.log" soak.test. nobackup.soak. signed.soak. || bail "knotd did not start"
note "${duration} s after ${warmup} s warm-up, build $build_dir, knotd $knotd_pid on 127.0.0.1@$port and ::1@$port"

# load TAG SECONDS: every generator in the background (bounded).
load() {
	local g
	load_pids=()
	for g in "udp -s 127.0.0.1 -Q $QPS_UDP -c 8" "edns -s 127.0.0.1 -e -Q $QPS_EDNS -c 4" \
	         "do6 -s ::1 -D -Q $QPS_DO6 -c 4" "tcp -m tcp -s 127.0.0.1 -D -Q $QPS_TCP -c 4"; do
		# shellcheck disable=SC2086
		timeout $(($2 + 30)) dnsperf ${g#* } -p "$port" -d "$names" -l "$2" -t 2 >"$tmp/$1.${g%% *}.out" 2>&1 &
		load_pids+=($!)
	done
}
# load_check TAG: every generator exited 0 and got answers.
load_check() {
	local pid rc=0 out E=
	for pid in "${load_pids[@]}"; do wait "$pid" || rc=$?; done
	[ "$rc" = 0 ] || E+="a generator exited with status $rc (124: time bound)"$'\n'
	for out in "$tmp/$1".*.out; do
		note "$1 ${out#"$tmp/$1."}: $(grep -E '^ *Queries (completed|lost)|Response codes' "$out" | tr -s ' \n' ' ')"
		grep -qE '^ *Queries completed: *[1-9]' "$out" || E+="${out#"$tmp/"}: no answers: $(tail -n 3 "$out")"$'\n'
	done
	check "$1 load: every generator got answers" "$E"
}
rss_kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$knotd_pid/status" 2>/dev/null || echo 0; }
alive() { kill -0 "$knotd_pid" 2>/dev/null || bail "knotd died ($1): $(tail -n 5 "$tmp/knotd.log")"; }

load warmup "$warmup"
load_check warmup
alive warm-up
rss_start=$(rss_kib VmRSS)

# The measured run: RSS every tenth (a leak grows steadily, caches level off);
# halfway the zone (serial 2, a third MX) and the preference change, then
# knotc reload.
load main "$duration"
serial_2() { q "$tmp/soa.out" "$port" soak.test SOA; section "$tmp/soa.out" ANSWER | grep -q ' 2 '; }
step=$((duration / 10)) samples=
for i in $(seq 9); do
	sleep "$step"    # the sampling period, not a wait for a condition
	samples+="$(rss_kib VmRSS) "
	[ "$i" = 5 ] || continue
	sed -i 's/^@\tIN\tSOA\tns hostmaster 1 /@\tIN\tSOA\tns hostmaster 2 /; s/^@\tIN\tMX\t20 mx2$/&\n@\tIN\tMX\t30 mx3/' "$tmp/soak.test.zone"
	write_conf 600
	out=$(knotd_ctl "$tmp/knot.conf" reload 2>&1) && E= || E="knotc reload: $out"$'\n'
	wait_for "serial 2" 10 serial_2 || E+="serial 2 not served within 10 s"
	check "knotc reload under load at $((step * 5)) s, the new zone served" "$E"
done
load_check main
alive load

rss_end=$(rss_kib VmRSS)
q "$tmp/mx.out" "$port" soak.test MX
q "$tmp/nb.out" "$port" nobackup.soak MX
q "$tmp/sig.out" "$port" signed.soak MX +dnssec
E=
[ "$(mx_of "$tmp/mx.out" | paste -sd' ')" = "10 mx1.soak.test. 20 mx2.soak.test. 30 mx3.soak.test. 99 mx1.soak.test." ] ||
	E+="soak.test MX: $(mx_of "$tmp/mx.out" | paste -sd' ')"$'\n'
mx_of "$tmp/nb.out" | grep -qx '600 trap.soak.test.' || E+="nobackup.soak MX: $(mx_of "$tmp/nb.out" | paste -sd' ')"$'\n'
mx_of "$tmp/sig.out" | grep -qx '99 mx1.signed.soak.' && section "$tmp/sig.out" ANSWER | grep -q 'RRSIG.*MX' ||
	E+="signed.soak MX with DO: $(section "$tmp/sig.out" ANSWER | paste -sd' ')"$'\n'
check "after the load: the reloaded zone and configuration's traps (99 after 30 mx3, 600 trap.soak.test.), signed.soak trapped and signed" "$E"
for z in soak.test. nobackup.soak. signed.soak.; do note "counters $z $(stats_line "$tmp/knot.conf" "$z")"; done

growth=$((rss_end - rss_start)) bound=$((rss_start * RSS_BOUND_PCT / 100))
bound=$((bound > RSS_BOUND_KIB ? bound : RSS_BOUND_KIB))
note "knotd VmRSS every $step s: $samples(reload after the 5th); VmHWM $(rss_kib VmHWM) kB"
check "knotd VmRSS from $rss_start kB to $rss_end kB: growth $growth kB <= $bound kB" \
	"$([ "$growth" -le "$bound" ] || echo "grew by $growth kB")"

knotd_stop || true
check "knotd stopped by SIGTERM: exit 0 (LeakSanitizer at exit), port released" "$stop_errs"
mkdir -p "$SANITIZER_LOG_DIR"
cp "$tmp/knotd.log" "$SANITIZER_LOG_DIR/"
reports=$(find "$SANITIZER_LOG_DIR" -type f -name '*san*' | sort)
for f in $reports; do sed 's/^/#   /' "$f"; done
check "no sanitizer report in ${SANITIZER_LOG_DIR#"$root/"}" "$reports"
note "$((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
