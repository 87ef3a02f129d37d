/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*
 * Unit tests of the core on packets built with libknot. The oracle for every
 * trapped answer is the packet libknot writes when the merged RRset (zone
 * records plus trap records) is put in one go, i.e. what knotd sends when
 * the trap is written into the zone: the core's packet must equal it byte
 * for byte.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtrap.h"
#include "pool.h"
#include "records.h"

/*! How a test packet is laid out before the module runs. */
typedef struct {
	const char *qname;
	const char *cname_target;  /* NULL: MX at QNAME; else QNAME CNAME target, MX at target. */
	uint16_t max_size;
	uint16_t reserved;
	uint16_t flags;            /* Put flags of the MX RRset (KNOT_PF_NOTRUNC: TCP). */
} layout_t;

/*! Builds a response whose ANSWER ends with the given MX RRset; returns the put result. */
static knot_pkt_t *response(const layout_t *lay, const knot_rrset_t *mx, int *put_ret)
{
	knot_pkt_t *pkt = knot_pkt_new(NULL, lay->max_size ? lay->max_size : KNOT_WIRE_MAX_PKTSIZE,
	                               &pool);
	ck_assert_ptr_nonnull(pkt);
	knot_dname_t *qname = knot_dname_from_str_alloc(lay->qname);
	ck_assert_int_eq(knot_pkt_put_question(pkt, qname, KNOT_CLASS_IN, KNOT_RRTYPE_MX), KNOT_EOK);
	free(qname);
	knot_wire_set_qr(pkt->wire);
	knot_wire_set_aa(pkt->wire);
	if (lay->reserved > 0) {
		ck_assert_int_eq(knot_pkt_reserve(pkt, lay->reserved), KNOT_EOK);
	}
	ck_assert_int_eq(knot_pkt_begin(pkt, KNOT_ANSWER), KNOT_EOK);

	uint16_t hint = KNOT_COMPR_HINT_QNAME;
	if (lay->cname_target != NULL) {
		knot_rrset_t *cname = rrset_new(lay->qname, KNOT_RRTYPE_CNAME, 300);
		uint8_t target[KNOT_DNAME_MAXLEN];
		knot_dname_from_str(target, lay->cname_target, sizeof(target));
		ck_assert_int_eq(knot_rrset_add_rdata(cname, target, knot_dname_size(target), &pool),
		                 KNOT_EOK);
		ck_assert_int_eq(knot_pkt_put(pkt, hint, cname, 0), KNOT_EOK);
		hint = KNOT_COMPR_HINT_NONE;
	}
	*put_ret = knot_pkt_put(pkt, hint, mx, lay->flags);
	return pkt;
}

static void assert_wire_equal(const knot_pkt_t *got, const knot_pkt_t *want)
{
	ck_assert_uint_eq(got->size, want->size);
	for (size_t i = 0; i < want->size; i++) {
		ck_assert_msg(got->wire[i] == want->wire[i],
		              "wire differs at byte %zu: 0x%02x, expected 0x%02x",
		              i, got->wire[i], want->wire[i]);
	}
}

/*! One case: zone records, configuration, expected outcome and trap records. */
typedef struct {
	const char *name;
	const char *records;
	uint16_t preference;
	bool require_backup;
	const char *exchanges[4];  /* NULL-terminated; empty: the primaries. */
	mxtrap_result_t result;
	const char *traps;         /* Expected trap records, NULL if none. */
} mx_case_t;

static const mx_case_t MX_CASES[] = {
	{ "apex", "10 mail1.example.com. 20 mail2.example.com.", 99, true, { NULL },
	  MXTRAP_TRAPPED, "99 mail1.example.com." },
	{ "several primaries", "10 a.example.com. 10 b.example.com. 20 c.example.com.", 99, true,
	  { NULL }, MXTRAP_TRAPPED, "99 a.example.com. 99 b.example.com." },
	{ "mixed case", "10 MAIL1.Example.COM. 20 mail2.example.com.", 99, true, { NULL },
	  MXTRAP_TRAPPED, "99 MAIL1.Example.COM." },
	{ "out of zone", "10 mx1.provider.net. 20 mx2.other.org.", 99, true, { NULL },
	  MXTRAP_TRAPPED, "99 mx1.provider.net." },
	{ "backup at 100", "10 mail1.example.com. 100 mail2.example.com.", 99, true, { NULL },
	  MXTRAP_TRAPPED, "101 mail1.example.com." },
	{ "backup at 65534", "10 mail1.example.com. 65534 mail2.example.com.", 99, true, { NULL },
	  MXTRAP_TRAPPED, "65535 mail1.example.com." },
	{ "preference above", "10 mail1.example.com. 20 mail2.example.com.", 500, true, { NULL },
	  MXTRAP_TRAPPED, "500 mail1.example.com." },
	{ "preference below", "10 mail1.example.com. 20 mail2.example.com.", 5, true, { NULL },
	  MXTRAP_TRAPPED, "21 mail1.example.com." },
	{ "preference 0", "0 mail1.example.com. 1 mail2.example.com.", 0, true, { NULL },
	  MXTRAP_TRAPPED, "2 mail1.example.com." },
	{ "single, backup not required", "10 mail1.example.com.", 99, false, { NULL },
	  MXTRAP_TRAPPED, "99 mail1.example.com." },
	{ "equal pair, backup not required", "10 a.example.com. 10 b.example.com.", 99, false,
	  { NULL }, MXTRAP_TRAPPED, "99 a.example.com. 99 b.example.com." },
	{ "exchange set", "10 mail1.example.com. 20 mail2.example.com.", 99, true,
	  { "trap.example.net.", NULL }, MXTRAP_TRAPPED, "99 trap.example.net." },
	{ "exchange set: sorted, lower-cased, unique",
	  "10 mail1.example.com. 20 mail2.example.com.", 99, true,
	  { "Zz.example.net.", "a.example.net.", "ZZ.EXAMPLE.NET.", NULL },
	  MXTRAP_TRAPPED, "99 a.example.net. 99 zz.example.net." },
	{ "exchange is a primary", "10 mail1.example.com. 20 mail2.example.com.", 99, true,
	  { "mail1.example.com.", NULL }, MXTRAP_TRAPPED, "99 mail1.example.com." },
	{ "single", "10 mail1.example.com.", 99, true, { NULL },
	  MXTRAP_UNCHANGED_NO_BACKUP, NULL },
	{ "equal pair", "10 a.example.com. 10 b.example.com.", 99, true, { NULL },
	  MXTRAP_UNCHANGED_NO_BACKUP, NULL },
	{ "null mx", "0 .", 99, false, { NULL }, MXTRAP_UNCHANGED_NULL_MX, NULL },
	{ "null mx among others", "0 . 10 mail1.example.com.", 99, true, { NULL },
	  MXTRAP_UNCHANGED_NULL_MX, NULL },
	{ "trap in zone", "10 a.example.com. 20 b.example.com. 99 a.example.com.", 99, true,
	  { NULL }, MXTRAP_UNCHANGED_TRAP_PRESENT, NULL },
	{ "trap in zone, other case", "10 a.example.com. 20 b.example.com. 50 A.EXAMPLE.com.", 99,
	  true, { NULL }, MXTRAP_UNCHANGED_TRAP_PRESENT, NULL },
	{ "configured trap in zone", "10 a.example.com. 20 b.example.com. 50 trap.example.net.",
	  99, true, { "trap.example.net.", NULL }, MXTRAP_UNCHANGED_TRAP_PRESENT, NULL },
	{ "primary on top is not a configured trap",
	  "10 a.example.com. 20 b.example.com. 30 a.example.com.", 99, true,
	  { "trap.example.net.", NULL }, MXTRAP_TRAPPED, "99 trap.example.net." },
	{ "65535", "10 mail1.example.com. 65535 mail2.example.com.", 99, true, { NULL },
	  MXTRAP_UNCHANGED_MAX_PREF, NULL },
};

static void conf_for(const mx_case_t *c, mxtrap_conf_t *conf)
{
	knot_dname_t *names[4] = { NULL };
	size_t count = 0;
	while (c->exchanges[count] != NULL) {
		names[count] = knot_dname_from_str_alloc(c->exchanges[count]);
		count++;
	}
	ck_assert_int_eq(mxtrap_conf_init(conf, c->preference, c->require_backup,
	                                  (const knot_dname_t *const *)names, count), KNOT_EOK);
	for (size_t i = 0; i < count; i++) {
		free(names[i]);
	}
}

/*! Runs one case in one packet layout and checks it against the static-zone packet. */
static void run_case(const mx_case_t *c, const layout_t *lay)
{
	mxtrap_conf_t conf;
	conf_for(c, &conf);

	const char *owner = lay->cname_target ? lay->cname_target : lay->qname;
	knot_rrset_t *zone_mx = mx_rrset(owner, c->records);
	int put_ret;
	knot_pkt_t *pkt = response(lay, zone_mx, &put_ret);
	ck_assert_int_eq(put_ret, KNOT_EOK);

	/* The packet as it was, for unchanged outcomes. */
	uint8_t before[KNOT_WIRE_MAX_PKTSIZE];
	size_t before_size = pkt->size;
	memcpy(before, pkt->wire, pkt->size);

	mxtrap_result_t result = mxtrap_apply(&conf, pkt);
	ck_assert_msg(result == c->result, "%s: result %d, expected %d", c->name, result, c->result);

	if (c->traps == NULL) {
		ck_assert_uint_eq(pkt->size, before_size);
		ck_assert_mem_eq(pkt->wire, before, before_size);
	} else {
		char merged_text[1024];
		snprintf(merged_text, sizeof(merged_text), "%s %s", c->records, c->traps);
		knot_rrset_t *merged = mx_rrset(owner, merged_text);
		knot_pkt_t *want = response(lay, merged, &put_ret);
		ck_assert_int_eq(put_ret, KNOT_EOK);
		assert_wire_equal(pkt, want);

		/* The packet's own view of the RRset is the merged one, too. */
		const knot_rrset_t *got_mx = &pkt->rr[pkt->rrset_count - 1];
		ck_assert_uint_eq(got_mx->rrs.count, merged->rrs.count);
		ck_assert_uint_eq(got_mx->rrs.size, merged->rrs.size);
		ck_assert_mem_eq(got_mx->rrs.rdata, merged->rrs.rdata, merged->rrs.size);

		/* And a resolver parses it back with the traps in it. */
		knot_pkt_t *parsed = knot_pkt_new(pkt->wire, pkt->size, &pool);
		ck_assert_int_eq(knot_pkt_parse(parsed, 0), KNOT_EOK);
		ck_assert_uint_eq(knot_wire_get_ancount(parsed->wire),
		                  merged->rrs.count + (lay->cname_target ? 1 : 0));
		knot_pkt_free(parsed);
		knot_pkt_free(want);
	}

	knot_pkt_free(pkt);
	mxtrap_conf_deinit(&conf);
	pool_release();
}

static const layout_t AT_QNAME = { .qname = "example.com." };
static const layout_t AT_QNAME_CASED = { .qname = "ExAmPlE.CoM." };
static const layout_t NON_APEX = { .qname = "mail.example.com." };
static const layout_t VIA_CNAME = { .qname = "alias.example.com.",
                                    .cname_target = "example.com." };
static const layout_t VIA_FOREIGN_CNAME = { .qname = "www.customer.test.",
                                            .cname_target = "mx.example.org." };
static const layout_t TCP_RESERVED = { .qname = "example.com.", .reserved = 11,
                                       .flags = KNOT_PF_NOTRUNC };

START_TEST(cases_at_qname)
{
	run_case(&MX_CASES[_i], &AT_QNAME);
}
END_TEST

START_TEST(cases_mixed_case_qname)
{
	run_case(&MX_CASES[_i], &AT_QNAME_CASED);
}
END_TEST

START_TEST(cases_non_apex)
{
	run_case(&MX_CASES[_i], &NON_APEX);
}
END_TEST

START_TEST(cases_via_cname)
{
	run_case(&MX_CASES[_i], &VIA_CNAME);
	run_case(&MX_CASES[_i], &VIA_FOREIGN_CNAME);
}
END_TEST

START_TEST(cases_tcp_reserved)
{
	run_case(&MX_CASES[_i], &TCP_RESERVED);
}
END_TEST

/*
 * Size limit: for every packet size around the point where the merged RRset
 * stops fitting, the core must do exactly what libknot does with the merged
 * RRset: trap if it fits, otherwise drop the MX RRset (TC over UDP only).
 */
static void run_size_limit(const layout_t *base)
{
	static const mx_case_t c = {
		"limit", "10 mail1.example.com. 20 mail2.example.com. 30 mail3.example.com.",
		99, true, { NULL }, MXTRAP_TRAPPED, "99 mail1.example.com."
	};
	mxtrap_conf_t conf;
	conf_for(&c, &conf);
	const char *owner = base->cname_target ? base->cname_target : base->qname;

	bool seen_fit = false, seen_trunc = false;
	for (uint16_t size = 60; size <= 160; size++) {
		layout_t lay = *base;
		lay.max_size = size;
		knot_rrset_t *zone_mx = mx_rrset(owner, c.records);
		knot_rrset_t *merged = mx_rrset(owner, "10 mail1.example.com. 20 mail2.example.com. "
		                                "30 mail3.example.com. 99 mail1.example.com.");
		int zone_ret, merged_ret;
		knot_pkt_t *pkt = response(&lay, zone_mx, &zone_ret);
		knot_pkt_t *want = response(&lay, merged, &merged_ret);
		if (zone_ret == KNOT_EOK) {
			mxtrap_result_t result = mxtrap_apply(&conf, pkt);
			if (merged_ret == KNOT_EOK) {
				ck_assert_int_eq(result, MXTRAP_TRAPPED);
				seen_fit = true;
			} else {
				ck_assert_int_eq(merged_ret, KNOT_ESPACE);
				ck_assert_int_eq(result, MXTRAP_TRUNCATED);
				ck_assert_int_eq(pkt->rrset_count, want->rrset_count);
				seen_trunc = true;
			}
			assert_wire_equal(pkt, want);
			ck_assert_int_eq(knot_wire_get_tc(pkt->wire),
			                 merged_ret == KNOT_EOK || (lay.flags & KNOT_PF_NOTRUNC) ? 0 :
			                 KNOT_WIRE_TC_MASK);
		}
		knot_pkt_free(pkt);
		knot_pkt_free(want);
		pool_release();
	}
	ck_assert(seen_fit && seen_trunc);
	mxtrap_conf_deinit(&conf);
}

START_TEST(size_limit_udp)
{
	layout_t lay = { .qname = "example.com." };
	run_size_limit(&lay);
	layout_t cname = { .qname = "alias.example.com.", .cname_target = "example.com." };
	run_size_limit(&cname);
	layout_t reserved = { .qname = "example.com.", .reserved = 11 };
	run_size_limit(&reserved);
}
END_TEST

START_TEST(size_limit_tcp)
{
	layout_t lay = { .qname = "example.com.", .flags = KNOT_PF_NOTRUNC };
	run_size_limit(&lay);
}
END_TEST

/* A copied RRset owned by the packet (wildcard behind a CNAME in knotd). */
START_TEST(packet_owned_rrset)
{
	mxtrap_conf_t conf;
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, NULL, 0), KNOT_EOK);
	knot_rrset_t *zone_mx = mx_rrset("x.wild.example.com.",
	                                 "10 mail1.example.com. 20 mail2.example.com.");
	knot_rrset_t owned;
	knot_rrset_init(&owned, knot_dname_copy(zone_mx->owner, &pool), KNOT_RRTYPE_MX,
	                KNOT_CLASS_IN, 3600);
	ck_assert_int_eq(knot_rdataset_copy(&owned.rrs, &zone_mx->rrs, &pool), KNOT_EOK);

	layout_t lay = { .qname = "alias.example.com.", .cname_target = "x.wild.example.com.",
	                 .flags = KNOT_PF_FREE };
	int ret;
	knot_pkt_t *pkt = response(&lay, &owned, &ret);
	ck_assert_int_eq(ret, KNOT_EOK);
	ck_assert_int_eq(mxtrap_apply(&conf, pkt), MXTRAP_TRAPPED);
	ck_assert_uint_eq(pkt->rr[pkt->rrset_count - 1].rrs.count, 3);
	knot_pkt_free(pkt);
	mxtrap_conf_deinit(&conf);
	pool_release();
}
END_TEST

/* Answers the module must leave alone and not count. */
START_TEST(not_mx_answers)
{
	mxtrap_conf_t conf;
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, NULL, 0), KNOT_EOK);

	/* Empty ANSWER. */
	knot_pkt_t *pkt = knot_pkt_new(NULL, 512, &pool);
	knot_dname_t *qname = knot_dname_from_str_alloc("example.com.");
	ck_assert_int_eq(knot_pkt_put_question(pkt, qname, KNOT_CLASS_IN, KNOT_RRTYPE_MX), KNOT_EOK);
	ck_assert_int_eq(knot_pkt_begin(pkt, KNOT_ANSWER), KNOT_EOK);
	ck_assert_int_eq(mxtrap_apply(&conf, pkt), MXTRAP_NOT_MX);

	/* A CNAME only (target out of zone). */
	knot_rrset_t *cname = knot_rrset_new(qname, KNOT_RRTYPE_CNAME, KNOT_CLASS_IN, 300, &pool);
	uint8_t target[] = "\x03""www""\x07""example""\x03""net";
	ck_assert_int_eq(knot_rrset_add_rdata(cname, target, sizeof(target), &pool), KNOT_EOK);
	ck_assert_int_eq(knot_pkt_put(pkt, KNOT_COMPR_HINT_QNAME, cname, 0), KNOT_EOK);
	size_t size = pkt->size;
	ck_assert_int_eq(mxtrap_apply(&conf, pkt), MXTRAP_NOT_MX);
	ck_assert_uint_eq(pkt->size, size);

	/* MX RRset, but the packet is already past the ANSWER section. */
	knot_rrset_t *mx = mx_rrset("www.example.net.", "10 a.example.net. 20 b.example.net.");
	ck_assert_int_eq(knot_pkt_put(pkt, 0, mx, 0), KNOT_EOK);
	ck_assert_int_eq(knot_pkt_begin(pkt, KNOT_AUTHORITY), KNOT_EOK);
	size = pkt->size;
	ck_assert_int_eq(mxtrap_apply(&conf, pkt), MXTRAP_NOT_MX);
	ck_assert_uint_eq(pkt->size, size);

	knot_pkt_free(pkt);
	free(qname);
	mxtrap_conf_deinit(&conf);
	pool_release();
}
END_TEST

/* An RRSIG after the MX RRset: signed zone answered with DO. */
START_TEST(signed_answer)
{
	mxtrap_conf_t conf;
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, NULL, 0), KNOT_EOK);
	layout_t lay = { .qname = "example.com." };
	knot_rrset_t *mx = mx_rrset("example.com.", "10 mail1.example.com. 20 mail2.example.com.");

	for (int covered = 0; covered < 2; covered++) {
		int ret;
		knot_pkt_t *pkt = response(&lay, mx, &ret);
		knot_rrset_t *rrsig = knot_rrset_new(mx->owner, KNOT_RRTYPE_RRSIG, KNOT_CLASS_IN,
		                                     3600, &pool);
		uint8_t sig[18 + 13 + 8] = { 0 };
		knot_wire_write_u16(sig, covered ? KNOT_RRTYPE_MX : KNOT_RRTYPE_A);
		sig[2] = 13; /* ECDSAP256SHA256 */
		memcpy(sig + 18, "\x07""example""\x03""com", 13);
		ck_assert_int_eq(knot_rrset_add_rdata(rrsig, sig, sizeof(sig), &pool), KNOT_EOK);
		ck_assert_int_eq(knot_pkt_put(pkt, KNOT_COMPR_HINT_QNAME, rrsig, 0), KNOT_EOK);
		size_t size = pkt->size;
		ck_assert_int_eq(mxtrap_apply(&conf, pkt), covered ? MXTRAP_UNCHANGED_SIGNED
		                                                   : MXTRAP_UNCHANGED_UNEXPECTED);
		ck_assert_uint_eq(pkt->size, size);
		knot_pkt_free(pkt);
	}
	mxtrap_conf_deinit(&conf);
	pool_release();
}
END_TEST

/* Malformed MX RDATA in the packet's RRset must be refused, not read past. */
START_TEST(malformed_rdata)
{
	mxtrap_conf_t conf;
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, false, NULL, 0), KNOT_EOK);
	layout_t lay = { .qname = "example.com." };
	knot_rrset_t *mx = mx_rrset("example.com.", "10 mail1.example.com. 20 mail2.example.com.");

	static const struct { uint16_t len; const char *data; } bad[] = {
		{ 0, "" },                                  /* empty */
		{ 2, "\x00\x0a" },                          /* no exchanger */
		{ 5, "\x00\x0a\x04""ab" },                  /* label runs past the end */
		{ 6, "\x00\x0a\x01""a\x00""x" },            /* trailing byte */
		{ 6, "\x00\x0a\x01""a\xc0\x0c" },           /* compression pointer */
		{ 3, "\x00\x0a\x40" },                      /* label too long */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret;
		knot_pkt_t *pkt = response(&lay, mx, &ret);
		knot_rrset_t *in_pkt = &pkt->rr[pkt->rrset_count - 1];
		uint16_t storage[8] = { 0 };
		knot_rdata_t *rd = (knot_rdata_t *)storage;
		knot_rdata_init(rd, bad[i].len, (const uint8_t *)bad[i].data);
		in_pkt->rrs = (knot_rdataset_t){ 1, knot_rdata_size(rd->len), rd };
		size_t size = pkt->size;
		ck_assert_msg(mxtrap_apply(&conf, pkt) == MXTRAP_UNCHANGED_UNEXPECTED, "case %zu", i);
		ck_assert_uint_eq(pkt->size, size);
		in_pkt->rrs = mx->rrs;
		knot_pkt_free(pkt);
	}
	mxtrap_conf_deinit(&conf);
	pool_release();
}
END_TEST

START_TEST(conf_init_checks)
{
	mxtrap_conf_t conf;
	const knot_dname_t *root[] = { (const knot_dname_t *)"" };
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, root, 1), KNOT_EINVAL);
	const knot_dname_t *null_name[] = { NULL };
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, null_name, 1), KNOT_EINVAL);
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, NULL, 1), KNOT_EINVAL);
	ck_assert_int_eq(mxtrap_conf_init(NULL, 99, true, NULL, 0), KNOT_EINVAL);

	const knot_dname_t *names[] = {
		(const knot_dname_t *)"\x01""B""\x07""example",
		(const knot_dname_t *)"\x01""a""\x07""example",
		(const knot_dname_t *)"\x01""b""\x07""EXAMPLE",
	};
	ck_assert_int_eq(mxtrap_conf_init(&conf, 7, false, names, 3), KNOT_EOK);
	ck_assert_uint_eq(conf.preference, 7);
	ck_assert(!conf.require_backup);
	ck_assert_uint_eq(conf.exchange_count, 2);
	ck_assert(knot_dname_is_equal(conf.exchanges[0], (const knot_dname_t *)"\x01""a""\x07""example"));
	ck_assert(knot_dname_is_equal(conf.exchanges[1], (const knot_dname_t *)"\x01""b""\x07""example"));
	ck_assert_uint_eq(conf.exchange_sizes[1], 11);
	mxtrap_conf_deinit(&conf);
	mxtrap_conf_deinit(NULL);
}
END_TEST

START_TEST(reason_names)
{
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_UNCHANGED_NULL_MX), "null-mx");
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_UNCHANGED_NO_BACKUP), "no-backup");
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_UNCHANGED_TRAP_PRESENT), "trap-present");
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_UNCHANGED_MAX_PREF), "max-preference");
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_UNCHANGED_SIGNED), "signed");
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_UNCHANGED_KEY_MISSING), "key-missing");
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_UNCHANGED_KEY_UNREADABLE), "key-unreadable");
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_UNCHANGED_KEYSTORE_UNSUPPORTED),
	                 "keystore-unsupported");
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_UNCHANGED_ALG_UNSUPPORTED),
	                 "algorithm-unsupported");
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_UNCHANGED_SIGN_FAILED), "sign-failed");
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_UNCHANGED_UNEXPECTED), "unexpected");
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_TRAPPED), "unknown");
	ck_assert_int_eq(MXTRAP_UNCHANGED_COUNT, 11);
	ck_assert_int_eq(MXTRAP_UNCHANGED_UNSIGNED_COUNT, 6);
}
END_TEST

int main(void)
{
	int cases = sizeof(MX_CASES) / sizeof(MX_CASES[0]);
	Suite *s = suite_create("mxtrap core");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, cases_at_qname, 0, cases);
	tcase_add_loop_test(tc, cases_mixed_case_qname, 0, cases);
	tcase_add_loop_test(tc, cases_non_apex, 0, cases);
	tcase_add_loop_test(tc, cases_via_cname, 0, cases);
	tcase_add_loop_test(tc, cases_tcp_reserved, 0, cases);
	tcase_add_test(tc, size_limit_udp);
	tcase_add_test(tc, size_limit_tcp);
	tcase_add_test(tc, packet_owned_rrset);
	tcase_add_test(tc, not_mx_answers);
	tcase_add_test(tc, signed_answer);
	tcase_add_test(tc, malformed_rdata);
	tcase_add_test(tc, conf_init_checks);
	tcase_add_test(tc, reason_names);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
