/* SPDX-License-Identifier: GPL-3.0-or-later */

/*!
 * \file
 *
 * \brief mod-mxtrapempty: benchmark baseline, a module that does nothing.
 *
 * It registers the same in-hook as mod-mxtrap (KNOTD_STAGE_ANSWER) and
 * returns the state untouched, so a zone using it pays exactly what knotd
 * itself spends on having a module in the zone's query plan. The benchmarks
 * compare mod-mxtrap against it.
 */

#include <knot/module.h>

static knotd_in_state_t empty_answer(knotd_in_state_t state, knot_pkt_t *pkt,
                                     knotd_qdata_t *qdata, knotd_mod_t *mod)
{
	(void)pkt;
	(void)qdata;
	(void)mod;
	return state;
}

static int empty_load(knotd_mod_t *mod)
{
	return knotd_mod_in_hook(mod, KNOTD_STAGE_ANSWER, empty_answer);
}

static void empty_unload(knotd_mod_t *mod)
{
	(void)mod;
}

/*! No configuration items: the section only needs an id. */
static const yp_item_t empty_conf[] = {
	{ NULL }
};

KNOTD_MOD_API(mxtrapempty, KNOTD_MOD_FLAG_SCOPE_ZONE | KNOTD_MOD_FLAG_OPT_CONF,
              empty_load, empty_unload, empty_conf, NULL);
