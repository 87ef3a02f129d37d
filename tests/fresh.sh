#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# On demand, as root (network): the README's two commands on a fresh minimal
# Debian (debootstrap --variant=minbase: no git, no compiler, no Knot), in a
# copy of the tree as a clean checkout has it (copy_tree), each timed:
#
#   bash conf-examples/demo.sh     knotd with the module, answers shown
#   bash tests/run-all.sh --knot-src ../shared/knot-src   every test (.ci/run)
#
# ../shared/knot-src beside the tree (the Knot source tarball) is copied
# beside the copy.
#
#   tests/fresh.sh [SUITE [demo|test|both]]      (default: bookworm both)
#
# SUITE: bookworm, trixie or sid (what tests/setup.sh installs has the same
# names in each).
#
# The chroot shares the host's network and kernel; the tests inside make
# their own chroots below it. Prints each command's output, then
# "fresh SUITE: COMMAND: OK|FAILED, N s" per command. FRESH_KEEP=1 keeps it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/chroot.sh
source "$here/lib/chroot.sh"
suite=${1:-bookworm} what=${2:-both}
case $what in demo|test|both) ;; *) echo "fresh: demo, test or both, not '$what'" >&2; exit 1 ;; esac
[ "$(id -u)" = 0 ] || { echo "fresh: must run as root" >&2; exit 1; }

root=$(mktemp -d "${TMPDIR:-/var/tmp}/mxtrap-fresh-$suite.XXXXXX")
rmdir "$root"
cleanup() {
	local rc=$?
	chroot_cleanup || rc=1
	[ "${FRESH_KEEP:-0}" = 1 ] && echo "fresh: kept $root" || chroot_remove "$root" || rc=1
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

chroot_fresh "$suite" "$root" >/dev/null
chroot_mount "$root"
copy_tree "$here/.." "$root/root/knot-mxtrap"
[ ! -d "$here/../../shared/knot-src" ] || { mkdir -p "$root/root/shared" && cp -r "$here/../../shared/knot-src" "$root/root/shared/"; }
if chroot_run "$root" 'command -v git' >/dev/null; then
	echo "fresh: git is installed in the fresh $suite" >&2
	exit 1
fi

status=0
declare -A commands=([demo]="bash conf-examples/demo.sh" [test]="bash tests/run-all.sh --knot-src ../shared/knot-src")
for name in demo test; do
	[ "$what" = both ] || [ "$what" = "$name" ] || continue
	t0=$SECONDS rc=0
	chroot_run "$root" "cd /root/knot-mxtrap && ${commands[$name]}" </dev/null || rc=$?
	echo "fresh $suite: ${commands[$name]}: $([ $rc = 0 ] && echo OK || echo "FAILED ($rc)"), $((SECONDS - t0)) s"
	[ $rc = 0 ] || status=1
done
exit $status
