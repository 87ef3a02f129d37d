/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*
 * Unit tests of the signed path with a stand-in signing function that writes
 * RRSIG RDATA for the keys it is given (or returns the reason it is told to).
 * Whether real signatures validate is checked by test_keystore (libdnssec)
 * and tests/dnssec (unbound); here: which answers are rewritten, in which
 * order, with which keys, labels, TTLs and times, when the cache serves and
 * when the signing function is asked again, and that everything else leaves
 * the packet as it was.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mxtrap.h"
#include "pool.h"
#include "records.h"

#define NOW		1800000000u
#define MARGIN		3600u
#define TTL		3600u
#define LIFETIME	(14 * 86400u)
#define INCEPTION_AGO	5400u
#define ALG		13
#define ALG2		15

/*! What the caller of mxtrap_apply_dnssec() passes through to the signing function. */
static int query_token;

static struct {
	uint32_t now;                 /* The signer's clock. */
	uint32_t valid_for;           /* Signatures expire at now + valid_for. */
	mxtrap_result_t result;       /* Returned instead of signing, unless TRAPPED. */
	int extra;                    /* Signatures beyond one per key (< 0: last keys left out). */
	int calls;
	/* The last call's arguments. */
	void *query;
	mxtrap_key_tag_t keys[MXTRAP_MAX_SIGS];
	size_t count;
	uint32_t sign_now;
	uint16_t type;
	knot_dname_storage_t owner;   /* Owner the last signature was made for. */
} fake;

static uint32_t fake_clock(void)
{
	return fake.now;
}

static void put_rrsig(knot_rrset_t *rrsigs, const knot_dname_t *owner, uint16_t covered_type,
                      uint32_t ttl, mxtrap_key_tag_t key, uint32_t inception,
                      uint32_t expiration, knot_mm_t *mm)
{
	uint8_t rdata[18 + 13 + 4] = { 0 };
	knot_wire_write_u16(rdata, covered_type);
	rdata[2] = key.alg;
	rdata[3] = knot_dname_labels(owner, NULL) - (knot_dname_is_wildcard(owner) ? 1 : 0);
	knot_wire_write_u32(rdata + 4, ttl);
	knot_wire_write_u32(rdata + 8, expiration);
	knot_wire_write_u32(rdata + 12, inception);
	knot_wire_write_u16(rdata + 16, key.tag);
	memcpy(rdata + 18, "\x07""example""\x03""com", 13);
	memcpy(rdata + 31, "SIG!", 4);
	ck_assert_int_eq(knot_rrset_add_rdata(rrsigs, rdata, sizeof(rdata), mm), KNOT_EOK);
}

static mxtrap_result_t fake_sign(void *ctx, void *query, const mxtrap_key_tag_t *keys,
                                 size_t count, const knot_rrset_t *covered, uint32_t now,
                                 knot_rrset_t *rrsigs, knot_mm_t *mm)
{
	ck_assert_ptr_eq(ctx, &fake);
	ck_assert_uint_ge(count, 1);
	ck_assert_uint_le(count, MXTRAP_MAX_SIGS);
	ck_assert_uint_eq(rrsigs->rrs.count, 0);
	ck_assert_uint_eq(rrsigs->type, KNOT_RRTYPE_RRSIG);
	ck_assert_uint_eq(rrsigs->ttl, covered->ttl);
	ck_assert(knot_dname_is_equal(rrsigs->owner, covered->owner));
	fake.calls++;
	fake.query = query;
	memcpy(fake.keys, keys, count * sizeof(*keys));
	fake.count = count;
	fake.sign_now = now;
	fake.type = covered->type;
	knot_dname_copy_lower(fake.owner, covered->owner);
	if (fake.result != MXTRAP_TRAPPED) {
		return fake.result;
	}
	size_t made = (size_t)((int)count + fake.extra);
	for (size_t i = 0; i < made; i++) {
		/* The extra one: another signature by the last key. Fewer: the
		 * last keys left out, as keys the zone does not publish. */
		mxtrap_key_tag_t key = keys[i < count ? i : count - 1];
		put_rrsig(rrsigs, covered->owner, covered->type, covered->ttl, key,
		          now - INCEPTION_AGO - (i >= count), now + fake.valid_for, mm);
	}
	return MXTRAP_TRAPPED;
}

typedef struct {
	knot_pkt_t *pkt;
	mxtrap_key_tag_t zone_keys[MXTRAP_MAX_SIGS]; /* Of its RRSIG(MX), in RDATA order. */
	size_t zone_count;
} answer_t;

/*!
 * A signed answer as knotd writes it: [CNAME,] MX, [RRSIG(CNAME),] RRSIG(MX)
 * with the zone's keys \a zone_keys, the MX at \a mx_owner (wildcard: the
 * RRSIG declares \a labels labels). Everything from the pool.
 */
static void signed_answer(answer_t *a, const char *qname, const char *mx_owner, uint8_t labels,
                          const mxtrap_key_tag_t *zone_keys, size_t zone_count,
                          uint16_t max_size)
{
	memset(a, 0, sizeof(*a));
	a->pkt = knot_pkt_new(NULL, max_size, &pool);
	knot_dname_t *q = knot_dname_from_str_alloc(qname);
	ck_assert_int_eq(knot_pkt_put_question(a->pkt, q, KNOT_CLASS_IN, KNOT_RRTYPE_MX), KNOT_EOK);
	free(q);
	knot_wire_set_qr(a->pkt->wire);
	ck_assert_int_eq(knot_pkt_begin(a->pkt, KNOT_ANSWER), KNOT_EOK);

	bool cname = strcmp(qname, mx_owner) != 0;
	uint16_t mx_hint = KNOT_COMPR_HINT_QNAME;
	if (cname) {
		knot_rrset_t *c = rrset_new(qname, KNOT_RRTYPE_CNAME, 300);
		uint8_t target[KNOT_DNAME_MAXLEN];
		knot_dname_from_str(target, mx_owner, sizeof(target));
		ck_assert_int_eq(knot_rrset_add_rdata(c, target, knot_dname_size(target), &pool),
		                 KNOT_EOK);
		ck_assert_int_eq(knot_pkt_put(a->pkt, KNOT_COMPR_HINT_QNAME, c, 0), KNOT_EOK);
		mx_hint = KNOT_COMPR_HINT_NONE;
	}
	knot_rrset_t *mx = mx_rrset(mx_owner, "10 mail1.example.com. 20 mail2.example.com.");
	ck_assert_int_eq(knot_pkt_put(a->pkt, mx_hint, mx, 0), KNOT_EOK);
	uint16_t mx_owner_at = a->pkt->rr_info[a->pkt->rrset_count - 1].compress_ptr[0];

	if (cname) {
		knot_rrset_t *sig = rrset_new(qname, KNOT_RRTYPE_RRSIG, 300);
		put_rrsig(sig, sig->owner, KNOT_RRTYPE_CNAME, 300, zone_keys[0], NOW - 3600,
		          NOW + 86400 * 10, &pool);
		ck_assert_int_eq(knot_pkt_put(a->pkt, KNOT_COMPR_HINT_QNAME, sig, KNOT_PF_ORIGTTL),
		                 KNOT_EOK);
	}
	knot_rrset_t *sig = rrset_new(mx_owner, KNOT_RRTYPE_RRSIG, TTL);
	for (size_t i = 0; i < zone_count; i++) {
		put_rrsig(sig, sig->owner, KNOT_RRTYPE_MX, TTL, zone_keys[i], NOW - 3600,
		          NOW + 86400 * 10, &pool);
	}
	for (size_t i = 0; i < zone_count; i++) {
		knot_rdata_t *rd = knot_rdataset_at(&sig->rrs, i);
		rd->data[3] = labels;
		a->zone_keys[i] = (mxtrap_key_tag_t){ knot_rrsig_alg(rd), knot_rrsig_key_tag(rd) };
	}
	a->zone_count = zone_count;
	ck_assert_int_eq(knot_pkt_put(a->pkt, mx_owner_at, sig, KNOT_PF_ORIGTTL), KNOT_EOK);
}

static void answer_free(answer_t *a)
{
	knot_pkt_free(a->pkt);
}

static mxtrap_conf_t conf;
static mxtrap_signer_t *signer;

static void setup(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.now = NOW;
	fake.valid_for = LIFETIME;
	fake.result = MXTRAP_TRAPPED;
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, NULL, 0), KNOT_EOK);
	signer = mxtrap_signer_new(fake_sign, &fake, MARGIN, 4, fake_clock);
	ck_assert_ptr_nonnull(signer);
}

static void teardown(void)
{
	mxtrap_signer_free(signer);
	mxtrap_conf_deinit(&conf);
	pool_release();
}

/*! Parses the answer back; returns the parsed packet (caller frees). */
static knot_pkt_t *reparse(const knot_pkt_t *pkt)
{
	knot_pkt_t *parsed = knot_pkt_new(pkt->wire, pkt->size, NULL);
	ck_assert_int_eq(knot_pkt_parse(parsed, 0), KNOT_EOK);
	return parsed;
}

static const mxtrap_key_tag_t ZONE_KEY[] = { { ALG, 1111 } };

static mxtrap_result_t apply(answer_t *a, mxtrap_sig_source_t *source)
{
	return mxtrap_apply_dnssec(&conf, a->pkt, signer, &query_token, source);
}

static bool same_key(mxtrap_key_tag_t a, mxtrap_key_tag_t b)
{
	return a.alg == b.alg && a.tag == b.tag;
}

/*! The signing function was last given exactly the keys of the answer's RRSIG(MX), in order. */
static void assert_sign_keys(const answer_t *a)
{
	ck_assert_uint_eq(fake.count, a->zone_count);
	for (size_t i = 0; i < a->zone_count; i++) {
		ck_assert(same_key(fake.keys[i], a->zone_keys[i]));
	}
	ck_assert_ptr_eq(fake.query, &query_token);
	ck_assert_uint_eq(fake.type, KNOT_RRTYPE_MX);
}

/*!
 * The RRSIG(MX) of a trapped answer, parsed back: one per key of \a keys (as
 * a set), made at \a signed_at.
 */
static void assert_answer_sigs(const knot_pkt_t *pkt, const mxtrap_key_tag_t *keys,
                               size_t count, uint32_t signed_at)
{
	knot_pkt_t *p = reparse(pkt);
	const knot_pktsection_t *an = knot_pkt_section(p, KNOT_ANSWER);
	size_t found = 0;
	bool seen[MXTRAP_MAX_SIGS] = { false };
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		if (rr->type != KNOT_RRTYPE_RRSIG ||
		    knot_rrsig_type_covered(rr->rrs.rdata) != KNOT_RRTYPE_MX) {
			continue;
		}
		found++;
		mxtrap_key_tag_t got = { knot_rrsig_alg(rr->rrs.rdata),
		                         knot_rrsig_key_tag(rr->rrs.rdata) };
		size_t k = 0;
		while (k < count && (seen[k] || !same_key(keys[k], got))) {
			k++;
		}
		ck_assert_msg(k < count, "RRSIG(MX) by key %u/%u not asked for", got.alg, got.tag);
		seen[k] = true;
		ck_assert_uint_eq(knot_rrsig_sig_inception(rr->rrs.rdata), signed_at - INCEPTION_AGO);
		ck_assert_uint_eq(knot_rrsig_sig_expiration(rr->rrs.rdata), signed_at + fake.valid_for);
	}
	ck_assert_uint_eq(found, count);
	knot_pkt_free(p);
}

START_TEST(trapped_and_cached)
{
	for (int round = 0; round < 2; round++) {
		answer_t a;
		signed_answer(&a, "example.com.", "example.com.", 2, ZONE_KEY, 1, 65535);
		mxtrap_sig_source_t source;
		ck_assert_int_eq(apply(&a, &source), MXTRAP_TRAPPED);
		ck_assert_int_eq(source, round == 0 ? MXTRAP_SIG_FRESH : MXTRAP_SIG_CACHE);
		ck_assert_int_eq(fake.calls, 1);
		assert_sign_keys(&a);

		knot_pkt_t *p = reparse(a.pkt);
		const knot_pktsection_t *an = knot_pkt_section(p, KNOT_ANSWER);
		ck_assert_uint_eq(an->count, 4); /* 3 MX records, 1 RRSIG, one RR each when parsed */
		ck_assert_uint_eq(knot_pkt_rr(an, 0)->type, KNOT_RRTYPE_MX);
		ck_assert_uint_eq(knot_pkt_rr(an, 2)->type, KNOT_RRTYPE_MX);
		ck_assert_uint_eq(knot_wire_read_u16(knot_pkt_rr(an, 2)->rrs.rdata->data), 99);
		const knot_rrset_t *sig = knot_pkt_rr(an, 3);
		ck_assert_uint_eq(sig->type, KNOT_RRTYPE_RRSIG);
		ck_assert_uint_eq(sig->ttl, TTL);
		ck_assert_uint_eq(knot_rrsig_key_tag(sig->rrs.rdata), 1111);
		ck_assert_uint_eq(knot_rrsig_alg(sig->rrs.rdata), ALG);
		ck_assert_uint_eq(knot_rrsig_labels(sig->rrs.rdata), 2);
		ck_assert_uint_eq(knot_rrsig_sig_expiration(sig->rrs.rdata), NOW + LIFETIME);
		ck_assert(knot_dname_is_equal(fake.owner, (const knot_dname_t *)"\x07""example""\x03""com"));
		/* The packet's view is the merged RRset. */
		ck_assert_uint_eq(a.pkt->rr[0].rrs.count, 3);
		knot_pkt_free(p);
		answer_free(&a);
	}
}
END_TEST

START_TEST(cname_order_kept)
{
	answer_t a;
	signed_answer(&a, "alias.example.com.", "example.com.", 2, ZONE_KEY, 1, 65535);
	ck_assert_int_eq(apply(&a, &(mxtrap_sig_source_t){ 0 }), MXTRAP_TRAPPED);
	knot_pkt_t *p = reparse(a.pkt);
	const knot_pktsection_t *an = knot_pkt_section(p, KNOT_ANSWER);
	static const uint16_t order[] = { KNOT_RRTYPE_CNAME, KNOT_RRTYPE_MX, KNOT_RRTYPE_MX,
	                                  KNOT_RRTYPE_MX, KNOT_RRTYPE_RRSIG, KNOT_RRTYPE_RRSIG };
	ck_assert_uint_eq(an->count, 6);
	for (int i = 0; i < 6; i++) {
		ck_assert_uint_eq(knot_pkt_rr(an, i)->type, order[i]);
	}
	ck_assert_uint_eq(knot_rrsig_type_covered(knot_pkt_rr(an, 4)->rrs.rdata), KNOT_RRTYPE_CNAME);
	ck_assert_uint_eq(knot_rrsig_type_covered(knot_pkt_rr(an, 5)->rrs.rdata), KNOT_RRTYPE_MX);
	ck_assert(knot_dname_is_equal(knot_pkt_rr(an, 5)->owner,
	                              (const knot_dname_t *)"\x07""example""\x03""com"));
	knot_pkt_free(p);
	answer_free(&a);
}
END_TEST

START_TEST(wildcard_labels)
{
	answer_t a;
	signed_answer(&a, "host.wild.example.com.", "host.wild.example.com.", 3, ZONE_KEY, 1, 65535);
	ck_assert_int_eq(apply(&a, &(mxtrap_sig_source_t){ 0 }), MXTRAP_TRAPPED);
	ck_assert(knot_dname_is_equal(fake.owner,
	          (const knot_dname_t *)"\x01""*""\x04""wild""\x07""example""\x03""com"));
	knot_pkt_t *p = reparse(a.pkt);
	const knot_rrset_t *sig = knot_pkt_rr(knot_pkt_section(p, KNOT_ANSWER), 3);
	ck_assert_uint_eq(knot_rrsig_labels(sig->rrs.rdata), 3);
	ck_assert(knot_dname_is_equal(sig->owner,
	          (const knot_dname_t *)"\x04""host""\x04""wild""\x07""example""\x03""com"));
	knot_pkt_free(p);
	answer_free(&a);
}
END_TEST

/* The answer is left exactly as it was, for the reason \a expected. */
static void assert_left_alone(answer_t *a, mxtrap_signer_t *s, mxtrap_result_t expected)
{
	uint8_t before[1024];
	size_t size = a->pkt->size;
	ck_assert_uint_le(size, sizeof(before));
	memcpy(before, a->pkt->wire, size);
	mxtrap_sig_source_t source;
	ck_assert_int_eq(mxtrap_apply_dnssec(&conf, a->pkt, s, &query_token, &source), expected);
	ck_assert_int_eq(source, MXTRAP_SIG_NONE);
	ck_assert_uint_eq(a->pkt->size, size);
	ck_assert_mem_eq(a->pkt->wire, before, size);
	ck_assert_uint_eq(a->pkt->rr[0].rrs.count, 2);
}

/* Every reason not to use our signatures leaves the packet exactly as it was. */
static void assert_unchanged(const mxtrap_key_tag_t *zone_keys, size_t zone_count,
                             mxtrap_signer_t *s, mxtrap_result_t expected)
{
	answer_t a;
	signed_answer(&a, "example.com.", "example.com.", 2, zone_keys, zone_count, 65535);
	assert_left_alone(&a, s, expected);
	answer_free(&a);
}

/* knotd writes one RRSIG RRset per RRset; a second one over MX is not its
 * answer: left as it is rather than given the new RRSIGs twice. */
START_TEST(second_mx_rrsig_set)
{
	answer_t a;
	signed_answer(&a, "example.com.", "example.com.", 2, ZONE_KEY, 1, 65535);
	knot_rrset_t *sig = rrset_new("example.com.", KNOT_RRTYPE_RRSIG, TTL);
	put_rrsig(sig, sig->owner, KNOT_RRTYPE_MX, TTL, ZONE_KEY[0], NOW - 3600, NOW + 86400 * 10,
	          &pool);
	ck_assert_int_eq(knot_pkt_put(a.pkt, KNOT_COMPR_HINT_QNAME, sig, KNOT_PF_ORIGTTL), KNOT_EOK);
	assert_left_alone(&a, signer, MXTRAP_UNCHANGED_UNEXPECTED);
	ck_assert_int_eq(fake.calls, 0);
	answer_free(&a);
}
END_TEST

/* Two keys of two algorithms: both are given to the signing function, one RRSIG each. */
START_TEST(two_keys_two_algorithms)
{
	static const mxtrap_key_tag_t two[] = { { ALG2, 3333 }, { ALG, 1111 } };
	answer_t a;
	signed_answer(&a, "example.com.", "example.com.", 2, two, 2, 65535);
	mxtrap_sig_source_t source;
	ck_assert_int_eq(apply(&a, &source), MXTRAP_TRAPPED);
	ck_assert_int_eq(source, MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 1);
	assert_sign_keys(&a);
	assert_answer_sigs(a.pkt, two, 2, NOW);
	knot_pkt_t *p = reparse(a.pkt);
	ck_assert_uint_eq(knot_pkt_section(p, KNOT_ANSWER)->count, 5);
	knot_pkt_free(p);
	answer_free(&a);

	/* One of the two keys only: not the cached pair, signed again with that key. */
	signed_answer(&a, "example.com.", "example.com.", 2, &two[1], 1, 65535);
	ck_assert_int_eq(apply(&a, &source), MXTRAP_TRAPPED);
	ck_assert_int_eq(source, MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 2);
	assert_sign_keys(&a);
	assert_answer_sigs(a.pkt, &two[1], 1, NOW);
	answer_free(&a);
}
END_TEST

/* A key rollover: the zone's RRSIG(MX) names another key; its signatures, not the cached ones. */
START_TEST(rollover)
{
	static const mxtrap_key_tag_t NEW_KEY[] = { { ALG, 2222 } };
	answer_t a;
	mxtrap_sig_source_t source;
	signed_answer(&a, "example.com.", "example.com.", 2, ZONE_KEY, 1, 65535);
	ck_assert_int_eq(apply(&a, &source), MXTRAP_TRAPPED);
	ck_assert_int_eq(source, MXTRAP_SIG_FRESH);
	assert_answer_sigs(a.pkt, ZONE_KEY, 1, NOW);
	answer_free(&a);

	fake.now = NOW + 60;
	signed_answer(&a, "example.com.", "example.com.", 2, NEW_KEY, 1, 65535);
	ck_assert_int_eq(apply(&a, &source), MXTRAP_TRAPPED);
	ck_assert_int_eq(source, MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 2);
	assert_sign_keys(&a);
	assert_answer_sigs(a.pkt, NEW_KEY, 1, NOW + 60);
	answer_free(&a);

	/* The new key's signatures are cached in turn. */
	signed_answer(&a, "example.com.", "example.com.", 2, NEW_KEY, 1, 65535);
	ck_assert_int_eq(apply(&a, &source), MXTRAP_TRAPPED);
	ck_assert_int_eq(source, MXTRAP_SIG_CACHE);
	ck_assert_int_eq(fake.calls, 2);
	assert_answer_sigs(a.pkt, NEW_KEY, 1, NOW + 60);
	answer_free(&a);
}
END_TEST

/*!
 * Applies to a fresh answer signed by \a key at clock \a now: trapped, with
 * signatures made at \a signed_at; returns their source.
 */
static mxtrap_sig_source_t apply_key_at(mxtrap_key_tag_t key, uint32_t now, uint32_t signed_at)
{
	fake.now = now;
	answer_t a;
	mxtrap_sig_source_t source;
	signed_answer(&a, "example.com.", "example.com.", 2, &key, 1, 65535);
	ck_assert_int_eq(apply(&a, &source), MXTRAP_TRAPPED);
	assert_answer_sigs(a.pkt, &key, 1, signed_at);
	if (source == MXTRAP_SIG_FRESH) {
		assert_sign_keys(&a);
		ck_assert_uint_eq(fake.sign_now, now);
	}
	answer_free(&a);
	return source;
}

static mxtrap_sig_source_t apply_at(uint32_t now, uint32_t signed_at)
{
	return apply_key_at(ZONE_KEY[0], now, signed_at);
}

/* Cached signatures are served while valid for margin + TTL; then signed again. */
START_TEST(ageing)
{
	ck_assert_int_eq(apply_at(NOW, NOW), MXTRAP_SIG_FRESH);
	/* Exactly margin + TTL left: still good. */
	uint32_t last_good = NOW + LIFETIME - MARGIN - TTL;
	ck_assert_int_eq(apply_at(last_good, NOW), MXTRAP_SIG_CACHE);
	ck_assert_int_eq(fake.calls, 1);
	/* One second less: signed again, valid from the signer's clock. */
	ck_assert_int_eq(apply_at(last_good + 1, last_good + 1), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 2);
	ck_assert_uint_eq(fake.sign_now, last_good + 1);
	ck_assert_int_eq(apply_at(last_good + 2, last_good + 1), MXTRAP_SIG_CACHE);
	ck_assert_int_eq(fake.calls, 2);
}
END_TEST

/* A clock before the cached signatures' inception: signed again. */
START_TEST(clock_before_inception)
{
	ck_assert_int_eq(apply_at(NOW, NOW), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(apply_at(NOW - INCEPTION_AGO, NOW), MXTRAP_SIG_CACHE);
	ck_assert_int_eq(apply_at(NOW - INCEPTION_AGO - 1, NOW - INCEPTION_AGO - 1),
	                 MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 2);
}
END_TEST

/* Signatures too short-lived for margin + TTL are served once, never from the cache. */
START_TEST(short_lived_not_cached)
{
	fake.valid_for = MARGIN + TTL - 1;
	ck_assert_int_eq(apply_at(NOW, NOW), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(apply_at(NOW, NOW), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 2);
	fake.valid_for = MARGIN + TTL;
	ck_assert_int_eq(apply_at(NOW, NOW), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(apply_at(NOW, NOW), MXTRAP_SIG_CACHE);
	ck_assert_int_eq(fake.calls, 3);
}
END_TEST

/* Each reason of the signing function: returned, the answer left alone, nothing cached. */
START_TEST(sign_reasons)
{
	static const mxtrap_result_t reasons[] = {
		MXTRAP_UNCHANGED_KEY_MISSING, MXTRAP_UNCHANGED_KEY_UNREADABLE,
		MXTRAP_UNCHANGED_KEYSTORE_UNSUPPORTED, MXTRAP_UNCHANGED_ALG_UNSUPPORTED,
		MXTRAP_UNCHANGED_SIGN_FAILED,
	};
	for (size_t i = 0; i < sizeof(reasons) / sizeof(*reasons); i++) {
		/* A key of its own per reason: nothing of an earlier round is cached. */
		mxtrap_key_tag_t key = { ALG, 5000 + i };
		fake.result = reasons[i];
		assert_unchanged(&key, 1, signer, reasons[i]);
		ck_assert_int_eq(fake.calls, (int)(2 * i + 1));
		ck_assert_uint_eq(fake.count, 1);
		ck_assert(same_key(fake.keys[0], key));
		/* Asked again for the next answer, which it now signs. */
		fake.result = MXTRAP_TRAPPED;
		ck_assert_int_eq(apply_key_at(key, NOW, NOW), MXTRAP_SIG_FRESH);
		ck_assert_int_eq(fake.calls, (int)(2 * i + 2));
	}
}
END_TEST

/* TRAPPED with no signature or one too many: sign-failed, the answer left alone. */
START_TEST(wrong_signature_count)
{
	static const mxtrap_key_tag_t two[] = { { ALG, 1111 }, { ALG2, 3333 } };
	fake.extra = -1;   /* One key, none made. */
	assert_unchanged(ZONE_KEY, 1, signer, MXTRAP_UNCHANGED_SIGN_FAILED);
	fake.extra = -2;   /* Two keys, none made. */
	assert_unchanged(two, 2, signer, MXTRAP_UNCHANGED_SIGN_FAILED);
	fake.extra = 1;
	assert_unchanged(ZONE_KEY, 1, signer, MXTRAP_UNCHANGED_SIGN_FAILED);
	assert_unchanged(two, 2, signer, MXTRAP_UNCHANGED_SIGN_FAILED);
	ck_assert_int_eq(fake.calls, 4);
	/* Not cached: signed again. */
	fake.extra = 0;
	ck_assert_int_eq(apply_at(NOW, NOW), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 5);
	answer_t a;
	mxtrap_sig_source_t source;
	signed_answer(&a, "example.com.", "example.com.", 2, two, 2, 65535);
	ck_assert_int_eq(apply(&a, &source), MXTRAP_TRAPPED);
	ck_assert_int_eq(source, MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 6);
	assert_answer_sigs(a.pkt, two, 2, NOW);
	answer_free(&a);
}
END_TEST

/*!
 * Applies to a fresh answer whose RRSIG(MX) is by \a keys at clock \a now:
 * trapped, with exactly the signatures of the first \a made keys of its
 * RRSIG(MX) (in RDATA order, as the signing function is given them: the
 * stand-in leaves out the last ones), made at \a signed_at; returns their
 * source.
 */
static mxtrap_sig_source_t apply_keys_at(const mxtrap_key_tag_t *keys, size_t count, size_t made,
                                         uint32_t now, uint32_t signed_at)
{
	fake.now = now;
	answer_t a;
	mxtrap_sig_source_t source = MXTRAP_SIG_NONE;
	signed_answer(&a, "example.com.", "example.com.", 2, keys, count, 65535);
	int calls = fake.calls;
	ck_assert_int_eq(apply(&a, &source), MXTRAP_TRAPPED);
	ck_assert_int_eq(fake.calls, calls + (source == MXTRAP_SIG_FRESH));
	assert_answer_sigs(a.pkt, a.zone_keys, made, signed_at);
	knot_pkt_t *p = reparse(a.pkt);
	/* 3 MX records, then the RRSIGs: nothing else, nothing twice. */
	ck_assert_uint_eq(knot_pkt_section(p, KNOT_ANSWER)->count, 3 + made);
	knot_pkt_free(p);
	ck_assert_uint_eq(a.pkt->rr[0].rrs.count, 3);
	if (source == MXTRAP_SIG_FRESH) {
		/* Asked for every key, whatever it signed with. */
		assert_sign_keys(&a);
		ck_assert_uint_eq(fake.sign_now, now);
	}
	answer_free(&a);
	return source;
}

/*
 * TRAPPED with fewer signatures than keys (at least one; keys the zone does
 * not publish are left out): served with those, from the cache for
 * PARTIAL_RENEW (10) seconds only, then signed again; a full set then is
 * cached as long as it is valid for margin + TTL.
 */
START_TEST(fewer_signatures_renewed)
{
	static const mxtrap_key_tag_t two[] = { { ALG, 1111 }, { ALG2, 3333 } };
	fake.extra = -1;
	ck_assert_int_eq(apply_keys_at(two, 2, 1, NOW, NOW), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 1);
	ck_assert_int_eq(apply_keys_at(two, 2, 1, NOW, NOW), MXTRAP_SIG_CACHE);
	ck_assert_int_eq(apply_keys_at(two, 2, 1, NOW + 9, NOW), MXTRAP_SIG_CACHE);
	ck_assert_int_eq(fake.calls, 1);
	/* 10 s later: signed again, still one key left out: 10 s more. */
	ck_assert_int_eq(apply_keys_at(two, 2, 1, NOW + 10, NOW + 10), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 2);
	ck_assert_int_eq(apply_keys_at(two, 2, 1, NOW + 19, NOW + 10), MXTRAP_SIG_CACHE);
	ck_assert_int_eq(fake.calls, 2);
	/* The other key published: the full set replaces the partial one... */
	fake.extra = 0;
	ck_assert_int_eq(apply_keys_at(two, 2, 2, NOW + 20, NOW + 20), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 3);
	/* ... and is served for as long as it is valid for margin + TTL. */
	ck_assert_int_eq(apply_keys_at(two, 2, 2, NOW + 31, NOW + 20), MXTRAP_SIG_CACHE);
	uint32_t last_good = NOW + 20 + LIFETIME - MARGIN - TTL;
	ck_assert_int_eq(apply_keys_at(two, 2, 2, last_good, NOW + 20), MXTRAP_SIG_CACHE);
	ck_assert_int_eq(fake.calls, 3);
	ck_assert_int_eq(apply_keys_at(two, 2, 2, last_good + 1, last_good + 1), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 4);
}
END_TEST

/* Three keys, two signatures: the same; the set is not the one for other keys. */
START_TEST(fewer_signatures_of_three)
{
	static const mxtrap_key_tag_t three[] = { { ALG, 1111 }, { ALG2, 3333 }, { ALG, 2222 } };
	fake.extra = -1;
	ck_assert_int_eq(apply_keys_at(three, 3, 2, NOW, NOW), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(apply_keys_at(three, 3, 2, NOW + 5, NOW), MXTRAP_SIG_CACHE);
	/* Two of the three keys asked: another cache entry, a full set of two. */
	fake.extra = 0;
	ck_assert_int_eq(apply_keys_at(three, 2, 2, NOW + 5, NOW + 5), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 2);
	fake.extra = -2;  /* One of three. */
	ck_assert_int_eq(apply_keys_at(three, 3, 1, NOW + 10, NOW + 10), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(apply_keys_at(three, 3, 1, NOW + 19, NOW + 10), MXTRAP_SIG_CACHE);
	ck_assert_int_eq(apply_keys_at(three, 3, 1, NOW + 20, NOW + 20), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 4);
}
END_TEST

/* Fewer signatures, too short-lived for margin + TTL: never from the cache. */
START_TEST(fewer_signatures_short_lived)
{
	static const mxtrap_key_tag_t two[] = { { ALG, 1111 }, { ALG2, 3333 } };
	fake.extra = -1;
	fake.valid_for = MARGIN + TTL - 1;
	ck_assert_int_eq(apply_keys_at(two, 2, 1, NOW, NOW), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(apply_keys_at(two, 2, 1, NOW, NOW), MXTRAP_SIG_FRESH);
	ck_assert_int_eq(fake.calls, 2);
}
END_TEST

START_TEST(no_signer)
{
	assert_unchanged(ZONE_KEY, 1, NULL, MXTRAP_UNCHANGED_SIGNED);
	ck_assert_int_eq(fake.calls, 0);
}
END_TEST

START_TEST(too_large_truncates)
{
	/* Find a size where the zone's answer fits and the merged one does not. */
	answer_t a;
	signed_answer(&a, "example.com.", "example.com.", 2, ZONE_KEY, 1, 65535);
	uint16_t fits = a.pkt->size;
	answer_free(&a);

	signed_answer(&a, "example.com.", "example.com.", 2, ZONE_KEY, 1, fits);
	ck_assert_int_eq(apply(&a, &(mxtrap_sig_source_t){ 0 }), MXTRAP_TRUNCATED);
	ck_assert(knot_wire_get_tc(a.pkt->wire));
	ck_assert_uint_le(a.pkt->size, fits);
	knot_pkt_t *p = reparse(a.pkt);
	knot_pkt_free(p);
	answer_free(&a);
}
END_TEST

START_TEST(signer_args)
{
	ck_assert_ptr_null(mxtrap_signer_new(NULL, NULL, 0, 4, NULL));
	ck_assert_ptr_null(mxtrap_signer_new(fake_sign, NULL, 0, 3, NULL));
	ck_assert_ptr_null(mxtrap_signer_new(fake_sign, NULL, 0, 0, NULL));
	mxtrap_signer_free(NULL);
	mxtrap_signer_t *s = mxtrap_signer_new(fake_sign, &fake, 77, 1, NULL);
	ck_assert_ptr_nonnull(s);
	mxtrap_signer_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mxtrap signed answers");
	TCase *tc = tcase_create("signed");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, trapped_and_cached);
	tcase_add_test(tc, cname_order_kept);
	tcase_add_test(tc, wildcard_labels);
	tcase_add_test(tc, second_mx_rrsig_set);
	tcase_add_test(tc, two_keys_two_algorithms);
	tcase_add_test(tc, rollover);
	tcase_add_test(tc, ageing);
	tcase_add_test(tc, clock_before_inception);
	tcase_add_test(tc, short_lived_not_cached);
	tcase_add_test(tc, sign_reasons);
	tcase_add_test(tc, wrong_signature_count);
	tcase_add_test(tc, fewer_signatures_renewed);
	tcase_add_test(tc, fewer_signatures_of_three);
	tcase_add_test(tc, fewer_signatures_short_lived);
	tcase_add_test(tc, no_signer);
	tcase_add_test(tc, too_large_truncates);
	tcase_add_test(tc, signer_args);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
