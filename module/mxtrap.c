/* SPDX-License-Identifier: GPL-3.0-or-later */

/*!
 * \file
 *
 * \brief mod-mxtrap: knotd glue (configuration, hook, counters).
 *
 * The decisions and the packet work are in module/trap.c, signing in
 * module/signer.c and module/keystore.c (include/mxtrap/).
 */

/* dladdr() and RTLD_NODELETE (see mxtrap_pin). */
#define _GNU_SOURCE
#include <assert.h>
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <knot/module.h>

#include "mxtrap/compat.h"
#include "mxtrap/keystore.h"
#include "mxtrap/signer.h"
#include "mxtrap/trap.h"

#define MOD_PREFERENCE		"\x0a""preference"
#define MOD_EXCHANGE		"\x08""exchange"
#define MOD_REQUIRE_BACKUP	"\x0e""require-backup"
#define MOD_DNSSEC		"\x06""dnssec"
#define MOD_POLICY		"\x06""policy"

/* knotd's own configuration names (not in the module API headers). */
#define C_POLICY		"\x06""policy"
#define C_DNSSEC_SIGNING	"\x0e""dnssec-signing"
#define C_DNSSEC_POLICY		"\x0d""dnssec-policy"
#define C_RRSIG_LIFETIME	"\x0e""rrsig-lifetime"
#define C_RRSIG_REFRESH		"\x0d""rrsig-refresh"
#define C_PROPAG_DELAY		"\x11""propagation-delay"
#define C_KEYSTORE		"\x08""keystore"
#define C_BACKEND		"\x07""backend"
#define C_CONFIG		"\x06""config"
#define C_DB			"\x08""database"
#define C_STORAGE		"\x07""storage"
#define C_KASP_DB		"\x07""kasp-db"

/*! knotd's keystore backends (src/knot/conf/schema.h, the same in Knot 3.2 to 3.6). */
#define KEYSTORE_BACKEND_PEM	1
#define KEYSTORE_BACKEND_PKCS11	2
/*! knotd's default key store: PEM files in "keys" under the KASP database. */
#define DEFAULT_KEYSTORE_CONFIG	"keys"

/*! Knot's built-in policy values used when the zone names no policy. */
#define DEFAULT_RRSIG_LIFETIME	(14 * 24 * 3600)
#define DEFAULT_PROPAG_DELAY	3600

/*! Cached signed MX RRsets per zone (one per slot). */
#define SIG_CACHE_SLOTS		256

/*! Counter ids, in the order they are registered. */
enum {
	CTR_TRAPPED = 0,
	CTR_TRUNCATED,
	CTR_UNCHANGED,
	CTR_SIGNATURES,
};

/*! Module context: built once at load. */
typedef struct {
	mxtrap_conf_t conf;
	bool dnssec;                 /*!< Signed answers are to be trapped. */
	bool dnssec_set;             /*!< By the module's own dnssec item. */
	atomic_bool told_unsigned;   /*!< Logged that signed answers are left alone. */
	mxtrap_keystore_t *keystore; /*!< The zone's keys (with dnssec). */
	mxtrap_signer_t *signer;     /*!< Signature cache over the key store (with dnssec). */
	bool told[MXTRAP_REASON_COUNT]; /*!< Logged once per reason (under the signing lock). */
} mxtrap_ctx_t;

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
	{ MOD_DNSSEC,         YP_TBOOL,  YP_VNONE },
	{ MOD_POLICY,         YP_TREF,   YP_VREF = { C_POLICY }, YP_FNONE, { knotd_conf_check_ref } },
	{ NULL }
};

/*! Settings that contradict each other are refused by knotc conf-check. */
static int mxtrap_conf_check(knotd_conf_check_args_t *args)
{
	knotd_conf_t dnssec = knotd_conf_check_item(args, MOD_DNSSEC);
	knotd_conf_t policy = knotd_conf_check_item(args, MOD_POLICY);
	if (policy.count > 0 && dnssec.count > 0 && !dnssec.single.boolean) {
		args->err_str = "'policy' has no effect with 'dnssec' off";
		return KNOT_EINVAL;
	}
	return KNOT_EOK;
}

/*!
 * Tells the operator once per zone (and load) that signed answers go out
 * without the trap only because the module was not told how to sign them:
 * its dnssec not set, and this server does not sign the zone (a secondary).
 */
static void tell_not_signing(knotd_mod_t *mod, mxtrap_ctx_t *ctx)
{
	/* A load first: no write to the shared flag on every such answer. */
	if (ctx->dnssec_set || atomic_load_explicit(&ctx->told_unsigned, memory_order_relaxed) ||
	    atomic_exchange_explicit(&ctx->told_unsigned, true, memory_order_relaxed)) {
		return;
	}
	knotd_mod_log(mod, LOG_NOTICE, "signed MX answers go out without the trap: this server does not "
	              "sign the zone; to trap them, set dnssec: on and a policy whose key store holds "
	              "the zone's ZSK (or, with mod-onlinesign, list mod-mxtrap first)");
}

static char *unchanged_to_str(uint32_t idx, uint32_t count)
{
	(void)count;
	return strdup(mxtrap_reason_name(idx));
}

static char *signatures_to_str(uint32_t idx, uint32_t count)
{
	(void)count;
	return strdup(idx == 0 ? "cache" : "fresh");
}

/*! An MX answer: the trap applied, the outcome counted (out of line: see answer()). */
__attribute__((noinline))
static knotd_in_state_t answer_mx(knotd_in_state_t state, knot_pkt_t *pkt,
                                  knotd_qdata_t *qdata, knotd_mod_t *mod)
{
	mxtrap_ctx_t *ctx = knotd_mod_ctx(mod);
	mxtrap_result_t result = mxtrap_apply(&ctx->conf, pkt, ctx->signer, qdata);
	unsigned thread = qdata->params->thread_id;
	switch (result.outcome) {
	case MXTRAP_TRAPPED:
		knotd_mod_stats_incr(mod, thread, CTR_TRAPPED, 0, 1);
		if (result.source != MXTRAP_SIG_NONE) {
			knotd_mod_stats_incr(mod, thread, CTR_SIGNATURES,
			                     result.source == MXTRAP_SIG_CACHE ? 0 : 1, 1);
		}
		return state;
	case MXTRAP_TRUNCATED:
		knotd_mod_stats_incr(mod, thread, CTR_TRUNCATED, 0, 1);
		return KNOTD_IN_STATE_TRUNC;
	case MXTRAP_UNCHANGED:
		knotd_mod_stats_incr(mod, thread, CTR_UNCHANGED, result.reason, 1);
		if (result.reason == MXTRAP_SIGNED) {
			tell_not_signing(mod, ctx);
		}
		return state;
	case MXTRAP_NO_MEMORY:
		return KNOTD_IN_STATE_ERROR;
	default:
		return state;
	}
}

/*! A positive answer to an MX query (the response carries the query's question). */
static inline bool is_mx_answer(knotd_in_state_t state, const knot_pkt_t *pkt)
{
	return knot_pkt_qtype(pkt) == KNOT_RRTYPE_MX && state == KNOTD_IN_STATE_HIT;
}

/*
 * The ANSWER hook, inlined in its two variants below. An MX RRset of one
 * record left alone is counted here, without the module's context:
 * require_backup, the one setting that decides it, is a constant of the
 * variant registered at load; the rest goes out of line (answer_mx()). The
 * hooks are nonnull (knotd always passes its packets), so knot_pkt_qtype()
 * needs no NULL test. tests/bench/callgrind.sh: an MX answer left alone costs
 * 51 instructions more than with the empty module ("mx-unaffected"), other
 * answers 7 ("a").
 */
__attribute__((always_inline))
static inline knotd_in_state_t answer(knotd_in_state_t state, knot_pkt_t *pkt,
                                      knotd_qdata_t *qdata, knotd_mod_t *mod, bool require_backup)
{
	if (!is_mx_answer(state, pkt)) {
		return state;
	}
	mxtrap_reason_t why;
	if (mxtrap_lone_left_alone(pkt, require_backup, &why)) {
		/* HIT as a constant: no register kept across the call. */
		knotd_mod_stats_incr(mod, qdata->params->thread_id, CTR_UNCHANGED, why, 1);
		return KNOTD_IN_STATE_HIT;
	}
	return answer_mx(state, pkt, qdata, mod);
}

__attribute__((nonnull))
static knotd_in_state_t mxtrap_answer(knotd_in_state_t state, knot_pkt_t *pkt,
                                      knotd_qdata_t *qdata, knotd_mod_t *mod)
{
	return answer(state, pkt, qdata, mod, true);
}

__attribute__((nonnull))
static knotd_in_state_t mxtrap_answer_any_backup(knotd_in_state_t state, knot_pkt_t *pkt,
                                                 knotd_qdata_t *qdata, knotd_mod_t *mod)
{
	return answer(state, pkt, qdata, mod, false);
}

#if MXTRAP_HAVE_ZONE_RRSET
/*!
 * The zone's RRSIGs over \a type at a node, put as Knot puts those of its
 * glue (nsec_append_rrsigs()): optional, each with its original TTL, owned by
 * the packet. Owned: clearing the packet frees owner and RDATA with the
 * packet's allocator, so both are copies in pkt->mm, never the zone's.
 */
static int put_rrsigs(knot_pkt_t *pkt, const knot_rrset_t *rrsigs, uint16_t type, uint16_t hint)
{
	knot_rrset_t sig;
	knot_rrset_init(&sig, NULL, KNOT_RRTYPE_RRSIG, rrsigs->rclass, rrsigs->ttl);
	const knot_rdata_t *rdata = rrsigs->rrs.rdata;
	for (uint16_t i = 0; i < rrsigs->rrs.count; i++, rdata = knot_rdataset_next((knot_rdata_t *)rdata)) {
		if (knot_rrsig_type_covered(rdata) == type &&
		    knot_rdataset_add(&sig.rrs, rdata, &pkt->mm) != KNOT_EOK) {
			knot_rdataset_clear(&sig.rrs, &pkt->mm);
			return KNOT_ENOMEM;
		}
	}
	/* Copied after this: an unsigned zone's RRSIG RRset is empty, its owner
	 * NULL, and a NULL copy would be taken for no memory (SERVFAIL). */
	if (sig.rrs.count == 0) {
		return KNOT_EOK;
	}
	sig.owner = knot_dname_copy(rrsigs->owner, &pkt->mm);
	if (sig.owner == NULL) {
		knot_rdataset_clear(&sig.rrs, &pkt->mm);
		return KNOT_ENOMEM;
	}
	int ret = knot_pkt_put(pkt, hint, &sig, KNOT_PF_NOTRUNC | KNOT_PF_FREE | KNOT_PF_ORIGTTL);
	if (ret != KNOT_EOK) {  /* Not in the packet: still ours. */
		knot_rrset_clear(&sig, &pkt->mm);
	}
	return ret;
}

/*!
 * The A and AAAA of configured trap exchangers in ADDITIONAL, as Knot puts
 * those of a zone's exchangers: optional, so a full packet ends ADDITIONAL
 * without TC (Knot's KNOTD_IN_STATE_TRUNC after its own glue).
 */
static knotd_in_state_t mxtrap_additional(knotd_in_state_t state, knot_pkt_t *pkt,
                                          knotd_qdata_t *qdata, knotd_mod_t *mod)
{
	if (!is_mx_answer(state, pkt)) {
		return state;
	}
	mxtrap_ctx_t *ctx = knotd_mod_ctx(mod);
	bool dnssec = knot_pkt_has_dnssec(qdata->query);
	for (uint16_t i = 0; i < ctx->conf.exchange_count; i++) {
		uint16_t hint;
		knot_rrset_t rrsigs;
		const knot_dname_t *name = ctx->conf.exchanges[i];
		if (!mxtrap_names_exchange(&ctx->conf, pkt, i, &hint) ||
		    knotd_qdata_zone_rrset(qdata, NULL, name, KNOT_RRTYPE_RRSIG, &rrsigs) != KNOT_EOK) {
			continue; /* Not in this answer, or no node of this zone. */
		}
		static const uint16_t types[] = { KNOT_RRTYPE_A, KNOT_RRTYPE_AAAA };
		for (size_t t = 0; t < sizeof(types) / sizeof(*types); t++) {
			knot_rrset_t rr;
			knotd_qdata_zone_rrset(qdata, NULL, name, types[t], &rr);
			if (knot_rrset_empty(&rr)) {
				continue;
			}
			uint16_t before = pkt->rrset_count;
			int ret = knot_pkt_put(pkt, hint, &rr, KNOT_PF_NOTRUNC | KNOT_PF_CHECKDUP);
			if (ret == KNOT_EOK && dnssec && pkt->rrset_count > before) {
				ret = put_rrsigs(pkt, &rrsigs, types[t], hint);
			}
			if (ret != KNOT_EOK) {
				return ret == KNOT_ESPACE ? KNOTD_IN_STATE_TRUNC : KNOTD_IN_STATE_ERROR;
			}
		}
	}
	return state;
}
#endif

/*! Tells the operator once per zone (and load) why signed answers lack the trap. */
static void tell_once(knotd_mod_t *mod, mxtrap_ctx_t *ctx, mxtrap_reason_t reason)
{
	if ((unsigned)reason >= MXTRAP_REASON_COUNT || ctx->told[reason]) {
		return;
	}
	ctx->told[reason] = true;

	uint16_t tag;
	const char *id = mxtrap_keystore_failed_key(ctx->keystore, &tag);
	const char *stores = mxtrap_keystore_failed_stores(ctx->keystore);
	const char *why;
	switch (reason) {
	case MXTRAP_KEY_MISSING:
		why = *id == '\0' ? "is not in the zone's DNSKEY set" :
		                    "was not found";
		break;
	case MXTRAP_KEY_UNREADABLE:
		why = "has a key file that cannot be read or holds another key";
		break;
	case MXTRAP_KEYSTORE_UNSUPPORTED:
		why = "is in no key store that can be opened (a PKCS#11 token or module "
		      "not found, or libdnssec without PKCS#11)";
		break;
	case MXTRAP_KEYSTORE_LOGIN:
		why = "is in a PKCS#11 token that refused the login (wrong or locked PIN)";
		break;
	case MXTRAP_ALG_UNSUPPORTED:
		why = "has an algorithm libdnssec cannot sign with";
		break;
	default:
		why = "could not sign";
		break;
	}
	knotd_mod_log(mod, LOG_NOTICE, "signed MX answers go out without the trap: key %u%s%s%s %s%s%s; "
	              "tried again every %u s", tag, *id ? " (ID " : "", id, *id ? ")" : "", why,
	              *stores ? "; key stores searched: " : "", stores,
	              reason == MXTRAP_KEYSTORE_LOGIN ? MXTRAP_LOGIN_RETRY : MXTRAP_KEY_RETRY);
}

/*! Signs with the zone's keys of this moment: those named by its RRSIG(MX), found in its DNSKEY set. */
static bool sign_rrset(void *mod, void *qdata, const mxtrap_key_tag_t *keys, size_t count,
                       const knot_rrset_t *covered, uint32_t now, knot_rrset_t *rrsigs,
                       knot_mm_t *mm, mxtrap_reason_t *why)
{
	mxtrap_ctx_t *ctx = knotd_mod_ctx(mod);
	knot_rrset_t dnskey = knotd_qdata_zone_apex_rrset(qdata, KNOT_RRTYPE_DNSKEY);
	if (!mxtrap_keystore_sign(ctx->keystore, &dnskey.rrs, keys, count, covered, now,
	                          rrsigs, mm, why)) {
		tell_once(mod, ctx, *why);
		return false;
	}
	return true;
}

/*! The DNSSEC policy of the module or else of the zone; count 0: Knot's default policy. */
static knotd_conf_t dnssec_policy(knotd_mod_t *mod)
{
	knotd_conf_t policy = knotd_conf_mod(mod, MOD_POLICY);
	if (policy.count == 0) {
		policy = knotd_conf_zone(mod, C_DNSSEC_POLICY, knotd_mod_zone(mod));
	}
	return policy;
}

/*! How long before expiry a signature is made again: the policy's rrsig-refresh. */
static uint32_t refresh_margin(knotd_mod_t *mod, knotd_conf_t *policy)
{
	if (policy->count == 0) {
		return DEFAULT_RRSIG_LIFETIME / 10 + DEFAULT_PROPAG_DELAY;
	}
	knotd_conf_t refresh = knotd_conf(mod, C_POLICY, C_RRSIG_REFRESH, policy);
	if (refresh.single.integer != YP_NIL) {
		return refresh.single.integer;
	}
	/* Knot's default refresh, less the zone's maximum TTL (the RRset's TTL is added per answer). */
	knotd_conf_t lifetime = knotd_conf(mod, C_POLICY, C_RRSIG_LIFETIME, policy);
	knotd_conf_t delay = knotd_conf(mod, C_POLICY, C_PROPAG_DELAY, policy);
	return lifetime.single.integer / 10 + delay.single.integer;
}

static uint32_t rrsig_lifetime(knotd_mod_t *mod, knotd_conf_t *policy)
{
	if (policy->count == 0) {
		return DEFAULT_RRSIG_LIFETIME;
	}
	return knotd_conf(mod, C_POLICY, C_RRSIG_LIFETIME, policy).single.integer;
}

/*! \a path made absolute as knotd does: relative to \a base, or to the working directory. */
static char *abs_path(const char *path, const char *base)
{
	char *out = NULL;
	if (path[0] == '/') {
		return strdup(path);
	}
	char *cwd = base == NULL ? realpath("./", NULL) : NULL;
	if (base != NULL || cwd != NULL) {
		if (asprintf(&out, "%s/%s", base != NULL ? base : cwd, path) < 0) {
			out = NULL;
		}
	}
	free(cwd);
	return out;
}

/*!
 * Creates the zone's key store as knotd resolves it: the policy's key stores
 * in its order (one in Knot < 3.5, any number from 3.5), PEM directories
 * relative to the KASP database, which is relative to the database storage,
 * PKCS#11 tokens by their config. Called from load, in knotd's main thread:
 * the tokens are opened there.
 */
static mxtrap_keystore_t *keystore_load(knotd_mod_t *mod, knotd_conf_t *policy)
{
	knotd_conf_t storage = knotd_conf(mod, C_DB, C_STORAGE, NULL);
	knotd_conf_t kasp = knotd_conf(mod, C_DB, C_KASP_DB, NULL);
	char *storage_dir = abs_path(storage.single.string, NULL);
	char *kasp_dir = storage_dir != NULL ? abs_path(kasp.single.string, storage_dir) : NULL;
	free(storage_dir);
	if (kasp_dir == NULL) {
		return NULL;
	}

	knotd_conf_t ids = { 0 };
	if (policy->count > 0) {
		ids = knotd_conf(mod, C_POLICY, C_KEYSTORE, policy);
	}
	size_t count = ids.count > 0 ? ids.count : 1;
	mxtrap_store_t *stores = calloc(count, sizeof(*stores));
	size_t store_count = 0;
	bool failed = (stores == NULL);
	for (size_t i = 0; i < count && !failed; i++) {
		unsigned backend = KEYSTORE_BACKEND_PEM;
		const char *config = DEFAULT_KEYSTORE_CONFIG;
		if (ids.count > 0) {
			knotd_conf_t id = { .count = 1 };
			id.single = ids.multi != NULL ? ids.multi[i] : ids.single;
			backend = knotd_conf(mod, C_KEYSTORE, C_BACKEND, &id).single.option;
			config = knotd_conf(mod, C_KEYSTORE, C_CONFIG, &id).single.string;
		}
		mxtrap_store_t *store = &stores[store_count++];
		if (backend == KEYSTORE_BACKEND_PKCS11) {
			/* As knotd passes it: "<token URL> <module path>". */
			*store = (mxtrap_store_t){ MXTRAP_STORE_PKCS11, config };
		} else {
			*store = (mxtrap_store_t){ MXTRAP_STORE_PEM, abs_path(config, kasp_dir) };
			failed = (store->config == NULL);
		}
	}

	mxtrap_keystore_t *keystore = NULL;
	if (!failed) {
		keystore = mxtrap_keystore_new(knotd_mod_zone(mod), stores, store_count,
		                               rrsig_lifetime(mod, policy));
	}
	for (size_t i = 0; i < store_count; i++) {
		if (stores[i].backend == MXTRAP_STORE_PEM) {
			free((char *)stores[i].config);
		}
	}
	free(stores);
	free(kasp_dir);
	knotd_conf_free(&ids);
	return keystore;
}

/*! Prepares signing with the zone's keys, read when first needed. */
static int dnssec_load(knotd_mod_t *mod, mxtrap_ctx_t *ctx)
{
	knotd_conf_t dnssec = knotd_conf_mod(mod, MOD_DNSSEC);
	ctx->dnssec_set = dnssec.count > 0;
	if (dnssec.count == 0) {
		dnssec = knotd_conf_zone(mod, C_DNSSEC_SIGNING, knotd_mod_zone(mod));
	}
	ctx->dnssec = dnssec.single.boolean;
	if (!ctx->dnssec) {
		return KNOT_EOK;
	}

	knotd_conf_t policy = dnssec_policy(mod);
	ctx->keystore = keystore_load(mod, &policy);
	if (ctx->keystore == NULL) {
		return KNOT_ENOMEM;
	}
	ctx->signer = mxtrap_signer_new(sign_rrset, mod, refresh_margin(mod, &policy),
	                                SIG_CACHE_SLOTS, NULL);
	return ctx->signer != NULL ? KNOT_EOK : KNOT_ENOMEM;
}

int mxtrap_load(knotd_mod_t *mod)
{
	mxtrap_ctx_t *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
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
			free(ctx);
			return KNOT_ENOMEM;
		}
		for (size_t i = 0; i < exchange.count; i++) {
			names[i] = exchange.multi[i].dname;
		}
	}

	int ret = mxtrap_conf_init(&ctx->conf, preference.single.integer,
	                           require_backup.single.boolean, names, exchange.count);
	free(names);
	knotd_conf_free(&exchange);
	if (ret != KNOT_EOK) {
		free(ctx);
		return ret;
	}

	ret = dnssec_load(mod, ctx);
	if (ret != KNOT_EOK) {
		knotd_mod_log(mod, LOG_ERR, "failed to prepare signing (%s)", knot_strerror(ret));
		goto fail;
	}

	/* knotd keeps every counter once per zone and worker thread (about 1 kB
	 * per zone with 16 counters and 12 workers): zones that do not trap
	 * signed answers get 8, none for signing. */
	ret = knotd_mod_stats_add(mod, "trapped", 1, NULL);
	if (ret == KNOT_EOK) {
		ret = knotd_mod_stats_add(mod, "truncated", 1, NULL);
	}
	if (ret == KNOT_EOK) {
		ret = knotd_mod_stats_add(mod, "unchanged", ctx->dnssec ? MXTRAP_REASON_COUNT :
		                          MXTRAP_UNSIGNED_REASON_COUNT, unchanged_to_str);
	}
	if (ret == KNOT_EOK && ctx->dnssec) {
		ret = knotd_mod_stats_add(mod, "signatures", 2, signatures_to_str);
	}
	if (ret == KNOT_EOK) {
		ret = knotd_mod_in_hook(mod, KNOTD_STAGE_ANSWER, ctx->conf.require_backup ?
		                        mxtrap_answer : mxtrap_answer_any_backup);
	}
#if MXTRAP_HAVE_ZONE_RRSET
	if (ret == KNOT_EOK && ctx->conf.exchange_count > 0) {
		ret = knotd_mod_in_hook(mod, KNOTD_STAGE_ADDITIONAL, mxtrap_additional);
	}
#endif
	if (ret != KNOT_EOK) {
		goto fail;
	}

	knotd_mod_ctx_set(mod, ctx);

	return KNOT_EOK;
fail:
	mxtrap_signer_free(ctx->signer);
	mxtrap_keystore_free(ctx->keystore);
	mxtrap_conf_deinit(&ctx->conf);
	free(ctx);
	return ret;
}

void mxtrap_unload(knotd_mod_t *mod)
{
	mxtrap_ctx_t *ctx = knotd_mod_ctx(mod);
	if (ctx == NULL) {
		return;
	}
	mxtrap_signer_free(ctx->signer);
	mxtrap_keystore_free(ctx->keystore);
	mxtrap_conf_deinit(&ctx->conf);
	free(ctx);
	/* knotd keeps the context over a module reset (zone-restore, Knot >= 3.5.4)
	 * and unloads again when the next load fails: nothing stale to free twice. */
	knotd_mod_ctx_set(mod, NULL);
}

/*!
 * Keeps this module mapped until the process exits.
 *
 * knotd before 3.2.10 unloads shared modules on a `knotc conf-commit` while
 * its zones still call their hooks and its configuration schema still points
 * into them, and crashes (fixed upstream by "conf: fix segfault if a shared
 * module is loaded and dynamic configuration used"). Taking our own reference
 * with RTLD_NODELETE makes that dlclose() a no-op; knotd's later dlopen() of
 * the same file gets the same mapping. Harmless on fixed versions (kept for
 * every version: see include/mxtrap/compat.h).
 */
__attribute__((constructor))
static void mxtrap_pin(void)
{
	Dl_info self;
	if (dladdr((void *)mxtrap_pin, &self) != 0 && self.dli_fname != NULL) {
		/* NOLOAD: only a new reference to the mapping being loaded. */
		(void)dlopen(self.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
	}
}

KNOTD_MOD_API(mxtrap, KNOTD_MOD_FLAG_SCOPE_ZONE | KNOTD_MOD_FLAG_OPT_CONF,
              mxtrap_load, mxtrap_unload, mxtrap_conf, mxtrap_conf_check);
