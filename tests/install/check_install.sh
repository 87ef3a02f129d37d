#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Proves that `meson install` puts mxtrap.so into knotd's module directory
# (no "lib" prefix), exporting the symbol knotd looks for.
# Usage: check_install.sh BUILD_DIR MODULE_DIR (TAP output)
set -u
destdir=$(mktemp -d)
trap 'rm -rf "$destdir"' EXIT
so=$destdir$2/mxtrap.so
echo "1..3"
n=0 fails=0
result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
meson install -C "$1" --destdir "$destdir" --no-rebuild --quiet >/dev/null 2>&1
result $? "meson install succeeds"
test -f "$so"
result $? "installed as $2/mxtrap.so"
nm -D --defined-only "$so" 2>/dev/null | grep -qw knotd_mod_api
result $? "exports knotd_mod_api"
[ "$fails" -eq 0 ]
