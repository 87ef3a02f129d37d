# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# The prologue of every tests/ops script (after `set -euo pipefail` and
# TAP_NAME=...): `source "$(dirname "$0")/ops.sh" "$@"`. Arguments: BUILD_DIR
# [KNOTD_PRELOAD]; sets src_dir, examples (conf-examples), $tmp.
src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
examples=$(cd "$src_dir/../../conf-examples" && pwd)
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
test_init "$@"
need_tools knotd knotc kdig
test_tmp_init

oneline() { paste -sd,; }
# render EXAMPLE DIR [SED-ARG...]: conf-examples/EXAMPLE.conf as DIR/knot.conf,
# the placeholders pointing into DIR, SED-ARGs applied; bails out if a
# placeholder or a peer's documentation address is left.
render() {
	local name=$1 dir=$2
	shift 2
	mkdir -p "$dir/run" "$dir/storage" "$dir/zones"
	sed -e "s|@MXTRAP_MODULE@|$module|g" -e "s|@RUNDIR@|$dir/run|g" -e "s|@STORAGE@|$dir/storage|g" \
	    -e "s|@ZONEDIR@|$dir/zones|g" "$@" "$examples/$name.conf" >"$dir/knot.conf"
	! grep -nE '@[A-Z_]+@|192\.0\.2\.[12]([^0-9]|$)' "$dir/knot.conf" || bail "$name.conf: left after rendering"
}
# render_pair EXAMPLE-1 EXAMPLE-2 [SED-ARG...]: a server pair's examples as
# $tmp/p and $tmp/s, 192.0.2.1@53 and 192.0.2.2@53 moved to 127.0.0.1@port_p,
# @port_s, SED-ARGs applied to both.
render_pair() {
	port_p='' port_s=''
	take_ports port_p port_s
	set -- "$1" "$2" -e "s/192\.0\.2\.1@53/127.0.0.1@$port_p/g" -e "s/192\.0\.2\.2@53/127.0.0.1@$port_s/g" \
		-e 's/192\.0\.2\.[12]\([^0-9]\|$\)/127.0.0.1\1/g' "${@:3}"
	render "$1" "$tmp/p" "${@:3}"
	render "$2" "$tmp/s" "${@:3}"
}
