#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what building and testing mod-mxtrap needs on Debian bookworm,
# trixie or sid (as root), then configures and builds. Safe to run again.
#
#   tests/setup.sh [BUILD_DIR [MESON_OPTION...]]     (default ./build)
#
# MXTRAP_SETUP=build installs only what the build and the demo need.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/sbin:/sbin DEBIAN_FRONTEND=noninteractive

# The build (check: the unit tests, built by default; GnuTLS: the key store
# lists PKCS#11 tokens), knotd and kdig; the unit tests' SoftHSM tokens.
PACKAGES=(gcc libc6-dev pkg-config meson ninja-build check knot knot-dnsutils libknot-dev libgnutls28-dev
          softhsm2)
# The tests: servers and load; the monitoring test (libknot's Python binding,
# prometheus client); the test scripts (python3: meson's results, taskset);
# fuzzing and callgrind (libclang-rt-dev: the sanitizer and libFuzzer runtime
# of the release's default clang); chroots, the package and a Knot source
# tarball (xz-utils). The same names on bookworm, trixie and sid.
[ "${MXTRAP_SETUP:-all}" = build ] ||
	PACKAGES+=(dnsperf unbound python3 python3-libknot python3-prometheus-client prometheus procps util-linux
	           clang libclang-rt-dev valgrind debootstrap xz-utils build-essential debhelper dpkg-dev lintian)
updated=
apt_install() {
	echo "setup: installing $*"
	[ -n "$updated" ] || apt-get update -q
	updated=1
	apt-get install -y -q --no-install-recommends "$@"
}
missing=()
for pkg in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"
# keymgr (the dnssec suite) is in knot up to 3.4 (bookworm, trixie), in
# knot-keymgr from 3.5 (sid).
[ "${MXTRAP_SETUP:-all}" = build ] || command -v keymgr >/dev/null || apt_install knot-keymgr

build_dir=${1:-build}
shift || true
if [ -d "$build_dir" ]; then meson setup --reconfigure "$build_dir" "$@" >/dev/null; else meson setup "$build_dir" "$@"; fi
ninja -C "$build_dir"
