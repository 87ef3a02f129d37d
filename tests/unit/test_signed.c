/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Signed answers with the stand-in signer (real keys: test_keystore): a
 * trapped answer reads as the one libknot writes with the merged RRset and
 * new RRSIGs by the zone's keys, each verifying; the signature cache is keyed
 * by the key set, serves only while valid for margin + TTL, keeps a set by
 * fewer keys than asked 10 s; answers it cannot sign stay as they were.
 */

#include "../test_helpers.h"

#include "mxtrap/signer.h"
#include "mxtrap/trap.h"

#define NOW		1800000000u
#define MARGIN		3600u
#define TTL		3600u
#define LIFETIME	(14 * 86400u)
/*! The last clock at which signatures made at 0 are served from the cache. */
#define LAST_GOOD	(LIFETIME - MARGIN - TTL)
#define ZONE_MX		"10 mail1.example.com. 20 mail2.example.com."

/*! Key sets of the zone's RRSIG(MX), in RDATA order. */
static const mxtrap_key_tag_t KEYS[][3] = {
	{ { 13, 1111 } },                              /* K1 */
	{ { 13, 2222 } },                              /* K2: K1 rolled over */
	{ { 15, 3333 }, { 13, 1111 } },                /* K12: two algorithms */
	{ { 13, 1111 }, { 15, 3333 }, { 13, 2222 } },  /* K3 */
	{ { 13, 1111 }, { 15, 3333 } },                /* K3_2: the first two of K3 */
};
static const size_t KEY_COUNT[] = { 1, 1, 2, 3, 2 };
enum { K1, K2, K12, K3, K3_2 };

static bool has_key(const mxtrap_key_tag_t *keys, size_t count, mxtrap_key_tag_t key)
{
	while (count > 0 && (keys[count - 1].alg != key.alg || keys[count - 1].tag != key.tag)) {
		count--;
	}
	return count > 0;
}

static int query_token;  /*!< What mxtrap_apply() passes to the signing function. */
static mxtrap_conf_t conf;
static mxtrap_signer_t *signer;

static void setup_with(uint32_t margin, uint32_t valid_for)
{
	memset(&th_stand_in, 0, sizeof(th_stand_in));
	th_stand_in.now = NOW;
	th_stand_in.valid_for = valid_for;
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, NULL, 0), KNOT_EOK);
	signer = mxtrap_signer_new(th_stand_in_sign, &th_stand_in, margin, 4, th_stand_in_clock);
	ck_assert_ptr_nonnull(signer);
}

static void setup(void)
{
	setup_with(MARGIN, LIFETIME);
}

static void teardown(void)
{
	mxtrap_signer_free(signer);
	mxtrap_conf_deinit(&conf);
	th_pool_release();
}

/*! As knotd writes it: [CNAME,] MX, [RRSIG(CNAME),] RRSIG(MX) by \a set (or \a sigs). */
static knot_pkt_t *answer(const char *qname, const char *owner, uint8_t labels, int set,
                          const char *records, const knot_rdataset_t *sigs, size_t max_size)
{
	int ret;
	knot_pkt_t *pkt = th_answer(qname, th_mx(owner, records), max_size > 0 ? max_size : 4096,
	                            0, 0, &ret);
	ck_assert_int_eq(ret, KNOT_EOK);
	uint16_t owner_at = pkt->rr_info[pkt->rrset_count - 1].compress_ptr[KNOT_COMPR_HINT_OWNER];
	uint8_t rd[64];
	if (strcmp(qname, owner) != 0) {
		knot_rrset_t *sig = th_rrset(qname, KNOT_RRTYPE_RRSIG, 300);
		th_add(sig, rd, th_rrsig_rdata(rd, KNOT_RRTYPE_CNAME, KEYS[K1][0], 3, 300, NOW + 86400,
		                               NOW - 3600, "cname-sig", 9));
		ck_assert_int_eq(knot_pkt_put(pkt, KNOT_COMPR_HINT_QNAME, sig, KNOT_PF_ORIGTTL),
		                 KNOT_EOK);
	}
	knot_rrset_t *sig = th_rrset(owner, KNOT_RRTYPE_RRSIG, TTL);
	for (size_t i = 0; sigs == NULL && i < KEY_COUNT[set]; i++) {
		th_add(sig, rd, th_rrsig_rdata(rd, KNOT_RRTYPE_MX, KEYS[set][i], labels, TTL,
		                               NOW + 86400, NOW - 3600, "zone-sig", 8));
	}
	if (sigs != NULL) {
		sig->rrs = *sigs;
	}
	ck_assert_int_eq(knot_pkt_put(pkt, owner_at, sig, KNOT_PF_ORIGTTL), KNOT_EOK);
	return pkt;
}

static knot_pkt_t *apex(int set)
{
	return answer("example.com.", "example.com.", 2, set, ZONE_MX, NULL, 0);
}

static bool is_mx_rrsig(const knot_rrset_t *rr)
{
	return rr->type == KNOT_RRTYPE_RRSIG && knot_rrsig_type_covered(rr->rrs.rdata) == KNOT_RRTYPE_MX;
}

/*!
 * Trapped: the signing function got the zone's keys (if \a fresh), each
 * RRSIG(MX) a resolver reads verifies over the three MX it reads, by a zone
 * key, made at \a made_at; the answer reads as the one libknot writes with
 * the merged RRset and those RRSIGs.
 */
static void assert_trapped(const knot_pkt_t *pkt, const char *qname, const char *owner,
                           uint8_t labels, int set, bool fresh, uint32_t made_at, size_t sigs)
{
	ck_assert(!fresh || (th_stand_in.count == KEY_COUNT[set] && th_stand_in.query == &query_token));
	for (size_t i = 0; fresh && i < KEY_COUNT[set]; i++) {  /* In the RRSIGs' order. */
		ck_assert(has_key(th_stand_in.keys, th_stand_in.count, KEYS[set][i]));
	}
	knot_pkt_t *got = th_reparse(pkt);
	ck_assert_ptr_nonnull(got);
	knot_rrset_t *mx = th_rrset(owner, KNOT_RRTYPE_MX, TTL);
	const knot_pktsection_t *an = knot_pkt_section(got, KNOT_ANSWER);
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		if (rr->type == KNOT_RRTYPE_MX) {
			th_add(mx, rr->rrs.rdata->data, rr->rrs.rdata->len);
		}
	}
	ck_assert_uint_eq(mx->rrs.count, 3);
	size_t found = 0;
	const knot_rrset_t *rrsigs = NULL;
	for (uint16_t i = 0; i < pkt->rrset_count; i++) {
		rrsigs = is_mx_rrsig(&pkt->rr[i]) ? &pkt->rr[i] : rrsigs;
	}
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rdata_t *rd = knot_pkt_rr(an, i)->rrs.rdata;
		if (!is_mx_rrsig(knot_pkt_rr(an, i))) {
			continue;
		}
		found++;
		ck_assert_msg(th_stand_in_verify(rd, mx), "RRSIG(MX) %zu does not verify", found);
		ck_assert_uint_eq(knot_rrsig_labels(rd), labels);
		ck_assert_uint_eq(knot_rrsig_sig_inception(rd), made_at - TH_INCEPTION_AGO);
		mxtrap_key_tag_t by = { knot_rrsig_alg(rd), knot_rrsig_key_tag(rd) };
		ck_assert_msg(has_key(KEYS[set], KEY_COUNT[set], by), "RRSIG(MX) by another key");
	}
	ck_assert_uint_eq(found, sigs);

	/* The oracle: the same answer with the trap and these RRSIGs in the zone. */
	knot_pkt_t *want = th_reparse(answer(qname, owner, labels, set, ZONE_MX " 99 mail1.example.com.",
	                                     &rrsigs->rrs, 0));
	const knot_pktsection_t *wan = knot_pkt_section(want, KNOT_ANSWER);
	ck_assert_uint_eq(an->count, wan->count);
	for (uint16_t i = 0; i < an->count; i++) {
		ck_assert_msg(knot_rrset_equal(knot_pkt_rr(an, i), knot_pkt_rr(wan, i), true),
		              "ANSWER record %u differs", i);
	}
}

/* The answer shapes: every RRSIG(MX) over the merged RRset, in its place, for the right name. */
START_TEST(shapes)
{
	static const struct {
		const char *qname, *owner;
		uint8_t labels;
		int set, extra;
	} SHAPES[] = {
		{ "example.com.", "example.com.", 2, K1, 0 },
		{ "ExAmPlE.cOm.", "ExAmPlE.cOm.", 2, K1, 0 },
		{ "alias.example.com.", "example.com.", 2, K1, 0 },           /* RRSIGs keep their order */
		{ "host.wild.example.com.", "host.wild.example.com.", 3, K1, 0 },  /* *.wild signed */
		{ "*.wild.example.com.", "*.wild.example.com.", 3, K1, 0 },   /* the wildcard itself */
		{ "*.a.example.com.", "*.a.example.com.", 2, K1, 0 },         /* a "*" below *.example */
		{ "example.com.", "example.com.", 2, K12, 0 },                /* two algorithms */
		{ "example.com.", "example.com.", 2, K3, -1 },                /* one key not published */
	};
	th_stand_in.extra = SHAPES[_i].extra;
	knot_pkt_t *pkt = answer(SHAPES[_i].qname, SHAPES[_i].owner, SHAPES[_i].labels,
	                         SHAPES[_i].set, ZONE_MX, NULL, 0);
	mxtrap_result_t res = mxtrap_apply(&conf, pkt, signer, &query_token);
	ck_assert_int_eq(res.outcome, MXTRAP_TRAPPED);
	ck_assert_int_eq(res.source, MXTRAP_SIG_FRESH);
	ck_assert_int_eq(th_stand_in.calls, 1);
	assert_trapped(pkt, SHAPES[_i].qname, SHAPES[_i].owner, SHAPES[_i].labels, SHAPES[_i].set,
	               true, NOW, KEY_COUNT[SHAPES[_i].set] + SHAPES[_i].extra);
}
END_TEST

/*! One answer of a script. */
typedef struct {
	uint32_t at;                 /*!< Clock, from the script's start. */
	int set;                     /*!< Keys of the zone's RRSIG(MX). */
	int extra;                   /*!< The stand-in's extra signatures (< 0: fewer). */
	int fail;                    /*!< The stand-in fails with reason fail - 1 (0: signs). */
	mxtrap_sig_source_t source;  /*!< Expected: FRESH, CACHE, NONE (left alone). */
	uint32_t made_at;            /*!< When the served signatures were made. */
	size_t sigs;                 /*!< How many. */
} step_t;

#define FRESH(at, set, extra, sigs)	{ at, set, extra, 0, MXTRAP_SIG_FRESH, at, sigs }
#define CACHED(at, set, made, sigs)	{ at, set, 0, 0, MXTRAP_SIG_CACHE, made, sigs }
#define FAILS(set, extra, reason)	{ 0, set, extra, reason + 1, MXTRAP_SIG_NONE, 0, 0 }
#define BAD_COUNT(set, extra)		{ 0, set, extra, 0, MXTRAP_SIG_NONE, 0, 0 }
#define REASON(r)	{ "reason " #r, NOW, LIFETIME, MARGIN, { FAILS(K1, 0, r), FRESH(0, K1, 0, 1) } }

/* The cache: served while valid for margin + TTL, a set by fewer keys than asked 10 s. */
static const struct {
	const char *name;
	uint32_t start, valid_for, margin;
	step_t steps[10];  /*!< Up to an empty one. */
} SCRIPTS[] = {
	{ "cached, then aged", NOW, LIFETIME, MARGIN, {
	  FRESH(0, K1, 0, 1), CACHED(0, K1, 0, 1), CACHED(LAST_GOOD, K1, 0, 1),
	  FRESH(LAST_GOOD + 1, K1, 0, 1), CACHED(LAST_GOOD + 2, K1, LAST_GOOD + 1, 1) } },
	{ "clock before the inception", NOW, LIFETIME, MARGIN, {
	  FRESH(0, K1, 0, 1), CACHED(-TH_INCEPTION_AGO, K1, 0, 1),
	  FRESH(-TH_INCEPTION_AGO - 1, K1, 0, 1) } },
	{ "too short-lived to cache", NOW, MARGIN + TTL - 1, MARGIN, {
	  FRESH(0, K1, 0, 1), FRESH(0, K1, 0, 1) } },
	{ "margin + TTL beyond 32 bits", NOW, LIFETIME, UINT32_MAX - 100, {
	  FRESH(0, K1, 0, 1), FRESH(0, K1, 0, 1) } },
	{ "rollover", NOW, LIFETIME, MARGIN, {
	  FRESH(0, K1, 0, 1), FRESH(60, K2, 0, 1), CACHED(60, K2, 60, 1) } },
	{ "another key set", NOW, LIFETIME, MARGIN, {
	  FRESH(0, K12, 0, 2), FRESH(0, K1, 0, 1), CACHED(0, K12, 0, 2) } },
	REASON(MXTRAP_KEY_MISSING), REASON(MXTRAP_KEY_UNREADABLE),
	REASON(MXTRAP_KEYSTORE_UNSUPPORTED), REASON(MXTRAP_KEYSTORE_LOGIN),
	REASON(MXTRAP_ALG_UNSUPPORTED),
	REASON(MXTRAP_SIGN_FAILED),
	{ "no signature, or more than keys", NOW, LIFETIME, MARGIN, {
	  BAD_COUNT(K1, -1), BAD_COUNT(K12, -2), BAD_COUNT(K1, 1), BAD_COUNT(K12, 1),
	  FRESH(0, K1, 0, 1), FRESH(0, K12, 0, 2) } },
	{ "fewer, renewed after 10 s", NOW, LIFETIME, MARGIN, {
	  FRESH(0, K12, -1, 1), CACHED(9, K12, 0, 1), FRESH(10, K12, -1, 1), CACHED(19, K12, 10, 1),
	  FRESH(20, K12, 0, 2), CACHED(31, K12, 20, 2), CACHED(20 + LAST_GOOD, K12, 20, 2),
	  FRESH(21 + LAST_GOOD, K12, 0, 2) } },
	{ "fewer of three", NOW, LIFETIME, MARGIN, {
	  FRESH(0, K3, -1, 2), CACHED(5, K3, 0, 2), FRESH(5, K3_2, 0, 2), FRESH(10, K3, -2, 1),
	  CACHED(19, K3, 10, 1), FRESH(20, K3, -2, 1) } },
	{ "fewer, too short-lived", NOW, MARGIN + TTL - 1, MARGIN, {
	  FRESH(0, K12, -1, 1), FRESH(0, K12, -1, 1) } },
	{ "fewer, at the clock's wrap", UINT32_MAX - 9, LIFETIME, MARGIN, {
	  FRESH(0, K12, -1, 1), CACHED(9, K12, 0, 1), FRESH(10, K12, -1, 1) } },
};

START_TEST(cache)
{
	teardown();
	setup_with(SCRIPTS[_i].margin, SCRIPTS[_i].valid_for);
	for (const step_t *s = SCRIPTS[_i].steps; s->source != MXTRAP_SIG_NONE || s->fail > 0 ||
	     s->extra != 0; s++) {
		th_stand_in.now = SCRIPTS[_i].start + s->at;
		th_stand_in.extra = s->extra;
		th_stand_in.fail = s->fail > 0;
		th_stand_in.reason = s->fail > 0 ? s->fail - 1 : 0;
		int calls = th_stand_in.calls;
		knot_pkt_t *pkt = apex(s->set);
		uint8_t *before = th_dup(pkt->wire, pkt->size);
		size_t size = pkt->size;
		mxtrap_result_t res = mxtrap_apply(&conf, pkt, signer, &query_token);
		ck_assert_msg(res.source == s->source, "%s, step %td: source %d, outcome %d (%s)",
		              SCRIPTS[_i].name, s - SCRIPTS[_i].steps, res.source, res.outcome,
		              mxtrap_reason_name(res.reason));
		ck_assert_int_eq(th_stand_in.calls, calls + (s->source != MXTRAP_SIG_CACHE));
		if (s->source == MXTRAP_SIG_NONE) {
			ck_assert_int_eq(res.outcome, MXTRAP_UNCHANGED);
			ck_assert_int_eq(res.reason, s->fail > 0 ? s->fail - 1 : MXTRAP_SIGN_FAILED);
			ck_assert_uint_eq(pkt->size, size);
			ck_assert_mem_eq(pkt->wire, before, size);
		} else {
			ck_assert_int_eq(res.outcome, MXTRAP_TRAPPED);
			assert_trapped(pkt, "example.com.", "example.com.", 2, s->set,
			               s->source == MXTRAP_SIG_FRESH, SCRIPTS[_i].start + s->made_at,
			               s->sigs);
		}
	}
}
END_TEST

/* Signed answers the module leaves exactly as they are, never asking the signing function. */
START_TEST(left_alone)
{
	knot_pkt_t *pkt = apex(K1);
	knot_rrset_t *rrsig = &pkt->rr[1];
	mxtrap_signer_t *with = signer;
	mxtrap_reason_t want = MXTRAP_UNEXPECTED;
	uint8_t rd[64];
	size_t len = th_rrsig_rdata(rd, KNOT_RRTYPE_MX, KEYS[K1][0], 2, TTL, NOW, NOW, "", 0);
	switch (_i) {
	case 0:  /* No signer. */
		with = NULL;
		want = MXTRAP_SIGNED;
		break;
	case 1:  /* A second RRSIG RRset over MX: not knotd's answer. */
		rrsig = th_rrset("example.com.", KNOT_RRTYPE_RRSIG, TTL);
		th_add(rrsig, rd, len);
		ck_assert_int_eq(knot_pkt_put(pkt, KNOT_COMPR_HINT_QNAME, rrsig, KNOT_PF_ORIGTTL),
		                 KNOT_EOK);
		break;
	case 2:  /* The RRSIG covers another type: the MX RRset is not the last one. */
		knot_wire_write_u16(rrsig->rrs.rdata->data, KNOT_RRTYPE_A);
		with = NULL;
		break;
	case 3:  /* The zone's RRSIG(MX) cut short. */
		rrsig->rrs.rdata->len = TH_RRSIG_FIXED - 1;
		break;
	case 4:  /* More labels than the owner has. */
		rrsig->rrs.rdata->data[3] = 3;
		break;
	case 5:  /* Two labels values. */
		rd[3] = 1;
		th_add(rrsig, rd, len);
		break;
	}
	uint8_t *before = th_dup(pkt->wire, pkt->size);
	size_t size = pkt->size;
	mxtrap_result_t res = mxtrap_apply(&conf, pkt, with, &query_token);
	ck_assert_int_eq(res.outcome, MXTRAP_UNCHANGED);
	ck_assert_int_eq(res.reason, want);
	ck_assert_int_eq(res.source, MXTRAP_SIG_NONE);
	ck_assert_int_eq(th_stand_in.calls, 0);
	ck_assert_uint_eq(pkt->size, size);
	ck_assert_mem_eq(pkt->wire, before, size);
	ck_assert_uint_eq(pkt->rr[0].rrs.count, 2);
}
END_TEST

/* The zone's answer fits, the merged one does not: truncated as Knot truncates, TC set. */
START_TEST(truncated)
{
	size_t fits = apex(K1)->size;
	knot_pkt_t *pkt = answer("example.com.", "example.com.", 2, K1, ZONE_MX, NULL, fits);
	mxtrap_result_t res = mxtrap_apply(&conf, pkt, signer, &query_token);
	ck_assert_int_eq(res.outcome, MXTRAP_TRUNCATED);
	ck_assert(knot_wire_get_tc(pkt->wire));
	ck_assert_uint_le(pkt->size, fits);
	ck_assert_ptr_nonnull(th_reparse(pkt));
}
END_TEST

/* mxtrap_signer_new() refuses what it cannot work with. */
START_TEST(signer_args)
{
	ck_assert_ptr_null(mxtrap_signer_new(NULL, NULL, 0, 4, NULL));
	ck_assert_ptr_null(mxtrap_signer_new(th_stand_in_sign, NULL, 0, 3, NULL));
	ck_assert_ptr_null(mxtrap_signer_new(th_stand_in_sign, NULL, 0, 0, NULL));
	mxtrap_signer_free(NULL);
	mxtrap_signer_t *one = mxtrap_signer_new(th_stand_in_sign, &th_stand_in, 77, 1, NULL);
	ck_assert_ptr_nonnull(one);
	mxtrap_signer_free(one);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mxtrap signed answers");
	TCase *tc = tcase_create("signed");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, shapes, 0, 8);
	tcase_add_loop_test(tc, cache, 0, TH_LEN(SCRIPTS));
	tcase_add_loop_test(tc, left_alone, 0, 6);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, signer_args);
	suite_add_tcase(s, tc);
	return th_run_suite(s);
}
