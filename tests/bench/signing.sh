#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Fresh signatures per second with an ECDSA P-256 key in a PEM key store and
# one in a SoftHSM token, side by side in one run (sign_rate.c; README.md).
#
#   bash tests/bench/signing.sh        (BENCH_SECONDS per round, 2; BENCH_ROUNDS, 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/common.sh
source tests/bench/common.sh
bench_init tests/bench/sign_rate
need_tools softhsm2-util
bench_header "signing rate: PEM key vs SoftHSM token" "bash tests/bench/signing.sh"
mkdir -p "$tmp/tokens" "$tmp/keys"
export SOFTHSM2_CONF=$tmp/softhsm2.conf
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label mxtrap-bench --pin 1234 --so-pin 12345678 >/dev/null ||
	bail "softhsm2-util --init-token failed"
echo "softhsm:   $(dpkg-query -W -f='${Version}' softhsm2 2>/dev/null || echo '?'), file object store in $tmp"
build/tests/bench/sign_rate "$tmp/keys" "${BENCH_SECONDS:-2}" "${BENCH_ROUNDS:-3}" || bail "sign_rate failed"
