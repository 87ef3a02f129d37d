/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Unit tests of module/keystore.c with real keys: libdnssec generates them
 * into PEM key stores as knotd does, the key store signs with them, and every
 * signature is verified with libdnssec from the DNSKEY RDATA alone over the
 * RRset as a validator rebuilds it (th_signed_data()): the oracle knows
 * nothing of the module's code.
 */

#include "../test_helpers.h"

#include <dirent.h>

#include <libdnssec/binary.h>
#include <libdnssec/crypto.h>
#include <libdnssec/error.h>
#include <libdnssec/key.h>
#include <libdnssec/keystore.h>
#include <libdnssec/keytag.h>
#include <libdnssec/sign.h>

#include "mxtrap/keystore.h"

#define NOW		1800000000u
#define LIFETIME	(7 * 86400u + 17)
#define ZONE		"example.com."
#define MX_RECORDS	"10 mail1.example.com. 20 mail2.example.com."
#define MANY		20       /* More keys than the key store keeps (16). */

/*! A key libdnssec generated, its PEM file in the generation directory. */
typedef struct {
	char id[128];
	uint8_t alg;
	uint16_t tag;
	uint8_t rdata[1024];      /*!< DNSKEY RDATA. */
	size_t rdata_len;
} test_key_t;

/* Generated once, before the tests fork. */
static char gen_dir[PATH_MAX];
static test_key_t ecdsa, ecdsa2, ed25519, many[MANY];

/* Per test: key store directories, removed in teardown. */
static char test_dirs[4][PATH_MAX];
static size_t test_dir_count;

/*! Generates a key with a tag no other key has (lookups by tag stay unambiguous). */
static void key_generate(dnssec_key_algorithm_t alg, test_key_t *out)
{
	dnssec_keystore_t *store = NULL;
	ck_assert_int_eq(dnssec_keystore_init_pkcs8(&store), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_keystore_init(store, gen_dir), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_keystore_open(store, gen_dir), DNSSEC_EOK);
	const test_key_t *all[MANY + 3] = { &ecdsa, &ecdsa2, &ed25519 };
	for (size_t i = 0; i < MANY; i++) {
		all[3 + i] = &many[i];
	}
	bool taken;
	do {
		char *id = NULL;
		dnssec_key_t *key = NULL;
		dnssec_binary_t rdata = { 0 };
		ck_assert_int_eq(dnssec_keystore_generate(store, alg, 256, NULL, &id), DNSSEC_EOK);
		ck_assert_int_eq(dnssec_key_new(&key), DNSSEC_EOK);
		ck_assert_int_eq(dnssec_key_set_algorithm(key, alg), DNSSEC_EOK);
		ck_assert_int_eq(dnssec_keystore_get_private(store, id, key), DNSSEC_EOK);
		ck_assert_int_eq(dnssec_key_set_flags(key, 256), DNSSEC_EOK);
		ck_assert_int_eq(dnssec_key_get_rdata(key, &rdata), DNSSEC_EOK);
		ck_assert_uint_le(rdata.size, sizeof(out->rdata));
		memcpy(out->rdata, rdata.data, rdata.size);
		out->rdata_len = rdata.size;
		out->alg = alg;
		out->tag = dnssec_key_get_keytag(key);
		snprintf(out->id, sizeof(out->id), "%s", id);
		free(id);
		dnssec_key_free(key);
		taken = false;
		for (size_t i = 0; i < TH_LEN(all); i++) {
			taken |= all[i] != out && all[i]->rdata_len > 0 && all[i]->tag == out->tag;
		}
	} while (taken);
	dnssec_keystore_close(store);
	dnssec_keystore_deinit(store);
}

static void generate_all(void)
{
	dnssec_crypto_init();
	ck_assert(th_tmpdir(gen_dir, "keygen"));
	key_generate(DNSSEC_KEY_ALGORITHM_ECDSA_P256_SHA256, &ecdsa);
	key_generate(DNSSEC_KEY_ALGORITHM_ECDSA_P256_SHA256, &ecdsa2);
	key_generate(DNSSEC_KEY_ALGORITHM_ED25519, &ed25519);
	for (size_t i = 0; i < MANY; i++) {
		key_generate(DNSSEC_KEY_ALGORITHM_ECDSA_P256_SHA256, &many[i]);
	}
}

static void remove_all(void)
{
	th_rm_rf(gen_dir);
	dnssec_crypto_cleanup();
}

static void setup(void)
{
	test_dir_count = 0;
}

static void teardown(void)
{
	for (size_t i = 0; i < test_dir_count; i++) {
		th_rm_rf(test_dirs[i]);
	}
	th_pool_release();
}

static const char *pem_path(const char *dir, const char *id)
{
	char *path = th_pool_get(PATH_MAX);
	ck_assert_int_lt(snprintf(path, PATH_MAX, "%s/%s.pem", dir, id), PATH_MAX);
	return path;
}

/*! Puts the PEM file of \a key into \a dir under the ID \a id. */
static void put_pem_as(const char *dir, const test_key_t *key, const char *id)
{
	ck_assert(th_copy_file(pem_path(gen_dir, key->id), pem_path(dir, id)));
}

/*! A new key store directory of this test holding the files of \a keys. */
static const char *store_dir(const test_key_t *const *keys, size_t count)
{
	ck_assert_uint_lt(test_dir_count, TH_LEN(test_dirs));
	char *dir = test_dirs[test_dir_count++];
	ck_assert(th_tmpdir(dir, "keys"));
	for (size_t i = 0; i < count; i++) {
		put_pem_as(dir, keys[i], keys[i]->id);
	}
	return dir;
}

static mxtrap_keystore_t *keystore_in(const char *const *dirs, size_t count, bool pkcs11)
{
	mxtrap_keystore_t *ks = mxtrap_keystore_new(
		(const knot_dname_t *)"\x07""ExAmple""\x03""COM", dirs, count, pkcs11, LIFETIME);
	ck_assert_ptr_nonnull(ks);
	return ks;
}

/*! The zone's DNSKEY RRset of \a keys. */
static knot_rrset_t *dnskeys_of(const test_key_t *const *keys, size_t count)
{
	knot_rrset_t *rr = th_rrset(ZONE, KNOT_RRTYPE_DNSKEY, 3600);
	for (size_t i = 0; i < count; i++) {
		th_add(rr, keys[i]->rdata, keys[i]->rdata_len);
	}
	return rr;
}

static mxtrap_key_tag_t tag_of(const test_key_t *key)
{
	return (mxtrap_key_tag_t){ key->alg, key->tag };
}

/*! Signs \a covered with \a keys into \a rrsigs; the reason in \a why. */
static bool sign(mxtrap_keystore_t *ks, const knot_rrset_t *dnskeys, const mxtrap_key_tag_t *keys,
                 size_t count, const knot_rrset_t *covered, uint32_t now, knot_rrset_t *rrsigs,
                 mxtrap_reason_t *why)
{
	knot_rrset_init(rrsigs, covered->owner, KNOT_RRTYPE_RRSIG, covered->rclass, covered->ttl);
	return mxtrap_keystore_sign(ks, &dnskeys->rrs, keys, count, covered, now, rrsigs,
	                            &th_scratch, why);
}

/*! Signs and fails with \a want, appending nothing. */
static void assert_refused(mxtrap_keystore_t *ks, const knot_rrset_t *dnskeys,
                           const mxtrap_key_tag_t *keys, size_t count, uint32_t now,
                           mxtrap_reason_t want)
{
	knot_rrset_t rrsigs;
	mxtrap_reason_t why = MXTRAP_NULL_MX;
	bool ok = sign(ks, dnskeys, keys, count, th_mx(ZONE, MX_RECORDS), now, &rrsigs, &why);
	ck_assert_msg(!ok && why == want && rrsigs.rrs.count == 0,
	              "signed %d (%u RRSIGs), reason %s, expected %s", ok, rrsigs.rrs.count,
	              mxtrap_reason_name(why), mxtrap_reason_name(want));
}

/*! Verifies an RRSIG over \a covered (as a validator has it) with the DNSKEY of \a key. */
static int verify(const knot_rdata_t *rrsig, const knot_rrset_t *covered, const test_key_t *key)
{
	static uint8_t data[KNOT_WIRE_MAX_PKTSIZE];
	size_t sig_at = 0;
	size_t len = th_signed_data(rrsig, covered, true, data, sizeof(data), &sig_at);
	ck_assert_uint_gt(len, 0);
	dnssec_key_t *pub = NULL;
	dnssec_sign_ctx_t *ctx = NULL;
	dnssec_binary_t rdata = { .size = key->rdata_len, .data = (uint8_t *)key->rdata };
	dnssec_binary_t signed_data = { .size = len, .data = data };
	dnssec_binary_t signature = { .size = rrsig->len - sig_at, .data = (uint8_t *)rrsig->data + sig_at };
	ck_assert_int_eq(dnssec_key_new(&pub), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_key_set_rdata(pub, &rdata), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_sign_new(&ctx, pub), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_sign_init(ctx), DNSSEC_EOK);
	ck_assert_int_eq(dnssec_sign_add(ctx, &signed_data), DNSSEC_EOK);
	int ret = dnssec_sign_verify(ctx, false, &signature);
	dnssec_sign_free(ctx);
	dnssec_key_free(pub);
	return ret;
}

/*!
 * \a rrsigs holds exactly one RRSIG by \a key, every field as Knot writes it
 * (labels: the validator's, lower-case signer), and it verifies over \a covered.
 */
static void assert_signed_by(const knot_rrset_t *rrsigs, const knot_rrset_t *covered,
                             const test_key_t *key, uint32_t now, uint8_t labels)
{
	const knot_rdata_t *found = NULL;
	for (uint16_t i = 0; i < rrsigs->rrs.count; i++) {
		const knot_rdata_t *rd = knot_rdataset_at(&rrsigs->rrs, i);
		if (knot_rrsig_alg(rd) == key->alg && knot_rrsig_key_tag(rd) == key->tag) {
			ck_assert_msg(found == NULL, "two RRSIGs by key %u", key->tag);
			found = rd;
		}
	}
	ck_assert_msg(found != NULL, "no RRSIG by key %u/%u", key->alg, key->tag);
	ck_assert_uint_eq(knot_rrsig_type_covered(found), covered->type);
	ck_assert_uint_eq(knot_rrsig_labels(found), labels);
	ck_assert_uint_eq(knot_rrsig_original_ttl(found), covered->ttl);
	ck_assert_uint_eq(knot_rrsig_sig_inception(found), now - TH_INCEPTION_AGO);
	ck_assert_uint_eq(knot_rrsig_sig_expiration(found), now + LIFETIME);
	ck_assert(knot_dname_is_equal(knot_rrsig_signer_name(found), TH_SIGNER));
	ck_assert_int_eq(verify(found, covered, key), DNSSEC_EOK);
}

/* Two keys, two algorithms: one RRSIG each, as Knot writes it; the key store is only read. */
START_TEST(sign_two_algorithms)
{
	const test_key_t *keys[] = { &ecdsa, &ed25519 };
	const char *dir = store_dir(keys, 2);
	struct stat before, after;
	ck_assert_int_eq(stat(dir, &before), 0);
	mxtrap_keystore_t *ks = keystore_in(&dir, 1, false);
	knot_rrset_t *dnskeys = dnskeys_of(keys, 2);
	knot_rrset_t *mx = th_mx(ZONE, MX_RECORDS);
	mxtrap_key_tag_t want[] = { tag_of(&ecdsa), tag_of(&ed25519) };
	knot_rrset_t rrsigs;
	mxtrap_reason_t why;
	for (uint32_t now = NOW; now <= NOW + 3600; now += 3600) {  /* Again with the keys read. */
		ck_assert(sign(ks, dnskeys, want, 2, mx, now, &rrsigs, &why));
		ck_assert_uint_eq(rrsigs.rrs.count, 2);
		assert_signed_by(&rrsigs, mx, &ecdsa, now, 2);
		assert_signed_by(&rrsigs, mx, &ed25519, now, 2);
	}
	/* The oracle tells a wrong signature: another record, owner or key. */
	const knot_rdata_t *rd = knot_rdataset_at(&rrsigs.rrs, 0);
	const test_key_t *by = knot_rrsig_key_tag(rd) == ecdsa.tag ? &ecdsa : &ed25519;
	ck_assert_int_ne(verify(rd, th_mx(ZONE, "10 mail1.example.com. 21 mail2.example.com."), by),
	                 DNSSEC_EOK);
	ck_assert_int_ne(verify(rd, th_mx("www." ZONE, MX_RECORDS), by), DNSSEC_EOK);
	ck_assert_int_ne(verify(rd, mx, by == &ecdsa ? &ed25519 : &ecdsa), DNSSEC_EOK);
	/* One key of the two: one RRSIG. */
	ck_assert(sign(ks, dnskeys, &want[1], 1, mx, NOW, &rrsigs, &why));
	ck_assert_uint_eq(rrsigs.rrs.count, 1);
	assert_signed_by(&rrsigs, mx, &ed25519, NOW, 2);
	ck_assert_int_eq(stat(dir, &after), 0);
	ck_assert(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
	          after.st_mtim.tv_nsec == before.st_mtim.tv_nsec && after.st_nlink == before.st_nlink);
	mxtrap_keystore_free(ks);
}
END_TEST

/* Owners a validator rebuilds: a wildcard from the labels, any case lowered. */
START_TEST(sign_owner)
{
	static const struct { const char *owner, *validator; uint8_t labels; } OWNERS[] = {
		{ "*.x." ZONE, "host.x." ZONE, 3 },
		{ "MiXeD.ExAmPlE.com.", "mixed." ZONE, 3 },
	};
	const test_key_t *keys[] = { &ed25519 };
	const char *dir = store_dir(keys, 1);
	mxtrap_keystore_t *ks = keystore_in(&dir, 1, false);
	for (size_t i = 0; i < TH_LEN(OWNERS); i++) {
		knot_rrset_t *mx = th_mx(OWNERS[i].owner, MX_RECORDS);
		mxtrap_key_tag_t want = tag_of(&ed25519);
		knot_rrset_t rrsigs;
		mxtrap_reason_t why;
		ck_assert(sign(ks, dnskeys_of(keys, 1), &want, 1, mx, NOW, &rrsigs, &why));
		assert_signed_by(&rrsigs, mx, &ed25519, NOW, OWNERS[i].labels);
		ck_assert_int_eq(verify(rrsigs.rrs.rdata, th_mx(OWNERS[i].validator, MX_RECORDS),
		                        &ed25519), DNSSEC_EOK);
	}
	mxtrap_keystore_free(ks);
}
END_TEST

/*
 * A key the DNSKEY set does not have (an algorithm rollover signs before it
 * publishes and after it withdraws), its file there all the same: never
 * signed with; with a published key that one's RRSIG only; alone key-missing.
 */
START_TEST(key_not_in_dnskey_set)
{
	const test_key_t *keys[] = { &ecdsa, &ed25519, &ecdsa2 };
	const char *dir = store_dir(keys, 3);
	mxtrap_keystore_t *ks = keystore_in(&dir, 1, false);
	knot_rrset_t *dnskeys = dnskeys_of(keys, 1);  /* ECDSA only. */
	knot_rrset_t *mx = th_mx(ZONE, MX_RECORDS);
	mxtrap_key_tag_t absent = tag_of(&ed25519), other_alg = { ed25519.alg, ecdsa.tag };
	mxtrap_key_tag_t unpublished[] = { absent, other_alg, tag_of(&ecdsa2) };
	uint16_t tag = 0;
	for (size_t n = 1; n <= 3; n += 2) {
		assert_refused(ks, dnskeys, unpublished, n, NOW, MXTRAP_KEY_MISSING);
		ck_assert_str_eq(mxtrap_keystore_failed_key(ks, &tag), "");
		ck_assert_uint_eq(tag, ed25519.tag);
	}
	assert_refused(ks, dnskeys, &other_alg, 1, NOW, MXTRAP_KEY_MISSING);

	mxtrap_key_tag_t two[] = { tag_of(&ecdsa), absent }, swapped[] = { tag_of(&ecdsa2), tag_of(&ecdsa) };
	const test_key_t *both[] = { &ecdsa, &ed25519 }, *after[] = { &ed25519 };
	const struct {
		const knot_rrset_t *dnskeys;
		const mxtrap_key_tag_t *keys;
		const test_key_t *by[2];
	} STEPS[] = {
		{ dnskeys, two, { &ecdsa } },
		{ dnskeys, swapped, { &ecdsa } },
		{ dnskeys_of(both, 2), two, { &ecdsa, &ed25519 } },  /* published: both */
		{ dnskeys_of(after, 1), two, { &ed25519 } },         /* withdrawn: the other */
	};
	for (size_t i = 0; i < TH_LEN(STEPS); i++) {
		knot_rrset_t rrsigs;
		mxtrap_reason_t why;
		ck_assert(sign(ks, STEPS[i].dnskeys, STEPS[i].keys, 2, mx, NOW + i, &rrsigs, &why));
		ck_assert_uint_eq(rrsigs.rrs.count, STEPS[i].by[1] != NULL ? 2 : 1);
		for (size_t k = 0; k < 2 && STEPS[i].by[k] != NULL; k++) {
			assert_signed_by(&rrsigs, mx, STEPS[i].by[k], NOW + i, 2);
		}
	}
	mxtrap_keystore_free(ks);
}
END_TEST

/*
 * A published key that cannot be used fails the whole set with its reason
 * and names itself, however usable the others are; it is looked for again
 * after MXTRAP_KEY_RETRY, and a key read once needs its file no more.
 */
START_TEST(published_key_unusable)
{
	static const char garbage[] = "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n";
	const test_key_t *files[] = { &ecdsa };
	const char *dir = store_dir(files, 1);   /* ecdsa2's file missing, ed25519's garbage. */
	ck_assert(th_write_file(pem_path(dir, ed25519.id), garbage, sizeof(garbage) - 1));
	mxtrap_keystore_t *ks = keystore_in(&dir, 1, false);
	const test_key_t *published[] = { &ecdsa, &ecdsa2 }, *with_garbage[] = { &ecdsa, &ed25519 };
	knot_rrset_t *dnskeys = dnskeys_of(published, 2);
	mxtrap_key_tag_t usable_first[] = { tag_of(&ecdsa), tag_of(&ecdsa2) };
	mxtrap_key_tag_t missing_first[] = { tag_of(&ecdsa2), tag_of(&ecdsa) };
	mxtrap_key_tag_t three[] = { tag_of(&ed25519), tag_of(&ecdsa), tag_of(&ecdsa2) };
	mxtrap_key_tag_t unreadable[] = { tag_of(&ecdsa), tag_of(&ed25519) };
	const struct {
		const knot_rrset_t *dnskeys;
		const mxtrap_key_tag_t *keys;
		size_t count;
		uint32_t now;
		mxtrap_reason_t why;
		const test_key_t *failed;
	} STEPS[] = {
		{ dnskeys, usable_first, 2, NOW, MXTRAP_KEY_MISSING, &ecdsa2 },
		{ dnskeys, missing_first, 2, NOW + MXTRAP_KEY_RETRY, MXTRAP_KEY_MISSING, &ecdsa2 },
		{ dnskeys, three, 3, NOW + MXTRAP_KEY_RETRY, MXTRAP_KEY_MISSING, &ecdsa2 },
		{ dnskeys_of(with_garbage, 2), unreadable, 2, NOW, MXTRAP_KEY_UNREADABLE, &ed25519 },
	};
	for (size_t i = 0; i < TH_LEN(STEPS); i++) {
		uint16_t tag = 0;
		assert_refused(ks, STEPS[i].dnskeys, STEPS[i].keys, STEPS[i].count, STEPS[i].now,
		               STEPS[i].why);
		ck_assert_str_eq(mxtrap_keystore_failed_key(ks, &tag), STEPS[i].failed->id);
		ck_assert_uint_eq(tag, STEPS[i].failed->tag);
	}
	/* The usable key alone still signs. */
	knot_rrset_t *mx = th_mx(ZONE, MX_RECORDS), rrsigs;
	mxtrap_reason_t why;
	ck_assert(sign(ks, dnskeys, usable_first, 1, mx, NOW, &rrsigs, &why));
	assert_signed_by(&rrsigs, mx, &ecdsa, NOW, 2);
	mxtrap_keystore_free(ks);
}
END_TEST

/* A key file gone: key-missing; back: still key-missing until MXTRAP_KEY_RETRY has passed. */
START_TEST(key_file_retry)
{
	const test_key_t *keys[] = { &ecdsa };
	const char *dir = store_dir(keys, 1);
	const char *pem = pem_path(dir, ecdsa.id), *aside = pem_path(dir, "aside");
	ck_assert_int_eq(rename(pem, aside), 0);
	mxtrap_keystore_t *ks = keystore_in(&dir, 1, false);
	knot_rrset_t *dnskeys = dnskeys_of(keys, 1), *mx = th_mx(ZONE, MX_RECORDS), rrsigs;
	mxtrap_key_tag_t want = tag_of(&ecdsa);
	mxtrap_reason_t why;
	assert_refused(ks, dnskeys, &want, 1, NOW, MXTRAP_KEY_MISSING);
	uint16_t tag = 0;
	ck_assert_str_eq(mxtrap_keystore_failed_key(ks, &tag), ecdsa.id);
	ck_assert_uint_eq(tag, ecdsa.tag);
	ck_assert_int_eq(rename(aside, pem), 0);
	for (uint32_t t = NOW; t < NOW + MXTRAP_KEY_RETRY; t++) {
		assert_refused(ks, dnskeys, &want, 1, t, MXTRAP_KEY_MISSING);
	}
	ck_assert(sign(ks, dnskeys, &want, 1, mx, NOW + MXTRAP_KEY_RETRY, &rrsigs, &why));
	assert_signed_by(&rrsigs, mx, &ecdsa, NOW + MXTRAP_KEY_RETRY, 2);
	ck_assert_int_eq(unlink(pem), 0);
	ck_assert(sign(ks, dnskeys, &want, 1, mx, NOW + 100, &rrsigs, &why));
	assert_signed_by(&rrsigs, mx, &ecdsa, NOW + 100, 2);
	mxtrap_keystore_free(ks);
}
END_TEST

/*! One key store set-up: where the key's file is, what it holds, the outcome. */
typedef struct {
	const char *name;
	const test_key_t *key;    /*!< NULL: a DNSKEY of algorithm \a alg libdnssec does not sign. */
	uint8_t alg;
	const test_key_t *file;   /*!< Whose PEM file stands under the key's ID (NULL: \a content). */
	const char *content;      /*!< NULL: no file. */
	size_t content_len;
	int dirs;                 /*!< 0: none, 1, 2 (the file in the second), -1: a missing one. */
	bool pkcs11;
	int why;                  /*!< Expected reason, -1: signed. */
} store_case_t;

#define GARBAGE "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n"

static const store_case_t STORES[] = {
	{ "second directory", &ed25519, 0, &ed25519, NULL, 0, 2, false, -1 },
	{ "garbage PEM", &ecdsa, 0, NULL, GARBAGE, sizeof(GARBAGE) - 1, 1, false, MXTRAP_KEY_UNREADABLE },
	{ "binary", &ed25519, 0, NULL, "\x00\x01\x02 random bytes", 16, 1, false, MXTRAP_KEY_UNREADABLE },
	{ "empty file", &ecdsa, 0, NULL, "", 0, 1, false, MXTRAP_KEY_UNREADABLE },
	/* Another key's file under this key's ID: never signed with. */
	{ "Ed25519 file for ECDSA", &ecdsa, 0, &ed25519, NULL, 0, 1, false, MXTRAP_KEY_UNREADABLE },
	{ "ECDSA file for Ed25519", &ed25519, 0, &ecdsa, NULL, 0, 1, false, MXTRAP_KEY_UNREADABLE },
	{ "ECDSA file of another key", &ecdsa, 0, &ecdsa2, NULL, 0, 1, false, MXTRAP_KEY_UNREADABLE },
	{ "PKCS#11 only", &ecdsa, 0, NULL, NULL, 0, 0, true, MXTRAP_KEYSTORE_UNSUPPORTED },
	{ "PKCS#11 and PEM", &ecdsa, 0, NULL, NULL, 0, 1, true, MXTRAP_KEYSTORE_UNSUPPORTED },
	{ "PRIVATEDNS", NULL, 253, &ecdsa, NULL, 0, 1, false, MXTRAP_ALG_UNSUPPORTED },
	{ "DSA", NULL, 3, &ecdsa, NULL, 0, 1, false, MXTRAP_ALG_UNSUPPORTED },
	/* ... and it is not made. */
	{ "directory missing", &ecdsa, 0, &ecdsa, NULL, 0, -1, false, MXTRAP_KEY_MISSING },
};

START_TEST(key_stores)
{
	const store_case_t *c = &STORES[_i];
	test_key_t key = { 0 };
	if (c->key != NULL) {
		key = *c->key;
	} else {
		static const uint8_t RDATA[] = { 1, 0, 3, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 1, 2 };
		memcpy(key.rdata, RDATA, sizeof(RDATA));
		key.rdata[3] = key.alg = c->alg;
		key.rdata_len = sizeof(RDATA);
		dnssec_binary_t bin = { .size = key.rdata_len, .data = key.rdata };
		ck_assert_int_eq(dnssec_keytag(&bin, &key.tag), DNSSEC_EOK);
		snprintf(key.id, sizeof(key.id), "alg-%u", key.alg);
	}
	const char *dirs[2] = { store_dir(NULL, 0), NULL };
	const char *dir = dirs[0];
	if (c->dirs == 2) {
		dir = dirs[1] = store_dir(NULL, 0);
	} else if (c->dirs < 0) {
		dir = dirs[0] = pem_path(dirs[0], "missing");  /* .../missing.pem/: no such directory */
	}
	if (c->file != NULL && c->dirs > 0) {
		put_pem_as(dir, c->file, key.id);
	} else if (c->content != NULL) {
		ck_assert(th_write_file(pem_path(dir, key.id), c->content, c->content_len));
	}
	const test_key_t *published[] = { &key };
	mxtrap_keystore_t *ks = keystore_in(dirs, c->dirs < 0 ? 1 : c->dirs, c->pkcs11);
	mxtrap_key_tag_t want = tag_of(&key);
	if (c->why >= 0) {
		assert_refused(ks, dnskeys_of(published, 1), &want, 1, NOW, c->why);
	} else {
		knot_rrset_t *mx = th_mx(ZONE, MX_RECORDS), rrsigs;
		mxtrap_reason_t why;
		ck_assert(sign(ks, dnskeys_of(published, 1), &want, 1, mx, NOW, &rrsigs, &why));
		assert_signed_by(&rrsigs, mx, c->key, NOW, 2);
	}
	struct stat st;
	ck_assert(c->dirs >= 0 || (stat(dirs[0], &st) != 0 && errno == ENOENT));
	mxtrap_keystore_free(ks);
}
END_TEST

/* More keys than the key store keeps: each in turn, two at once when full, the first again. */
START_TEST(more_keys_than_kept)
{
	const test_key_t *keys[MANY];
	for (size_t i = 0; i < MANY; i++) {
		keys[i] = &many[i];
	}
	const char *dir = store_dir(keys, MANY);
	knot_rrset_t *dnskeys = dnskeys_of(keys, MANY), *mx = th_mx(ZONE, MX_RECORDS), rrsigs;
	mxtrap_keystore_t *ks = keystore_in(&dir, 1, false);
	mxtrap_reason_t why;
	for (size_t i = 0; i < 16; i++) {  /* Within one second. */
		mxtrap_key_tag_t want = tag_of(&many[i]);
		ck_assert(sign(ks, dnskeys, &want, 1, mx, NOW, &rrsigs, &why));
		assert_signed_by(&rrsigs, mx, &many[i], NOW, 2);
	}
	for (size_t i = 0; i < 4; i++) {
		mxtrap_key_tag_t want[] = { tag_of(&many[i]), tag_of(&many[16 + i]) };
		ck_assert(sign(ks, dnskeys, want, 2, mx, NOW, &rrsigs, &why));
		ck_assert_uint_eq(rrsigs.rrs.count, 2);
		assert_signed_by(&rrsigs, mx, &many[i], NOW, 2);
		assert_signed_by(&rrsigs, mx, &many[16 + i], NOW, 2);
	}
	for (size_t i = 0; i <= MANY; i++) {
		mxtrap_key_tag_t want = tag_of(&many[i % MANY]);
		ck_assert(sign(ks, dnskeys, &want, 1, mx, NOW + 1 + i, &rrsigs, &why));
		ck_assert_uint_eq(rrsigs.rrs.count, 1);
		assert_signed_by(&rrsigs, mx, &many[i % MANY], NOW + 1 + i, 2);
	}
	mxtrap_keystore_free(ks);
}
END_TEST

/* Arguments the key store refuses. */
START_TEST(bad_arguments)
{
	const char *dir = "/nonexistent";
	const knot_dname_t *zone = (const knot_dname_t *)"\x07""example""\x03""com";
	ck_assert_ptr_null(mxtrap_keystore_new(NULL, &dir, 1, false, LIFETIME));
	ck_assert_ptr_null(mxtrap_keystore_new(zone, NULL, 1, false, LIFETIME));
	ck_assert_ptr_null(mxtrap_keystore_new(zone, &dir, 1, false, 0));
	mxtrap_keystore_free(NULL);
	const test_key_t *keys[] = { &ecdsa };
	dir = store_dir(keys, 1);
	mxtrap_keystore_t *ks = keystore_in(&dir, 1, false);
	mxtrap_key_tag_t want[MXTRAP_MAX_SIGS + 1];
	for (size_t i = 0; i <= MXTRAP_MAX_SIGS; i++) {
		want[i] = tag_of(&ecdsa);
	}
	assert_refused(ks, dnskeys_of(keys, 1), want, 0, NOW, MXTRAP_SIGN_FAILED);
	assert_refused(ks, dnskeys_of(keys, 1), want, MXTRAP_MAX_SIGS + 1, NOW, MXTRAP_SIGN_FAILED);
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
	tcase_add_test(tc, sign_owner);
	tcase_add_test(tc, key_not_in_dnskey_set);
	tcase_add_test(tc, published_key_unusable);
	tcase_add_test(tc, key_file_retry);
	tcase_add_loop_test(tc, key_stores, 0, TH_LEN(STORES));
	tcase_add_test(tc, more_keys_than_kept);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return th_run_suite(s);
}
