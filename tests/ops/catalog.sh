#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Catalog zones: conf-examples/catalog-primary.conf and catalog-secondary.conf
# as shipped. Proves that the module survives a member zone added at runtime
# with `knotc conf-commit` (the running zones keep their trap, knotd lives on),
# that the new member gets the trap on both servers (on the secondary through
# the catalog template), and that a removed member is gone while the others
# keep their trap; both knotd then stop cleanly.
#
#   tests/ops/catalog.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
#
# The examples' 192.0.2.1@53 / 192.0.2.2@53 become 127.0.0.1 on two free
# ports. Member zone files (none ship with the examples): apex MX 10 mx1,
# 20 mx2, hence the trap 99 mx1. new.example is added on the primary with
# knotc conf-begin, conf-set 'zone[new.example]', conf-set
# 'zone[new.example].template' customer, conf-commit; removed with
# conf-unset.
#
# knotd before 3.2.10 (bookworm: 3.2.6) builds the committed configuration
# without its shared modules (upstream fix "conf: fix segfault if a shared
# module is loaded and dynamic configuration used", 3.2.10/3.3.0): the new
# zone logs "module 'mod-mxtrap', failed to open" and is served without the
# module until `knotc reload`; without mxtrap_pin() (module/mxtrap.c) knotd
# would then crash, unloading mxtrap.so under the running zones. There the
# test asserts exactly that (the primary alive, the new zone served
# untrapped), then does what an operator of such a knotd does: the zone into
# the primary's knot.conf and `knotc reload`, after which both servers trap
# it. Environment: CATALOG_KEEP=1 or OPS_KEEP=1 keeps the temporary directory.
set -euo pipefail
TAP_NAME=catalog
# shellcheck source=tests/ops/ops.sh
source "$(dirname "$0")/ops.sh" "$@"

MEMBERS=(customer-one.example. customer-two.example.)
NEW=new.example.
knot_version=$(knotd_version)
commit_loses_modules=0
version_at_least "${knot_version:-0}" 3.2.10 || commit_loses_modules=1

write_zone() {
	cat >"$tmp/p/zones/${1%.}.zone" <<-EOF
	\$ORIGIN $1
	\$TTL 300
	@	SOA	ns1 hostmaster 1 3600 900 1209600 300
	@	NS	ns1
	ns1	A	192.0.2.53
	@	MX	10 mx1
	@	MX	20 mx2
	mx1	A	192.0.2.25
	mx2	A	192.0.2.26
	EOF
}
trapped() { printf '%s\n' "10 mx1.$1" "20 mx2.$1" "99 mx1.$1"; }
untrapped() { printf '%s\n' "10 mx1.$1" "20 mx2.$1"; }
# answers PORT ZONE WANT-FUNCTION: ZONE's apex MX from PORT is that set.
answers() { q "$tmp/mx.out" "$1" "$2" MX; [ "$(mx_of "$tmp/mx.out")" = "$("$3" "$2")" ]; }
# answers_v ...: the same, errors on stdout.
answers_v() {
	answers "$@" || echo "port $1: $2 MX [$(mx_of "$tmp/mx.out" | oneline)] status $(rcode_of "$tmp/mx.out"), want [$("$3" "$2" | oneline)]"
}
refused() { q "$tmp/refused.out" "$1" "$NEW" SOA; [ "$(rcode_of "$tmp/refused.out")" = REFUSED ]; }
# members_trapped: every member of MEMBERS trapped on both servers; errors on stdout.
members_trapped() {
	local z
	for z in "${MEMBERS[@]}"; do answers_v "$port_p" "$z" trapped; answers_v "$port_s" "$z" trapped; done
}
alive() { kill -0 "$1" 2>/dev/null || echo "knotd $1 died: $(tail -n 20 "$2")"; }
# txn ARG...: a configuration transaction on the primary (one knotc command a
# word list, no pathname expansion of 'zone[...]'); errors on stdout.
txn() {
	local cmd words out
	for cmd in conf-begin "$@" conf-commit; do
		read -r -a words <<<"$cmd"
		out=$(knotd_ctl "$tmp/p/knot.conf" "${words[@]}" 2>&1) || {
			echo "knotc $cmd: $out"
			knotd_ctl "$tmp/p/knot.conf" conf-abort >/dev/null 2>&1 || true
			return 0
		}
	done
}

render_pair catalog-primary catalog-secondary
[ "$(awk '/^[a-z][a-z-]*:/ { last = $1 } END { print last }' "$tmp/p/knot.conf")" = zone: ] ||
	bail "catalog-primary.conf: the zone section is not the last (the knotd < 3.2.10 case appends to it)"
for z in "${MEMBERS[@]}"; do write_zone "$z"; done
knotd_start "$tmp/p/knot.conf" "$tmp/p/knotd.log" catalog.example. "${MEMBERS[@]}" || bail "the primary does not start"
pid_p=$knotd_pid
knotd_start "$tmp/s/knot.conf" "$tmp/s/knotd.log" catalog.example. "${MEMBERS[@]}" ||
	bail "the secondary does not get the members"
pid_s=$knotd_pid
note "knotd ${knot_version:-?}, primary 127.0.0.1@$port_p, secondary 127.0.0.1@$port_s"
check "the members (${MEMBERS[*]}) trapped on both servers" "$(members_trapped)"

# --- a member added at runtime ----------------------------------------------------

write_zone "$NEW"
check "knotc conf-commit on the primary adds $NEW" "$(txn "conf-set zone[$NEW]" "conf-set zone[$NEW].template customer")"
errs=$(alive "$pid_p" "$tmp/p/knotd.log"; members_trapped)
check "after the conf-commit: the primary alive, the running members still trapped on both" "$errs"
if [ "$commit_loses_modules" = 1 ]; then
	# The known gap of knotd < 3.2.10: the zone is served, without the module,
	# and knotd survives; knotc reload attaches the module.
	errs=
	wait_for "$NEW untrapped on the primary" 30 answers "$port_p" "$NEW" untrapped ||
		errs+="$(answers_v "$port_p" "$NEW" untrapped)"$'\n'
	errs+=$(alive "$pid_p" "$tmp/p/knotd.log"
		grep -q "\[$NEW\] module 'mod-mxtrap', failed to open" "$tmp/p/knotd.log" ||
			echo "no \"failed to open\" for $NEW in the primary's log")
	check "knotd $knot_version < 3.2.10: $NEW on the primary without the module, knotd alive" "$errs"
	printf '  - domain: %s\n    template: customer\n' "$NEW" >>"$tmp/p/knot.conf"
	errs=$(knotd_ctl "$tmp/p/knot.conf" reload 2>&1) && errs= || errs+=$'\n'
	wait_for "$NEW trapped on the primary" 30 answers "$port_p" "$NEW" trapped ||
		errs+="$(answers_v "$port_p" "$NEW" trapped)"
	check "$NEW in the primary's knot.conf + knotc reload: the module attached" "$errs"
fi
errs=$(wait_for "$NEW trapped on the secondary" 30 answers "$port_s" "$NEW" trapped || answers_v "$port_s" "$NEW" trapped
	answers_v "$port_p" "$NEW" trapped)
check "$NEW trapped on the primary and on the secondary (member of the catalog)" "$errs"

# --- the member removed -----------------------------------------------------------

check "knotc conf-commit on the primary removes $NEW" "$(txn "conf-unset zone[$NEW]")"
errs=
wait_for "$NEW gone" 30 refused "$port_s" || errs+="secondary: $NEW SOA status $(rcode_of "$tmp/refused.out")"$'\n'
refused "$port_p" || errs+="primary: $NEW SOA status $(rcode_of "$tmp/refused.out")"$'\n'
errs+=$(alive "$pid_p" "$tmp/p/knotd.log"; members_trapped)
check "$NEW REFUSED by both servers; the other members still trapped on both" "$errs"

# --- the end -------------------------------------------------------------------------

for pid in "$pid_s" "$pid_p"; do
	what=$([ "$pid" = "$pid_p" ] && echo primary || echo secondary)
	knotd_stop "$pid" || true
	errs=${stop_errs:+$stop_errs$'\n'}
	# The module's own errors, but the known line of knotd < 3.2.10.
	errs+=$(grep -E "module 'mod-mxtrap.*(failed|error)|error: .*mxtrap" "$tmp/${what:0:1}/knotd.log" |
		{ if [ "$commit_loses_modules" = 1 ]; then grep -vx ".*\[$NEW\] module 'mod-mxtrap', failed to open"
		  else cat; fi; } | head -n 10 || true)
	check "knotd $what exits on SIGTERM (status 0), port released, no sanitizer report, no module error" "${errs%$'\n'}"
done
finish_tap
[ "$failed" = 0 ]
