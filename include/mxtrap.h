/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*!
 * \file
 *
 * \brief Core of mod-mxtrap: adds spam-trap MX records to an MX answer.
 *
 * The core works on a libknot response packet only, so it can be driven
 * by unit tests and fuzzers without knotd. The knotd glue lives in
 * module/mxtrap.c.
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/libknot.h>

/*! Default lowest trap preference. */
#define MXTRAP_DEFAULT_PREFERENCE	99

/*! Parsed module configuration, built once at module load. */
typedef struct {
	uint16_t preference;        /*!< Lowest trap preference. */
	bool require_backup;        /*!< Leave RRsets without a backup exchanger alone. */
	uint16_t exchange_count;    /*!< Number of configured trap exchangers (0: primaries). */
	knot_dname_t **exchanges;   /*!< Configured trap exchangers, lower-case, unique,
	                                 in canonical RDATA order. */
	uint16_t *exchange_sizes;   /*!< Wire sizes of the exchangers. */
} mxtrap_conf_t;

/*! Outcome of mxtrap_apply(); the last ones are the reasons to leave an answer alone. */
typedef enum {
	MXTRAP_NOT_MX = 0,     /*!< No MX RRset in ANSWER: not the module's business. */
	MXTRAP_TRAPPED,        /*!< Trap records appended to the MX RRset. */
	MXTRAP_TRUNCATED,      /*!< Merged RRset did not fit: MX RRset removed as Knot
	                            does for an oversized RRset (TC set over UDP). */
	MXTRAP_UNCHANGED_NULL_MX,     /*!< Null MX (RFC 7505). */
	MXTRAP_UNCHANGED_NO_BACKUP,   /*!< All records at one preference, backup required. */
	MXTRAP_UNCHANGED_TRAP_PRESENT,/*!< A trap exchanger already stands at the top. */
	MXTRAP_UNCHANGED_MAX_PREF,    /*!< The highest preference is 65535: no room above. */
	MXTRAP_UNCHANGED_SIGNED,      /*!< An RRSIG covers the MX RRset (signed zone, DO). */
	MXTRAP_UNCHANGED_UNEXPECTED,  /*!< Malformed records or an unexpected packet layout. */
} mxtrap_result_t;

/*! First reason for an unchanged answer in mxtrap_result_t. */
#define MXTRAP_UNCHANGED_FIRST	MXTRAP_UNCHANGED_NULL_MX
/*! Number of reasons for an unchanged answer. */
#define MXTRAP_UNCHANGED_COUNT	(MXTRAP_UNCHANGED_UNEXPECTED - MXTRAP_UNCHANGED_FIRST + 1)

/*!
 * \brief Short name of a reason for an unchanged answer (counter index name).
 *
 * \param result  One of the MXTRAP_UNCHANGED_* values.
 *
 * \return Static string, "unknown" for other values.
 */
const char *mxtrap_reason_name(mxtrap_result_t result);

/*!
 * \brief Builds the configuration.
 *
 * Exchanger names are copied, lower-cased, de-duplicated and sorted into the
 * order Knot keeps RDATA in, so that the hot path needs no sorting.
 *
 * \param conf            Configuration to initialize.
 * \param preference      Lowest trap preference.
 * \param require_backup  Leave RRsets without a backup exchanger alone.
 * \param exchanges       Trap exchanger names (NULL if count is 0), each a
 *                        terminated wire name (as knotd's configuration gives).
 * \param count           Number of names.
 *
 * \retval KNOT_EOK      Success.
 * \retval KNOT_EINVAL   A name is NULL, malformed or the root name.
 * \retval KNOT_ENOMEM   Out of memory.
 */
int mxtrap_conf_init(mxtrap_conf_t *conf, uint16_t preference, bool require_backup,
                     const knot_dname_t *const *exchanges, size_t count);

/*!
 * \brief Releases what mxtrap_conf_init() allocated.
 *
 * \param conf  Configuration (may be NULL).
 */
void mxtrap_conf_deinit(mxtrap_conf_t *conf);

/*!
 * \brief Adds the trap record(s) to the MX RRset of a response being built.
 *
 * Expects the packet as Knot leaves it after resolving the ANSWER section:
 * the ANSWER section is the current one and the MX RRset is its last RRset.
 * The trap records are written right behind the MX RRset with the packet's
 * compression state, so the wire is what Knot writes for the merged RRset,
 * and the packet's copy of the RRset is replaced by the merged one
 * (allocated from pkt->mm, which knotd releases with the query).
 *
 * \param conf  Configuration.
 * \param pkt   Response packet.
 *
 * \return What was done; the packet is untouched unless the result is
 *         MXTRAP_TRAPPED or MXTRAP_TRUNCATED.
 */
mxtrap_result_t mxtrap_apply(const mxtrap_conf_t *conf, knot_pkt_t *pkt);
