/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*
 * RRsets for the unit tests, all of them from the pool (pool.h): freed by
 * pool_release().
 */

#pragma once

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "pool.h"

/*! An empty RRset, all of it from the pool. */
static inline knot_rrset_t *rrset_new(const char *owner, uint16_t type, uint32_t ttl)
{
	knot_dname_t *name = knot_dname_from_str_alloc(owner);
	ck_assert_ptr_nonnull(name);
	knot_rrset_t *rr = knot_rrset_new(name, type, KNOT_CLASS_IN, ttl, &pool);
	free(name);
	ck_assert_ptr_nonnull(rr);
	return rr;
}

/*! Builds an MX RRset from "PREF NAME PREF NAME ..." (names absolute). */
static inline knot_rrset_t *mx_rrset(const char *owner, const char *records)
{
	knot_rrset_t *rr = rrset_new(owner, KNOT_RRTYPE_MX, 3600);

	char *copy = strdup(records), *save = NULL;
	for (char *pref = strtok_r(copy, " ", &save); pref != NULL;
	     pref = strtok_r(NULL, " ", &save)) {
		char *name = strtok_r(NULL, " ", &save);
		ck_assert_ptr_nonnull(name);
		uint8_t rdata[2 + KNOT_DNAME_MAXLEN];
		knot_wire_write_u16(rdata, atoi(pref));
		ck_assert_ptr_nonnull(knot_dname_from_str(rdata + 2, name, KNOT_DNAME_MAXLEN));
		uint16_t len = 2 + knot_dname_size(rdata + 2);
		ck_assert_int_eq(knot_rrset_add_rdata(rr, rdata, len, &pool), KNOT_EOK);
	}
	free(copy);
	return rr;
}
