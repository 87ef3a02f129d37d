/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "libknot_compat.h"
#include "mm.h"
#include "mxtrap.h"

/*! MX RDATA: a 16-bit preference, then the exchanger's name. */
#define MX_PREF_LEN	2
/*! RRSIG RDATA up to the signer's name. */
#define RRSIG_FIXED_LEN	18

static const char *const REASON_NAMES[MXTRAP_UNCHANGED_COUNT] = {
	[MXTRAP_UNCHANGED_NULL_MX - MXTRAP_UNCHANGED_FIRST]       = "null-mx",
	[MXTRAP_UNCHANGED_NO_BACKUP - MXTRAP_UNCHANGED_FIRST]     = "no-backup",
	[MXTRAP_UNCHANGED_TRAP_PRESENT - MXTRAP_UNCHANGED_FIRST]  = "trap-present",
	[MXTRAP_UNCHANGED_MAX_PREF - MXTRAP_UNCHANGED_FIRST]      = "max-preference",
	[MXTRAP_UNCHANGED_SIGNED - MXTRAP_UNCHANGED_FIRST]        = "signed",
	[MXTRAP_UNCHANGED_UNEXPECTED - MXTRAP_UNCHANGED_FIRST]    = "unexpected",
	[MXTRAP_UNCHANGED_KEY_MISSING - MXTRAP_UNCHANGED_FIRST]   = "key-missing",
	[MXTRAP_UNCHANGED_KEY_UNREADABLE - MXTRAP_UNCHANGED_FIRST] = "key-unreadable",
	[MXTRAP_UNCHANGED_KEYSTORE_UNSUPPORTED - MXTRAP_UNCHANGED_FIRST] = "keystore-unsupported",
	[MXTRAP_UNCHANGED_ALG_UNSUPPORTED - MXTRAP_UNCHANGED_FIRST] = "algorithm-unsupported",
	[MXTRAP_UNCHANGED_SIGN_FAILED - MXTRAP_UNCHANGED_FIRST]   = "sign-failed",
};

const char *mxtrap_reason_name(mxtrap_result_t result)
{
	if (result < MXTRAP_UNCHANGED_FIRST || result > MXTRAP_UNCHANGED_LAST) {
		return "unknown";
	}
	return REASON_NAMES[result - MXTRAP_UNCHANGED_FIRST];
}

/*! Orders names as knot_rdata_cmp() orders MX RDATA of equal preference. */
static int exchange_order(const void *a, const void *b)
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

	for (size_t i = 0; i < count; i++) {
		const knot_dname_t *name = exchanges[i];
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

		bool duplicate = false;
		for (uint16_t j = 0; j < conf->exchange_count; j++) {
			if (knot_dname_is_equal(conf->exchanges[j], copy)) {
				duplicate = true;
				break;
			}
		}
		if (duplicate) {
			knot_dname_free(copy, NULL);
			continue;
		}
		conf->exchanges[conf->exchange_count++] = copy;
	}

	qsort(conf->exchanges, conf->exchange_count, sizeof(*conf->exchanges),
	      exchange_order);
	for (uint16_t i = 0; i < conf->exchange_count; i++) {
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

static uint16_t mx_preference(const knot_rdata_t *rdata)
{
	return knot_wire_read_u16(rdata->data);
}

static const knot_dname_t *mx_exchange(const knot_rdata_t *rdata)
{
	return rdata->data + MX_PREF_LEN;
}

/*! Checks that an RRSIG RRset in the packet covers MX. */
static bool rrsig_covers_mx(const knot_rrset_t *rrsig)
{
	const knot_rdata_t *rdata = rrsig->rrs.rdata;
	for (uint16_t i = 0; i < rrsig->rrs.count; i++) {
		if (rdata->len >= sizeof(uint16_t) &&
		    knot_rrsig_type_covered(rdata) == KNOT_RRTYPE_MX) {
			return true;
		}
		rdata = knot_rdataset_next((knot_rdata_t *)rdata);
	}
	return false;
}

static inline uint8_t ascii_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/*! Case-insensitive equality of two validated, uncompressed names; stops at the first difference. */
static bool name_case_equal(const knot_dname_t *a, const knot_dname_t *b)
{
	while (*a == *b) {
		uint8_t len = *a;
		if (len == 0) {
			return true;
		}
		for (uint8_t i = 1; i <= len; i++) {
			if (ascii_lower(a[i]) != ascii_lower(b[i])) {
				return false;
			}
		}
		a += len + 1;
		b += len + 1;
	}
	return false;
}

/*! Checks whether one of the trap exchangers already stands at the top preference. */
static bool trap_present(const mxtrap_conf_t *conf, const knot_rdataset_t *rrs,
                         uint16_t low, uint16_t high)
{
	const knot_rdata_t *top = rrs->rdata;
	for (uint16_t i = 0; i < rrs->count; i++, top = knot_rdataset_next((knot_rdata_t *)top)) {
		if (mx_preference(top) != high) {
			continue;
		}
		if (conf->exchange_count > 0) {
			for (uint16_t j = 0; j < conf->exchange_count; j++) {
				if (name_case_equal(mx_exchange(top), conf->exchanges[j])) {
					return true;
				}
			}
			continue;
		}
		const knot_rdata_t *primary = rrs->rdata;
		for (uint16_t j = 0; j < rrs->count; j++,
		     primary = knot_rdataset_next((knot_rdata_t *)primary)) {
			if (mx_preference(primary) == low &&
			    name_case_equal(mx_exchange(top), mx_exchange(primary))) {
				return true;
			}
		}
	}
	return false;
}

/*! After the MX RRset: only RRSIG RRsets, one of them over MX (a signed answer)? */
__attribute__((noinline))
static mxtrap_result_t signed_or_unexpected(const knot_pkt_t *pkt, uint16_t mx_index, uint16_t end)
{
	if (end != pkt->rrset_count) {
		return MXTRAP_UNCHANGED_UNEXPECTED;
	}
	bool covered = false;
	for (uint16_t j = mx_index + 1; j < end; j++) {
		if (pkt->rr[j].type != KNOT_RRTYPE_RRSIG) {
			return MXTRAP_UNCHANGED_UNEXPECTED;
		}
		covered = covered || rrsig_covers_mx(&pkt->rr[j]);
	}
	return covered ? MXTRAP_UNCHANGED_SIGNED : MXTRAP_UNCHANGED_UNEXPECTED;
}

/*!
 * Locates the MX RRset in ANSWER. MXTRAP_TRAPPED: it is the last RRset written;
 * MXTRAP_UNCHANGED_SIGNED: only RRSIGs follow it, one of them over MX.
 */
static mxtrap_result_t find_mx(const knot_pkt_t *pkt, uint16_t *mx_index)
{
	if (pkt->current != KNOT_ANSWER) {
		return MXTRAP_NOT_MX;
	}

	const knot_pktsection_t *answer = knot_pkt_section(pkt, KNOT_ANSWER);
	uint16_t end = answer->pos + answer->count;
	for (uint16_t i = answer->pos; i < end; i++) {
		if (pkt->rr[i].type != KNOT_RRTYPE_MX) {
			continue;
		}
		*mx_index = i;
		/* Appending in place needs the MX RRset to be the last one written. */
		if (i + 1 == end && end == pkt->rrset_count) {
			return MXTRAP_TRAPPED;
		}
		return signed_or_unexpected(pkt, i, end);
	}
	return MXTRAP_NOT_MX;
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

/*! The MX RRset with the trap records appended (RDATA in one block from pkt->mm). */
typedef struct {
	knot_rdataset_t rrs;   /*!< Zone records, then the traps. */
	knot_rdataset_t traps; /*!< View of the trap records only. */
} merged_t;

/*!
 * Validates the names, checks the remaining reasons to leave the RRset alone
 * and builds the merged RDATA. MXTRAP_TRAPPED when \a out is filled.
 */
__attribute__((always_inline))
static inline mxtrap_result_t merge_traps(const mxtrap_conf_t *conf, knot_pkt_t *pkt,
                                   const knot_rdataset_t *rrs, uint16_t low, uint16_t high,
                                   merged_t *out)
{
	const knot_rdata_t *rdata = rrs->rdata;
	for (uint16_t i = 0; i < rrs->count; i++, rdata = knot_rdataset_next((knot_rdata_t *)rdata)) {
		if (knot_dname_wire_check(mx_exchange(rdata), rdata->data + rdata->len,
		                          NULL) != rdata->len - MX_PREF_LEN) {
			return MXTRAP_UNCHANGED_UNEXPECTED;
		}
	}
	if (high > low && trap_present(conf, rrs, low, high)) {
		return MXTRAP_UNCHANGED_TRAP_PRESENT;
	}
	if (high == UINT16_MAX) {
		return MXTRAP_UNCHANGED_MAX_PREF;
	}
	uint16_t trap_pref = conf->preference > high ? conf->preference : high + 1;

	size_t trap_count = 0, trap_size = 0;
	if (conf->exchange_count > 0) {
		trap_count = conf->exchange_count;
		for (uint16_t i = 0; i < conf->exchange_count; i++) {
			trap_size += knot_rdata_size(MX_PREF_LEN + conf->exchange_sizes[i]);
		}
	} else {
		rdata = rrs->rdata;
		for (uint16_t i = 0; i < rrs->count; i++, rdata = knot_rdataset_next((knot_rdata_t *)rdata)) {
			if (mx_preference(rdata) == low) {
				trap_count++;
				trap_size += knot_rdata_size(rdata->len);
			}
		}
	}
	if (rrs->count + trap_count > UINT16_MAX) {
		return MXTRAP_UNCHANGED_UNEXPECTED;
	}

	uint8_t *merged = mm_get(&pkt->mm, rrs->size + trap_size);
	if (merged == NULL) {
		return MXTRAP_UNCHANGED_UNEXPECTED;
	}
	memcpy(merged, rrs->rdata, rrs->size);

	/* The trap preference tops every record, so the traps sort last (as in the zone). */
	knot_rdata_t *traps = (knot_rdata_t *)(merged + rrs->size);
	knot_rdata_t *trap = traps;
	if (conf->exchange_count > 0) {
		for (uint16_t i = 0; i < conf->exchange_count; i++) {
			trap->len = MX_PREF_LEN + conf->exchange_sizes[i];
			knot_wire_write_u16(trap->data, trap_pref);
			memcpy(trap->data + MX_PREF_LEN, conf->exchanges[i], conf->exchange_sizes[i]);
			if (trap->len & 1) {
				trap->data[trap->len] = 0; /* RDATA padding, as knot_rdata_init(). */
			}
			trap = knot_rdataset_next(trap);
		}
	} else {
		rdata = rrs->rdata;
		for (uint16_t i = 0; i < rrs->count; i++, rdata = knot_rdataset_next((knot_rdata_t *)rdata)) {
			if (mx_preference(rdata) == low) {
				knot_rdata_init(trap, rdata->len, rdata->data);
				knot_wire_write_u16(trap->data, trap_pref);
				trap = knot_rdataset_next(trap);
			}
		}
	}

	out->rrs.count = rrs->count + trap_count;
	out->rrs.size = rrs->size + trap_size;
	out->rrs.rdata = (knot_rdata_t *)merged;
	out->traps.count = trap_count;
	out->traps.size = trap_size;
	out->traps.rdata = traps;
	return MXTRAP_TRAPPED;
}

/*! Makes the merged RDATA the packet's view of the MX RRset. */
static inline void adopt_merged(knot_pkt_t *pkt, knot_rrset_t *mx, uint16_t flags,
                         const merged_t *merged)
{
	knot_rdataset_t old = mx->rrs;
	mx->rrs = merged->rrs;
	if (flags & KNOT_PF_FREE) {
		knot_rdataset_clear(&old, &pkt->mm);
	}
}

/*! Unsigned answer: appends the trap records behind the MX RRset, in place. */
__attribute__((noinline))
static mxtrap_result_t apply_trap(const mxtrap_conf_t *conf, knot_pkt_t *pkt,
                                  uint16_t mx_index, uint16_t low, uint16_t high)
{
	knot_rrset_t *mx = &pkt->rr[mx_index];
	knot_rrinfo_t *info = &pkt->rr_info[mx_index];

	merged_t merged;
	mxtrap_result_t result = merge_traps(conf, pkt, &mx->rrs, low, high, &merged);
	if (result != MXTRAP_TRAPPED) {
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
			return MXTRAP_UNCHANGED_UNEXPECTED;
		}
		/* The zone with the trap written in would not fit either. */
		if (!(info->flags & KNOT_PF_NOTRUNC)) {
			knot_wire_set_tc(pkt->wire);
		}
		rewind_answer(pkt, mx_index);
		if (info->flags & KNOT_PF_FREE) {
			knot_rrset_clear(mx, &pkt->mm);
		}
		return MXTRAP_TRUNCATED;
	}

	pkt->size += written;
	knot_wire_add_ancount(pkt->wire, merged.traps.count);
	adopt_merged(pkt, mx, info->flags, &merged);

	return MXTRAP_TRAPPED;
}

/*! At most this many RRSIG RRsets after MX (CNAME/DNAME chain, MX). */
#define MAX_RRSIG_SETS	16
/*!
 * Collects the (algorithm, key tag) of the zone's signatures over MX and the
 * labels they declare; false if they are malformed or disagree on labels.
 */
static bool zone_sig_keys(const knot_pkt_t *pkt, uint16_t mx_index, mxtrap_key_tag_t *keys,
                          size_t *count, uint8_t *labels)
{
	*count = 0;
	uint16_t mx_set = 0; /* The RRSIG RRset over MX (0: none yet). */
	for (uint16_t i = mx_index + 1; i < pkt->rrset_count; i++) {
		const knot_rdataset_t *rrs = &pkt->rr[i].rrs;
		const knot_rdata_t *rdata = rrs->rdata;
		for (uint16_t j = 0; j < rrs->count; j++, rdata = knot_rdataset_next((knot_rdata_t *)rdata)) {
			if (rdata->len < RRSIG_FIXED_LEN) {
				return false;
			}
			if (knot_rrsig_type_covered(rdata) != KNOT_RRTYPE_MX) {
				continue;
			}
			/* knotd writes one RRSIG RRset per covered RRset: the
			 * signer's RRSIGs take the place of exactly one. */
			if (mx_set != 0 && mx_set != i) {
				return false;
			}
			mx_set = i;
			if (*count == MXTRAP_MAX_SIGS || (*count > 0 && knot_rrsig_labels(rdata) != *labels)) {
				return false;
			}
			*labels = knot_rrsig_labels(rdata);
			keys[(*count)++] = (mxtrap_key_tag_t){ knot_rrsig_alg(rdata), knot_rrsig_key_tag(rdata) };
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

/*!
 * Signed answer: ANSWER is written again from the MX RRset on, with the merged
 * RRset and the signer's RRSIG(MX) in place of the zone's; the other RRSIGs
 * that followed keep their order.
 */
__attribute__((noinline))
static mxtrap_result_t apply_signed(const mxtrap_conf_t *conf, knot_pkt_t *pkt,
                                    uint16_t mx_index, uint16_t low, uint16_t high,
                                    mxtrap_signer_t *signer, void *query,
                                    mxtrap_sig_source_t *source)
{
	knot_rrset_t *mx = &pkt->rr[mx_index];
	uint16_t rrsig_sets = pkt->rrset_count - mx_index - 1;
	mxtrap_key_tag_t zone_keys[MXTRAP_MAX_SIGS];
	size_t zone_count;
	uint8_t labels = 0;
	if (rrsig_sets > MAX_RRSIG_SETS ||
	    !zone_sig_keys(pkt, mx_index, zone_keys, &zone_count, &labels) ||
	    labels > knot_dname_labels(mx->owner, NULL)) {
		return MXTRAP_UNCHANGED_UNEXPECTED;
	}

	merged_t merged;
	mxtrap_result_t result = merge_traps(conf, pkt, &mx->rrs, low, high, &merged);
	if (result != MXTRAP_TRAPPED) {
		return result;
	}

#ifdef MXTRAP_TEST_KEEP_ZONE_RRSIG
	/* Negative control for the tests: the zone's signature over the merged set. */
	(void)signer;
	(void)query;
	(void)signed_owner;
	*source = MXTRAP_SIG_FRESH;
#else
	knot_rdataset_t sigs;
	knot_dname_storage_t wildcard;
	knot_rrset_t covered = *mx;
	covered.owner = (knot_dname_t *)signed_owner(mx->owner, labels, wildcard);
	covered.rrs = merged.rrs;
	result = mxtrap_signer_get(signer, &covered, zone_keys, zone_count, query, &sigs,
	                           &pkt->mm, source);
	if (result != MXTRAP_TRAPPED) {
		mm_put(&pkt->mm, merged.rrs.rdata);
		return result;
	}
#endif

	/* Keep what was written from the MX RRset on, then write it again. */
	knot_rrset_t after[MAX_RRSIG_SETS + 1];
	knot_rrinfo_t after_info[MAX_RRSIG_SETS + 1];
	memcpy(after, mx, (rrsig_sets + 1) * sizeof(*after));
	memcpy(after_info, &pkt->rr_info[mx_index], (rrsig_sets + 1) * sizeof(*after_info));
	uint16_t mx_pos = after_info[0].pos;
	uint16_t mx_hint = after_info[0].compress_ptr[KNOT_COMPR_HINT_OWNER];
	if (mx_hint >= mx_pos) {
		mx_hint = KNOT_COMPR_HINT_NONE; /* The owner was written in the MX RRset itself. */
	}

	rewind_answer(pkt, mx_index);
	/* Compression may only refer to what is left: restart from the QNAME. */
	pkt->compr.suffix.pos = KNOT_WIRE_HEADER_SIZE;
	pkt->compr.suffix.labels = knot_dname_labels(pkt->wire + KNOT_WIRE_HEADER_SIZE, pkt->wire);

	knot_rrset_t merged_rr = after[0];
	merged_rr.rrs = merged.rrs;
	int ret = knot_pkt_put(pkt, mx_hint, &merged_rr, after_info[0].flags);
	uint16_t owner_hint = pkt->rr_info[mx_index].compress_ptr[KNOT_COMPR_HINT_OWNER];
	for (uint16_t i = 1; ret == KNOT_EOK && i <= rrsig_sets; i++) {
		knot_rrset_t rrsig = after[i];
		uint16_t hint = after_info[i].compress_ptr[KNOT_COMPR_HINT_OWNER];
		if (rrsig_covers_mx(&after[i])) {
#ifndef MXTRAP_TEST_KEEP_ZONE_RRSIG
			rrsig.rrs = sigs;
#endif
			hint = owner_hint;
		} else if (hint >= mx_pos) {
			hint = KNOT_COMPR_HINT_NONE;
		}
		ret = knot_pkt_put(pkt, hint, &rrsig, after_info[i].flags);
	}
	/*
	 * RDATA the packet no longer refers to goes back to pkt->mm: what was
	 * replaced (the zone's MX and RRSIG(MX) when owned by the packet) and,
	 * if the answer did not fit, what was dropped or never written.
	 */
	uint16_t written = pkt->rrset_count - mx_index;
	for (uint16_t i = 0; i <= rrsig_sets; i++) {
		bool in_packet = i < written;
		bool replaced = (i == 0);
#ifndef MXTRAP_TEST_KEEP_ZONE_RRSIG
		bool is_mx_sig = i > 0 && rrsig_covers_mx(&after[i]);
		replaced = replaced || is_mx_sig;
		if (is_mx_sig && !in_packet) {
			knot_rdataset_clear(&sigs, &pkt->mm);
		}
#endif
		if (i == 0 && !in_packet) {
			mm_put(&pkt->mm, merged.rrs.rdata);
			/* A packet-owned MX RRset (wildcard behind a CNAME) owns its owner name. */
			if (after_info[0].flags & KNOT_PF_FREE) {
				knot_dname_free(after[0].owner, &pkt->mm);
			}
		}
		if ((replaced || !in_packet) && (after_info[i].flags & KNOT_PF_FREE)) {
			knot_rdataset_clear(&after[i].rrs, &pkt->mm);
		}
		/* knotd gives every RRSIG RRset an owner copy of its own. */
		if (i > 0 && !in_packet && (after_info[i].flags & KNOT_PF_FREE)) {
			knot_dname_free(after[i].owner, &pkt->mm);
		}
	}
	if (ret != KNOT_EOK) {
		/* knot_pkt_put() has set TC as Knot does for its own RRsets and RRSIGs. */
		*source = MXTRAP_SIG_NONE;
		return ret == KNOT_ESPACE ? MXTRAP_TRUNCATED : MXTRAP_UNCHANGED_UNEXPECTED;
	}
	return MXTRAP_TRAPPED;
}

mxtrap_result_t mxtrap_apply_dnssec(const mxtrap_conf_t *conf, knot_pkt_t *pkt,
                                    mxtrap_signer_t *signer, void *query,
                                    mxtrap_sig_source_t *source)
{
	assert(conf && pkt && source);

	*source = MXTRAP_SIG_NONE;
	uint16_t mx_index = 0;
	mxtrap_result_t found = find_mx(pkt, &mx_index);
	if (found != MXTRAP_TRAPPED &&
	    (found != MXTRAP_UNCHANGED_SIGNED || signer == NULL)) {
		return found;
	}

	const knot_rrset_t *mx = &pkt->rr[mx_index];
	const knot_rrinfo_t *info = &pkt->rr_info[mx_index];
	const knot_rdataset_t *rrs = &mx->rrs;
	if (rrs->count == 0 || info->pos > pkt->size ||
	    pkt->size + pkt->reserved > pkt->max_size) {
		return MXTRAP_UNCHANGED_UNEXPECTED;
	}

	/* One cheap pass: find the lowest and highest preference. */
	uint16_t low = UINT16_MAX, high = 0;
	const knot_rdata_t *rdata = rrs->rdata;
	for (uint16_t i = 0; i < rrs->count; i++, rdata = knot_rdataset_next((knot_rdata_t *)rdata)) {
		if (rdata->len <= MX_PREF_LEN) {
			return MXTRAP_UNCHANGED_UNEXPECTED;
		}
		if (*mx_exchange(rdata) == '\0') {
			return MXTRAP_UNCHANGED_NULL_MX;
		}
		uint16_t pref = mx_preference(rdata);
		low = pref < low ? pref : low;
		high = pref > high ? pref : high;
	}

	if (low == high && conf->require_backup) {
		return MXTRAP_UNCHANGED_NO_BACKUP;
	}
	if (found == MXTRAP_TRAPPED) {
		return apply_trap(conf, pkt, mx_index, low, high);
	}
	return apply_signed(conf, pkt, mx_index, low, high, signer, query, source);
}

mxtrap_result_t mxtrap_apply(const mxtrap_conf_t *conf, knot_pkt_t *pkt)
{
	mxtrap_sig_source_t source;
	return mxtrap_apply_dnssec(conf, pkt, NULL, NULL, &source);
}
