/* SPDX-License-Identifier: GPL-3.0-or-later */

/*!
 * \file
 *
 * \brief Adds the spam-trap MX records to an MX answer (module/trap.c).
 *
 * Works on a libknot response packet only, so unit tests and the fuzzer
 * drive it without knotd; module/mxtrap.c is the knotd glue.
 */

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libknot/libknot.h>

/*! MX RDATA: a 16-bit preference, then the exchanger's name. */
#define MXTRAP_MX_PREF_LEN	2

/*! Default lowest trap preference. */
#define MXTRAP_DEFAULT_PREFERENCE	99

/*! Parsed module configuration, built once at module load. */
typedef struct {
	uint16_t preference;        /*!< Lowest trap preference. */
	bool require_backup;        /*!< Leave RRsets without a backup exchanger alone. */
	uint16_t exchange_count;    /*!< Number of configured trap exchangers (0: primaries). */
	knot_dname_t **exchanges;   /*!< Configured trap exchangers, lower-case, unique,
	                                 in canonical RDATA order. */
	uint16_t *exchange_sizes;   /*!< Wire sizes of the exchangers. */
} mxtrap_conf_t;

/*! Why an MX answer was left as it was; the index of the "unchanged" counter. */
typedef enum {
	MXTRAP_NULL_MX = 0,         /*!< Null MX (RFC 7505). */
	MXTRAP_NO_BACKUP,           /*!< All records at one preference, backup required. */
	MXTRAP_TRAP_PRESENT,        /*!< A trap exchanger already stands at the top. */
	MXTRAP_MAX_PREF,            /*!< The highest preference is 65535: no room above. */
	MXTRAP_SIGNED,              /*!< An RRSIG covers the MX RRset, no signer given. */
	MXTRAP_UNEXPECTED,          /*!< Malformed records or an unexpected packet layout. */
	/* Only with a signer (trapping of signed answers on). */
	MXTRAP_KEY_MISSING,         /*!< A key of the zone's RRSIG(MX) is in no key store. */
	MXTRAP_KEY_UNREADABLE,      /*!< Its key file cannot be read or holds another key. */
	MXTRAP_KEYSTORE_UNSUPPORTED,/*!< Its key store cannot be opened (e.g. no PKCS#11). */
	MXTRAP_KEYSTORE_LOGIN,      /*!< Its PKCS#11 token refused the login (wrong PIN). */
	MXTRAP_ALG_UNSUPPORTED,     /*!< libdnssec cannot sign with the algorithm. */
	MXTRAP_SIGN_FAILED,         /*!< Signing failed. */
} mxtrap_reason_t;

/*! Number of reasons. */
#define MXTRAP_REASON_COUNT		(MXTRAP_SIGN_FAILED + 1)
/*! Number of reasons without a signer (those before MXTRAP_KEY_MISSING). */
#define MXTRAP_UNSIGNED_REASON_COUNT	(MXTRAP_UNEXPECTED + 1)

/*! What mxtrap_apply() did. */
typedef enum {
	MXTRAP_NOT_MX = 0,  /*!< No MX RRset in ANSWER: not the module's business. */
	MXTRAP_TRAPPED,     /*!< Trap records merged into the MX RRset. */
	MXTRAP_TRUNCATED,   /*!< The merged RRset did not fit: MX RRset removed as Knot
	                         does for an oversized RRset (TC set over UDP). */
	MXTRAP_UNCHANGED,   /*!< Left as it was, for a reason. */
	MXTRAP_NO_MEMORY,   /*!< Out of memory; the answer is as it was. */
} mxtrap_outcome_t;

/*! Where the RRSIGs of a trapped answer came from. */
typedef enum {
	MXTRAP_SIG_NONE = 0,  /*!< Unsigned answer. */
	MXTRAP_SIG_CACHE,     /*!< Signature cache. */
	MXTRAP_SIG_FRESH,     /*!< Signed for this answer. */
} mxtrap_sig_source_t;

/*! The result of mxtrap_apply() (in a register: every MX answer returns one). */
typedef struct {
	mxtrap_outcome_t outcome : 8;
	mxtrap_reason_t reason : 8;       /*!< With MXTRAP_UNCHANGED. */
	mxtrap_sig_source_t source : 8;   /*!< With MXTRAP_TRAPPED. */
} mxtrap_result_t;

/*!
 * \brief The MX RRset among the RRsets of a response being written at its
 *        ANSWER section (knotd's ANSWER stage: every RRset is ANSWER's).
 *
 * \return Its index in pkt->rr, or -1.
 */
static inline int mxtrap_find_mx(const knot_pkt_t *pkt)
{
	for (uint16_t i = 0; i < pkt->rrset_count; i++) {
		if (pkt->rr[i].type == KNOT_RRTYPE_MX) {
			return i;
		}
	}
	return -1;
}

/*!
 * \brief Reads one MX record's preference, or why the rules cannot use it
 *        (malformed, or a null MX: its exchanger the root name).
 *
 * Knot validated the records when it loaded the zone: only what the rules
 * need is read.
 */
static inline bool mxtrap_read_record(const knot_rdata_t *rdata, uint16_t *pref,
                                      mxtrap_reason_t *why)
{
	if (rdata->len <= MXTRAP_MX_PREF_LEN) {
		*why = MXTRAP_UNEXPECTED;
		return false;
	}
	if (rdata->data[MXTRAP_MX_PREF_LEN] == '\0') {
		*why = MXTRAP_NULL_MX;
		return false;
	}
	*pref = knot_wire_read_u16(rdata->data);
	return true;
}

/*!
 * \brief The answers the knotd hook decides without the rest of the rules:
 *        an unsigned MX RRset of one record that mxtrap_apply() would leave
 *        alone (null MX, malformed, or no backup with \a require_backup).
 *
 * Inline in the hook: such answers are counted without a call
 * (tests/bench/callgrind.sh, "mx-unaffected"). For the other answers
 * mxtrap_apply() decides, and agrees with this (tests/fuzz/fuzz_core.c).
 *
 * \param pkt             Response packet, being written at its ANSWER section.
 * \param require_backup  The configuration's require_backup.
 * \param why             Out: why mxtrap_apply() leaves it alone.
 *
 * \return True if left alone for \a why.
 */
static inline bool mxtrap_lone_left_alone(const knot_pkt_t *pkt, bool require_backup,
                                          mxtrap_reason_t *why)
{
	int mx = mxtrap_find_mx(pkt);
	if (mx < 0 || mx + 1 < pkt->rrset_count || pkt->rr[mx].rrs.count != 1) {
		return false;
	}
	uint16_t pref;
	if (!mxtrap_read_record(pkt->rr[mx].rrs.rdata, &pref, why)) {
		return true;
	}
	*why = MXTRAP_NO_BACKUP;
	return require_backup;
}

/*! Signature cache in front of the zone's keys (include/mxtrap/signer.h). */
typedef struct mxtrap_signer mxtrap_signer_t;

/*!
 * \brief Short name of a reason (counter index name).
 *
 * \return Static string, "unknown" for other values.
 */
const char *mxtrap_reason_name(mxtrap_reason_t reason);

/*!
 * \brief Builds the configuration.
 *
 * Exchanger names are copied, lower-cased, sorted into the order Knot keeps
 * RDATA in and de-duplicated, so that the hot path needs no sorting.
 *
 * \param conf            Configuration to initialize.
 * \param preference      Lowest trap preference.
 * \param require_backup  Leave RRsets without a backup exchanger alone.
 * \param exchanges       Trap exchanger names (NULL if count is 0), each a
 *                        terminated wire name (as knotd's configuration gives).
 * \param count           Number of names.
 *
 * \retval KNOT_EOK      Success.
 * \retval KNOT_EINVAL   A name is NULL, malformed or the root name.
 * \retval KNOT_ENOMEM   Out of memory.
 */
int mxtrap_conf_init(mxtrap_conf_t *conf, uint16_t preference, bool require_backup,
                     const knot_dname_t *const *exchanges, size_t count);

/*!
 * \brief Releases what mxtrap_conf_init() allocated.
 *
 * \param conf  Configuration (may be NULL).
 */
void mxtrap_conf_deinit(mxtrap_conf_t *conf);

/*!
 * \brief Adds the trap record(s) to the MX RRset of a response being built.
 *
 * Expects the packet as Knot leaves it after resolving the ANSWER section:
 * the ANSWER section is the current one and the MX RRset is its last RRset,
 * or is followed only by RRSIGs (a signed answer). The trap records are
 * written with the packet's compression state, so the wire is what Knot
 * writes for the merged RRset, and the packet's copy of the RRset is replaced
 * by the merged one (allocated from pkt->mm, which knotd releases with the
 * query).
 *
 * A signed answer is trapped only with a signer: the merged RRset goes out
 * with the signer's RRSIGs in place of the zone's RRSIG(MX), made with the
 * keys that made the zone's RRSIG(MX) in this answer; the rest of ANSWER is
 * written again after it.
 *
 * \param conf    Configuration (not NULL).
 * \param pkt     Response packet (not NULL), being written at its ANSWER section.
 * \param signer  Signer, NULL to leave signed answers alone.
 * \param query   Passed to the signer's signing function (knotd: the query data).
 *
 * \return What was done; the packet is untouched unless the outcome is
 *         MXTRAP_TRAPPED or MXTRAP_TRUNCATED.
 */
mxtrap_result_t mxtrap_apply(const mxtrap_conf_t *conf, knot_pkt_t *pkt,
                             mxtrap_signer_t *signer, void *query);

/*!
 * \brief Whether the answer's MX RRset names a configured trap exchanger.
 *
 * At the ADDITIONAL stage: the exchanger's A and AAAA go to ADDITIONAL as
 * Knot puts those of the zone's own exchangers (with KNOT_PF_CHECKDUP, as
 * Knot has put them already if the zone lists the exchanger itself).
 *
 * \param conf   Configuration.
 * \param pkt    Response packet, its ANSWER written.
 * \param index  Configured exchanger (conf->exchanges[index]).
 * \param hint   Out: compression hint of the name in ANSWER (or KNOT_COMPR_HINT_NONE).
 */
bool mxtrap_names_exchange(const mxtrap_conf_t *conf, const knot_pkt_t *pkt, uint16_t index,
                           uint16_t *hint);
