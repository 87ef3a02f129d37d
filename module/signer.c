/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Signature cache in front of a signing function that is not safe to call
 * concurrently (it loads keys into a shared key store). Direct-mapped: one
 * entry per slot, a slot lock held only to compare and copy, never while
 * signing, so a cache hit never waits for a signature being made. An entry
 * is keyed by the RRset and the keys that sign it, and is served only while
 * its signatures stay valid for the margin plus the RRset's TTL: a key
 * rollover or an ageing signature makes a new one, with no one's help.
 */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mxtrap/mm.h"
#include "mxtrap/signer.h"

typedef struct {
	uint64_t hash;
	uint32_t valid_from;   /* Latest inception of the signatures. */
	uint32_t valid_until;  /* Earliest expiration. */
	uint32_t signed_at;
	bool partial;          /* Signed by fewer keys than asked: kept PARTIAL_RENEW seconds. */
	uint32_t key_len;
	uint32_t sig_size;
	uint16_t sig_count;
	uint8_t data[];        /* key_len bytes of key, then sig_size bytes of RRSIG RDATA */
} entry_t;

/*! Seconds a signature set by fewer keys than asked is served from the cache. */
#define PARTIAL_RENEW	10

typedef struct {
	pthread_mutex_t lock;
	entry_t *entry;
} slot_t;

struct mxtrap_signer {
	mxtrap_sign_f sign;
	void *sign_ctx;
	uint32_t margin;
	mxtrap_clock_f clock;
	pthread_mutex_t sign_lock;
	unsigned slot_mask;
	slot_t slots[];
};

mxtrap_signer_t *mxtrap_signer_new(mxtrap_sign_f sign, void *sign_ctx, uint32_t margin,
                                   unsigned cache_slots, mxtrap_clock_f clock)
{
	if (sign == NULL || cache_slots == 0 || (cache_slots & (cache_slots - 1)) != 0) {
		return NULL;
	}

	mxtrap_signer_t *signer = calloc(1, sizeof(*signer) + cache_slots * sizeof(slot_t));
	if (signer == NULL) {
		return NULL;
	}
	signer->sign = sign;
	signer->sign_ctx = sign_ctx;
	signer->margin = margin;
	signer->clock = clock;
	signer->slot_mask = cache_slots - 1;
	pthread_mutex_init(&signer->sign_lock, NULL);
	for (unsigned i = 0; i < cache_slots; i++) {
		pthread_mutex_init(&signer->slots[i].lock, NULL);
	}
	return signer;
}

void mxtrap_signer_free(mxtrap_signer_t *signer)
{
	if (signer == NULL) {
		return;
	}
	for (unsigned i = 0; i <= signer->slot_mask; i++) {
		free(signer->slots[i].entry);
		pthread_mutex_destroy(&signer->slots[i].lock);
	}
	pthread_mutex_destroy(&signer->sign_lock);
	free(signer);
}


/* FNV-1a: short keys, no adversary controls which RRsets exist in a zone. */
static uint64_t key_hash(const uint8_t *data, size_t len)
{
	uint64_t hash = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		hash = (hash ^ data[i]) * 0x100000001b3ULL;
	}
	return hash;
}

/*! The cache key: everything the signatures cover, and the keys that make them. */
static uint8_t *make_key(const knot_rrset_t *covered, const mxtrap_key_tag_t *keys,
                         size_t count, knot_mm_t *mm, size_t *len)
{
	size_t owner_size = knot_dname_size(covered->owner);
	*len = owner_size + sizeof(uint16_t) + sizeof(uint32_t) + count * 3 + covered->rrs.size;
	uint8_t *key = mm_get(mm, *len);
	if (key == NULL) {
		return NULL;
	}
	uint8_t *pos = key;
	knot_dname_copy_lower(pos, covered->owner);
	pos += owner_size;
	knot_wire_write_u16(pos, covered->rclass);
	pos += sizeof(uint16_t);
	knot_wire_write_u32(pos, covered->ttl);
	pos += sizeof(uint32_t);
	for (size_t i = 0; i < count; i++) {
		*pos++ = keys[i].alg;
		knot_wire_write_u16(pos, keys[i].tag);
		pos += sizeof(uint16_t);
	}
	memcpy(pos, covered->rrs.rdata, covered->rrs.size);
	return key;
}

/*! The signatures are valid now and for \a needed seconds more. */
static bool valid_for(uint32_t valid_from, uint32_t valid_until, uint32_t now, int64_t needed)
{
	return (int32_t)(now - valid_from) >= 0 && (int32_t)(valid_until - now) >= needed;
}

/*! Copies a cached entry's signatures into the packet's memory, under the slot lock. */
static bool lookup(slot_t *slot, uint64_t hash, const uint8_t *key, size_t key_len,
                   uint32_t now, int64_t needed, knot_rdataset_t *sigs, knot_mm_t *mm)
{
	bool found = false;
	pthread_mutex_lock(&slot->lock);
	const entry_t *entry = slot->entry;
	if (entry != NULL && entry->hash == hash && entry->key_len == key_len &&
	    valid_for(entry->valid_from, entry->valid_until, now, needed) &&
	    (!entry->partial || (int32_t)(now - entry->signed_at) < PARTIAL_RENEW) &&
	    memcmp(entry->data, key, key_len) == 0) {
		knot_rdata_t *copy = mm_get(mm, entry->sig_size);
		if (copy != NULL) {
			memcpy(copy, entry->data + key_len, entry->sig_size);
			sigs->count = entry->sig_count;
			sigs->size = entry->sig_size;
			sigs->rdata = copy;
			found = true;
		}
	}
	pthread_mutex_unlock(&slot->lock);
	return found;
}

/*! The validity every signature of \a sigs shares. */
static void validity(const knot_rdataset_t *sigs, uint32_t *from, uint32_t *until)
{
	const knot_rdata_t *rdata = sigs->rdata;
	*from = knot_rrsig_sig_inception(rdata);
	*until = knot_rrsig_sig_expiration(rdata);
	for (uint16_t i = 1; i < sigs->count; i++) {
		rdata = knot_rdataset_next((knot_rdata_t *)rdata);
		uint32_t inception = knot_rrsig_sig_inception(rdata);
		uint32_t expiration = knot_rrsig_sig_expiration(rdata);
		*from = (int32_t)(inception - *from) > 0 ? inception : *from;
		*until = (int32_t)(expiration - *until) < 0 ? expiration : *until;
	}
}

/*! Stores signatures in a slot, replacing what it held. */
static void store(slot_t *slot, uint64_t hash, const uint8_t *key, size_t key_len,
                  const knot_rdataset_t *sigs, uint32_t now, bool partial)
{
	entry_t *entry = malloc(sizeof(*entry) + key_len + sigs->size);
	if (entry == NULL) {
		return; /* Served, just not cached. */
	}
	entry->hash = hash;
	validity(sigs, &entry->valid_from, &entry->valid_until);
	entry->signed_at = now;
	entry->partial = partial;
	entry->key_len = key_len;
	entry->sig_size = sigs->size;
	entry->sig_count = sigs->count;
	memcpy(entry->data, key, key_len);
	memcpy(entry->data + key_len, sigs->rdata, sigs->size);
	pthread_mutex_lock(&slot->lock);
	entry_t *old = slot->entry;
	slot->entry = entry;
	pthread_mutex_unlock(&slot->lock);
	free(old);
}

/*! Signs now and keeps the signatures in the slot (under the signing lock). */
static bool sign(mxtrap_signer_t *signer, slot_t *slot, uint64_t hash, const uint8_t *key,
                 size_t key_len, const knot_rrset_t *covered, const mxtrap_key_tag_t *keys,
                 size_t count, void *query, uint32_t now, knot_rdataset_t *sigs,
                 knot_mm_t *mm, mxtrap_sig_source_t *source, mxtrap_reason_t *why)
{
	knot_rrset_t rrsigs;
	knot_rrset_init(&rrsigs, covered->owner, KNOT_RRTYPE_RRSIG, covered->rclass, covered->ttl);
	if (!signer->sign(signer->sign_ctx, query, keys, count, covered, now, &rrsigs, mm, why)) {
		knot_rdataset_clear(&rrsigs.rrs, mm);
		return false;
	}
	if (rrsigs.rrs.count == 0 || rrsigs.rrs.count > count) {
		knot_rdataset_clear(&rrsigs.rrs, mm);
		*why = MXTRAP_SIGN_FAILED;
		return false;
	}
	/* Keys left out now may be published soon (algorithm rollover). */
	store(slot, hash, key, key_len, &rrsigs.rrs, now, rrsigs.rrs.count < count);
	*sigs = rrsigs.rrs;
	*source = MXTRAP_SIG_FRESH;
	return true;
}

bool mxtrap_signer_get(mxtrap_signer_t *signer, const knot_rrset_t *covered,
                       const mxtrap_key_tag_t *keys, size_t count, void *query,
                       knot_rdataset_t *sigs, knot_mm_t *mm,
                       mxtrap_sig_source_t *source, mxtrap_reason_t *why)
{
	size_t key_len;
	uint8_t *key = make_key(covered, keys, count, mm, &key_len);
	if (key == NULL) {
		*why = MXTRAP_SIGN_FAILED;
		return false;
	}
	uint64_t hash = key_hash(key, key_len);
	slot_t *slot = &signer->slots[hash & signer->slot_mask];
	uint32_t now = signer->clock != NULL ? signer->clock() : (uint32_t)time(NULL);
	int64_t needed = (int64_t)signer->margin + covered->ttl;

	*source = MXTRAP_SIG_CACHE;
	bool found = lookup(slot, hash, key, key_len, now, needed, sigs, mm);
	if (!found) {
		/* One signature at a time: the signing function is not thread-safe. */
		pthread_mutex_lock(&signer->sign_lock);
		found = lookup(slot, hash, key, key_len, now, needed, sigs, mm) ||
		        sign(signer, slot, hash, key, key_len, covered, keys, count, query, now,
		             sigs, mm, source, why);
		pthread_mutex_unlock(&signer->sign_lock);
	}
	mm_put(mm, key);
	return found;
}
