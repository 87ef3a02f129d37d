/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Unit tests of mxtrap_apply() on unsigned answers built with libknot. The
 * oracle of every trapped answer is the packet libknot writes when the merged
 * RRset (zone records plus trap records) is put in one go, i.e. what knotd
 * sends with the trap written into the zone: byte for byte.
 */

#include "../test_helpers.h"

#include "mxtrap/trap.h"

/*! How the answer is laid out before the module runs. */
typedef struct {
	const char *qname;
	const char *cname_target;  /*!< NULL: MX at QNAME; else QNAME CNAME target, MX there. */
	uint16_t max_size;
	uint16_t reserved;
	uint16_t flags;            /*!< Of the MX RRset: NOTRUNC (TCP), FREE (packet's copy). */
} layout_t;

static const layout_t LAYOUTS[] = {
	{ .qname = "example.com." },
	{ .qname = "ExAmPlE.CoM." },
	{ .qname = "mail.example.com." },
	{ .qname = "alias.example.com.", .cname_target = "example.com." },
	{ .qname = "www.customer.test.", .cname_target = "mx.example.org." },
	{ .qname = "example.com.", .reserved = 11, .flags = KNOT_PF_NOTRUNC },
	/* A wildcard behind a CNAME: knotd puts a copy the packet owns. */
	{ .qname = "alias.example.com.", .cname_target = "x.wild.example.com.", .flags = KNOT_PF_FREE },
};

/*! A response whose ANSWER ends with \a mx; the result of putting it in \a ret. */
static knot_pkt_t *response(const layout_t *lay, const knot_rrset_t *mx, int *ret)
{
	knot_pkt_t *pkt = th_response(th_dname(lay->qname), KNOT_RRTYPE_MX, NULL,
	                              lay->max_size > 0 ? lay->max_size : 4096,
	                              lay->reserved, &th_pool);
	uint16_t hint = KNOT_COMPR_HINT_QNAME;
	*ret = KNOT_EOK;
	if (lay->cname_target != NULL) {
		*ret = knot_pkt_put(pkt, hint, th_cname(lay->qname, lay->cname_target), 0);
		hint = KNOT_COMPR_HINT_NONE;
	}
	*ret = *ret != KNOT_EOK ? *ret : th_put(pkt, hint, mx, lay->flags);
	return pkt;
}

static const char *mx_owner(const layout_t *lay)
{
	return lay->cname_target != NULL ? lay->cname_target : lay->qname;
}

static void conf_make(mxtrap_conf_t *conf, uint16_t pref, bool backup, const char *const *names)
{
	const knot_dname_t *wire[4];
	size_t count = 0;
	for (; names[count] != NULL; count++) {
		wire[count] = th_dname(names[count]);
	}
	ck_assert_int_eq(mxtrap_conf_init(conf, pref, backup, wire, count), KNOT_EOK);
}

/*! One case: zone records, configuration, what the module does, the trap records. */
typedef struct {
	const char *name;
	const char *records;
	uint16_t pref;
	bool backup;
	const char *exchanges[4];  /*!< NULL-terminated; none: the primaries. */
	mxtrap_outcome_t outcome;
	mxtrap_reason_t reason;
	const char *traps;         /*!< Expected trap records (TRAPPED). */
} mx_case_t;

#define AB	"10 a.example.com. 20 b.example.com."
#define TRAP(traps)	MXTRAP_TRAPPED, 0, traps
#define LEAVE(reason)	MXTRAP_UNCHANGED, reason, NULL

static const mx_case_t CASES[] = {
	{ "apex",                 AB, 99, true, { NULL },  TRAP("99 a.example.com.") },
	{ "several primaries",    "10 a.example.com. 10 c.example.com. 20 b.example.com.", 99, true,
	  { NULL },  TRAP("99 a.example.com. 99 c.example.com.") },
	{ "mixed case kept",      "10 A.Example.COM. 20 b.example.com.", 99, true, { NULL },
	  TRAP("99 A.Example.COM.") },
	{ "out of zone",          "10 mx1.provider.net. 20 mx2.other.org.", 99, true, { NULL },
	  TRAP("99 mx1.provider.net.") },
	{ "backup above pref",    "10 a.example.com. 100 b.example.com.", 99, true, { NULL },
	  TRAP("101 a.example.com.") },
	{ "backup at 65534",      "10 a.example.com. 65534 b.example.com.", 99, true, { NULL },
	  TRAP("65535 a.example.com.") },
	{ "pref 500",             AB, 500, true, { NULL }, TRAP("500 a.example.com.") },
	{ "backup at pref",       "10 a.example.com. 99 b.example.com.", 99, true, { NULL },
	  TRAP("100 a.example.com.") },
	{ "pref 0",               "0 a.example.com. 1 b.example.com.", 0, true, { NULL },
	  TRAP("2 a.example.com.") },
	{ "single, no backup needed", "10 a.example.com.", 99, false, { NULL },
	  TRAP("99 a.example.com.") },
	{ "exchange",             AB, 99, true, { "trap.example.net.", NULL },
	  TRAP("99 trap.example.net.") },
	{ "exchanges sorted, lower-cased, once", AB, 99, true,
	  { "Zz.example.net.", "a.example.net.", "ZZ.EXAMPLE.NET.", NULL },
	  TRAP("99 a.example.net. 99 zz.example.net.") },
	{ "exchange is a primary", AB, 99, true, { "a.example.com.", NULL },
	  TRAP("99 a.example.com.") },
	{ "primary on top is no configured trap", AB " 30 a.example.com.", 99, true,
	  { "trap.example.net.", NULL }, TRAP("99 trap.example.net.") },
	{ "single",               "10 a.example.com.", 99, true, { NULL }, LEAVE(MXTRAP_NO_BACKUP) },
	{ "equal pair",           "10 a.example.com. 10 b.example.com.", 99, true, { NULL },
	  LEAVE(MXTRAP_NO_BACKUP) },
	{ "null mx",              "0 .", 99, false, { NULL }, LEAVE(MXTRAP_NULL_MX) },
	{ "null mx among others", "0 . 10 a.example.com.", 99, true, { NULL },
	  LEAVE(MXTRAP_NULL_MX) },
	{ "trap present",         AB " 99 a.example.com.", 99, true, { NULL },
	  LEAVE(MXTRAP_TRAP_PRESENT) },
	{ "trap present, other case", AB " 50 A.EXAMPLE.com.", 99, true, { NULL },
	  LEAVE(MXTRAP_TRAP_PRESENT) },
	{ "configured trap present", AB " 50 trap.example.net.", 99, true,
	  { "trap.example.net.", NULL }, LEAVE(MXTRAP_TRAP_PRESENT) },
	{ "65535",                "10 a.example.com. 65535 b.example.com.", 99, true, { NULL },
	  LEAVE(MXTRAP_MAX_PREF) },
};

static void assert_wire_equal(const knot_pkt_t *got, const knot_pkt_t *want, const char *what)
{
	ck_assert_msg(got->size == want->size, "%s: %zu octets, expected %zu", what, got->size,
	              want->size);
	for (size_t i = 0; i < want->size; i++) {
		ck_assert_msg(got->wire[i] == want->wire[i], "%s: wire differs at %zu: %02x, expected %02x",
		              what, i, got->wire[i], want->wire[i]);
	}
}

/*! One case in one layout: the outcome, and the answer of the zone with the trap in it. */
static void run_case(const mx_case_t *c, const layout_t *lay)
{
	mxtrap_conf_t conf;
	conf_make(&conf, c->pref, c->backup, c->exchanges);
	int ret;
	knot_pkt_t *pkt = response(lay, th_mx(mx_owner(lay), c->records), &ret);
	ck_assert_int_eq(ret, KNOT_EOK);
	uint8_t *before = th_dup(pkt->wire, pkt->size);
	size_t size = pkt->size;

	mxtrap_result_t res = mxtrap_apply(&conf, pkt, NULL, NULL);
	ck_assert_msg(res.outcome == c->outcome && res.source == MXTRAP_SIG_NONE &&
	              (res.outcome != MXTRAP_UNCHANGED || res.reason == c->reason),
	              "%s in %s: outcome %d (%s)", c->name, lay->qname, res.outcome,
	              mxtrap_reason_name(res.reason));
	if (c->traps == NULL) {
		ck_assert_msg(pkt->size == size && memcmp(pkt->wire, before, size) == 0, "%s: changed",
		              c->name);
	} else {
		char text[512];
		snprintf(text, sizeof(text), "%s %s", c->records, c->traps);
		knot_rrset_t *merged = th_mx(mx_owner(lay), text);
		assert_wire_equal(pkt, response(lay, merged, &ret), c->name);
		/* The packet's RRset is the merged one too (glue and later modules read it). */
		const knot_rrset_t *mx = &pkt->rr[pkt->rrset_count - 1];
		ck_assert_msg(mx->rrs.size == merged->rrs.size &&
		              memcmp(mx->rrs.rdata, merged->rrs.rdata, merged->rrs.size) == 0,
		              "%s: the packet's RRset is not the merged one", c->name);
		ck_assert_ptr_nonnull(th_reparse(pkt));
	}
	mxtrap_conf_deinit(&conf);
	th_pool_release();
}

/* Every case in every layout (one test per layout: a fork each is slow under ASan). */
START_TEST(cases)
{
	for (size_t i = 0; i < TH_LEN(CASES); i++) {
		run_case(&CASES[i], &LAYOUTS[_i]);
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
	conf_make(&conf, 99, true, (const char *[]){ NULL });
	bool fit = false, dropped = false;
	for (lay.max_size = 40; lay.max_size <= 200; lay.max_size++) {
		int zone_ret, ret;
		knot_pkt_t *pkt = response(&lay, th_mx(mx_owner(&lay), AB), &zone_ret);
		knot_pkt_t *want = response(&lay, th_mx(mx_owner(&lay), AB " 99 a.example.com."), &ret);
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

/* Out of memory: the answer as it was, and nothing of the module's left in the packet. */
START_TEST(no_memory)
{
	mxtrap_conf_t conf;
	conf_make(&conf, 99, true, (const char *[]){ NULL });
	int ret;
	mxtrap_result_t res;
	unsigned n = 1;
	do {
		knot_pkt_t *pkt = response(&LAYOUTS[0], th_mx("example.com.", AB), &ret);
		uint8_t *before = th_dup(pkt->wire, pkt->size);
		size_t size = pkt->size;
		th_fail_alloc(n++);
		res = mxtrap_apply(&conf, pkt, NULL, NULL);
		if (th_mem.failed) {
			ck_assert_int_eq(res.outcome, MXTRAP_NO_MEMORY);
			ck_assert_uint_eq(pkt->size, size);
			ck_assert_mem_eq(pkt->wire, before, size);
			ck_assert_uint_eq(pkt->rr[0].rrs.count, 2);
		}
		th_fail_alloc(0);
		th_pool_release();
	} while (res.outcome != MXTRAP_TRAPPED);
	ck_assert_uint_gt(n, 2);
	mxtrap_conf_deinit(&conf);
}
END_TEST

/* Answers with no MX RRset for the module, or an MX RRset it must not touch. */
START_TEST(other_answers)
{
	mxtrap_conf_t conf;
	conf_make(&conf, 99, true, (const char *[]){ NULL });
	knot_dname_t *qname = th_dname("example.com.");
	for (int step = 0; step < 4; step++) {
		knot_pkt_t *pkt = th_response(qname, KNOT_RRTYPE_MX, NULL, 0, 0, &th_pool);
		mxtrap_outcome_t want = MXTRAP_NOT_MX;
		if (step >= 1) {  /* A CNAME out of the zone. */
			ck_assert_int_eq(knot_pkt_put(pkt, KNOT_COMPR_HINT_QNAME,
			                              th_cname("example.com.", "www.example.net."), 0),
			                 KNOT_EOK);
		}
		if (step >= 2) {  /* Its MX RRset; then ANSWER is over (2) or an A follows (3). */
			ck_assert_int_eq(knot_pkt_put(pkt, 0, th_mx("www.example.net.", AB), 0),
			                 KNOT_EOK);
		}
		if (step == 2) {
			ck_assert_int_eq(knot_pkt_begin(pkt, KNOT_AUTHORITY), KNOT_EOK);
		}
		if (step == 3) {
			knot_rrset_t *a = th_rrset("www.example.net.", KNOT_RRTYPE_A, 300);
			th_add(a, "\xc0\x00\x02\x01", 4);
			ck_assert_int_eq(knot_pkt_put(pkt, 0, a, 0), KNOT_EOK);
			want = MXTRAP_UNCHANGED;
		}
		size_t size = pkt->size;
		mxtrap_result_t res = mxtrap_apply(&conf, pkt, NULL, NULL);
		ck_assert_int_eq(res.outcome, want);
		ck_assert(want != MXTRAP_UNCHANGED || res.reason == MXTRAP_UNEXPECTED);
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
	conf_make(&conf, 99, false, (const char *[]){ NULL });
	int ret;
	knot_pkt_t *pkt = response(&LAYOUTS[0], th_mx("example.com.", AB), &ret);
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

/* Bad configurations are refused; a good one holds the names lower-cased, sorted, once. */
START_TEST(conf_init)
{
	mxtrap_conf_t conf;
	const knot_dname_t *bad[][1] = {
		{ (const knot_dname_t *)"" }, { NULL }, { (const knot_dname_t *)"\x40" },
	};
	for (size_t i = 0; i < TH_LEN(bad); i++) {
		ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, bad[i], 1), KNOT_EINVAL);
	}
	ck_assert_int_eq(mxtrap_conf_init(&conf, 99, true, NULL, 1), KNOT_EINVAL);
	ck_assert_int_eq(mxtrap_conf_init(NULL, 99, true, NULL, 0), KNOT_EINVAL);

	const knot_dname_t *names[] = {
		(const knot_dname_t *)"\x01""B""\x07""example",
		(const knot_dname_t *)"\x01""a""\x07""example",
		(const knot_dname_t *)"\x01""b""\x07""EXAMPLE",
	};
	ck_assert_int_eq(mxtrap_conf_init(&conf, 7, false, names, 3), KNOT_EOK);
	ck_assert(conf.preference == 7 && !conf.require_backup && conf.exchange_count == 2);
	ck_assert(knot_dname_is_equal(conf.exchanges[0], (const knot_dname_t *)"\x01""a""\x07""example"));
	ck_assert(knot_dname_is_equal(conf.exchanges[1], (const knot_dname_t *)"\x01""b""\x07""example"));
	ck_assert_uint_eq(conf.exchange_sizes[1], 11);
	mxtrap_conf_deinit(&conf);
	mxtrap_conf_deinit(NULL);
}
END_TEST

/* The counter names knotd shows, in the order of the reasons. */
START_TEST(reason_names)
{
	static const char *const NAMES[] = {
		"null-mx", "no-backup", "trap-present", "max-preference", "signed", "unexpected",
		"key-missing", "key-unreadable", "keystore-unsupported", "algorithm-unsupported",
		"sign-failed",
	};
	ck_assert_int_eq(MXTRAP_REASON_COUNT, TH_LEN(NAMES));
	ck_assert_int_eq(MXTRAP_UNSIGNED_REASON_COUNT, MXTRAP_KEY_MISSING);
	for (int i = 0; i < MXTRAP_REASON_COUNT; i++) {
		ck_assert_str_eq(mxtrap_reason_name(i), NAMES[i]);
	}
	ck_assert_str_eq(mxtrap_reason_name(MXTRAP_REASON_COUNT), "unknown");
	ck_assert_str_eq(mxtrap_reason_name(-1), "unknown");
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
	tcase_add_test(tc, conf_init);
	tcase_add_test(tc, reason_names);
	suite_add_tcase(s, tc);
	return th_run_suite(s);
}
