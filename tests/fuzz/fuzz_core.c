/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * libFuzzer target of mxtrap_apply(), in the manner of Knot's tests-fuzz: the
 * input becomes a configuration and a response as knotd builds it up to the
 * ANSWER hook, the module runs, and the result is checked: invariants where
 * they are cheap, and as the oracle the packet libknot writes itself when the
 * merged RRset (the zone's records and the trap records) is put in one go.
 * A violated check prints a line and aborts (a crash to libFuzzer).
 *
 * Input (integers big-endian; bytes past the end read as zero):
 *   u8 F   0x01 require-backup, 0x02 TCP (KNOT_PF_NOTRUNC), 0x04 RRsets put as
 *          copies the packet owns (KNOT_PF_FREE), 0x08 packet memory from the
 *          heap (real free, leaks and double frees counted) instead of a pool,
 *          0x10 with the stand-in signer, 0x20 AUTHORITY begun (the message's
 *          AUTHORITY put), 0x40 no question, 0x80 one RRset per record
 *   u8 G   0x01 parse keeping the case, 0x02 inject raw RDATA into the packet's
 *          MX RRset (0x04: into its last RRset), bits 3-7: the n-th allocation
 *          from the packet's memory in the first call fails (0: none)
 *   u16 preference, u8 reserved, u16 slack (max size: the built answer +
 *   reserved + slack), u16 padding (a NULL record of so many octets first)
 *   u8 N, (N % 8) x { u8 len, name }      trap exchangers, raw
 *   [F 0x10] u8 S  bits 0-2: the stand-in signs (0, 6, 7) or fails with
 *          key-missing .. sign-failed (1-5); 0x08 one signature fewer, 0x10 one
 *          more; 0x20 a second call on a copy, the clock advanced; 0x40 a key
 *          rollover before it; 0x80 RRSIGs put without KNOT_PF_ORIGTTL
 *          u32 now, u32 margin, u32 validity, u32 advance
 *   [G 0x06] u8 K, (K % 17) x { u8 len, RDATA }
 *   the rest: a DNS message; its ID, flags, question and records (merged into
 *   RRsets by owner, type and covered type, as knotd puts them) make the
 *   response.
 *
 * Checks: the configuration holds exactly the valid names, lower-case, in
 * canonical order, once; the outcome fits the answer (no reason for an answer
 * without it, the reasons of unsigned zones without a signer, the signature
 * source with the stand-in's calls); an answer left alone is untouched, a
 * changed one keeps what precedes the MX RRset; the trap records have one
 * preference above all, the configured names or the primaries; with the heap
 * no block is lost or freed twice. The oracle: unsigned, the wire is the one
 * libknot writes with the merged RRset put in one go, trapped or truncated;
 * signed, a resolver reads what it reads from that packet with the module's
 * RRSIGs, and each RRSIG(MX) verifies over the records read, by a zone key,
 * valid as the cache promises. tests/fuzz/corpus: seeds named by what they
 * cover; regress-* reproduce bugs found and fixed.
 */

#define TH_NO_CHECK
#include "../test_helpers.h"

#include "mxtrap/signer.h"
#include "mxtrap/trap.h"

#define CHECK(cond)	TH_ASSERT(cond)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	const uint8_t *pos;
	size_t left;
} input_t;

static uint32_t in_uint(input_t *in, int bytes)
{
	uint32_t value = 0;
	for (; bytes > 0; bytes--) {
		value = value << 8 | (in->left > 0 ? (in->left--, *in->pos++) : 0);
	}
	return value;
}

static const uint8_t *in_bytes(input_t *in, size_t want, size_t *got)
{
	const uint8_t *bytes = in->pos;
	*got = want < in->left ? want : in->left;
	in->pos += *got;
	in->left -= *got;
	return bytes;
}

/*** Packet memory from the heap: every block accounted for. ***/

static struct {
	void *live[4096];
	size_t count;
} heap;

static void *heap_alloc(void *ctx, size_t len)
{
	(void)ctx;
	if (th_alloc_fails()) {
		return NULL;
	}
	CHECK(heap.count < TH_LEN(heap.live));
	void *ptr = malloc(len);
	CHECK(ptr != NULL);
	return heap.live[heap.count++] = ptr;
}

static bool heap_owns(const void *ptr)
{
	for (size_t i = 0; i < heap.count; i++) {
		if (heap.live[i] == ptr) {
			return true;
		}
	}
	return false;
}

static void heap_free(void *ptr)
{
	if (ptr == NULL) {
		return;
	}
	CHECK(heap_owns(ptr));  /* Else a double free, or not the packet's memory. */
	for (size_t i = 0; i < heap.count; i++) {
		if (heap.live[i] == ptr) {
			heap.live[i] = heap.live[--heap.count];
		}
	}
	free(ptr);
}

static knot_mm_t HEAP = { .alloc = heap_alloc, .free = heap_free };

/*** The response, as knotd builds it. ***/

typedef struct {
	uint8_t f, g, s;
	bool padded;                 /*!< rrs[0] is the padding. */
	mxtrap_conf_t conf;
	const knot_pkt_t *msg;       /*!< The parsed message. */
	knot_rrset_t *rrs[256];      /*!< Its records as RRsets; [0]: padding. */
	knot_section_t section[256];
	size_t count;
	uint16_t reserved;
	size_t max_size;
	uint8_t inject_count;
	const uint8_t *inject[16];
	size_t inject_len[16];
} plan_t;

/*! The type the RRSIG record \a i of \a rr covers (0: none, or not an RRSIG). */
static uint16_t covered(const knot_rrset_t *rr, uint16_t i)
{
	const knot_rdata_t *rd = rr->type == KNOT_RRTYPE_RRSIG ? knot_rdataset_at(&rr->rrs, i) : NULL;
	return rd != NULL && rd->len >= 2 ? knot_rrsig_type_covered(rd) : 0;
}

static bool is_mx_rrsig(const knot_rrset_t *rr, uint16_t i)
{
	return covered(rr, i) == KNOT_RRTYPE_MX;
}

/*! How many records of \a rr are RRSIGs over MX. */
static uint16_t mx_rrsigs(const knot_rrset_t *rr)
{
	uint16_t count = 0;
	for (uint16_t i = 0; i < rr->rrs.count; i++) {
		count += is_mx_rrsig(rr, i);
	}
	return count;
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
 * Builds the response as knotd does, plan RRset \a at replaced by \a at_rr
 * and RRSIG RRsets over MX by \a sigs (when not NULL); puts stop at the
 * first that fails (knotd stops there), its result in \a ret.
 */
static knot_pkt_t *build(const plan_t *p, knot_mm_t *mm, size_t max_size, size_t at,
                         const knot_rrset_t *at_rr, const knot_rdataset_t *sigs, int *ret)
{
	const knot_dname_t *qname = (p->f & 0x40) ? NULL : knot_pkt_wire_qname(p->msg);
	knot_pkt_t *pkt = knot_pkt_new(NULL, max_size, mm);
	CHECK(pkt != NULL);
	if (p->msg->size >= 4) {
		memcpy(pkt->wire, p->msg->wire, 4);
	}
	knot_wire_set_qr(pkt->wire);
	*ret = qname == NULL ? KNOT_EOK : knot_pkt_put_question(pkt, qname, knot_pkt_qclass(p->msg),
	                                                        knot_pkt_qtype(p->msg));
	*ret = *ret != KNOT_EOK ? *ret : knot_pkt_reserve(pkt, p->reserved);
	CHECK(knot_pkt_begin(pkt, KNOT_ANSWER) == KNOT_EOK);
	for (size_t i = 0; i < p->count && *ret == KNOT_EOK; i++) {
		knot_rrset_t rr = i == at ? *at_rr : *p->rrs[i];
		if (sigs != NULL && mx_rrsigs(&rr) > 0) {
			rr.rrs = *sigs;
		}
		if (p->section[i] != pkt->current) {
			CHECK(knot_pkt_begin(pkt, p->section[i]) == KNOT_EOK);
		}
		uint16_t flags = (p->f & 0x02 ? KNOT_PF_NOTRUNC : 0) | (p->f & 0x04 ? KNOT_PF_FREE : 0);
		if (rr.type == KNOT_RRTYPE_RRSIG && !(p->s & 0x80)) {
			flags |= KNOT_PF_ORIGTTL;
		}
		*ret = th_put(pkt, hint_for(pkt, &rr), &rr, flags);
	}
	return pkt;
}

/*! Replaces an RRset's RDATA in the packet (not the wire), as another module might. */
static void inject(const plan_t *p, knot_pkt_t *pkt, uint16_t index)
{
	knot_rrset_t *rr = &pkt->rr[index];
	knot_rdataset_t rrs = { 0 };
	for (uint8_t i = 0; i < p->inject_count; i++) {
		size_t len = p->inject_len[i];
		/* knotd only holds RRSIGs libknot can write again. */
		if (rr->type == KNOT_RRTYPE_RRSIG && len >= TH_RRSIG_FIXED &&
		    knot_dname_wire_check(p->inject[i] + TH_RRSIG_FIXED, p->inject[i] + len, NULL) <= 0) {
			len = TH_RRSIG_FIXED - 1;
		}
		uint8_t *block = th_pool_get(rrs.size + knot_rdata_size(len));
		if (rrs.size > 0) {
			memcpy(block, rrs.rdata, rrs.size);
		}
		knot_rdata_init((knot_rdata_t *)(block + rrs.size), len, p->inject[i]);
		rrs = (knot_rdataset_t){ rrs.count + 1, rrs.size + knot_rdata_size(len),
		                         (knot_rdata_t *)block };
	}
	if (rrs.count == 0 && rr->type == KNOT_RRTYPE_RRSIG) {
		return;  /* libknot holds no empty RRset: it would be put again. */
	}
	if (pkt->rr_info[index].flags & KNOT_PF_FREE) {  /* The packet's memory, then. */
		knot_rdataset_clear(&rr->rrs, &pkt->mm);
		if (rrs.count > 0) {
			void *copy = pkt->mm.alloc(pkt->mm.ctx, rrs.size);
			CHECK(copy != NULL);
			rrs.rdata = memcpy(copy, rrs.rdata, rrs.size);
		}
	}
	rr->rrs = rrs;
}

/*** One call of the module, checked. ***/

static bool same(const void *a, const void *b, size_t len)
{
	return len == 0 || memcmp(a, b, len) == 0;
}

static int query_token;

/*! The packet as it was before the call. */
typedef struct {
	uint8_t *wire;
	size_t size;
	uint16_t rrset_count;
	knot_rrset_t *rr;
	knot_rrinfo_t *info;
	knot_rdataset_t mx;  /*!< A copy of the MX RRset's records. */
	int mx_index;        /*!< -1: no MX RRset in ANSWER. */
	knot_rdataset_t zone_sigs;  /*!< A copy of the RRSIG(MX) records after it. */
	bool sig_owners;     /*!< Those RRSIGs have the MX owner, as knotd's always have. */
} snap_t;

static void snapshot(const knot_pkt_t *pkt, snap_t *s)
{
	*s = (snap_t){ th_dup(pkt->wire, pkt->size), pkt->size, pkt->rrset_count,
	               th_dup(pkt->rr, pkt->rrset_count * sizeof(*pkt->rr)),
	               th_dup(pkt->rr_info, pkt->rrset_count * sizeof(*pkt->rr_info)), { 0 }, -1, { 0 },
	               true };
	const knot_pktsection_t *an = &pkt->sections[KNOT_ANSWER];
	for (uint16_t i = an->pos; i < an->pos + an->count && s->mx_index < 0; i++) {
		if (pkt->rr[i].type == KNOT_RRTYPE_MX) {
			s->mx_index = i;
			s->mx = (knot_rdataset_t){ pkt->rr[i].rrs.count, pkt->rr[i].rrs.size,
			                           th_dup(pkt->rr[i].rrs.rdata, pkt->rr[i].rrs.size) };
		}
	}
	for (uint16_t i = s->mx_index + 1; s->mx_index >= 0 && i < pkt->rrset_count; i++) {
		for (uint16_t k = 0; k < pkt->rr[i].rrs.count; k++) {
			if (is_mx_rrsig(&pkt->rr[i], k)) {
				CHECK(knot_rdataset_add(&s->zone_sigs, knot_rdataset_at(&pkt->rr[i].rrs, k),
				                        &th_scratch) == KNOT_EOK);
				s->sig_owners &= knot_dname_is_case_equal(pkt->rr[i].owner,
				                                          pkt->rr[s->mx_index].owner);
			}
		}
	}
}

/*! The records the module added to the MX RRset: one preference above all, the right names. */
static void check_traps(const plan_t *p, const knot_rdataset_t *old, const knot_rrset_t *mx)
{
	CHECK(mx->rrs.count > old->count && memcmp(mx->rrs.rdata, old->rdata, old->size) == 0);
	uint16_t low = UINT16_MAX, high = 0, primaries = 0;
	const knot_rdata_t *rd = old->rdata;
	for (uint16_t i = 0; i < old->count; i++, rd = knot_rdataset_next((knot_rdata_t *)rd)) {
		uint16_t pref = knot_wire_read_u16(rd->data);
		primaries = pref < low ? 1 : primaries + (pref == low);
		low = pref < low ? pref : low;
		high = pref > high ? pref : high;
		CHECK(rd->data[2] != '\0');  /* No null MX. */
	}
	CHECK(high < UINT16_MAX && (low < high || !p->conf.require_backup));
	uint16_t traps = mx->rrs.count - old->count;
	CHECK(traps == (p->conf.exchange_count > 0 ? p->conf.exchange_count : primaries));
	const knot_rdata_t *trap = (const knot_rdata_t *)((const uint8_t *)mx->rrs.rdata + old->size);
	const knot_rdata_t *primary = old->rdata;
	for (uint16_t i = 0; i < traps; i++, trap = knot_rdataset_next((knot_rdata_t *)trap)) {
		CHECK(knot_wire_read_u16(trap->data) == (p->conf.preference > high ?
		                                         p->conf.preference : high + 1));
		const uint8_t *name = p->conf.exchange_count > 0 ? p->conf.exchanges[i] : NULL;
		while (name == NULL) {
			if (knot_wire_read_u16(primary->data) == low) {
				name = primary->data + 2;
			}
			primary = knot_rdataset_next((knot_rdata_t *)primary);
		}
		CHECK(trap->len == 2 + knot_dname_size(name) &&
		      memcmp(trap->data + 2, name, trap->len - 2) == 0);
	}
}

/*! The ANSWER records a resolver reads from two packets are the same. */
static void check_reads_alike(const knot_pkt_t *a, const knot_pkt_t *b)
{
	knot_pkt_t *pa = th_reparse(a), *pb = th_reparse(b);
	CHECK(pa != NULL && pb != NULL);
	const knot_pktsection_t *sa = knot_pkt_section(pa, KNOT_ANSWER);
	const knot_pktsection_t *sb = knot_pkt_section(pb, KNOT_ANSWER);
	CHECK(sa->count == sb->count);
	for (uint16_t i = 0; i < sa->count; i++) {
		CHECK(knot_rrset_equal(knot_pkt_rr(sa, i), knot_pkt_rr(sb, i), true));
	}
}

/*!
 * Signed and trapped: each RRSIG(MX) a resolver reads is the stand-in's by a
 * key of the zone's RRSIG(MX), verifies over the MX records it reads, declares
 * the zone's labels, and, from the cache, is valid for margin + TTL (a set by
 * fewer keys than asked: made less than 10 s ago).
 */
static void check_signatures(const plan_t *p, const knot_pkt_t *pkt, const snap_t *s,
                             mxtrap_result_t res, uint32_t margin)
{
	knot_pkt_t *parsed = th_reparse(pkt);
	CHECK(parsed != NULL);
	const knot_pktsection_t *an = knot_pkt_section(parsed, KNOT_ANSWER);
	knot_rrset_t *mx = NULL;
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		if (rr->type == KNOT_RRTYPE_MX) {
			if (mx == NULL) {
				mx = knot_rrset_new(rr->owner, rr->type, rr->rclass, rr->ttl, &th_scratch);
			}
			CHECK(knot_rrset_add_rdata(mx, rr->rrs.rdata->data, rr->rrs.rdata->len,
			                           &th_scratch) == KNOT_EOK);
		}
	}
	CHECK(mx != NULL);
	size_t sigs = 0, keys = s->zone_sigs.count;
	uint32_t newest = 0;
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rdata_t *rd = knot_pkt_rr(an, i)->rrs.rdata;
		if (!is_mx_rrsig(knot_pkt_rr(an, i), 0)) {
			continue;
		}
		/* By a zone key, with its labels (where they are valid for the owner). */
		bool zone_key = false;
		for (uint16_t k = 0; k < s->zone_sigs.count; k++) {
			const knot_rdata_t *z = knot_rdataset_at(&s->zone_sigs, k);
			zone_key |= knot_rrsig_alg(z) == knot_rrsig_alg(rd) &&
			            knot_rrsig_key_tag(z) == knot_rrsig_key_tag(rd) &&
			            (knot_rrsig_labels(z) == knot_rrsig_labels(rd) ||
			             knot_rrsig_labels(z) > th_sig_labels(mx->owner));
		}
		CHECK(zone_key);
		/* (Zones hold lower-case records: verified where the message's are.) */
		CHECK((p->g & 0x01) || th_stand_in_verify(rd, mx));
		uint32_t now = th_stand_in.now, inception = knot_rrsig_sig_inception(rd);
		newest = sigs == 0 || (int32_t)(inception - newest) > 0 ? inception : newest;
		if (res.source == MXTRAP_SIG_CACHE) {
			CHECK((int32_t)(now - inception) >= 0);
			CHECK((int64_t)(int32_t)(knot_rrsig_sig_expiration(rd) - now) >=
			      (int64_t)margin + mx->ttl);
		}
		sigs++;
	}
	CHECK(sigs >= 1 && sigs <= keys);
	CHECK(sigs == keys || res.source != MXTRAP_SIG_CACHE ||
	      (int32_t)(th_stand_in.now - TH_INCEPTION_AGO - newest) < 10);
}

/*! Builds the answer, runs the module on it and checks what it did. */
static void run(const plan_t *p, mxtrap_signer_t *signer, unsigned fail_alloc, uint32_t margin)
{
	knot_mm_t *mm = (p->f & 0x08) ? &HEAP : &th_pool;
	int ret;
	knot_pkt_t *pkt = build(p, mm, p->max_size, SIZE_MAX, NULL, NULL, &ret);
	CHECK(ret == KNOT_EOK);  /* It fitted before, with the slack. */
	snap_t s;
	snapshot(pkt, &s);
	bool injected = (p->g & 0x06) && pkt->rrset_count > 0;
	if (injected) {
		inject(p, pkt, (p->g & 0x04) || s.mx_index < 0 ? pkt->rrset_count - 1 : s.mx_index);
		snapshot(pkt, &s);
	}
	knot_pkt_t *before = th_reparse(pkt);
	int calls = th_stand_in.calls;
	th_fail_alloc(fail_alloc);
	mxtrap_result_t res = mxtrap_apply(&p->conf, pkt, signer, &query_token);
	th_fail_alloc(0);
#ifdef FUZZ_VERBOSE
	fprintf(stderr, "fuzz_core: outcome %d, reason %s, source %d\n", res.outcome,
	        mxtrap_reason_name(res.reason), res.source);
#endif

	/* Always. */
	bool changed = res.outcome == MXTRAP_TRAPPED || res.outcome == MXTRAP_TRUNCATED;
	bool is_signed = s.mx_index >= 0 && s.mx_index + 1 < s.rrset_count;
	CHECK(res.outcome <= MXTRAP_NO_MEMORY && res.source <= MXTRAP_SIG_FRESH);
	CHECK(res.outcome != MXTRAP_UNCHANGED || res.reason < (signer != NULL ?
	      MXTRAP_REASON_COUNT : MXTRAP_UNSIGNED_REASON_COUNT));
	CHECK(res.outcome == MXTRAP_NOT_MX || s.mx_index >= 0);
	CHECK((res.source != MXTRAP_SIG_NONE) ==
	      (res.outcome == MXTRAP_TRAPPED && signer != NULL && is_signed));
	CHECK(th_stand_in.calls - calls <= (res.source == MXTRAP_SIG_CACHE ? 0 : 1));
	CHECK(th_stand_in.calls - calls == 1 || res.source != MXTRAP_SIG_FRESH);
	CHECK(pkt->size + pkt->reserved <= pkt->max_size);
	CHECK(before == NULL || injected || th_reparse(pkt) != NULL);
	if (!changed) {  /* Untouched. */
		CHECK(pkt->size == s.size && same(pkt->wire, s.wire, s.size));
		CHECK(pkt->rrset_count == s.rrset_count);
		CHECK(same(pkt->rr, s.rr, s.rrset_count * sizeof(*pkt->rr)));
		CHECK(same(pkt->rr_info, s.info, s.rrset_count * sizeof(*s.info)));
		CHECK(s.mx_index < 0 || same(pkt->rr[s.mx_index].rrs.rdata, s.mx.rdata, s.mx.size));
	} else {  /* What was written before the MX RRset stays (but the counts and TC). */
		uint16_t mx_pos = s.info[s.mx_index].pos;
		CHECK(pkt->size >= mx_pos && memcmp(pkt->wire, s.wire, 2) == 0);
		CHECK(memcmp(pkt->wire + KNOT_WIRE_HEADER_SIZE, s.wire + KNOT_WIRE_HEADER_SIZE,
		             mx_pos - KNOT_WIRE_HEADER_SIZE) == 0);
		CHECK(same(pkt->rr, s.rr, s.mx_index * sizeof(*pkt->rr)));
	}
	if (res.outcome == MXTRAP_UNCHANGED) {
		bool null_mx = false, top = false;
		const knot_rdata_t *rd = s.mx.rdata;
		for (uint16_t i = 0; i < s.mx.count; i++, rd = knot_rdataset_next((knot_rdata_t *)rd)) {
			null_mx |= rd->len > 2 && rd->data[2] == '\0';
			top |= rd->len >= 2 && knot_wire_read_u16(rd->data) == UINT16_MAX;
		}
		CHECK(res.reason != MXTRAP_NULL_MX || null_mx);
		CHECK(res.reason != MXTRAP_NO_BACKUP || p->conf.require_backup);
		CHECK(res.reason != MXTRAP_MAX_PREF || top);
		CHECK(res.reason != MXTRAP_SIGNED || signer == NULL);
	}
	if (res.outcome == MXTRAP_TRAPPED) {
		check_traps(p, &s.mx, &pkt->rr[s.mx_index]);
	}

	/*
	 * The oracle: the answer of the zone with the traps in it, as libknot
	 * writes it. Unsigned: byte for byte, trapped or truncated alike (the
	 * traps of a truncated one from a call with room). Signed: as a
	 * resolver reads it (the module restarts compression at the QNAME).
	 */
	bool as_knotd = changed && !injected;
	knot_rrset_t merged = as_knotd ? *p->rrs[s.mx_index] : (knot_rrset_t){ 0 };
	if (as_knotd && res.outcome == MXTRAP_TRUNCATED && !is_signed) {
		/* With room: no padding, no reserve (an RRset of 64 KiB has none). */
		plan_t *roomy = th_dup(p, sizeof(*p));
		roomy->reserved = 0;
		if (p->padded) {
			memmove(roomy->rrs, roomy->rrs + 1, --roomy->count * sizeof(*roomy->rrs));
			memmove(roomy->section, roomy->section + 1, roomy->count * sizeof(*roomy->section));
		}
		knot_pkt_t *big = build(roomy, &th_pool, KNOT_WIRE_MAX_PKTSIZE, SIZE_MAX, NULL, NULL, &ret);
		mxtrap_outcome_t outcome = mxtrap_apply(&p->conf, big, NULL, NULL).outcome;
		CHECK(outcome == MXTRAP_TRAPPED || outcome == MXTRAP_TRUNCATED);
		as_knotd = outcome == MXTRAP_TRAPPED;
		merged.rrs = big->rr[s.mx_index - p->padded].rrs;
	} else if (as_knotd) {
		merged.rrs = pkt->rr[s.mx_index].rrs;
	}
	if (as_knotd && !is_signed) {
		knot_pkt_t *want = build(p, &th_scratch, p->max_size, s.mx_index, &merged, NULL, &ret);
		CHECK(ret == (res.outcome == MXTRAP_TRAPPED ? KNOT_EOK : KNOT_ESPACE));
		CHECK(pkt->size == want->size && memcmp(pkt->wire, want->wire, want->size) == 0);
		CHECK(pkt->rrset_count == want->rrset_count);
	}
	if (res.outcome == MXTRAP_TRAPPED && is_signed) {
		check_signatures(p, pkt, &s, res, margin);
		const knot_rdataset_t *sigs = NULL;
		for (uint16_t i = s.mx_index + 1; i < pkt->rrset_count; i++) {
			sigs = mx_rrsigs(&pkt->rr[i]) > 0 ? &pkt->rr[i].rrs : sigs;
		}
		knot_pkt_t *want = build(p, &th_scratch, p->max_size, s.mx_index, &merged, sigs, &ret);
		if (as_knotd && s.sig_owners && ret == KNOT_EOK) {
			check_reads_alike(pkt, want);
		}
	}

	/* Heap: what the module allocated for RRsets the packet does not own is
	 * freed here, as knotd frees its pool; then nothing may be left. */
	if (mm == &HEAP) {
		for (uint16_t i = 0; i < pkt->rrset_count; i++) {
			if (!(pkt->rr_info[i].flags & KNOT_PF_FREE) && heap_owns(pkt->rr[i].rrs.rdata)) {
				heap_free(pkt->rr[i].rrs.rdata);
			}
		}
		knot_pkt_free(pkt);
		CHECK(heap.count == 0);
	}
}

/*! Names in canonical RDATA order: the octets, then the shorter first. */
static int name_cmp(const knot_dname_t *a, size_t a_len, const knot_dname_t *b, size_t b_len)
{
	int cmp = memcmp(a, b, a_len < b_len ? a_len : b_len);
	return cmp != 0 ? cmp : (a_len > b_len) - (a_len < b_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	input_t in = { data, size };
	plan_t p = { .f = in_uint(&in, 1), .g = in_uint(&in, 1) };
	uint16_t pref = in_uint(&in, 2);
	p.reserved = in_uint(&in, 1);
	uint16_t slack = in_uint(&in, 2);
	uint16_t padding = in_uint(&in, 2);

	/* The configuration: accepted exactly with names valid and not the root,
	 * then held lower-case, in canonical order, once. */
	const knot_dname_t *names[7] = { NULL };
	size_t count = in_uint(&in, 1) % 8, len;
	bool valid = true;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *name = in_bytes(&in, in_uint(&in, 1), &len);
		int size = knot_dname_wire_check(name, name + len, NULL);
		/* Exactly its octets (ASan sees a read past them), else as a name
		 * is read from knotd's configuration: a buffer of the longest. */
		uint8_t *copy = size > 0 ? th_dup(name, size) : th_pool_get(KNOT_DNAME_MAXLEN);
		if (size <= 0) {
			memset(copy, 0, KNOT_DNAME_MAXLEN);
			memcpy(copy, name, len < KNOT_DNAME_MAXLEN ? len : KNOT_DNAME_MAXLEN);
			size = knot_dname_wire_check(copy, copy + KNOT_DNAME_MAXLEN, NULL);
		}
		names[i] = copy;
		valid &= size > 1;
	}
	int ret = mxtrap_conf_init(&p.conf, pref, p.f & 0x01, names, count);
	CHECK(ret == (valid ? KNOT_EOK : KNOT_EINVAL));
	if (ret != KNOT_EOK) {
		CHECK(mxtrap_conf_init(&p.conf, pref, p.f & 0x01, NULL, 0) == KNOT_EOK);
	}
	for (uint16_t i = 0; i < p.conf.exchange_count; i++) {
		knot_dname_storage_t lower;
		knot_dname_copy_lower(lower, p.conf.exchanges[i]);
		CHECK(knot_dname_is_equal(lower, p.conf.exchanges[i]));
		CHECK(p.conf.exchange_sizes[i] == knot_dname_size(p.conf.exchanges[i]));
		CHECK(i == 0 || name_cmp(p.conf.exchanges[i - 1], p.conf.exchange_sizes[i - 1],
		                         p.conf.exchanges[i], p.conf.exchange_sizes[i]) < 0);
	}

	memset(&th_stand_in, 0, sizeof(th_stand_in));
	uint32_t margin = 0, advance = 0;
	if (p.f & 0x10) {
		p.s = in_uint(&in, 1);
		th_stand_in.now = in_uint(&in, 4);
		margin = in_uint(&in, 4);
		th_stand_in.valid_for = in_uint(&in, 4);
		advance = in_uint(&in, 4);
		th_stand_in.fail = (p.s & 0x07) >= 1 && (p.s & 0x07) <= 5;
		th_stand_in.reason = th_stand_in.fail ? MXTRAP_KEY_MISSING + (p.s & 0x07) - 1 : 0;
		th_stand_in.extra = (p.s & 0x08) ? -1 : (p.s & 0x10) ? 1 : 0;
	}
	if (p.g & 0x06) {
		p.inject_count = in_uint(&in, 1) % 17;
		for (uint8_t i = 0; i < p.inject_count; i++) {
			p.inject[i] = in_bytes(&in, in_uint(&in, 1), &p.inject_len[i]);
		}
	}

	/* The message: whatever libknot parses of it. */
	const uint8_t *msg = in_bytes(&in, in.left < UINT16_MAX ? in.left : UINT16_MAX, &len);
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
			/* Records of one owner, type (and covered type) form an RRset. */
			const knot_rrset_t *rr = &parsed->rr[i];
			knot_rrset_t *last = p.count > 0 ? p.rrs[p.count - 1] : NULL;
			if (!(p.f & 0x80) && last != NULL && p.section[p.count - 1] == (knot_section_t)sec &&
			    last->type == rr->type && last->rclass == rr->rclass &&
			    knot_dname_is_equal(last->owner, rr->owner) &&
			    covered(last, 0) == covered(rr, 0)) {
				CHECK(knot_rdataset_merge(&last->rrs, &rr->rrs, &th_scratch) == KNOT_EOK);
				continue;
			}
			p.section[p.count] = sec;
			p.rrs[p.count++] = knot_rrset_copy(rr, &th_scratch);
		}
	}

	/* The size limit: the answer with slack octets to spare. */
	knot_pkt_t *probe = build(&p, &th_scratch, KNOT_WIRE_MAX_PKTSIZE, SIZE_MAX, NULL, NULL, &ret);
	size_t need = probe->size + p.reserved + slack;
	p.max_size = need < KNOT_WIRE_MAX_PKTSIZE ? need : KNOT_WIRE_MAX_PKTSIZE;
	if (ret == KNOT_EOK && probe->size + p.reserved <= KNOT_WIRE_MAX_PKTSIZE) {
		mxtrap_signer_t *signer = NULL;
		if (p.f & 0x10) {
			signer = mxtrap_signer_new(th_stand_in_sign, &th_stand_in, margin, 2,
			                           th_stand_in_clock);
			CHECK(signer != NULL);
		}
		run(&p, signer, p.g >> 3, margin);
		if (p.s & 0x20) {  /* A copy of the answer, later: maybe from the cache. */
			th_stand_in.now += advance;
			for (size_t i = 0; (p.s & 0x40) && i < p.count; i++) {
				for (uint16_t k = 0; k < p.rrs[i]->rrs.count; k++) {
					if (is_mx_rrsig(p.rrs[i], k) &&  /* A key rollover. */
					    knot_rdataset_at(&p.rrs[i]->rrs, k)->len >= TH_RRSIG_FIXED) {
						uint8_t *tag = knot_rdataset_at(&p.rrs[i]->rrs, k)->data + 16;
						knot_wire_write_u16(tag, knot_wire_read_u16(tag) + 1);
					}
				}
			}
			run(&p, signer, 0, margin);
		}
		mxtrap_signer_free(signer);
	}
	mxtrap_conf_deinit(&p.conf);
	th_pool_release();
	return 0;
}
