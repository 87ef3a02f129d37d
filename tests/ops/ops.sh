# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# The start of every tests/ops script (after `set -euo pipefail` and
# TAP_NAME=...): `source "$(dirname "$0")/ops.sh" "$@"` sources
# tests/lib/common.sh, runs test_init with the script's arguments (BUILD_DIR
# [KNOTD_PRELOAD]), needs knotd, knotc and kdig, makes $tmp (test_tmp_init)
# and sets src_dir (tests/ops) and examples (conf-examples).
src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
examples=$(cd "$src_dir/../../conf-examples" && pwd)
# shellcheck source=tests/lib/common.sh
source "$src_dir/../lib/common.sh"
test_init "$@"
need_tools knotd knotc kdig
test_tmp_init

oneline() { tr '\n' ',' | sed 's/,$//'; }

# render EXAMPLE DIR [SED-ARG...]: conf-examples/EXAMPLE.conf as DIR/knot.conf,
# the placeholders pointing into DIR (run, storage, zones: made), SED-ARGs
# applied; bails out if a placeholder or a peer's documentation address is
# left.
render() {
	local name=$1 dir=$2
	shift 2
	mkdir -p "$dir/run" "$dir/storage" "$dir/zones"
	sed -e "s|@MXTRAP_MODULE@|$module|g" -e "s|@RUNDIR@|$dir/run|g" -e "s|@STORAGE@|$dir/storage|g" \
	    -e "s|@ZONEDIR@|$dir/zones|g" "$@" "$examples/$name.conf" >"$dir/knot.conf"
	! grep -nE '@[A-Z_]+@|192\.0\.2\.[12]([^0-9]|$)' "$dir/knot.conf" || bail "$name.conf: left after rendering"
}
# render_pair EXAMPLE-1 EXAMPLE-2: the two examples of a server pair as
# $tmp/p/knot.conf and $tmp/s/knot.conf, their addresses 192.0.2.1@53 and
# 192.0.2.2@53 moved to 127.0.0.1 on two free ports, port_p and port_s.
render_pair() {
	port_p=$(free_port) || bail "no free port"
	port_s=$(free_port) || bail "no free port"
	set -- "$1" "$2" -e "s/192\.0\.2\.1@53/127.0.0.1@$port_p/g" -e "s/192\.0\.2\.2@53/127.0.0.1@$port_s/g" \
		-e 's/192\.0\.2\.[12]\([^0-9]\|$\)/127.0.0.1\1/g'
	render "$1" "$tmp/p" "${@:3}"
	render "$2" "$tmp/s" "${@:3}"
}
