/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*!
 * \file
 *
 * \brief libFuzzer target for the mod-mxtrap core (include/mxtrap.h).
 *
 * Every input is turned into a configuration for mxtrap_conf_init() and into
 * a response packet in the state Knot leaves it after the ANSWER section;
 * then mxtrap_apply() runs and the packet is checked against invariants and
 * against an independent model of the behaviour contract. A violated
 * invariant prints one line to stderr and calls abort(), which libFuzzer
 * reports as a crash. Records are never dumped to text.
 *
 * Input format (integers big-endian; reading past the end of the input
 * yields zero bytes, so every input is valid):
 *
 * \code
 *   Configuration
 *     u8   C     bit 0: require-backup
 *                bits 1-3: number N of exchange names (0..7)
 *                bit 4: pass NULL instead of the last name
 *                bits 5-7: filler index: a name that does not end within its
 *                      bytes is put in a 256-byte buffer padded with
 *                      FILLERS[index]; a name that ends (or the root name)
 *                      gets a buffer of exactly its size
 *     u16  preference
 *     N x { u8 len, len bytes }          raw exchange names (wire format)
 *   Response packet
 *     u8   F     bit 0: KNOT_PF_NOTRUNC (TCP)
 *                bit 1: KNOT_PF_FREE: put copies allocated from pkt->mm
 *                bit 2: put every RRset twice, the second time with
 *                       KNOT_PF_CHECKDUP
 *                bit 3: heap allocator for the response (real free()),
 *                       else a pool like knotd's mempool (free is a no-op)
 *                bit 4: no question in the response (no compression)
 *                bit 5: merge consecutive RRs of one owner/type/class into
 *                       one RRset (as in a zone), else one RRset per RR
 *                bit 6: parse the message with KNOT_PF_NOCANON (keep case)
 *                bit 7: put flags on every RRset, else on MX RRsets only
 *     u8   L     bit 0: past the answer: knot_pkt_begin() of AUTHORITY (or
 *                       ADDITIONAL, bit 6) and put that section's RRsets
 *                bit 1: at the size limit: max_size = size of the built
 *                       packet + reserved + (M & 0x3ff)
 *                bit 2: inject: replace the RDATA of the packet's last
 *                       RRset with the records at the end of the input
 *                bit 3: inject: also make that RRset's type MX
 *                bits 4-5: owner compression hint: 0 as knotd (QNAME when
 *                       the owner is the QNAME), 1 NONE, 2 QNAME, 3 as knotd
 *                       puts glue: where the previous RRset wrote its first
 *                       RDATA name (hints 2 and 3 may name another owner:
 *                       knotd never would, the core must still cope)
 *                bit 6: past the answer goes to ADDITIONAL
 *                bit 7: the core's allocation from pkt->mm fails
 *     u16  M     max_size (at least 12), or the slack at the size limit
 *     u8   R     reserved space (knot_pkt_reserve)
 *     u8   O     rotation (knot_pkt_put_rotate), 0: none
 *     u16  P     padding: if not 0, a NULL record with P octets of RDATA is
 *                put first in ANSWER (owner "."), so that later names sit
 *                beyond the reach of compression pointers (0x3fff)
 *     u16  len, len bytes                a DNS message, parsed with
 *                knot_pkt_parse(); its ID/flags, question and the RRsets of
 *                its ANSWER section (even when parsing failed later) are
 *                put into a fresh response
 *   Injection (L bit 2)
 *     u8   K     number of records (K % 17)
 *     K x { u16 len, len bytes }         raw RDATA
 * \endcode
 *
 * tests/fuzz/make_seeds.c writes the seed corpus in this format. Built with
 * -DFUZZ_CORE_VERBOSE, the target prints the expected and the actual outcome
 * of each input (numbers of mxtrap_result_t) to stderr.
 *
 * Checks: the configuration is accepted exactly when every name is valid and
 * not the root, and then holds the names lower-cased, unique and sorted. The
 * outcome of mxtrap_apply() is the model's (NOT_MX, a reason to leave the
 * answer alone, or trapped/truncated). Always: size + reserved <= max_size,
 * header counts equal the records of each section's RRsets, a wire that
 * parsed before parses after. Unchanged: wire, size, RRsets, hints and the
 * compression state are untouched. Trapped: the MX RRset grew by the model's
 * trap records, each preference above every original one; the old wire is
 * intact but ANCOUNT; re-parsed, the ANSWER holds the old records then the
 * traps. Truncated: the merged RRset could not fit, the MX RRset is gone
 * from RRsets, wire and ANCOUNT, TC is set unless NOTRUNC. And, for every
 * packet built as knotd does (no injection, no rotation), the wire is byte
 * for byte the one libknot writes when the merged RRset (zone records plus
 * traps) is put in one go, trapped or truncated alike.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxtrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*! Reports a violated invariant in a way libFuzzer catches. */
#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_core: invariant violated (line %d): %s\n", \
		        __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* ------------------------------------------------------------------------ */
/* Input reader.                                                             */

typedef struct {
	const uint8_t *pos;
	size_t left;
} input_t;

static uint8_t in_u8(input_t *in)
{
	if (in->left == 0) {
		return 0;
	}
	in->left--;
	return *in->pos++;
}

static uint16_t in_u16(input_t *in)
{
	uint16_t high = in_u8(in);
	return (uint16_t)(high << 8 | in_u8(in));
}

static const uint8_t *in_bytes(input_t *in, size_t want, size_t *got)
{
	*got = want < in->left ? want : in->left;
	const uint8_t *bytes = in->pos;
	in->pos += *got;
	in->left -= *got;
	return bytes;
}

/* ------------------------------------------------------------------------ */
/* Allocators: a pool like knotd's per-query mempool (freed at the end of
 * each input), and the heap with a real free() to catch use after free. */

typedef struct block {
	struct block *next;
	max_align_t data[];
} block_t;

static block_t *pool_blocks;
static bool fail_next_alloc;  /*!< Make the next allocation of pkt->mm fail. */

static void *pool_get(size_t len)
{
	block_t *block = malloc(sizeof(*block) + len);
	if (block == NULL) {
		abort();
	}
	block->next = pool_blocks;
	pool_blocks = block;
	return block->data;
}

static void *pool_alloc(void *ctx, size_t len)
{
	(void)ctx;
	if (fail_next_alloc) {
		fail_next_alloc = false;
		return NULL;
	}
	return pool_get(len);
}

static void pool_nofree(void *ptr)
{
	(void)ptr;
}

static void pool_release(void)
{
	while (pool_blocks != NULL) {
		block_t *next = pool_blocks->next;
		free(pool_blocks);
		pool_blocks = next;
	}
}

static void *heap_alloc(void *ctx, size_t len)
{
	(void)ctx;
	if (fail_next_alloc) {
		fail_next_alloc = false;
		return NULL;
	}
	return malloc(len);
}

static knot_mm_t POOL_MM = { .ctx = NULL, .alloc = pool_alloc, .free = pool_nofree };
static knot_mm_t HEAP_MM = { .ctx = NULL, .alloc = heap_alloc, .free = free };

static void mm_release(knot_mm_t *mm, void *ptr)
{
	if (mm->free != NULL) {
		mm->free(ptr);
	}
}

static void *pool_dup(const void *src, size_t len)
{
	void *copy = pool_get(len > 0 ? len : 1);
	if (len > 0) {
		memcpy(copy, src, len);
	}
	return copy;
}

/* ------------------------------------------------------------------------ */
/* Names, checked independently of libknot.                                 */

/*! Wire size of the uncompressed, valid name at the start of buf[0..len), 0 if none. */
static size_t name_wire_size(const uint8_t *buf, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		uint8_t label = buf[pos];
		if (label == 0) {
			return pos + 1;
		}
		if (label > 63) {
			return 0;
		}
		pos += 1 + label;
		if (pos + 1 > KNOT_DNAME_MAXLEN) {
			return 0;
		}
	}
	return 0;
}

static uint8_t ascii_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/*! Case-insensitive equality of two valid names. */
static bool name_ieq(const uint8_t *a, const uint8_t *b)
{
	size_t len = name_wire_size(a, KNOT_DNAME_MAXLEN);
	if (len != name_wire_size(b, KNOT_DNAME_MAXLEN)) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (ascii_lower(a[i]) != ascii_lower(b[i])) {
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------------ */
/* Configuration.                                                            */

static const uint8_t FILLERS[8] = { 0x00, 0x01, 0x3f, 0x40, 0xc0, 0xff, 'a', 0x00 };

#define MAX_NAMES 7

/*!
 * Builds a configuration from the input and checks mxtrap_conf_init()
 * against the model: it must accept exactly the lists of valid non-root
 * names and then hold them lower-cased, unique and in canonical order.
 *
 * \return true if conf was initialized (else the caller uses a default).
 */
static bool fuzz_conf(input_t *in, mxtrap_conf_t *conf)
{
	uint8_t flags = in_u8(in);
	bool require_backup = flags & 0x01;
	size_t count = (flags >> 1) & 0x07;
	bool last_null = flags & 0x10;
	uint8_t filler = FILLERS[(flags >> 5) & 0x07];
	uint16_t preference = in_u16(in);

	const knot_dname_t *names[MAX_NAMES] = { NULL };
	bool valid = true;
	for (size_t i = 0; i < count; i++) {
		size_t len;
		const uint8_t *bytes = in_bytes(in, in_u8(in), &len);
		size_t exact = name_wire_size(bytes, len);
		uint8_t *buf;
		if (exact > 0) {
			/* Exact size: ASan sees any read past the name. */
			buf = pool_dup(bytes, exact);
		} else {
			/* The core may read up to KNOT_DNAME_MAXLEN bytes of it. */
			buf = pool_get(KNOT_DNAME_MAXLEN + 1);
			memset(buf, filler, KNOT_DNAME_MAXLEN + 1);
			memcpy(buf, bytes, len);
			exact = name_wire_size(buf, KNOT_DNAME_MAXLEN);
		}
		names[i] = buf;
		if (last_null && i + 1 == count) {
			names[i] = NULL;
		}
		if (names[i] == NULL || exact <= 1) {
			valid = false;
		}
	}

	memset(conf, 0xa5, sizeof(*conf));
	int ret = mxtrap_conf_init(conf, preference, require_backup,
	                           count > 0 ? names : NULL, count);
	if (!valid) {
		CHECK(ret == KNOT_EINVAL);
	} else {
		CHECK(ret == KNOT_EOK);
	}
	if (ret != KNOT_EOK) {
		CHECK(conf->exchanges == NULL && conf->exchange_sizes == NULL &&
		      conf->exchange_count == 0);
		return false;
	}

	CHECK(conf->preference == preference);
	CHECK(conf->require_backup == require_backup);

	/* Expected list: lower-cased, unique (case-insensitively), sorted. */
	size_t unique = 0;
	for (size_t i = 0; i < count; i++) {
		bool seen = false;
		for (size_t j = 0; j < i; j++) {
			seen = seen || name_ieq(names[i], names[j]);
		}
		unique += seen ? 0 : 1;
	}
	CHECK(conf->exchange_count == unique);
	for (size_t i = 0; i < conf->exchange_count; i++) {
		const uint8_t *name = conf->exchanges[i];
		size_t len = name_wire_size(name, KNOT_DNAME_MAXLEN);
		CHECK(len > 1 && conf->exchange_sizes[i] == len);
		for (size_t k = 0; k < len; k++) {
			CHECK(name[k] == ascii_lower(name[k]));
		}
		bool given = false;
		for (size_t j = 0; j < count; j++) {
			given = given || name_ieq(name, names[j]);
		}
		CHECK(given);
		if (i > 0) {
			/* Canonical RDATA order: bytes, then the shorter one first. */
			const uint8_t *prev = conf->exchanges[i - 1];
			size_t plen = conf->exchange_sizes[i - 1];
			int cmp = memcmp(prev, name, plen < len ? plen : len);
			CHECK(cmp < 0 || (cmp == 0 && plen < len));
		}
	}
	return true;
}

/* ------------------------------------------------------------------------ */
/* Response plan and building.                                               */

typedef struct {
	knot_rrset_t *rr;          /*!< Harness-owned (pool). */
	knot_section_t section;
} plan_rr_t;

typedef struct {
	const knot_dname_t *qname; /*!< NULL: no question. */
	uint16_t qtype;
	uint16_t qclass;
	uint8_t header[4];         /*!< ID and flags. */
	plan_rr_t *rrs;
	size_t count;
	knot_section_t last;       /*!< Section current when the hook runs. */
	uint16_t put_flags;
	bool flags_all;
	bool twice;
	bool free_copy;
	int hint_mode;
	size_t max_size;
	uint16_t reserved;
	uint16_t rotate;
	knot_rrset_t *padding;     /*!< NULL record put first, or NULL. */
	knot_mm_t *mm;             /*!< Allocator of the response. */
} plan_t;

typedef struct {
	knot_pkt_t *pkt;
	bool clean;                /*!< Every step succeeded, as when the hook runs. */
	int override_ret;          /*!< knot_pkt_put() result of the override RRset. */
} built_t;

/*! Adds the RRsets of one parsed section to the plan, merged or not. */
static void plan_section(plan_t *plan, const knot_pkt_t *parsed, knot_section_t section,
                         bool merge)
{
	const knot_pktsection_t *sec = &parsed->sections[section];
	if (sec->pos + sec->count > parsed->rrset_count) {
		return;
	}
	bool first = true;
	for (uint16_t i = sec->pos; i < sec->pos + sec->count; i++) {
		const knot_rrset_t *rr = &parsed->rr[i];
		plan_rr_t *last = plan->count > 0 ? &plan->rrs[plan->count - 1] : NULL;
		if (merge && !first && last->rr->type == rr->type &&
		    last->rr->rclass == rr->rclass && name_ieq(last->rr->owner, rr->owner)) {
			const knot_rdata_t *rd = rr->rrs.rdata;
			for (uint16_t k = 0; k < rr->rrs.count; k++) {
				CHECK(knot_rrset_add_rdata(last->rr, rd->data, rd->len, &POOL_MM)
				      == KNOT_EOK);
				rd = knot_rdataset_next((knot_rdata_t *)rd);
			}
			continue;
		}
		knot_rrset_t *copy = knot_rrset_copy(rr, &POOL_MM);
		CHECK(copy != NULL);
		plan->rrs[plan->count++] = (plan_rr_t){ copy, section };
		first = false;
	}
}

static uint16_t hint_for(const plan_t *plan, const knot_pkt_t *pkt, const knot_rrset_t *rr)
{
	switch (plan->hint_mode) {
	case 0:
		return plan->qname != NULL && name_ieq(rr->owner, plan->qname) ?
		       KNOT_COMPR_HINT_QNAME : KNOT_COMPR_HINT_NONE;
	case 1:
		return KNOT_COMPR_HINT_NONE;
	case 2:
		return KNOT_COMPR_HINT_QNAME;
	default:
		/* As knotd puts glue: where the previous RRset wrote its first RDATA name. */
		return pkt->rrset_count > 0 ?
		       knot_compr_hint(&pkt->rr_info[pkt->rrset_count - 1], KNOT_COMPR_HINT_RDATA) :
		       KNOT_COMPR_HINT_NONE;
	}
}

/*! knot_pkt_put() as knotd calls it; a copy owned by the packet with FREE. */
static int put_one(knot_pkt_t *pkt, const plan_t *plan, const knot_rrset_t *rr,
                   uint16_t hint, uint16_t flags)
{
	if (!plan->free_copy) {
		return knot_pkt_put_rotate(pkt, hint, rr, plan->rotate, flags);
	}
	knot_rrset_t *copy = knot_rrset_copy(rr, &pkt->mm);
	CHECK(copy != NULL);
	uint16_t count = pkt->rrset_count;
	int ret = knot_pkt_put_rotate(pkt, hint, copy, plan->rotate, flags | KNOT_PF_FREE);
	if (pkt->rrset_count > count) {
		mm_release(&pkt->mm, copy);  /* The packet owns the contents now. */
	} else {
		knot_rrset_free(copy, &pkt->mm);
	}
	return ret;
}

/*!
 * Builds the response as knotd does up to the ANSWER stage hook; the RRset
 * at plan index override_at is replaced by override (the twin packet).
 */
static void build(const plan_t *plan, knot_mm_t *mm, size_t max_size, size_t override_at,
                  const knot_rrset_t *override, built_t *out)
{
	out->clean = true;
	out->override_ret = KNOT_EOK;
	out->pkt = knot_pkt_new(NULL, max_size, mm);
	CHECK(out->pkt != NULL);
	knot_pkt_t *pkt = out->pkt;

	memcpy(pkt->wire, plan->header, sizeof(plan->header));
	knot_wire_set_qr(pkt->wire);
	if (plan->qname != NULL &&
	    knot_pkt_put_question(pkt, plan->qname, plan->qclass, plan->qtype) != KNOT_EOK) {
		out->clean = false;
	}
	if (plan->reserved > 0 && knot_pkt_reserve(pkt, plan->reserved) != KNOT_EOK) {
		out->clean = false;
	}
	CHECK(knot_pkt_begin(pkt, KNOT_ANSWER) == KNOT_EOK);
	if (plan->padding != NULL && out->clean &&
	    knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, plan->padding, 0) != KNOT_EOK) {
		out->clean = false;
	}

	for (size_t i = 0; i < plan->count && out->clean; i++) {
		if (plan->rrs[i].section != pkt->current) {
			CHECK(knot_pkt_begin(pkt, plan->rrs[i].section) == KNOT_EOK);
		}
		const knot_rrset_t *rr = i == override_at ? override : plan->rrs[i].rr;
		uint16_t flags = plan->flags_all || rr->type == KNOT_RRTYPE_MX ? plan->put_flags : 0;
		uint16_t hint = hint_for(plan, pkt, rr);
		int ret = put_one(pkt, plan, rr, hint, flags);
		if (ret == KNOT_EOK && plan->twice) {
			ret = put_one(pkt, plan, rr, hint, flags | KNOT_PF_CHECKDUP);
		}
		if (i == override_at) {
			out->override_ret = ret;
		}
		if (ret != KNOT_EOK) {
			out->clean = false;
		}
	}
	if (plan->last != pkt->current) {
		CHECK(knot_pkt_begin(pkt, plan->last) == KNOT_EOK);
	}
}

/*! Replaces the RDATA of the last RRset with raw records from the input. */
static void inject(knot_pkt_t *pkt, input_t *in, bool make_mx)
{
	uint8_t count = in_u8(in) % 17;
	if (pkt->rrset_count == 0) {
		return;
	}
	knot_rrset_t *rr = &pkt->rr[pkt->rrset_count - 1];
	bool owned = pkt->rr_info[pkt->rrset_count - 1].flags & KNOT_PF_FREE;

	const uint8_t *data[17];
	size_t lens[17];
	size_t total = 0;
	for (uint8_t i = 0; i < count; i++) {
		data[i] = in_bytes(in, in_u16(in), &lens[i]);
		total += knot_rdata_size(lens[i]);
	}

	/* One block, as knot_rdataset_t keeps it; the packet's allocator if it owns it. */
	uint8_t *block = NULL;
	if (count > 0) {
		block = owned ? pkt->mm.alloc(pkt->mm.ctx, total) : pool_get(total);
		CHECK(block != NULL);
		knot_rdata_t *out = (knot_rdata_t *)block;
		for (uint8_t i = 0; i < count; i++) {
			knot_rdata_init(out, lens[i], data[i]);
			out = knot_rdataset_next(out);
		}
	}
	if (owned) {
		knot_rdataset_clear(&rr->rrs, &pkt->mm);
	}
	rr->rrs = (knot_rdataset_t){ .count = count, .size = total, .rdata = (knot_rdata_t *)block };
	if (make_mx) {
		rr->type = KNOT_RRTYPE_MX;
	}
}

/* ------------------------------------------------------------------------ */
/* Model of the behaviour contract.                                          */

typedef struct {
	mxtrap_result_t result;    /*!< MXTRAP_TRAPPED: trapped or truncated. */
	uint16_t index;            /*!< Index of the MX RRset. */
	uint16_t trap_pref;
	uint16_t trap_count;
	knot_rdataset_t traps;     /*!< Expected trap records (pool). */
	size_t trap_wire_max;      /*!< Upper bound of their wire size. */
} expect_t;

static const knot_dname_t *mx_name(const knot_rdata_t *rd)
{
	return rd->data + 2;
}

static void add_trap(expect_t *e, const knot_dname_t *name, size_t owner_size)
{
	size_t name_size = name_wire_size(name, KNOT_DNAME_MAXLEN);
	uint8_t rdata[2 + KNOT_DNAME_MAXLEN];
	knot_wire_write_u16(rdata, e->trap_pref);
	memcpy(rdata + 2, name, name_size);
	knot_rdata_t *rd = pool_get(knot_rdata_size(2 + name_size));
	knot_rdata_init(rd, 2 + name_size, rdata);

	/* Append (knot_rdataset_add() would sort; the order must be the core's). */
	uint8_t *grown = pool_get(e->traps.size + knot_rdata_size(rd->len));
	if (e->traps.size > 0) {
		memcpy(grown, e->traps.rdata, e->traps.size);
	}
	memcpy(grown + e->traps.size, rd, knot_rdata_size(rd->len));
	e->traps.rdata = (knot_rdata_t *)grown;
	e->traps.size += knot_rdata_size(rd->len);
	e->traps.count++;
	e->trap_count++;
	e->trap_wire_max += owner_size + 10 + rd->len;
}

static void model(const mxtrap_conf_t *conf, const knot_pkt_t *pkt, expect_t *e)
{
	memset(e, 0, sizeof(*e));
	e->result = MXTRAP_NOT_MX;
	if (pkt->current != KNOT_ANSWER) {
		return;
	}
	const knot_pktsection_t *answer = &pkt->sections[KNOT_ANSWER];
	size_t end = (size_t)answer->pos + answer->count;
	size_t mx = end;
	for (size_t i = answer->pos; i < end; i++) {
		if (pkt->rr[i].type == KNOT_RRTYPE_MX) {
			mx = i;
			break;
		}
	}
	if (mx == end) {
		return;
	}
	e->index = mx;
	if (mx + 1 != end || end != pkt->rrset_count) {
		e->result = MXTRAP_UNCHANGED_UNEXPECTED;
		for (size_t i = mx + 1; i < end; i++) {
			const knot_rrset_t *rr = &pkt->rr[i];
			if (rr->type != KNOT_RRTYPE_RRSIG) {
				continue;
			}
			const knot_rdata_t *rd = rr->rrs.rdata;
			for (uint16_t k = 0; k < rr->rrs.count; k++) {
				if (rd->len >= 2 && knot_wire_read_u16(rd->data) == KNOT_RRTYPE_MX) {
					e->result = MXTRAP_UNCHANGED_SIGNED;
				}
				rd = knot_rdataset_next((knot_rdata_t *)rd);
			}
		}
		return;
	}

	const knot_rrset_t *rr = &pkt->rr[mx];
	const knot_rrinfo_t *info = &pkt->rr_info[mx];
	e->result = MXTRAP_UNCHANGED_UNEXPECTED;
	if (rr->rrs.count == 0 || info->pos > pkt->size ||
	    pkt->size + pkt->reserved > pkt->max_size) {
		return;
	}
	/* First pass: lengths, null MX and preferences only. */
	uint16_t low = UINT16_MAX, high = 0;
	const knot_rdata_t *rd = rr->rrs.rdata;
	for (uint16_t i = 0; i < rr->rrs.count; i++) {
		if (rd->len <= 2) {
			return;
		}
		if (*mx_name(rd) == '\0') {
			e->result = MXTRAP_UNCHANGED_NULL_MX;
			return;
		}
		uint16_t pref = knot_wire_read_u16(rd->data);
		low = pref < low ? pref : low;
		high = pref > high ? pref : high;
		rd = knot_rdataset_next((knot_rdata_t *)rd);
	}
	if (low == high && conf->require_backup) {
		e->result = MXTRAP_UNCHANGED_NO_BACKUP;
		return;
	}
	/* Names are read from here on: every one must be well formed. */
	rd = rr->rrs.rdata;
	for (uint16_t i = 0; i < rr->rrs.count; i++) {
		if (name_wire_size(mx_name(rd), rd->len - 2) != rd->len - 2u) {
			return;
		}
		rd = knot_rdataset_next((knot_rdata_t *)rd);
	}

	/* Trap exchangers: the configured names, else the primaries. */
	if (high > low) {
		const knot_rdata_t *top = rr->rrs.rdata;
		for (uint16_t i = 0; i < rr->rrs.count; i++) {
			if (knot_wire_read_u16(top->data) == high) {
				if (conf->exchange_count > 0) {
					for (uint16_t j = 0; j < conf->exchange_count; j++) {
						if (name_ieq(mx_name(top), conf->exchanges[j])) {
							e->result = MXTRAP_UNCHANGED_TRAP_PRESENT;
						}
					}
				} else {
					const knot_rdata_t *p = rr->rrs.rdata;
					for (uint16_t j = 0; j < rr->rrs.count; j++) {
						if (knot_wire_read_u16(p->data) == low &&
						    name_ieq(mx_name(top), mx_name(p))) {
							e->result = MXTRAP_UNCHANGED_TRAP_PRESENT;
						}
						p = knot_rdataset_next((knot_rdata_t *)p);
					}
				}
			}
			top = knot_rdataset_next((knot_rdata_t *)top);
		}
		if (e->result == MXTRAP_UNCHANGED_TRAP_PRESENT) {
			return;
		}
	}
	if (high == UINT16_MAX) {
		e->result = MXTRAP_UNCHANGED_MAX_PREF;
		return;
	}

	e->trap_pref = conf->preference > high ? conf->preference : high + 1;
	size_t owner_size = knot_dname_size(rr->owner);
	if (conf->exchange_count > 0) {
		for (uint16_t j = 0; j < conf->exchange_count; j++) {
			add_trap(e, conf->exchanges[j], owner_size);
		}
	} else {
		const knot_rdata_t *p = rr->rrs.rdata;
		for (uint16_t j = 0; j < rr->rrs.count; j++) {
			if (knot_wire_read_u16(p->data) == low) {
				add_trap(e, mx_name(p), owner_size);
			}
			p = knot_rdataset_next((knot_rdata_t *)p);
		}
	}
	e->result = rr->rrs.count + e->trap_count > UINT16_MAX ?
	            MXTRAP_UNCHANGED_UNEXPECTED : MXTRAP_TRAPPED;
}

/* ------------------------------------------------------------------------ */
/* Snapshot of the packet before the hook and the checks after it.           */

typedef struct {
	uint8_t *wire;
	size_t size;
	size_t max_size;
	uint16_t reserved;
	uint16_t rrset_count;
	knot_section_t current;
	knot_pktsection_t sections[KNOT_PKT_SECTIONS];
	knot_rrset_t *rr;
	knot_rrinfo_t *rr_info;
	uint8_t *mx_rdata;         /*!< Copy of the MX RRset's RDATA block. */
	knot_compr_t compr;
	bool fits;
	bool counts_ok;
	knot_pkt_t *parsed;        /*!< The wire re-parsed, NULL if it does not parse. */
} snap_t;

static const uint16_t COUNT_OFFSETS[KNOT_PKT_SECTIONS] = {
	KNOT_WIRE_OFFSET_ANCOUNT, KNOT_WIRE_OFFSET_NSCOUNT, KNOT_WIRE_OFFSET_ARCOUNT
};

/*! The header counts equal the records of each section's RRsets. */
static bool counts_match(const knot_pkt_t *pkt)
{
	for (int s = KNOT_ANSWER; s <= KNOT_ADDITIONAL; s++) {
		const knot_pktsection_t *sec = &pkt->sections[s];
		if ((size_t)sec->pos + sec->count > pkt->rrset_count) {
			return false;
		}
		uint16_t sum = 0;
		for (uint16_t i = sec->pos; i < sec->pos + sec->count; i++) {
			sum += pkt->rr[i].rrs.count;
		}
		if (knot_wire_read_u16(pkt->wire + COUNT_OFFSETS[s]) != sum) {
			return false;
		}
	}
	return true;
}

static knot_pkt_t *reparse(const knot_pkt_t *pkt)
{
	if (pkt->size > KNOT_WIRE_MAX_PKTSIZE) {
		return NULL;
	}
	uint8_t *wire = pool_dup(pkt->wire, pkt->size);
	knot_pkt_t *parsed = knot_pkt_new(wire, pkt->size, &POOL_MM);
	CHECK(parsed != NULL);
	if (knot_pkt_parse(parsed, KNOT_PF_NOCANON) != KNOT_EOK) {
		knot_pkt_free(parsed);
		return NULL;
	}
	return parsed;
}

static void snapshot(const knot_pkt_t *pkt, uint16_t mx, snap_t *s)
{
	s->wire = pool_dup(pkt->wire, pkt->size);
	s->size = pkt->size;
	s->max_size = pkt->max_size;
	s->reserved = pkt->reserved;
	s->rrset_count = pkt->rrset_count;
	s->current = pkt->current;
	memcpy(s->sections, pkt->sections, sizeof(s->sections));
	s->rr = pool_dup(pkt->rr, pkt->rrset_count * sizeof(*pkt->rr));
	s->rr_info = pool_dup(pkt->rr_info, pkt->rrset_count * sizeof(*pkt->rr_info));
	s->mx_rdata = NULL;
	if (mx < pkt->rrset_count) {
		s->mx_rdata = pool_dup(pkt->rr[mx].rrs.rdata, pkt->rr[mx].rrs.size);
	}
	s->compr = pkt->compr;
	s->fits = pkt->size + pkt->reserved <= pkt->max_size;
	s->counts_ok = counts_match(pkt);
	s->parsed = reparse(pkt);
}

static bool rrset_same(const knot_rrset_t *a, const knot_rrset_t *b)
{
	return a->owner == b->owner && a->ttl == b->ttl && a->type == b->type &&
	       a->rclass == b->rclass && a->rrs.count == b->rrs.count &&
	       a->rrs.size == b->rrs.size && a->rrs.rdata == b->rrs.rdata &&
	       a->additional == b->additional;
}

static void check_untouched(const knot_pkt_t *pkt, const snap_t *s)
{
	CHECK(pkt->size == s->size);
	CHECK(memcmp(pkt->wire, s->wire, s->size) == 0);
	CHECK(pkt->rrset_count == s->rrset_count);
	CHECK(memcmp(pkt->sections, s->sections, sizeof(s->sections)) == 0);
	for (uint16_t i = 0; i < s->rrset_count; i++) {
		CHECK(rrset_same(&pkt->rr[i], &s->rr[i]));
	}
	for (uint16_t i = 0; i < s->rrset_count; i++) {
		CHECK(memcmp(&pkt->rr_info[i], &s->rr_info[i], sizeof(*pkt->rr_info)) == 0);
	}
	CHECK(pkt->compr.wire == s->compr.wire && pkt->compr.rrinfo == s->compr.rrinfo &&
	      pkt->compr.suffix.pos == s->compr.suffix.pos &&
	      pkt->compr.suffix.labels == s->compr.suffix.labels);
}

static bool rr_equal(const knot_rrset_t *a, const knot_rrset_t *b)
{
	return knot_dname_is_equal(a->owner, b->owner) && a->type == b->type &&
	       a->rclass == b->rclass && a->ttl == b->ttl && a->rrs.count == 1 &&
	       b->rrs.count == 1 && a->rrs.rdata->len == b->rrs.rdata->len &&
	       memcmp(a->rrs.rdata->data, b->rrs.rdata->data, a->rrs.rdata->len) == 0;
}

/*! A resolver sees the records it saw before, then the traps. */
static void check_reparsed(const knot_pkt_t *pkt, const snap_t *s, const expect_t *e,
                           const knot_rrset_t *mx)
{
	if (s->parsed == NULL) {
		return;
	}
	knot_pkt_t *parsed = reparse(pkt);
	CHECK(parsed != NULL);
	const knot_pktsection_t *before = &s->parsed->sections[KNOT_ANSWER];
	const knot_pktsection_t *after = &parsed->sections[KNOT_ANSWER];
	CHECK(after->count == knot_wire_get_ancount(pkt->wire));
	CHECK(after->count == before->count + e->trap_count);
	for (uint16_t i = 0; i < before->count; i++) {
		CHECK(rr_equal(&parsed->rr[after->pos + i], &s->parsed->rr[before->pos + i]));
	}
	/* Traps read as the RRset's last record does (its owner as written, maybe by hint). */
	CHECK(before->count > 0);
	const knot_rrset_t *last = &s->parsed->rr[before->pos + before->count - 1];
	CHECK(last->rclass == mx->rclass && last->ttl == mx->ttl);  /* Type: maybe injected. */
	const knot_rdata_t *trap = e->traps.rdata;
	for (uint16_t i = 0; i < e->trap_count; i++) {
		const knot_rrset_t *rr = &parsed->rr[after->pos + before->count + i];
		CHECK(rr->type == KNOT_RRTYPE_MX && rr->rclass == mx->rclass && rr->ttl == mx->ttl);
		CHECK(name_ieq(rr->owner, last->owner));
		CHECK(rr->rrs.count == 1 && rr->rrs.rdata->len == trap->len);
		CHECK(knot_wire_read_u16(rr->rrs.rdata->data) == e->trap_pref);
		CHECK(name_ieq(mx_name(rr->rrs.rdata), mx_name(trap)));
		trap = knot_rdataset_next((knot_rdata_t *)trap);
	}
	knot_pkt_free(parsed);
}

static void check_trapped(const knot_pkt_t *pkt, const snap_t *s, const expect_t *e)
{
	const knot_rrset_t *mx = &pkt->rr[e->index];
	const knot_rrset_t *old = &s->rr[e->index];

	CHECK(pkt->rrset_count == s->rrset_count);
	CHECK(memcmp(pkt->sections, s->sections, sizeof(s->sections)) == 0);
	for (uint16_t i = 0; i < s->rrset_count; i++) {
		if (i != e->index) {
			CHECK(rrset_same(&pkt->rr[i], &s->rr[i]));
			CHECK(memcmp(&pkt->rr_info[i], &s->rr_info[i], sizeof(*pkt->rr_info)) == 0);
		}
	}
	/* Position, flags and the hints of the old records (glue uses them) stay. */
	const knot_rrinfo_t *info = &pkt->rr_info[e->index];
	const knot_rrinfo_t *old_info = &s->rr_info[e->index];
	CHECK(info->pos == old_info->pos && info->flags == old_info->flags);
	for (size_t i = 0; i < KNOT_COMPR_HINT_COUNT && i <= old->rrs.count; i++) {
		CHECK(info->compress_ptr[i] == old_info->compress_ptr[i]);
	}
	CHECK(mx->owner == old->owner && mx->type == old->type && mx->rclass == old->rclass &&
	      mx->ttl == old->ttl && mx->additional == old->additional);

	/* The RRset grew by the traps, behind the unchanged records. */
	CHECK(mx->rrs.count == old->rrs.count + e->trap_count);
	CHECK(mx->rrs.size == old->rrs.size + e->traps.size);
	CHECK(memcmp(mx->rrs.rdata, s->mx_rdata, old->rrs.size) == 0);
	const knot_rdata_t *got = (const knot_rdata_t *)((const uint8_t *)mx->rrs.rdata +
	                                                 old->rrs.size);
	const knot_rdata_t *want = e->traps.rdata;
	for (uint16_t i = 0; i < e->trap_count; i++) {
		CHECK(got->len == want->len && memcmp(got->data, want->data, got->len) == 0);
		uint16_t pref = knot_wire_read_u16(got->data);
		const knot_rdata_t *orig = (const knot_rdata_t *)s->mx_rdata;
		for (uint16_t k = 0; k < old->rrs.count; k++) {
			CHECK(pref > knot_wire_read_u16(orig->data));
			orig = knot_rdataset_next((knot_rdata_t *)orig);
		}
		got = knot_rdataset_next((knot_rdata_t *)got);
		want = knot_rdataset_next((knot_rdata_t *)want);
	}

	/* The wire: the old bytes, a larger ANCOUNT, the traps behind. */
	CHECK(pkt->size > s->size);
	CHECK(knot_wire_get_ancount(pkt->wire) ==
	      (uint16_t)(knot_wire_get_ancount(s->wire) + e->trap_count));
	CHECK(memcmp(pkt->wire, s->wire, KNOT_WIRE_OFFSET_ANCOUNT) == 0);
	CHECK(memcmp(pkt->wire + KNOT_WIRE_OFFSET_NSCOUNT, s->wire + KNOT_WIRE_OFFSET_NSCOUNT,
	             s->size - KNOT_WIRE_OFFSET_NSCOUNT) == 0);

	check_reparsed(pkt, s, e, mx);
}

static void check_truncated(const knot_pkt_t *pkt, const snap_t *s, const expect_t *e)
{
	const knot_rrset_t *old = &s->rr[e->index];
	const knot_rrinfo_t *info = &s->rr_info[e->index];

	/* Only a merged RRset that cannot fit may be dropped. */
	CHECK(s->max_size - s->size - s->reserved < e->trap_wire_max);

	CHECK(pkt->rrset_count == s->rrset_count - 1);
	CHECK(pkt->sections[KNOT_ANSWER].count == s->sections[KNOT_ANSWER].count - 1);
	for (uint16_t i = 0; i < pkt->rrset_count; i++) {
		CHECK(rrset_same(&pkt->rr[i], &s->rr[i]));
	}
	CHECK(pkt->size == info->pos);
	CHECK(knot_wire_get_ancount(pkt->wire) ==
	      (uint16_t)(knot_wire_get_ancount(s->wire) - old->rrs.count));
	bool tc_before = knot_wire_get_tc(s->wire);
	bool tc_after = knot_wire_get_tc(pkt->wire);
	CHECK(tc_after == (tc_before || !(info->flags & KNOT_PF_NOTRUNC)));

	uint8_t *want = pool_dup(s->wire, pkt->size);
	knot_wire_set_ancount(want, knot_wire_get_ancount(pkt->wire));
	if (tc_after) {
		knot_wire_set_tc(want);
	}
	CHECK(memcmp(pkt->wire, want, pkt->size) == 0);
}

/* ------------------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	input_t in = { data, size };

	mxtrap_conf_t conf;
	if (!fuzz_conf(&in, &conf)) {
		CHECK(mxtrap_conf_init(&conf, MXTRAP_DEFAULT_PREFERENCE, true, NULL, 0) == KNOT_EOK);
	}

	uint8_t f = in_u8(&in);
	uint8_t l = in_u8(&in);
	uint16_t m = in_u16(&in);
	plan_t plan = {
		.put_flags = (f & 0x01) ? KNOT_PF_NOTRUNC : 0,
		.free_copy = f & 0x02,
		.twice = f & 0x04,
		.mm = (f & 0x08) ? &HEAP_MM : &POOL_MM,
		.flags_all = f & 0x80,
		.hint_mode = (l >> 4) & 0x03,
		.last = KNOT_ANSWER,
		.max_size = m < KNOT_WIRE_HEADER_SIZE ? KNOT_WIRE_HEADER_SIZE : m,
	};
	plan.reserved = in_u8(&in);
	plan.rotate = in_u8(&in);
	uint16_t padding = in_u16(&in);
	if (padding > 0) {
		plan.padding = knot_rrset_new((const knot_dname_t *)"", KNOT_RRTYPE_NULL,
		                              KNOT_CLASS_IN, 0, &POOL_MM);
		CHECK(plan.padding != NULL);
		uint8_t *zeros = pool_get(padding);
		memset(zeros, 0, padding);
		CHECK(knot_rrset_add_rdata(plan.padding, zeros, padding, &POOL_MM) == KNOT_EOK);
	}
	bool at_limit = l & 0x02;
	bool injecting = l & 0x04;
	bool fail_alloc = l & 0x80;

	/* The message: whatever libknot accepts of it. */
	size_t msg_len;
	const uint8_t *msg = in_bytes(&in, in_u16(&in), &msg_len);
	uint8_t *msg_wire = pool_dup(msg, msg_len);
	knot_pkt_t *parsed = knot_pkt_new(msg_wire, msg_len, &POOL_MM);
	CHECK(parsed != NULL);
	(void)knot_pkt_parse(parsed, (f & 0x40) ? KNOT_PF_NOCANON : 0);
	if (msg_len >= sizeof(plan.header)) {
		memcpy(plan.header, msg_wire, sizeof(plan.header));
	}
	if (!(f & 0x10) && parsed->qname_size > 0) {
		plan.qname = knot_pkt_wire_qname(parsed);
		plan.qtype = knot_pkt_qtype(parsed);
		plan.qclass = knot_pkt_qclass(parsed);
	}
	plan.rrs = pool_get((parsed->rrset_count + 1) * sizeof(*plan.rrs));
	bool merge = f & 0x20;
	plan_section(&plan, parsed, KNOT_ANSWER, merge);
	if (l & 0x01) {
		plan.last = (l & 0x40) ? KNOT_ADDITIONAL : KNOT_AUTHORITY;
		plan_section(&plan, parsed, plan.last, merge);
	}

	if (at_limit) {
		built_t probe;
		build(&plan, &POOL_MM, KNOT_WIRE_MAX_PKTSIZE, SIZE_MAX, NULL, &probe);
		size_t need = probe.pkt->size + plan.reserved + (m & 0x3ff);
		plan.max_size = need < KNOT_WIRE_MAX_PKTSIZE ? need : KNOT_WIRE_MAX_PKTSIZE;
		knot_pkt_free(probe.pkt);
	}

	built_t built;
	build(&plan, plan.mm, plan.max_size, SIZE_MAX, NULL, &built);
	knot_pkt_t *pkt = built.pkt;
	if (injecting) {
		inject(pkt, &in, l & 0x08);
	}

	expect_t e;
	model(&conf, pkt, &e);
	snap_t s;
	snapshot(pkt, e.index, &s);
	/* What libknot built is consistent (injected RDATA is not, on purpose). */
	CHECK(s.fits);
	CHECK(s.counts_ok || injecting);

	/* The twin: the same packet with the merged RRset put in one go. */
	built_t twin = { NULL, false, KNOT_EOK };
	knot_rrset_t *merged = NULL;
	if (e.result == MXTRAP_TRAPPED && built.clean && !injecting && plan.rotate == 0) {
		size_t at = SIZE_MAX;
		for (size_t i = 0; i < plan.count; i++) {
			if (plan.rrs[i].rr->type == KNOT_RRTYPE_MX &&
			    knot_rdataset_eq(&plan.rrs[i].rr->rrs, &pkt->rr[e.index].rrs) &&
			    knot_dname_is_equal(plan.rrs[i].rr->owner, pkt->rr[e.index].owner)) {
				at = i;
			}
		}
		CHECK(at != SIZE_MAX);
		merged = knot_rrset_copy(plan.rrs[at].rr, &POOL_MM);
		CHECK(merged != NULL);
		const knot_rdata_t *trap = e.traps.rdata;
		for (uint16_t i = 0; i < e.trap_count; i++) {
			CHECK(knot_rrset_add_rdata(merged, trap->data, trap->len, &POOL_MM) == KNOT_EOK);
			trap = knot_rdataset_next((knot_rdata_t *)trap);
		}
		build(&plan, &POOL_MM, plan.max_size, at, merged, &twin);
	}

	fail_next_alloc = fail_alloc;
	mxtrap_result_t result = mxtrap_apply(&conf, pkt);
	bool alloc_failed = fail_alloc && !fail_next_alloc;
	fail_next_alloc = false;

#ifdef FUZZ_CORE_VERBOSE
	fprintf(stderr, "fuzz_core: expected %d, result %d, twin %s %d\n", e.result, result,
	        twin.pkt != NULL ? "put" : "none", twin.override_ret);
#endif

	/* Invariants for every outcome. */
	CHECK(pkt->max_size == s.max_size && pkt->reserved == s.reserved &&
	      pkt->current == s.current);
	if (s.fits) {
		CHECK(pkt->size + pkt->reserved <= pkt->max_size);
	}
	if (s.counts_ok) {
		CHECK(counts_match(pkt));
	}
	if (s.parsed != NULL) {
		knot_pkt_t *again = reparse(pkt);
		CHECK(again != NULL);
		knot_pkt_free(again);
	}

	const char *reason = mxtrap_reason_name(result);
	CHECK(reason != NULL);
	CHECK((strcmp(reason, "unknown") == 0) ==
	      (result < MXTRAP_UNCHANGED_FIRST || result > MXTRAP_UNCHANGED_UNEXPECTED));

	/* The outcome the contract asks for. */
	if (e.result == MXTRAP_TRAPPED && alloc_failed) {
		CHECK(result == MXTRAP_UNCHANGED_UNEXPECTED);
	} else if (e.result == MXTRAP_TRAPPED) {
		CHECK(result == MXTRAP_TRAPPED || result == MXTRAP_TRUNCATED);
	} else {
		CHECK(result == e.result);
	}

	if (result == MXTRAP_TRAPPED) {
		check_trapped(pkt, &s, &e);
	} else if (result == MXTRAP_TRUNCATED) {
		check_truncated(pkt, &s, &e);
	} else {
		check_untouched(pkt, &s);
	}

	/* Byte for byte what Knot sends with the trap written into the zone. */
	if (twin.pkt != NULL && result != MXTRAP_UNCHANGED_UNEXPECTED) {
		if (twin.override_ret == KNOT_EOK) {
			CHECK(result == MXTRAP_TRAPPED);
			CHECK(pkt->rr[e.index].rrs.size == merged->rrs.size);
			CHECK(memcmp(pkt->rr[e.index].rrs.rdata, merged->rrs.rdata,
			             merged->rrs.size) == 0);
		} else if (twin.override_ret == KNOT_ESPACE) {
			CHECK(result == MXTRAP_TRUNCATED);
		}
		if (twin.override_ret == KNOT_EOK || twin.override_ret == KNOT_ESPACE) {
			CHECK(pkt->size == twin.pkt->size);
			CHECK(memcmp(pkt->wire, twin.pkt->wire, pkt->size) == 0);
			CHECK(pkt->rrset_count == twin.pkt->rrset_count);
		}
	}

	/* The merged RDATA is the packet's (knotd frees its mempool); here with the heap. */
	if (result == MXTRAP_TRAPPED && plan.mm == &HEAP_MM &&
	    !(pkt->rr_info[e.index].flags & KNOT_PF_FREE)) {
		mm_release(&pkt->mm, pkt->rr[e.index].rrs.rdata);
	}

	knot_pkt_free(twin.pkt);
	knot_pkt_free(s.parsed);
	knot_pkt_free(pkt);
	knot_pkt_free(parsed);
	mxtrap_conf_deinit(&conf);
	pool_release();
	return 0;
}
