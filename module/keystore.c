/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>

#include "mxtrap/compat.h"
#include "mxtrap/keystore.h"

/*! Knot's signature inception: 90 minutes in the past (RRSIG_INCEPT_IN_PAST). */
#define INCEPTION_OFFSET	(90 * 60)
/*! RRSIG RDATA up to the signer's name. */
#define RRSIG_FIXED_LEN		18
/*! Keys kept per zone; a rollover adds one, the least recently used goes. */
#define MAX_KEYS		16
/*! DNSKEY RDATA: flags, protocol, algorithm, then the public key. */
#define DNSKEY_ALG_OFFSET	3
/*! IDs in bytes: libdnssec's key IDs are 20, knotd's CKA_IDs 20 (other tools' up to this). */
#define ID_MAX			64
/*! Key stores a failure can name (bits of a mask); a policy has one or two. */
#define MAX_STORES		32
/*! Tokens and PINs whose refused login is remembered, process-wide. */
#define REFUSED_MAX		16

typedef struct {
	dnssec_binary_t dnskey;     /*!< DNSKEY RDATA, the key's identity. */
	dnssec_key_t *key;          /*!< With its private key; NULL if not usable. */
	dnssec_sign_ctx_t *sign;    /*!< Signing context of the key. */
	mxtrap_reason_t failure;    /*!< Why not usable. */
	uint32_t retry_at;          /*!< When to look for it again. */
	uint64_t used;              /*!< Last use, in uses of the store. */
	char id[80];                /*!< Key ID (hex), once known. */
	uint32_t stores;            /*!< The key stores of the failure (bit i: store i). */
} zone_key_t;

typedef struct {
	mxtrap_store_backend_t backend;
	char *config;               /*!< PEM: the directory; PKCS#11: knotd's config. */
	char *url;                  /*!< PKCS#11: the token URL of the config. */
	char *name;                 /*!< For log lines: the directory, or the URL without PIN. */
	dnssec_keystore_t *p11;     /*!< PKCS#11: open since creation; NULL if it could not be. */
	uint64_t login_key;         /*!< PKCS#11: the config's hash, for refused logins. */
} store_t;

struct mxtrap_keystore {
	knot_dname_t *zone;
	store_t *stores;
	size_t store_count;
	uint32_t lifetime;
	char failed_id[80];
	uint32_t failed_stores;     /*!< Bit i: store i. */
	char *failed_names;         /*!< Their names, made for a log line. */
	uint16_t failed_tag;
	uint64_t uses;
	size_t key_count;
	zone_key_t keys[MAX_KEYS];
};

/*
 * Refused logins, for the whole process: every zone of a token asks, and
 * knotd re-creates the key stores at each reload, but the token's PIN
 * counter is one. The lock is held over a login: two zones never both try a
 * PIN that is about to be refused.
 */
static pthread_mutex_t refused_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t login_key;
	uint32_t until;
} refused[REFUSED_MAX];

/* FNV-1a of the config (token, PIN, module): a changed PIN is tried at once. */
static uint64_t login_key(const char *config)
{
	uint64_t hash = 0xcbf29ce484222325ULL;
	for (; *config != '\0'; config++) {
		hash = (hash ^ (uint8_t)*config) * 0x100000001b3ULL;
	}
	return hash + (hash == 0);
}

/*!
 * The token URL without its PIN (pin-value), for log lines. RFC 7512:
 * "pkcs11:" then path attributes separated by ';', query attributes after
 * '?' separated by '&'.
 */
static char *url_without_pin(const char *url)
{
	static const char SCHEME[] = "pkcs11:", PIN[] = "pin-value=";
	char *out = malloc(strlen(url) + 1), *pos = out;
	if (out == NULL) {
		return NULL;
	}
	if (strncmp(url, SCHEME, sizeof(SCHEME) - 1) == 0) {
		pos = stpcpy(pos, SCHEME);
		url += sizeof(SCHEME) - 1;
	}
	char *attrs = pos;
	bool query = false, query_open = false;
	for (char sep = '\0'; ; sep = *url++) {
		query |= (sep == '?');
		size_t len = strcspn(url, ";?&");
		if (strncmp(url, PIN, sizeof(PIN) - 1) != 0) {
			/* The delimiter as the attributes kept need it. */
			if (query && !query_open) {
				*pos++ = '?';
				query_open = true;
			} else if (pos > attrs) {
				*pos++ = query ? '&' : ';';
			}
			memcpy(pos, url, len);
			pos += len;
		}
		url += len;
		if (*url == '\0') {
			break;
		}
	}
	*pos = '\0';
	return out;
}

static bool store_init(store_t *st, const mxtrap_store_t *conf)
{
	st->backend = conf->backend;
	st->config = strdup(conf->config);
	if (st->config == NULL) {
		return false;
	}
	if (st->backend == MXTRAP_STORE_PEM) {
		st->name = strdup(conf->config);
		return st->name != NULL;
	}
	/* libdnssec's form: "<URL> <module>" (the query form of RFC 7512 breaks
	 * the key URL libdnssec makes from it, as in knotd). */
	const char *space = strchr(conf->config, ' ');
	size_t url_len = space != NULL ? (size_t)(space - conf->config) : strlen(conf->config);
	st->url = strndup(conf->config, url_len);
	st->name = st->url != NULL ? url_without_pin(st->url) : NULL;
	if (st->name == NULL) {
		return false;
	}
	st->login_key = login_key(conf->config);
	/* Not opened: the store has no keys, told as keystore-unsupported. */
	if (dnssec_keystore_init_pkcs11(&st->p11) != DNSSEC_EOK) {
		st->p11 = NULL;
	} else if (dnssec_keystore_open(st->p11, conf->config) != DNSSEC_EOK) {
		dnssec_keystore_deinit(st->p11);
		st->p11 = NULL;
	}
	return true;
}

static void store_deinit(store_t *st)
{
	if (st->p11 != NULL) {
		dnssec_keystore_close(st->p11);
		dnssec_keystore_deinit(st->p11);
	}
	free(st->config);
	free(st->url);
	free(st->name);
}

mxtrap_keystore_t *mxtrap_keystore_new(const knot_dname_t *zone, const mxtrap_store_t *stores,
                                       size_t count, uint32_t lifetime)
{
	if (zone == NULL || (count > 0 && stores == NULL) || lifetime == 0) {
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		if (stores[i].config == NULL || stores[i].backend > MXTRAP_STORE_PKCS11) {
			return NULL;
		}
	}
	mxtrap_keystore_t *ks = calloc(1, sizeof(*ks));
	if (ks == NULL) {
		return NULL;
	}
	ks->lifetime = lifetime;
	ks->zone = knot_dname_copy(zone, NULL);
	ks->stores = calloc(count + 1, sizeof(*ks->stores));
	if (ks->zone == NULL || ks->stores == NULL) {
		mxtrap_keystore_free(ks);
		return NULL;
	}
	knot_dname_to_lower(ks->zone);
	for (; ks->store_count < count; ks->store_count++) {
		if (!store_init(&ks->stores[ks->store_count], &stores[ks->store_count])) {
			ks->store_count++;  /* Partly made: freed with the others. */
			mxtrap_keystore_free(ks);
			return NULL;
		}
	}
	return ks;
}

static void key_clear(zone_key_t *zk)
{
	dnssec_sign_free(zk->sign);
	dnssec_key_free(zk->key);
	zk->sign = NULL;
	zk->key = NULL;
}

void mxtrap_keystore_free(mxtrap_keystore_t *ks)
{
	if (ks == NULL) {
		return;
	}
	/* The keys first: each holds a session of its token. */
	for (size_t i = 0; i < ks->key_count; i++) {
		key_clear(&ks->keys[i]);
		dnssec_binary_free(&ks->keys[i].dnskey);
	}
	for (size_t i = 0; ks->stores != NULL && i < ks->store_count; i++) {
		store_deinit(&ks->stores[i]);
	}
	free(ks->stores);
	free(ks->failed_names);
	knot_dname_free(ks->zone, NULL);
	free(ks);
}

const char *mxtrap_keystore_failed_key(const mxtrap_keystore_t *ks, uint16_t *tag)
{
	*tag = ks->failed_tag;
	return ks->failed_id;
}

const char *mxtrap_keystore_failed_stores(mxtrap_keystore_t *ks)
{
	size_t size = 1;
	for (size_t i = 0; i < ks->store_count && i < MAX_STORES; i++) {
		size += (ks->failed_stores & (1u << i)) ? strlen(ks->stores[i].name) + 2 : 0;
	}
	free(ks->failed_names);
	ks->failed_names = malloc(size);
	if (ks->failed_names == NULL) {
		return "";
	}
	size_t len = 0;
	ks->failed_names[0] = '\0';
	for (size_t i = 0; i < ks->store_count && i < MAX_STORES; i++) {
		if (ks->failed_stores & (1u << i)) {
			len += snprintf(ks->failed_names + len, size - len, "%s%s",
			                len > 0 ? ", " : "", ks->stores[i].name);
		}
	}
	return ks->failed_names;
}

/*! How a key store answers for a key. */
typedef enum {
	STORE_HAS_KEY = 0,  /*!< Read. */
	STORE_NO_KEY,       /*!< Not in this store: the next one. */
	STORE_UNUSABLE,     /*!< Not opened (keystore-unsupported): the next one. */
	STORE_REFUSED,      /*!< Login refused (keystore-login): the next one. */
	STORE_BAD_KEY,      /*!< There, but cannot be read (key-unreadable): no other. */
} store_answer_t;

static store_answer_t pem_get(const store_t *st, dnssec_key_t *key, const char *id)
{
	dnssec_keystore_t *store = NULL;
	if (dnssec_keystore_init_pkcs8(&store) != DNSSEC_EOK) {
		return STORE_BAD_KEY;
	}
	/* Open, never init: that would create the directory. */
	int ret = dnssec_keystore_open(store, st->config);
	if (ret == DNSSEC_EOK) {
		ret = dnssec_keystore_get_private(store, id, key);
		dnssec_keystore_close(store);
	}
	dnssec_keystore_deinit(store);
	return ret == DNSSEC_EOK ? STORE_HAS_KEY :
	       MXTRAP_DNSSEC_NO_KEY(ret) ? STORE_NO_KEY : STORE_BAD_KEY;
}

static void to_hex(const uint8_t *bin, size_t len, char *hex)
{
	static const char DIGITS[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = DIGITS[bin[i] >> 4];
		hex[2 * i + 1] = DIGITS[bin[i] & 0x0f];
	}
	hex[2 * len] = '\0';
}

/*!
 * The token's ID (CKA_ID, hex) of the key whose public key has the key ID
 * \a id: knotd names a key in a token by a random CKA_ID that only its KASP
 * database knows, libdnssec cannot list a token, GnuTLS can (public objects:
 * no login).
 */
static bool token_key_id(const store_t *st, const char *id, char cka_id[2 * ID_MAX + 1])
{
	gnutls_pkcs11_obj_t *objs = NULL;
	unsigned int count = 0;
	if (gnutls_pkcs11_obj_list_import_url4(&objs, &count, st->url,
	                                       GNUTLS_PKCS11_OBJ_FLAG_PUBKEY) < 0) {
		return false;
	}
	bool found = false;
	for (unsigned int i = 0; i < count; i++) {
		gnutls_pubkey_t pub = NULL;
		uint8_t bin[ID_MAX];
		size_t size = sizeof(bin);
		char hex[2 * ID_MAX + 1];
		/* The key ID as libdnssec makes it (flags 0: SHA-1 of the public key). */
		if (!found && gnutls_pubkey_init(&pub) == GNUTLS_E_SUCCESS &&
		    gnutls_pubkey_import_pkcs11(pub, objs[i], 0) == GNUTLS_E_SUCCESS &&
		    gnutls_pubkey_get_key_id(pub, 0, bin, &size) == GNUTLS_E_SUCCESS) {
			to_hex(bin, size, hex);
			size = sizeof(bin);
			found = strcmp(hex, id) == 0 &&
			        gnutls_pkcs11_obj_get_info(objs[i], GNUTLS_PKCS11_OBJ_ID, bin, &size) == GNUTLS_E_SUCCESS &&
			        size > 0;
			if (found) {
				to_hex(bin, size, cka_id);
			}
		}
		gnutls_pubkey_deinit(pub);
		gnutls_pkcs11_obj_deinit(objs[i]);
	}
	gnutls_free(objs);
	return found;
}

static bool login_refused(int ret)
{
	return ret == GNUTLS_E_PKCS11_PIN_ERROR || ret == GNUTLS_E_PKCS11_PIN_EXPIRED ||
	       ret == GNUTLS_E_PKCS11_PIN_LOCKED;
}

/*!
 * Logs in to the token for its private key \a cka_id, unless a login with
 * this configuration was refused less than MXTRAP_LOGIN_RETRY ago.
 * libdnssec takes a refused login for a missing key; GnuTLS tells it.
 */
static store_answer_t token_login(const store_t *st, const char *cka_id, uint32_t now)
{
	/* The key's URL as libdnssec makes it: "<token URL>;id=%xx%xx...". */
	size_t len = strlen(cka_id);
	char *url = malloc(strlen(st->url) + 4 + len / 2 * 3 + 1);
	if (url == NULL) {
		return STORE_BAD_KEY;
	}
	char *pos = url + sprintf(url, "%s;id=", st->url);
	for (size_t i = 0; i + 1 < len; i += 2, pos += 3) {
		pos[0] = '%', pos[1] = cka_id[i], pos[2] = cka_id[i + 1];
	}
	*pos = '\0';

	pthread_mutex_lock(&refused_lock);
	/* This configuration's entry; else a free one, or the one refused first. */
	size_t slot = REFUSED_MAX, free_slot = 0;
	for (size_t i = 0; i < REFUSED_MAX; i++) {
		if (refused[i].login_key == st->login_key) {
			slot = i;
		}
		const bool unused = refused[i].login_key == 0, best_unused = refused[free_slot].login_key == 0;
		if ((unused && !best_unused) || (unused == best_unused &&
		    (int32_t)(refused[i].until - refused[free_slot].until) < 0)) {
			free_slot = i;
		}
	}
	store_answer_t answer = STORE_REFUSED;
	if (slot == REFUSED_MAX || (int32_t)(now - refused[slot].until) >= 0) {
		gnutls_pkcs11_obj_t *objs = NULL;
		unsigned int count = 0;
		int ret = gnutls_pkcs11_obj_list_import_url4(&objs, &count, url,
		                                             GNUTLS_PKCS11_OBJ_FLAG_PRIVKEY |
		                                             GNUTLS_PKCS11_OBJ_FLAG_LOGIN);
		answer = login_refused(ret) ? STORE_REFUSED : ret < 0 || count == 0 ? STORE_NO_KEY :
		         STORE_HAS_KEY;
		for (unsigned int i = 0; i < count; i++) {
			gnutls_pkcs11_obj_deinit(objs[i]);
		}
		gnutls_free(objs);
		if (answer == STORE_REFUSED) {
			slot = slot < REFUSED_MAX ? slot : free_slot;
			refused[slot].login_key = st->login_key;
			refused[slot].until = now + MXTRAP_LOGIN_RETRY;
		} else if (slot < REFUSED_MAX) {
			refused[slot].login_key = 0;
		}
	}
	pthread_mutex_unlock(&refused_lock);
	free(url);
	return answer;
}

static store_answer_t token_get(const store_t *st, dnssec_key_t *key, const char *id,
                                uint32_t now)
{
	char cka_id[2 * ID_MAX + 1];
	if (st->p11 == NULL) {
		return STORE_UNUSABLE;
	}
	if (!token_key_id(st, id, cka_id)) {
		return STORE_NO_KEY;
	}
	store_answer_t answer = token_login(st, cka_id, now);
	if (answer != STORE_HAS_KEY) {
		return answer;
	}
	return dnssec_keystore_get_private(st->p11, cka_id, key) == DNSSEC_EOK ?
	       STORE_HAS_KEY : STORE_BAD_KEY;
}

/*!
 * Reads the private key from the first key store that has it. Not found:
 * keystore-login if a token holding it refused the login, else
 * keystore-unsupported if a store could not be opened, else key-missing;
 * \a stores tells the stores of that reason (bit i: store i).
 */
static bool read_private(mxtrap_keystore_t *ks, dnssec_key_t *key, const char *id,
                         uint32_t now, mxtrap_reason_t *why, uint32_t *stores)
{
	store_answer_t worst = STORE_NO_KEY;
	uint32_t of[STORE_BAD_KEY + 1] = { 0 };  /* The stores of each answer. */
	for (size_t i = 0; i < ks->store_count; i++) {
		const store_t *st = &ks->stores[i];
		store_answer_t answer = st->backend == MXTRAP_STORE_PEM ? pem_get(st, key, id) :
		                                                           token_get(st, key, id, now);
		if (answer == STORE_HAS_KEY) {
			return true;
		}
		of[answer] |= i < MAX_STORES ? 1u << i : 0;
		if (answer == STORE_BAD_KEY) {
			*stores = of[answer];
			*why = MXTRAP_KEY_UNREADABLE;
			return false;
		}
		worst = answer > worst ? answer : worst;
	}
	*stores = of[worst];
	*why = worst == STORE_REFUSED ? MXTRAP_KEYSTORE_LOGIN :
	       worst == STORE_UNUSABLE ? MXTRAP_KEYSTORE_UNSUPPORTED : MXTRAP_KEY_MISSING;
	return false;
}

/*!
 * The private key belongs to the DNSKEY: a signature made with it verifies
 * with the DNSKEY's public key (libdnssec checks only the algorithm when it
 * reads a key file, and a file of another key would sign bogus answers).
 */
static bool matches_dnskey(dnssec_sign_ctx_t *sign)
{
	static const uint8_t probe[] = "mod-mxtrap key check";
	dnssec_binary_t data = { .size = sizeof(probe), .data = (uint8_t *)probe };
	dnssec_binary_t signature = { 0 };
	bool match = dnssec_sign_init(sign) == DNSSEC_EOK &&
	             dnssec_sign_add(sign, &data) == DNSSEC_EOK &&
	             dnssec_sign_write(sign, DNSSEC_SIGN_NORMAL, &signature) == DNSSEC_EOK &&
	             dnssec_sign_init(sign) == DNSSEC_EOK &&
	             dnssec_sign_add(sign, &data) == DNSSEC_EOK &&
	             dnssec_sign_verify(sign, false, &signature) == DNSSEC_EOK;
	dnssec_binary_free(&signature);
	return match;
}

/*! Makes a DNSKEY usable for signing: public key, private key, signing context. */
static bool key_load(mxtrap_keystore_t *ks, zone_key_t *zk, uint32_t now, mxtrap_reason_t *why)
{
	uint8_t alg = zk->dnskey.data[DNSKEY_ALG_OFFSET];
	if (!dnssec_algorithm_key_support(alg)) {
		*why = MXTRAP_ALG_UNSUPPORTED;
		return false;
	}
	char *id = NULL;
	if (dnssec_key_new(&zk->key) != DNSSEC_EOK ||
	    dnssec_key_set_rdata(zk->key, &zk->dnskey) != DNSSEC_EOK ||
	    dnssec_key_set_dname(zk->key, ks->zone) != DNSSEC_EOK ||
	    dnssec_key_get_keyid(zk->key, &id) != DNSSEC_EOK) {
		*why = MXTRAP_SIGN_FAILED; /* No memory, or a malformed DNSKEY. */
		return false;
	}
	snprintf(zk->id, sizeof(zk->id), "%s", id);
	bool usable = read_private(ks, zk->key, id, now, why, &zk->stores);
	free(id);
	if (usable && dnssec_sign_new(&zk->sign, zk->key) != DNSSEC_EOK) {
		*why = MXTRAP_ALG_UNSUPPORTED;
		return false;
	}
	if (usable && !matches_dnskey(zk->sign)) {
		*why = MXTRAP_KEY_UNREADABLE;
		return false;
	}
	return usable;
}

/*!
 * The slot for a DNSKEY: the one holding it, a free one, or the least recently
 * used (never one used for the RRset being signed: it was used last).
 */
static zone_key_t *key_slot(mxtrap_keystore_t *ks, const knot_rdata_t *rdata)
{
	zone_key_t *oldest = &ks->keys[0];
	for (size_t i = 0; i < ks->key_count; i++) {
		zone_key_t *zk = &ks->keys[i];
		if (zk->dnskey.size == rdata->len &&
		    memcmp(zk->dnskey.data, rdata->data, rdata->len) == 0) {
			return zk;
		}
		oldest = zk->used < oldest->used ? zk : oldest;
	}
	zone_key_t *zk = oldest;
	if (ks->key_count < MAX_KEYS) {
		zk = &ks->keys[ks->key_count++];
	}
	key_clear(zk);
	dnssec_binary_free(&zk->dnskey);
	memset(zk, 0, sizeof(*zk));
	dnssec_binary_t dnskey = { .size = rdata->len, .data = (uint8_t *)rdata->data };
	if (dnssec_binary_dup(&dnskey, &zk->dnskey) != DNSSEC_EOK) {
		return NULL;
	}
	return zk;
}

/*! A DNSKEY of the zone as a key to sign with, read if not yet (or again if due). */
static bool key_get(mxtrap_keystore_t *ks, const knot_rdata_t *rdata, uint32_t now,
                    zone_key_t **out, mxtrap_reason_t *why)
{
	zone_key_t *zk = key_slot(ks, rdata);
	if (zk == NULL) {
		*why = MXTRAP_SIGN_FAILED;
		return false;
	}
	zk->used = ++ks->uses;
	if (zk->key == NULL || zk->sign == NULL) {
		if (zk->retry_at == 0 || (int32_t)(now - zk->retry_at) >= 0) {
			key_clear(zk);
			zk->stores = 0;
			if (key_load(ks, zk, now, &zk->failure)) {
				*out = zk;
				return true;
			}
			key_clear(zk);
			zk->retry_at = now + MXTRAP_KEY_RETRY;
			zk->retry_at += (zk->retry_at == 0);
		}
		memcpy(ks->failed_id, zk->id, sizeof(ks->failed_id));
		ks->failed_stores = zk->stores;
		*why = zk->failure;
		return false;
	}
	*out = zk;
	return true;
}

/*!
 * The zone's key with this algorithm and tag (a tag may be shared: the first
 * usable); \a published tells whether the DNSKEY set has such a key at all.
 */
static bool key_find(mxtrap_keystore_t *ks, const knot_rdataset_t *dnskeys,
                     mxtrap_key_tag_t want, uint32_t now, zone_key_t **out,
                     bool *published, mxtrap_reason_t *why)
{
	*published = false;
	const knot_rdata_t *rdata = dnskeys->rdata;
	for (uint16_t i = 0; i < dnskeys->count; i++, rdata = knot_rdataset_next((knot_rdata_t *)rdata)) {
		dnssec_binary_t bin = { .size = rdata->len, .data = (uint8_t *)rdata->data };
		uint16_t tag = 0;
		if (rdata->len <= DNSKEY_ALG_OFFSET || rdata->data[DNSKEY_ALG_OFFSET] != want.alg ||
		    dnssec_keytag(&bin, &tag) != DNSSEC_EOK || tag != want.tag) {
			continue;
		}
		*published = true;
		ks->failed_tag = want.tag;
		ks->failed_id[0] = '\0';
		ks->failed_stores = 0;
		if (key_get(ks, rdata, now, out, why)) {
			return true;
		}
	}
	return false;
}

/*! One RRSIG over \a wire (the RRset in canonical form) with a key, as Knot writes it. */
static bool sign_one(mxtrap_keystore_t *ks, zone_key_t *zk,
                                const knot_rrset_t *covered, const dnssec_binary_t *wire,
                                uint32_t now, knot_rrset_t *rrsigs, knot_mm_t *mm)
{
	size_t signer_size = knot_dname_size(ks->zone);
	uint8_t header[RRSIG_FIXED_LEN + KNOT_DNAME_MAXLEN];
	uint8_t labels = knot_dname_labels(covered->owner, NULL) -
	                 (knot_dname_is_wildcard(covered->owner) ? 1 : 0);
	knot_wire_write_u16(header, covered->type);
	header[2] = dnssec_key_get_algorithm(zk->key);
	header[3] = labels;
	knot_wire_write_u32(header + 4, covered->ttl);
	knot_wire_write_u32(header + 8, now + ks->lifetime);
	knot_wire_write_u32(header + 12, now - INCEPTION_OFFSET);
	knot_wire_write_u16(header + 16, dnssec_key_get_keytag(zk->key));
	memcpy(header + RRSIG_FIXED_LEN, ks->zone, signer_size);

	dnssec_binary_t self = { .size = RRSIG_FIXED_LEN + signer_size, .data = header };
	dnssec_binary_t signature = { 0 };
	if (dnssec_sign_init(zk->sign) != DNSSEC_EOK ||
	    dnssec_sign_add(zk->sign, &self) != DNSSEC_EOK ||
	    dnssec_sign_add(zk->sign, wire) != DNSSEC_EOK ||
	    dnssec_sign_write(zk->sign, DNSSEC_SIGN_NORMAL, &signature) != DNSSEC_EOK) {
		return false;
	}

	size_t size = self.size + signature.size;
	uint8_t *rdata = malloc(size);
	int ret = KNOT_ENOMEM;
	if (rdata != NULL) {
		memcpy(rdata, header, self.size);
		memcpy(rdata + self.size, signature.data, signature.size);
		ret = knot_rrset_add_rdata(rrsigs, rdata, size, mm);
	}
	free(rdata);
	dnssec_binary_free(&signature);
	return ret == KNOT_EOK;
}

bool mxtrap_keystore_sign(mxtrap_keystore_t *ks, const knot_rdataset_t *dnskeys,
                          const mxtrap_key_tag_t *keys, size_t count,
                          const knot_rrset_t *covered, uint32_t now,
                          knot_rrset_t *rrsigs, knot_mm_t *mm, mxtrap_reason_t *why)
{
	*why = MXTRAP_SIGN_FAILED;
	if (ks == NULL || dnskeys == NULL || keys == NULL || covered == NULL || rrsigs == NULL ||
	    count == 0 || count > MXTRAP_MAX_SIGS) {
		return false;
	}
	/* Keys the zone does not publish (yet, or any more: an algorithm rollover
	 * signs before and after it publishes) sign nothing a validator can check. */
	zone_key_t *zone_keys[MXTRAP_MAX_SIGS];
	size_t used = 0;
	for (size_t i = 0; i < count; i++) {
		bool published;
		if (key_find(ks, dnskeys, keys[i], now, &zone_keys[used], &published, why)) {
			used++;
		} else if (published) {
			return false;
		}
	}
	if (used == 0) {
		ks->failed_tag = keys[0].tag;
		ks->failed_id[0] = '\0';
		ks->failed_stores = 0;
		*why = MXTRAP_KEY_MISSING;
		return false;
	}

	/* The canonical form (RFC 4034 6.2): names in the zone are lower-case
	 * already (Knot loads them so, the trap names are lowered at load), the
	 * owner of a wildcard answer comes from the query. */
	knot_dname_storage_t owner;
	knot_dname_copy_lower(owner, covered->owner);
	knot_rrset_t canonical = *covered;
	canonical.owner = owner;
	uint8_t *wire = malloc(KNOT_WIRE_MAX_PKTSIZE);
	if (wire == NULL) {
		return false;
	}
	int written = knot_rrset_to_wire(&canonical, wire, KNOT_WIRE_MAX_PKTSIZE, NULL);
	bool ok = written > 0;
	dnssec_binary_t data = { .size = written, .data = wire };
	for (size_t i = 0; i < used && ok; i++) {
		ok = sign_one(ks, zone_keys[i], &canonical, &data, now, rrsigs, mm);
	}
	free(wire);
	if (!ok) {
		knot_rdataset_clear(&rrsigs->rrs, mm);
	}
	return ok;
}
