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
	MXTRAP_UNCHANGED_SIGNED,      /*!< An RRSIG covers the MX RRset, no signer given. */
	MXTRAP_UNCHANGED_UNEXPECTED,  /*!< Malformed records or an unexpected packet layout. */
	/* Reasons below only with a signer (trapping of signed answers on). */
	MXTRAP_UNCHANGED_KEY_MISSING, /*!< A key of the zone's RRSIG(MX) is not in the
	                                   DNSKEY set or has no file in the key store. */
	MXTRAP_UNCHANGED_KEY_UNREADABLE,   /*!< Its key file cannot be read or holds
	                                        another key. */
	MXTRAP_UNCHANGED_KEYSTORE_UNSUPPORTED, /*!< The key store keeps no key files (PKCS#11). */
	MXTRAP_UNCHANGED_ALG_UNSUPPORTED,  /*!< libdnssec cannot sign with the algorithm. */
	MXTRAP_UNCHANGED_SIGN_FAILED, /*!< Signing failed (libdnssec error, no memory). */
} mxtrap_result_t;

/*! First reason for an unchanged answer in mxtrap_result_t. */
#define MXTRAP_UNCHANGED_FIRST	MXTRAP_UNCHANGED_NULL_MX
/*! Last reason for an unchanged answer. */
#define MXTRAP_UNCHANGED_LAST	MXTRAP_UNCHANGED_SIGN_FAILED
/*! Number of reasons for an unchanged answer. */
#define MXTRAP_UNCHANGED_COUNT	(MXTRAP_UNCHANGED_LAST - MXTRAP_UNCHANGED_FIRST + 1)
/*! Number of reasons without a signer (no signing-only reasons). */
#define MXTRAP_UNCHANGED_UNSIGNED_COUNT	(MXTRAP_UNCHANGED_UNEXPECTED - MXTRAP_UNCHANGED_FIRST + 1)

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

/*** Signed answers. ***/

/*! Where the RRSIGs of a trapped answer came from. */
typedef enum {
	MXTRAP_SIG_NONE = 0,  /*!< Unsigned answer. */
	MXTRAP_SIG_CACHE,     /*!< Signature cache. */
	MXTRAP_SIG_FRESH,     /*!< Signed for this answer. */
} mxtrap_sig_source_t;

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
 * caller of mxtrap_apply_dnssec() passed through.
 *
 * \return MXTRAP_TRAPPED, or the reason (MXTRAP_UNCHANGED_KEY_MISSING ...
 *         MXTRAP_UNCHANGED_SIGN_FAILED) the RRset cannot be signed.
 */
typedef mxtrap_result_t (*mxtrap_sign_f)(void *ctx, void *query, const mxtrap_key_tag_t *keys,
                                         size_t count, const knot_rrset_t *covered,
                                         uint32_t now, knot_rrset_t *rrsigs, knot_mm_t *mm);

/*! Clock in seconds since the epoch (tests set their own). */
typedef uint32_t (*mxtrap_clock_f)(void);

/*! Signatures cache in front of a signing function (see module/signer.c). */
typedef struct mxtrap_signer mxtrap_signer_t;

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
 * \brief Valid RRSIGs over an RRset by exactly the given keys, from the cache
 *        or signed now.
 *
 * \param signer   Signer.
 * \param covered  RRset to sign (owner is the wildcard for wildcard answers).
 * \param keys     The keys, as the zone's own RRSIGs over the RRset name them.
 * \param count    Their number (1 to MXTRAP_MAX_SIGS).
 * \param query    Passed to the signing function.
 * \param sigs     Output RRSIG RDATA, allocated from \a mm.
 * \param mm       Memory context (the packet's).
 * \param source   Output: cache or fresh.
 *
 * \return MXTRAP_TRAPPED with \a sigs set, or the reason there are none.
 */
mxtrap_result_t mxtrap_signer_get(mxtrap_signer_t *signer, const knot_rrset_t *covered,
                                  const mxtrap_key_tag_t *keys, size_t count, void *query,
                                  knot_rdataset_t *sigs, knot_mm_t *mm,
                                  mxtrap_sig_source_t *source);

/*!
 * \brief mxtrap_apply() that also traps signed answers.
 *
 * With a signer, an answer whose MX RRset is followed by RRSIG(MX) gets the
 * merged RRset and the signer's RRSIGs over it in place of the zone's, made
 * with the keys that made the zone's RRSIG(MX) in this answer (those the zone
 * publishes). The rest of ANSWER is written again after the MX RRset.
 *
 * \param conf       Configuration.
 * \param pkt        Response packet.
 * \param signer     Signer, NULL to leave signed answers alone.
 * \param query      Passed to the signing function (knotd: the query data).
 * \param source     Output: where the signatures of a trapped answer came from
 *                   (not NULL).
 *
 * \return As mxtrap_apply().
 */
mxtrap_result_t mxtrap_apply_dnssec(const mxtrap_conf_t *conf, knot_pkt_t *pkt,
                                    mxtrap_signer_t *signer, void *query,
                                    mxtrap_sig_source_t *source);
