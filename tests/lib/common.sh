# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Shared by the shell tests (dnssec, ops, soak, package, bench): TAP output,
# the Knot programs' environment, ports, one way to start and stop knotd, kdig
# helpers, meson's results. Source it after `set -euo pipefail`; set TAP_NAME
# first (the name on the closing "NAME: N passed, M failed" line, on stderr:
# meson's TAP parser rejects other lines on stdout).

# --- TAP ---------------------------------------------------------------------

n=0 passed=0 failed=0
note() { printf '# %s\n' "$@"; }
ok() { n=$((n + 1)) passed=$((passed + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)) failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)) passed=$((passed + 1)); echo "ok $n - $1 # SKIP $2"; }
# check DESC ERRORS: ok when ERRORS is empty, else not ok with ERRORS as comments.
check() {
	if [ -z "$2" ]; then ok "$1"; else not_ok "$1"; printf '%s\n' "$2" | sed 's/^/#   /'; fi
}
# indent FILE [MAX]: a file as TAP comments (evidence).
indent() { [ ! -f "$1" ] || head -n "${2:-60}" "$1" | sed 's/^/#     /'; }
bail() { echo "Bail out! $*"; finish_tap; exit 1; }
finish_tap() { echo "1..$n"; echo "${TAP_NAME:-test}: $passed passed, $failed failed" >&2; }
need_tools() {
	local t
	for t in "$@"; do command -v "$t" >/dev/null || bail "$t not found"; done
}

# test_init BUILD_DIR [PRELOAD] (a test's arguments): build_dir, preload,
# module (must exist), sbin on PATH. With a sanitized build the Knot programs
# (which load the module) need the ASan runtime PRELOAD: start them through
# kenv; reports go to SANITIZER_LOG_DIR when set (sanitize.sh checks it).
knot_env=()
test_init() {
	[ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: $0 BUILD_DIR [KNOTD_PRELOAD]" >&2; exit 2; }
	build_dir=$(cd "$1" && pwd) preload=${2:-}
	module=$build_dir/module/mxtrap.so
	export PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"
	[ -f "$module" ] || bail "$module missing"
	knot_env=()
	[ -n "$preload" ] || return 0
	[ -e "$preload" ] || bail "KNOTD_PRELOAD $preload missing"
	local log=
	if [ -n "${SANITIZER_LOG_DIR:-}" ]; then
		mkdir -p "$SANITIZER_LOG_DIR"
		log="log_path=$SANITIZER_LOG_DIR/asan.${TAP_NAME:-test}:"
	fi
	knot_env=("LD_PRELOAD=$preload" "ASAN_OPTIONS=${log}detect_leaks=0:halt_on_error=1"
	          "UBSAN_OPTIONS=${log/asan/ubsan}halt_on_error=1:print_stacktrace=1")
}
kenv() { env "${knot_env[@]}" "$@"; }
# knotd_version: X.Y.Z of knotd (a development version X.Y.devN as X.Y.0);
# version_at_least VERSION MIN (sort -V).
knotd_version() {
	kenv knotd -V 2>&1 | grep -oE '[0-9]+\.[0-9]+\.([0-9]+|dev)' | head -n 1 | sed 's/dev$/0/' || true
}
version_at_least() { [ "$(printf '%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

# --- processes and ports -------------------------------------------------------

# spawned: pids the EXIT trap of test_tmp_init stops (append your own).
spawned=()
# stop_pid PID: TERM, up to 10 s, KILL.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	forget_pid "$1"
}
# forget_pid PID: ended (its pid may be reused: the EXIT trap must not signal it).
forget_pid() {
	local p left=()
	for p in "${spawned[@]}"; do [ "$p" = "$1" ] || left+=("$p"); done
	spawned=("${left[@]}")
}
# wait_for DESC SECS CMD...: CMD every 0.1 s until it succeeds (0) or SECS pass (1).
wait_for() {
	local desc=$1 secs=$2 deadline=$((SECONDS + $2))
	shift 2
	while [ "$SECONDS" -lt "$deadline" ]; do "$@" && return 0; sleep 0.1; done
	note "timeout ($secs s) waiting for $desc"
	return 1
}

# test_tmp_init: $tmp, and an EXIT trap that stops the spawned processes and
# removes $tmp (kept with ${TAP_NAME}_KEEP=1, upper case, or OPS_KEEP=1).
test_tmp_init() {
	tmp=$(mktemp -d "/tmp/mxtrap-${TAP_NAME:-test}.XXXXXX")
	trap test_cleanup EXIT
	trap 'exit 1' INT TERM
}
test_cleanup() {
	local rc=$? pid keep
	for pid in "${spawned[@]}"; do stop_pid "$pid"; done
	keep=$(echo "${TAP_NAME:-test}" | tr 'a-z-' 'A-Z_')_KEEP
	if [ "${!keep:-}" = 1 ] || [ "${OPS_KEEP:-}" = 1 ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
	exit "$rc"
}

# port_bound PORT [any]: a TCP socket listens or a UDP socket is bound on
# PORT; with any, any socket (TIME_WAIT too) counts.
port_bound() {
	awk -v p="$(printf ':%04X' "$1")" -v any="${2:-}" 'substr($2, length($2) - 4) == p &&
		(any != "" || FILENAME ~ /udp/ || $4 == "0A") { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null
}
port_free() { ! port_bound "$1"; }
# stop_server WHAT PID PORT LOG [SECS]: SIGTERM; the server must exit by
# itself within SECS (10) with status 0 (else KILL), release PORT (if given)
# and leave no sanitizer report in LOG. Sets stop_errs (empty: all fine).
# Not in $(...): the server is this shell's child.
stop_server() {
	local what=$1 pid=$2 port=$3 log=$4 rc=0 deadline=$((SECONDS + ${5:-10}))
	stop_errs=
	kill -TERM "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		stop_errs+="$what still running ${5:-10} s after SIGTERM (killed)"$'\n'
		stop_pid "$pid"
	else
		wait "$pid" 2>/dev/null || rc=$?
		forget_pid "$pid"
		[ "$rc" = 0 ] || stop_errs+="$what exit status $rc"$'\n'
	fi
	[ -z "$port" ] || wait_for "port $port released" 10 port_free "$port" >/dev/null ||
		stop_errs+="$what: port $port still bound"$'\n'
	stop_errs+=$(grep -E -m 10 'ERROR: |AddressSanitizer|LeakSanitizer|runtime error' "$log" || true)
	stop_errs=${stop_errs%$'\n'}
}
# take_ports VAR...: a different free port into each VAR, below the ephemeral
# range (no client socket takes it meanwhile), none handed out twice.
used_ports=" "
take_ports() {
	local v p low
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
	[ "${low:-0}" -gt 12000 ] || low=32768
	for v in "$@"; do
		for _ in $(seq 200); do
			p=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
			[[ $used_ports == *" $p "* ]] || port_bound "$p" any || break
			p=
		done
		[ -n "$p" ] || bail "no free port"
		used_ports+="$p "
		printf -v "$v" %s "$p"
	done
}

# --- kdig ------------------------------------------------------------------------

# q OUT PORT NAME TYPE [KDIG_OPTION...]: one query to 127.0.0.1@PORT, bounded.
q() {
	local out=$1 port=$2 name=$3 type=$4
	shift 4
	timeout 15 kdig @127.0.0.1 -p "$port" +time=3 +retry=1 "$@" "$name" "$type" >"$out" 2>&1 || true
}
rcode_of() { sed -n 's/^;; ->>HEADER<<- .*status: \([A-Z]*\);.*/\1/p' "$1" | head -n 1; }
# section FILE NAME: the records of section NAME (ANSWER, AUTHORITY, ADDITIONAL).
section() { awk -v s=";; $2 SECTION:" '$0 == s { on = 1; next } /^;; / || /^$/ { on = 0 } on' "$1"; }
# mx_of FILE: "PREF EXCHANGE" of the MX records in ANSWER, sorted.
mx_of() { section "$1" ANSWER | awk '$4 == "MX" { print $5, $6 }' | sort; }
# mod_stats: the module's lines of knotc zone-stats as "NAME = VALUE", from
# what knotc 3.2-3.5 prints ("[ZONE] mod-mxtrap.NAME = VALUE") or 3.6
# ("[ZONE] mod-mxtrap.NAME: VALUE", the zone left out where one is named).
mod_stats() { sed -E 's/^\[[^]]*\] //; s/^mod-mxtrap\.//; s/: ([0-9]+)$/ = \1/'; }
# stats_line CONF ZONE: ZONE's mod-mxtrap counters on one line.
stats_line() {
	kenv timeout 20 knotc -c "$1" zone-stats "$2" mod-mxtrap 2>&1 | mod_stats | tr '\n' ' '
}

# --- knotd -------------------------------------------------------------------------

# conf_item CONF SECTION ITEM: ITEM's first value in SECTION of a configuration
# as these tests write them ("listen: [ a@1, b@1 ]" gives a@1).
conf_item() {
	awk -v s="$2:" -v i="$3:" '/^[^ \t#-]/ { sec = $1 }
		sec == s && ($1 == i || ($1 == "-" && $2 == i)) {
			sub(/^[^:]*:[ \t]*/, ""); gsub(/["\[\]]/, ""); sub(/^[ \t]*/, ""); sub(/[ ,].*/, "")
			print; exit }' "$1"
}
# knotd_ctl CONF ARG...: knotc for the knotd of CONF, bounded; through an
# absolute control socket alone when CONF names one (no configuration parsed,
# no module loaded: fast with many zones).
knotd_ctl() {
	local conf=$1 sock
	shift
	sock=$(conf_item "$conf" control listen)
	case $sock in
	/*) kenv timeout 30 knotc -s "$sock" -t 20 "$@" ;;
	*) kenv timeout 60 knotc -c "$conf" -t 50 "$@" ;;
	esac
}
# knotd_start CONF LOG [ZONE...]: knotd -c CONF behind knotd_wrapper (e.g.
# taskset, valgrind), output appended to LOG, pid in knotd_pid (stopped by the
# EXIT trap). Ready once its control socket answers and every ZONE has a
# serial (a zone knotd signs is published signed), within knotd_start_secs;
# else 1, knotd stopped, the end of LOG as notes.
knotd_wrapper=()
knotd_start_secs=60
knotd_stop_secs=10
declare -gA knotd_conf=() knotd_log=()
knotd_start() {
	local conf=$1 log=$2 deadline=$((SECONDS + knotd_start_secs))
	shift 2
	# env execs knotd: $! is knotd's own pid.
	env "${knot_env[@]}" "${knotd_wrapper[@]}" knotd -c "$conf" >>"$log" 2>&1 &
	knotd_pid=$!
	spawned+=("$knotd_pid")
	knotd_conf[$knotd_pid]=$conf knotd_log[$knotd_pid]=$log
	until knotd_ready "$conf" "$@"; do
		if ! kill -0 "$knotd_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			note "knotd -c $conf: not ready within $knotd_start_secs s (zones: ${*:-none}); its log:"
			tail -n 30 "$log" | sed 's/^/#     /'
			stop_pid "$knotd_pid"
			return 1
		fi
		sleep 0.1
	done
}
knotd_ready() {
	local conf=$1 z
	knotd_ctl "$conf" status >/dev/null 2>&1 || return 1
	for z in "${@:2}"; do
		[[ $(knotd_ctl "$conf" zone-status "$z" 2>/dev/null) == *"serial: "[0-9]* ]] || return 1
	done
}
# knotd_stop [PID]: stop_server for a knotd of knotd_start (default
# knotd_pid) within knotd_stop_secs; 1 when stop_errs is not empty.
knotd_stop() {
	local pid=${1:-$knotd_pid} port=
	[ -z "${knotd_conf[$pid]:-}" ] || port=$(conf_item "${knotd_conf[$pid]}" server listen)
	stop_server "knotd $pid" "$pid" "${port##*@}" "${knotd_log[$pid]:-/dev/null}" "$knotd_stop_secs"
	[ -z "$stop_errs" ]
}

# --- meson -----------------------------------------------------------------------

# meson_option BUILD_DIR NAME: a build option's value (e.g. b_sanitize).
meson_option() { meson configure "$1" 2>/dev/null | awk -v o="$2" '$1 == o { print $2; exit }'; }
# meson_results JSON_LOG...: "PASSED FAILED" over meson's testlog*.json (SKIP
# and EXPECTEDFAIL pass).
meson_results() {
	python3 - "$@" <<-'EOF'
	import json, sys
	res = [json.loads(l)["result"] for p in sys.argv[1:] for l in open(p) if l.strip()]
	ok = sum(r in ("OK", "SKIP", "EXPECTEDFAIL") for r in res)
	print(ok, len(res) - ok)
	EOF
}
# meson_failures JSON_LOG...: for each failed test, its name and result, then
# from its output what says why: each "not ok" line with the comments that
# follow it (what was expected and what came), "Bail out!" and sanitizer
# lines; the last 40 lines where there are none (a crash, a timeout).
meson_failures() {
	python3 - "$@" <<-'EOF'
	import json, re, sys
	for path in sys.argv[1:]:
	    for line in open(path):
	        if not line.strip():
	            continue
	        t = json.loads(line)
	        if t["result"] in ("OK", "SKIP", "EXPECTEDFAIL"):
	            continue
	        out = ((t.get("stdout") or "") + (t.get("stderr") or "")).splitlines()
	        why, inside = [], False
	        for l in out:
	            if l.startswith("not ok"):
	                inside = True
	            elif l.startswith("ok ") or not l.startswith("#"):
	                inside = False
	            if inside or re.search(r"^Bail out!|AddressSanitizer|runtime error|LeakSanitizer", l):
	                why.append(l)
	        print("---- failed test: %s (%s, %.0f s)" % (t["name"], t["result"], t.get("duration", 0)))
	        print("\n".join((why or out[-40:])[:200]))
	EOF
}
