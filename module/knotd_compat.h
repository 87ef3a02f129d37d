/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*!
 * \file
 *
 * \brief The knotd module API differences between the supported Knot versions.
 *
 * The only place where the knotd glue (module/mxtrap.c) looks at the Knot
 * version, keyed on KNOTD_MOD_ABI_VERSION; libknot differences are in
 * include/libknot_compat.h (included here). tests/matrix.sh builds and tests
 * the module against each supported version.
 *
 *   ABI  Knot     Debian
 *   400  3.2.x    bookworm (3.2.6)
 *   500  3.3.x    -        (not tested)
 *   600  3.4-3.5  trixie (3.4.6), sid (3.5.8)
 *
 * knotd loads only modules built for its own ABI, so the module is built per
 * version (KNOTD_MOD_API() records the ABI). What changed in the API, and why
 * none of it needs code here:
 *  - 3.3 (500): knotd_qdata_local_addr() lost its buffer argument and it and
 *    knotd_qdata_remote_addr() became inline; knotd_qdata_params_t gained
 *    fields (local, quic_conn, quic_stream), so its layout differs: rebuild.
 *    Not used here.
 *  - 3.4 (600): KNOTD_STAGE_PROTO_BEGIN was inserted before KNOTD_STAGE_BEGIN
 *    (every stage value moved up by one: KNOTD_STAGE_ANSWER is 2 in 3.2, 3 in
 *    3.4), knotd_mod_proto_hook() and knotd_qdata_zone_rrset() were added,
 *    knotd_qdata_params_t gained tls_conn, and knotd_mod_ctx(),
 *    knotd_mod_zone(), knotd_qdata_zone_name() and
 *    knotd_qdata_zone_apex_rrset() take const pointers. Source compatible
 *    for what the glue calls (the in-hook and its arguments are unchanged).
 *  - 3.5: the module API is that of 3.4 (ABI 600, same header).
 *
 * What the glue reads of knotd's own configuration to find the zone's keys
 * (the module signs with libdnssec itself: knotd_mod_dnssec_*() gives a
 * module its keys and clock once, at load):
 *  - keystore "backend" values (pem 1, pkcs11 2), "config" default "keys"
 *    relative to database "kasp-db" (default "keys", relative to "storage"):
 *    the same in 3.2 to 3.5.
 *  - policy "keystore" is one reference up to 3.4, a list from 3.5: the glue
 *    reads it as knotd_conf() returns it (single value or multi), so the
 *    same code serves both.
 *  - libdnssec is libdnssec.so.9 in 3.2-3.4 and .so.10 in 3.5 with the same
 *    API for what is used (keystore, key, keytag, sign); pkg-config
 *    libdnssec picks the one of the Knot built against.
 *
 * Not keyed on the version on purpose: mxtrap_pin() (RTLD_NODELETE against
 * the conf-commit crash of knotd < 3.2.10) depends on the running knotd, and
 * ABI 400 does not tell 3.2.6 from 3.2.10; it is harmless on fixed versions.
 */

#pragma once

#include <knot/module.h>

#include "libknot_compat.h"

/* A new module ABI may change what the core relies on (the packet as knotd
 * leaves it after the ANSWER stage): review it, run tests/matrix.sh with a
 * suite that has it, then add it here. */
#if KNOTD_MOD_ABI_VERSION != 400 && KNOTD_MOD_ABI_VERSION != 500 && \
    KNOTD_MOD_ABI_VERSION != 600
#error "knotd module ABI not known to mod-mxtrap: see module/knotd_compat.h"
#endif
