/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * mxtrap_apply() on unsigned answers: a trapped one is byte for byte what
 * libknot writes with the merged RRset put in one go (knotd with the trap in
 * the zone); answers left alone, out of memory or malformed stay as they were.
 */

#include "../test_helpers.h"

#include "mxtrap/trap.h"

typedef struct {
	const char *qname, *owner;  /*!< The MX owner; NULL: QNAME, else QNAME CNAME owner. */
	uint16_t reserved, flags;   /*!< Of the MX RRset: NOTRUNC (TCP), FREE (packet's copy). */
} layout_t;

static const layout_t LAYOUTS[] = {
	{ "example.com." },
	{ "ExAmPlE.CoM." },
	{ "mail.example.com." },
	{ "alias.example.com.", "example.com." },
	{ "www.customer.test.", "mx.example.org." },
	{ "example.com.", NULL, 11, KNOT_PF_NOTRUNC },
	/* A wildcard behind a CNAME: knotd puts a copy the packet owns. */
	{ "alias.example.com.", "x.wild.example.com.", 0, KNOT_PF_FREE },
};

static knot_pkt_t *response(const layout_t *lay, const char *records, size_t max_size, int *ret)
{
	knot_rrset_t *mx = th_mx(lay->owner != NULL ? lay->owner : lay->qname, records);
	return th_answer(lay->qname, mx, max_size, lay->reserved, lay->flags, ret);
}

static void conf_make(mxtrap_conf_t *conf, uint16_t pref, bool backup, const char *const *names)
{
	const knot_dname_t *wire[4];
	size_t count = 0;
	for (; names != NULL && names[count] != NULL; count++) {
		wire[count] = th_dname(names[count]);
	}
	ck_assert_int_eq(mxtrap_conf_init(conf, pref, backup, wire, count), KNOT_EOK);
}

typedef struct {
	const char *name, *records;
	uint16_t pref;
	bool backup;
	const char *exchanges[4];  /*!< NULL-terminated; none: the primaries. */
	mxtrap_outcome_t outcome;
	mxtrap_reason_t reason;
	const char *traps;         /*!< Expected trap records. */
} mx_case_t;

#define AB	"10 a.example.com. 20 b.example.com."
#define TRAP(traps)	MXTRAP_TRAPPED, 0, traps
#define LEAVE(reason)	MXTRAP_UNCHANGED, reason, NULL

static const mx_case_t CASES[] = {
	{ "apex", AB, 99, true, { NULL }, TRAP("99 a.example.com.") },
	{ "several primaries", "10 a.example.com. 10 c.example.com. 20 b.example.com.", 99, true,
	  { NULL }, TRAP("99 a.example.com. 99 c.example.com.") },
	{ "mixed case kept", "10 A.Example.COM. 20 b.example.com.", 99, true, { NULL },
	  TRAP("99 A.Example.COM.") },
	{ "out of zone", "10 mx1.provider.net. 20 mx2.other.org.", 99, true, { NULL },
	  TRAP("99 mx1.provider.net.") },
	{ "backup above pref", "10 a.example.com. 100 b.example.com.", 99, true, { NULL },
	  TRAP("101 a.example.com.") },
	{ "backup at 65534", "10 a.example.com. 65534 b.example.com.", 99, true, { NULL },
	  TRAP("65535 a.example.com.") },
	{ "pref 500", AB, 500, true, { NULL }, TRAP("500 a.example.com.") },
	{ "backup at pref", "10 a.example.com. 99 b.example.com.", 99, true, { NULL },
	  TRAP("100 a.example.com.") },
	{ "pref 0", "0 a.example.com. 1 b.example.com.", 0, true, { NULL }, TRAP("2 a.example.com.") },
	{ "single, no backup needed", "10 a.example.com.", 99, false, { NULL },
	  TRAP("99 a.example.com.") },
	{ "exchange", AB, 99, true, { "trap.example.net." }, TRAP("99 trap.example.net.") },
	{ "exchanges sorted, lower-cased, once", AB, 99, true,
	  { "Zz.example.net.", "a.example.net.", "ZZ.EXAMPLE.NET." },
	  TRAP("99 a.example.net. 99 zz.example.net.") },
	{ "exchange is a primary", AB, 99, true, { "a.example.com." }, TRAP("99 a.example.com.") },
	{ "primary on top is no configured trap", AB " 30 a.example.com.", 99, true,
	  { "trap.example.net." }, TRAP("99 trap.example.net.") },
	{ "single", "10 a.example.com.", 99, true, { NULL }, LEAVE(MXTRAP_NO_BACKUP) },
	{ "equal pair", "10 a.example.com. 10 b.example.com.", 99, true, { NULL },
	  LEAVE(MXTRAP_NO_BACKUP) },
	{ "null mx", "0 .", 99, false, { NULL }, LEAVE(MXTRAP_NULL_MX) },
	{ "null mx among others", "0 . 10 a.example.com.", 99, true, { NULL }, LEAVE(MXTRAP_NULL_MX) },
	{ "trap present", AB " 99 a.example.com.", 99, true, { NULL }, LEAVE(MXTRAP_TRAP_PRESENT) },
	{ "trap present, other case", AB " 50 A.EXAMPLE.com.", 99, true, { NULL },
	  LEAVE(MXTRAP_TRAP_PRESENT) },
	{ "configured trap present", AB " 50 trap.example.net.", 99, true, { "trap.example.net." },
	  LEAVE(MXTRAP_TRAP_PRESENT) },
	{ "65535", "10 a.example.com. 65535 b.example.com.", 99, true, { NULL },
	  LEAVE(MXTRAP_MAX_PREF) },
};

static void assert_wire_equal(const knot_pkt_t *got, const knot_pkt_t *want, const char *what)
{
	ck_assert_msg(got->size == want->size && memcmp(got->wire, want->wire, got->size) == 0,
	              "%s: %zu octets, expected %zu, or another wire", what, got->size, want->size);
}

/*! The packet's wire and MX RDATA as they were. */
static void assert_untouched(const knot_pkt_t *pkt, const uint8_t *before, size_t size,
                             uint16_t mx_count)
{
	ck_assert_uint_eq(pkt->size, size);
	ck_assert_mem_eq(pkt->wire, before, size);
	ck_assert_uint_eq(pkt->rr[pkt->rrset_count - 1].rrs.count, mx_count);
}

/* Every case in one layout (one test per layout: a fork each is slow under ASan). */
START_TEST(cases)
{
	const layout_t *lay = &LAYOUTS[_i];
	for (const mx_case_t *c = CASES; c < CASES + TH_LEN(CASES); c++) {
		mxtrap_conf_t conf;
		conf_make(&conf, c->pref, c->backup, c->exchanges);
		int ret;
		knot_pkt_t *pkt = response(lay, c->records, 4096, &ret);
		ck_assert_int_eq(ret, KNOT_EOK);
		uint16_t count = pkt->rr[pkt->rrset_count - 1].rrs.count;
		uint8_t *before = th_dup(pkt->wire, pkt->size);
		size_t size = pkt->size;
		mxtrap_result_t res = mxtrap_apply(&conf, pkt, NULL, NULL);
		ck_assert_msg(res.outcome == c->outcome && res.source == MXTRAP_SIG_NONE &&
		              (res.outcome != MXTRAP_UNCHANGED || res.reason == c->reason),
		              "%s in %s: outcome %d (%s)", c->name, lay->qname, res.outcome,
		              mxtrap_reason_name(res.reason));
		if (c->traps == NULL) {
			assert_untouched(pkt, before, size, count);
		} else {
			char merged[512];
			snprintf(merged, sizeof(merged), "%s %s", c->records, c->traps);
			knot_pkt_t *want = response(lay, merged, 4096, &ret);
			assert_wire_equal(pkt, want, c->name);
			/* The packet's RRset is the merged one too (later modules read it). */
			const knot_rrset_t *mx = &pkt->rr[pkt->rrset_count - 1];
			const knot_rrset_t *wmx = &want->rr[want->rrset_count - 1];
			ck_assert_msg(knot_rdataset_eq(&mx->rrs, &wmx->rrs), "%s: not the merged RRset",
			              c->name);
			ck_assert_ptr_nonnull(th_reparse(pkt));
		}
		mxtrap_conf_deinit(&conf);
		th_pool_release();
	}
}
END_TEST

/*
 * At every size around the limit the module does what libknot does with the
 * merged RRset: trapped if it fits, else the MX RRset dropped (TC over UDP).
 */
START_TEST(size_limit)
{
	static const uint16_t FLAGS[] = { 0, KNOT_PF_NOTRUNC, KNOT_PF_FREE };
	layout_t lay = LAYOUTS[_i % 6];
	lay.flags = FLAGS[_i / 6];
	mxtrap_conf_t conf;
	conf_make(&conf, 99, true, NULL);
	bool fit = false, dropped = false;
	for (size_t max_size = 40; max_size <= 200; max_size++) {
		int zone_ret, ret;
		knot_pkt_t *pkt = response(&lay, AB, max_size, &zone_ret);
		knot_pkt_t *want = response(&lay, AB " 99 a.example.com.", max_size, &ret);
		if (zone_ret == KNOT_EOK) {
			mxtrap_result_t res = mxtrap_apply(&conf, pkt, NULL, NULL);
			ck_assert_int_eq(res.outcome, ret == KNOT_EOK ? MXTRAP_TRAPPED : MXTRAP_TRUNCATED);
			ck_assert_uint_eq(pkt->rrset_count, want->rrset_count);
			assert_wire_equal(pkt, want, "size limit");
			fit |= ret == KNOT_EOK;
			dropped |= ret == KNOT_ESPACE;
		}
		th_pool_release();
	}
	ck_assert(fit && dropped);
	mxtrap_conf_deinit(&conf);
}
END_TEST

/* Out of memory at each allocation in turn: the answer as it was. */
START_TEST(no_memory)
{
	mxtrap_conf_t conf;
	conf_make(&conf, 99, true, NULL);
	int ret;
	mxtrap_result_t res;
	unsigned n = 1;
	do {
		knot_pkt_t *pkt = response(&LAYOUTS[0], AB, 4096, &ret);
		uint8_t *before = th_dup(pkt->wire, pkt->size);
		size_t size = pkt->size;
		th_fail_alloc(n++);
		res = mxtrap_apply(&conf, pkt, NULL, NULL);
		if (th_mem.failed) {
			ck_assert_int_eq(res.outcome, MXTRAP_NO_MEMORY);
			assert_untouched(pkt, before, size, 2);
		}
		th_fail_alloc(0);
		th_pool_release();
	} while (res.outcome != MXTRAP_TRAPPED);
	ck_assert_uint_gt(n, 2);
	mxtrap_conf_deinit(&conf);
}
END_TEST

/*
 * No MX RRset in ANSWER (none, a CNAME out of the zone only, ANSWER over
 * after the MX RRset), or one the module must not touch (an A after it).
 */
START_TEST(other_answers)
{
	mxtrap_conf_t conf;
	conf_make(&conf, 99, true, NULL);
	for (int step = 0; step < 4; step++) {
		knot_pkt_t *pkt = th_response("example.com.", 0, 0);
		if (step >= 1) {
			ck_assert_int_eq(knot_pkt_put(pkt, KNOT_COMPR_HINT_QNAME,
			                              th_cname("example.com.", th_dname("www.example.net.")),
			                              0), KNOT_EOK);
		}
		if (step >= 2) {
			ck_assert_int_eq(knot_pkt_put(pkt, 0, th_mx("www.example.net.", AB), 0), KNOT_EOK);
		}
		if (step == 2) {
			ck_assert_int_eq(knot_pkt_begin(pkt, KNOT_AUTHORITY), KNOT_EOK);
		} else if (step == 3) {
			knot_rrset_t *a = th_rrset("www.example.net.", KNOT_RRTYPE_A, 300);
			th_add(a, "\xc0\x00\x02\x01", 4);
			ck_assert_int_eq(knot_pkt_put(pkt, 0, a, 0), KNOT_EOK);
		}
		size_t size = pkt->size;
		mxtrap_result_t res = mxtrap_apply(&conf, pkt, NULL, NULL);
		ck_assert_int_eq(res.outcome, step == 3 ? MXTRAP_UNCHANGED : MXTRAP_NOT_MX);
		ck_assert(step < 3 || res.reason == MXTRAP_UNEXPECTED);
		ck_assert_uint_eq(pkt->size, size);
	}
	mxtrap_conf_deinit(&conf);
	th_pool_release();
}
END_TEST

/* Malformed MX RDATA in the packet's RRset (another module's doing): refused, not read past. */
START_TEST(malformed_rdata)
{
	static const struct { uint16_t len; const char *data; } BAD[] = {
		{ 0, "" },
		{ 2, "\x00\x0a" },                /* no exchanger */
		{ 5, "\x00\x0a\x04""ab" },        /* label past the end */
		{ 6, "\x00\x0a\x01""a\x00""x" },  /* trailing octet */
		{ 6, "\x00\x0a\x01""a\xc0\x0c" }, /* compression pointer */
		{ 3, "\x00\x0a\x40" },            /* label of 64 */
	};
	mxtrap_conf_t conf;
	conf_make(&conf, 99, false, NULL);
	int ret;
	knot_pkt_t *pkt = response(&LAYOUTS[0], AB, 4096, &ret);
	size_t size = pkt->size;
	uint16_t storage[8];
	knot_rdata_t *rd = (knot_rdata_t *)storage;
	for (size_t i = 0; i < TH_LEN(BAD); i++) {
		knot_rdata_init(rd, BAD[i].len, (const uint8_t *)BAD[i].data);
		pkt->rr[0].rrs = (knot_rdataset_t){ 1, knot_rdata_size(rd->len), rd };
		mxtrap_result_t res = mxtrap_apply(&conf, pkt, NULL, NULL);
		ck_assert_msg(res.outcome == MXTRAP_UNCHANGED && res.reason == MXTRAP_UNEXPECTED,
		              "case %zu", i);
		ck_assert_uint_eq(pkt->size, size);
	}
	mxtrap_conf_deinit(&conf);
	th_pool_release();
}
END_TEST

/* Refused configurations (no name, the root, a malformed name, none); the counter names. */
START_TEST(api)
{
	static const char *const NAMES[MXTRAP_REASON_COUNT + 1] = {
		"null-mx", "no-backup", "trap-present", "max-preference", "signed", "unexpected",
		"key-missing", "key-unreadable", "keystore-unsupported", "keystore-login",
		"algorithm-unsupported", "sign-failed", "unknown",
	};
	const knot_dname_t *bad[] = { (const knot_dname_t *)"", NULL, (const knot_dname_t *)"\x40" };
	mxtrap_conf_t conf;
	for (size_t i = 0; i < TH_LEN(bad); i++) {
		ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, &bad[i], 1), KNOT_EINVAL);
	}
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, NULL, 1), KNOT_EINVAL);
	ck_assert_int_eq(mxtrap_conf_init(NULL, 99, true, NULL, 0), KNOT_EINVAL);
	mxtrap_conf_deinit(NULL);
	for (int i = -1; i <= MXTRAP_REASON_COUNT; i++) {
		ck_assert_str_eq(mxtrap_reason_name(i), NAMES[i < 0 ? MXTRAP_REASON_COUNT : i]);
	}
	ck_assert_int_eq(MXTRAP_UNSIGNED_REASON_COUNT, MXTRAP_KEY_MISSING);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mxtrap core");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, cases, 0, TH_LEN(LAYOUTS));
	tcase_add_loop_test(tc, size_limit, 0, 3 * 6);
	tcase_add_test(tc, no_memory);
	tcase_add_test(tc, other_answers);
	tcase_add_test(tc, malformed_rdata);
	tcase_add_test(tc, api);
	suite_add_tcase(s, tc);
	return th_run_suite(s);
}
