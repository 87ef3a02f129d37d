# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# A validating unbound in front of the test's knotd (tests/dnssec): source it
# after tests/lib/common.sh. Needs unbound, unbound-control, unbound-checkconf.

# unbound_start DIR PORT CTL_PORT ANCHORS ZONE@PORT...: unbound on
# 127.0.0.1@PORT (control on CTL_PORT) validating with the trust anchors of
# the file ANCHORS (DNSKEY lines; unbound_ctl DIR reload reads it again), each
# ZONE a stub zone of the knotd on 127.0.0.1@PORT; DIR/unbound.conf,
# DIR/unbound.log (val-log-level 2), DIR/unbound.out, its work directory
# DIR/u. Pid in unbound_pid (stopped by the EXIT trap); bails out on a bad
# configuration. Not yet answering: wait for it (e.g. a SOA with AD).
unbound_start() {
	local dir=$1 port=$2 ctl=$3 anchors=$4 stub out
	shift 4
	mkdir -p "$dir/u"
	{
		printf 'server: interface: 127.0.0.1 port: %s do-ip6: no do-not-query-localhost: no\n' "$port"
		printf '    chroot: "" username: "" directory: "%s/u" pidfile: "%s/u/unbound.pid" trust-anchor-file: "%s"\n' \
			"$dir" "$dir" "$anchors"
		printf '    logfile: "%s/unbound.log" use-syslog: no val-log-level: 2 log-servfail: yes\n' "$dir"
		printf '    aggressive-nsec: no local-zone: "test." nodefault\n'
		# A knotd slow to answer on a loaded machine is not given up on (a
		# timeout is no DNSSEC verdict): at least 1.5 s, and probed again.
		printf '    infra-cache-min-rtt: 1500 infra-keep-probing: yes\n'
		printf 'remote-control: control-enable: yes control-interface: 127.0.0.1 control-port: %s control-use-cert: no\n' "$ctl"
		for stub in "$@"; do printf 'stub-zone: name: "%s" stub-addr: 127.0.0.1@%s\n' "${stub%@*}" "${stub##*@}"; done
	} >"$dir/unbound.conf"
	out=$(unbound-checkconf "$dir/unbound.conf" 2>&1) || bail "unbound configuration: $out"
	unbound -d -c "$dir/unbound.conf" >"$dir/unbound.out" 2>&1 &
	unbound_pid=$! && spawned+=("$unbound_pid")
}
# unbound_ctl DIR ARG...: unbound-control for the unbound of DIR, bounded, quiet.
unbound_ctl() { local dir=$1; shift; timeout 20 unbound-control -c "$dir/unbound.conf" "$@" >/dev/null 2>&1; }
