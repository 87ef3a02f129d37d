/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <stdlib.h>
#include <string.h>

#include "mxtrap/compat.h"
#include "mxtrap/mm.h"
#include "mxtrap/signer.h"
#include "mxtrap/trap.h"

/*! RRSIG RDATA up to the signer's name. */
#define RRSIG_FIXED_LEN	18
/*! At most this many RRSIG RRsets after MX (CNAME/DNAME chain, MX). */
#define MAX_RRSIG_SETS	16

static const char *const REASON_NAMES[MXTRAP_REASON_COUNT] = {
	[MXTRAP_NULL_MX]              = "null-mx",
	[MXTRAP_NO_BACKUP]            = "no-backup",
	[MXTRAP_TRAP_PRESENT]         = "trap-present",
	[MXTRAP_MAX_PREF]             = "max-preference",
	[MXTRAP_SIGNED]               = "signed",
	[MXTRAP_UNEXPECTED]           = "unexpected",
	[MXTRAP_KEY_MISSING]          = "key-missing",
	[MXTRAP_KEY_UNREADABLE]       = "key-unreadable",
	[MXTRAP_KEYSTORE_UNSUPPORTED] = "keystore-unsupported",
	[MXTRAP_KEYSTORE_LOGIN]       = "keystore-login",
	[MXTRAP_ALG_UNSUPPORTED]      = "algorithm-unsupported",
	[MXTRAP_SIGN_FAILED]          = "sign-failed",
};

const char *mxtrap_reason_name(mxtrap_reason_t reason)
{
	return (unsigned)reason < MXTRAP_REASON_COUNT ? REASON_NAMES[reason] : "unknown";
}

static mxtrap_result_t done(mxtrap_outcome_t outcome)
{
	return (mxtrap_result_t){ .outcome = outcome };
}

static mxtrap_result_t unchanged(mxtrap_reason_t reason)
{
	return (mxtrap_result_t){ .outcome = MXTRAP_UNCHANGED, .reason = reason };
}

/*** Configuration. ***/

/*! Orders names as knot_rdata_cmp() orders MX RDATA of equal preference. */
static int name_order(const void *a, const void *b)
{
	const knot_dname_t *name1 = *(const knot_dname_t *const *)a;
	const knot_dname_t *name2 = *(const knot_dname_t *const *)b;
	size_t len1 = knot_dname_size(name1);
	size_t len2 = knot_dname_size(name2);

	int cmp = memcmp(name1, name2, len1 < len2 ? len1 : len2);
	if (cmp == 0 && len1 != len2) {
		cmp = len1 < len2 ? -1 : 1;
	}
	return cmp;
}

int mxtrap_conf_init(mxtrap_conf_t *conf, uint16_t preference, bool require_backup,
                     const knot_dname_t *const *exchanges, size_t count)
{
	if (conf == NULL || (count > 0 && exchanges == NULL) || count > UINT16_MAX) {
		return KNOT_EINVAL;
	}

	memset(conf, 0, sizeof(*conf));
	conf->preference = preference;
	conf->require_backup = require_backup;
	if (count == 0) {
		return KNOT_EOK;
	}

	conf->exchanges = calloc(count, sizeof(*conf->exchanges));
	conf->exchange_sizes = calloc(count, sizeof(*conf->exchange_sizes));
	if (conf->exchanges == NULL || conf->exchange_sizes == NULL) {
		mxtrap_conf_deinit(conf);
		return KNOT_ENOMEM;
	}

	for (; conf->exchange_count < count; conf->exchange_count++) {
		const knot_dname_t *name = exchanges[conf->exchange_count];
		/* The root name as exchanger would turn the RRset into a null MX. */
		if (name == NULL || *name == '\0' ||
		    knot_dname_wire_check(name, name + KNOT_DNAME_MAXLEN, NULL) <= 0) {
			mxtrap_conf_deinit(conf);
			return KNOT_EINVAL;
		}
		knot_dname_t *copy = knot_dname_copy(name, NULL);
		if (copy == NULL) {
			mxtrap_conf_deinit(conf);
			return KNOT_ENOMEM;
		}
		knot_dname_to_lower(copy);
		conf->exchanges[conf->exchange_count] = copy;
	}

	/* Sorted, then each name once. */
	qsort(conf->exchanges, count, sizeof(*conf->exchanges), name_order);
	uint16_t unique = 1;
	for (uint16_t i = 1; i < count; i++) {
		if (knot_dname_is_equal(conf->exchanges[i], conf->exchanges[unique - 1])) {
			knot_dname_free(conf->exchanges[i], NULL);
		} else {
			conf->exchanges[unique++] = conf->exchanges[i];
		}
	}
	conf->exchange_count = unique;
	for (uint16_t i = 0; i < unique; i++) {
		conf->exchange_sizes[i] = knot_dname_size(conf->exchanges[i]);
	}

	return KNOT_EOK;
}

void mxtrap_conf_deinit(mxtrap_conf_t *conf)
{
	if (conf == NULL) {
		return;
	}
	for (uint16_t i = 0; i < conf->exchange_count; i++) {
		knot_dname_free(conf->exchanges[i], NULL);
	}
	free(conf->exchanges);
	free(conf->exchange_sizes);
	memset(conf, 0, sizeof(*conf));
}

/*** The MX RRset in the answer. ***/

static uint16_t mx_preference(const knot_rdata_t *rdata)
{
	return knot_wire_read_u16(rdata->data);
}

static const knot_dname_t *mx_exchange(const knot_rdata_t *rdata)
{
	return rdata->data + MXTRAP_MX_PREF_LEN;
}

static const knot_rdata_t *next(const knot_rdata_t *rdata)
{
	return knot_rdataset_next((knot_rdata_t *)rdata);
}

/*! An RRSIG RRset of the packet has a signature over MX. */
static bool rrsig_covers_mx(const knot_rrset_t *rrsig)
{
	const knot_rdata_t *rdata = rrsig->rrs.rdata;
	for (uint16_t i = 0; i < rrsig->rrs.count; i++, rdata = next(rdata)) {
		if (rdata->len >= sizeof(uint16_t) &&
		    knot_rrsig_type_covered(rdata) == KNOT_RRTYPE_MX) {
			return true;
		}
	}
	return false;
}

/*! RRsets after MX: only RRSIGs, one of them over MX (a signed answer)? */
static bool only_sigs_follow(const knot_pkt_t *pkt, uint16_t mx_index)
{
	bool covered = false;
	for (uint16_t i = mx_index + 1; i < pkt->rrset_count; i++) {
		if (pkt->rr[i].type != KNOT_RRTYPE_RRSIG) {
			return false;
		}
		covered = covered || rrsig_covers_mx(&pkt->rr[i]);
	}
	return covered;
}

/*! What the rules read of the MX RRset. */
typedef struct {
	uint16_t low, high;         /*!< Lowest and highest preference. */
	bool left_alone;            /*!< The RRset is left alone, ... */
	mxtrap_reason_t why : 8;    /*!< ... for this reason. */
} prefs_t;

/*!
 * The lowest and highest preference of the MX RRset, or why it is left
 * alone. Inlined in both callers (tests/bench/callgrind.sh, "mx-affected":
 * 8232 -> 8208 instructions per query).
 */
__attribute__((always_inline))
static inline prefs_t read_preferences(const mxtrap_conf_t *conf, const knot_rdataset_t *rrs)
{
	prefs_t prefs = { .low = UINT16_MAX, .left_alone = true, .why = MXTRAP_UNEXPECTED };
	const knot_rdata_t *rdata = rrs->rdata;
	for (uint16_t i = 0; i < rrs->count; i++, rdata = next(rdata)) {
		uint16_t pref;
		mxtrap_reason_t why;
		if (!mxtrap_read_record(rdata, &pref, &why)) {
			prefs.why = why;
			return prefs;
		}
		prefs.low = pref < prefs.low ? pref : prefs.low;
		prefs.high = pref > prefs.high ? pref : prefs.high;
	}
	if (rrs->count == 0) {
		return prefs;
	}
	if (prefs.low == prefs.high && conf->require_backup) {
		prefs.why = MXTRAP_NO_BACKUP;
		return prefs;
	}
	prefs.left_alone = false;
	return prefs;
}

/*! The packet's bookkeeping of ANSWER is as knot_pkt_put() leaves it. */
static bool answer_sound(const knot_pkt_t *pkt, uint16_t mx_index)
{
	return pkt->rr_info[mx_index].pos <= pkt->size &&
	       pkt->size + pkt->reserved <= pkt->max_size;
}

/*** The merged RRset. ***/

/*! Primaries kept on the stack; more (rare) come from pkt->mm. */
#define STACK_PRIMARIES	8

/*! The names the trap records point to: the configured ones, or the RRset's primaries. */
typedef struct {
	const knot_dname_t *const *names;
	const uint16_t *sizes;
	uint16_t count;
	/* The primaries, when no exchanger is configured. */
	const knot_dname_t *stack_names[STACK_PRIMARIES];
	uint16_t stack_sizes[STACK_PRIMARIES];
	void *heap;
} trap_names_t;

static bool trap_names(const mxtrap_conf_t *conf, const knot_rdataset_t *rrs, uint16_t low,
                       knot_mm_t *mm, trap_names_t *out)
{
	out->heap = NULL;
	if (conf->exchange_count > 0) {
		out->names = (const knot_dname_t *const *)conf->exchanges;
		out->sizes = conf->exchange_sizes;
		out->count = conf->exchange_count;
		return true;
	}
	const knot_dname_t **names = out->stack_names;
	uint16_t *sizes = out->stack_sizes;
	if (rrs->count > STACK_PRIMARIES) {
		out->heap = mm_get(mm, rrs->count * (sizeof(*names) + sizeof(*sizes)));
		if (out->heap == NULL) {
			return false;
		}
		names = out->heap;
		sizes = (uint16_t *)(names + rrs->count);
	}
	out->count = 0;
	const knot_rdata_t *rdata = rrs->rdata;
	for (uint16_t i = 0; i < rrs->count; i++, rdata = next(rdata)) {
		if (mx_preference(rdata) == low) {
			names[out->count] = mx_exchange(rdata);
			sizes[out->count++] = rdata->len - MXTRAP_MX_PREF_LEN;
		}
	}
	out->names = names;
	out->sizes = sizes;
	return true;
}

/*! A trap name already stands at the highest preference. */
static bool trap_present(const knot_rdataset_t *rrs, uint16_t high, const trap_names_t *traps)
{
	const knot_rdata_t *rdata = rrs->rdata;
	for (uint16_t i = 0; i < rrs->count; i++, rdata = next(rdata)) {
		for (uint16_t j = 0; j < traps->count && mx_preference(rdata) == high; j++) {
			if (knot_dname_is_case_equal(mx_exchange(rdata), traps->names[j])) {
				return true;
			}
		}
	}
	return false;
}

/*! The MX RRset with the trap records appended (RDATA in one block from pkt->mm). */
typedef struct {
	knot_rdataset_t rrs;   /*!< Zone records, then the traps. */
	knot_rdataset_t traps; /*!< View of the trap records only. */
} merged_t;

/*! Writes the trap records after the RRset's, into one block. */
static bool write_merged(const knot_rdataset_t *rrs, const trap_names_t *traps,
                         uint16_t pref, knot_mm_t *mm, merged_t *out)
{
	size_t traps_size = 0;
	for (uint16_t i = 0; i < traps->count; i++) {
		traps_size += knot_rdata_size(MXTRAP_MX_PREF_LEN + traps->sizes[i]);
	}
	uint8_t *block = mm_get(mm, rrs->size + traps_size);
	if (block == NULL) {
		return false;
	}
	memcpy(block, rrs->rdata, rrs->size);

	/* The trap preference tops every record, so the traps sort last (as in the zone). */
	knot_rdata_t *first = (knot_rdata_t *)(block + rrs->size);
	knot_rdata_t *trap = first;
	for (uint16_t i = 0; i < traps->count; i++, trap = knot_rdataset_next(trap)) {
		trap->len = MXTRAP_MX_PREF_LEN + traps->sizes[i];
		knot_wire_write_u16(trap->data, pref);
		memcpy(trap->data + MXTRAP_MX_PREF_LEN, traps->names[i], traps->sizes[i]);
		if (trap->len & 1) {
			trap->data[trap->len] = 0; /* RDATA padding, as knot_rdata_init(). */
		}
	}

	out->rrs = (knot_rdataset_t){ rrs->count + traps->count, rrs->size + traps_size,
	                              (knot_rdata_t *)block };
	out->traps = (knot_rdataset_t){ traps->count, traps_size, first };
	return true;
}

/*! The last reasons to leave the RRset alone, then the merged RDATA (TRAPPED). */
static mxtrap_result_t merge_traps(const mxtrap_conf_t *conf, knot_pkt_t *pkt,
                                   const knot_rdataset_t *rrs, uint16_t low, uint16_t high,
                                   merged_t *out)
{
	/* Another module may have changed the RRset: the names must be sound. */
	const knot_rdata_t *rdata = rrs->rdata;
	for (uint16_t i = 0; i < rrs->count; i++, rdata = next(rdata)) {
		if (knot_dname_wire_check(mx_exchange(rdata), rdata->data + rdata->len,
		                          NULL) != rdata->len - MXTRAP_MX_PREF_LEN) {
			return unchanged(MXTRAP_UNEXPECTED);
		}
	}
	trap_names_t traps;
	if (!trap_names(conf, rrs, low, &pkt->mm, &traps)) {
		return done(MXTRAP_NO_MEMORY);
	}
	mxtrap_result_t result = done(MXTRAP_TRAPPED);
	if (high > low && trap_present(rrs, high, &traps)) {
		result = unchanged(MXTRAP_TRAP_PRESENT);
	} else if (high == UINT16_MAX) {
		result = unchanged(MXTRAP_MAX_PREF);
	} else if (rrs->count + traps.count > UINT16_MAX) {
		result = unchanged(MXTRAP_UNEXPECTED);
	} else {
		uint16_t pref = conf->preference > high ? conf->preference : high + 1;
		if (!write_merged(rrs, &traps, pref, &pkt->mm, out)) {
			result = done(MXTRAP_NO_MEMORY);
		}
	}
	if (traps.heap != NULL) {
		mm_put(&pkt->mm, traps.heap);
	}
	return result;
}

/*! Gives an RRset's RDATA back to pkt->mm where the packet owns it (KNOT_PF_FREE). */
static void release_rdata(knot_pkt_t *pkt, knot_rrset_t *rr, uint16_t flags)
{
	if (flags & KNOT_PF_FREE) {
		knot_rdataset_clear(&rr->rrs, &pkt->mm);
	}
}

/*! Drops RRsets from \a index on, as if knot_pkt_put() had not written them. */
static void rewind_answer(knot_pkt_t *pkt, uint16_t index)
{
	for (uint16_t i = index; i < pkt->rrset_count; i++) {
		knot_wire_add_ancount(pkt->wire, -(int16_t)pkt->rr[i].rrs.count);
	}
	pkt->sections[KNOT_ANSWER].count -= pkt->rrset_count - index;
	pkt->size = pkt->rr_info[index].pos;
	pkt->rrset_count = index;
}

/*** Unsigned answers. ***/

/*! Appends the trap records behind the MX RRset, in place. */
static mxtrap_result_t apply_unsigned(const mxtrap_conf_t *conf, knot_pkt_t *pkt,
                                      uint16_t mx_index, uint16_t low, uint16_t high)
{
	if (!answer_sound(pkt, mx_index)) {
		return unchanged(MXTRAP_UNEXPECTED);
	}
	knot_rrset_t *mx = &pkt->rr[mx_index];
	knot_rrinfo_t *info = &pkt->rr_info[mx_index];

	merged_t merged;
	mxtrap_result_t result = merge_traps(conf, pkt, &mx->rrs, low, high, &merged);
	if (result.outcome != MXTRAP_TRAPPED) {
		return result;
	}

	/*
	 * Write only the new records, continuing the packet's compression state
	 * exactly where Knot left it after the MX RRset: the owner becomes the
	 * same pointer as in the RRset's other records and exchanger names are
	 * compressed as if the RRset were written in one go.
	 */
	knot_rrset_t trap_rrset = *mx;
	trap_rrset.rrs = merged.traps;
	trap_rrset.additional = NULL;

	knot_rrinfo_t trap_info = { .pos = pkt->size, .flags = info->flags };
	trap_info.compress_ptr[KNOT_COMPR_HINT_OWNER] = info->compress_ptr[KNOT_COMPR_HINT_OWNER];

	const knot_compr_t saved_compr = pkt->compr;
	knot_compr_t *compr = NULL;
	if (knot_pkt_qname(pkt) != NULL) {
		pkt->compr.rrinfo = &trap_info;
		compr = &pkt->compr;
	}

	uint16_t avail = pkt->max_size - pkt->size - pkt->reserved;
	int written = knot_rrset_to_wire_extra(&trap_rrset, pkt->wire + pkt->size, avail,
	                                       0, compr, info->flags);
	pkt->compr.rrinfo = saved_compr.rrinfo;
	if (written < 0) {
		pkt->compr = saved_compr;
		mm_put(&pkt->mm, merged.rrs.rdata);
		if (written != KNOT_ESPACE) {
			return unchanged(MXTRAP_UNEXPECTED);
		}
		/* The zone with the trap written in would not fit either. */
		if (!(info->flags & KNOT_PF_NOTRUNC)) {
			knot_wire_set_tc(pkt->wire);
		}
		rewind_answer(pkt, mx_index);
		if (info->flags & KNOT_PF_FREE) {
			knot_rrset_clear(mx, &pkt->mm);
		}
		return done(MXTRAP_TRUNCATED);
	}

	pkt->size += written;
	knot_wire_add_ancount(pkt->wire, merged.traps.count);
	/* Where the trap exchangers stand, as knot_pkt_put() notes them (glue hints). */
	for (uint16_t i = 0; i < merged.traps.count; i++) {
		knot_compr_hint_set(info, KNOT_COMPR_HINT_RDATA + mx->rrs.count + i,
		                    knot_compr_hint(&trap_info, KNOT_COMPR_HINT_RDATA + i), 0);
	}
	knot_rrset_t old = *mx;
	mx->rrs = merged.rrs;
	release_rdata(pkt, &old, info->flags);
	return result;
}

/*** Signed answers. ***/

/*!
 * The (algorithm, key tag) of the zone's signatures over MX and the labels
 * they declare; false if they are malformed, disagree on labels or come in
 * more than one RRSIG RRset (the signer's take the place of exactly one).
 */
static bool zone_sig_keys(const knot_pkt_t *pkt, uint16_t mx_index, mxtrap_key_tag_t *keys,
                          size_t *count, uint8_t *labels)
{
	*count = 0;
	uint16_t mx_set = 0; /* The RRSIG RRset over MX (0: none yet). */
	for (uint16_t i = mx_index + 1; i < pkt->rrset_count; i++) {
		const knot_rdataset_t *rrs = &pkt->rr[i].rrs;
		const knot_rdata_t *rdata = rrs->rdata;
		for (uint16_t j = 0; j < rrs->count; j++, rdata = next(rdata)) {
			if (rdata->len < RRSIG_FIXED_LEN) {
				return false;
			}
			if (knot_rrsig_type_covered(rdata) != KNOT_RRTYPE_MX) {
				continue;
			}
			if ((mx_set != 0 && mx_set != i) || *count == MXTRAP_MAX_SIGS ||
			    (*count > 0 && knot_rrsig_labels(rdata) != *labels)) {
				return false;
			}
			mx_set = i;
			*labels = knot_rrsig_labels(rdata);
			keys[(*count)++] = (mxtrap_key_tag_t){ knot_rrsig_alg(rdata),
			                                       knot_rrsig_key_tag(rdata) };
		}
	}
	return *count > 0;
}

/*!
 * The name the zone's RRSIG(MX) was made for: the owner itself, or for a
 * wildcard answer "*." and the owner's last \a labels labels (RFC 4035 5.3.2).
 */
static const knot_dname_t *signed_owner(const knot_dname_t *owner, uint8_t labels,
                                        knot_dname_t *buf)
{
	/* RRSIG labels never count a leading "*" (RFC 4034 3.1.3). */
	size_t owner_labels = knot_dname_labels(owner, NULL) - (knot_dname_is_wildcard(owner) ? 1 : 0);
	if (labels >= owner_labels) {
		return owner;
	}
	const knot_dname_t *suffix = knot_dname_is_wildcard(owner) ?
	                             mxtrap_dname_next_label(owner) : owner;
	for (size_t i = labels; i < owner_labels; i++) {
		suffix = mxtrap_dname_next_label(suffix);
	}
	buf[0] = 1;
	buf[1] = '*';
	memcpy(buf + 2, suffix, knot_dname_size(suffix));
	return buf;
}

/*! What ANSWER holds from the MX RRset on, saved before it is written again. */
typedef struct {
	uint16_t count;                          /*!< The MX RRset, then the RRSIG RRsets. */
	knot_rrset_t rr[MAX_RRSIG_SETS + 1];
	knot_rrinfo_t info[MAX_RRSIG_SETS + 1];
} tail_t;

/*!
 * Writes ANSWER again from the MX RRset on: the merged RRset, then the RRSIG
 * RRsets in their order with the signer's RRSIG(MX) in place of the zone's.
 * Whatever the packet no longer refers to goes back to pkt->mm: the replaced
 * RRsets it owned and, if the answer did not fit, what was not written.
 */
static int rewrite_tail(knot_pkt_t *pkt, uint16_t mx_index, const tail_t *tail,
                        merged_t *merged, knot_rdataset_t *sigs)
{
	uint16_t mx_pos = tail->info[0].pos;
	uint16_t mx_hint = tail->info[0].compress_ptr[KNOT_COMPR_HINT_OWNER];
	if (mx_hint >= mx_pos) {
		mx_hint = KNOT_COMPR_HINT_NONE; /* The owner was written in the MX RRset itself. */
	}

	rewind_answer(pkt, mx_index);
	/* Compression may only refer to what is left: restart from the QNAME. */
	pkt->compr.suffix.pos = KNOT_WIRE_HEADER_SIZE;
	pkt->compr.suffix.labels = knot_dname_labels(pkt->wire + KNOT_WIRE_HEADER_SIZE, pkt->wire);

	int ret = KNOT_EOK;
	uint16_t owner_hint = mx_hint;
	for (uint16_t i = 0; i < tail->count; i++) {
		knot_rrset_t old = tail->rr[i];
		uint16_t flags = tail->info[i].flags;
		knot_rrset_t put = old;
		uint16_t hint = tail->info[i].compress_ptr[KNOT_COMPR_HINT_OWNER];
		bool ours = (i == 0 || rrsig_covers_mx(&old));
		if (i == 0) {
			put.rrs = merged->rrs;
			hint = mx_hint;
		} else if (ours) {
			put.rrs = *sigs;
			hint = owner_hint;
		} else if (hint >= mx_pos) {
			hint = KNOT_COMPR_HINT_NONE;
		}

		if (ret == KNOT_EOK) {
			ret = knot_pkt_put(pkt, hint, &put, flags);
		}
		if (i == 0 && ret == KNOT_EOK) {
			owner_hint = pkt->rr_info[mx_index].compress_ptr[KNOT_COMPR_HINT_OWNER];
		}
		if (ret == KNOT_EOK) {
			if (ours) {
				release_rdata(pkt, &old, flags);
			}
			continue;
		}
		/* Not written: ours go back, and so do the packet's RRsets. */
		if (ours) {
			knot_rdataset_clear(&put.rrs, &pkt->mm);
		}
		release_rdata(pkt, &old, flags);
		/* knotd gives a packet-owned RRset an owner copy of its own. */
		if (flags & KNOT_PF_FREE) {
			knot_dname_free(old.owner, &pkt->mm);
		}
	}
	return ret;
}

/*! Signed answer: the merged RRset with the signer's RRSIG(MX) in place of the zone's. */
static mxtrap_result_t apply_signed(const mxtrap_conf_t *conf, knot_pkt_t *pkt, uint16_t mx_index,
                                    mxtrap_signer_t *signer, void *query)
{
	if (!only_sigs_follow(pkt, mx_index)) {
		return unchanged(MXTRAP_UNEXPECTED);
	}
	if (signer == NULL) {
		return unchanged(MXTRAP_SIGNED);
	}
	knot_rrset_t *mx = &pkt->rr[mx_index];
	prefs_t prefs = read_preferences(conf, &mx->rrs);
	if (prefs.left_alone) {
		return unchanged(prefs.why);
	}
	tail_t tail = { .count = pkt->rrset_count - mx_index };
	mxtrap_key_tag_t keys[MXTRAP_MAX_SIGS];
	size_t key_count;
	uint8_t labels = 0;
	if (!answer_sound(pkt, mx_index) || tail.count > MAX_RRSIG_SETS + 1 ||
	    !zone_sig_keys(pkt, mx_index, keys, &key_count, &labels) ||
	    labels > knot_dname_labels(mx->owner, NULL)) {
		return unchanged(MXTRAP_UNEXPECTED);
	}

	merged_t merged;
	mxtrap_result_t result = merge_traps(conf, pkt, &mx->rrs, prefs.low, prefs.high, &merged);
	if (result.outcome != MXTRAP_TRAPPED) {
		return result;
	}

	knot_dname_storage_t wildcard;
	knot_rrset_t covered = *mx;
	covered.owner = (knot_dname_t *)signed_owner(mx->owner, labels, wildcard);
	covered.rrs = merged.rrs;
	knot_rdataset_t sigs;
	mxtrap_sig_source_t source;
	mxtrap_reason_t why;
	if (!mxtrap_signer_get(signer, &covered, keys, key_count, query, &sigs, &pkt->mm,
	                       &source, &why)) {
		mm_put(&pkt->mm, merged.rrs.rdata);
		return unchanged(why);
	}
	result.source = source;

	memcpy(tail.rr, mx, tail.count * sizeof(*tail.rr));
	memcpy(tail.info, &pkt->rr_info[mx_index], tail.count * sizeof(*tail.info));
	int ret = rewrite_tail(pkt, mx_index, &tail, &merged, &sigs);
	if (ret != KNOT_EOK) {
		/* knot_pkt_put() has set TC as Knot does for its own RRsets and RRSIGs. */
		return ret == KNOT_ESPACE ? done(MXTRAP_TRUNCATED) : unchanged(MXTRAP_UNEXPECTED);
	}
	return result;
}

mxtrap_result_t mxtrap_apply(const mxtrap_conf_t *conf, knot_pkt_t *pkt,
                             mxtrap_signer_t *signer, void *query)
{
	int mx_index = pkt->current == KNOT_ANSWER ? mxtrap_find_mx(pkt) : -1;
	if (mx_index < 0) {
		return done(MXTRAP_NOT_MX);
	}
	if (mx_index + 1 < pkt->rrset_count) {
		return apply_signed(conf, pkt, mx_index, signer, query);
	}
	prefs_t prefs = read_preferences(conf, &pkt->rr[mx_index].rrs);
	if (prefs.left_alone) {
		return unchanged(prefs.why);
	}
	return apply_unsigned(conf, pkt, mx_index, prefs.low, prefs.high);
}

bool mxtrap_names_exchange(const mxtrap_conf_t *conf, const knot_pkt_t *pkt, uint16_t index,
                           uint16_t *hint)
{
	const knot_pktsection_t *answer = knot_pkt_section(pkt, KNOT_ANSWER);
	for (uint16_t i = answer->pos; i < answer->pos + answer->count; i++) {
		const knot_rrset_t *rr = &pkt->rr[i];
		if (rr->type != KNOT_RRTYPE_MX) {
			continue;
		}
		const knot_rdata_t *rdata = rr->rrs.rdata;
		for (uint16_t j = 0; j < rr->rrs.count; j++, rdata = next(rdata)) {
			if (rdata->len > MXTRAP_MX_PREF_LEN &&
			    knot_dname_is_case_equal(mx_exchange(rdata), conf->exchanges[index])) {
				*hint = knot_compr_hint(&pkt->rr_info[i], KNOT_COMPR_HINT_RDATA + j);
				return true;
			}
		}
		return false;
	}
	return false;
}
