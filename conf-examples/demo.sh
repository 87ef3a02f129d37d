#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# knot-mxtrap demo: build the module, serve conf-examples/example.com.zone with
# it on 127.0.0.1@53053 and ::1@53053, show a few MX answers and the module
# counters, then stop the server and clean up.
#
# Usage: conf-examples/demo.sh        (from any directory)
# Needs: Debian bookworm, trixie or sid (Knot 3.2, 3.4, 3.5); missing packages
#        are installed with apt-get by tests/setup.sh (run as root).
set -eu

# Work from the repository root, wherever the script is called from.
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PORT=53053
SERVER=127.0.0.1

# 1. Install what is missing for the build (as root) and build, as the tests do.
echo "== Installing what is missing and building"
MXTRAP_SETUP=build bash "$ROOT/tests/setup.sh"
MODULE="$ROOT/build/module/mxtrap.so"
if [ ! -f "$MODULE" ]; then
    echo "error: $MODULE was not built" >&2
    exit 1
fi

# 2. Render the configuration into a temporary directory.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mxtrap-demo.XXXXXX")
KNOTD_PID=
CONF="$TMP/knot.conf"

cleanup() {
    status=$?
    trap - EXIT INT TERM
    if [ -n "$KNOTD_PID" ] && kill -0 "$KNOTD_PID" 2>/dev/null; then
        knotc -c "$CONF" stop >/dev/null 2>&1 || kill "$KNOTD_PID" 2>/dev/null || true
        # Bounded wait for the server to exit; kill it if it does not.
        i=0
        while kill -0 "$KNOTD_PID" 2>/dev/null && [ "$i" -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -9 "$KNOTD_PID" 2>/dev/null || true
        wait "$KNOTD_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$TMP/run" "$TMP/storage" "$TMP/zones"
cp conf-examples/example.com.zone "$TMP/zones/"
sed -e "s|@MXTRAP_MODULE@|$MODULE|g" \
    -e "s|@RUNDIR@|$TMP/run|g" \
    -e "s|@STORAGE@|$TMP/storage|g" \
    -e "s|@ZONEDIR@|$TMP/zones|g" \
    conf-examples/example.conf > "$CONF"
knotc -c "$CONF" conf-check

# 3. Start knotd in the foreground, as a background job of this script.
echo "== Starting knotd (its log is shown if it does not come up)"
knotd -c "$CONF" >"$TMP/knotd.log" 2>&1 &
KNOTD_PID=$!

# 4. Wait until the zone is served: bounded number of queries.
ready=no
i=0
while [ "$i" -lt 100 ]; do
    if ! kill -0 "$KNOTD_PID" 2>/dev/null; then
        break
    fi
    if kdig @"$SERVER" -p "$PORT" +time=1 +retry=0 +short example.com SOA 2>/dev/null | grep -q .; then
        ready=yes
        break
    fi
    sleep 0.1
    i=$((i + 1))
done
if [ "$ready" != yes ]; then
    echo "error: knotd did not answer on $SERVER@$PORT" >&2
    cat "$TMP/knotd.log" >&2
    exit 1
fi

# 5. Show the answers.
echo
echo "== \$ kdig @$SERVER -p $PORT example.com MX"
kdig @"$SERVER" -p "$PORT" example.com MX
echo "== \$ kdig @$SERVER -p $PORT lists.example.com MX   (MX owner below the apex)"
kdig @"$SERVER" -p "$PORT" lists.example.com MX
echo "== \$ kdig @$SERVER -p $PORT solo.example.com MX    (single exchanger: unchanged)"
kdig @"$SERVER" -p "$PORT" solo.example.com MX
echo "== \$ kdig @::1 -p $PORT +short example.com MX"
kdig @::1 -p "$PORT" +short example.com MX || echo "(IPv6 loopback not available)"

# 6. Module counters. mxtrap is a zone module, so its counters are kept per
#    zone: "knotc stats" (global counters) does not list them, "knotc
#    zone-stats" does; -f (force) also prints the counters that are still 0.
echo
echo "== \$ knotc -f zone-stats example.com mod-mxtrap"
knotc -c "$CONF" -f zone-stats example.com mod-mxtrap

echo
echo "== Done; stopping knotd"
