/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Fresh signatures per second through module/keystore.c (what the signature
 * cache calls on a miss) with an ECDSA P-256 key in a PEM key store and one
 * in a SoftHSM token, both generated as knotd generates them. Measured side by
 * side: ROUNDS rounds of SECONDS seconds each, the two alternating, so a
 * machine's load changes both alike. Prints the rates (wall clock and CPU
 * time of the process, SoftHSM signing in it) and their ratio.
 *
 *   sign_rate WORK_DIR [SECONDS [ROUNDS]]     (SOFTHSM2_CONF and a token
 *                                              "mxtrap-bench", PIN 1234, ready)
 */

#define TH_NO_CHECK
#include "../test_helpers.h"

#include "mxtrap/compat.h"
#include "mxtrap/keystore.h"

#define TOKEN	"pkcs11:token=mxtrap-bench;pin-value=1234 /usr/lib/softhsm/libsofthsm2.so"
#define ZONE	"bench.test."
#define ALG	DNSSEC_KEY_ALGORITHM_ECDSA_P256_SHA256

typedef struct {
	const char *name;
	mxtrap_keystore_t *keystore;
	knot_rrset_t *dnskeys;
	mxtrap_key_tag_t key;
	uint64_t signatures;
	double wall, cpu;
} variant_t;

static double seconds(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*! A key generated into \a store (as knotd does); its DNSKEY set and tag in \a v. */
static void generate(dnssec_keystore_t *store, variant_t *v)
{
	char *id = NULL;
	dnssec_key_t *key = NULL;
	dnssec_binary_t rdata = { 0 };
	TH_ASSERT(dnssec_keystore_generate(store, ALG, 256, NULL, &id) == DNSSEC_EOK &&
	          dnssec_key_new(&key) == DNSSEC_EOK && dnssec_key_set_algorithm(key, ALG) == DNSSEC_EOK &&
	          dnssec_keystore_get_private(store, id, key) == DNSSEC_EOK &&
	          dnssec_key_set_flags(key, 256) == DNSSEC_EOK && dnssec_key_get_rdata(key, &rdata) == DNSSEC_EOK);
	v->dnskeys = th_rrset(ZONE, KNOT_RRTYPE_DNSKEY, 3600);
	th_add(v->dnskeys, rdata.data, rdata.size);
	v->key = (mxtrap_key_tag_t){ ALG, dnssec_key_get_keytag(key) };
	dnssec_key_free(key);
	free(id);
}

/*! Signs a new RRset (another TTL each time) for \a secs seconds. */
static void run(variant_t *v, double secs, uint32_t *ttl)
{
	knot_rrset_t *mx = th_mx(ZONE, "10 mail1.bench.test. 20 mail2.bench.test. 99 mail1.bench.test.");
	double wall0 = seconds(CLOCK_MONOTONIC), cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID), now = wall0;
	for (; now - wall0 < secs; now = seconds(CLOCK_MONOTONIC)) {
		for (int i = 0; i < 20; i++) {
			knot_rrset_t rrsigs;
			mxtrap_reason_t why;
			mx->ttl = ++*ttl;
			knot_rrset_init(&rrsigs, mx->owner, KNOT_RRTYPE_RRSIG, KNOT_CLASS_IN, mx->ttl);
			TH_ASSERT(mxtrap_keystore_sign(v->keystore, &v->dnskeys->rrs, &v->key, 1, mx,
			                               1800000000u, &rrsigs, NULL, &why));
			TH_ASSERT(rrsigs.rrs.count == 1);
			knot_rdataset_clear(&rrsigs.rrs, NULL);
			v->signatures++;
		}
	}
	v->wall += now - wall0;
	v->cpu += seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s WORK_DIR [SECONDS [ROUNDS]]\n", argv[0]);
		return 2;
	}
	double secs = argc > 2 ? atof(argv[2]) : 2;
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	dnssec_crypto_init();

	dnssec_keystore_t *pem = NULL, *token = NULL;
	TH_ASSERT(dnssec_keystore_init_pkcs8(&pem) == DNSSEC_EOK &&
	          dnssec_keystore_init(pem, argv[1]) == DNSSEC_EOK &&
	          dnssec_keystore_open(pem, argv[1]) == DNSSEC_EOK);
	TH_ASSERT(dnssec_keystore_init_pkcs11(&token) == DNSSEC_EOK &&
	          dnssec_keystore_open(token, TOKEN) == DNSSEC_EOK);
	variant_t v[2] = { { .name = "PEM" }, { .name = "SoftHSM" } };
	generate(pem, &v[0]);
	generate(token, &v[1]);
	mxtrap_store_t stores[2] = { { MXTRAP_STORE_PEM, argv[1] }, { MXTRAP_STORE_PKCS11, TOKEN } };
	const knot_dname_t *zone = (const knot_dname_t *)"\x05""bench""\x04""test";
	for (int i = 0; i < 2; i++) {
		v[i].keystore = mxtrap_keystore_new(zone, &stores[i], 1, 14 * 86400);
		TH_ASSERT(v[i].keystore != NULL);
	}

	uint32_t ttl = 0;
	for (int i = 0; i < 2; i++) {
		run(&v[i], 0.2, &ttl);  /* The key read (and its session opened) before measuring. */
		v[i].signatures = 0, v[i].wall = v[i].cpu = 0;
	}
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < 2; i++) {
			run(&v[(r + i) % 2], secs, &ttl);
		}
	}
	printf("ECDSAP256SHA256, one fresh RRSIG over an MX RRset of 3 records per call, "
	       "%d rounds of %.1f s each\n", rounds, secs);
	for (int i = 0; i < 2; i++) {
		printf("%-8s %8.0f signatures/s (wall), %8.0f per CPU second, %.1f us CPU each (%lu signatures)\n",
		       v[i].name, v[i].signatures / v[i].wall, v[i].signatures / v[i].cpu,
		       1e6 * v[i].cpu / v[i].signatures, (unsigned long)v[i].signatures);
	}
	printf("ratio    SoftHSM / PEM: %.2f (wall rate), %.2f (CPU rate); CPU per signature %.2fx\n",
	       (v[1].signatures / v[1].wall) / (v[0].signatures / v[0].wall),
	       (v[1].signatures / v[1].cpu) / (v[0].signatures / v[0].cpu),
	       (v[1].cpu / v[1].signatures) / (v[0].cpu / v[0].signatures));

	for (int i = 0; i < 2; i++) {
		mxtrap_keystore_free(v[i].keystore);
	}
	dnssec_keystore_close(token);
	dnssec_keystore_deinit(token);
	dnssec_keystore_close(pem);
	dnssec_keystore_deinit(pem);
	th_pool_release();
	dnssec_crypto_cleanup();
	return 0;
}
