/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*!
 * \file
 *
 * \brief mod-mxtrap: knotd glue (configuration, hook, counters).
 *
 * The decisions and the packet work are in the core (include/mxtrap.h).
 */

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <knot/module.h>

#include "mxtrap.h"

#define MOD_PREFERENCE		"\x0a""preference"
#define MOD_EXCHANGE		"\x08""exchange"
#define MOD_REQUIRE_BACKUP	"\x0e""require-backup"

/*! Counter ids, in the order they are registered. */
enum {
	CTR_TRAPPED = 0,
	CTR_TRUNCATED,
	CTR_UNCHANGED,
};

static int check_exchange(knotd_conf_check_args_t *args)
{
	if (args->data_len > 0 && args->data[0] == '\0') {
		args->err_str = "root name not allowed, it would make a null MX";
		return KNOT_EINVAL;
	}
	return KNOT_EOK;
}

const yp_item_t mxtrap_conf[] = {
	{ MOD_PREFERENCE,     YP_TINT,   YP_VINT = { 0, UINT16_MAX, MXTRAP_DEFAULT_PREFERENCE } },
	{ MOD_EXCHANGE,       YP_TDNAME, YP_VNONE, YP_FMULTI, { check_exchange } },
	{ MOD_REQUIRE_BACKUP, YP_TBOOL,  YP_VBOOL = { true } },
	{ NULL }
};

static char *unchanged_to_str(uint32_t idx, uint32_t count)
{
	(void)count;
	return strdup(mxtrap_reason_name(MXTRAP_UNCHANGED_FIRST + idx));
}

/*! The MX part of the hook: kept out of line so the common path stays frameless. */
__attribute__((noinline))
static knotd_in_state_t mxtrap_answer_mx(knotd_in_state_t state, knot_pkt_t *pkt,
                                         knotd_qdata_t *qdata, knotd_mod_t *mod)
{
	assert(pkt && qdata && mod);

	mxtrap_result_t result = mxtrap_apply(knotd_mod_ctx(mod), pkt);
	unsigned thread = qdata->params->thread_id;
	switch (result) {
	case MXTRAP_NOT_MX:
		return state;
	case MXTRAP_TRAPPED:
		knotd_mod_stats_incr(mod, thread, CTR_TRAPPED, 0, 1);
		return state;
	case MXTRAP_TRUNCATED:
		knotd_mod_stats_incr(mod, thread, CTR_TRUNCATED, 0, 1);
		return KNOTD_IN_STATE_TRUNC;
	default:
		knotd_mod_stats_incr(mod, thread, CTR_UNCHANGED,
		                     result - MXTRAP_UNCHANGED_FIRST, 1);
		return state;
	}
}

static knotd_in_state_t mxtrap_answer(knotd_in_state_t state, knot_pkt_t *pkt,
                                      knotd_qdata_t *qdata, knotd_mod_t *mod)
{
	/* Every query of the zone passes here: a HIT answer's query has a question. */
	if (state != KNOTD_IN_STATE_HIT) {
		return state;
	}
	const knot_pkt_t *query = qdata->query;
	if (knot_wire_read_u16(query->wire + KNOT_WIRE_HEADER_SIZE + query->qname_size) !=
	    KNOT_RRTYPE_MX) {
		return state;
	}
	return mxtrap_answer_mx(state, pkt, qdata, mod);
}

int mxtrap_load(knotd_mod_t *mod)
{
	mxtrap_conf_t *conf = calloc(1, sizeof(*conf));
	if (conf == NULL) {
		return KNOT_ENOMEM;
	}

	knotd_conf_t preference = knotd_conf_mod(mod, MOD_PREFERENCE);
	knotd_conf_t require_backup = knotd_conf_mod(mod, MOD_REQUIRE_BACKUP);
	knotd_conf_t exchange = knotd_conf_mod(mod, MOD_EXCHANGE);

	const knot_dname_t **names = NULL;
	if (exchange.count > 0) {
		names = calloc(exchange.count, sizeof(*names));
		if (names == NULL) {
			knotd_conf_free(&exchange);
			free(conf);
			return KNOT_ENOMEM;
		}
		for (size_t i = 0; i < exchange.count; i++) {
			names[i] = exchange.multi[i].dname;
		}
	}

	int ret = mxtrap_conf_init(conf, preference.single.integer,
	                           require_backup.single.boolean, names, exchange.count);
	free(names);
	knotd_conf_free(&exchange);
	if (ret != KNOT_EOK) {
		free(conf);
		return ret;
	}

	ret = knotd_mod_stats_add(mod, "trapped", 1, NULL);
	if (ret == KNOT_EOK) {
		ret = knotd_mod_stats_add(mod, "truncated", 1, NULL);
	}
	if (ret == KNOT_EOK) {
		ret = knotd_mod_stats_add(mod, "unchanged", MXTRAP_UNCHANGED_COUNT,
		                          unchanged_to_str);
	}
	if (ret == KNOT_EOK) {
		ret = knotd_mod_in_hook(mod, KNOTD_STAGE_ANSWER, mxtrap_answer);
	}
	if (ret != KNOT_EOK) {
		mxtrap_conf_deinit(conf);
		free(conf);
		return ret;
	}

	knotd_mod_ctx_set(mod, conf);

	return KNOT_EOK;
}

void mxtrap_unload(knotd_mod_t *mod)
{
	mxtrap_conf_t *conf = knotd_mod_ctx(mod);
	mxtrap_conf_deinit(conf);
	free(conf);
}

KNOTD_MOD_API(mxtrap, KNOTD_MOD_FLAG_SCOPE_ZONE | KNOTD_MOD_FLAG_OPT_CONF,
              mxtrap_load, mxtrap_unload, mxtrap_conf, NULL);
