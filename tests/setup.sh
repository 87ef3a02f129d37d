#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what building and testing mod-mxtrap needs on Debian (as root),
# then configures and builds. Safe to run again.
#
#   tests/setup.sh [BUILD_DIR [MESON_OPTION...]]     (default ./build)
set -euo pipefail
cd "$(dirname "$0")/.."

# Build; servers and clients; the test scripts (python3: meson's results,
# taskset); fuzzing and callgrind; chroots and the package.
PACKAGES=(gcc libc6-dev pkg-config meson ninja-build check
          knot knot-dnsutils libknot-dev dnsperf unbound
          python3 procps util-linux
          clang libclang-rt-14-dev valgrind
          debootstrap debhelper dpkg-dev lintian)
missing=()
for pkg in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build_dir=${1:-build}
shift || true
if [ -d "$build_dir" ]; then meson setup --reconfigure "$build_dir" "$@" >/dev/null; else meson setup "$build_dir" "$@"; fi
ninja -C "$build_dir"
