/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*
 * Unit tests of module/keystore.c with real keys: libdnssec generates them
 * into PEM key store directories as knotd does, the key store signs with
 * them, and every signature is verified with libdnssec from the DNSKEY RDATA
 * alone over the RRset in canonical form (RFC 4034 3.1.8.1, 6.2, RFC 4035
 * 5.3.2): the oracle knows nothing of the module's code.
 */

#define _GNU_SOURCE  /* nftw() in tmpdir.h */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdnssec/binary.h>
#include <libdnssec/crypto.h>
#include <libdnssec/error.h>
#include <libdnssec/key.h>
#include <libdnssec/keystore.h>
#include <libdnssec/keytag.h>
#include <libdnssec/sign.h>

#include "keystore.h"
#include "pool.h"
#include "records.h"
#include "tmpdir.h"

#define NOW		1800000000u
#define LIFETIME	(7 * 86400u + 17)
#define INCEPTION_AGO	5400u    /* Knot's: 90 minutes. */
#define ZONE		"example.com."
#define MX_RECORDS	"10 mail1.example.com. 20 mail2.example.com."
#define MANY		20       /* More keys than the key store keeps (16). */

/*! A key libdnssec generated, its PEM file in the generation directory. */
typedef struct {
	char id[128];
	uint8_t alg;
	uint16_t tag;
	uint8_t rdata[1024];      /* DNSKEY RDATA. */
	size_t rdata_len;
} test_key_t;

/* Generated once, before the tests fork. */
static char gen_dir[PATH_MAX];
static test_key_t ecdsa, ecdsa2, ed25519;
static test_key_t many[MANY];

/* Per test: directories to remove in teardown. */
static char test_dirs[4][PATH_MAX];
static size_t test_dir_count;

static void key_generate(dnssec_key_algorithm_t alg, unsigned bits, test_key_t *out)
{
	dnssec_keystore_t *store = NULL;
	ck_assert_int_eq(dnssec_keystore_init_pkcs8(&store), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_keystore_init(store, gen_dir), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_keystore_open(store, gen_dir), DNSSEC_EOK);
	char *id = NULL;
	ck_assert_int_eq(dnssec_keystore_generate(store, alg, bits, NULL, &id), DNSSEC_EOK);

	dnssec_key_t *key = NULL;
	ck_assert_int_eq(dnssec_key_new(&key), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_key_set_algorithm(key, alg), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_keystore_get_private(store, id, key), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_key_set_flags(key, 256), DNSSEC_EOK);
	dnssec_binary_t rdata = { 0 };
	ck_assert_int_eq(dnssec_key_get_rdata(key, &rdata), DNSSEC_EOK);
	ck_assert_uint_le(rdata.size, sizeof(out->rdata));
	memcpy(out->rdata, rdata.data, rdata.size);
	out->rdata_len = rdata.size;
	out->alg = alg;
	out->tag = dnssec_key_get_keytag(key);
	ck_assert_uint_lt(strlen(id), sizeof(out->id));
	strcpy(out->id, id);

	free(id);
	dnssec_key_free(key);
	dnssec_keystore_close(store);
	dnssec_keystore_deinit(store);
}

/*! Keys with distinct (algorithm, tag): a shared tag would make the lookups ambiguous. */
static bool tag_taken(const test_key_t *key, size_t generated)
{
	const test_key_t *all[] = { &ecdsa, &ecdsa2, &ed25519 };
	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++) {
		if (all[i] != key && all[i]->rdata_len > 0 && all[i]->tag == key->tag) {
			return true;
		}
	}
	for (size_t i = 0; i < generated; i++) {
		if (&many[i] != key && many[i].tag == key->tag) {
			return true;
		}
	}
	return false;
}

static void generate_all(void)
{
	dnssec_crypto_init();
	tmpdir_make(gen_dir, "keygen");
	key_generate(DNSSEC_KEY_ALGORITHM_ECDSA_P256_SHA256, 256, &ecdsa);
	do {
		key_generate(DNSSEC_KEY_ALGORITHM_ECDSA_P256_SHA256, 256, &ecdsa2);
	} while (tag_taken(&ecdsa2, 0));
	do {
		key_generate(DNSSEC_KEY_ALGORITHM_ED25519, 256, &ed25519);
	} while (tag_taken(&ed25519, 0));
	for (size_t i = 0; i < MANY; i++) {
		do {
			key_generate(DNSSEC_KEY_ALGORITHM_ECDSA_P256_SHA256, 256, &many[i]);
		} while (tag_taken(&many[i], i));
	}
}

static void remove_all(void)
{
	tmpdir_remove(gen_dir);
	dnssec_crypto_cleanup();
}

static void setup(void)
{
	test_dir_count = 0;
}

static void teardown(void)
{
	for (size_t i = 0; i < test_dir_count; i++) {
		tmpdir_remove(test_dirs[i]);
	}
	pool_release();
}

static void pem_path(char path[PATH_MAX], const char *dir, const char *id)
{
	int len = snprintf(path, PATH_MAX, "%s/%s.pem", dir, id);
	ck_assert(len > 0 && len < PATH_MAX);
}

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb");
	ck_assert_msg(in != NULL, "%s: %s", from, strerror(errno));
	FILE *out = fopen(to, "wb");
	ck_assert_msg(out != NULL, "%s: %s", to, strerror(errno));
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	}
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

/*! Puts the PEM file of \a key (from the generation directory) into \a dir as \a id's. */
static void put_pem_as(const char *dir, const test_key_t *key, const char *id)
{
	char from[PATH_MAX], to[PATH_MAX];
	pem_path(from, gen_dir, key->id);
	pem_path(to, dir, id);
	copy_file(from, to);
}

static void put_pem(const char *dir, const test_key_t *key)
{
	put_pem_as(dir, key, key->id);
}

/*! A new key store directory of this test (removed in teardown) holding \a keys. */
static const char *store_dir(const test_key_t *const *keys, size_t count)
{
	ck_assert_uint_lt(test_dir_count, sizeof(test_dirs) / sizeof(*test_dirs));
	char *dir = test_dirs[test_dir_count++];
	tmpdir_make(dir, "keys");
	for (size_t i = 0; i < count; i++) {
		put_pem(dir, keys[i]);
	}
	return dir;
}

static mxtrap_keystore_t *keystore_in(const char *dir)
{
	mxtrap_keystore_t *ks = mxtrap_keystore_new(
		(const knot_dname_t *)"\x07""example""\x03""com", &dir, 1, false, LIFETIME);
	ck_assert_ptr_nonnull(ks);
	return ks;
}

/*! The zone's DNSKEY RRset of these keys (from the pool). */
static knot_rrset_t *dnskeys_of(const test_key_t *const *keys, size_t count)
{
	knot_rrset_t *rr = rrset_new(ZONE, KNOT_RRTYPE_DNSKEY, 3600);
	for (size_t i = 0; i < count; i++) {
		ck_assert_int_eq(knot_rrset_add_rdata(rr, keys[i]->rdata, keys[i]->rdata_len, &pool),
		                 KNOT_EOK);
	}
	return rr;
}

static mxtrap_key_tag_t tag_of(const test_key_t *key)
{
	return (mxtrap_key_tag_t){ key->alg, key->tag };
}

/*! An empty RRSIG RRset over \a covered, as the signer hands it over. */
static void rrsigs_for(knot_rrset_t *rrsigs, const knot_rrset_t *covered)
{
	knot_rrset_init(rrsigs, covered->owner, KNOT_RRTYPE_RRSIG, covered->rclass, covered->ttl);
}

/*! Signs \a covered with \a keys; the result; \a rrsigs gets the signatures. */
static mxtrap_result_t sign(mxtrap_keystore_t *ks, const knot_rrset_t *dnskeys,
                            const mxtrap_key_tag_t *keys, size_t count,
                            const knot_rrset_t *covered, uint32_t now, knot_rrset_t *rrsigs)
{
	rrsigs_for(rrsigs, covered);
	return mxtrap_keystore_sign(ks, &dnskeys->rrs, keys, count, covered, now, rrsigs, &pool);
}

/* ------------------------------------------------------------------------ */
/* The oracle: RRSIG verification with libdnssec, from the DNSKEY RDATA only. */

/*!
 * The name an RRSIG with \a labels labels over \a owner was made for
 * (RFC 4035 5.3.2), lower-cased (RFC 4034 6.2).
 */
static void signed_name(const knot_dname_t *owner, uint8_t labels, knot_dname_t *out)
{
	knot_dname_storage_t lower;
	knot_dname_copy_lower(lower, owner);
	size_t owner_labels = knot_dname_labels(lower, NULL);
	if (knot_dname_is_wildcard(lower)) {
		owner_labels--;
	}
	const uint8_t *suffix = lower;
	if (knot_dname_is_wildcard(lower)) {
		suffix += 2;
	}
	if (labels >= owner_labels) {
		memcpy(out, lower, knot_dname_size(lower));
		return;
	}
	for (size_t i = labels; i < owner_labels; i++) {
		suffix += 1 + *suffix;
	}
	out[0] = 1;
	out[1] = '*';
	memcpy(out + 2, suffix, knot_dname_size(suffix));
}

/*!
 * Verifies one RRSIG RDATA over \a covered (as a validator has it: any case)
 * with the public key of \a dnskey: DNSSEC_EOK or libdnssec's error.
 */
static int verify(const knot_rdata_t *rrsig, const knot_rrset_t *covered,
                  const test_key_t *dnskey)
{
	ck_assert_uint_gt(rrsig->len, 18);
	size_t signer_size = knot_dname_size(rrsig->data + 18);
	size_t header_len = 18 + signer_size;
	ck_assert_uint_lt(header_len, rrsig->len);

	/* RRSIG_RDATA (no signature) | canonical RRset with the original TTL. */
	knot_dname_storage_t owner;
	signed_name(covered->owner, knot_rrsig_labels(rrsig), owner);
	knot_rrset_t canonical = *covered;
	canonical.owner = owner;
	canonical.ttl = knot_rrsig_original_ttl(rrsig);
	uint8_t wire[8192];
	int wire_len = knot_rrset_to_wire(&canonical, wire, sizeof(wire), NULL);
	ck_assert_int_gt(wire_len, 0);

	dnssec_key_t *pub = NULL;
	ck_assert_int_eq(dnssec_key_new(&pub), DNSSEC_EOK);
	dnssec_binary_t rdata = { .size = dnskey->rdata_len, .data = (uint8_t *)dnskey->rdata };
	ck_assert_int_eq(dnssec_key_set_rdata(pub, &rdata), DNSSEC_EOK);
	dnssec_sign_ctx_t *ctx = NULL;
	ck_assert_int_eq(dnssec_sign_new(&ctx, pub), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_sign_init(ctx), DNSSEC_EOK);
	dnssec_binary_t header = { .size = header_len, .data = (uint8_t *)rrsig->data };
	dnssec_binary_t data = { .size = wire_len, .data = wire };
	ck_assert_int_eq(dnssec_sign_add(ctx, &header), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_sign_add(ctx, &data), DNSSEC_EOK);
	dnssec_binary_t signature = { .size = rrsig->len - header_len,
	                              .data = (uint8_t *)rrsig->data + header_len };
	int ret = dnssec_sign_verify(ctx, false, &signature);
	dnssec_sign_free(ctx);
	dnssec_key_free(pub);
	return ret;
}

/*!
 * The one RRSIG of \a rrsigs by \a key: every field as Knot writes it, and it
 * verifies over \a covered.
 */
static void assert_signed_by(const knot_rrset_t *rrsigs, const knot_rrset_t *covered,
                             const test_key_t *key, uint32_t now, uint8_t labels)
{
	const knot_rdata_t *found = NULL;
	for (uint16_t i = 0; i < rrsigs->rrs.count; i++) {
		const knot_rdata_t *rd = knot_rdataset_at(&rrsigs->rrs, i);
		ck_assert_uint_ge(rd->len, 18);
		if (knot_rrsig_alg(rd) == key->alg && knot_rrsig_key_tag(rd) == key->tag) {
			ck_assert_msg(found == NULL, "two RRSIGs by key %u", key->tag);
			found = rd;
		}
	}
	if (found == NULL) {
		char made[256] = "";
		for (uint16_t i = 0; i < rrsigs->rrs.count; i++) {
			const knot_rdata_t *rd = knot_rdataset_at(&rrsigs->rrs, i);
			size_t used = strlen(made);
			snprintf(made + used, sizeof(made) - used, " %u/%u", knot_rrsig_alg(rd),
			         knot_rrsig_key_tag(rd));
		}
		ck_abort_msg("no RRSIG by key %u/%u, RRSIGs by:%s", key->alg, key->tag, made);
	}
	ck_assert_uint_eq(knot_rrsig_type_covered(found), covered->type);
	ck_assert_uint_eq(knot_rrsig_labels(found), labels);
	ck_assert_uint_eq(knot_rrsig_original_ttl(found), covered->ttl);
	ck_assert_uint_eq(knot_rrsig_sig_inception(found), now - INCEPTION_AGO);
	ck_assert_uint_eq(knot_rrsig_sig_expiration(found), now + LIFETIME);
	ck_assert(knot_dname_is_equal(knot_rrsig_signer_name(found),
	                              (const knot_dname_t *)"\x07""example""\x03""com"));
	ck_assert_int_eq(verify(found, covered, key), DNSSEC_EOK);
}

/* ------------------------------------------------------------------------ */

/* Two keys, two algorithms: one RRSIG each, every field right, both verify. */
START_TEST(sign_two_algorithms)
{
	const test_key_t *keys[] = { &ecdsa, &ed25519 };
	const char *dir = store_dir(keys, 2);
	struct stat before;
	ck_assert_int_eq(stat(dir, &before), 0);
	/* The zone name in any case: the signer name is lower-case. */
	mxtrap_keystore_t *ks = mxtrap_keystore_new(
		(const knot_dname_t *)"\x07""ExAmple""\x03""COM", &dir, 1, false, LIFETIME);
	ck_assert_ptr_nonnull(ks);
	knot_rrset_t *dnskeys = dnskeys_of(keys, 2);
	knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
	mxtrap_key_tag_t want[] = { tag_of(&ecdsa), tag_of(&ed25519) };
	knot_rrset_t rrsigs;
	ck_assert_int_eq(sign(ks, dnskeys, want, 2, mx, NOW, &rrsigs), MXTRAP_TRAPPED);
	ck_assert_uint_eq(rrsigs.rrs.count, 2);
	ck_assert_uint_eq(rrsigs.type, KNOT_RRTYPE_RRSIG);
	assert_signed_by(&rrsigs, mx, &ecdsa, NOW, 2);
	assert_signed_by(&rrsigs, mx, &ed25519, NOW, 2);

	/* The oracle tells a wrong signature: another TTL, another record, another key. */
	const knot_rdata_t *rd = knot_rdataset_at(&rrsigs.rrs, 0);
	const test_key_t *by = knot_rrsig_key_tag(rd) == ecdsa.tag ? &ecdsa : &ed25519;
	const test_key_t *other = by == &ecdsa ? &ed25519 : &ecdsa;
	ck_assert_int_ne(verify(rd, mx_rrset(ZONE, "10 mail1.example.com. 21 mail2.example.com."),
	                        by), DNSSEC_EOK);
	knot_rrset_t *other_owner = mx_rrset("www." ZONE, MX_RECORDS);
	ck_assert_int_ne(verify(rd, other_owner, by), DNSSEC_EOK);
	ck_assert_int_ne(verify(rd, mx, other), DNSSEC_EOK);

	/* Again, later: signed anew, with the key read before. */
	knot_rrset_t again;
	ck_assert_int_eq(sign(ks, dnskeys, want, 2, mx, NOW + 3600, &again), MXTRAP_TRAPPED);
	assert_signed_by(&again, mx, &ecdsa, NOW + 3600, 2);
	assert_signed_by(&again, mx, &ed25519, NOW + 3600, 2);

	/* One key of the two: one RRSIG. */
	ck_assert_int_eq(sign(ks, dnskeys, &want[1], 1, mx, NOW, &again), MXTRAP_TRAPPED);
	ck_assert_uint_eq(again.rrs.count, 1);
	assert_signed_by(&again, mx, &ed25519, NOW, 2);

	/* Nothing written into the key store. */
	struct stat after;
	ck_assert_int_eq(stat(dir, &after), 0);
	ck_assert_int_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	ck_assert_int_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	ck_assert_uint_eq(after.st_nlink, before.st_nlink);
	mxtrap_keystore_free(ks);
}
END_TEST

/* A wildcard: the RRSIG's labels leave out the "*", the signature verifies. */
START_TEST(sign_wildcard)
{
	const test_key_t *keys[] = { &ecdsa };
	mxtrap_keystore_t *ks = keystore_in(store_dir(keys, 1));
	knot_rrset_t *mx = mx_rrset("*.x." ZONE, MX_RECORDS);
	mxtrap_key_tag_t want = tag_of(&ecdsa);
	knot_rrset_t rrsigs;
	ck_assert_int_eq(sign(ks, dnskeys_of(keys, 1), &want, 1, mx, NOW, &rrsigs), MXTRAP_TRAPPED);
	ck_assert_uint_eq(rrsigs.rrs.count, 1);
	assert_signed_by(&rrsigs, mx, &ecdsa, NOW, 3);
	/* What a validator has: the expanded name; it rebuilds "*.x.example.com." from labels. */
	knot_rrset_t *expanded = mx_rrset("host.x." ZONE, MX_RECORDS);
	ck_assert_int_eq(verify(knot_rdataset_at(&rrsigs.rrs, 0), expanded, &ecdsa), DNSSEC_EOK);
	mxtrap_keystore_free(ks);
}
END_TEST

/* An owner in upper case is signed in canonical form. */
START_TEST(sign_canonical_owner)
{
	const test_key_t *keys[] = { &ed25519 };
	mxtrap_keystore_t *ks = keystore_in(store_dir(keys, 1));
	knot_rrset_t *mx = mx_rrset("MiXeD.ExAmPlE.com.", MX_RECORDS);
	mxtrap_key_tag_t want = tag_of(&ed25519);
	knot_rrset_t rrsigs;
	ck_assert_int_eq(sign(ks, dnskeys_of(keys, 1), &want, 1, mx, NOW, &rrsigs), MXTRAP_TRAPPED);
	assert_signed_by(&rrsigs, mx, &ed25519, NOW, 3);
	knot_rrset_t *lower = mx_rrset("mixed.example.com.", MX_RECORDS);
	ck_assert_int_eq(verify(knot_rdataset_at(&rrsigs.rrs, 0), lower, &ed25519), DNSSEC_EOK);
	mxtrap_keystore_free(ks);
}
END_TEST

/*
 * A key tag the DNSKEY set does not have (or with another algorithm), its
 * file in the key store all the same (an algorithm rollover signs with a key
 * before it is published and after it is withdrawn): never signed with. With
 * a published key: that key's RRSIG only; alone: key-missing.
 */
START_TEST(key_not_in_dnskey_set)
{
	const test_key_t *keys[] = { &ecdsa, &ed25519, &ecdsa2 };
	mxtrap_keystore_t *ks = keystore_in(store_dir(keys, 3));
	knot_rrset_t *dnskeys = dnskeys_of(keys, 1);  /* ECDSA only. */
	knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
	knot_rrset_t rrsigs;
	mxtrap_key_tag_t absent = tag_of(&ed25519);
	ck_assert_int_eq(sign(ks, dnskeys, &absent, 1, mx, NOW, &rrsigs),
	                 MXTRAP_UNCHANGED_KEY_MISSING);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);
	uint16_t tag = 0;
	ck_assert_str_eq(mxtrap_keystore_failed_key(ks, &tag), "");
	ck_assert_uint_eq(tag, ed25519.tag);

	mxtrap_key_tag_t other_alg = { ed25519.alg, ecdsa.tag };
	ck_assert_int_eq(sign(ks, dnskeys, &other_alg, 1, mx, NOW, &rrsigs),
	                 MXTRAP_UNCHANGED_KEY_MISSING);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);

	/* Only unpublished keys (the same algorithm too): key-missing, nothing appended. */
	mxtrap_key_tag_t unpublished[] = { absent, other_alg, tag_of(&ecdsa2) };
	ck_assert_int_eq(sign(ks, dnskeys, unpublished, 3, mx, NOW, &rrsigs),
	                 MXTRAP_UNCHANGED_KEY_MISSING);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);
	tag = 0;
	ck_assert_str_eq(mxtrap_keystore_failed_key(ks, &tag), "");
	ck_assert_uint_eq(tag, ed25519.tag);

	/* A published key and an unpublished one, in either order: one RRSIG, by
	 * the published key, and it verifies. */
	mxtrap_key_tag_t two[] = { tag_of(&ecdsa), absent };
	ck_assert_int_eq(sign(ks, dnskeys, two, 2, mx, NOW, &rrsigs), MXTRAP_TRAPPED);
	ck_assert_uint_eq(rrsigs.rrs.count, 1);
	assert_signed_by(&rrsigs, mx, &ecdsa, NOW, 2);
	mxtrap_key_tag_t swapped[] = { tag_of(&ecdsa2), tag_of(&ecdsa) };
	ck_assert_int_eq(sign(ks, dnskeys, swapped, 2, mx, NOW + 1, &rrsigs), MXTRAP_TRAPPED);
	ck_assert_uint_eq(rrsigs.rrs.count, 1);
	assert_signed_by(&rrsigs, mx, &ecdsa, NOW + 1, 2);
	ck_assert_int_eq(sign(ks, dnskeys, two, 1, mx, NOW, &rrsigs), MXTRAP_TRAPPED);
	ck_assert_uint_eq(rrsigs.rrs.count, 1);
	assert_signed_by(&rrsigs, mx, &ecdsa, NOW, 2);

	/* Published later (the rollover goes on): both sign. */
	const test_key_t *both[] = { &ecdsa, &ed25519 };
	ck_assert_int_eq(sign(ks, dnskeys_of(both, 2), two, 2, mx, NOW + 2, &rrsigs),
	                 MXTRAP_TRAPPED);
	ck_assert_uint_eq(rrsigs.rrs.count, 2);
	assert_signed_by(&rrsigs, mx, &ecdsa, NOW + 2, 2);
	assert_signed_by(&rrsigs, mx, &ed25519, NOW + 2, 2);
	/* Withdrawn again: the other one only. */
	const test_key_t *after[] = { &ed25519 };
	ck_assert_int_eq(sign(ks, dnskeys_of(after, 1), two, 2, mx, NOW + 3, &rrsigs),
	                 MXTRAP_TRAPPED);
	ck_assert_uint_eq(rrsigs.rrs.count, 1);
	assert_signed_by(&rrsigs, mx, &ed25519, NOW + 3, 2);
	mxtrap_keystore_free(ks);
}
END_TEST

/*
 * A published key that cannot be used fails the whole set with its reason,
 * however usable the others are, published or not: nothing appended.
 */
START_TEST(published_key_unusable)
{
	/* ecdsa2's file is missing, ed25519's is garbage. */
	const test_key_t *files[] = { &ecdsa };
	const char *dir = store_dir(files, 1);
	static const char garbage[] = "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n"
	                              "-----END PRIVATE KEY-----\n";
	char pem[PATH_MAX];
	pem_path(pem, dir, ed25519.id);
	FILE *f = fopen(pem, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(garbage, 1, sizeof(garbage) - 1, f), sizeof(garbage) - 1);
	ck_assert_int_eq(fclose(f), 0);
	mxtrap_keystore_t *ks = keystore_in(dir);
	knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
	knot_rrset_t rrsigs;
	uint16_t tag = 0;

	const test_key_t *published[] = { &ecdsa, &ecdsa2 };
	knot_rrset_t *dnskeys = dnskeys_of(published, 2);
	mxtrap_key_tag_t usable_first[] = { tag_of(&ecdsa), tag_of(&ecdsa2) };
	ck_assert_int_eq(sign(ks, dnskeys, usable_first, 2, mx, NOW, &rrsigs),
	                 MXTRAP_UNCHANGED_KEY_MISSING);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);
	ck_assert_str_eq(mxtrap_keystore_failed_key(ks, &tag), ecdsa2.id);
	ck_assert_uint_eq(tag, ecdsa2.tag);
	/* Looked for again after MXTRAP_KEY_RETRY, the missing key first. */
	uint32_t later = NOW + MXTRAP_KEY_RETRY;
	mxtrap_key_tag_t missing_first[] = { tag_of(&ecdsa2), tag_of(&ecdsa) };
	ck_assert_int_eq(sign(ks, dnskeys, missing_first, 2, mx, later, &rrsigs),
	                 MXTRAP_UNCHANGED_KEY_MISSING);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);
	ck_assert_str_eq(mxtrap_keystore_failed_key(ks, &tag), ecdsa2.id);
	ck_assert_uint_eq(tag, ecdsa2.tag);
	/* With an unpublished key as well (ed25519 is not in this DNSKEY set). */
	mxtrap_key_tag_t three[] = { tag_of(&ed25519), tag_of(&ecdsa), tag_of(&ecdsa2) };
	ck_assert_int_eq(sign(ks, dnskeys, three, 3, mx, later, &rrsigs),
	                 MXTRAP_UNCHANGED_KEY_MISSING);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);
	mxtrap_keystore_failed_key(ks, &tag);
	ck_assert_uint_eq(tag, ecdsa2.tag);
	/* The usable key alone still signs. */
	ck_assert_int_eq(sign(ks, dnskeys, usable_first, 1, mx, later, &rrsigs), MXTRAP_TRAPPED);
	ck_assert_uint_eq(rrsigs.rrs.count, 1);
	assert_signed_by(&rrsigs, mx, &ecdsa, later, 2);

	/* Published with an unreadable file: key-unreadable, nothing appended. */
	const test_key_t *with_garbage[] = { &ecdsa, &ed25519 };
	mxtrap_key_tag_t unreadable[] = { tag_of(&ecdsa), tag_of(&ed25519) };
	ck_assert_int_eq(sign(ks, dnskeys_of(with_garbage, 2), unreadable, 2, mx, NOW, &rrsigs),
	                 MXTRAP_UNCHANGED_KEY_UNREADABLE);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);
	ck_assert_str_eq(mxtrap_keystore_failed_key(ks, &tag), ed25519.id);
	ck_assert_uint_eq(tag, ed25519.tag);
	mxtrap_keystore_free(ks);
}
END_TEST

/* A key file gone: key-missing; back: still key-missing until MXTRAP_KEY_RETRY has passed. */
START_TEST(key_file_removed_retry)
{
	const test_key_t *keys[] = { &ecdsa };
	const char *dir = store_dir(keys, 1);
	char pem[PATH_MAX], aside[PATH_MAX];
	pem_path(pem, dir, ecdsa.id);
	int len = snprintf(aside, sizeof(aside), "%s.aside", pem);
	ck_assert(len > 0 && (size_t)len < sizeof(aside));
	ck_assert_int_eq(rename(pem, aside), 0);

	mxtrap_keystore_t *ks = keystore_in(dir);
	knot_rrset_t *dnskeys = dnskeys_of(keys, 1);
	knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
	mxtrap_key_tag_t want = tag_of(&ecdsa);
	knot_rrset_t rrsigs;
	ck_assert_int_eq(sign(ks, dnskeys, &want, 1, mx, NOW, &rrsigs),
	                 MXTRAP_UNCHANGED_KEY_MISSING);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);
	uint16_t tag = 0;
	ck_assert_str_eq(mxtrap_keystore_failed_key(ks, &tag), ecdsa.id);
	ck_assert_uint_eq(tag, ecdsa.tag);

	ck_assert_int_eq(rename(aside, pem), 0);
	for (uint32_t t = NOW; t < NOW + MXTRAP_KEY_RETRY; t++) {
		ck_assert_int_eq(sign(ks, dnskeys, &want, 1, mx, t, &rrsigs),
		                 MXTRAP_UNCHANGED_KEY_MISSING);
		ck_assert_uint_eq(rrsigs.rrs.count, 0);
	}
	ck_assert_int_eq(sign(ks, dnskeys, &want, 1, mx, NOW + MXTRAP_KEY_RETRY, &rrsigs),
	                 MXTRAP_TRAPPED);
	assert_signed_by(&rrsigs, mx, &ecdsa, NOW + MXTRAP_KEY_RETRY, 2);

	/* Read once: the file may go now. */
	ck_assert_int_eq(unlink(pem), 0);
	ck_assert_int_eq(sign(ks, dnskeys, &want, 1, mx, NOW + 100, &rrsigs), MXTRAP_TRAPPED);
	assert_signed_by(&rrsigs, mx, &ecdsa, NOW + 100, 2);
	mxtrap_keystore_free(ks);
}
END_TEST

/*!
 * Signs with \a key, its file in a new store holding \a content, or the
 * file of \a file_of when not NULL: \a expected and nothing appended.
 */
static void assert_file_refused(const test_key_t *key, const void *content, size_t len,
                                const test_key_t *file_of, mxtrap_result_t expected)
{
	const char *dir = store_dir(NULL, 0);
	if (file_of != NULL) {
		put_pem_as(dir, file_of, key->id);
	} else {
		char pem[PATH_MAX];
		pem_path(pem, dir, key->id);
		FILE *f = fopen(pem, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(content, 1, len, f), len);
		ck_assert_int_eq(fclose(f), 0);
	}
	const test_key_t *keys[] = { key };
	mxtrap_keystore_t *ks = keystore_in(dir);
	knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
	mxtrap_key_tag_t want = tag_of(key);
	knot_rrset_t rrsigs;
	mxtrap_result_t result = sign(ks, dnskeys_of(keys, 1), &want, 1, mx, NOW, &rrsigs);
	ck_assert_msg(result == expected && rrsigs.rrs.count == 0,
	              "key %u: result %s (%d), %u RRSIG(s) appended, verifying with its DNSKEY: %s",
	              key->tag, mxtrap_reason_name(result), result, rrsigs.rrs.count,
	              rrsigs.rrs.count == 0 ? "-" :
	              verify(rrsigs.rrs.rdata, mx, key) == DNSSEC_EOK ? "yes" : "no");
	mxtrap_keystore_free(ks);
}

START_TEST(key_file_garbage)
{
	static const char garbage[] = "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n"
	                              "-----END PRIVATE KEY-----\n";
	assert_file_refused(&ecdsa, garbage, sizeof(garbage) - 1, NULL,
	                    MXTRAP_UNCHANGED_KEY_UNREADABLE);
	assert_file_refused(&ed25519, "\x00\x01\x02 random bytes", 16, NULL,
	                    MXTRAP_UNCHANGED_KEY_UNREADABLE);
	assert_file_refused(&ecdsa, "", 0, NULL, MXTRAP_UNCHANGED_KEY_UNREADABLE);
}
END_TEST

/* The file of another key under this key's ID: never signed with. */
START_TEST(key_file_of_another_key)
{
	assert_file_refused(&ecdsa, NULL, 0, &ed25519, MXTRAP_UNCHANGED_KEY_UNREADABLE);
	assert_file_refused(&ed25519, NULL, 0, &ecdsa, MXTRAP_UNCHANGED_KEY_UNREADABLE);
	/* The same algorithm: only the public key tells. */
	assert_file_refused(&ecdsa, NULL, 0, &ecdsa2, MXTRAP_UNCHANGED_KEY_UNREADABLE);
}
END_TEST

/* No PEM directory, a PKCS#11 store: keystore-unsupported. */
START_TEST(pkcs11_only)
{
	mxtrap_keystore_t *ks = mxtrap_keystore_new(
		(const knot_dname_t *)"\x07""example""\x03""com", NULL, 0, true, LIFETIME);
	ck_assert_ptr_nonnull(ks);
	const test_key_t *keys[] = { &ecdsa };
	knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
	mxtrap_key_tag_t want = tag_of(&ecdsa);
	knot_rrset_t rrsigs;
	ck_assert_int_eq(sign(ks, dnskeys_of(keys, 1), &want, 1, mx, NOW, &rrsigs),
	                 MXTRAP_UNCHANGED_KEYSTORE_UNSUPPORTED);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);
	mxtrap_keystore_free(ks);

	/* A PEM directory without the key, and PKCS#11: the key may be there. */
	const char *dir = store_dir(NULL, 0);
	ks = mxtrap_keystore_new((const knot_dname_t *)"\x07""example""\x03""com", &dir, 1, true,
	                         LIFETIME);
	ck_assert_int_eq(sign(ks, dnskeys_of(keys, 1), &want, 1, mx, NOW, &rrsigs),
	                 MXTRAP_UNCHANGED_KEYSTORE_UNSUPPORTED);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);
	mxtrap_keystore_free(ks);
}
END_TEST

/*! DNSKEY RDATA of algorithm \a alg with some public key octets. */
static test_key_t other_alg_key(uint8_t alg)
{
	test_key_t key = { .alg = alg };
	static const uint8_t rdata[] = { 0x01, 0x00, 3, 0,
	                                 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x00,
	                                 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	memcpy(key.rdata, rdata, sizeof(rdata));
	key.rdata[3] = alg;
	key.rdata_len = sizeof(rdata);
	dnssec_binary_t bin = { .size = key.rdata_len, .data = key.rdata };
	ck_assert_int_eq(dnssec_keytag(&bin, &key.tag), DNSSEC_EOK);
	snprintf(key.id, sizeof(key.id), "alg-%u", alg);
	return key;
}

/* A DNSKEY of an algorithm libdnssec does not sign with: algorithm-unsupported. */
START_TEST(algorithm_unsupported)
{
	static const uint8_t algs[] = { 253 /* PRIVATEDNS */, 3 /* DSA */ };
	const char *dir = store_dir(NULL, 0);
	for (size_t i = 0; i < sizeof(algs); i++) {
		test_key_t key = other_alg_key(algs[i]);
		put_pem_as(dir, &ecdsa, key.id);  /* Whatever the file: never reached. */
		const test_key_t *keys[] = { &ecdsa, &key };
		mxtrap_keystore_t *ks = keystore_in(dir);
		knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
		mxtrap_key_tag_t want = tag_of(&key);
		knot_rrset_t rrsigs;
		ck_assert_int_eq(sign(ks, dnskeys_of(keys, 2), &want, 1, mx, NOW, &rrsigs),
		                 MXTRAP_UNCHANGED_ALG_UNSUPPORTED);
		ck_assert_uint_eq(rrsigs.rrs.count, 0);
		mxtrap_keystore_free(ks);
	}
}
END_TEST

/* A key store directory that does not exist: key-missing, and it is not made. */
START_TEST(directory_missing)
{
	const char *parent = store_dir(NULL, 0);
	char missing[PATH_MAX];
	int len = snprintf(missing, sizeof(missing), "%s/keys", parent);
	ck_assert(len > 0 && (size_t)len < sizeof(missing));
	const test_key_t *keys[] = { &ecdsa };
	mxtrap_keystore_t *ks = keystore_in(missing);
	knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
	mxtrap_key_tag_t want = tag_of(&ecdsa);
	knot_rrset_t rrsigs;
	ck_assert_int_eq(sign(ks, dnskeys_of(keys, 1), &want, 1, mx, NOW, &rrsigs),
	                 MXTRAP_UNCHANGED_KEY_MISSING);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);
	struct stat st;
	ck_assert_int_ne(stat(missing, &st), 0);
	ck_assert_int_eq(errno, ENOENT);
	/* Nothing else written either. */
	DIR *d = opendir(parent);
	ck_assert_ptr_nonnull(d);
	struct dirent *entry;
	while ((entry = readdir(d)) != NULL) {
		ck_assert_msg(entry->d_name[0] == '.', "%s written into %s", entry->d_name, parent);
	}
	closedir(d);
	mxtrap_keystore_free(ks);
}
END_TEST

/* Two key store directories, the key in the second one. */
START_TEST(second_directory)
{
	const test_key_t *keys[] = { &ed25519 };
	const char *dirs[] = { store_dir(NULL, 0), store_dir(keys, 1) };
	mxtrap_keystore_t *ks = mxtrap_keystore_new(
		(const knot_dname_t *)"\x07""example""\x03""com", dirs, 2, false, LIFETIME);
	ck_assert_ptr_nonnull(ks);
	knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
	mxtrap_key_tag_t want = tag_of(&ed25519);
	knot_rrset_t rrsigs;
	ck_assert_int_eq(sign(ks, dnskeys_of(keys, 1), &want, 1, mx, NOW, &rrsigs), MXTRAP_TRAPPED);
	assert_signed_by(&rrsigs, mx, &ed25519, NOW, 2);
	mxtrap_keystore_free(ks);
}
END_TEST

/*! All MANY keys in one store, their DNSKEY set. */
static mxtrap_keystore_t *many_keys(knot_rrset_t **dnskeys)
{
	const test_key_t *keys[MANY];
	for (size_t i = 0; i < MANY; i++) {
		keys[i] = &many[i];
	}
	*dnskeys = dnskeys_of(keys, MANY);
	return keystore_in(store_dir(keys, MANY));
}

/* More keys than the key store keeps: each one in turn, then the first again. */
START_TEST(more_keys_than_kept)
{
	knot_rrset_t *dnskeys;
	mxtrap_keystore_t *ks = many_keys(&dnskeys);
	knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
	knot_rrset_t rrsigs;
	for (size_t i = 0; i <= MANY; i++) {
		const test_key_t *key = &many[i % MANY];
		mxtrap_key_tag_t want = tag_of(key);
		ck_assert_int_eq(sign(ks, dnskeys, &want, 1, mx, NOW + i, &rrsigs), MXTRAP_TRAPPED);
		ck_assert_uint_eq(rrsigs.rrs.count, 1);
		assert_signed_by(&rrsigs, mx, key, NOW + i, 2);
	}
	mxtrap_keystore_free(ks);
}
END_TEST

/*
 * The same, all within one second, then two keys at once when the store is
 * full: each RRSIG by the key asked for.
 */
START_TEST(more_keys_than_kept_same_second)
{
	knot_rrset_t *dnskeys;
	mxtrap_keystore_t *ks = many_keys(&dnskeys);
	knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
	knot_rrset_t rrsigs;
	for (size_t i = 0; i < 16; i++) {
		mxtrap_key_tag_t want = tag_of(&many[i]);
		ck_assert_int_eq(sign(ks, dnskeys, &want, 1, mx, NOW, &rrsigs), MXTRAP_TRAPPED);
		assert_signed_by(&rrsigs, mx, &many[i], NOW, 2);
	}
	for (size_t i = 0; i < 4; i++) {
		mxtrap_key_tag_t want[] = { tag_of(&many[i]), tag_of(&many[16 + i]) };
		ck_assert_int_eq(sign(ks, dnskeys, want, 2, mx, NOW, &rrsigs), MXTRAP_TRAPPED);
		ck_assert_uint_eq(rrsigs.rrs.count, 2);
		assert_signed_by(&rrsigs, mx, &many[i], NOW, 2);
		assert_signed_by(&rrsigs, mx, &many[16 + i], NOW, 2);
	}
	mxtrap_keystore_free(ks);
}
END_TEST

START_TEST(bad_arguments)
{
	const char *dir = "/nonexistent";
	const knot_dname_t *zone = (const knot_dname_t *)"\x07""example""\x03""com";
	ck_assert_ptr_null(mxtrap_keystore_new(NULL, &dir, 1, false, LIFETIME));
	ck_assert_ptr_null(mxtrap_keystore_new(zone, NULL, 1, false, LIFETIME));
	ck_assert_ptr_null(mxtrap_keystore_new(zone, &dir, 1, false, 0));
	mxtrap_keystore_free(NULL);

	const test_key_t *keys[] = { &ecdsa };
	mxtrap_keystore_t *ks = keystore_in(store_dir(keys, 1));
	knot_rrset_t *dnskeys = dnskeys_of(keys, 1);
	knot_rrset_t *mx = mx_rrset(ZONE, MX_RECORDS);
	mxtrap_key_tag_t want[MXTRAP_MAX_SIGS + 1];
	for (size_t i = 0; i <= MXTRAP_MAX_SIGS; i++) {
		want[i] = tag_of(&ecdsa);
	}
	knot_rrset_t rrsigs;
	ck_assert_int_eq(sign(ks, dnskeys, want, 0, mx, NOW, &rrsigs),
	                 MXTRAP_UNCHANGED_SIGN_FAILED);
	ck_assert_int_eq(sign(ks, dnskeys, want, MXTRAP_MAX_SIGS + 1, mx, NOW, &rrsigs),
	                 MXTRAP_UNCHANGED_SIGN_FAILED);
	ck_assert_uint_eq(rrsigs.rrs.count, 0);
	mxtrap_keystore_free(ks);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mxtrap key store");
	TCase *tc = tcase_create("keystore");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, generate_all, remove_all);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sign_two_algorithms);
	tcase_add_test(tc, sign_wildcard);
	tcase_add_test(tc, sign_canonical_owner);
	tcase_add_test(tc, key_not_in_dnskey_set);
	tcase_add_test(tc, published_key_unusable);
	tcase_add_test(tc, key_file_removed_retry);
	tcase_add_test(tc, key_file_garbage);
	tcase_add_test(tc, key_file_of_another_key);
	tcase_add_test(tc, pkcs11_only);
	tcase_add_test(tc, algorithm_unsupported);
	tcase_add_test(tc, directory_missing);
	tcase_add_test(tc, second_directory);
	tcase_add_test(tc, more_keys_than_kept);
	tcase_add_test(tc, more_keys_than_kept_same_second);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
