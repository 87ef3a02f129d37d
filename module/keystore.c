/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtrap/compat.h"
#include "mxtrap/keystore.h"

/*! Knot's signature inception: 90 minutes in the past (RRSIG_INCEPT_IN_PAST). */
#define INCEPTION_OFFSET	(90 * 60)
/*! RRSIG RDATA up to the signer's name. */
#define RRSIG_FIXED_LEN		18
/*! Keys kept per zone; a rollover adds one, the least recently used goes. */
#define MAX_KEYS		16
/*! DNSKEY RDATA: flags, protocol, algorithm, then the public key. */
#define DNSKEY_ALG_OFFSET	3

typedef struct {
	dnssec_binary_t dnskey;     /*!< DNSKEY RDATA, the key's identity. */
	dnssec_key_t *key;          /*!< With its private key; NULL if not usable. */
	dnssec_sign_ctx_t *sign;    /*!< Signing context of the key. */
	mxtrap_reason_t failure;    /*!< Why not usable. */
	uint32_t retry_at;          /*!< When to look for it again. */
	uint64_t used;              /*!< Last use, in uses of the store. */
	char id[80];                /*!< Key ID (hex), once known. */
} zone_key_t;

struct mxtrap_keystore {
	knot_dname_t *zone;
	char **dirs;
	size_t dir_count;
	bool pkcs11;
	uint32_t lifetime;
	char failed_id[80];
	uint16_t failed_tag;
	uint64_t uses;
	size_t key_count;
	zone_key_t keys[MAX_KEYS];
};

mxtrap_keystore_t *mxtrap_keystore_new(const knot_dname_t *zone, const char *const *dirs,
                                       size_t dir_count, bool pkcs11, uint32_t lifetime)
{
	if (zone == NULL || (dir_count > 0 && dirs == NULL) || lifetime == 0) {
		return NULL;
	}
	mxtrap_keystore_t *ks = calloc(1, sizeof(*ks));
	if (ks == NULL) {
		return NULL;
	}
	ks->pkcs11 = pkcs11;
	ks->lifetime = lifetime;
	ks->zone = knot_dname_copy(zone, NULL);
	ks->dirs = calloc(dir_count + 1, sizeof(*ks->dirs));
	if (ks->zone == NULL || ks->dirs == NULL) {
		mxtrap_keystore_free(ks);
		return NULL;
	}
	knot_dname_to_lower(ks->zone);
	for (; ks->dir_count < dir_count; ks->dir_count++) {
		ks->dirs[ks->dir_count] = strdup(dirs[ks->dir_count]);
		if (ks->dirs[ks->dir_count] == NULL) {
			mxtrap_keystore_free(ks);
			return NULL;
		}
	}
	return ks;
}

static void key_clear(zone_key_t *zk)
{
	dnssec_sign_free(zk->sign);
	dnssec_key_free(zk->key);
	zk->sign = NULL;
	zk->key = NULL;
}

void mxtrap_keystore_free(mxtrap_keystore_t *ks)
{
	if (ks == NULL) {
		return;
	}
	for (size_t i = 0; i < ks->key_count; i++) {
		key_clear(&ks->keys[i]);
		dnssec_binary_free(&ks->keys[i].dnskey);
	}
	for (size_t i = 0; ks->dirs != NULL && i < ks->dir_count; i++) {
		free(ks->dirs[i]);
	}
	free(ks->dirs);
	knot_dname_free(ks->zone, NULL);
	free(ks);
}

const char *mxtrap_keystore_failed_key(const mxtrap_keystore_t *ks, uint16_t *tag)
{
	*tag = ks->failed_tag;
	return ks->failed_id;
}

/*! Reads the private key from the first key store directory that has its file. */
static bool read_private(mxtrap_keystore_t *ks, dnssec_key_t *key, const char *id,
                         mxtrap_reason_t *why)
{
	for (size_t i = 0; i < ks->dir_count; i++) {
		dnssec_keystore_t *store = NULL;
		int ret = dnssec_keystore_init_pkcs8(&store);
		if (ret != DNSSEC_EOK) {
			*why = MXTRAP_SIGN_FAILED;
			return false;
		}
		/* Open, never init: that would create the directory. */
		ret = dnssec_keystore_open(store, ks->dirs[i]);
		if (ret == DNSSEC_EOK) {
			ret = dnssec_keystore_get_private(store, id, key);
			dnssec_keystore_close(store);
		}
		dnssec_keystore_deinit(store);
		if (ret == DNSSEC_EOK) {
			return true;
		}
		if (!MXTRAP_DNSSEC_NO_KEY(ret)) {
			*why = MXTRAP_KEY_UNREADABLE;
			return false;
		}
	}
	*why = ks->pkcs11 ? MXTRAP_KEYSTORE_UNSUPPORTED : MXTRAP_KEY_MISSING;
	return false;
}

/*!
 * The private key belongs to the DNSKEY: a signature made with it verifies
 * with the DNSKEY's public key (libdnssec checks only the algorithm when it
 * reads a key file, and a file of another key would sign bogus answers).
 */
static bool matches_dnskey(dnssec_sign_ctx_t *sign)
{
	static const uint8_t probe[] = "mod-mxtrap key check";
	dnssec_binary_t data = { .size = sizeof(probe), .data = (uint8_t *)probe };
	dnssec_binary_t signature = { 0 };
	bool match = dnssec_sign_init(sign) == DNSSEC_EOK &&
	             dnssec_sign_add(sign, &data) == DNSSEC_EOK &&
	             dnssec_sign_write(sign, DNSSEC_SIGN_NORMAL, &signature) == DNSSEC_EOK &&
	             dnssec_sign_init(sign) == DNSSEC_EOK &&
	             dnssec_sign_add(sign, &data) == DNSSEC_EOK &&
	             dnssec_sign_verify(sign, false, &signature) == DNSSEC_EOK;
	dnssec_binary_free(&signature);
	return match;
}

/*! Makes a DNSKEY usable for signing: public key, private key, signing context. */
static bool key_load(mxtrap_keystore_t *ks, zone_key_t *zk, mxtrap_reason_t *why)
{
	uint8_t alg = zk->dnskey.data[DNSKEY_ALG_OFFSET];
	if (!dnssec_algorithm_key_support(alg)) {
		*why = MXTRAP_ALG_UNSUPPORTED;
		return false;
	}
	char *id = NULL;
	if (dnssec_key_new(&zk->key) != DNSSEC_EOK ||
	    dnssec_key_set_rdata(zk->key, &zk->dnskey) != DNSSEC_EOK ||
	    dnssec_key_set_dname(zk->key, ks->zone) != DNSSEC_EOK ||
	    dnssec_key_get_keyid(zk->key, &id) != DNSSEC_EOK) {
		*why = MXTRAP_SIGN_FAILED; /* No memory, or a malformed DNSKEY. */
		return false;
	}
	snprintf(zk->id, sizeof(zk->id), "%s", id);
	bool usable = read_private(ks, zk->key, id, why);
	free(id);
	if (usable && dnssec_sign_new(&zk->sign, zk->key) != DNSSEC_EOK) {
		*why = MXTRAP_ALG_UNSUPPORTED;
		return false;
	}
	if (usable && !matches_dnskey(zk->sign)) {
		*why = MXTRAP_KEY_UNREADABLE;
		return false;
	}
	return usable;
}

/*!
 * The slot for a DNSKEY: the one holding it, a free one, or the least recently
 * used (never one used for the RRset being signed: it was used last).
 */
static zone_key_t *key_slot(mxtrap_keystore_t *ks, const knot_rdata_t *rdata)
{
	zone_key_t *oldest = &ks->keys[0];
	for (size_t i = 0; i < ks->key_count; i++) {
		zone_key_t *zk = &ks->keys[i];
		if (zk->dnskey.size == rdata->len &&
		    memcmp(zk->dnskey.data, rdata->data, rdata->len) == 0) {
			return zk;
		}
		oldest = zk->used < oldest->used ? zk : oldest;
	}
	zone_key_t *zk = oldest;
	if (ks->key_count < MAX_KEYS) {
		zk = &ks->keys[ks->key_count++];
	}
	key_clear(zk);
	dnssec_binary_free(&zk->dnskey);
	memset(zk, 0, sizeof(*zk));
	dnssec_binary_t dnskey = { .size = rdata->len, .data = (uint8_t *)rdata->data };
	if (dnssec_binary_dup(&dnskey, &zk->dnskey) != DNSSEC_EOK) {
		return NULL;
	}
	return zk;
}

/*! A DNSKEY of the zone as a key to sign with, read if not yet (or again if due). */
static bool key_get(mxtrap_keystore_t *ks, const knot_rdata_t *rdata, uint32_t now,
                    zone_key_t **out, mxtrap_reason_t *why)
{
	zone_key_t *zk = key_slot(ks, rdata);
	if (zk == NULL) {
		*why = MXTRAP_SIGN_FAILED;
		return false;
	}
	zk->used = ++ks->uses;
	if (zk->key == NULL || zk->sign == NULL) {
		if (zk->retry_at == 0 || (int32_t)(now - zk->retry_at) >= 0) {
			key_clear(zk);
			if (key_load(ks, zk, &zk->failure)) {
				*out = zk;
				return true;
			}
			key_clear(zk);
			zk->retry_at = now + MXTRAP_KEY_RETRY;
			zk->retry_at += (zk->retry_at == 0);
		}
		memcpy(ks->failed_id, zk->id, sizeof(ks->failed_id));
		*why = zk->failure;
		return false;
	}
	*out = zk;
	return true;
}

/*!
 * The zone's key with this algorithm and tag (a tag may be shared: the first
 * usable); \a published tells whether the DNSKEY set has such a key at all.
 */
static bool key_find(mxtrap_keystore_t *ks, const knot_rdataset_t *dnskeys,
                     mxtrap_key_tag_t want, uint32_t now, zone_key_t **out,
                     bool *published, mxtrap_reason_t *why)
{
	*published = false;
	const knot_rdata_t *rdata = dnskeys->rdata;
	for (uint16_t i = 0; i < dnskeys->count; i++, rdata = knot_rdataset_next((knot_rdata_t *)rdata)) {
		dnssec_binary_t bin = { .size = rdata->len, .data = (uint8_t *)rdata->data };
		uint16_t tag = 0;
		if (rdata->len <= DNSKEY_ALG_OFFSET || rdata->data[DNSKEY_ALG_OFFSET] != want.alg ||
		    dnssec_keytag(&bin, &tag) != DNSSEC_EOK || tag != want.tag) {
			continue;
		}
		*published = true;
		ks->failed_tag = want.tag;
		ks->failed_id[0] = '\0';
		if (key_get(ks, rdata, now, out, why)) {
			return true;
		}
	}
	return false;
}

/*! One RRSIG over \a wire (the RRset in canonical form) with a key, as Knot writes it. */
static bool sign_one(mxtrap_keystore_t *ks, zone_key_t *zk,
                                const knot_rrset_t *covered, const dnssec_binary_t *wire,
                                uint32_t now, knot_rrset_t *rrsigs, knot_mm_t *mm)
{
	size_t signer_size = knot_dname_size(ks->zone);
	uint8_t header[RRSIG_FIXED_LEN + KNOT_DNAME_MAXLEN];
	uint8_t labels = knot_dname_labels(covered->owner, NULL) -
	                 (knot_dname_is_wildcard(covered->owner) ? 1 : 0);
	knot_wire_write_u16(header, covered->type);
	header[2] = dnssec_key_get_algorithm(zk->key);
	header[3] = labels;
	knot_wire_write_u32(header + 4, covered->ttl);
	knot_wire_write_u32(header + 8, now + ks->lifetime);
	knot_wire_write_u32(header + 12, now - INCEPTION_OFFSET);
	knot_wire_write_u16(header + 16, dnssec_key_get_keytag(zk->key));
	memcpy(header + RRSIG_FIXED_LEN, ks->zone, signer_size);

	dnssec_binary_t self = { .size = RRSIG_FIXED_LEN + signer_size, .data = header };
	dnssec_binary_t signature = { 0 };
	if (dnssec_sign_init(zk->sign) != DNSSEC_EOK ||
	    dnssec_sign_add(zk->sign, &self) != DNSSEC_EOK ||
	    dnssec_sign_add(zk->sign, wire) != DNSSEC_EOK ||
	    dnssec_sign_write(zk->sign, DNSSEC_SIGN_NORMAL, &signature) != DNSSEC_EOK) {
		return false;
	}

	size_t size = self.size + signature.size;
	uint8_t *rdata = malloc(size);
	int ret = KNOT_ENOMEM;
	if (rdata != NULL) {
		memcpy(rdata, header, self.size);
		memcpy(rdata + self.size, signature.data, signature.size);
		ret = knot_rrset_add_rdata(rrsigs, rdata, size, mm);
	}
	free(rdata);
	dnssec_binary_free(&signature);
	return ret == KNOT_EOK;
}

bool mxtrap_keystore_sign(mxtrap_keystore_t *ks, const knot_rdataset_t *dnskeys,
                          const mxtrap_key_tag_t *keys, size_t count,
                          const knot_rrset_t *covered, uint32_t now,
                          knot_rrset_t *rrsigs, knot_mm_t *mm, mxtrap_reason_t *why)
{
	*why = MXTRAP_SIGN_FAILED;
	if (ks == NULL || dnskeys == NULL || keys == NULL || covered == NULL || rrsigs == NULL ||
	    count == 0 || count > MXTRAP_MAX_SIGS) {
		return false;
	}
	/* Keys the zone does not publish (yet, or any more: an algorithm rollover
	 * signs before and after it publishes) sign nothing a validator can check. */
	zone_key_t *zone_keys[MXTRAP_MAX_SIGS];
	size_t used = 0;
	for (size_t i = 0; i < count; i++) {
		bool published;
		if (key_find(ks, dnskeys, keys[i], now, &zone_keys[used], &published, why)) {
			used++;
		} else if (published) {
			return false;
		}
	}
	if (used == 0) {
		ks->failed_tag = keys[0].tag;
		ks->failed_id[0] = '\0';
		*why = MXTRAP_KEY_MISSING;
		return false;
	}

	/* The canonical form (RFC 4034 6.2): names in the zone are lower-case
	 * already (Knot loads them so, the trap names are lowered at load), the
	 * owner of a wildcard answer comes from the query. */
	knot_dname_storage_t owner;
	knot_dname_copy_lower(owner, covered->owner);
	knot_rrset_t canonical = *covered;
	canonical.owner = owner;
	uint8_t *wire = malloc(KNOT_WIRE_MAX_PKTSIZE);
	if (wire == NULL) {
		return false;
	}
	int written = knot_rrset_to_wire(&canonical, wire, KNOT_WIRE_MAX_PKTSIZE, NULL);
	bool ok = written > 0;
	dnssec_binary_t data = { .size = written, .data = wire };
	for (size_t i = 0; i < used && ok; i++) {
		ok = sign_one(ks, zone_keys[i], &canonical, &data, now, rrsigs, mm);
	}
	free(wire);
	if (!ok) {
		knot_rdataset_clear(&rrsigs->rrs, mm);
	}
	return ok;
}
