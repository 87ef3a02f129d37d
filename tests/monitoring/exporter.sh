#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Proves that monitoring sees the module's counters exactly: after known queries
# to two zones, exporter.py (knot-exporter's reading of zone-stats, its names and
# labels) and knotd's statistics file give each counter's count and no other, and
# Prometheus scraping exporter.py evaluates mxtrap.rst's PromQL examples exactly;
# knotc prints the counters as mxtrap.rst shows them, and its example sum is exact.
#
#   tests/monitoring/exporter.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
set -euo pipefail
TAP_NAME=exporter
src_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
test_init "$@"
need_tools knotd knotc kdig
test_tmp_init
# Debian's python3: the binding and the client are Debian packages.
py=${MXTRAP_PYTHON:-/usr/bin/python3}
have_py=
"$py" -c 'import libknot.control, prometheus_client' 2>/dev/null && have_py=1

take_ports port
cat >"$tmp/knot.conf" <<EOF
server:
    rundir: "$tmp"
    listen: 127.0.0.1@$port
    udp-workers: 2
    tcp-workers: 1
control:
    listen: "$tmp/knot.sock"
statistics:
    timer: 1s
    file: "$tmp/stats.yaml"
module:
  - id: mod-mxtrap
    file: "$module"
template:
  - id: default
    storage: "$tmp"
    module: mod-mxtrap
zone:
  - domain: a.test.
  - domain: b.test.
EOF
soa='@ 300 SOA ns hostmaster 1 3600 900 604800 300'$'\n''@ 300 NS ns'$'\n''ns 300 A 127.0.0.1'
# a.test.: trapped; single exchanger (no-backup); big: fits 512 bytes without
# the trap, not with it (truncated over UDP without EDNS).
{
	printf '%s\n' "\$ORIGIN a.test." "$soa" '@ 300 MX 10 mx1' '@ 300 MX 20 mx2' 'single 300 MX 10 mx1' \
		'www 300 A 192.0.2.80' 'big 300 MX 10 primary'
	for i in $(seq -w 1 20); do echo "big 300 MX 20 mx-$i"; done
} >"$tmp/a.test.zone"
# b.test.: null MX at the apex, trapped below.
printf '%s\n' "\$ORIGIN b.test." "$soa" '@ 300 MX 0 .' 'mail 300 MX 10 mx1' 'mail 300 MX 20 mx2' >"$tmp/b.test.zone"
knotd_start "$tmp/knot.conf" "$tmp/knotd.log" a.test. b.test. || bail "knotd did not start"

# send COUNT NAME TYPE [KDIG_OPTION...]: COUNT queries in one kdig, each must
# be answered (NOERROR).
send_errs=
send() {
	local more=() i
	for i in $(seq 2 "$1"); do more+=("$2" "$3"); done
	q "$tmp/q.out" "$port" "$2" "$3" "${@:4}" "${more[@]}"
	[ "$(grep -c 'status: NOERROR' "$tmp/q.out")" = "$1" ] ||
		send_errs+="$2 $3 ${*:4}: not $1 answers: $(grep -m 2 -E 'status|ERROR' "$tmp/q.out" | tr '\n' ' ')"$'\n'
}
# Counted: trapped a.test. 4 (3 UDP, 1 TCP), no-backup 2, truncated 1;
# b.test.: null-mx 4, trapped 6. Not counted: the A queries.
send 3 a.test. MX
send 1 a.test. MX +tcp
send 2 single.a.test. MX
send 1 big.a.test. MX +noedns +notcp +ignore
grep -q 'Flags: qr aa tc' "$tmp/q.out" || send_errs+="big.a.test. MX: no TC flag"$'\n'
send 2 www.a.test. A
send 4 b.test. MX
send 6 mail.b.test. MX +tcp
check "known queries answered (big.a.test. truncated)" "${send_errs%$'\n'}"
# ZONE COUNTER INDEX ("-": none) COUNT: every non-zero mod-mxtrap counter.
want='a.test. trapped - 4
a.test. truncated - 1
a.test. unchanged no-backup 2
b.test. trapped - 6
b.test. unchanged null-mx 4'

# difference WANT GOT: lines "missing LINE", "unexpected LINE".
difference() { diff <(echo "$1") <(echo "$2") | sed -n 's/^</missing/p; s/^>/unexpected/p' || true; }

# --- knot-exporter's metrics ---------------------------------------------------
# expect_metrics SUFFIX: the metric lines of want (_total: the counters), the
# labels sorted as prometheus_client writes them.
expect_metrics() {
	awk -v s="$1" '{ n = $2; gsub(/-/, "_", n); t = $3 == "-" ? "" : $3
		printf "knot_zone_stats_%s%s{module=\"mod-mxtrap\",type=\"%s\",zone=\"%s\"} %s.0\n", n, s, t, $1, $4 }' <<<"$want"
}
if [ -z "$have_py" ]; then
	skip "exporter: every counter as knot_zone_stats_*{zone,module,type}" "no python3-libknot or python3-prometheus-client"
else
	errs=
	"$py" "$src_dir/exporter.py" scrape "$tmp/knot.sock" >"$tmp/metrics.txt" 2>"$tmp/exporter.err" ||
		errs="exporter.py: $(tail -n 3 "$tmp/exporter.err")"
	# Zero values are left out: Knot 3.2 sends a zero counter without index, 3.4 does not.
	got=$(grep 'module="mod-mxtrap"' "$tmp/metrics.txt" | grep -v ' 0\.0$' | sort || true)
	exp=$({ expect_metrics ""; expect_metrics _total; } | sort)
	[ "$got" = "$exp" ] || errs+=$(difference "$exp" "$got")
	for t in trapped:gauge trapped_total:counter unchanged:gauge unchanged_total:counter; do
		grep -qx "# TYPE knot_zone_stats_${t%:*} ${t#*:}" "$tmp/metrics.txt" ||
			errs+=$'\n'"no '# TYPE knot_zone_stats_${t%:*} ${t#*:}'"
	done
	check "exporter: every counter as knot_zone_stats_*{zone,module,type}, gauge and _total" "${errs#$'\n'}"
	[ -z "$errs" ] || indent "$tmp/metrics.txt" 40
fi

# --- knotd's statistics file ----------------------------------------------------
# stats_flat: the last dump as "zone/a.test./mod-mxtrap/unchanged/no-backup 2"
# (one space of indent a level: Knot 3.2 to 3.5); non-zero mod-mxtrap lines.
stats_flat() {
	awk '/^---/ { delete p; out = "" } { d = match($0, /[^ ]/) - 1; k = $1; sub(/:$/, "", k); gsub(/"/, "", k); p[d] = k
		if (NF > 1 && d > 0) { s = p[0]; for (i = 1; i <= d; i++) s = s "/" p[i]; out = out s " " $2 "\n" } }
		END { printf "%s", out }' "$tmp/stats.yaml" 2>/dev/null | awk '$1 ~ /\/mod-mxtrap\// && $2 != 0' | sort
}
stats_want=$(awk '{ printf "zone/%s/mod-mxtrap/%s%s %s\n", $1, $2, $3 == "-" ? "" : "/" $3, $4 }' <<<"$want" | sort)
stats_match() { [ "$(stats_flat)" = "$stats_want" ]; }
errs=
wait_for "the statistics file" 15 stats_match >/dev/null ||
	errs=$(difference "$stats_want" "$(stats_flat)")
check "statistics file (timer 1s): the same counters under zone/<zone>/mod-mxtrap" "$errs"
[ -z "$errs" ] || indent "$tmp/stats.yaml" 40

# --- Prometheus -------------------------------------------------------------------
# rst_block TEXT: the literal block after the line of mxtrap.rst with TEXT
# (the PromQL examples: tested as documented).
rst_block() {
	awk -v m="$1" 'index($0, m) { on = 1; next } on && /^$/ { if (got) exit; next }
		on && /^   / { got = 1; print substr($0, 4); next } on { exit }' "$src_dir/../../module/mxtrap.rst"
}

# --- knotc, as mxtrap.rst shows it ------------------------------------------------
# One zone's counters in one of the two documented forms (knotc 3.2-3.5, 3.6),
# and the documented sum over all zones run as written (knotc on this socket).
errs=$(knotd_ctl "$tmp/knot.conf" -f zone-stats a.test. mod-mxtrap 2>&1 |
	grep -vE '^(\[a\.test\.\] mod-mxtrap\.[a-z-]+(\[[a-z-]+\])? = [0-9]+|mod-mxtrap\.[a-z-]+(\[[a-z-]+\])?: [0-9]+)$' || true)
sum_cmd=$(rst_block 'total of trapped answers')
[ -n "$sum_cmd" ] || errs+=$'\n'"mxtrap.rst: no example for the total of trapped answers"
total=$(bash -c "${sum_cmd//knotc /knotc -s \"$tmp/knot.sock\" }" 2>&1) || true
[ "$total" = 10 ] || errs+=$'\n'"[$sum_cmd]: '$total', want 10 (4 + 6)"
check "knotc: a zone's counters as mxtrap.rst shows them; its sum over all zones gives 10" "${errs#$'\n'}"
rate_query=$(rst_block 'Trapped answers per second')
share_query=$(rst_block 'MX answers left alone, by reason')
# Queries to the series already scraped (each increase at most half its first
# value: rate()'s extrapolation is then the same factor for every series, and
# the shares exact): trapped +5 (a.test. 2, b.test. 3), no-backup +1, null-mx +2.
prometheus_case() {
	local p_exp p_prom exp_pid prom_pid url errs='' out
	if [ -z "$rate_query" ] || [ -z "$share_query" ]; then
		not_ok "Prometheus: mxtrap.rst's two PromQL examples found"
		return 0
	fi
	take_ports p_exp p_prom
	"$py" "$src_dir/exporter.py" serve "$tmp/knot.sock" "$p_exp" >"$tmp/serve.log" 2>&1 &
	exp_pid=$! && spawned+=("$exp_pid")
	printf '%s\n' 'global:' '  scrape_interval: 1s' '  scrape_timeout: 1s' 'scrape_configs:' '  - job_name: knot' \
		'    static_configs:' "      - targets: [ '127.0.0.1:$p_exp' ]" >"$tmp/prometheus.yml"
	prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom" \
		--web.listen-address="127.0.0.1:$p_prom" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
	prom_pid=$! && spawned+=("$prom_pid")
	url=http://127.0.0.1:$p_prom
	pq() { "$py" "$src_dir/exporter.py" query "$url" "$1" 2>>"$tmp/query.err" || true; }
	scraped() { [ "$(pq "$1")" = "{} $2" ]; }
	wait_for "Prometheus' first scrape" 30 scraped 'count(knot_zone_stats_unchanged_total{module="mod-mxtrap"})' 2 ||
		errs="no scrape of both unchanged series; $(tail -n 3 "$tmp/prometheus.log" "$tmp/serve.log" "$tmp/query.err" 2>&1)"
	if [ -z "$errs" ]; then
		send_errs=
		send 2 a.test. MX; send 1 single.a.test. MX; send 2 b.test. MX; send 3 mail.b.test. MX
		wait_for "the new counts scraped" 30 scraped 'sum(knot_zone_stats_trapped_total{module="mod-mxtrap"})' 15 ||
			errs="trapped total not 15 in Prometheus"
		errs+=${send_errs%$'\n'}
	fi
	if [ -z "$errs" ]; then
		out=$(pq "$rate_query")
		awk '$1 == "{}" && $2 > 0 { f = 1 } END { exit !f }' <<<"$out" || errs="trapped per second: [$out], want one value > 0"
		out=$(pq "$share_query")
		[ "$out" = $'{type="no-backup"} 0.125\n{type="null-mx"} 0.25' ] ||
			errs+="share by reason: [$out], want no-backup 0.125, null-mx 0.25"
	fi
	[ -z "$errs" ] || [ ! -s "$tmp/query.err" ] || errs+=$'\n'"$(tail -n 1 "$tmp/query.err")"
	check "Prometheus scraping exporter.py: trapped per second > 0, share of unchanged by reason exact" "$errs"
	stop_server prometheus "$prom_pid" "$p_prom" "$tmp/prometheus.log"
	check "Prometheus stops" "$stop_errs"
	stop_server exporter.py "$exp_pid" "$p_exp" "$tmp/serve.log"
	check "exporter.py stops" "$stop_errs"
}
if [ -z "$have_py" ]; then
	skip "Prometheus" "no python3-libknot or python3-prometheus-client"
elif ! command -v prometheus >/dev/null; then
	skip "Prometheus" "prometheus not installed"
else
	prometheus_case
fi

knotd_stop || true
check "knotd exits on SIGTERM (status 0), port released, no sanitizer report" "$stop_errs"
finish_tap
[ "$failed" -eq 0 ]
