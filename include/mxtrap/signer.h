/* SPDX-License-Identifier: GPL-3.0-or-later */

/*!
 * \file
 *
 * \brief Signature cache in front of a signing function (module/signer.c).
 *
 * Answers "valid RRSIGs over this RRset by these keys, or why not": an entry
 * is served only while its signatures stay valid for the margin plus the
 * RRset's TTL; otherwise the signing function makes them again.
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/libknot.h>

#include "mxtrap/trap.h"

/*! A key as an RRSIG names it. */
typedef struct {
	uint8_t alg;
	uint16_t tag;
} mxtrap_key_tag_t;

/*! At most this many signatures over one RRset (keys, algorithms). */
#define MXTRAP_MAX_SIGS	8

/*!
 * Signing function: appends to \a rrsigs (owner, class and TTL set) one RRSIG
 * over \a covered per key of \a keys that the zone publishes in its DNSKEY set
 * (at least one), valid from \a now, RDATA from \a mm. \a query is what the
 * caller of mxtrap_apply() passed through.
 *
 * \return True if signed, else false and \a why (a signing reason).
 */
typedef bool (*mxtrap_sign_f)(void *ctx, void *query, const mxtrap_key_tag_t *keys,
                              size_t count, const knot_rrset_t *covered, uint32_t now,
                              knot_rrset_t *rrsigs, knot_mm_t *mm, mxtrap_reason_t *why);

/*! Clock in seconds since the epoch (tests set their own). */
typedef uint32_t (*mxtrap_clock_f)(void);

/*!
 * \brief Creates a signer.
 *
 * \param sign         Signing function; called under a lock, never concurrently.
 * \param sign_ctx     Its context.
 * \param margin       Seconds a signature must stay valid beyond the RRset's TTL
 *                     to be served from the cache (else it is made again). A
 *                     set made by fewer keys than asked is made again after
 *                     10 seconds.
 * \param cache_slots  Cache size (power of two): one cached RRset per slot.
 * \param clock        Clock, NULL for time(2).
 *
 * \return Signer, NULL on bad arguments or no memory.
 */
mxtrap_signer_t *mxtrap_signer_new(mxtrap_sign_f sign, void *sign_ctx, uint32_t margin,
                                   unsigned cache_slots, mxtrap_clock_f clock);

/*! \brief Frees a signer and its cache (NULL is fine). */
void mxtrap_signer_free(mxtrap_signer_t *signer);

/*!
 * \brief Valid RRSIGs over an RRset by the given keys, from the cache or signed now.
 *
 * \param signer   Signer.
 * \param covered  RRset to sign (owner is the wildcard for wildcard answers).
 * \param keys     The keys, as the zone's own RRSIGs over the RRset name them.
 * \param count    Their number (1 to MXTRAP_MAX_SIGS).
 * \param query    Passed to the signing function.
 * \param sigs     Output RRSIG RDATA, allocated from \a mm.
 * \param mm       Memory context (the packet's).
 * \param source   Output: cache or fresh.
 * \param why      Output: the reason when there are no signatures.
 *
 * \return True with \a sigs set, false with \a why.
 */
bool mxtrap_signer_get(mxtrap_signer_t *signer, const knot_rrset_t *covered,
                       const mxtrap_key_tag_t *keys, size_t count, void *query,
                       knot_rdataset_t *sigs, knot_mm_t *mm,
                       mxtrap_sig_source_t *source, mxtrap_reason_t *why);
