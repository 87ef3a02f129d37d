/* SPDX-License-Identifier: GPL-3.0-or-later */

/*!
 * \file
 *
 * \brief The zone's signing keys, read with libdnssec from knotd's key stores
 *        (PEM directories, PKCS#11 tokens), and RRSIGs made with them as Knot
 *        makes its own.
 *
 * Keys are found through the DNSKEY RRset of the zone: the RRSIG names
 * (algorithm, key tag), the DNSKEY gives the key ID. A PEM key store holds
 * <directory>/<key ID>.pem; in a PKCS#11 token knotd's key has an ID of its
 * own (CKA_ID), found by the key ID of the token's public key objects. A key
 * is read from the first key store that has it, once, and kept; a key that
 * could not be read is tried again only after MXTRAP_KEY_RETRY seconds, a
 * token that refused the login only after MXTRAP_LOGIN_RETRY. Not
 * thread-safe: the signer (include/mxtrap/signer.h) calls it under its
 * signing lock.
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/libknot.h>

#include "mxtrap/signer.h"

/*! Seconds before a key that could not be used is looked for again. */
#define MXTRAP_KEY_RETRY	10

/*!
 * Seconds after a PKCS#11 token refused the login (wrong PIN) before any
 * zone of the process logs in to it with that configuration again: 4
 * refused logins an hour at most. A real HSM locks its PIN after a few
 * refused logins in a row, so the module must not add many of its own; an
 * operator who corrects the PIN in knot.conf changes the configuration,
 * which is tried at the next knotc reload.
 */
#define MXTRAP_LOGIN_RETRY	900

/*! Keys of one zone. */
typedef struct mxtrap_keystore mxtrap_keystore_t;

/*! The backend of a key store. */
typedef enum {
	MXTRAP_STORE_PEM = 0,  /*!< PEM files in a directory. */
	MXTRAP_STORE_PKCS11,   /*!< A PKCS#11 token. */
} mxtrap_store_backend_t;

/*! One of the zone's key stores, as the policy names it. */
typedef struct {
	mxtrap_store_backend_t backend;
	/*! PEM: the directory (an absolute path); PKCS#11: the keystore's
	 *  config as knotd has it, "<token URL> <module path>". */
	const char *config;
} mxtrap_store_t;

/*!
 * \brief Creates the key store of a zone.
 *
 * Opens its PKCS#11 key stores (registering their modules with GnuTLS, as
 * knotd does): call it in knotd's main thread, where knotd loads modules (a
 * libdnssec before 3.5.4 registers PKCS#11 modules without a lock). A store
 * that cannot be opened is kept as one that has no keys
 * (MXTRAP_KEYSTORE_UNSUPPORTED when a key is found nowhere else).
 *
 * \param zone      Zone name (the signer name of the RRSIGs).
 * \param stores    The zone's key stores, in the order knotd uses them.
 * \param count     Their number.
 * \param lifetime  Signature lifetime in seconds (the policy's rrsig-lifetime).
 *
 * \return Key store, NULL on bad arguments or no memory.
 */
mxtrap_keystore_t *mxtrap_keystore_new(const knot_dname_t *zone, const mxtrap_store_t *stores,
                                       size_t count, uint32_t lifetime);

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

/*!
 * \brief The key stores of the last failure, for a log line.
 *
 * MXTRAP_KEY_MISSING: those searched; MXTRAP_KEYSTORE_LOGIN: the tokens that
 * refused the login; MXTRAP_KEYSTORE_UNSUPPORTED: those that could not be
 * opened. PEM key stores by directory, tokens by URL without the PIN.
 *
 * \return Names separated by ", " ("" if none); valid until the next call.
 */
const char *mxtrap_keystore_failed_stores(mxtrap_keystore_t *keystore);
