/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mxtrap.h"

/*! MX RDATA: a 16-bit preference, then the exchanger's name. */
#define MX_PREF_LEN	2

static const char *const REASON_NAMES[MXTRAP_UNCHANGED_COUNT] = {
	[MXTRAP_UNCHANGED_NULL_MX - MXTRAP_UNCHANGED_FIRST]       = "null-mx",
	[MXTRAP_UNCHANGED_NO_BACKUP - MXTRAP_UNCHANGED_FIRST]     = "no-backup",
	[MXTRAP_UNCHANGED_TRAP_PRESENT - MXTRAP_UNCHANGED_FIRST]  = "trap-present",
	[MXTRAP_UNCHANGED_MAX_PREF - MXTRAP_UNCHANGED_FIRST]      = "max-preference",
	[MXTRAP_UNCHANGED_SIGNED - MXTRAP_UNCHANGED_FIRST]        = "signed",
	[MXTRAP_UNCHANGED_UNEXPECTED - MXTRAP_UNCHANGED_FIRST]    = "unexpected",
};

const char *mxtrap_reason_name(mxtrap_result_t result)
{
	if (result < MXTRAP_UNCHANGED_FIRST || result > MXTRAP_UNCHANGED_UNEXPECTED) {
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

/* Same semantics as libknot's internal mm_alloc()/mm_free(). */
static void *pkt_alloc(knot_pkt_t *pkt, size_t size)
{
	return pkt->mm.alloc != NULL ? pkt->mm.alloc(pkt->mm.ctx, size) : malloc(size);
}

static void pkt_free(knot_pkt_t *pkt, void *ptr)
{
	if (pkt->mm.free != NULL) {
		pkt->mm.free(ptr);
	} else if (pkt->mm.alloc == NULL) {
		free(ptr);
	}
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
				if (knot_dname_is_case_equal(mx_exchange(top), conf->exchanges[j])) {
					return true;
				}
			}
			continue;
		}
		const knot_rdata_t *primary = rrs->rdata;
		for (uint16_t j = 0; j < rrs->count; j++,
		     primary = knot_rdataset_next((knot_rdata_t *)primary)) {
			if (mx_preference(primary) == low &&
			    knot_dname_is_case_equal(mx_exchange(top), mx_exchange(primary))) {
				return true;
			}
		}
	}
	return false;
}

/*! Locates the MX RRset that ends the ANSWER section, or says why there is none. */
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
		/* Appending in place needs the MX RRset to be the last one written. */
		if (i + 1 == end && end == pkt->rrset_count) {
			*mx_index = i;
			return MXTRAP_TRAPPED;
		}
		for (uint16_t j = i + 1; j < end; j++) {
			if (pkt->rr[j].type == KNOT_RRTYPE_RRSIG && rrsig_covers_mx(&pkt->rr[j])) {
				return MXTRAP_UNCHANGED_SIGNED;
			}
		}
		return MXTRAP_UNCHANGED_UNEXPECTED;
	}
	return MXTRAP_NOT_MX;
}

/*! Removes the last RRset, as if knot_pkt_put() had failed to write it. */
static void drop_last_rrset(knot_pkt_t *pkt, uint16_t index)
{
	knot_rrset_t *rr = &pkt->rr[index];
	const knot_rrinfo_t *info = &pkt->rr_info[index];

	pkt->size = info->pos;
	pkt->rrset_count -= 1;
	pkt->sections[KNOT_ANSWER].count -= 1;
	knot_wire_add_ancount(pkt->wire, -(int16_t)rr->rrs.count);
	if (!(info->flags & KNOT_PF_NOTRUNC)) {
		knot_wire_set_tc(pkt->wire);
	}
	if (info->flags & KNOT_PF_FREE) {
		knot_rrset_clear(rr, &pkt->mm);
	}
}

/*! Second half of mxtrap_apply(): everything past the cheap checks (big frame). */
__attribute__((noinline))
static mxtrap_result_t apply_trap(const mxtrap_conf_t *conf, knot_pkt_t *pkt,
                                  uint16_t mx_index, uint16_t low, uint16_t high)
{
	knot_rrset_t *mx = &pkt->rr[mx_index];
	knot_rrinfo_t *info = &pkt->rr_info[mx_index];
	const knot_rdataset_t rrs = mx->rrs;
	const knot_rdata_t *rdata;

	/* The names are read from here on: validate them. */
	rdata = rrs.rdata;
	for (uint16_t i = 0; i < rrs.count; i++, rdata = knot_rdataset_next((knot_rdata_t *)rdata)) {
		if (knot_dname_wire_check(mx_exchange(rdata), rdata->data + rdata->len,
		                          NULL) != rdata->len - MX_PREF_LEN) {
			return MXTRAP_UNCHANGED_UNEXPECTED;
		}
	}
	if (high > low && trap_present(conf, &rrs, low, high)) {
		return MXTRAP_UNCHANGED_TRAP_PRESENT;
	}
	if (high == UINT16_MAX) {
		return MXTRAP_UNCHANGED_MAX_PREF;
	}
	uint16_t trap_pref = conf->preference > high ? conf->preference : high + 1;

	/* Size the trap records, then build the merged RDATA in one block. */
	size_t trap_count = 0, trap_size = 0;
	if (conf->exchange_count > 0) {
		trap_count = conf->exchange_count;
		for (uint16_t i = 0; i < conf->exchange_count; i++) {
			trap_size += knot_rdata_size(MX_PREF_LEN + conf->exchange_sizes[i]);
		}
	} else {
		rdata = rrs.rdata;
		for (uint16_t i = 0; i < rrs.count; i++, rdata = knot_rdataset_next((knot_rdata_t *)rdata)) {
			if (mx_preference(rdata) == low) {
				trap_count++;
				trap_size += knot_rdata_size(rdata->len);
			}
		}
	}
	if (rrs.count + trap_count > UINT16_MAX) {
		return MXTRAP_UNCHANGED_UNEXPECTED;
	}

	uint8_t *merged = pkt_alloc(pkt, rrs.size + trap_size);
	if (merged == NULL) {
		return MXTRAP_UNCHANGED_UNEXPECTED;
	}
	memcpy(merged, rrs.rdata, rrs.size);

	/* The trap preference tops every record, so the traps sort last (as in the zone). */
	knot_rdata_t *traps = (knot_rdata_t *)(merged + rrs.size);
	knot_rdata_t *out = traps;
	if (conf->exchange_count > 0) {
		for (uint16_t i = 0; i < conf->exchange_count; i++) {
			out->len = MX_PREF_LEN + conf->exchange_sizes[i];
			knot_wire_write_u16(out->data, trap_pref);
			memcpy(out->data + MX_PREF_LEN, conf->exchanges[i], conf->exchange_sizes[i]);
			if (out->len & 1) {
				out->data[out->len] = 0; /* RDATA padding, as knot_rdata_init(). */
			}
			out = knot_rdataset_next(out);
		}
	} else {
		rdata = rrs.rdata;
		for (uint16_t i = 0; i < rrs.count; i++, rdata = knot_rdataset_next((knot_rdata_t *)rdata)) {
			if (mx_preference(rdata) == low) {
				knot_rdata_init(out, rdata->len, rdata->data);
				knot_wire_write_u16(out->data, trap_pref);
				out = knot_rdataset_next(out);
			}
		}
	}

	/*
	 * Write only the new records, continuing the packet's compression state
	 * exactly where Knot left it after the MX RRset: the owner becomes the
	 * same pointer as in the RRset's other records and exchanger names are
	 * compressed as if the RRset were written in one go.
	 */
	knot_rrset_t trap_rrset = *mx;
	trap_rrset.rrs.count = trap_count;
	trap_rrset.rrs.size = trap_size;
	trap_rrset.rrs.rdata = traps;
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
		pkt_free(pkt, merged);
		if (written != KNOT_ESPACE) {
			return MXTRAP_UNCHANGED_UNEXPECTED;
		}
		/* The zone with the trap written in would not fit either. */
		drop_last_rrset(pkt, mx_index);
		return MXTRAP_TRUNCATED;
	}

	pkt->size += written;
	knot_wire_add_ancount(pkt->wire, trap_count);

	mx->rrs.count = rrs.count + trap_count;
	mx->rrs.size = rrs.size + trap_size;
	mx->rrs.rdata = (knot_rdata_t *)merged;
	if (info->flags & KNOT_PF_FREE) {
		knot_rdataset_t owned = rrs;
		knot_rdataset_clear(&owned, &pkt->mm);
	}

	return MXTRAP_TRAPPED;
}

mxtrap_result_t mxtrap_apply(const mxtrap_conf_t *conf, knot_pkt_t *pkt)
{
	assert(conf && pkt);

	uint16_t mx_index = 0;
	mxtrap_result_t found = find_mx(pkt, &mx_index);
	if (found != MXTRAP_TRAPPED) {
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
	return apply_trap(conf, pkt, mx_index, low, high);
}
