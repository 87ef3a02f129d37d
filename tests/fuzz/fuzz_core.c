/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * libFuzzer target of mxtrap_apply(): for any configuration and any response
 * as knotd builds it up to the ANSWER hook, the module keeps its invariants and
 * writes what libknot writes with the merged RRset (zone records and traps) put
 * in one go; signed, a resolver reads the same and each RRSIG(MX) verifies by a
 * zone key. A failed check aborts. corpus/regress-*: bugs it found.
 *
 * Input (big-endian; bytes past the end read as zero):
 *  u8 F: 0x01 require-backup, 0x02 TCP (PF_NOTRUNC), 0x04 RRsets put as copies
 *    the packet owns (PF_FREE), 0x08 packet memory from the counted heap, 0x10
 *    stand-in signer, 0x20 AUTHORITY too, 0x40 no question, 0x80 an RRset per record
 *  u8 G: 0x01 parse keeping case, 0x02 raw RDATA injected into the MX RRset (0x04:
 *    the last RRset), bits 3-7: the n-th packet allocation of the 1st call fails
 *  u16 preference, u8 reserved, u16 slack (max size: answer + reserved + slack),
 *  u16 padding (a NULL record of so many octets first)
 *  u8 N, (N % 8) x { u8 len, name }: trap exchangers, raw
 *  [F 0x10] u8 S: bits 0-2 the stand-in signs (0, 6, 7) or fails (1-5: key-missing
 *    .. sign-failed); 0x08 one signature fewer, 0x10 one more; 0x20 a 2nd call on
 *    a copy, clock advanced, 0x40 after a key rollover; 0x80 RRSIGs without ORIGTTL;
 *    u32 now, u32 margin, u32 validity, u32 advance
 *  [G 0x06] u8 K, (K % 17) x { u8 len, RDATA }
 *  the rest: a DNS message; its ID, flags, question and records make the response.
 */

#define TH_NO_CHECK
#include "../test_helpers.h"

#include "mxtrap/signer.h"
#include "mxtrap/trap.h"

#define CHECK(cond)	TH_ASSERT(cond)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *in_pos;
static size_t in_left;

static uint32_t in_uint(int bytes)
{
	uint32_t value = 0;
	while (bytes-- > 0) {
		value = value << 8 | (in_left > 0 ? (in_left--, *in_pos++) : 0);
	}
	return value;
}

static const uint8_t *in_bytes(size_t want, size_t *got)
{
	*got = want < in_left ? want : in_left;
	in_left -= *got;
	return (in_pos += *got) - *got;
}

/* Packet memory from the heap, blocks counted (ASan or glibc catch a double free). */
static size_t heap_count;

static void *heap_alloc(void *ctx, size_t len)
{
	void *ptr = ctx != NULL || th_alloc_fails() ? NULL : malloc(len);
	heap_count += ptr != NULL;
	return ptr;
}

static void heap_free(void *ptr)
{
	heap_count -= ptr != NULL;
	free(ptr);
}

static knot_mm_t HEAP = { .alloc = heap_alloc, .free = heap_free };

typedef struct {
	uint8_t f, g, s;
	bool padded;                 /*!< rrs[0] is the padding. */
	mxtrap_conf_t conf;
	const knot_pkt_t *msg;       /*!< The parsed message. */
	knot_rrset_t *rrs[256];      /*!< The response's RRsets. */
	knot_section_t section[256];
	size_t count, max_size;
	uint16_t reserved;
	uint32_t margin;
	uint8_t inject_count;
	const uint8_t *inject[16];
	size_t inject_len[16];
} plan_t;

/*! The type RRSIG record \a i of \a rr covers (0: none, or not an RRSIG). */
static uint16_t covered(const knot_rrset_t *rr, uint16_t i)
{
	const knot_rdata_t *rd = rr->type == KNOT_RRTYPE_RRSIG ? knot_rdataset_at(&rr->rrs, i) : NULL;
	return rd != NULL && rd->len >= 2 ? knot_rrsig_type_covered(rd) : 0;
}

static bool same(const void *a, const void *b, size_t len)
{
	return len == 0 || memcmp(a, b, len) == 0;
}

/*! Compression hint as knotd's: an RRSIG where its RRset wrote the owner, else the QNAME's. */
static uint16_t hint_for(const knot_pkt_t *pkt, const knot_rrset_t *rr)
{
	for (uint16_t i = pkt->rrset_count; rr->type == KNOT_RRTYPE_RRSIG && i-- > 0; ) {
		if (knot_dname_is_case_equal(pkt->rr[i].owner, rr->owner) &&
		    pkt->rr[i].type == covered(rr, 0)) {
			return pkt->rr_info[i].compress_ptr[KNOT_COMPR_HINT_OWNER];
		}
	}
	const knot_dname_t *qname = knot_pkt_qname(pkt);
	return qname != NULL && knot_dname_is_case_equal(qname, rr->owner) ?
	       KNOT_COMPR_HINT_QNAME : KNOT_COMPR_HINT_NONE;
}

/*!
 * The response as knotd builds it (stopping at the first put that fails, its
 * result in \a ret), RRset \a at as \a at_rr and RRSIGs over MX as \a sigs.
 */
static knot_pkt_t *build(const plan_t *p, knot_mm_t *mm, size_t max_size, size_t at,
                         const knot_rrset_t *at_rr, const knot_rdataset_t *sigs, int *ret)
{
	const knot_dname_t *qname = (p->f & 0x40) ? NULL : knot_pkt_wire_qname(p->msg);
	knot_pkt_t *pkt = knot_pkt_new(NULL, max_size, mm);
	CHECK(pkt != NULL);
	memcpy(pkt->wire, p->msg->wire, p->msg->size >= 4 ? 4 : 0);
	knot_wire_set_qr(pkt->wire);
	*ret = qname == NULL ? KNOT_EOK : knot_pkt_put_question(pkt, qname, knot_pkt_qclass(p->msg),
	                                                        knot_pkt_qtype(p->msg));
	*ret = *ret != KNOT_EOK ? *ret : knot_pkt_reserve(pkt, p->reserved);
	CHECK(knot_pkt_begin(pkt, KNOT_ANSWER) == KNOT_EOK);
	uint16_t flags = (p->f & 0x02 ? KNOT_PF_NOTRUNC : 0) | (p->f & 0x04 ? KNOT_PF_FREE : 0);
	for (size_t i = 0; i < p->count && *ret == KNOT_EOK; i++) {
		knot_rrset_t rr = i == at ? *at_rr : *p->rrs[i];
		rr.rrs = sigs != NULL && covered(&rr, 0) == KNOT_RRTYPE_MX ? *sigs : rr.rrs;
		CHECK(knot_pkt_begin(pkt, p->section[i]) == KNOT_EOK);
		bool orig = rr.type == KNOT_RRTYPE_RRSIG && !(p->s & 0x80);
		*ret = th_put(pkt, hint_for(pkt, &rr), &rr, flags | (orig ? KNOT_PF_ORIGTTL : 0));
	}
	return pkt;
}

/*! Replaces an RRset's RDATA in the packet (not the wire), as another module might. */
static void inject(const plan_t *p, knot_pkt_t *pkt, uint16_t index)
{
	knot_rrset_t *rr = &pkt->rr[index];
	uint16_t buf[16 * 130];
	knot_rdataset_t rrs = { 0, 0, (knot_rdata_t *)buf };
	for (uint8_t i = 0; i < p->inject_count; i++, rrs.count++) {
		const uint8_t *rd = p->inject[i];
		size_t len = p->inject_len[i];
		/* knotd only holds RRSIGs libknot can write again. */
		if (rr->type == KNOT_RRTYPE_RRSIG && len >= TH_RRSIG_FIXED &&
		    knot_dname_wire_check(rd + TH_RRSIG_FIXED, rd + len, NULL) <= 0) {
			len = TH_RRSIG_FIXED - 1;
		}
		knot_rdata_init((knot_rdata_t *)((uint8_t *)buf + rrs.size), len, rd);
		rrs.size += knot_rdata_size(len);
	}
	if (rrs.count == 0 && rr->type == KNOT_RRTYPE_RRSIG) {
		return;  /* libknot holds no empty RRset: it would be put again. */
	}
	bool owned = pkt->rr_info[index].flags & KNOT_PF_FREE;  /* Then in the packet's memory. */
	if (owned) {
		knot_rdataset_clear(&rr->rrs, &pkt->mm);
	}
	CHECK(knot_rdataset_copy(&rr->rrs, &rrs, owned ? &pkt->mm : &th_scratch) == KNOT_EOK);
}

/*! The records the module added: one preference above all, configured names or the primaries'. */
static void check_traps(const mxtrap_conf_t *conf, const knot_rdataset_t *old,
                        const knot_rdataset_t *now)
{
	uint16_t low = UINT16_MAX, high = 0, trap = old->count, names = conf->exchange_count;
	for (uint16_t i = 0; i < old->count; i++) {
		const knot_rdata_t *rd = knot_rdataset_at(old, i);
		uint16_t pref = knot_wire_read_u16(rd->data);
		low = pref < low ? pref : low;
		high = pref > high ? pref : high;
		CHECK(rd->data[2] != '\0');  /* No null MX. */
	}
	CHECK(high < UINT16_MAX && (low < high || !conf->require_backup));
	CHECK(now->count > old->count && same(now->rdata, old->rdata, old->size));
	uint16_t trap_pref = conf->preference > high ? conf->preference : high + 1;
	for (uint16_t i = 0; i < (names > 0 ? names : old->count); i++) {
		const knot_rdata_t *rd = knot_rdataset_at(old, i), *t = knot_rdataset_at(now, trap);
		const uint8_t *name = names > 0 ? conf->exchanges[i] :
		                      knot_wire_read_u16(rd->data) == low ? rd->data + 2 : NULL;
		CHECK(name == NULL || (trap++ < now->count && knot_wire_read_u16(t->data) == trap_pref &&
		                       t->len == 2 + knot_dname_size(name) &&
		                       memcmp(t->data + 2, name, t->len - 2) == 0));
	}
	CHECK(trap == now->count);
}

/*! Each RRSIG(MX) read from \a got: by a zone key, with its labels, verifies over the MX records
 *  read; from the cache valid for margin + TTL (by fewer keys than the zone's: made < 10 s ago). */
static void check_signatures(const plan_t *p, const knot_pkt_t *got,
                             const knot_rdataset_t *zone_sigs, mxtrap_sig_source_t source)
{
	knot_rrset_t *mx = NULL;
	for (uint16_t i = 0; i < got->sections[KNOT_ANSWER].count; i++) {
		if (got->rr[i].type == KNOT_RRTYPE_MX && mx != NULL) {
			CHECK(knot_rdataset_merge(&mx->rrs, &got->rr[i].rrs, &th_scratch) == KNOT_EOK);
		} else if (got->rr[i].type == KNOT_RRTYPE_MX) {
			mx = knot_rrset_copy(&got->rr[i], &th_scratch);
		}
	}
	CHECK(mx != NULL);
	size_t sigs = 0;
	uint32_t now = th_stand_in.now, newest = 0;
	for (uint16_t i = 0; i < got->sections[KNOT_ANSWER].count; i++) {
		const knot_rdata_t *rd = got->rr[i].rrs.rdata;
		if (covered(&got->rr[i], 0) != KNOT_RRTYPE_MX) {
			continue;
		}
		bool zone_key = false;
		for (uint16_t k = 0; k < zone_sigs->count; k++) {
			const knot_rdata_t *z = knot_rdataset_at(zone_sigs, k);
			zone_key |= knot_rrsig_alg(z) == knot_rrsig_alg(rd) &&
			            knot_rrsig_key_tag(z) == knot_rrsig_key_tag(rd) &&
			            (knot_rrsig_labels(z) == knot_rrsig_labels(rd) ||
			             knot_rrsig_labels(z) > th_sig_labels(mx->owner));
		}
		/* (Zones hold lower-case records: verified where the message's are.) */
		CHECK(zone_key && ((p->g & 0x01) || th_stand_in_verify(rd, mx)));
		uint32_t inception = knot_rrsig_sig_inception(rd);
		newest = sigs++ == 0 || (int32_t)(inception - newest) > 0 ? inception : newest;
		CHECK(source != MXTRAP_SIG_CACHE || ((int32_t)(now - inception) >= 0 &&
		      (int64_t)(int32_t)(knot_rrsig_sig_expiration(rd) - now) >=
		      (int64_t)p->margin + mx->ttl));
	}
	CHECK(sigs >= 1 && sigs <= zone_sigs->count);
	CHECK(sigs == zone_sigs->count || source != MXTRAP_SIG_CACHE ||
	      (int32_t)(now - TH_INCEPTION_AGO - newest) < 10);
}

/*! Builds the answer, runs the module on it and checks what it did. */
static void run(const plan_t *p, mxtrap_signer_t *signer, unsigned fail_alloc)
{
	knot_mm_t *mm = (p->f & 0x08) ? &HEAP : &th_pool;
	int ret, mx = -1, calls = th_stand_in.calls;
	knot_pkt_t *pkt = build(p, mm, p->max_size, SIZE_MAX, NULL, NULL, &ret);
	CHECK(ret == KNOT_EOK);  /* It fitted before, with the slack. */
	for (int i = pkt->sections[KNOT_ANSWER].count - 1; i >= 0; i--) {
		mx = pkt->rr[i].type == KNOT_RRTYPE_MX ? i : mx;
	}
	bool injected = (p->g & 0x06) && pkt->rrset_count > 0;
	if (injected) {
		inject(p, pkt, (p->g & 0x04) || mx < 0 ? pkt->rrset_count - 1 : mx);
	}
	/* The packet before; the MX records, the RRSIG(MX) records after them. */
	knot_pkt_t old = *pkt;
	old.wire = th_dup(pkt->wire, pkt->size);
	old.rr = th_dup(pkt->rr, pkt->rrset_count * sizeof(*pkt->rr));
	old.rr_info = th_dup(pkt->rr_info, pkt->rrset_count * sizeof(*pkt->rr_info));
	knot_rdataset_t mx_rrs = { 0 }, zone_sigs = { 0 };
	bool sig_owners = true;  /* Those have the MX owner, as knotd's always have. */
	for (int i = mx; i >= 0 && i < pkt->rrset_count; i++) {
		const knot_rrset_t *rr = &pkt->rr[i];
		CHECK(i > mx || knot_rdataset_copy(&mx_rrs, &rr->rrs, &th_scratch) == KNOT_EOK);
		for (uint16_t k = 0; k < rr->rrs.count; k++) {
			if (covered(rr, k) == KNOT_RRTYPE_MX) {
				const knot_rdata_t *rd = knot_rdataset_at(&rr->rrs, k);
				CHECK(knot_rdataset_add(&zone_sigs, rd, &th_scratch) == KNOT_EOK);
				sig_owners &= knot_dname_is_case_equal(rr->owner, pkt->rr[mx].owner);
			}
		}
	}
	bool parsed_before = th_reparse(pkt) != NULL;
	mxtrap_reason_t lone_why;  /* The knotd hook's shortcut, at its ANSWER stage. */
	bool lone = pkt->current == KNOT_ANSWER &&
	            mxtrap_lone_left_alone(pkt, p->conf.require_backup, &lone_why);
	th_fail_alloc(fail_alloc);
	mxtrap_result_t res = mxtrap_apply(&p->conf, pkt, signer, &calls);
	th_fail_alloc(0);
	calls = th_stand_in.calls - calls;

	bool changed = res.outcome == MXTRAP_TRAPPED || res.outcome == MXTRAP_TRUNCATED;
	bool is_signed = mx >= 0 && mx + 1 < old.rrset_count;
	CHECK(res.outcome <= MXTRAP_NO_MEMORY && res.source <= MXTRAP_SIG_FRESH);
	CHECK(res.outcome == MXTRAP_NOT_MX || mx >= 0);
	CHECK(!lone || (res.outcome == MXTRAP_UNCHANGED && res.reason == lone_why));
	CHECK((res.source != MXTRAP_SIG_NONE) ==
	      (res.outcome == MXTRAP_TRAPPED && signer != NULL && is_signed));
	CHECK(calls <= (res.source == MXTRAP_SIG_CACHE ? 0 : 1) &&
	      (calls == 1 || res.source != MXTRAP_SIG_FRESH));
	CHECK(pkt->size + pkt->reserved <= pkt->max_size);
	CHECK(!parsed_before || injected || th_reparse(pkt) != NULL);
	if (!changed) {  /* Untouched. */
		CHECK(pkt->size == old.size && same(pkt->wire, old.wire, old.size));
		CHECK(pkt->rrset_count == old.rrset_count &&
		      same(pkt->rr, old.rr, old.rrset_count * sizeof(*old.rr)) &&
		      same(pkt->rr_info, old.rr_info, old.rrset_count * sizeof(*old.rr_info)));
		CHECK(mx < 0 || same(pkt->rr[mx].rrs.rdata, mx_rrs.rdata, mx_rrs.size));
	} else {  /* What precedes the MX RRset stays (but the counts and TC). */
		uint16_t mx_pos = old.rr_info[mx].pos;
		CHECK(pkt->size >= mx_pos && memcmp(pkt->wire, old.wire, 2) == 0);
		CHECK(same(pkt->wire + KNOT_WIRE_HEADER_SIZE, old.wire + KNOT_WIRE_HEADER_SIZE,
		           mx_pos - KNOT_WIRE_HEADER_SIZE));
		CHECK(same(pkt->rr, old.rr, mx * sizeof(*old.rr)));
	}
	if (res.outcome == MXTRAP_UNCHANGED) {  /* For a reason the answer has. */
		bool null_mx = false, top = false;
		for (uint16_t i = 0; i < mx_rrs.count; i++) {
			const knot_rdata_t *rd = knot_rdataset_at(&mx_rrs, i);
			null_mx |= rd->len > 2 && rd->data[2] == '\0';
			top |= rd->len >= 2 && knot_wire_read_u16(rd->data) == UINT16_MAX;
		}
		bool why = res.reason == MXTRAP_NULL_MX ? null_mx : res.reason == MXTRAP_MAX_PREF ? top :
		           res.reason == MXTRAP_NO_BACKUP ? p->conf.require_backup :
		           res.reason == MXTRAP_SIGNED ? signer == NULL : true;
		CHECK(why && res.reason < (signer ? MXTRAP_REASON_COUNT : MXTRAP_UNSIGNED_REASON_COUNT));
	}
	if (res.outcome == MXTRAP_TRAPPED) {
		check_traps(&p->conf, &mx_rrs, &pkt->rr[mx].rrs);
	}

	/* The oracle: the zone's answer with the traps, as libknot writes it. Unsigned: byte for
	 * byte, trapped or truncated (the traps from a call with room). Signed: as a resolver
	 * reads it (the module restarts compression at the QNAME). */
	bool as_knotd = changed && !injected;
	knot_rrset_t merged = as_knotd ? *p->rrs[mx] : (knot_rrset_t){ 0 };
	merged.rrs = as_knotd && res.outcome == MXTRAP_TRAPPED ? pkt->rr[mx].rrs : merged.rrs;
	if (as_knotd && res.outcome == MXTRAP_TRUNCATED && !is_signed) {
		/* With room: no padding, no reserve (an RRset of 64 KiB has none). */
		plan_t *roomy = th_dup(p, sizeof(*p));
		roomy->reserved = 0;
		if (p->padded) {
			memmove(roomy->rrs, roomy->rrs + 1, --roomy->count * sizeof(*p->rrs));
			memmove(roomy->section, roomy->section + 1, roomy->count * sizeof(*p->section));
		}
		knot_pkt_t *big = build(roomy, &th_pool, KNOT_WIRE_MAX_PKTSIZE, SIZE_MAX, NULL, NULL,
		                        &ret);
		mxtrap_outcome_t outcome = mxtrap_apply(&p->conf, big, NULL, NULL).outcome;
		CHECK(outcome == MXTRAP_TRAPPED || outcome == MXTRAP_TRUNCATED);
		as_knotd = outcome == MXTRAP_TRAPPED;
		merged.rrs = big->rr[mx - p->padded].rrs;
	}
	knot_pkt_t *got = NULL, *want = NULL;
	const knot_rdataset_t *sigs = NULL;  /* The module's RRSIG(MX). */
	for (int i = mx + 1; is_signed && i < pkt->rrset_count; i++) {
		sigs = covered(&pkt->rr[i], 0) == KNOT_RRTYPE_MX ? &pkt->rr[i].rrs : sigs;
	}
	if (res.outcome == MXTRAP_TRAPPED && is_signed) {
		CHECK((got = th_reparse(pkt)) != NULL);
		check_signatures(p, got, &zone_sigs, res.source);
	}
	if (as_knotd && (!is_signed || (got != NULL && sig_owners))) {
		want = build(p, &th_scratch, p->max_size, mx, &merged, sigs, &ret);
	}
	if (want != NULL && !is_signed) {
		CHECK(ret == (res.outcome == MXTRAP_TRAPPED ? KNOT_EOK : KNOT_ESPACE));
		CHECK(pkt->size == want->size && memcmp(pkt->wire, want->wire, want->size) == 0);
		CHECK(pkt->rrset_count == want->rrset_count);
	} else if (want != NULL && ret == KNOT_EOK) {
		CHECK((want = th_reparse(want)) != NULL &&
		      want->sections[KNOT_ANSWER].count == got->sections[KNOT_ANSWER].count);
		for (uint16_t i = 0; i < got->sections[KNOT_ANSWER].count; i++) {
			CHECK(knot_rrset_equal(&got->rr[i], &want->rr[i], true));
		}
	}

	if (mm == &HEAP) {  /* Freed as knotd frees its pool; then nothing may be left. */
		for (uint16_t i = 0; i < pkt->rrset_count; i++) {
			/* Not the module's: the packet's own, the zone's, or freed already. */
			const void *rd = pkt->rr[i].rrs.rdata;
			bool not_ours = pkt->rr_info[i].flags & KNOT_PF_FREE;
			for (uint16_t k = 0; k < old.rrset_count || k < i; k++) {
				not_ours |= (k < old.rrset_count && old.rr[k].rrs.rdata == rd &&
				             !(old.rr_info[k].flags & KNOT_PF_FREE)) ||
				            (k < i && pkt->rr[k].rrs.rdata == rd);
			}
			if (!not_ours) {
				heap_free(pkt->rr[i].rrs.rdata);
			}
		}
		knot_pkt_free(pkt);
		CHECK(heap_count == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	in_pos = data;
	in_left = size;
	plan_t p = { .f = in_uint(1) };
	p.g = in_uint(1);
	uint16_t pref = in_uint(2);
	p.reserved = in_uint(1);
	uint16_t slack = in_uint(2), padding = in_uint(2);

	/* Names accepted exactly if valid and not the root; held lower-case, in
	 * canonical RDATA order (no valid name prefixes another), once. */
	const knot_dname_t *names[7] = { NULL };
	size_t count = in_uint(1) % 8, len;
	bool valid = true;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *name = in_bytes(in_uint(1), &len);
		int wire = knot_dname_wire_check(name, name + len, NULL);
		/* Exactly its octets (ASan sees a read past them), else as a name is
		 * read from knotd's configuration: a buffer of the longest. */
		size_t copy_len = wire > 0 ? (size_t)wire : KNOT_DNAME_MAXLEN;
		uint8_t *copy = memset(th_pool_get(copy_len), 0, copy_len);
		memcpy(copy, name, len < copy_len ? len : copy_len);
		valid &= knot_dname_wire_check(copy, copy + copy_len, NULL) > 1;
		names[i] = copy;
	}
	int ret = mxtrap_conf_init(&p.conf, pref, p.f & 0x01, names, count);
	CHECK(ret == (valid ? KNOT_EOK : KNOT_EINVAL));
	CHECK(ret == KNOT_EOK || mxtrap_conf_init(&p.conf, pref, p.f & 0x01, NULL, 0) == KNOT_EOK);
	for (uint16_t i = 0, j = 0; i < p.conf.exchange_count; j = i++) {
		const knot_dname_t *name = p.conf.exchanges[i];
		size_t size = p.conf.exchange_sizes[i], prev = p.conf.exchange_sizes[j];
		knot_dname_storage_t lower;
		knot_dname_copy_lower(lower, name);
		CHECK(knot_dname_is_equal(lower, name) && size == knot_dname_size(name));
		CHECK(i == 0 || memcmp(p.conf.exchanges[j], name, prev < size ? prev : size) < 0);
	}

	memset(&th_stand_in, 0, sizeof(th_stand_in));
	uint32_t advance = 0;
	if (p.f & 0x10) {
		p.s = in_uint(1);
		th_stand_in.now = in_uint(4);
		p.margin = in_uint(4);
		th_stand_in.valid_for = in_uint(4);
		advance = in_uint(4);
		/* 1 to the number of signing reasons: the stand-in fails with that reason. */
		_Static_assert(MXTRAP_REASON_COUNT - MXTRAP_KEY_MISSING <= 0x07, "signing reasons in 3 bits");
		th_stand_in.fail = (p.s & 0x07) >= 1 && (p.s & 0x07) <= MXTRAP_REASON_COUNT - MXTRAP_KEY_MISSING;
		th_stand_in.reason = th_stand_in.fail ? MXTRAP_KEY_MISSING + (p.s & 0x07) - 1 : 0;
		th_stand_in.extra = (p.s & 0x08) ? -1 : (p.s & 0x10) ? 1 : 0;
	}
	p.inject_count = (p.g & 0x06) ? in_uint(1) % 17 : 0;
	for (uint8_t i = 0; i < p.inject_count; i++) {
		p.inject[i] = in_bytes(in_uint(1), &p.inject_len[i]);
	}

	/* The message: what libknot parses of it, records merged into RRsets as knotd has them. */
	const uint8_t *msg = in_bytes(in_left < UINT16_MAX ? in_left : UINT16_MAX, &len);
	knot_pkt_t *parsed = knot_pkt_new(th_dup(msg, len), len, &th_scratch);
	CHECK(parsed != NULL);
	(void)knot_pkt_parse(parsed, (p.g & 0x01) ? KNOT_PF_NOCANON : 0);
	p.msg = parsed;
	p.padded = padding > 0;
	if (p.padded) {
		p.rrs[p.count++] = knot_rrset_new((const knot_dname_t *)"", KNOT_RRTYPE_NULL,
		                                  KNOT_CLASS_IN, 0, &th_scratch);
		th_add(p.rrs[0], memset(th_pool_get(padding), 0, padding), padding);
	}
	for (int sec = KNOT_ANSWER; sec <= ((p.f & 0x20) ? KNOT_AUTHORITY : KNOT_ANSWER); sec++) {
		const knot_pktsection_t *ps = knot_pkt_section(parsed, sec);
		for (uint16_t i = ps->pos; i < ps->pos + ps->count && i < parsed->rrset_count &&
		     p.count < TH_LEN(p.rrs); i++) {
			const knot_rrset_t *rr = &parsed->rr[i];
			knot_rrset_t *last = p.count > 0 && !(p.f & 0x80) ? p.rrs[p.count - 1] : NULL;
			if (last != NULL && p.section[p.count - 1] == (knot_section_t)sec &&
			    last->type == rr->type && last->rclass == rr->rclass &&
			    covered(last, 0) == covered(rr, 0) &&
			    knot_dname_is_equal(last->owner, rr->owner)) {
				CHECK(knot_rdataset_merge(&last->rrs, &rr->rrs, &th_scratch) == KNOT_EOK);
			} else {
				p.section[p.count] = sec;
				p.rrs[p.count++] = knot_rrset_copy(rr, &th_scratch);
			}
		}
	}

	/* The size limit: the answer with slack octets to spare. */
	knot_pkt_t *probe = build(&p, &th_scratch, KNOT_WIRE_MAX_PKTSIZE, SIZE_MAX, NULL, NULL, &ret);
	size_t need = probe->size + p.reserved + slack;
	p.max_size = need < KNOT_WIRE_MAX_PKTSIZE ? need : KNOT_WIRE_MAX_PKTSIZE;
	if (ret == KNOT_EOK && probe->size + p.reserved <= KNOT_WIRE_MAX_PKTSIZE) {
		mxtrap_signer_t *signer = !(p.f & 0x10) ? NULL : mxtrap_signer_new(th_stand_in_sign,
			&th_stand_in, p.margin, 2, th_stand_in_clock);
		CHECK(signer != NULL || !(p.f & 0x10));
		run(&p, signer, p.g >> 3);
		th_stand_in.now += advance;  /* S 0x20: a copy of the answer, later (maybe cached). */
		for (size_t i = 0; (p.s & 0x60) == 0x60 && i < p.count; i++) {  /* A key rollover. */
			for (uint16_t k = 0; k < p.rrs[i]->rrs.count; k++) {
				knot_rdata_t *rd = knot_rdataset_at(&p.rrs[i]->rrs, k);
				if (covered(p.rrs[i], k) == KNOT_RRTYPE_MX && rd->len >= TH_RRSIG_FIXED) {
					knot_wire_write_u16(rd->data + 16, knot_rrsig_key_tag(rd) + 1);
				}
			}
		}
		if (p.s & 0x20) {
			run(&p, signer, 0);
		}
		mxtrap_signer_free(signer);
	}
	mxtrap_conf_deinit(&p.conf);
	th_pool_release();
	return 0;
}
