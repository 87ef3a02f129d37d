/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * module/keystore.c with real keys that libdnssec generates into PEM key
 * stores and into SoftHSM tokens as knotd does: every RRSIG it makes has
 * Knot's fields and verifies with libdnssec from the DNSKEY RDATA alone over
 * the RRset as a validator rebuilds it (th_signed_data()); keys the zone does
 * not publish are never used, a key file holding another key is refused,
 * failures name the key and the key stores; a refused token login is not
 * tried again within MXTRAP_LOGIN_RETRY, by any zone; key stores opened and
 * freed many times hold no file descriptors.
 */

#include "../test_helpers.h"

#include <dirent.h>
#include <gnutls/pkcs11.h>

#include "mxtrap/compat.h"
#include "mxtrap/keystore.h"

#define NOW		1800000000u
#define LIFETIME	(7 * 86400u + 17)
#define ZONE		"example.com."
#define MX_RECORDS	"10 mail1.example.com. 20 mail2.example.com."
#define MANY		20  /* Keys: more than the key store keeps (16). */
#define GARBAGE		"-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n"
/* SoftHSM tokens: A and B hold a key each, PIN's is for the wrong-PIN test. */
#define SOFTHSM		"/usr/lib/softhsm/libsofthsm2.so"
#define PIN		"1234"
#define TOKEN_A		"pkcs11:token=mxtrap-a;pin-value=" PIN
#define TOKEN_B		"pkcs11:token=mxtrap-b;pin-value=" PIN
#define TOKEN_PIN	"pkcs11:token=mxtrap-pin;pin-value=" PIN

typedef struct {
	char id[128];
	uint8_t alg;
	uint16_t tag;
	uint8_t rdata[1024];  /*!< DNSKEY RDATA. */
	size_t rdata_len;
} test_key_t;

/* Generated once, before the tests fork. OTHER: ED's algorithm, E1's tag, no key.
 * P1 in token A, P2 in token B, PP in token PIN (its ID: the token's CKA_ID). */
static char gen_dir[PATH_MAX];
static test_key_t K[7 + MANY];
#define E1	(&K[0])
#define E2	(&K[1])
#define ED	(&K[2])
#define OTHER	(&K[3])
#define P1	(&K[4])
#define P2	(&K[5])
#define PP	(&K[6])
#define MANY_K	(&K[7])

/*! A SoftHSM token in gen_dir/tokens (SOFTHSM2_CONF), as softhsm2-util makes one. */
static void init_token(const char *label)
{
	char out[1024];
	char *argv[] = { "softhsm2-util", "--init-token", "--free", "--label", (char *)label,
	                 "--pin", PIN, "--so-pin", "12345678", NULL };
	int status = th_run(argv, "softhsm2-util", out, sizeof(out), 30000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "softhsm2-util --init-token %s (tests/setup.sh installs softhsm2): %s", label, out);
}

/*! "<token URL> <module>": a PKCS#11 keystore's config as knotd has it. */
static const char *token_config(const char *url, const char *module)
{
	char *config = th_pool_get(PATH_MAX);
	snprintf(config, PATH_MAX, "%s %s", url, module);
	return config;
}

/*! Tokens A, B and PIN; SOFTHSM2_CONF set before libdnssec loads SoftHSM. */
static void init_tokens(void)
{
	char path[PATH_MAX + 32], conf[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/tokens", gen_dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	int len = snprintf(conf, sizeof(conf), "directories.tokendir = %s\nobjectstore.backend = file\n"
	                   "log.level = ERROR\n", path);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", gen_dir);
	ck_assert(th_write_file(path, conf, len));
	ck_assert_int_eq(setenv("SOFTHSM2_CONF", path, 1), 0);
	init_token("mxtrap-a");
	init_token("mxtrap-b");
	init_token("mxtrap-pin");
}

static void generate_all(void)
{
	dnssec_crypto_init();
	dnssec_keystore_t *pem = NULL, *store = NULL;
	ck_assert(th_tmpdir(gen_dir, "keygen"));
	init_tokens();
	ck_assert(dnssec_keystore_init_pkcs8(&pem) == DNSSEC_EOK &&
	          dnssec_keystore_init(pem, gen_dir) == DNSSEC_EOK &&
	          dnssec_keystore_open(pem, gen_dir) == DNSSEC_EOK);
	for (test_key_t *k = K; k < K + TH_LEN(K); k += 1 + (k + 1 == OTHER)) {
		k->alg = k == ED ? DNSSEC_KEY_ALGORITHM_ED25519 : DNSSEC_KEY_ALGORITHM_ECDSA_P256_SHA256;
		/* As knotd generates keys into a token (its ID a random CKA_ID). */
		const char *token = k == P1 ? TOKEN_A : k == P2 ? TOKEN_B : k == PP ? TOKEN_PIN : NULL;
		store = pem;
		if (token != NULL) {
			ck_assert(dnssec_keystore_init_pkcs11(&store) == DNSSEC_EOK &&
			          dnssec_keystore_open(store, token_config(token, SOFTHSM)) == DNSSEC_EOK);
		}
		for (bool taken = true; taken; ) {  /* A tag of its own: lookups stay unambiguous. */
			char *id = NULL;
			dnssec_key_t *key = NULL;
			dnssec_binary_t rdata = { 0 };
			ck_assert(dnssec_keystore_generate(store, k->alg, 256, NULL, &id) == DNSSEC_EOK &&
			          dnssec_key_new(&key) == DNSSEC_EOK &&
			          dnssec_key_set_algorithm(key, k->alg) == DNSSEC_EOK &&
			          dnssec_keystore_get_private(store, id, key) == DNSSEC_EOK &&
			          dnssec_key_set_flags(key, 256) == DNSSEC_EOK &&
			          dnssec_key_get_rdata(key, &rdata) == DNSSEC_EOK &&
			          rdata.size <= sizeof(k->rdata));
			k->rdata_len = rdata.size;
			memcpy(k->rdata, rdata.data, rdata.size);
			k->tag = dnssec_key_get_keytag(key);
			/* The key ID of the DNSKEY: a key file's name; never a token's CKA_ID. */
			char *key_id = NULL;
			ck_assert(dnssec_key_get_keyid(key, &key_id) == DNSSEC_EOK &&
			          (strcmp(key_id, id) == 0) == (store == pem));
			snprintf(k->id, sizeof(k->id), "%s", key_id);
			free(key_id);
			free(id);
			dnssec_key_free(key);
			taken = false;
			for (const test_key_t *o = K; o < k; o++) {
				taken |= o != OTHER && o->tag == k->tag;
			}
		}
		if (store != pem) {
			dnssec_keystore_close(store);
			dnssec_keystore_deinit(store);
		}
	}
	*OTHER = (test_key_t){ .id = "other", .alg = ED->alg, .tag = E1->tag };
	dnssec_keystore_close(pem);
	dnssec_keystore_deinit(pem);
	th_pool_release();
}

static void remove_all(void)
{
	th_rm_rf(gen_dir);
	dnssec_crypto_cleanup();
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
	ck_assert_int_eq(symlink(pem_path(gen_dir, key->id), pem_path(dir, id)), 0);
}

/*! A new key store directory (in gen_dir: removed with it) with the files of \a keys. */
static const char *store_dir(const test_key_t *const *keys)
{
	char *dir = th_pool_get(PATH_MAX + 16);
	snprintf(dir, PATH_MAX + 16, "%s/store.XXXXXX", gen_dir);
	ck_assert(mkdtemp(dir) != NULL);
	for (; keys != NULL && *keys != NULL; keys++) {
		put_pem_as(dir, *keys, (*keys)->id);
	}
	return dir;
}

static mxtrap_keystore_t *keystore_of(const mxtrap_store_t *stores, size_t count)
{
	mxtrap_keystore_t *ks = mxtrap_keystore_new(
		(const knot_dname_t *)"\x07""ExAmple""\x03""COM", stores, count, LIFETIME);
	ck_assert_ptr_nonnull(ks);
	return ks;
}

/*! A key store of PEM directories. */
static mxtrap_keystore_t *keystore_in(const char *const *dirs, size_t count)
{
	mxtrap_store_t stores[4];
	ck_assert_uint_le(count, TH_LEN(stores));
	for (size_t i = 0; i < count; i++) {
		stores[i] = (mxtrap_store_t){ MXTRAP_STORE_PEM, dirs[i] };
	}
	return keystore_of(stores, count);
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
	ck_assert(dnssec_key_new(&pub) == DNSSEC_EOK && dnssec_key_set_rdata(pub, &rdata) == DNSSEC_EOK &&
	          dnssec_sign_new(&ctx, pub) == DNSSEC_EOK && dnssec_sign_init(ctx) == DNSSEC_EOK &&
	          dnssec_sign_add(ctx, &signed_data) == DNSSEC_EOK);
	int ret = dnssec_sign_verify(ctx, false, &signature);
	dnssec_sign_free(ctx);
	dnssec_key_free(pub);
	return ret;
}

/*! Exactly one RRSIG by \a key, every field as Knot writes it, verifying over \a covered. */
static void assert_signed_by(const knot_rrset_t *rrsigs, const knot_rrset_t *covered,
                             const test_key_t *key, uint32_t now)
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
	ck_assert_uint_eq(knot_rrsig_labels(found), th_sig_labels(covered->owner));
	ck_assert_uint_eq(knot_rrsig_original_ttl(found), covered->ttl);
	ck_assert_uint_eq(knot_rrsig_sig_inception(found), now - TH_INCEPTION_AGO);
	ck_assert_uint_eq(knot_rrsig_sig_expiration(found), now + LIFETIME);
	ck_assert(knot_dname_is_equal(knot_rrsig_signer_name(found), TH_SIGNER));  /* Lower-case. */
	ck_assert_int_eq(verify(found, covered, key), DNSSEC_EOK);
}

/*! One signing: the zone's DNSKEY set, the keys asked, the outcome. */
typedef struct {
	const test_key_t *pub[4];   /*!< The DNSKEY set (NULL-terminated). */
	const test_key_t *with[MXTRAP_MAX_SIGS + 2];  /*!< As the zone's RRSIGs name them. */
	uint32_t at;                /*!< Clock from NOW. */
	int why;                    /*!< Expected reason; -1: signed. */
	const test_key_t *by[4];    /*!< Signed: the keys of the RRSIGs; else the key named failed. */
} step_t;

#define KEYS(...)	{ __VA_ARGS__, NULL }
#define SIGNED		-1

/*! Signs \a s->with over \a covered (into \a rrsigs) and checks the outcome. */
static void run_step(mxtrap_keystore_t *ks, const step_t *s, const knot_rrset_t *covered,
                     knot_rrset_t *rrsigs)
{
	knot_rrset_t *dnskeys = th_rrset(ZONE, KNOT_RRTYPE_DNSKEY, 3600);
	mxtrap_key_tag_t with[TH_LEN(s->with)];
	size_t count = 0, by = 0;
	bool published = false;
	for (size_t i = 0; s->pub[i] != NULL; i++) {
		th_add(dnskeys, s->pub[i]->rdata, s->pub[i]->rdata_len);
		published |= s->pub[i] == s->by[0];
	}
	for (; s->with[count] != NULL; count++) {
		with[count] = (mxtrap_key_tag_t){ s->with[count]->alg, s->with[count]->tag };
	}
	knot_rrset_init(rrsigs, covered->owner, KNOT_RRTYPE_RRSIG, covered->rclass, covered->ttl);
	mxtrap_reason_t why = MXTRAP_NULL_MX;
	bool ok = mxtrap_keystore_sign(ks, &dnskeys->rrs, with, count, covered, NOW + s->at, rrsigs,
	                               &th_scratch, &why);
	for (; ok && s->by[by] != NULL; by++) {
		assert_signed_by(rrsigs, covered, s->by[by], NOW + s->at);
	}
	ck_assert_msg(ok == (s->why == SIGNED) && (ok || why == (mxtrap_reason_t)s->why) &&
	              rrsigs->rrs.count == by, "signed %d (%u RRSIGs), reason %s, expected %d",
	              ok, rrsigs->rrs.count, mxtrap_reason_name(why), s->why);
	uint16_t tag = 0;
	const char *id = mxtrap_keystore_failed_key(ks, &tag);
	/* The key named: its ID if published (else none known), its tag. */
	ck_assert(ok || s->by[0] == NULL || (strcmp(id, published ? s->by[0]->id : "") == 0 &&
	                                     tag == s->by[0]->tag));
}

/*! Runs steps up to an empty one (or \a max) over the zone's MX RRset. */
static void run_steps(mxtrap_keystore_t *ks, const step_t *steps, size_t max)
{
	knot_rrset_t rrsigs;
	for (size_t i = 0; i < max && steps[i].pub[0] != NULL; i++) {
		run_step(ks, &steps[i], th_mx(ZONE, MX_RECORDS), &rrsigs);
	}
}

/*! Steps on one key store holding the PEM files of \a files, \a garbage's a garbage one. */
static const struct {
	const char *name;
	const test_key_t *files[4], *garbage;
	step_t steps[8];
} SCENARIOS[] = {
	{ "two algorithms, again with the keys read", KEYS(E1, ED), NULL, {
	  { KEYS(E1, ED), KEYS(E1, ED), 0, SIGNED, KEYS(E1, ED) },
	  { KEYS(E1, ED), KEYS(E1, ED), 3600, SIGNED, KEYS(E1, ED) },
	  { KEYS(E1, ED), KEYS(ED), 0, SIGNED, KEYS(ED) } } },
	/* Keys not published (an algorithm rollover signs before it publishes
	 * and after it withdraws), their files there: never signed with. */
	{ "keys not in the DNSKEY set", KEYS(E1, ED, E2), NULL, {
	  { KEYS(E1), KEYS(ED), 0, MXTRAP_KEY_MISSING, KEYS(ED) },
	  { KEYS(E1), KEYS(ED, OTHER, E2), 0, MXTRAP_KEY_MISSING, KEYS(ED) },
	  { KEYS(E1), KEYS(OTHER), 0, MXTRAP_KEY_MISSING },
	  { KEYS(E1), KEYS(E1, ED), 0, SIGNED, KEYS(E1) },
	  { KEYS(E1), KEYS(E2, E1), 1, SIGNED, KEYS(E1) },
	  { KEYS(E1, ED), KEYS(E1, ED), 2, SIGNED, KEYS(E1, ED) },  /* published: both */
	  { KEYS(ED), KEYS(E1, ED), 3, SIGNED, KEYS(ED) } } },      /* withdrawn: the other */
	/* A published key that cannot be used fails the set, however usable the
	 * others, and names itself; looked for again after MXTRAP_KEY_RETRY. */
	{ "published key unusable", KEYS(E1), ED, {
	  { KEYS(E1, E2), KEYS(E1, E2), 0, MXTRAP_KEY_MISSING, KEYS(E2) },
	  { KEYS(E1, E2), KEYS(E2, E1), MXTRAP_KEY_RETRY, MXTRAP_KEY_MISSING, KEYS(E2) },
	  { KEYS(E1, E2), KEYS(ED, E1, E2), MXTRAP_KEY_RETRY, MXTRAP_KEY_MISSING, KEYS(E2) },
	  { KEYS(E1, ED), KEYS(E1, ED), 0, MXTRAP_KEY_UNREADABLE, KEYS(ED) },
	  { KEYS(E1, E2), KEYS(E1), 0, SIGNED, KEYS(E1) } } },
};

/* Each scenario; the key store only reads its directory. */
START_TEST(scenarios)
{
	const char *dir = store_dir(SCENARIOS[_i].files);
	const test_key_t *garbage = SCENARIOS[_i].garbage;
	ck_assert(garbage == NULL || th_write_file(pem_path(dir, garbage->id), GARBAGE, sizeof(GARBAGE) - 1));
	struct stat before, after;
	ck_assert_int_eq(stat(dir, &before), 0);
	mxtrap_keystore_t *ks = keystore_in(&dir, 1);
	run_steps(ks, SCENARIOS[_i].steps, TH_LEN(SCENARIOS[_i].steps));
	ck_assert_int_eq(stat(dir, &after), 0);
	ck_assert(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
	          after.st_mtim.tv_nsec == before.st_mtim.tv_nsec && after.st_nlink == before.st_nlink);
	mxtrap_keystore_free(ks);
}
END_TEST

/* Owners a validator rebuilds (a wildcard from the labels, any case lowered); wrong ones fail. */
START_TEST(sign_owner)
{
	static const struct { const char *owner, *validator; } OWNERS[] = {
		{ "*.x." ZONE, "host.x." ZONE },
		{ "MiXeD.ExAmPlE.com.", "mixed." ZONE },
		{ ZONE, ZONE },
	};
	static const step_t STEP = { KEYS(ED), KEYS(ED), 0, SIGNED, KEYS(ED) };
	const char *dir = store_dir((const test_key_t *[]){ ED, NULL });
	mxtrap_keystore_t *ks = keystore_in(&dir, 1);
	knot_rrset_t rrsigs;
	for (size_t i = 0; i < TH_LEN(OWNERS); i++) {
		run_step(ks, &STEP, th_mx(OWNERS[i].owner, MX_RECORDS), &rrsigs);
		ck_assert_int_eq(verify(rrsigs.rrs.rdata, th_mx(OWNERS[i].validator, MX_RECORDS), ED),
		                 DNSSEC_EOK);
	}
	/* The oracle tells a wrong signature: another record, owner or key. */
	const knot_rdata_t *rd = rrsigs.rrs.rdata;
	ck_assert_int_ne(verify(rd, th_mx(ZONE, "10 mail1.example.com. 21 mail2.example.com."), ED),
	                 DNSSEC_EOK);
	ck_assert_int_ne(verify(rd, th_mx("www." ZONE, MX_RECORDS), ED), DNSSEC_EOK);
	ck_assert_int_ne(verify(rd, th_mx(ZONE, MX_RECORDS), E1), DNSSEC_EOK);
	mxtrap_keystore_free(ks);
}
END_TEST

/* A key file missing: key-missing until MXTRAP_KEY_RETRY after it is back; once read, not needed. */
START_TEST(key_file_retry)
{
	const char *dir = store_dir(NULL);
	mxtrap_keystore_t *ks = keystore_in(&dir, 1);
	step_t step = { KEYS(E1), KEYS(E1), 0, MXTRAP_KEY_MISSING, KEYS(E1) };
	run_steps(ks, &step, 1);
	put_pem_as(dir, E1, E1->id);
	for (; step.at < MXTRAP_KEY_RETRY; step.at++) {
		run_steps(ks, &step, 1);
	}
	step.why = SIGNED;
	run_steps(ks, &step, 1);
	ck_assert_int_eq(unlink(pem_path(dir, E1->id)), 0);
	step.at = 100;
	run_steps(ks, &step, 1);
	mxtrap_keystore_free(ks);
}
END_TEST

/*! One key store set-up: where the key's file is, what it holds, the outcome. */
static const struct {
	const char *name;
	const test_key_t *key;    /*!< NULL: a DNSKEY of algorithm \a alg libdnssec does not sign. */
	uint8_t alg;
	const test_key_t *file;   /*!< Whose PEM file stands under the key's ID (NULL: \a content). */
	const char *content;      /*!< NULL: no file. */
	size_t content_len;
	int dirs;                 /*!< 0: none, 1, 2 (the file in the second), -1: a missing one. */
	int why;
} STORES[] = {
	{ "second directory", ED, 0, ED, NULL, 0, 2, SIGNED },
	{ "garbage PEM", E1, 0, NULL, GARBAGE, sizeof(GARBAGE) - 1, 1, MXTRAP_KEY_UNREADABLE },
	{ "binary", ED, 0, NULL, "\x00\x01\x02 random bytes", 16, 1, MXTRAP_KEY_UNREADABLE },
	{ "empty file", E1, 0, NULL, "", 0, 1, MXTRAP_KEY_UNREADABLE },
	/* Another key's file under this key's ID: never signed with. */
	{ "Ed25519 file for ECDSA", E1, 0, ED, NULL, 0, 1, MXTRAP_KEY_UNREADABLE },
	{ "ECDSA file for Ed25519", ED, 0, E1, NULL, 0, 1, MXTRAP_KEY_UNREADABLE },
	{ "ECDSA file of another key", E1, 0, E2, NULL, 0, 1, MXTRAP_KEY_UNREADABLE },
	{ "no key store", E1, 0, NULL, NULL, 0, 0, MXTRAP_KEY_MISSING },
	{ "PRIVATEDNS", NULL, 253, E1, NULL, 0, 1, MXTRAP_ALG_UNSUPPORTED },
	{ "DSA", NULL, 3, E1, NULL, 0, 1, MXTRAP_ALG_UNSUPPORTED },
	/* ... and it is not made. */
	{ "directory missing", E1, 0, E1, NULL, 0, -1, MXTRAP_KEY_MISSING },
};

START_TEST(key_stores)
{
	static const uint8_t RDATA[] = { 1, 0, 3, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 1, 2 };
	test_key_t key = { 0 };
	if (STORES[_i].key != NULL) {
		key = *STORES[_i].key;
	} else {
		memcpy(key.rdata, RDATA, sizeof(RDATA));
		key.rdata[3] = key.alg = STORES[_i].alg;
		key.rdata_len = sizeof(RDATA);
		dnssec_binary_t bin = { .size = key.rdata_len, .data = key.rdata };
		ck_assert_int_eq(dnssec_keytag(&bin, &key.tag), DNSSEC_EOK);
		snprintf(key.id, sizeof(key.id), "alg-%u", key.alg);
	}
	const char *dirs[2] = { store_dir(NULL), NULL }, *dir = dirs[0];
	if (STORES[_i].dirs == 2) {
		dir = dirs[1] = store_dir(NULL);
	} else if (STORES[_i].dirs < 0) {
		dir = dirs[0] = pem_path(dirs[0], "missing");  /* .../missing.pem/: no such directory */
	}
	if (STORES[_i].file != NULL && STORES[_i].dirs > 0) {
		put_pem_as(dir, STORES[_i].file, key.id);
	} else if (STORES[_i].content != NULL) {
		ck_assert(th_write_file(pem_path(dir, key.id), STORES[_i].content, STORES[_i].content_len));
	}
	mxtrap_keystore_t *ks = keystore_in(dirs, STORES[_i].dirs < 0 ? 1 : STORES[_i].dirs);
	step_t step = { KEYS(&key), KEYS(&key), 0, STORES[_i].why };
	step.by[0] = STORES[_i].why == SIGNED ? STORES[_i].key : NULL;
	run_steps(ks, &step, 1);
	struct stat st;
	ck_assert(STORES[_i].dirs >= 0 || (stat(dirs[0], &st) != 0 && errno == ENOENT));
	mxtrap_keystore_free(ks);
}
END_TEST

/* More keys than the key store keeps: each in turn, two at once when full, the first again. */
START_TEST(more_keys_than_kept)
{
	const test_key_t *keys[MANY + 1] = { NULL };
	for (size_t i = 0; i < MANY; i++) {
		keys[i] = &MANY_K[i];
	}
	const char *dir = store_dir(keys);
	mxtrap_keystore_t *ks = keystore_in(&dir, 1);
	for (size_t i = 0; i < 16 + 4 + MANY + 1; i++) {
		/* 16 within one second, 4 pairs of a kept key and a new one, then each again. */
		const test_key_t *a = &MANY_K[i < 16 ? i : i < 20 ? i - 16 : (i - 20) % MANY];
		const test_key_t *b = i >= 16 && i < 20 ? &MANY_K[i] : NULL;
		step_t step = { { a, b }, { a, b }, i < 20 ? 0 : i - 19, SIGNED, { a, b } };
		run_steps(ks, &step, 1);
	}
	mxtrap_keystore_free(ks);
}
END_TEST

/*** PKCS#11 tokens (SoftHSM). ***/

static mxtrap_store_t pem_store(const char *dir)
{
	return (mxtrap_store_t){ MXTRAP_STORE_PEM, dir };
}

static mxtrap_store_t token(const char *url, const char *module)
{
	return (mxtrap_store_t){ MXTRAP_STORE_PKCS11, token_config(url, module) };
}

/*! One signing step on a key store of \a stores; a failure names \a failed. */
static void sign_in(const mxtrap_store_t *stores, size_t count, const step_t *step,
                    const char *failed)
{
	mxtrap_keystore_t *ks = keystore_of(stores, count);
	run_steps(ks, step, 1);
	const char *names = mxtrap_keystore_failed_stores(ks);
	ck_assert_msg(step->why == SIGNED || strcmp(names, failed) == 0,
	              "failed key stores [%s], expected [%s]", names, failed);
	ck_assert(strstr(names, "pin-value") == NULL && strstr(names, PIN) == NULL);
	mxtrap_keystore_free(ks);
}

/* Keys in tokens, found by their public key whatever their CKA_ID, in the
 * first of the key stores that has them, signing as PEM keys do; failures
 * name the stores searched, tokens without their PIN. */
START_TEST(token_keys)
{
	const char *pem = store_dir((const test_key_t *[]){ E1, NULL }), *empty = store_dir(NULL);
	mxtrap_store_t a = token(TOKEN_A, SOFTHSM), b = token(TOKEN_B, SOFTHSM);
	step_t p1 = { KEYS(P1), KEYS(P1), 0, SIGNED, KEYS(P1) };
	step_t p12 = { KEYS(P1, P2), KEYS(P1, P2), 0, SIGNED, KEYS(P1, P2) };
	step_t p2 = { KEYS(P2), KEYS(P2), 0, SIGNED, KEYS(P2) };
	step_t e1 = { KEYS(E1), KEYS(E1), 0, SIGNED, KEYS(E1) };
	sign_in(&a, 1, &p1, NULL);
	sign_in((mxtrap_store_t[]){ a, b }, 2, &p12, NULL);          /* P2 in the second */
	sign_in((mxtrap_store_t[]){ b, a }, 2, &p1, NULL);           /* P1 in the second */
	sign_in((mxtrap_store_t[]){ pem_store(empty), a }, 2, &p1, NULL);
	sign_in((mxtrap_store_t[]){ a, pem_store(pem) }, 2, &e1, NULL);  /* the PEM file after a token */
	sign_in((mxtrap_store_t[]){ b, b, a }, 3, &p1, NULL);

	char failed[2 * PATH_MAX];
	e1.why = p1.why = p2.why = MXTRAP_KEY_MISSING;
	sign_in((mxtrap_store_t[]){ a, b }, 2, &e1, "pkcs11:token=mxtrap-a, pkcs11:token=mxtrap-b");
	sign_in(&a, 1, &p2, "pkcs11:token=mxtrap-a");
	snprintf(failed, sizeof(failed), "%s, pkcs11:token=mxtrap-b", empty);
	sign_in((mxtrap_store_t[]){ pem_store(empty), b }, 2, &p1, failed);
	sign_in((mxtrap_store_t[]){ pem_store(pem) }, 1, &p1, pem);  /* no file of a token's key */
	/* The token's key in the zone's DNSKEY set with the same tag as another. */
	sign_in(&a, 1, &(step_t){ KEYS(P1, ED), KEYS(ED), 0, MXTRAP_KEY_MISSING, KEYS(ED) },
	        "pkcs11:token=mxtrap-a");
}
END_TEST

/* Tokens that cannot be opened have no keys: keystore-unsupported where no
 * other store has the key, naming only those. */
START_TEST(token_unopenable)
{
	const char *pem = store_dir((const test_key_t *[]){ E1, NULL }), *empty = store_dir(NULL);
	mxtrap_store_t no_token = token("pkcs11:token=nosuch;pin-value=" PIN, SOFTHSM);
	mxtrap_store_t no_module = token(TOKEN_A, "/nonexistent/libpkcs11.so");
	mxtrap_store_t no_space = { MXTRAP_STORE_PKCS11, TOKEN_A };
	step_t p1 = { KEYS(P1), KEYS(P1), 0, MXTRAP_KEYSTORE_UNSUPPORTED, KEYS(P1) };
	step_t e1 = { KEYS(E1), KEYS(E1), 0, MXTRAP_KEYSTORE_UNSUPPORTED, KEYS(E1) };
	sign_in(&no_token, 1, &p1, "pkcs11:token=nosuch");
	sign_in(&no_module, 1, &p1, "pkcs11:token=mxtrap-a");
	sign_in(&no_space, 1, &p1, "pkcs11:token=mxtrap-a");
	sign_in((mxtrap_store_t[]){ no_token, pem_store(empty), no_module }, 3, &e1,
	        "pkcs11:token=nosuch, pkcs11:token=mxtrap-a");
	p1.why = e1.why = SIGNED;
	sign_in((mxtrap_store_t[]){ no_module, token(TOKEN_A, SOFTHSM) }, 2, &p1, NULL);
	sign_in((mxtrap_store_t[]){ no_token, pem_store(pem) }, 2, &e1, NULL);
}
END_TEST

/* A wrong PIN: keystore-login, the token named; no login with that
 * configuration, by any zone, within MXTRAP_LOGIN_RETRY (the token's PIN made
 * the configured one meanwhile: a login would pass); another configuration
 * logs in at once. */
START_TEST(wrong_pin)
{
	mxtrap_store_t wrong = token("pkcs11:token=mxtrap-pin;pin-value=4321", SOFTHSM);
	mxtrap_store_t reordered = token("pkcs11:pin-value=4321;token=mxtrap-pin", SOFTHSM);
	mxtrap_keystore_t *ks = keystore_of(&wrong, 1), *other = keystore_of(&wrong, 1);
	step_t step = { KEYS(PP), KEYS(PP), 0, MXTRAP_KEYSTORE_LOGIN, KEYS(PP) };
	run_steps(ks, &step, 1);
	ck_assert_str_eq(mxtrap_keystore_failed_stores(ks), "pkcs11:token=mxtrap-pin");
	/* GnuTLS logs in with the URL's PIN, then changes it. */
	ck_assert_int_eq(gnutls_pkcs11_token_set_pin(TOKEN_PIN, PIN, "4321",
	                                             GNUTLS_PIN_USER), GNUTLS_E_SUCCESS);
	for (step.at = 1; step.at < MXTRAP_LOGIN_RETRY; step.at += step.at < 3 * MXTRAP_KEY_RETRY ? 1 : 97) {
		run_steps(ks, &step, 1);
		run_steps(other, &step, 1);
	}
	step.at = MXTRAP_LOGIN_RETRY - 1;
	run_steps(other, &step, 1);
	ck_assert_str_eq(mxtrap_keystore_failed_stores(other), "pkcs11:token=mxtrap-pin");
	sign_in(&reordered, 1, &(step_t){ KEYS(PP), KEYS(PP), 1, SIGNED, KEYS(PP) }, NULL);
	step.at = MXTRAP_LOGIN_RETRY;
	step.why = SIGNED;
	run_steps(ks, &step, 1);
	step.at += MXTRAP_KEY_RETRY - 1;  /* other's key: looked for again 10 s after 899 */
	run_steps(other, &step, 1);
	mxtrap_keystore_free(ks);
	mxtrap_keystore_free(other);
	ck_assert_int_eq(gnutls_pkcs11_token_set_pin("pkcs11:token=mxtrap-pin;pin-value=4321", "4321", PIN,
	                                             GNUTLS_PIN_USER), GNUTLS_E_SUCCESS);
}
END_TEST

static int fd_count(void)
{
	DIR *dir = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(dir);
	int count = 0;
	while (readdir(dir) != NULL) {
		count++;
	}
	closedir(dir);
	return count;
}

/* Key stores made, used and freed many times (knotc reload re-creates them):
 * the same file descriptors open after as before (each cached key holds a
 * token session). */
START_TEST(no_fd_growth)
{
	const char *pem = store_dir((const test_key_t *[]){ E1, NULL });
	mxtrap_store_t stores[] = { token(TOKEN_A, SOFTHSM), token(TOKEN_B, SOFTHSM), pem_store(pem) };
	step_t step = { KEYS(P1, P2, E1), KEYS(P1, P2, E1), 0, SIGNED, KEYS(P1, P2, E1) };
	int before = 0;
	for (int i = 0; i < 52; i++) {
		before = i == 2 ? fd_count() : before;  /* What GnuTLS and SoftHSM keep, once. */
		mxtrap_keystore_t *ks = keystore_of(stores, TH_LEN(stores));
		run_steps(ks, &step, 1);
		mxtrap_keystore_free(ks);
	}
	ck_assert_int_eq(fd_count(), before);
}
END_TEST

/* Arguments the key store refuses. */
START_TEST(bad_arguments)
{
	const char *dir = "/nonexistent";
	const knot_dname_t *zone = (const knot_dname_t *)"\x07""example""\x03""com";
	mxtrap_store_t store = { MXTRAP_STORE_PEM, dir }, no_config = { MXTRAP_STORE_PKCS11, NULL };
	mxtrap_store_t bad_backend = { MXTRAP_STORE_PKCS11 + 1, dir };
	ck_assert_ptr_null(mxtrap_keystore_new(NULL, &store, 1, LIFETIME));
	ck_assert_ptr_null(mxtrap_keystore_new(zone, NULL, 1, LIFETIME));
	ck_assert_ptr_null(mxtrap_keystore_new(zone, &store, 1, 0));
	ck_assert_ptr_null(mxtrap_keystore_new(zone, &no_config, 1, LIFETIME));
	ck_assert_ptr_null(mxtrap_keystore_new(zone, &bad_backend, 1, LIFETIME));
	mxtrap_keystore_free(NULL);
	dir = store_dir((const test_key_t *[]){ E1, NULL });
	mxtrap_keystore_t *ks = keystore_in(&dir, 1);
	step_t none = { KEYS(E1), { NULL }, 0, MXTRAP_SIGN_FAILED }, too_many = none;
	for (size_t i = 0; i <= MXTRAP_MAX_SIGS; i++) {
		too_many.with[i] = E1;
	}
	run_steps(ks, &none, 1);
	run_steps(ks, &too_many, 1);
	mxtrap_keystore_free(ks);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mxtrap key store");
	TCase *tc = tcase_create("keystore");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, generate_all, remove_all);
	tcase_add_checked_fixture(tc, NULL, th_pool_release);
	tcase_add_loop_test(tc, scenarios, 0, TH_LEN(SCENARIOS));
	tcase_add_test(tc, sign_owner);
	tcase_add_test(tc, key_file_retry);
	tcase_add_loop_test(tc, key_stores, 0, TH_LEN(STORES));
	tcase_add_test(tc, more_keys_than_kept);
	tcase_add_test(tc, token_keys);
	tcase_add_test(tc, token_unopenable);
	tcase_add_test(tc, wrong_pin);
	tcase_add_test(tc, no_fd_growth);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return th_run_suite(s);
}
