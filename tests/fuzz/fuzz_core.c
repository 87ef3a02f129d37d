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
 * then mxtrap_apply() (or mxtrap_apply_dnssec() with a stand-in signer) runs
 * and the packet is checked against invariants and against an independent
 * model of the behaviour contract. A violated invariant prints one line to
 * stderr and calls abort(), which libFuzzer reports as a crash. Records are
 * never dumped to text.
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
 *                       RRset with the records of the injection below
 *                bit 3: inject: also make that RRset's type MX
 *                bits 4-5: owner compression hint: 0 as knotd (QNAME when
 *                       the owner is the QNAME; in signed mode an RRSIG gets
 *                       where the RRset it covers wrote its owner), 1 NONE,
 *                       2 QNAME, 3 as knotd puts glue: where the previous
 *                       RRset wrote its first RDATA name (hints 2 and 3 may
 *                       name another owner: knotd never would, the core must
 *                       still cope)
 *                bit 6: past the answer goes to ADDITIONAL
 *                bit 7: an allocation from pkt->mm fails during the first
 *                       call of the core (the second one with U bit 1): the
 *                       first allocation, or the one T bits 5-7 give
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
 *   Injection (only with L bit 2)
 *     u8   K     number of records (K % 17)
 *     K x { u16 len, len bytes }         raw RDATA (an RRSIG RRset is not
 *                emptied, and a record of 18 octets or more whose signer
 *                name does not end inside it is cut to 17 octets: knotd
 *                only holds RRSIG RRsets that libknot has written, and the
 *                core hands them back to knot_pkt_put())
 *   Signer (absent in inputs of the unsigned format: all zero)
 *     u8   S     bit 0: signed mode: mxtrap_apply_dnssec() with the stand-in
 *                       signer (cache of 2 slots), called twice on two copies
 *                       of the packet built alike (the second call is served
 *                       from the cache when the first one signed and the
 *                       signatures are still valid for margin + TTL)
 *                bit 1: mxtrap_apply_dnssec() without a signer (NULL)
 *                       (bits 0 or 1: RRSIG RRsets are put as knotd puts
 *                       them: KNOT_PF_ORIGTTL, owner hint as for L hint 0)
 *                bit 2: the stand-in returns a reason: key-missing,
 *                       key-unreadable, keystore-unsupported,
 *                       algorithm-unsupported, sign-failed: (T & 7) % 5
 *                bit 3: the stand-in returns "trapped" with one signature
 *                       fewer than keys (the last key left out, as a key
 *                       the zone does not publish: none for one key), with
 *                       T bit 3 one more
 *                bits 4-7: number of keys of the input (0..15)
 *     u8   T     bits 0-2: see S bit 2; bit 3: see S bit 3
 *                bits 5-7: number of the allocation that fails (L bit 7)
 *     u8   U     bit 0: RRSIG RRsets without KNOT_PF_ORIGTTL
 *                bit 1: the allocation (L bit 7) fails in the second call
 *                bit 2: the clock advances by A before the second call
 *                bit 3: a key rollover before the second call: every RRSIG
 *                       record over MX gets the key tag + 1
 *     u32  now        the signer's clock
 *     u32  margin     the signer's margin
 *     u32  E          the stand-in's signatures expire at now + E (serial
 *                     arithmetic), now: the clock when it signs
 *     u32  I          their inception is now - I
 *     [u32 A]         (U bit 2) the clock's advance
 *     keys x { u8 algorithm, u16 key tag }   keys the harness's RRSIG
 *                records may name (H bit 2). The stand-in signs with the
 *                keys it is given (those of the zone's RRSIG(MX)), one RRSIG
 *                per key: 18 fixed octets, signer name example.com., 8
 *                octets "stand-i" and the key's index (a key tag used twice
 *                gives two signatures)
 *     u8   N     RRSIG RRsets the harness appends to ANSWER (N % 5), each:
 *       u8 G   bits 0-1: owner: 0 the last MX RRset's (else the QNAME's),
 *                        1 the QNAME (root if none), 2 the first RRset's,
 *                        3 the previous RRset's
 *              bits 2-4: number of records (0..7)
 *              bit 6: TTL from the input, else the last MX RRset's (3600)
 *              bit 7: after the build, cut one record in the packet
 *       [u32 TTL]
 *       records x {
 *         u8 H   bits 0-1: covered type: MX, CNAME, A, u16 from the input
 *                bit 2: algorithm and key tag of the input's key number
 *                       (u8 % keys; none: 0 and 0), else u8 algorithm and
 *                       u16 key tag
 *                bit 3: labels from the input (u8), else the owner's
 *         [u16 type] [u8 key | u8 alg, u16 tag] [u8 labels]
 *       }                            RDATA: 18 fixed octets, signer name
 *                                    example.com., 8 octets "zone-sig"
 *       [u8 record, u8 len]          (bit 7) the record (record % count) of
 *                the packet's copy is cut to len % 18 octets, as injection
 *                would (the wire keeps the full record)
 * \endcode
 *
 * tests/fuzz/make_seeds.c writes the seed corpus in this format. Built with
 * -DFUZZ_CORE_VERBOSE, the target prints the expected and the actual outcome
 * of each call (numbers of mxtrap_result_t and the signature source) to
 * stderr.
 *
 * Checks: the configuration is accepted exactly when every name is valid and
 * not the root, and then holds the names lower-cased, unique and sorted. The
 * outcome of the core is the model's (NOT_MX, a reason to leave the answer
 * alone, or trapped/truncated). Always: size + reserved <= max_size, header
 * counts equal the records of each section's RRsets, a wire that parsed before
 * (and agreed with the RRsets' counts) parses after, the signature source is
 * CACHE or FRESH exactly for a trapped signed answer (CACHE exactly when an
 * earlier call of the input signed the same RRset with the same keys and those
 * signatures are valid at the clock for margin + TTL and, when fewer than the
 * keys, the clock is less than 10 s past the call that made them), else NONE.
 * Unchanged: wire, size, RRsets, hints and the compression state are
 * untouched. Trapped: the MX RRset grew by the model's trap records, each
 * preference above every original one; the old wire is intact but ANCOUNT;
 * re-parsed, the ANSWER holds the old records then the traps. Truncated: the
 * merged RRset could not fit, the MX RRset is gone from RRsets, wire and
 * ANCOUNT, TC is set unless NOTRUNC. And, for every packet built as knotd does (no injection, no
 * rotation), the wire is byte for byte the one libknot writes when the merged
 * RRset (zone records plus traps) is put in one go, trapped or truncated
 * alike.
 *
 * Signed answers (the MX RRset followed by RRSIG RRsets only, one of them over
 * MX): without a signer the outcome is "signed" and the packet is untouched.
 * With the stand-in signer the model decides, in the core's order: the layout
 * and the zone's RRSIG records (each at least 18 octets, at most 8 over MX,
 * one labels value, no more labels than the owner has), then the MX RRset as
 * above, then the signatures: the ones an earlier call made while they are
 * valid from the clock for margin + TTL, and a set of fewer signatures than
 * keys for less than 10 s (cache), else the stand-in's answer (fresh): its
 * reason, sign-failed for no signature or more than keys, or trapped (with 1
 * to keys signatures). The signing function is given exactly the (algorithm,
 * key tag) of the zone's RRSIG(MX) records in their order, the query passed
 * to mxtrap_apply_dnssec() and the clock. The model builds the signatures it
 * expects with the stand-in over the name RFC 4035 5.3.2 gives (the owner, or
 * "*." and the owner's last labels for a wildcard answer), at the clock of the
 * call that made them; which of trapped and truncated it does not predict.
 * Trapped: RRsets before the MX RRset, the wire before it (but ANCOUNT) and
 * the other RRSIG RRsets are untouched, the MX RRset grew by the traps, every
 * RRSIG RRset over MX holds exactly the expected signatures; re-parsed, ANSWER
 * holds the old records before the MX RRset, the merged RRset, then the RRSIG
 * records in their order; the RRSIGs over MX in ANSWER are those of the
 * stand-in, by keys of the zone's RRSIG(MX) (one per key, or one fewer), made
 * when expected (and from the cache only while valid at the clock for margin +
 * TTL, and for less than 10 s when fewer), declaring the zone's labels (when
 * those are valid for the owner). For a packet built as knotd does (hint 0, no
 * injection, no cut, no rotation), a resolver reads the same ANSWER records as
 * from the packet built with the merged RRset and the expected RRSIGs put in
 * one go (not byte for byte: the core restarts name compression at the QNAME).
 * Truncated: what was written before the MX RRset stays, the RRsets that were
 * written again are the merged ones, TC follows the flags of the first RRset
 * that did not fit. Allocation failures give unexpected or sign-failed and an
 * untouched packet (or, when the copy of a cached entry fails, the signer
 * looks it up again: the model's outcome).
 *
 * With the heap allocator (F bit 3) every call is audited: the blocks the
 * packet owned before (owner and RDATA of FREE RRsets) and those allocated
 * during the call must afterwards be freed or owned by the packet, and no
 * block by two RRsets (knotd's mempool hides such leaks and double frees,
 * any freeing allocator would not). RDATA the core allocated for RRsets the
 * packet does not own is freed by the harness, as knotd frees its mempool.
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

static uint32_t in_u32(input_t *in)
{
	uint32_t high = in_u16(in);
	return high << 16 | in_u16(in);
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
static unsigned alloc_countdown;  /*!< The n-th allocation of pkt->mm fails (0: none). */
static bool alloc_failed;         /*!< That allocation has failed. */

static bool alloc_fails(void)
{
	if (alloc_countdown == 0 || --alloc_countdown > 0) {
		return false;
	}
	alloc_failed = true;
	return true;
}

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
	if (alloc_fails()) {
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

/*!
 * Heap blocks accounted for during a call of the core: those the packet owns
 * before the call and those allocated during it. Afterwards each one is
 * freed or owned by the packet exactly once: a lost block is a leak in
 * knotd as soon as its allocator frees.
 */
#define LEDGER_MAX	4096
static struct {
	bool on;
	size_t count;
	void *ptr[LEDGER_MAX];
	size_t known_count;
	void *known[32];       /*!< Owners of FREE RRSIG RRsets after the MX RRset. */
} ledger;

static void ledger_add(void *ptr)
{
	if (ledger.on && ptr != NULL) {
		CHECK(ledger.count < LEDGER_MAX);
		ledger.ptr[ledger.count++] = ptr;
	}
}

static bool ledger_has(const void *ptr)
{
	for (size_t i = 0; i < ledger.count; i++) {
		if (ledger.ptr[i] == ptr) {
			return true;
		}
	}
	return false;
}

static void *heap_alloc(void *ctx, size_t len)
{
	(void)ctx;
	if (alloc_fails()) {
		return NULL;
	}
	void *ptr = malloc(len);
	ledger_add(ptr);
	return ptr;
}

static void heap_free(void *ptr)
{
	for (size_t i = 0; i < ledger.count; i++) {
		if (ledger.ptr[i] == ptr) {
			ledger.ptr[i] = ledger.ptr[--ledger.count];
			break;
		}
	}
	free(ptr);
}

static knot_mm_t POOL_MM = { .ctx = NULL, .alloc = pool_alloc, .free = pool_nofree };
static knot_mm_t HEAP_MM = { .ctx = NULL, .alloc = heap_alloc, .free = heap_free };

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

/*! Number of labels of a valid name (a wildcard label counts). */
static size_t name_labels(const uint8_t *name)
{
	size_t labels = 0;
	while (*name != 0) {
		labels++;
		name += 1 + *name;
	}
	return labels;
}

static bool name_is_wildcard(const uint8_t *name)
{
	return name[0] == 1 && name[1] == '*';
}

/*! Labels an RRSIG over a name declares: the wildcard label does not count. */
static uint8_t name_sig_labels(const uint8_t *name)
{
	return name_labels(name) - (name_is_wildcard(name) ? 1 : 0);
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
/* The stand-in signer: RRSIG RDATA for the keys it is given, or a reason.  */

/*! RRSIG RDATA up to the signer's name. */
#define RRSIG_FIXED_LEN	18
/*! Signer's name of every RRSIG made here. */
static const uint8_t SIGNER_NAME[] = "\x07""example""\x03""com";
/*! Signature octets: a marker. */
#define SIG_MARK_LEN	8
#define RRSIG_LEN	(RRSIG_FIXED_LEN + sizeof(SIGNER_NAME) + SIG_MARK_LEN)
/*! Keys of the input the harness's RRSIG records can name. */
#define MAX_KEYS	15
/*! The core's limit of RRSIG(MX) records (and keys given to the signing function). */
#define MAX_ZONE_SIGS	8
_Static_assert(MAX_ZONE_SIGS == MXTRAP_MAX_SIGS, "the contract's limit");
/*!
 * Seconds a set of fewer signatures than keys is served from the signer's
 * cache (a key the zone does not publish yet may be published soon).
 */
#define PARTIAL_RENEW	10
/*! Reasons the stand-in may return (S bit 2). */
static const mxtrap_result_t SIGN_REASONS[] = {
	MXTRAP_UNCHANGED_KEY_MISSING, MXTRAP_UNCHANGED_KEY_UNREADABLE,
	MXTRAP_UNCHANGED_KEYSTORE_UNSUPPORTED, MXTRAP_UNCHANGED_ALG_UNSUPPORTED,
	MXTRAP_UNCHANGED_SIGN_FAILED,
};

typedef struct {
	uint8_t alg;
	uint16_t tag;
} sigkey_t;

/*! What mxtrap_apply_dnssec() passes through to the signing function. */
static int query_token;

static struct {
	sigkey_t keys[MAX_KEYS];   /*!< The input's keys (the harness's RRSIG records). */
	size_t count;
	uint32_t now;              /*!< The signer's clock. */
	uint32_t advance;          /*!< Added to the clock before the second call. */
	uint32_t margin;
	uint32_t exp_off;          /*!< Expiration = now + exp_off. */
	uint32_t inc_off;          /*!< Inception = now - inc_off. */
	mxtrap_result_t reason;    /*!< Returned instead of signing, unless MXTRAP_TRAPPED. */
	int extra;                 /*!< Signatures beyond one per key (-1: one fewer). */
	unsigned calls;            /*!< Calls of fake_sign(). */
	/* The last call's arguments. */
	knot_dname_storage_t owner; /*!< Owner of the RRset signed. */
	sigkey_t got_keys[MAX_ZONE_SIGS];
	size_t got_count;
	uint32_t got_now;
	/* The signer's cache as the contract has it: the signatures it keeps. */
	bool stored;               /*!< The stand-in's signatures of an earlier call. */
	uint32_t stored_at;        /*!< The clock they were made at. */
	sigkey_t stored_keys[MAX_ZONE_SIGS]; /*!< The keys they were asked for. */
	size_t stored_count;
	size_t stored_made;        /*!< Signatures made: stored_count, or fewer. */
} fake;

static bool key_in(const sigkey_t *keys, size_t count, sigkey_t key)
{
	for (size_t i = 0; i < count; i++) {
		if (keys[i].alg == key.alg && keys[i].tag == key.tag) {
			return true;
		}
	}
	return false;
}

static sigkey_t rrsig_key(const knot_rdata_t *rd)
{
	return (sigkey_t){ rd->data[2], knot_wire_read_u16(rd->data + 16) };
}

static size_t rrsig_rdata(uint8_t *out, uint16_t covered, sigkey_t key, uint8_t labels,
                          uint32_t ttl, uint32_t expiration, uint32_t inception,
                          const char mark[SIG_MARK_LEN])
{
	knot_wire_write_u16(out, covered);
	out[2] = key.alg;
	out[3] = labels;
	knot_wire_write_u32(out + 4, ttl);
	knot_wire_write_u32(out + 8, expiration);
	knot_wire_write_u32(out + 12, inception);
	knot_wire_write_u16(out + 16, key.tag);
	memcpy(out + RRSIG_FIXED_LEN, SIGNER_NAME, sizeof(SIGNER_NAME));
	memcpy(out + RRSIG_FIXED_LEN + sizeof(SIGNER_NAME), mark, SIG_MARK_LEN);
	return RRSIG_LEN;
}

/*! Signatures the stand-in makes for \a count keys (may be 0 or more than keys). */
static size_t fake_made(size_t count)
{
	return (size_t)((int)count + fake.extra);
}

/*!
 * The stand-in's signatures over an RRset of \a type at \a owner made at
 * \a now: one per key, and \a extra more (or fewer: the last keys left out).
 */
static int fake_sigs(knot_rrset_t *rrsigs, const knot_dname_t *owner, uint16_t type,
                     uint32_t ttl, const sigkey_t *keys, size_t count, uint32_t now,
                     int extra, knot_mm_t *mm)
{
	uint8_t labels = name_sig_labels(owner);
	size_t made = (size_t)((int)count + extra);
	for (size_t i = 0; i < made; i++) {
		/* Per key: two keys with one key tag make two signatures. */
		char mark[SIG_MARK_LEN + 1] = "stand-in";
		mark[SIG_MARK_LEN - 1] = 'a' + i;
		uint8_t rdata[RRSIG_LEN];
		size_t len = rrsig_rdata(rdata, type, keys[i < count ? i : 0], labels, ttl,
		                         now + fake.exp_off, now - fake.inc_off, mark);
		int ret = knot_rrset_add_rdata(rrsigs, rdata, len, mm);
		if (ret != KNOT_EOK) {
			return ret;
		}
	}
	return KNOT_EOK;
}

static mxtrap_result_t fake_sign(void *ctx, void *query, const mxtrap_key_tag_t *keys,
                                 size_t count, const knot_rrset_t *covered, uint32_t now,
                                 knot_rrset_t *rrsigs, knot_mm_t *mm)
{
	CHECK(ctx == &fake && query == &query_token);
	CHECK(count >= 1 && count <= MAX_ZONE_SIGS);
	fake.calls++;
	size_t owner_size = name_wire_size(covered->owner, KNOT_DNAME_MAXLEN);
	CHECK(owner_size > 0);
	memcpy(fake.owner, covered->owner, owner_size);
	for (size_t i = 0; i < count; i++) {
		fake.got_keys[i] = (sigkey_t){ keys[i].alg, keys[i].tag };
	}
	fake.got_count = count;
	fake.got_now = now;
	CHECK(rrsigs->type == KNOT_RRTYPE_RRSIG && rrsigs->rclass == covered->rclass &&
	      rrsigs->ttl == covered->ttl && rrsigs->rrs.count == 0 &&
	      name_ieq(rrsigs->owner, covered->owner));
	if (fake.reason != MXTRAP_TRAPPED) {
		return fake.reason;
	}
	if (fake_sigs(rrsigs, covered->owner, covered->type, covered->ttl, fake.got_keys, count,
	              now, fake.extra, mm) != KNOT_EOK) {
		return MXTRAP_UNCHANGED_SIGN_FAILED;
	}
	size_t made = fake_made(count);
	if (made >= 1 && made <= count) {
		/* What the signer keeps: from one signature to one per key, no
		 * other number (sign-failed). */
		fake.stored = true;
		fake.stored_at = now;
		memcpy(fake.stored_keys, fake.got_keys, count * sizeof(*fake.got_keys));
		fake.stored_count = count;
		fake.stored_made = made;
	}
	return MXTRAP_TRAPPED;
}

static uint32_t fake_clock(void)
{
	return fake.now;
}

/*!
 * The clock from which a set of fewer signatures than keys made at \a made_at
 * is made again: PARTIAL_RENEW seconds later.
 */
static uint32_t partial_renew_at(uint32_t made_at)
{
	return made_at + PARTIAL_RENEW;
}

/*!
 * The kept signatures are by \a keys (in this order) and valid from now for
 * the margin plus \a ttl (every call of an input signs the same RRset); made
 * by fewer keys than asked, for less than PARTIAL_RENEW seconds.
 */
static bool stored_valid(const sigkey_t *keys, size_t count, uint32_t ttl)
{
	if (!fake.stored || fake.stored_count != count) {
		return false;
	}
	for (size_t i = 0; i < count; i++) {
		if (keys[i].alg != fake.stored_keys[i].alg || keys[i].tag != fake.stored_keys[i].tag) {
			return false;
		}
	}
	if (fake.stored_made < fake.stored_count &&
	    (int32_t)(fake.now - partial_renew_at(fake.stored_at)) >= 0) {
		return false;
	}
	uint32_t inception = fake.stored_at - fake.inc_off;
	uint32_t expiration = fake.stored_at + fake.exp_off;
	return (int32_t)(fake.now - inception) >= 0 &&
	       (int64_t)(int32_t)(expiration - fake.now) >= (int64_t)fake.margin + ttl;
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
	bool knotd_rrsigs;         /*!< RRSIGs put as knotd does (hint of the covered RRset). */
	uint16_t rrsig_flags;      /*!< Extra flags of RRSIG RRsets. */
	size_t max_size;
	uint16_t reserved;
	uint16_t rotate;
	knot_rrset_t *padding;     /*!< NULL record put first, or NULL. */
	knot_mm_t *mm;             /*!< Allocator of the response. */
} plan_t;

typedef struct {
	knot_pkt_t *pkt;
	bool clean;                /*!< Every step succeeded, as when the hook runs. */
	size_t fail_at;            /*!< Plan index of the first failed put, SIZE_MAX: none. */
	int fail_ret;              /*!< Its knot_pkt_put() result. */
	uint16_t *where;           /*!< Packet index of each plan RRset, UINT16_MAX: not put. */
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

/*! A harness RRSIG record to cut in the built packet. */
typedef struct {
	size_t plan_index;
	uint8_t record;
	uint8_t len;
} cut_t;

#define MAX_HARNESS_RRSIGS	4

/*! Appends the harness's RRSIG RRsets to the plan (input: Signer, N). */
static size_t plan_rrsigs(plan_t *plan, input_t *in, cut_t *cuts)
{
	const knot_dname_t *root = (const knot_dname_t *)"";
	const knot_dname_t *qname = plan->qname != NULL ? plan->qname : root;
	const knot_rrset_t *mx = NULL;
	for (size_t i = 0; i < plan->count; i++) {
		if (plan->rrs[i].rr->type == KNOT_RRTYPE_MX) {
			mx = plan->rrs[i].rr;
		}
	}

	size_t cut_count = 0;
	uint8_t count = in_u8(in) % (MAX_HARNESS_RRSIGS + 1);
	for (uint8_t n = 0; n < count; n++) {
		uint8_t g = in_u8(in);
		const knot_dname_t *owner = root;
		switch (g & 0x03) {
		case 0:
			owner = mx != NULL ? mx->owner : qname;
			break;
		case 1:
			owner = qname;
			break;
		case 2:
			owner = plan->count > 0 ? plan->rrs[0].rr->owner : root;
			break;
		default:
			owner = plan->count > 0 ? plan->rrs[plan->count - 1].rr->owner : root;
			break;
		}
		uint32_t ttl = (g & 0x40) ? in_u32(in) : (mx != NULL ? mx->ttl : 3600);
		knot_rrset_t *rr = knot_rrset_new(owner, KNOT_RRTYPE_RRSIG, KNOT_CLASS_IN, ttl,
		                                  &POOL_MM);
		CHECK(rr != NULL);
		for (uint8_t r = 0; r < ((g >> 2) & 0x07); r++) {
			static const uint16_t TYPES[] = {
				KNOT_RRTYPE_MX, KNOT_RRTYPE_CNAME, KNOT_RRTYPE_A
			};
			uint8_t h = in_u8(in);
			uint16_t covered = (h & 0x03) == 3 ? in_u16(in) : TYPES[h & 0x03];
			sigkey_t key = { 0, 0 };
			if (h & 0x04) {
				uint8_t k = in_u8(in);
				if (fake.count > 0) {
					key = fake.keys[k % fake.count];
				}
			} else {
				key.alg = in_u8(in);
				key.tag = in_u16(in);
			}
			uint8_t labels = (h & 0x08) ? in_u8(in) : name_sig_labels(owner);
			uint8_t rdata[RRSIG_LEN];
			uint32_t expiration = fake.now + 30 * 86400;
			size_t len = rrsig_rdata(rdata, covered, key, labels, ttl, expiration,
			                         fake.now - 3600, "zone-sig");
			CHECK(knot_rrset_add_rdata(rr, rdata, len, &POOL_MM) == KNOT_EOK);
		}
		if (g & 0x80) {
			cuts[cut_count].plan_index = plan->count;
			cuts[cut_count].record = in_u8(in);
			cuts[cut_count].len = in_u8(in) % RRSIG_FIXED_LEN;
			cut_count++;
		}
		plan->rrs[plan->count++] = (plan_rr_t){ rr, KNOT_ANSWER };
	}
	return cut_count;
}

static uint16_t hint_for(const plan_t *plan, const knot_pkt_t *pkt, const knot_rrset_t *rr)
{
	switch (plan->hint_mode) {
	case 0:
		/* knotd puts an RRSIG where the RRset it covers wrote its owner. */
		if (plan->knotd_rrsigs && rr->type == KNOT_RRTYPE_RRSIG &&
		    rr->rrs.count > 0 && rr->rrs.rdata->len >= 2) {
			uint16_t covered = knot_wire_read_u16(rr->rrs.rdata->data);
			for (uint16_t i = pkt->rrset_count; i-- > 0; ) {
				if (pkt->rr[i].type == covered &&
				    name_ieq(pkt->rr[i].owner, rr->owner)) {
					return pkt->rr_info[i].compress_ptr[KNOT_COMPR_HINT_OWNER];
				}
			}
		}
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

/*! Flags of an RRset: knotd puts RRSIGs with KNOT_PF_ORIGTTL. */
static uint16_t flags_for(const plan_t *plan, const knot_rrset_t *rr)
{
	uint16_t flags = plan->flags_all || rr->type == KNOT_RRTYPE_MX ? plan->put_flags : 0;
	if (rr->type == KNOT_RRTYPE_RRSIG) {
		/* libknot reads the original TTL from each record. */
		const knot_rdata_t *rd = rr->rrs.rdata;
		bool long_enough = true;
		for (uint16_t i = 0; i < rr->rrs.count; i++) {
			long_enough = long_enough && rd->len >= 8;
			rd = knot_rdataset_next((knot_rdata_t *)rd);
		}
		if (long_enough) {
			flags |= plan->rrsig_flags;
		}
	}
	return flags;
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
 * Builds the response as knotd does up to the ANSWER stage hook; a plan
 * RRset i is replaced by override[i] when that is not NULL (the twin packet).
 */
static void build(const plan_t *plan, knot_mm_t *mm, size_t max_size,
                  const knot_rrset_t *const *override, built_t *out)
{
	out->clean = true;
	out->fail_at = SIZE_MAX;
	out->fail_ret = KNOT_EOK;
	out->where = pool_get((plan->count + 1) * sizeof(*out->where));
	for (size_t i = 0; i < plan->count; i++) {
		out->where[i] = UINT16_MAX;
	}
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
		const knot_rrset_t *rr = override != NULL && override[i] != NULL ?
		                         override[i] : plan->rrs[i].rr;
		uint16_t flags = flags_for(plan, rr);
		uint16_t hint = hint_for(plan, pkt, rr);
		uint16_t before = pkt->rrset_count;
		/*
		 * A put that fails may leave the compression suffix at a name it wrote
		 * past pkt->size. knotd stops there (the ANSWER hooks do not run), so
		 * the core is not asked to cope: the suffix is set back.
		 */
		knot_compr_t compr = pkt->compr;
		int ret = put_one(pkt, plan, rr, hint, flags);
		if (pkt->rrset_count > before) {
			out->where[i] = before;
		}
		if (ret == KNOT_EOK && plan->twice) {
			compr = pkt->compr;
			ret = put_one(pkt, plan, rr, hint, flags | KNOT_PF_CHECKDUP);
		}
		if (ret != KNOT_EOK) {
			pkt->compr.suffix = compr.suffix;
			out->clean = false;
			out->fail_at = i;
			out->fail_ret = ret;
		}
	}
	if (plan->last != pkt->current) {
		CHECK(knot_pkt_begin(pkt, plan->last) == KNOT_EOK);
	}
}

/*! Replaces the RDATA of an RRset of the packet by \a count records (the wire stays). */
static void replace_rdata(knot_pkt_t *pkt, uint16_t index, uint8_t count,
                          const uint8_t *const *data, const size_t *lens)
{
	knot_rrset_t *rr = &pkt->rr[index];
	bool owned = pkt->rr_info[index].flags & KNOT_PF_FREE;
	size_t total = 0;
	for (uint8_t i = 0; i < count; i++) {
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
}

#define MAX_INJECT	17

typedef struct {
	bool on;
	bool make_mx;
	uint8_t count;
	const uint8_t *data[MAX_INJECT];
	size_t lens[MAX_INJECT];
} inject_t;

static void read_injection(input_t *in, inject_t *inj)
{
	inj->count = in_u8(in) % MAX_INJECT;
	for (uint8_t i = 0; i < inj->count; i++) {
		inj->data[i] = in_bytes(in, in_u16(in), &inj->lens[i]);
	}
}

/*! Replaces the RDATA of the last RRset with raw records from the input. */
static void inject(knot_pkt_t *pkt, const inject_t *inj)
{
	if (pkt->rrset_count == 0) {
		return;
	}
	uint16_t last = pkt->rrset_count - 1;
	size_t lens[MAX_INJECT];
	memcpy(lens, inj->lens, sizeof(lens));
	if (pkt->rr[last].type == KNOT_RRTYPE_RRSIG && !inj->make_mx) {
		if (inj->count == 0) {
			return;  /* libknot never holds an empty RRset; the core puts it again. */
		}
		/* A signer name libknot could not write again: too short instead. */
		for (uint8_t i = 0; i < inj->count; i++) {
			if (lens[i] >= RRSIG_FIXED_LEN &&
			    name_wire_size(inj->data[i] + RRSIG_FIXED_LEN,
			                   lens[i] - RRSIG_FIXED_LEN) == 0) {
				lens[i] = RRSIG_FIXED_LEN - 1;
			}
		}
	}
	replace_rdata(pkt, last, inj->count, inj->data, lens);
	if (inj->make_mx) {
		pkt->rr[last].type = KNOT_RRTYPE_MX;
	}
}

/*! Cuts one record of a harness RRSIG RRset in the packet (the wire stays). */
static void apply_cut(knot_pkt_t *pkt, const built_t *built, const cut_t *cut)
{
	uint16_t index = built->where[cut->plan_index];
	if (index == UINT16_MAX || pkt->rr[index].rrs.count == 0 ||
	    pkt->rr[index].rrs.count > 8) {
		return;
	}
	const knot_rrset_t *rr = &pkt->rr[index];
	uint8_t count = rr->rrs.count;
	const uint8_t *data[8];
	size_t lens[8];
	const knot_rdata_t *rd = rr->rrs.rdata;
	for (uint8_t i = 0; i < count; i++) {
		data[i] = pool_dup(rd->data, rd->len);
		lens[i] = rd->len;
		if (i == cut->record % count && cut->len < lens[i]) {
			lens[i] = cut->len;
		}
		rd = knot_rdataset_next((knot_rdata_t *)rd);
	}
	replace_rdata(pkt, index, count, data, lens);
}

/* ------------------------------------------------------------------------ */
/* Model of the behaviour contract.                                          */

/*! The core's limit for signed answers: RRSIG RRsets after MX. */
#define MAX_RRSIG_SETS	16

typedef struct {
	mxtrap_result_t result;    /*!< MXTRAP_TRAPPED: trapped or truncated. */
	uint16_t index;            /*!< Index of the MX RRset. */
	uint16_t trap_pref;
	uint16_t trap_count;
	knot_rdataset_t traps;     /*!< Expected trap records (pool). */
	size_t trap_wire_max;      /*!< Upper bound of their wire size. */
	/* Signed answers (an RRSIG over MX follows the MX RRset). */
	bool signed_path;          /*!< Taken with a signer. */
	uint32_t covers;           /*!< Bit i: RRset index + 1 + i holds an RRSIG over MX
	                                (more than MAX_RRSIG_SETS: unexpected). */
	sigkey_t zone_keys[MAX_ZONE_SIGS]; /*!< (algorithm, key tag) of the zone's RRSIG(MX). */
	size_t zone_count;
	uint8_t zone_labels;
	bool sign_reached;         /*!< The signer is asked (or its cache answers). */
	bool cached;               /*!< The signer's cache answers. */
	uint32_t signed_at;        /*!< The clock the signatures are made at. */
	bool partial;              /*!< Fewer signatures than keys. */
	knot_dname_storage_t covered_owner; /*!< Name the signatures are made for. */
	knot_rdataset_t sigs;      /*!< The stand-in's signatures over the merged RRset (pool). */
} expect_t;

static const knot_dname_t *mx_name(const knot_rdata_t *rd)
{
	return rd->data + 2;
}

static bool covers_mx(const expect_t *e, uint16_t index)
{
	return index > e->index && index - e->index - 1 < 32 &&
	       (e->covers >> (index - e->index - 1)) & 1;
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

/*!
 * The zone's RRSIG records after the MX RRset: all well formed, at most
 * MAX_ZONE_SIGS over MX, declaring one labels value the owner can have.
 */
static bool model_zone_sigs(const knot_pkt_t *pkt, size_t mx, expect_t *e)
{
	if (pkt->rrset_count - mx - 1 > MAX_RRSIG_SETS) {
		return false;
	}
	size_t mx_sets = 0;
	for (size_t i = mx + 1; i < pkt->rrset_count; i++) {
		const knot_rdata_t *rd = pkt->rr[i].rrs.rdata;
		bool covers_mx = false;
		for (uint16_t k = 0; k < pkt->rr[i].rrs.count; k++) {
			if (rd->len < RRSIG_FIXED_LEN) {
				return false;
			}
			if (knot_wire_read_u16(rd->data) == KNOT_RRTYPE_MX) {
				/* One RRSIG RRset over MX, as knotd writes (several: refused). */
				if (!covers_mx && ++mx_sets > 1) {
					return false;
				}
				covers_mx = true;
				if (e->zone_count == MAX_ZONE_SIGS ||
				    (e->zone_count > 0 && rd->data[3] != e->zone_labels)) {
					return false;
				}
				e->zone_labels = rd->data[3];
				e->zone_keys[e->zone_count++] = rrsig_key(rd);
			}
			rd = knot_rdataset_next((knot_rdata_t *)rd);
		}
	}
	return e->zone_count > 0 && e->zone_labels <= name_labels(pkt->rr[mx].owner);
}

/*!
 * The name signed for an answer at \a owner whose RRSIG declares \a labels
 * (RFC 4035 5.3.2): the owner, or "*." and its last \a labels labels.
 */
static void signed_name(const knot_dname_t *owner, uint8_t labels, uint8_t *out)
{
	bool as_is = labels >= name_sig_labels(owner);
	if (as_is) {
		memcpy(out, owner, name_wire_size(owner, KNOT_DNAME_MAXLEN));
		return;
	}
	const uint8_t *suffix = owner;
	for (size_t i = labels; i < name_labels(owner); i++) {
		suffix += 1 + *suffix;
	}
	out[0] = 1;
	out[1] = '*';
	memcpy(out + 2, suffix, name_wire_size(suffix, KNOT_DNAME_MAXLEN));
}

/*!
 * The signatures over the merged RRset: the kept ones while they are by the
 * zone's keys and valid for the margin plus the TTL (fewer than the keys: for
 * less than PARTIAL_RENEW seconds), else the stand-in's answer for the zone's
 * keys: a reason, no signature or more than keys (sign-failed), or from one
 * to one per key.
 */
static void model_signatures(const knot_rrset_t *mx, expect_t *e)
{
	e->sign_reached = true;
	signed_name(mx->owner, e->zone_labels, e->covered_owner);
	e->cached = stored_valid(e->zone_keys, e->zone_count, mx->ttl);
	if (!e->cached && fake.reason != MXTRAP_TRAPPED) {
		e->result = fake.reason;
		return;
	}
	size_t made = e->cached ? fake.stored_made : fake_made(e->zone_count);
	if (made == 0 || made > e->zone_count) {
		CHECK(!e->cached);
		e->result = MXTRAP_UNCHANGED_SIGN_FAILED;
		return;
	}
	e->signed_at = e->cached ? fake.stored_at : fake.now;
	e->partial = made < e->zone_count;
	knot_rrset_t sigs;
	knot_rrset_init(&sigs, e->covered_owner, KNOT_RRTYPE_RRSIG, mx->rclass, mx->ttl);
	CHECK(fake_sigs(&sigs, e->covered_owner, KNOT_RRTYPE_MX, mx->ttl, e->zone_keys,
	                e->zone_count, e->signed_at, (int)made - (int)e->zone_count,
	                &POOL_MM) == KNOT_EOK);
	CHECK(sigs.rrs.count == made);
	e->sigs = sigs.rrs;
	e->result = MXTRAP_TRAPPED;
}

static void model(const mxtrap_conf_t *conf, const knot_pkt_t *pkt, bool with_signer,
                  expect_t *e)
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
	e->result = MXTRAP_UNCHANGED_UNEXPECTED;
	if (end != pkt->rrset_count) {
		return;
	}
	if (mx + 1 != end) {
		/* Signed: only RRSIG RRsets follow, one record over MX. */
		bool covered = false;
		for (size_t i = mx + 1; i < end; i++) {
			const knot_rrset_t *rr = &pkt->rr[i];
			if (rr->type != KNOT_RRTYPE_RRSIG) {
				return;
			}
			const knot_rdata_t *rd = rr->rrs.rdata;
			for (uint16_t k = 0; k < rr->rrs.count; k++) {
				if (rd->len >= 2 && knot_wire_read_u16(rd->data) == KNOT_RRTYPE_MX) {
					covered = true;
					if (i - mx - 1 < 32) {
						e->covers |= 1u << (i - mx - 1);
					}
				}
				rd = knot_rdataset_next((knot_rdata_t *)rd);
			}
		}
		if (!covered) {
			return;
		}
		if (!with_signer) {
			e->result = MXTRAP_UNCHANGED_SIGNED;
			return;
		}
		e->signed_path = true;
	}

	const knot_rrset_t *rr = &pkt->rr[mx];
	const knot_rrinfo_t *info = &pkt->rr_info[mx];
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
	if (e->signed_path && !model_zone_sigs(pkt, mx, e)) {
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
	if (rr->rrs.count + e->trap_count > UINT16_MAX) {
		e->result = MXTRAP_UNCHANGED_UNEXPECTED;
	} else if (e->signed_path) {
		model_signatures(rr, e);
	} else {
		e->result = MXTRAP_TRAPPED;
	}
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
/* Checks of signed answers.                                                 */

/*! MX RDATA alike: the same preference and exchanger (names compare without case). */
static bool mx_rdata_ieq(const knot_rdata_t *a, const knot_rdata_t *b)
{
	return a->len == b->len && a->len > 2 &&
	       knot_wire_read_u16(a->data) == knot_wire_read_u16(b->data) &&
	       name_ieq(mx_name(a), mx_name(b));
}

/*!
 * RRSIG RDATA over MX the core wrote: the stand-in's for a zone key, made at
 * the expected clock, from the cache only while valid for the margin plus
 * the TTL, the zone's labels.
 */
static void check_sig_over_mx(const knot_rdata_t *rd, const expect_t *e, const knot_rrset_t *mx)
{
	CHECK(rd->len >= RRSIG_FIXED_LEN);
	CHECK(key_in(e->zone_keys, e->zone_count, rrsig_key(rd)));
	uint32_t expiration = knot_wire_read_u32(rd->data + 8);
	uint32_t inception = knot_wire_read_u32(rd->data + 12);
	CHECK(inception == e->signed_at - fake.inc_off);
	CHECK(expiration == e->signed_at + fake.exp_off);
	if (e->cached) {
		CHECK((int32_t)(fake.now - inception) >= 0);
		CHECK((int64_t)(int32_t)(expiration - fake.now) >= (int64_t)fake.margin + mx->ttl);
		CHECK(!e->partial || (int32_t)(fake.now - partial_renew_at(e->signed_at)) < 0);
	}
	if (e->zone_labels <= name_sig_labels(mx->owner)) {
		CHECK(rd->data[3] == name_sig_labels(e->covered_owner));
		CHECK(rd->data[3] == e->zone_labels);
	}
}

/*! How often \a key is among \a keys. */
static size_t key_count(const sigkey_t *keys, size_t count, sigkey_t key)
{
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		n += keys[i].alg == key.alg && keys[i].tag == key.tag;
	}
	return n;
}

/*! An RRset the core wrote again: the merged MX RRset, the expected RRSIGs, or as it was. */
static void check_rewritten(const knot_pkt_t *pkt, const snap_t *s, const expect_t *e,
                            uint16_t i)
{
	const knot_rrset_t *rr = &pkt->rr[i];
	const knot_rrset_t *was = &s->rr[i];
	CHECK(rr->owner == was->owner && rr->type == was->type && rr->rclass == was->rclass &&
	      rr->ttl == was->ttl && rr->additional == was->additional);
	CHECK(pkt->rr_info[i].flags == s->rr_info[i].flags);
	if (i == e->index) {
		CHECK(rr->rrs.count == was->rrs.count + e->trap_count);
		CHECK(rr->rrs.size == was->rrs.size + e->traps.size);
		CHECK(memcmp(rr->rrs.rdata, s->mx_rdata, was->rrs.size) == 0);
		CHECK(memcmp((const uint8_t *)rr->rrs.rdata + was->rrs.size, e->traps.rdata,
		             e->traps.size) == 0);
	} else if (covers_mx(e, i)) {
		CHECK(rr->rrs.count == e->sigs.count && rr->rrs.size == e->sigs.size);
		CHECK(memcmp(rr->rrs.rdata, e->sigs.rdata, e->sigs.size) == 0);
	} else {
		CHECK(rrset_same(rr, was));
	}
}

static void check_signed_trapped(const knot_pkt_t *pkt, const snap_t *s, const expect_t *e)
{
	const knot_rrset_t *mx = &pkt->rr[e->index];
	uint16_t mx_pos = s->rr_info[e->index].pos;

	CHECK(pkt->rrset_count == s->rrset_count);
	CHECK(memcmp(pkt->sections, s->sections, sizeof(s->sections)) == 0);
	for (uint16_t i = 0; i < e->index; i++) {
		CHECK(rrset_same(&pkt->rr[i], &s->rr[i]));
		CHECK(memcmp(&pkt->rr_info[i], &s->rr_info[i], sizeof(*pkt->rr_info)) == 0);
	}
	for (uint16_t i = e->index; i < pkt->rrset_count; i++) {
		check_rewritten(pkt, s, e, i);
	}
	CHECK(pkt->rr_info[e->index].pos == mx_pos);

	/* The wire before the MX RRset: untouched but ANCOUNT. */
	CHECK(pkt->size > mx_pos);
	CHECK(memcmp(pkt->wire, s->wire, KNOT_WIRE_OFFSET_ANCOUNT) == 0);
	CHECK(memcmp(pkt->wire + KNOT_WIRE_OFFSET_NSCOUNT, s->wire + KNOT_WIRE_OFFSET_NSCOUNT,
	             mx_pos - KNOT_WIRE_OFFSET_NSCOUNT) == 0);

	/* Every RRSIG over MX in ANSWER: the stand-in's, valid, the zone's labels;
	 * one per key of the zone's RRSIG(MX), or those the stand-in made: at
	 * least one, each by a key it was given. */
	size_t over_mx = 0;
	sigkey_t sig_keys[MAX_ZONE_SIGS];
	for (uint16_t i = e->index + 1; i < pkt->rrset_count; i++) {
		const knot_rdata_t *rd = pkt->rr[i].rrs.rdata;
		for (uint16_t k = 0; k < pkt->rr[i].rrs.count; k++) {
			if (rd->len >= 2 && knot_wire_read_u16(rd->data) == KNOT_RRTYPE_MX) {
				check_sig_over_mx(rd, e, mx);
				CHECK(over_mx < MAX_ZONE_SIGS);
				sig_keys[over_mx++] = rrsig_key(rd);
			}
			rd = knot_rdataset_next((knot_rdata_t *)rd);
		}
	}
	CHECK(over_mx == e->sigs.count);
	CHECK(over_mx >= 1 && over_mx <= e->zone_count);
	CHECK(e->partial == (over_mx < e->zone_count));
	sigkey_t want_keys[MAX_ZONE_SIGS];
	const knot_rdata_t *want = e->sigs.rdata;
	for (uint16_t k = 0; k < e->sigs.count; k++) {
		want_keys[k] = rrsig_key(want);
		want = knot_rdataset_next((knot_rdata_t *)want);
	}
	for (size_t i = 0; i < e->zone_count; i++) {
		size_t n = key_count(sig_keys, over_mx, e->zone_keys[i]);
		CHECK(n == key_count(want_keys, e->sigs.count, e->zone_keys[i]));
		CHECK(n <= key_count(e->zone_keys, e->zone_count, e->zone_keys[i]));
		if (!e->partial) {
			CHECK(n == key_count(e->zone_keys, e->zone_count, e->zone_keys[i]));
		}
	}

	/* As a resolver reads it (when the packet's RRsets agreed with its wire). */
	if (s->parsed == NULL || !s->counts_ok) {
		return;
	}
	knot_pkt_t *parsed = reparse(pkt);
	CHECK(parsed != NULL);
	const knot_pktsection_t *before = &s->parsed->sections[KNOT_ANSWER];
	const knot_pktsection_t *after = &parsed->sections[KNOT_ANSWER];
	CHECK(after->count == knot_wire_get_ancount(pkt->wire));
	size_t read_over_mx = 0;
	for (uint16_t k = 0; k < after->count; k++) {
		const knot_rrset_t *rec = &parsed->rr[after->pos + k];
		const knot_rdata_t *rd = rec->rrs.rdata;
		if (rec->type == KNOT_RRTYPE_RRSIG && rd->len >= 2 &&
		    knot_wire_read_u16(rd->data) == KNOT_RRTYPE_MX) {
			check_sig_over_mx(rd, e, mx);
			read_over_mx++;
		}
	}
	CHECK(read_over_mx == over_mx);

	/* The records before the MX RRset, the merged RRset, the RRSIGs in their order. */
	size_t head = 0;
	for (uint16_t i = s->sections[KNOT_ANSWER].pos; i < e->index; i++) {
		head += s->rr[i].rrs.count;
	}
	CHECK(head < before->count && head < after->count);
	for (size_t k = 0; k < head; k++) {
		CHECK(rr_equal(&parsed->rr[after->pos + k], &s->parsed->rr[before->pos + k]));
	}
	size_t at = after->pos + head;
	const knot_rrset_t *first = &parsed->rr[at];
	const knot_rdata_t *rd = mx->rrs.rdata;
	for (uint16_t k = 0; k < mx->rrs.count; k++, at++) {
		CHECK(at < (size_t)after->pos + after->count);
		const knot_rrset_t *rec = &parsed->rr[at];
		CHECK(rec->type == KNOT_RRTYPE_MX && rec->rclass == mx->rclass &&
		      rec->ttl == mx->ttl && rec->rrs.count == 1);
		CHECK(name_ieq(rec->owner, first->owner));
		CHECK(mx_rdata_ieq(rec->rrs.rdata, rd));
		rd = knot_rdataset_next((knot_rdata_t *)rd);
	}
	for (uint16_t i = e->index + 1; i < pkt->rrset_count; i++) {
		const knot_rrset_t *rr = &pkt->rr[i];
		rd = rr->rrs.rdata;
		for (uint16_t k = 0; k < rr->rrs.count; k++, at++) {
			CHECK(at < (size_t)after->pos + after->count);
			const knot_rrset_t *rec = &parsed->rr[at];
			CHECK(rec->type == KNOT_RRTYPE_RRSIG && rec->rclass == rr->rclass &&
			      rec->rrs.count == 1);
			CHECK(rec->rrs.rdata->len == rd->len &&
			      memcmp(rec->rrs.rdata->data, rd->data, rd->len) == 0);
			uint32_t ttl = (pkt->rr_info[i].flags & KNOT_PF_ORIGTTL) ?
			               knot_wire_read_u32(rd->data + 4) : rr->ttl;
			CHECK(rec->ttl == ttl);
			if (covers_mx(e, i) && name_ieq(rr->owner, mx->owner)) {
				/* Written where the MX RRset wrote its owner, or in full. */
				CHECK(name_ieq(rec->owner, first->owner));
			}
			rd = knot_rdataset_next((knot_rdata_t *)rd);
		}
	}
	CHECK(at == (size_t)after->pos + after->count);
	knot_pkt_free(parsed);
}

static void check_signed_truncated(const knot_pkt_t *pkt, const snap_t *s, const expect_t *e)
{
	uint16_t mx_pos = s->rr_info[e->index].pos;

	/* Written again from the MX RRset on, up to the first RRset that did not fit. */
	CHECK(pkt->rrset_count >= e->index && pkt->rrset_count < s->rrset_count);
	CHECK(pkt->sections[KNOT_ANSWER].pos == s->sections[KNOT_ANSWER].pos);
	CHECK(pkt->sections[KNOT_ANSWER].count ==
	      s->sections[KNOT_ANSWER].count - (s->rrset_count - pkt->rrset_count));
	for (uint16_t i = 0; i < e->index; i++) {
		CHECK(rrset_same(&pkt->rr[i], &s->rr[i]));
		CHECK(memcmp(&pkt->rr_info[i], &s->rr_info[i], sizeof(*pkt->rr_info)) == 0);
	}
	for (uint16_t i = e->index; i < pkt->rrset_count; i++) {
		check_rewritten(pkt, s, e, i);
	}
	CHECK(pkt->size >= mx_pos);

	/* TC as knot_pkt_put() sets it for an RRset that does not fit. */
	bool tc_before = knot_wire_get_tc(s->wire);
	bool tc_after = knot_wire_get_tc(pkt->wire);
	CHECK(tc_after == (tc_before ||
	                   !(s->rr_info[pkt->rrset_count].flags & KNOT_PF_NOTRUNC)));
	uint8_t *want = pool_dup(s->wire, mx_pos);
	knot_wire_set_ancount(want, knot_wire_get_ancount(pkt->wire));
	if (tc_after) {
		knot_wire_set_tc(want);
	}
	CHECK(memcmp(pkt->wire, want, mx_pos) == 0);
}

/*! The twin can be compared: knotd's RRSIG(MX) has the MX RRset's owner, hints as knotd's. */
static bool signed_twin_ok(const plan_t *plan, const knot_pkt_t *pkt, const expect_t *e)
{
	if (plan->hint_mode != 0) {
		return false;
	}
	for (uint16_t i = e->index + 1; i < pkt->rrset_count; i++) {
		if (covers_mx(e, i) && !name_ieq(pkt->rr[i].owner, pkt->rr[e->index].owner)) {
			return false;
		}
	}
	return true;
}

/*! A resolver reads the same ANSWER from both packets. */
static void check_signed_twin(const knot_pkt_t *pkt, const knot_pkt_t *twin)
{
	knot_pkt_t *a = reparse(pkt);
	knot_pkt_t *b = reparse(twin);
	CHECK(a != NULL && b != NULL);
	CHECK(memcmp(pkt->wire + 2, twin->wire + 2, 2) == 0);
	const knot_pktsection_t *sa = &a->sections[KNOT_ANSWER];
	const knot_pktsection_t *sb = &b->sections[KNOT_ANSWER];
	CHECK(sa->count == sb->count);
	for (uint16_t k = 0; k < sa->count; k++) {
		const knot_rrset_t *ra = &a->rr[sa->pos + k];
		const knot_rrset_t *rb = &b->rr[sb->pos + k];
		CHECK(ra->type == rb->type && ra->rclass == rb->rclass && ra->ttl == rb->ttl);
		CHECK(ra->rrs.count == 1 && rb->rrs.count == 1 && name_ieq(ra->owner, rb->owner));
		const knot_rdata_t *da = ra->rrs.rdata, *db = rb->rrs.rdata;
		if (ra->type == KNOT_RRTYPE_MX) {
			CHECK(mx_rdata_ieq(da, db));
		} else {
			CHECK(da->len == db->len && memcmp(da->data, db->data, da->len) == 0);
		}
	}
	knot_pkt_free(a);
	knot_pkt_free(b);
}

/*! Starts the ledger: the blocks the packet owns (owner and RDATA of FREE RRsets). */
static void ledger_start(const knot_pkt_t *pkt, uint16_t mx_index)
{
	ledger.on = true;
	ledger.count = 0;
	ledger.known_count = 0;
	for (uint16_t i = 0; i < pkt->rrset_count; i++) {
		if (pkt->rr_info[i].flags & KNOT_PF_FREE) {
			ledger_add(pkt->rr[i].owner);
			ledger_add(pkt->rr[i].rrs.rdata);
			if (i > mx_index && pkt->rr[i].type == KNOT_RRTYPE_RRSIG &&
			    ledger.known_count < sizeof(ledger.known) / sizeof(*ledger.known)) {
				ledger.known[ledger.known_count++] = pkt->rr[i].owner;
			}
		}
	}
}

/*! Whether a FREE RRset of the packet holds the block. */
static bool packet_owns(const knot_pkt_t *pkt, const void *ptr)
{
	for (uint16_t i = 0; i < pkt->rrset_count; i++) {
		if ((pkt->rr_info[i].flags & KNOT_PF_FREE) &&
		    (pkt->rr[i].owner == ptr || pkt->rr[i].rrs.rdata == ptr)) {
			return true;
		}
	}
	return false;
}

/*!
 * Ends the ledger after a call: RDATA the core allocated for RRsets the
 * packet does not own is freed here (knotd frees its mempool); every other
 * block of the ledger must be owned by the packet, and no block twice.
 */
static void ledger_end(knot_pkt_t *pkt, mxtrap_result_t result)
{
	for (uint16_t i = 0; i < pkt->rrset_count; i++) {
		if (!(pkt->rr_info[i].flags & KNOT_PF_FREE) &&
		    ledger_has(pkt->rr[i].rrs.rdata)) {
			heap_free(pkt->rr[i].rrs.rdata);
		}
	}
	for (uint16_t i = 0; i < pkt->rrset_count; i++) {
		for (uint16_t j = 0; j < i; j++) {
			if ((pkt->rr_info[i].flags & pkt->rr_info[j].flags & KNOT_PF_FREE) &&
			    pkt->rr[i].rrs.rdata != NULL &&
			    pkt->rr[i].rrs.rdata == pkt->rr[j].rrs.rdata) {
				fprintf(stderr, "fuzz_core: RRsets %u and %u own one RDATA block "
				        "(result %d)\n", j, i, result);
				CHECK(!"a block owned twice");
			}
		}
	}
	size_t lost = 0;
	for (size_t i = 0; i < ledger.count; i++) {
		lost += packet_owns(pkt, ledger.ptr[i]) ? 0 : 1;
	}
	if (lost > 0) {
		fprintf(stderr, "fuzz_core: %zu block(s) of pkt->mm neither freed nor owned by "
		        "the packet after the call (result %d)\n", lost, result);
		CHECK(!"a block lost");
	}
	ledger.on = false;
	ledger.count = 0;
}

/* ------------------------------------------------------------------------ */

/*! One call of the core on a freshly built packet. */
typedef struct {
	const mxtrap_conf_t *conf;
	const plan_t *plan;
	const inject_t *inj;
	const cut_t *cuts;
	size_t cut_count;
	bool dnssec;               /*!< mxtrap_apply_dnssec(), else mxtrap_apply(). */
	mxtrap_signer_t *signer;
	unsigned fail_alloc;       /*!< This allocation from pkt->mm fails (0: none). */
} case_t;

static void run_case(const case_t *c)
{
	const plan_t *plan = c->plan;
	built_t built;
	build(plan, plan->mm, plan->max_size, NULL, &built);
	knot_pkt_t *pkt = built.pkt;
	for (size_t i = 0; i < c->cut_count; i++) {
		apply_cut(pkt, &built, &c->cuts[i]);
	}
	if (c->inj->on) {
		inject(pkt, c->inj);
	}
	bool modified = c->inj->on || c->cut_count > 0;

	expect_t e;
	model(c->conf, pkt, c->signer != NULL, &e);
	snap_t s;
	snapshot(pkt, e.index, &s);
	/* What libknot built is consistent (injected RDATA is not, on purpose). */
	CHECK(s.fits);
	CHECK(s.counts_ok || c->inj->on);

	/* The twin: the same packet with the merged RRset (and new RRSIGs) put in one go. */
	built_t twin = { .pkt = NULL };
	knot_rrset_t *merged = NULL;
	size_t at = SIZE_MAX;
	if (e.result == MXTRAP_TRAPPED && built.clean && !modified && plan->rotate == 0 &&
	    (!e.signed_path || signed_twin_ok(plan, pkt, &e))) {
		for (size_t i = 0; i < plan->count; i++) {
			if (built.where[i] == e.index) {
				at = i;
			}
		}
		CHECK(at != SIZE_MAX);
		const knot_rrset_t **override = pool_get(plan->count * sizeof(*override));
		memset(override, 0, plan->count * sizeof(*override));
		merged = knot_rrset_copy(plan->rrs[at].rr, &POOL_MM);
		CHECK(merged != NULL);
		const knot_rdata_t *trap = e.traps.rdata;
		for (uint16_t i = 0; i < e.trap_count; i++) {
			CHECK(knot_rrset_add_rdata(merged, trap->data, trap->len, &POOL_MM) == KNOT_EOK);
			trap = knot_rdataset_next((knot_rdata_t *)trap);
		}
		override[at] = merged;
		for (size_t i = at + 1; e.signed_path && i < plan->count; i++) {
			if (built.where[i] != UINT16_MAX && covers_mx(&e, built.where[i])) {
				knot_rrset_t *sigs = pool_dup(plan->rrs[i].rr, sizeof(*sigs));
				sigs->rrs = e.sigs;
				override[i] = sigs;
			}
		}
		build(plan, &POOL_MM, plan->max_size, override, &twin);
	}

	unsigned calls_before = fake.calls;
	if (plan->mm == &HEAP_MM) {
		ledger_start(pkt, e.index);
	}
	alloc_countdown = c->fail_alloc;
	alloc_failed = false;
	mxtrap_sig_source_t source = (mxtrap_sig_source_t)0x5a;
	mxtrap_result_t result = c->dnssec ?
	                         mxtrap_apply_dnssec(c->conf, pkt, c->signer, &query_token,
	                                             &source) :
	                         mxtrap_apply(c->conf, pkt);
	bool failed = alloc_failed;
	alloc_countdown = 0;
	alloc_failed = false;

#ifdef FUZZ_CORE_VERBOSE
	fprintf(stderr, "fuzz_core: expected %d, result %d, source %d, twin %s %d\n", e.result,
	        result, c->dnssec ? (int)source : -1, twin.pkt != NULL ? "put" : "none",
	        twin.fail_ret);
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
	if (s.parsed != NULL && s.counts_ok) {
		/* (The core counts the records of pkt->rr: injected ones may differ from the wire.) */
		knot_pkt_t *again = reparse(pkt);
		CHECK(again != NULL);
		knot_pkt_free(again);
	}

	const char *reason = mxtrap_reason_name(result);
	CHECK(reason != NULL);
	CHECK((strcmp(reason, "unknown") == 0) ==
	      (result < MXTRAP_UNCHANGED_FIRST || result > MXTRAP_UNCHANGED_LAST));
	/* Without a signer only the reasons knotd counts for unsigned zones. */
	CHECK((c->dnssec && c->signer != NULL) ||
	      result < MXTRAP_UNCHANGED_FIRST + MXTRAP_UNCHANGED_UNSIGNED_COUNT);

	/* The outcome the contract asks for. */
	bool cached = e.cached;
	if (failed && !(cached && (result == e.result || result == MXTRAP_TRUNCATED))) {
		/* (A cached copy that cannot be made is looked up again.) */
		CHECK(e.result == MXTRAP_TRAPPED || e.sign_reached);
		CHECK(result == MXTRAP_UNCHANGED_UNEXPECTED ||
		      (e.signed_path && result == MXTRAP_UNCHANGED_SIGN_FAILED));
	} else if (e.result == MXTRAP_TRAPPED) {
		CHECK(result == MXTRAP_TRAPPED || result == MXTRAP_TRUNCATED);
	} else {
		CHECK(result == e.result);
	}

	/* The signer is asked once unless an earlier call signed, for the name expected. */
	unsigned calls = fake.calls - calls_before;
	if (!e.sign_reached) {
		CHECK(calls == 0);
	} else if (failed) {
		CHECK(calls <= (cached ? 0u : 1u));
	} else {
		CHECK(calls == (cached ? 0u : 1u));
	}
	if (calls > 0) {
		/* The name expected, exactly the keys of the zone's RRSIG(MX), the clock. */
		CHECK(name_ieq(fake.owner, e.covered_owner));
		CHECK(fake.got_count == e.zone_count);
		for (size_t i = 0; i < e.zone_count; i++) {
			CHECK(fake.got_keys[i].alg == e.zone_keys[i].alg &&
			      fake.got_keys[i].tag == e.zone_keys[i].tag);
		}
		CHECK(fake.got_now == fake.now);
	}
	if (c->dnssec) {
		if (result == MXTRAP_TRAPPED && e.signed_path) {
			CHECK(source == (cached ? MXTRAP_SIG_CACHE : MXTRAP_SIG_FRESH));
		} else {
			CHECK(source == MXTRAP_SIG_NONE);
		}
	}

	if (result == MXTRAP_TRAPPED) {
		if (e.signed_path) {
			check_signed_trapped(pkt, &s, &e);
		} else {
			check_trapped(pkt, &s, &e);
		}
	} else if (result == MXTRAP_TRUNCATED) {
		if (e.signed_path) {
			check_signed_truncated(pkt, &s, &e);
		} else {
			check_truncated(pkt, &s, &e);
		}
	} else {
		check_untouched(pkt, &s);
	}

	/* Byte for byte what Knot sends with the trap written into the zone. */
	if (twin.pkt != NULL && !e.signed_path && result != MXTRAP_UNCHANGED_UNEXPECTED) {
		int override_ret = twin.fail_at == at ? twin.fail_ret :
		                   twin.fail_at == SIZE_MAX ? KNOT_EOK : KNOT_ERROR;
		if (override_ret == KNOT_EOK) {
			CHECK(result == MXTRAP_TRAPPED);
			CHECK(pkt->rr[e.index].rrs.size == merged->rrs.size);
			CHECK(memcmp(pkt->rr[e.index].rrs.rdata, merged->rrs.rdata,
			             merged->rrs.size) == 0);
		} else if (override_ret == KNOT_ESPACE) {
			CHECK(result == MXTRAP_TRUNCATED);
		}
		if (override_ret == KNOT_EOK || override_ret == KNOT_ESPACE) {
			CHECK(pkt->size == twin.pkt->size);
			CHECK(memcmp(pkt->wire, twin.pkt->wire, pkt->size) == 0);
			CHECK(pkt->rrset_count == twin.pkt->rrset_count);
		}
	}
	/* Signed: the records a resolver reads are those of the zone signed with the trap. */
	if (twin.pkt != NULL && e.signed_path && result == MXTRAP_TRAPPED &&
	    twin.fail_at == SIZE_MAX) {
		check_signed_twin(pkt, twin.pkt);
	}

	if (ledger.on) {
		ledger_end(pkt, result);
	}
	knot_pkt_free(twin.pkt);
	knot_pkt_free(s.parsed);
	knot_pkt_free(pkt);
}

/*! A key rollover: the zone's RRSIG records over MX name the next key tag. */
static void roll_keys(const plan_t *plan)
{
	for (size_t i = 0; i < plan->count; i++) {
		knot_rrset_t *rr = plan->rrs[i].rr;
		knot_rdata_t *rd = rr->rrs.rdata;
		for (uint16_t k = 0; rr->type == KNOT_RRTYPE_RRSIG && k < rr->rrs.count; k++) {
			if (rd->len >= RRSIG_FIXED_LEN && knot_wire_read_u16(rd->data) == KNOT_RRTYPE_MX) {
				knot_wire_write_u16(rd->data + 16, knot_wire_read_u16(rd->data + 16) + 1);
			}
			rd = knot_rdataset_next(rd);
		}
	}
}

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
	plan.rrs = pool_get((parsed->rrset_count + 1 + MAX_HARNESS_RRSIGS) * sizeof(*plan.rrs));
	bool merge = f & 0x20;
	plan_section(&plan, parsed, KNOT_ANSWER, merge);

	inject_t inj = { .on = l & 0x04, .make_mx = l & 0x08 };
	if (inj.on) {
		read_injection(&in, &inj);
	}

	/* The stand-in signer and the harness's RRSIG RRsets. */
	uint8_t sig_flags = in_u8(&in);
	uint8_t t = in_u8(&in);
	uint8_t u = in_u8(&in);
	memset(&fake, 0, sizeof(fake));
	bool signed_mode = sig_flags & 0x01;
	bool dnssec = sig_flags & 0x03;
	fake.reason = (sig_flags & 0x04) ?
	              SIGN_REASONS[(t & 0x07) % (sizeof(SIGN_REASONS) / sizeof(*SIGN_REASONS))] :
	              MXTRAP_TRAPPED;
	fake.extra = !(sig_flags & 0x08) ? 0 : (t & 0x08) ? 1 : -1;
	fake.count = sig_flags >> 4;
	plan.knotd_rrsigs = dnssec;
	plan.rrsig_flags = dnssec && !(u & 0x01) ? KNOT_PF_ORIGTTL : 0;
	fake.now = in_u32(&in);
	fake.margin = in_u32(&in);
	fake.exp_off = in_u32(&in);
	fake.inc_off = in_u32(&in);
	fake.advance = (u & 0x04) ? in_u32(&in) : 0;
	for (size_t i = 0; i < fake.count; i++) {
		fake.keys[i].alg = in_u8(&in);
		fake.keys[i].tag = in_u16(&in);
	}
	cut_t cuts[MAX_HARNESS_RRSIGS];
	size_t cut_count = plan_rrsigs(&plan, &in, cuts);

	if (l & 0x01) {
		plan.last = (l & 0x40) ? KNOT_ADDITIONAL : KNOT_AUTHORITY;
		plan_section(&plan, parsed, plan.last, merge);
	}

	if (at_limit) {
		built_t probe;
		build(&plan, &POOL_MM, KNOT_WIRE_MAX_PKTSIZE, NULL, &probe);
		size_t need = probe.pkt->size + plan.reserved + (m & 0x3ff);
		plan.max_size = need < KNOT_WIRE_MAX_PKTSIZE ? need : KNOT_WIRE_MAX_PKTSIZE;
		knot_pkt_free(probe.pkt);
	}

	mxtrap_signer_t *signer = NULL;
	if (signed_mode) {
		signer = mxtrap_signer_new(fake_sign, &fake, fake.margin, 2, fake_clock);
		CHECK(signer != NULL);
	}

	case_t c = {
		.conf = &conf,
		.plan = &plan,
		.inj = &inj,
		.cuts = cuts,
		.cut_count = cut_count,
		.dnssec = dnssec,
		.signer = signer,
		.fail_alloc = (l & 0x80) ? 1 + (t >> 5) : 0,
	};
	unsigned fail_alloc = c.fail_alloc;
	if (u & 0x02) {
		c.fail_alloc = 0;
	}
	run_case(&c);
	if (signed_mode) {
		/* A copy of the same packet, maybe later: the signatures may come from the cache. */
		c.fail_alloc = (u & 0x02) ? fail_alloc : 0;
		fake.now += fake.advance;
		if (u & 0x08) {
			roll_keys(&plan);
		}
		run_case(&c);
	}

	mxtrap_signer_free(signer);
	knot_pkt_free(parsed);
	mxtrap_conf_deinit(&conf);
	pool_release();
	return 0;
}
