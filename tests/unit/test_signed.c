/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*
 * Unit tests of the signed path with a stand-in signer that writes RRSIG
 * RDATA for configured (algorithm, key tag) pairs. Whether real signatures
 * validate is checked by tests/dnssec with unbound; here: which answers are
 * rewritten, in which order, with which keys, labels, TTLs and times, and
 * that everything else leaves the packet as it was.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mxtrap.h"
#include "pool.h"

#define NOW		1800000000u
#define MARGIN		3600u
#define ALG		13

static struct {
	uint16_t tags[4];
	size_t count;
	uint32_t valid_for;
	int calls;
	int fail;
	knot_dname_storage_t owner;   /* Owner the last signature was made for. */
} fake;

static uint32_t fake_clock(void)
{
	return NOW;
}

static void put_rrsig(knot_rrset_t *rrsigs, const knot_dname_t *owner, uint16_t covered_type,
                      uint32_t ttl, uint16_t tag, uint32_t expiration, knot_mm_t *mm)
{
	uint8_t rdata[18 + 13 + 4] = { 0 };
	knot_wire_write_u16(rdata, covered_type);
	rdata[2] = ALG;
	rdata[3] = knot_dname_labels(owner, NULL) - (knot_dname_is_wildcard(owner) ? 1 : 0);
	knot_wire_write_u32(rdata + 4, ttl);
	knot_wire_write_u32(rdata + 8, expiration);
	knot_wire_write_u32(rdata + 12, NOW - 5400);
	knot_wire_write_u16(rdata + 16, tag);
	memcpy(rdata + 18, "\x07""example""\x03""com", 13);
	memcpy(rdata + 31, "SIG!", 4);
	ck_assert_int_eq(knot_rrset_add_rdata(rrsigs, rdata, sizeof(rdata), mm), KNOT_EOK);
}

static int fake_sign(void *ctx, knot_rrset_t *rrsigs, const knot_rrset_t *covered, knot_mm_t *mm)
{
	(void)ctx;
	fake.calls++;
	if (fake.fail) {
		return KNOT_ERROR;
	}
	knot_dname_copy_lower(fake.owner, covered->owner);
	for (size_t i = 0; i < fake.count; i++) {
		put_rrsig(rrsigs, covered->owner, covered->type, covered->ttl, fake.tags[i],
		          NOW + fake.valid_for, mm);
	}
	return KNOT_EOK;
}

static knot_rrset_t *rrset(const char *owner, uint16_t type, uint32_t ttl)
{
	knot_dname_t *name = knot_dname_from_str_alloc(owner);
	knot_rrset_t *rr = knot_rrset_new(name, type, KNOT_CLASS_IN, ttl, NULL);
	free(name);
	ck_assert_ptr_nonnull(rr);
	return rr;
}

static void add_mx(knot_rrset_t *rr, uint16_t pref, const char *name)
{
	uint8_t rdata[2 + KNOT_DNAME_MAXLEN];
	knot_wire_write_u16(rdata, pref);
	knot_dname_from_str(rdata + 2, name, KNOT_DNAME_MAXLEN);
	ck_assert_int_eq(knot_rrset_add_rdata(rr, rdata, 2 + knot_dname_size(rdata + 2), NULL),
	                 KNOT_EOK);
}

typedef struct {
	knot_pkt_t *pkt;
	knot_rrset_t *rrsets[6];
	size_t count;
} answer_t;

/*!
 * A signed answer as knotd writes it: [CNAME,] MX, [RRSIG(CNAME),] RRSIG(MX)
 * with the zone's keys \a zone_tags, the MX at \a mx_owner (wildcard: the
 * RRSIG declares \a labels labels).
 */
static void signed_answer(answer_t *a, const char *qname, const char *mx_owner, uint8_t labels,
                          const uint16_t *zone_tags, size_t zone_count, uint16_t max_size)
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
		knot_rrset_t *c = rrset(qname, KNOT_RRTYPE_CNAME, 300);
		uint8_t target[KNOT_DNAME_MAXLEN];
		knot_dname_from_str(target, mx_owner, sizeof(target));
		ck_assert_int_eq(knot_rrset_add_rdata(c, target, knot_dname_size(target), NULL), KNOT_EOK);
		ck_assert_int_eq(knot_pkt_put(a->pkt, KNOT_COMPR_HINT_QNAME, c, 0), KNOT_EOK);
		a->rrsets[a->count++] = c;
		mx_hint = KNOT_COMPR_HINT_NONE;
	}
	knot_rrset_t *mx = rrset(mx_owner, KNOT_RRTYPE_MX, 3600);
	add_mx(mx, 10, "mail1.example.com.");
	add_mx(mx, 20, "mail2.example.com.");
	ck_assert_int_eq(knot_pkt_put(a->pkt, mx_hint, mx, 0), KNOT_EOK);
	a->rrsets[a->count++] = mx;
	uint16_t mx_owner_at = a->pkt->rr_info[a->pkt->rrset_count - 1].compress_ptr[0];

	if (cname) {
		knot_rrset_t *sig = rrset(qname, KNOT_RRTYPE_RRSIG, 300);
		put_rrsig(sig, sig->owner, KNOT_RRTYPE_CNAME, 300, zone_tags[0], NOW + 86400 * 10, NULL);
		ck_assert_int_eq(knot_pkt_put(a->pkt, KNOT_COMPR_HINT_QNAME, sig, KNOT_PF_ORIGTTL),
		                 KNOT_EOK);
		a->rrsets[a->count++] = sig;
	}
	knot_rrset_t *sig = rrset(mx_owner, KNOT_RRTYPE_RRSIG, 3600);
	for (size_t i = 0; i < zone_count; i++) {
		put_rrsig(sig, sig->owner, KNOT_RRTYPE_MX, 3600, zone_tags[i], NOW + 86400 * 10, NULL);
		knot_rdata_t *rd = knot_rdataset_at(&sig->rrs, i);
		rd->data[3] = labels;
	}
	ck_assert_int_eq(knot_pkt_put(a->pkt, mx_owner_at, sig, KNOT_PF_ORIGTTL), KNOT_EOK);
	a->rrsets[a->count++] = sig;
}

static void answer_free(answer_t *a)
{
	knot_pkt_free(a->pkt);
	for (size_t i = 0; i < a->count; i++) {
		knot_rrset_free(a->rrsets[i], NULL);
	}
}

static mxtrap_conf_t conf;
static mxtrap_signer_t *signer;

static void setup(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.tags[0] = 1111;
	fake.count = 1;
	fake.valid_for = 14 * 86400;
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, NULL, 0), KNOT_EOK);
	signer = mxtrap_signer_new(fake_sign, NULL, MARGIN, 4, fake_clock);
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

static const uint16_t ZONE_KEY[] = { 1111 };

START_TEST(trapped_and_cached)
{
	for (int round = 0; round < 2; round++) {
		answer_t a;
		signed_answer(&a, "example.com.", "example.com.", 2, ZONE_KEY, 1, 65535);
		mxtrap_sig_source_t source;
		ck_assert_int_eq(mxtrap_apply_dnssec(&conf, a.pkt, signer, &source), MXTRAP_TRAPPED);
		ck_assert_int_eq(source, round == 0 ? MXTRAP_SIG_FRESH : MXTRAP_SIG_CACHE);
		ck_assert_int_eq(fake.calls, 1);

		knot_pkt_t *p = reparse(a.pkt);
		const knot_pktsection_t *an = knot_pkt_section(p, KNOT_ANSWER);
		ck_assert_uint_eq(an->count, 4); /* 3 MX records, 1 RRSIG, one RR each when parsed */
		ck_assert_uint_eq(knot_pkt_rr(an, 0)->type, KNOT_RRTYPE_MX);
		ck_assert_uint_eq(knot_pkt_rr(an, 2)->type, KNOT_RRTYPE_MX);
		ck_assert_uint_eq(knot_wire_read_u16(knot_pkt_rr(an, 2)->rrs.rdata->data), 99);
		const knot_rrset_t *sig = knot_pkt_rr(an, 3);
		ck_assert_uint_eq(sig->type, KNOT_RRTYPE_RRSIG);
		ck_assert_uint_eq(sig->ttl, 3600);
		ck_assert_uint_eq(knot_rrsig_key_tag(sig->rrs.rdata), 1111);
		ck_assert_uint_eq(knot_rrsig_labels(sig->rrs.rdata), 2);
		ck_assert_uint_eq(knot_rrsig_sig_expiration(sig->rrs.rdata), NOW + 14 * 86400);
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
	ck_assert_int_eq(mxtrap_apply_dnssec(&conf, a.pkt, signer, &(mxtrap_sig_source_t){ 0 }), MXTRAP_TRAPPED);
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
	ck_assert_int_eq(mxtrap_apply_dnssec(&conf, a.pkt, signer, &(mxtrap_sig_source_t){ 0 }), MXTRAP_TRAPPED);
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
	ck_assert_int_eq(mxtrap_apply_dnssec(&conf, a->pkt, s, &source), expected);
	ck_assert_int_eq(source, MXTRAP_SIG_NONE);
	ck_assert_uint_eq(a->pkt->size, size);
	ck_assert_mem_eq(a->pkt->wire, before, size);
	ck_assert_uint_eq(a->pkt->rr[0].rrs.count, 2);
}

/* Every reason not to use our signatures leaves the packet exactly as it was. */
static void assert_unchanged(const uint16_t *zone_tags, size_t zone_count, mxtrap_signer_t *s,
                             mxtrap_result_t expected)
{
	answer_t a;
	signed_answer(&a, "example.com.", "example.com.", 2, zone_tags, zone_count, 65535);
	assert_left_alone(&a, s, expected);
	answer_free(&a);
}

/* knotd writes one RRSIG RRset per RRset; a second one over MX is not its
 * answer: left as it is rather than given the new RRSIGs twice. */
START_TEST(second_mx_rrsig_set)
{
	answer_t a;
	signed_answer(&a, "example.com.", "example.com.", 2, ZONE_KEY, 1, 65535);
	knot_rrset_t *sig = rrset("example.com.", KNOT_RRTYPE_RRSIG, 3600);
	put_rrsig(sig, sig->owner, KNOT_RRTYPE_MX, 3600, ZONE_KEY[0], NOW + 86400 * 10, NULL);
	ck_assert_int_eq(knot_pkt_put(a.pkt, KNOT_COMPR_HINT_QNAME, sig, KNOT_PF_ORIGTTL), KNOT_EOK);
	a.rrsets[a.count++] = sig;
	assert_left_alone(&a, signer, MXTRAP_UNCHANGED_UNEXPECTED);
	ck_assert_int_eq(fake.calls, 0);
	answer_free(&a);
}
END_TEST

START_TEST(other_key)
{
	fake.tags[0] = 2222;
	assert_unchanged(ZONE_KEY, 1, signer, MXTRAP_UNCHANGED_KEY_MISMATCH);
}
END_TEST

START_TEST(fewer_keys_than_zone)
{
	static const uint16_t two[] = { 1111, 3333 };
	assert_unchanged(two, 2, signer, MXTRAP_UNCHANGED_KEY_MISMATCH);
}
END_TEST

START_TEST(more_keys_than_zone)
{
	fake.tags[1] = 3333;
	fake.count = 2;
	assert_unchanged(ZONE_KEY, 1, signer, MXTRAP_UNCHANGED_KEY_MISMATCH);
}
END_TEST

START_TEST(both_keys)
{
	static const uint16_t two[] = { 3333, 1111 };
	fake.tags[1] = 3333;
	fake.count = 2;
	answer_t a;
	signed_answer(&a, "example.com.", "example.com.", 2, two, 2, 65535);
	ck_assert_int_eq(mxtrap_apply_dnssec(&conf, a.pkt, signer, &(mxtrap_sig_source_t){ 0 }), MXTRAP_TRAPPED);
	knot_pkt_t *p = reparse(a.pkt);
	ck_assert_uint_eq(knot_pkt_section(p, KNOT_ANSWER)->count, 5);
	knot_pkt_free(p);
	answer_free(&a);
}
END_TEST

START_TEST(expiring)
{
	/* Valid for the margin plus the TTL, less one second: not good enough. */
	fake.valid_for = MARGIN + 3600 - 1;
	assert_unchanged(ZONE_KEY, 1, signer, MXTRAP_UNCHANGED_EXPIRING);
	fake.valid_for = MARGIN + 3600;
	mxtrap_signer_t *fresh = mxtrap_signer_new(fake_sign, NULL, MARGIN, 4, fake_clock);
	answer_t a;
	signed_answer(&a, "example.com.", "example.com.", 2, ZONE_KEY, 1, 65535);
	ck_assert_int_eq(mxtrap_apply_dnssec(&conf, a.pkt, fresh, &(mxtrap_sig_source_t){ 0 }), MXTRAP_TRAPPED);
	answer_free(&a);
	mxtrap_signer_free(fresh);
}
END_TEST

START_TEST(sign_failed)
{
	fake.fail = 1;
	assert_unchanged(ZONE_KEY, 1, signer, MXTRAP_UNCHANGED_SIGN_FAILED);
	fake.fail = 0;
	fake.count = 0; /* No key signs. */
	assert_unchanged(ZONE_KEY, 1, signer, MXTRAP_UNCHANGED_SIGN_FAILED);
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
	ck_assert_int_eq(mxtrap_apply_dnssec(&conf, a.pkt, signer, &(mxtrap_sig_source_t){ 0 }), MXTRAP_TRUNCATED);
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
	mxtrap_signer_t *s = mxtrap_signer_new(fake_sign, NULL, 77, 1, NULL);
	ck_assert_uint_eq(mxtrap_signer_margin(s), 77);
	ck_assert_uint_ge(mxtrap_signer_now(s), NOW - 86400 * 365 * 10);
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
	tcase_add_test(tc, other_key);
	tcase_add_test(tc, fewer_keys_than_zone);
	tcase_add_test(tc, more_keys_than_zone);
	tcase_add_test(tc, both_keys);
	tcase_add_test(tc, expiring);
	tcase_add_test(tc, sign_failed);
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
