#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Catalog zones, conf-examples/catalog-primary.conf and catalog-secondary.conf
# as shipped (peers moved to loopback). Proves that the module survives a
# member added at runtime by `knotc conf-commit` (knotd lives on, the running
# members keep their trap), that the new member is trapped on both servers
# (on the secondary through the catalog template) and that a removed member
# is gone while the others keep their trap.
#
# knotd < 3.2.10 (bookworm: 3.2.6) builds a committed configuration without
# its shared modules (fixed upstream in 3.2.10): the new zone logs "module
# 'mod-mxtrap', failed to open" and is served untrapped, and without
# mxtrap_pin() (module/mxtrap.c) knotd would crash, mxtrap.so unloaded under
# the running zones. There the test asserts exactly that, then does what an
# operator does: the zone into knot.conf and `knotc reload`.
#
#   tests/ops/catalog.sh BUILD_DIR [KNOTD_PRELOAD]      (TAP output)
set -euo pipefail
TAP_NAME=catalog
# shellcheck source=tests/ops/ops.sh
source "$(dirname "$0")/ops.sh" "$@"

MEMBERS=(customer-one.example. customer-two.example.)
NEW=new.example.
knot_version=$(knotd_version)
old_knot=0 allowed_error=
version_at_least "${knot_version:-0}" 3.2.10 || old_knot=1 allowed_error=".*\[$NEW\] module 'mod-mxtrap', failed to open"

write_zone() {
	printf '%s\n' "\$ORIGIN $1" "@ 300 SOA ns1 hostmaster 1 3600 900 1209600 300" "@ 300 NS ns1" \
		"ns1 300 A 192.0.2.53" "@ 300 MX 10 mx1" "@ 300 MX 20 mx2" >"$tmp/p/zones/${1%.}.zone"
}
trapped() { printf '%s\n' "10 mx1.$1" "20 mx2.$1" "99 mx1.$1"; }
untrapped() { printf '%s\n' "10 mx1.$1" "20 mx2.$1"; }
# answers PORT ZONE WANT-FUNCTION: ZONE's apex MX from PORT is that set;
# answers_v: the same, the error on stdout.
answers() { q "$tmp/mx.out" "$1" "$2" MX; [ "$(mx_of "$tmp/mx.out")" = "$("$3" "$2")" ]; }
answers_v() {
	answers "$@" || echo "port $1: $2 MX [$(mx_of "$tmp/mx.out" | oneline)] status $(rcode_of "$tmp/mx.out"), want [$("$3" "$2" | oneline)]"
}
refused() { q "$tmp/refused.out" "$1" "$NEW" SOA; [ "$(rcode_of "$tmp/refused.out")" = REFUSED ]; }
# members_trapped: errors on stdout; alive PID LOG: likewise.
members_trapped() {
	local z
	for z in "${MEMBERS[@]}"; do answers_v "$port_p" "$z" trapped; answers_v "$port_s" "$z" trapped; done
}
alive() { kill -0 "$1" 2>/dev/null || echo "knotd $1 died: $(tail -n 20 "$2")"; }
# txn ARG...: a configuration transaction on the primary, one knotc command
# a word list (no pathname expansion of 'zone[...]'); errors on stdout.
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

write_zone "$NEW"
check "knotc conf-commit on the primary adds $NEW" "$(txn "conf-set zone[$NEW]" "conf-set zone[$NEW].template customer")"
check "after the conf-commit: the primary alive, the running members still trapped on both" \
	"$(alive "$pid_p" "$tmp/p/knotd.log"; members_trapped)"
if [ "$old_knot" = 1 ]; then
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

check "knotc conf-commit on the primary removes $NEW" "$(txn "conf-unset zone[$NEW]")"
errs=
wait_for "$NEW gone" 30 refused "$port_s" || errs+="secondary: $NEW SOA status $(rcode_of "$tmp/refused.out")"$'\n'
refused "$port_p" || errs+="primary: $NEW SOA status $(rcode_of "$tmp/refused.out")"$'\n'
errs+=$(alive "$pid_p" "$tmp/p/knotd.log"; members_trapped)
check "$NEW REFUSED by both servers; the other members still trapped on both" "$errs"

for pid in "$pid_s" "$pid_p"; do
	what=$([ "$pid" = "$pid_p" ] && echo primary || echo secondary)
	knotd_stop "$pid" || true
	errs=${stop_errs:+$stop_errs$'\n'}
	errs+=$(grep -E "module 'mod-mxtrap.*(failed|error)|error: .*mxtrap" "$tmp/${what:0:1}/knotd.log" |
		grep -vx "$allowed_error" | head -n 10 || true)
	check "knotd $what exits on SIGTERM (status 0), port released, no sanitizer report, no module error" "${errs%$'\n'}"
done
finish_tap
[ "$failed" = 0 ]
