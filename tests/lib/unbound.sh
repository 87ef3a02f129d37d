# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# A validating unbound on loopback for the shell tests that check DNSSEC claims
# (dnssec, ops/signed-secondary): the zones' KSK/CSK DNSKEYs as served are its
# trust anchors, each zone a stub zone of the knotd serving it, and a control
# port to flush the cache, so that each answer is validated afresh. Several may
# run at once, each in its own directory. Source it after tests/lib/common.sh.

# unbound_anchors OUT PORT ZONE: the KSK/CSK DNSKEYs (flags 257) of ZONE as the
# knotd on 127.0.0.1@PORT serves them (OUT: kdig's answer), one a line.
unbound_anchors() {
	q "$1" "$2" "$3" DNSKEY
	section "$1" ANSWER | awk '$4 == "DNSKEY" && $5 == 257'
}
# unbound_start DIR PORT CONTROL_PORT ANCHORS STUB...: unbound -d on
# 127.0.0.1@PORT, its configuration DIR/unbound.conf, its log DIR/unbound.log
# (val-log-level 2: why an answer is bogus), its output DIR/unbound.out;
# ANCHORS a file of DNSKEY records; each STUB "ZONE PORT": ZONE is asked of
# 127.0.0.1@PORT. Sets unbound_pid (in spawned; stop it with unbound_stop);
# 1, unbound_err saying why, when unbound-checkconf refuses the configuration.
# Names under test. (RFC 6761) are resolved as any other. A knotd slow to
# answer on a loaded machine is not given up on (a timeout is no DNSSEC
# verdict): unbound waits 1.5 s at least and keeps probing it.
unbound_start() {
	local dir=$1 port=$2 cport=$3 anchors=$4 stub
	shift 4
	mkdir -p "$dir"
	{
		cat <<-EOF
		server: interface: 127.0.0.1 port: $port do-ip6: no do-not-query-localhost: no
		    chroot: "" username: "" directory: "$dir" pidfile: "$dir/unbound.pid" trust-anchor-file: "$anchors"
		    logfile: "$dir/unbound.log" use-syslog: no val-log-level: 2 log-servfail: yes
		    aggressive-nsec: no local-zone: "test." nodefault
		    infra-cache-min-rtt: 1500 infra-keep-probing: yes
		remote-control: control-enable: yes control-interface: 127.0.0.1 control-port: $cport control-use-cert: no
		EOF
		for stub; do printf 'stub-zone: name: "%s" stub-addr: 127.0.0.1@%s\n' "${stub% *}" "${stub##* }"; done
	} >"$dir/unbound.conf"
	# shellcheck disable=SC2034 # the caller's
	unbound_err=$(unbound-checkconf "$dir/unbound.conf" 2>&1) || return 1
	unbound -d -c "$dir/unbound.conf" >"$dir/unbound.out" 2>&1 &
	unbound_pid=$! && spawned+=("$unbound_pid")
}
# unbound_ctl DIR ARG...: unbound-control of the unbound of DIR, bounded, quiet.
unbound_ctl() {
	local dir=$1
	shift
	timeout 20 unbound-control -c "$dir/unbound.conf" "$@" >/dev/null 2>&1
}
# unbound_ask DIR PORT OUT ZONE NAME: NAME MX with DO through the unbound of DIR
# (on PORT) into OUT, ZONE flushed from its cache first (each answer validated
# afresh). A SERVFAIL that unbound logs as a timeout of knotd (a loaded
# machine: no DNSSEC verdict) is asked again, 3 times at most, with unbound's
# record of knotd's timeouts flushed; a validation failure never is.
unbound_ask() {
	local dir=$1 port=$2 out=$3 zone=$4 name=$5 try
	for try in 1 2 3; do
		unbound_ctl "$dir" flush_zone "$zone" || true
		q "$out" "$port" "$name" MX +dnssec
		[ "$(rcode_of "$out")" = SERVFAIL ] &&
			unbound_log_of "$dir" "$name" | tail -n 1 | grep -q 'upstream server timeout' || return 0
		note "$name MX through unbound: knotd timed out (try $try): $(unbound_log_of "$dir" "$name" | tail -n 1)"
		unbound_ctl "$dir" flush_infra all || true
	done
}
# unbound_log_of DIR NAME: the last lines of its log naming NAME (why bogus).
unbound_log_of() { grep -F -- "${2%.}" "$1/unbound.log" 2>/dev/null | grep -v "keytag query" | tail -n 4 || true; }
# unbound_stop DIR PID PORT: stop_server for it (exit 0 on SIGTERM, PORT released).
unbound_stop() { stop_server unbound "$2" "$3" "$1/unbound.log"; }
