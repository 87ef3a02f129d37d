/* SPDX-License-Identifier: GPL-3.0-or-later */

/*!
 * \file
 *
 * \brief The differences between the supported Knot versions (3.2, 3.4, 3.5, 3.6).
 *
 * The one place that looks at the Knot version; what changed in Knot's APIs
 * is told in NEWS. tests/matrix.sh builds and tests against each version.
 */

#pragma once

#include <libknot/libknot.h>
#include <libknot/version.h>

/*! Knot major.minor.0 as KNOT_VERSION_HEX encodes it. */
#define MXTRAP_KNOT_VERSION(major, minor)	(((major) << 16) | ((minor) << 8))

/*
 * libdnssec: a library of its own up to Knot 3.5; from 3.6 part of libknot
 * (libknot.h includes its headers), with libknot's error codes.
 */
#if KNOT_VERSION_HEX >= MXTRAP_KNOT_VERSION(3, 6)
#define DNSSEC_EOK		KNOT_EOK
/*! A key store has no such key (DNSSEC_ENOENT or DNSSEC_NOT_FOUND before 3.6). */
#define MXTRAP_DNSSEC_NO_KEY(ret)	((ret) == KNOT_ENOENT)
#else
#include <libdnssec/binary.h>
#include <libdnssec/crypto.h>
#include <libdnssec/error.h>
#include <libdnssec/key.h>
#include <libdnssec/keystore.h>
#include <libdnssec/keytag.h>
#include <libdnssec/sign.h>
#define MXTRAP_DNSSEC_NO_KEY(ret)	((ret) == DNSSEC_ENOENT || (ret) == DNSSEC_NOT_FOUND)
#endif

/*!
 * \brief The label after \a lp in an uncompressed name (not in a packet).
 *
 * \a lp must not be the root label. (Knot 3.4 made knot_wire_next_label()
 * require a packet.)
 */
static inline const knot_dname_t *mxtrap_dname_next_label(const knot_dname_t *lp)
{
#if KNOT_VERSION_HEX >= MXTRAP_KNOT_VERSION(3, 4)
	return knot_dname_next_label(lp);
#else
	return knot_wire_next_label(lp, NULL);
#endif
}

/* The knotd glue: module ABIs 400 (Knot 3.2), 500 (3.3, untested) and 600
 * (3.4, 3.5). A new ABI may change the packet as knotd leaves it after the
 * ANSWER stage: review it, run tests/matrix.sh, then add it here. */
#ifdef KNOTD_MOD_ABI_VERSION
#if KNOTD_MOD_ABI_VERSION != 400 && KNOTD_MOD_ABI_VERSION != 500 && \
    KNOTD_MOD_ABI_VERSION != 600
#error "knotd module ABI not known to mod-mxtrap: see include/mxtrap/compat.h"
#endif
/*! knotd_qdata_zone_rrset() (Knot 3.4): the glue of configured trap exchangers. */
#define MXTRAP_HAVE_ZONE_RRSET	(KNOTD_MOD_ABI_VERSION >= 600)
#endif
