# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by the shell tests (tests/dnssec, tests/ops, tests/soak, tests/bench):
# TAP output, the Knot programs' environment, process and port handling, one
# way to start and stop knotd (knotd_start, knotd_stop), kdig helpers and
# meson's results. Source it after `set -euo pipefail`; set TAP_NAME first
# (the name on the closing "NAME: N passed, M failed" line).
#
# Knot programs (knotd, knotc, keymgr) load the module, so with a sanitized
# build they need the ASan runtime preloaded: call knot_env_init PRELOAD
# (empty: nothing preloaded) and start them through kenv. Reports go to
# SANITIZER_LOG_DIR when set (tests/sanitize.sh checks it).

# --- TAP -------------------------------------------------------------------

n=0
passed=0
failed=0
note() { printf '# %s\n' "$@"; }
ok() {
	n=$((n + 1))
	passed=$((passed + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}
skip() {
	n=$((n + 1))
	passed=$((passed + 1))
	echo "ok $n - $1 # SKIP $2"
}
# check DESC ERRORS: ERRORS empty -> ok, else not ok and ERRORS as comments.
check() {
	if [ -z "$2" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '%s\n' "$2" | sed 's/^/#   /'
	fi
}
# indent FILE [MAX]: a file as TAP comment lines (evidence).
indent() {
	[ -f "$1" ] || return 0
	head -n "${2:-60}" "$1" | sed 's/^/#     /'
}
bail() {
	echo "Bail out! $*"
	finish_tap
	exit 1
}
# The plan, then the summary as a plain line on stderr (meson's TAP parser
# rejects non-TAP lines on stdout).
finish_tap() {
	echo "1..$n"
	echo "${TAP_NAME:-test}: $passed passed, $failed failed" >&2
}
# test_init BUILD_DIR [KNOTD_PRELOAD] (a test script's arguments): sets
# build_dir (absolute), preload and module (BUILD_DIR/module/mxtrap.so, which
# must exist), puts the sbin directories on PATH and prepares the Knot
# programs' environment (knot_env_init).
test_init() {
	if [ $# -lt 1 ] || [ ! -d "$1" ]; then
		echo "usage: $0 BUILD_DIR [KNOTD_PRELOAD]" >&2
		exit 2
	fi
	build_dir=$(cd "$1" && pwd)
	preload=${2:-}
	module=$build_dir/module/mxtrap.so
	export PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"
	[ -f "$module" ] || bail "$module missing"
	knot_env_init "$preload"
}
# knotd_version: knotd's version, X.Y.Z ("knotd (Knot DNS), version 3.2.6";
# Knot >= 3.4: "knotd, Knot DNS 3.4.6"); empty if none is found.
knotd_version() { kenv knotd -V 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true; }
# version_at_least VERSION MIN: VERSION >= MIN (sort -V order).
version_at_least() { [ "$(printf '%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

# need_tools TOOL...: bail out unless every tool is on PATH.
need_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || bail "$tool not found"
	done
}

# --- processes -------------------------------------------------------------

knot_env=()
# knot_env_init PRELOAD: environment for the Knot programs (see above).
knot_env_init() {
	knot_env=()
	[ -n "$1" ] || return 0
	[ -e "$1" ] || bail "KNOTD_PRELOAD $1 missing"
	local log_opt=
	if [ -n "${SANITIZER_LOG_DIR:-}" ]; then
		mkdir -p "$SANITIZER_LOG_DIR"
		log_opt="log_path=$SANITIZER_LOG_DIR/asan.${TAP_NAME:-test}:"
	fi
	knot_env=("LD_PRELOAD=$1" "ASAN_OPTIONS=${log_opt}detect_leaks=0:halt_on_error=1"
	          "UBSAN_OPTIONS=${log_opt/asan/ubsan}halt_on_error=1:print_stacktrace=1")
}
kenv() { env "${knot_env[@]}" "$@"; }

# stop_pid PID: TERM, bounded wait, KILL.
stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
}
# forget_pid PID: a process of spawn that has ended (its pid may be reused,
# so test_cleanup must not signal it).
forget_pid() {
	local p left=()
	for p in "${spawned[@]}"; do
		[ "$p" = "$1" ] || left+=("$p")
	done
	spawned=("${left[@]}")
}

# wait_for DESC SECS CMD...: polls CMD every 0.1 s until it succeeds (0) or
# SECS have passed (1, with a note naming DESC).
wait_for() {
	local desc=$1 secs=$2 deadline
	shift 2
	deadline=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if "$@"; then return 0; fi
		sleep 0.1
	done
	note "timeout ($secs s) waiting for $desc"
	return 1
}

# The Knot programs' output goes to a log; `kenv CMD &` would put a subshell
# between $! and the program, so servers are started with env directly and
# their pid is the program's own (env execs it).
# spawn LOG CMD...: CMD in the background with the Knot environment, pid in
# spawned_pid.
spawn() {
	local log=$1
	shift
	env "${knot_env[@]}" "$@" >>"$log" 2>&1 &
	spawned_pid=$!
	spawned+=("$spawned_pid")
}
spawned=()

# test_tmp_init: $tmp, a new temporary directory for this test, and an EXIT
# trap that stops every process started with spawn (bounded, see stop_pid)
# and removes the directory, or keeps it when ${TAP_NAME}_KEEP=1 (upper case)
# or OPS_KEEP=1. Exit status: the script's.
test_tmp_init() {
	tmp=$(mktemp -d "/tmp/mxtrap-${TAP_NAME:-test}.XXXXXX")
	trap test_cleanup EXIT
	trap 'exit 1' INT TERM
}
test_cleanup() {
	local rc=$? pid keep_var
	for pid in "${spawned[@]}"; do
		stop_pid "$pid"
	done
	keep_var=$(echo "${TAP_NAME:-test}" | tr 'a-z-' 'A-Z_')_KEEP
	if [ "${!keep_var:-}" = 1 ] || [ "${OPS_KEEP:-}" = 1 ]; then
		echo "# kept $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}

# stop_server WHAT PID PORT LOG [SECS]: the end of a server started with
# spawn: SIGTERM, it must exit by itself within SECS (10) with status 0 (else
# KILL), release PORT (if given), and LOG must hold no sanitizer report. Sets
# stop_errs (empty: all fine); not for $(...) (the server is this shell's
# child).
stop_server() {
	local what=$1 pid=$2 port=$3 log=$4 secs=${5:-10} rc=0
	stop_errs=
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + secs))
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		stop_errs+="$what still running $secs s after SIGTERM (killed)"$'\n'
		stop_pid "$pid"
	else
		wait "$pid" 2>/dev/null || rc=$?
		forget_pid "$pid"
		[ "$rc" = 0 ] || stop_errs+="$what exit status $rc"$'\n'
	fi
	deadline=$((SECONDS + 10))
	while [ -n "$port" ] && port_bound "$port" && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	[ -z "$port" ] || ! port_bound "$port" || stop_errs+="$what: port $port still bound"$'\n'
	stop_errs+=$(grep -E -m 10 'ERROR: |AddressSanitizer|LeakSanitizer|runtime error' "$log" || true)
	stop_errs=${stop_errs%$'\n'}
}

# port_in_use PORT: a TCP or UDP socket is bound to PORT (any address).
port_in_use() {
	awk -v p="$(printf ':%04X' "$1")" 'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null
}
# port_bound PORT: a TCP socket listens or a UDP socket is bound on PORT
# (TIME_WAIT and other connection states do not count).
port_bound() {
	awk -v p="$(printf ':%04X' "$1")" 'substr($2, length($2) - 4) == p &&
		(FILENAME ~ /udp/ || $4 == "0A") { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null
}
used_ports=" "
# free_port: a high port no socket uses and this script has not handed out,
# below the ephemeral range (no client socket takes it meanwhile).
free_port() {
	local p low
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
	[ "${low:-0}" -gt 12000 ] || low=32768
	for _ in $(seq 200); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
		case $used_ports in *" $p "*) continue;; esac
		port_in_use "$p" && continue
		used_ports+="$p "
		echo "$p"
		return 0
	done
	return 1
}
# take_ports VAR...: a different free port into each VAR (free_port without
# the subshell of $(...), which would forget the ports handed out).
take_ports() {
	local v p
	for v in "$@"; do
		p=$(free_port) || bail "no free port"
		used_ports+="$p "
		printf -v "$v" %s "$p"
	done
}

# --- DNS helpers -------------------------------------------------------------

# q OUT PORT NAME TYPE [KDIG_OPTION...]: one query to 127.0.0.1@PORT, bounded.
q() {
	local out=$1 port=$2 name=$3 type=$4
	shift 4
	timeout 15 kdig @127.0.0.1 -p "$port" +time=3 +retry=1 "$@" "$name" "$type" >"$out" 2>&1 || true
}
rcode_of() { sed -n 's/^;; ->>HEADER<<- .*status: \([A-Z]*\);.*/\1/p' "$1" | head -n 1; }
flags_of() { sed -n 's/^;; Flags: \([^;]*\);.*/\1/p' "$1" | head -n 1; }
has_ad() { case " $(flags_of "$1") " in *" ad "*) return 0;; esac; return 1; }
# section FILE NAME: the records of a section (ANSWER, AUTHORITY, ADDITIONAL).
section() {
	awk -v s=";; $2 SECTION:" '$0 == s { on = 1; next } /^;; / || /^$/ { on = 0 } on' "$1"
}
# mx_of FILE: "PREF EXCHANGE" of the MX records in ANSWER, sorted.
mx_of() { section "$1" ANSWER | awk '$4 == "MX" { print $5, $6 }' | sort; }

# counter CONF ZONE NAME: a mod-mxtrap counter of ZONE (0 when not listed),
# e.g. counter knot.conf example.com. trapped, or unchanged[no-backup].
counter() {
	local v
	v=$(kenv timeout 20 knotc -c "$1" zone-stats "$2" mod-mxtrap 2>/dev/null |
		awk -v k="mod-mxtrap.$3" '$2 == k { print $4 }')
	echo "${v:-0}"
}
# stats_line CONF ZONE: every mod-mxtrap counter of ZONE on one line.
stats_line() {
	kenv timeout 20 knotc -c "$1" zone-stats "$2" mod-mxtrap 2>&1 |
		sed 's/^\[[^]]*\] mod-mxtrap\.//' | tr '\n' ' '
}

# --- knotd -------------------------------------------------------------------

# conf_item CONF SECTION ITEM: the first value of ITEM in SECTION of a
# configuration file as these tests write them ("listen: [ a@1, b@1 ]" gives
# a@1), quotes removed.
conf_item() {
	awk -v s="$2:" -v i="$3:" '/^[^ \t#-]/ { sec = $1 }
		sec == s && ($1 == i || ($1 == "-" && $2 == i)) {
			sub(/^[^:]*:[ \t]*/, ""); gsub(/["\[\]]/, ""); sub(/^[ \t]*/, ""); sub(/[ ,].*/, "")
			print; exit }' "$1"
}
# knotd_ctl CONF ARG...: knotc for the knotd of CONF, bounded; through its
# control socket alone when CONF names an absolute one (no configuration
# parsed, no module loaded: fast with many zones), else with -c CONF.
knotd_ctl() {
	local conf=$1 sock
	shift
	sock=$(conf_item "$conf" control listen)
	case $sock in
	/*) kenv timeout 30 knotc -s "$sock" -t 20 "$@";;
	*) kenv timeout 60 knotc -c "$conf" -t 50 "$@";;
	esac
}
# knotd_ready CONF [ZONE...]: the knotd of CONF answers on its control socket
# and has every ZONE loaded (and signed, where it signs: knotd publishes a
# zone it signs only signed).
knotd_ready() {
	local conf=$1 z
	shift
	knotd_ctl "$conf" status >/dev/null 2>&1 || return 1
	for z in "$@"; do
		[[ $(knotd_ctl "$conf" zone-status "$z" 2>/dev/null) == *"serial: "[0-9]* ]] || return 1
	done
}

# knotd_start CONF LOG [ZONE...]: starts knotd -c CONF (writes nothing else)
# with the Knot environment, behind knotd_wrapper (an array, empty by default:
# e.g. taskset or valgrind), its output appended to LOG; pid in knotd_pid,
# stopped by test_cleanup. Waits until knotd answers on its control socket and
# has every ZONE loaded, never with a DNS query, within knotd_start_secs (60).
# Fails (1, knotd stopped, the end of LOG as notes) if knotd exits first or
# the deadline passes.
knotd_wrapper=()
knotd_start_secs=60
knotd_stop_secs=10
declare -gA knotd_conf=() knotd_log=()
knotd_start() {
	local conf=$1 log=$2 deadline
	shift 2
	spawn "$log" "${knotd_wrapper[@]}" knotd -c "$conf"
	knotd_pid=$spawned_pid
	knotd_conf[$knotd_pid]=$conf knotd_log[$knotd_pid]=$log
	deadline=$((SECONDS + knotd_start_secs))
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
# knotd_stop [PID]: stops a knotd of knotd_start (default knotd_pid) as
# stop_server does: SIGTERM, exit by itself within knotd_stop_secs (10) with
# status 0, its port released, no sanitizer report in its log. stop_errs as
# there; status 1 when it is not empty.
knotd_stop() {
	local pid=${1:-$knotd_pid} port=
	[ -z "${knotd_conf[$pid]:-}" ] || port=$(conf_item "${knotd_conf[$pid]}" server listen)
	stop_server "knotd $pid" "$pid" "${port##*@}" "${knotd_log[$pid]:-/dev/null}" "$knotd_stop_secs"
	[ -z "$stop_errs" ]
}

# --- builds and meson --------------------------------------------------------

# meson_option BUILD_DIR NAME: the value of a build option (e.g. b_sanitize).
meson_option() { meson configure "$1" 2>/dev/null | awk -v o="$2" '$1 == o { print $2; exit }'; }
# meson_results JSON_LOG...: "PASSED FAILED" over meson's test logs
# (meson-logs/testlog*.json: one result a test; SKIP and EXPECTEDFAIL pass).
meson_results() {
	python3 - "$@" <<-'EOF'
	import json, sys
	ok = bad = 0
	for path in sys.argv[1:]:
	    with open(path) as f:
	        for line in f:
	            if line.strip():
	                r = json.loads(line)["result"]
	                ok += r in ("OK", "SKIP", "EXPECTEDFAIL")
	                bad += r not in ("OK", "SKIP", "EXPECTEDFAIL")
	print(ok, bad)
	EOF
}
