/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*!
 * \file
 *
 * \brief The libknot API differences between the supported Knot versions.
 *
 * The only place where the code using libknot directly (the core:
 * module/core.c, module/signer.c; the tests) looks at the libknot version;
 * only the core needs it so far. knotd's module API differences are in
 * module/knotd_compat.h, which includes this header.
 *
 * Supported: Knot 3.2 (Debian bookworm: 3.2.6), 3.4 (trixie: 3.4.6) and
 * 3.5 (sid: 3.5.8); 3.3 is believed to build (same libknot API as 3.2 for
 * what is used here) but is not tested.
 *
 * What changed in the libknot API the project uses, 3.2 -> 3.5:
 *  - 3.4 (libknot/packet/wire.h, "wire: rework dname label traversing
 *    functions", "wire: add compiler warnings by nonnull attribute"):
 *    knot_wire_next_label(lp, wire) requires a packet wire (nonnull, asserted)
 *    and asserts lp is not the root label; names outside a packet are walked
 *    with the new knot_dname_next_label(lp).
 *  - 3.4 widened max_size of knot_rrset_to_wire_extra() and
 *    knot_rrset_to_wire() from uint16_t to uint32_t: callers passing a
 *    uint16_t are unaffected.
 *  - 3.4 dropped the pkt argument of knot_dname_prefixlen() and gave
 *    knot_wire_put_pointer() a wire argument; 3.5.8's
 *    knot_rrset_rr_from_wire() takes parsing flags instead of a bool: none
 *    of them is used here.
 *  The packet (knot_pkt_t, knot_rrinfo_t, knot_compr_t), RRset, RDATA set,
 *  knot_mm_t and RRSIG accessors the core relies on are unchanged.
 */

#pragma once

#include <libknot/libknot.h>
#include <libknot/version.h>

/*! Knot major.minor.0 as KNOT_VERSION_HEX encodes it. */
#define MXTRAP_KNOT_VERSION(major, minor)	(((major) << 16) | ((minor) << 8))

/*!
 * \brief The label after \a lp in an uncompressed name (not in a packet).
 *
 * \a lp must not be the root label.
 */
static inline const knot_dname_t *mxtrap_dname_next_label(const knot_dname_t *lp)
{
#if KNOT_VERSION_HEX >= MXTRAP_KNOT_VERSION(3, 4)
	return knot_dname_next_label(lp);
#else
	return knot_wire_next_label(lp, NULL);
#endif
}
