#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Checks that `meson install` puts mxtrap.so into knotd's module directory,
# without a "lib" prefix, exporting the module API symbol knotd looks for.
# Usage: check_install.sh BUILD_DIR MODULE_DIR (TAP output)
set -u
build_dir=$1
module_dir=$2
destdir=$(mktemp -d)
trap 'rm -rf "$destdir"' EXIT

echo "1..3"
n=0
fails=0
result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}

meson install -C "$build_dir" --destdir "$destdir" --no-rebuild --quiet >/dev/null 2>&1
result $? "meson install succeeds"

installed="$destdir$module_dir/mxtrap.so"
test -f "$installed"
result $? "installed as $module_dir/mxtrap.so"

nm -D --defined-only "$installed" 2>/dev/null | grep -qw knotd_mod_api
result $? "exports knotd_mod_api"

[ "$fails" -eq 0 ]
