/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * mod-mxtrapempty, the benchmarks' baseline: it registers the same hook as
 * mod-mxtrap and does nothing, so a zone using it costs what knotd itself
 * spends on a module in the zone's query plan.
 */

#include <knot/module.h>

static knotd_in_state_t empty_answer(knotd_in_state_t state, knot_pkt_t *pkt,
                                     knotd_qdata_t *qdata, knotd_mod_t *mod)
{
	(void)pkt, (void)qdata, (void)mod;
	return state;
}

static int empty_load(knotd_mod_t *mod)
{
	return knotd_mod_in_hook(mod, KNOTD_STAGE_ANSWER, empty_answer);
}

KNOTD_MOD_API(mxtrapempty, KNOTD_MOD_FLAG_SCOPE_ZONE | KNOTD_MOD_FLAG_OPT_CONF,
              empty_load, NULL, NULL, NULL);
