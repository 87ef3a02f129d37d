/* SPDX-License-Identifier: GPL-3.0-or-later */

/*!
 * \file
 *
 * \brief The zone's signing keys, read from knotd's PEM key store with
 *        libdnssec, and RRSIGs made with them as Knot makes its own.
 *
 * Keys are found through the DNSKEY RRset of the zone: the RRSIG names
 * (algorithm, key tag), the DNSKEY gives the key ID, the key store holds
 * <directory>/<key ID>.pem. A key is read once and kept; a key that could not
 * be read is tried again only after MXTRAP_KEY_RETRY seconds. Not thread-safe:
 * the signer (include/mxtrap/signer.h) calls it under its signing lock.
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/libknot.h>

#include "mxtrap/signer.h"

/*! Seconds before a key that could not be used is looked for again. */
#define MXTRAP_KEY_RETRY	10

/*! Keys of one zone. */
typedef struct mxtrap_keystore mxtrap_keystore_t;

/*!
 * \brief Creates the key store of a zone.
 *
 * \param zone      Zone name (the signer name of the RRSIGs).
 * \param dirs      Directories of the zone's PEM key stores, in the order
 *                  knotd uses them (absolute paths).
 * \param dir_count Their number (0 if the zone has no PEM key store).
 * \param pkcs11    The zone also has a key store without key files
 *                  (PKCS#11): keys missing from the directories are
 *                  reported as MXTRAP_KEYSTORE_UNSUPPORTED.
 * \param lifetime  Signature lifetime in seconds (the policy's rrsig-lifetime).
 *
 * \return Key store, NULL on bad arguments or no memory.
 */
mxtrap_keystore_t *mxtrap_keystore_new(const knot_dname_t *zone, const char *const *dirs,
                                       size_t dir_count, bool pkcs11, uint32_t lifetime);

/*! \brief Frees a key store and the keys it read (NULL is fine). */
void mxtrap_keystore_free(mxtrap_keystore_t *keystore);

/*!
 * \brief Signs an RRset with given keys of the zone (an mxtrap_sign_f).
 *
 * Keys not in \a dnskeys are left out (an algorithm rollover signs before it
 * publishes and after it withdraws a key: no validator can check those
 * signatures); if none is left: MXTRAP_KEY_MISSING.
 *
 * \param keystore  Key store.
 * \param dnskeys   The zone's DNSKEY RRset (RDATA).
 * \param keys      Keys to sign with, as the zone's RRSIGs name them.
 * \param count     Their number.
 * \param covered   RRset to sign.
 * \param now       Current time: inception now - 90 minutes, expiration now +
 *                  the lifetime, as Knot signs.
 * \param rrsigs    RRSIG RRset to append to (owner, class and TTL set).
 * \param mm        Memory context for the RDATA.
 * \param why       Output: why the RRset cannot be signed.
 *
 * \return True if signed (nothing appended otherwise).
 */
bool mxtrap_keystore_sign(mxtrap_keystore_t *keystore, const knot_rdataset_t *dnskeys,
                          const mxtrap_key_tag_t *keys, size_t count,
                          const knot_rrset_t *covered, uint32_t now,
                          knot_rrset_t *rrsigs, knot_mm_t *mm, mxtrap_reason_t *why);

/*!
 * \brief The key ID and tag of the key that made the last failure, for a log line.
 *
 * \param keystore  Key store.
 * \param tag       Output: key tag.
 *
 * \return Key ID (hex), "" if unknown; valid until the next call.
 */
const char *mxtrap_keystore_failed_key(const mxtrap_keystore_t *keystore, uint16_t *tag);
