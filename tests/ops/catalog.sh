#!/usr/bin/env bash
# Catalog zones (suite 'ops'): conf-examples/catalog-primary.conf and
# catalog-secondary.conf as shipped, a member zone added and removed on the
# primary at runtime, followed by the secondary through the catalog.
#
#   tests/ops/catalog.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
#
# BUILD_DIR holds module/mxtrap.so; KNOTD_PRELOAD is the ASan runtime for a
# sanitized build (preloaded into knotd and knotc), empty otherwise.
#
# Servers, on 127.0.0.1 and free high ports (the examples' 192.0.2.1@53 and
# 192.0.2.2@53 mapped by sed), both stopped by this script:
#   - primary (catalog-primary.conf): generates catalog.example. from the
#     zones with the "customer" template (catalog-role: member), serves them
#     with mod-mxtrap. Member zone files are written here (no customer zone
#     file ships with the examples).
#   - secondary (catalog-secondary.conf): only catalog.example. configured
#     (catalog-role: interpret); every member gets the catalog template
#     "customer": transferred from the primary, mod-mxtrap loaded.
# Every member zone: apex MX 10/20 (or other preferences per zone) -> trap
# "99 <primary exchanger>"; solo.<zone> one MX -> unchanged (no-backup).
#
# Cases, in the order they run:
#   a  the initial members (customer-one, customer-two) are served by the
#      secondary with the trap, UDP and TCP, the same MX set as the primary;
#      solo names untouched; the secondary's counters count each answer.
#   b  new.example added on the primary at runtime (its zone file written
#      first): the secondary serves it (poll, 30 s) with the trap, UDP and
#      TCP, equal to the primary's answer; its counters on the secondary
#      count the trapped answers (module active per zone through the catalog
#      template); the secondary's own configuration does not list it
#      (learned from the catalog).
#   c  new.example removed on the primary: the secondary answers REFUSED for
#      it (poll, 30 s; Knot's rcode for a zone it does not serve), its zone
#      file there is purged, the other members are still trapped.
#   d  the catalog's AXFR from the primary lists exactly the members (PTR
#      under zones.catalog.example.) and no MX; the members' AXFR carries the
#      zone's MX records only (no trap); the secondary's zone files neither.
#   e  both servers stopped with SIGTERM: exit status 0, ports released; no
#      sanitizer report and no module error in the logs.
#
# A member is added and removed with a configuration transaction on the
# primary (knotc conf-begin, conf-set 'zone[new.example]', conf-set
# 'zone[new.example].template' customer, conf-commit; conf-unset to remove).
# knotd before 3.2.10 (bookworm: 3.2.6) builds the committed configuration
# without its shared modules (upstream fix "conf: fix segfault if a shared
# module is loaded and dynamic configuration used", 3.2.10/3.3.0): the new
# zone logs "module 'mod-mxtrap', failed to open" and is served without the
# module until `knotc reload`; without mxtrap_pin() (module/mxtrap.c) knotd
# would then crash, unloading mxtrap.so under the running zones. There case
# b asserts exactly that (the primary alive, the new zone served untrapped),
# then does what an operator of such a knotd does: the zone into the
# primary's knot.conf and `knotc reload`, after which both servers trap it.
#
# Output: TAP on stdout (plan at the end), then "catalog: N passed, M failed"
# on stderr. Runtime 4-8 s; everything is bounded (polls with deadlines,
# kdig and knotc under timeout).
# Environment: CATALOG_KEEP=1 or OPS_KEEP=1 keeps the temporary directory.
set -euo pipefail

src_dir=$(cd "$(dirname "$0")" && pwd)
examples=$(cd "$src_dir/../../conf-examples" && pwd)

TAP_NAME=catalog
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
test_init "$@"

need_tools knotd knotc kdig
for f in catalog-primary.conf catalog-secondary.conf; do
	[ -f "$examples/$f" ] || bail "$examples/$f missing"
done

CATALOG=catalog.example.
INITIAL=(customer-one.example. customer-two.example.)
NEW=new.example.

test_tmp_init
pri_pid=
sec_pid=

# --- helpers ------------------------------------------------------------------

knotc_p() { kenv timeout 60 knotc -c "$tmp/p/knot.conf" -t 50 "$@"; }
knotc_s() { kenv timeout 60 knotc -c "$tmp/s/knot.conf" -t 50 "$@"; }

# render EXAMPLE DIR: the example with its four placeholders replaced and the
# documentation addresses mapped to loopback (listen/remote with the port
# first, then the bare ACL addresses).
render() {
	mkdir -p "$2/run" "$2/storage" "$2/zones"
	sed -e "s|@MXTRAP_MODULE@|$module|g" -e "s|@RUNDIR@|$2/run|g" \
	    -e "s|@STORAGE@|$2/storage|g" -e "s|@ZONEDIR@|$2/zones|g" \
	    -e "s|192\.0\.2\.1@53|127.0.0.1@$port_p|g" -e "s|192\.0\.2\.2@53|127.0.0.1@$port_s|g" \
	    -e "s|192\.0\.2\.[12]\([^0-9]\)|127.0.0.1\1|g" -e "s|192\.0\.2\.[12]$|127.0.0.1|" \
	    "$examples/$1" >"$2/knot.conf"
	if grep -n -E '@[A-Z_]+@|192\.0\.2\.[12]([^0-9]|$)' "$2/knot.conf" >"$tmp/left.txt"; then
		indent "$tmp/left.txt"
		bail "$1: placeholder or documentation address left after rendering"
	fi
}

# Per-zone MX preferences (primary exchanger, backup): distinct per zone so a
# mix-up of zones shows.
prefs_of() {
	case $1 in
	customer-one.example.) echo "10 20";;
	customer-two.example.) echo "5 50";;
	*) echo "1 2";;
	esac
}
# write_zone ZONE FILE
write_zone() {
	local p1 p2
	read -r p1 p2 <<<"$(prefs_of "$1")"
	cat >"$2" <<-EOF
	\$ORIGIN $1
	\$TTL 300
	@	SOA	ns1 hostmaster 1 3600 900 1209600 300
	@	NS	ns1
	ns1	A	192.0.2.53
	@	MX	$p1 mx1
	@	MX	$p2 mx2
	mx1	A	192.0.2.25
	mx2	A	192.0.2.26
	solo	MX	10 mx1
	EOF
}
# expected_mx ZONE NAME: the MX set (as mx_of prints it) the module must
# answer for NAME (apex: trap on mx1 at 99; solo: one exchanger, untouched).
expected_mx() {
	local p1 p2
	read -r p1 p2 <<<"$(prefs_of "$1")"
	case $2 in
	"$1") printf '%s\n' "$p1 mx1.$1" "$p2 mx2.$1" "99 mx1.$1" | sort;;
	*) echo "10 mx1.$1";;
	esac
}
# zone_mx ZONE: the zone's own MX records ("OWNER PREF EXCHANGE", sorted).
zone_mx() {
	local p1 p2
	read -r p1 p2 <<<"$(prefs_of "$1")"
	printf '%s\n' "$1 $p1 mx1.$1" "$1 $p2 mx2.$1" "solo.$1 10 mx1.$1" | sort
}
oneline() { tr '\n' ',' | sed 's/,$//'; }
# evidence FILE [MAX]: a file indented, for the errors of a check.
evidence() { head -n "${2:-60}" "$1" 2>/dev/null | sed 's/^/  /'; }

# serves PORT ZONE: ZONE's SOA answered NOERROR with the SOA.
serves() {
	q "$tmp/serves.out" "$1" "$2" SOA
	[ "$(rcode_of "$tmp/serves.out")" = NOERROR ] &&
		section "$tmp/serves.out" ANSWER | awk '$4 == "SOA" { f = 1 } END { exit !f }'
}
refused() {
	q "$tmp/refused.out" "$1" "$2" SOA
	[ "$(rcode_of "$tmp/refused.out")" = REFUSED ]
}
# catalog_members: the PTR targets of the catalog's AXFR from the primary
# (owners must be <id>.zones.catalog.example.), sorted; errors to
# $tmp/catalog.err.
catalog_members() {
	q "$tmp/catalog-axfr.out" "$port_p" "$CATALOG" AXFR
	awk -v c="zones.$CATALOG" '$4 == "PTR" {
		o = $1; sub(/^[^.]*\./, "", o)
		if (o != c) print "PTR owner " $1 " not <id>." c > "/dev/stderr"
		print $5 }' "$tmp/catalog-axfr.out" 2>"$tmp/catalog.err" | sort
}
catalog_lists() { [ "$(catalog_members)" = "$(printf '%s\n' "$@" | sort)" ]; }

# mx_check PORT ZONE NAME LABEL [KDIG_OPTION...]: NAME MX from PORT is the
# expected set (errors on stdout); the answer stays in $tmp/LABEL.out.
mx_check() {
	local port=$1 zone=$2 name=$3 label=$4 out=$tmp/$4.out got want
	shift 4
	q "$out" "$port" "$name" MX "$@"
	got=$(mx_of "$out")
	want=$(expected_mx "$zone" "$name")
	[ "$(rcode_of "$out")" = NOERROR ] || echo "$label: status $(rcode_of "$out")"
	if [ "$got" != "$want" ]; then
		echo "$label: MX [$(oneline <<<"$got")] want [$(oneline <<<"$want")]"
		sed 's/^/  /' "$out" | head -n 20
	fi
}
# served_trapped ZONE TAG: ZONE (apex and solo) on the secondary, UDP and
# TCP, as expected and equal to the primary's answer; errors on stdout.
served_trapped() {
	local zone=$1 tag=$2 name proto opt
	for name in "$zone" "solo.$zone"; do
		for proto in udp tcp; do
			opt=; [ "$proto" = tcp ] && opt=+tcp
			mx_check "$port_s" "$zone" "$name" "$tag-s-$proto" $opt
			mx_check "$port_p" "$zone" "$name" "$tag-p-$proto" $opt
			[ "$(mx_of "$tmp/$tag-s-$proto.out")" = "$(mx_of "$tmp/$tag-p-$proto.out")" ] ||
				echo "$name $proto: secondary [$(mx_of "$tmp/$tag-s-$proto.out" | oneline)]" \
					"!= primary [$(mx_of "$tmp/$tag-p-$proto.out" | oneline)]"
		done
	done
}
# counters_are CONF ZONE TRAPPED NOBACKUP: the secondary's counters; errors on stdout.
counters_are() {
	local t b
	t=$(counter "$1" "$2" trapped)
	b=$(counter "$1" "$2" 'unchanged[no-backup]')
	[ "$t" = "$3" ] && [ "$b" = "$4" ] ||
		echo "$2: trapped $t, unchanged[no-backup] $b; want $3, $4 (zone-stats: $(stats_line "$1" "$2"))"
}

alive() { kill -0 "$1" 2>/dev/null; }
# primary_ready: the catalog is generated with both initial members.
primary_ready() { alive "$pri_pid" && catalog_lists "${INITIAL[@]}"; }
secondary_ready() {
	local z
	alive "$sec_pid" || return 1
	for z in "${INITIAL[@]}"; do serves "$port_s" "$z" || return 1; done
}

# Knot before 3.2.10 loses the shared modules on conf-commit (see the header).
knot_version=$(knotd_version)
commit_loses_modules=0
version_at_least "${knot_version:-0}" 3.2.10 || commit_loses_modules=1
# txn ARGS...: knotc conf-begin, the conf-set/unset commands (one per
# argument, words split), conf-commit; conf-abort on failure.
txn() {
	local cmd out
	out=$(knotc_p conf-begin 2>&1) || { echo "conf-begin: $out"; return 1; }
	local -a words
	for cmd in "$@"; do
		# Split into words without pathname expansion ('zone[...]').
		read -r -a words <<<"$cmd"
		if ! out=$(knotc_p "${words[@]}" 2>&1); then
			echo "$cmd: $out"
			knotc_p conf-abort >/dev/null 2>&1 || true
			return 1
		fi
	done
	out=$(knotc_p conf-commit 2>&1) || { echo "conf-commit: $out"; return 1; }
}
# add_member ZONE / remove_member ZONE on the primary; errors on stdout.
add_member() { txn "conf-set zone[$1]" "conf-set zone[$1].template customer"; }
remove_member() { txn "conf-unset zone[$1]"; }

# --- start ----------------------------------------------------------------------

start_time=$SECONDS
echo "# tmp $tmp"
port_p=$(free_port) || bail "no free port"
port_s=$(free_port) || bail "no free port"
render catalog-primary.conf "$tmp/p"
render catalog-secondary.conf "$tmp/s"
[ "$(awk '/^[a-z][a-z-]*:/ { last = $1 } END { print last }' "$tmp/p/knot.conf")" = zone: ] ||
	bail "catalog-primary.conf: the zone section is not the last (case b appends to it)"
for conf in "$tmp/p/knot.conf" "$tmp/s/knot.conf"; do
	out=$(kenv timeout 60 knotc -c "$conf" conf-check 2>&1) || bail "${conf#"$tmp/"}: $out"
done
for z in "${INITIAL[@]}"; do
	write_zone "$z" "$tmp/p/zones/${z%.}.zone"
done
note "knotd ${knot_version:-?}: members added and removed with knotc conf-begin/conf-set/conf-commit"

# The primary first, with its catalog generated, so the secondary's first
# catalog refresh succeeds (no retry timer to wait for).
spawn "$tmp/p/knotd.log" knotd -c "$tmp/p/knot.conf"
pri_pid=$spawned_pid
if ! wait_for "primary's catalog" 30 primary_ready; then
	indent "$tmp/catalog-axfr.out" 20
	tail -n 30 "$tmp/p/knotd.log" | sed 's/^/# primary: /'
	bail "primary did not start or generate its catalog on port $port_p"
fi
note "primary pid $pri_pid on 127.0.0.1@$port_p"
spawn "$tmp/s/knotd.log" knotd -c "$tmp/s/knot.conf"
sec_pid=$spawned_pid
if ! wait_for "secondary serving the initial members" 30 secondary_ready; then
	indent "$tmp/serves.out" 20
	tail -n 30 "$tmp/s/knotd.log" | sed 's/^/# secondary: /'
	bail "secondary did not serve the initial members on port $port_s"
fi
note "secondary pid $sec_pid on 127.0.0.1@$port_s"

# --- a: the initial members ---------------------------------------------------------

for z in "${INITIAL[@]}"; do
	check "a: $z on the secondary: trap at apex, solo untouched, UDP and TCP, = primary" \
		"$(served_trapped "$z" "a-${z%%.*}")"
	check "a: $z counters on the secondary: 2 trapped, 2 unchanged[no-backup]" \
		"$(counters_are "$tmp/s/knot.conf" "$z" 2 2)"
done

# --- b: a member added at runtime -------------------------------------------------

write_zone "$NEW" "$tmp/p/zones/${NEW%.}.zone"
errs=$(add_member "$NEW" || true)
check "b: $NEW added on the primary" "${errs%$'\n'}"
if [ "$commit_loses_modules" = 1 ]; then
	# The known gap of knotd < 3.2.10: the zone is served, without the module,
	# and knotd survives; knotc reload attaches the module.
	new_on_primary() { serves "$port_p" "$NEW"; }
	errs=
	if wait_for "$NEW on the primary" 30 new_on_primary; then
		q "$tmp/b-gap.out" "$port_p" "$NEW" MX
		want=$(expected_mx "$NEW" "$NEW" | grep -v '^99 ')
		[ "$(mx_of "$tmp/b-gap.out")" = "$want" ] ||
			errs+="MX [$(mx_of "$tmp/b-gap.out" | oneline)] want [$(oneline <<<"$want")] (no trap)"$'\n'
	else
		errs+="the primary does not serve $NEW"$'\n'
	fi
	alive "$pri_pid" || errs+="the primary died"$'\n'
	grep -q "\[$NEW\] module 'mod-mxtrap', failed to open" "$tmp/p/knotd.log" ||
		errs+="no \"failed to open\" for $NEW in the primary's log"$'\n'
	check "b: knotd $knot_version < 3.2.10: $NEW on the primary without the module, knotd alive" "${errs%$'\n'}"
	# What an operator of such a knotd does: the zone into knot.conf (its
	# zone section is the file's last), then knotc reload.
	printf '  - domain: %s\n    template: customer\n' "$NEW" >>"$tmp/p/knot.conf"
	errs=$(knotc_p reload 2>&1) && errs=
	new_trapped_on_primary() {
		q "$tmp/b-gap.out" "$port_p" "$NEW" MX
		[ "$(mx_of "$tmp/b-gap.out")" = "$(expected_mx "$NEW" "$NEW")" ]
	}
	wait_for "$NEW trapped on the primary" 30 new_trapped_on_primary ||
		errs+="MX [$(mx_of "$tmp/b-gap.out" | oneline)] after knotc reload"
	check "b: $NEW in the primary's knot.conf + knotc reload: the module attached" "${errs%$'\n'}"
fi
new_served() { serves "$port_s" "$NEW"; }
if wait_for "$NEW on the secondary" 30 new_served; then
	ok "b: the secondary serves $NEW (learned from the catalog)"
	check "b: $NEW on the secondary: trap at apex, solo untouched, UDP and TCP, = primary" \
		"$(served_trapped "$NEW" b-new)"
	check "b: $NEW counters on the secondary: 2 trapped, 2 unchanged[no-backup] (module per member)" \
		"$(counters_are "$tmp/s/knot.conf" "$NEW" 2 2)"
else
	not_ok "b: the secondary serves $NEW (learned from the catalog)"
	indent "$tmp/serves.out" 20
	tail -n 20 "$tmp/p/knotd.log" | sed 's/^/#   primary: /'
	tail -n 20 "$tmp/s/knotd.log" | sed 's/^/#   secondary: /'
	alive "$pri_pid" || note "the primary is dead"
fi
errs=
catalog_lists "${INITIAL[@]}" "$NEW" ||
	errs="catalog members [$(catalog_members | oneline)] $(cat "$tmp/catalog.err")"
check "b: the primary's catalog lists $NEW" "${errs%$'\n'}"
# The secondary's configuration has the catalog zone only; the member's
# status names the catalog it came from.
errs=
domains=$({ knotc_s conf-read zone.domain 2>&1 || true; } | awk '{ print $NF }' | sort | oneline)
[ "$domains" = "$CATALOG" ] || errs+="secondary's configured zones: [$domains], want [$CATALOG]"$'\n'
status=$(knotc_s zone-status "$NEW" 2>&1 || true)
case $status in
*"catalog: $CATALOG"*) ;;
*) errs+="zone-status $NEW: $status";;
esac
check "b: on the secondary $NEW is a catalog member, not configured" "${errs%$'\n'}"

# --- c: the member removed --------------------------------------------------------

errs=$(remove_member "$NEW" || true)
check "c: $NEW removed on the primary" "${errs%$'\n'}"
new_gone() { refused "$port_s" "$NEW"; }
if wait_for "$NEW gone from the secondary" 30 new_gone; then
	errs=
	for proto in udp tcp; do
		opt=; [ "$proto" = tcp ] && opt=+tcp
		for port in "$port_s" "$port_p"; do
			q "$tmp/c.out" "$port" "$NEW" MX $opt
			rc=$(rcode_of "$tmp/c.out")
			n_ans=$(section "$tmp/c.out" ANSWER | grep -c . || true)
			[ "$rc" = REFUSED ] && [ "$n_ans" = 0 ] ||
				errs+="$NEW MX $proto from port $port: status ${rc:-none}, $n_ans answer records"$'\n'
		done
	done
	check "c: $NEW MX is REFUSED by the secondary and the primary (UDP, TCP)" "${errs%$'\n'}"
else
	not_ok "c: $NEW MX is REFUSED by the secondary and the primary (UDP, TCP)"
	indent "$tmp/refused.out" 20
	tail -n 20 "$tmp/s/knotd.log" | sed 's/^/#   secondary: /'
fi
errs=
[ ! -e "$tmp/s/zones/${NEW%.}.zone" ] || errs="$tmp/s/zones/${NEW%.}.zone still there"
check "c: $NEW purged on the secondary (zone file gone)" "${errs%$'\n'}"
for z in "${INITIAL[@]}"; do
	check "c: $z still served by the secondary with the trap (UDP, TCP, = primary)" \
		"$(served_trapped "$z" "c-${z%%.*}")"
done

# --- d: transfers carry no trap ------------------------------------------------------

errs=
catalog_lists "${INITIAL[@]}" ||
	errs+="catalog members [$(catalog_members | oneline)], want [$(printf '%s\n' "${INITIAL[@]}" | oneline)]"$'\n'
[ -s "$tmp/catalog.err" ] && errs+=$(cat "$tmp/catalog.err")$'\n'
grep -q $'^version\.catalog\.example\.[ \t].*TXT[ \t]*"2"' "$tmp/catalog-axfr.out" ||
	errs+="no version TXT \"2\""$'\n'
n_mx=$(awk '$4 == "MX"' "$tmp/catalog-axfr.out" | wc -l)
[ "$n_mx" = 0 ] || errs+="$n_mx MX records in the catalog"$'\n'
[ -z "$errs" ] || errs+=$(evidence "$tmp/catalog-axfr.out" 20)
check "d: the catalog's AXFR lists exactly the members (PTR), version 2, no MX" "${errs%$'\n'}"
for z in "${INITIAL[@]}"; do
	q "$tmp/d-axfr.out" "$port_p" "$z" AXFR
	got=$(awk '$4 == "MX" { print $1, $5, $6 }' "$tmp/d-axfr.out" | sort -u)
	errs=
	[ "$(awk '$4 == "SOA"' "$tmp/d-axfr.out" | wc -l)" = 2 ] || errs="not a complete AXFR"$'\n'
	[ "$got" = "$(zone_mx "$z")" ] ||
		errs+="MX records [$(oneline <<<"$got")] want [$(zone_mx "$z" | oneline)]"$'\n'
	[ -z "$errs" ] || errs+=$(evidence "$tmp/d-axfr.out" 20)
	check "d: $z AXFR from the primary: the zone's MX records, no trap" "${errs%$'\n'}"
	# The secondary's copy (its zone file, written after the transfer).
	f=$tmp/s/zones/${z%.}.zone
	got=$({ awk '$3 == "MX" { print $1, $4, $5 }' "$f" 2>/dev/null || true; } | sort -u)
	errs=
	[ "$got" = "$(zone_mx "$z")" ] ||
		errs="MX records [$(oneline <<<"$got")] want [$(zone_mx "$z" | oneline)]"$'\n'"$(evidence "$f" 20)"
	check "d: $z zone file on the secondary: the zone's MX records, no trap" "${errs%$'\n'}"
done

# --- e: stop -----------------------------------------------------------------------

errs=
alive "$pri_pid" || errs+="primary died"$'\n'
alive "$sec_pid" || errs+="secondary died"$'\n'
check "e: both servers still running" "${errs%$'\n'}"
stop_server secondary "$sec_pid" "$port_s" "$tmp/s/knotd.log"
check "e: secondary stopped by SIGTERM (exit 0), port $port_s released, no sanitizer report" "$stop_errs"
stop_server primary "$pri_pid" "$port_p" "$tmp/p/knotd.log"
check "e: primary stopped by SIGTERM (exit 0), port $port_p released, no sanitizer report" "$stop_errs"
sec_pid=
pri_pid=
for log in "$tmp/p/knotd.log" "$tmp/s/knotd.log"; do
	errs=$(grep -E "module 'mod-mxtrap.*(failed|error)|error: .*mxtrap" "$log" |
		{ if [ "$commit_loses_modules" = 1 ]; then
			# The one known line of knotd < 3.2.10 (case b).
			grep -v "\[$NEW\] module 'mod-mxtrap', failed to open$"
		else cat; fi; } | head -n 10 || true)
	check "e: no module error in ${log#"$tmp/"}" "${errs%$'\n'}"
done
note "runtime $((SECONDS - start_time)) s"
finish_tap
[ "$failed" = 0 ]
