/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * The C tests' helpers: files, child processes, a pool like knotd's
 * per-query memory, DNS builders, the stand-in signer. Include it first. With
 * TH_NO_CHECK (the fuzzer) a failed TH_ASSERT prints and aborts.
 */

#pragma once

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libknot/libknot.h>

#include "mxtrap/mm.h"
#include "mxtrap/signer.h"

#ifdef TH_NO_CHECK
#define TH_ASSERT(cond) ((cond) ? (void)0 : \
	(fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond), abort()))
#else
#include <check.h>
#define TH_ASSERT(cond) ck_assert_msg((cond), "%s", #cond)

/*! Runs a suite (CK_ENV verbosity); the exit status of the test program. */
static inline int th_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
#endif

#define TH_LEN(array) (sizeof(array) / sizeof((array)[0]))
/* Tables of cases leave their trailing fields zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/*** Files. ***/

/*! Makes the directory "<TMPDIR or /tmp>/mxtrap-<tag>.XXXXXX"; false if it cannot. */
static inline bool th_tmpdir(char path[PATH_MAX], const char *tag)
{
	const char *base = getenv("TMPDIR");
	snprintf(path, PATH_MAX, "%s/mxtrap-%s.XXXXXX",
	         base != NULL && *base != '\0' ? base : "/tmp", tag);
	return mkdtemp(path) != NULL;
}

static inline int th_rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw, (void)remove(path);
	return 0;
}

/*! Removes \a path and everything below it (nothing if empty). */
static inline void th_rm_rf(const char *path)
{
	(void)(path != NULL && *path != '\0' && nftw(path, th_rm_entry, 16, FTW_DEPTH | FTW_PHYS));
}

/*! A whole file, NUL-terminated, from malloc(); NULL on error (errno set). */
static inline char *th_read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	long len = f != NULL && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	char *data = len >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc(len + 1) : NULL;
	if (data != NULL) {
		*size = fread(data, 1, len, f);
		data[*size] = '\0';
	}
	bool bad = f != NULL && ferror(f);
	if ((f != NULL && fclose(f) != 0) || bad) {
		free(data);
		data = NULL;
	}
	return data;
}

static inline bool th_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok = f != NULL && fwrite(data, 1, len, f) == len;
	return f != NULL && fclose(f) == 0 && ok;
}

/*** Child processes. ***/

static inline int64_t th_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*!
 * Starts \a argv, output to \a out_fd; it dies with its parent. With an
 * ASan-built module (KNOTD_PRELOAD) Debian's knotd and knotc get the ASan
 * runtime preloaded, reports into SANITIZER_LOG_DIR/{asan,ubsan}.TAG.PID.
 */
static inline pid_t th_spawn(char *const argv[], const char *tag, int out_fd)
{
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid != 0) {
		return pid;
	}
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	const char *preload = getenv("KNOTD_PRELOAD"), *dir = getenv("SANITIZER_LOG_DIR");
	if (preload != NULL && *preload != '\0') {
		static const char *const SAN[][3] = {
			{ "ASAN_OPTIONS", "asan", "detect_leaks=1" },
			{ "UBSAN_OPTIONS", "ubsan", "print_stacktrace=1" },
		};
		bool logs = dir != NULL && *dir != '\0' && (mkdir(dir, 0755) == 0 || errno == EEXIST);
		setenv("LD_PRELOAD", preload, 1);
		for (int i = 0; i < 2; i++) {
			char opts[PATH_MAX + 64];
			int n = logs ? snprintf(opts, PATH_MAX, "log_path=%s/%s.%s:", dir, SAN[i][1], tag) : 0;
			n = n < PATH_MAX ? n : PATH_MAX - 1;
			snprintf(opts + n, sizeof(opts) - n, "halt_on_error=1:%s", SAN[i][2]);
			setenv(SAN[i][0], opts, 1);
		}
	}
	int devnull = open("/dev/null", O_RDONLY);
	if (getppid() != parent || devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0) {
		_exit(127);
	}
	execvp(argv[0], argv);
	_exit(127);
}

/*! Waits up to \a timeout_ms for \a pid, then kills it; its wait status. */
static inline int th_reap(pid_t pid, int timeout_ms)
{
	int status = -1;
	int64_t deadline = th_now_ms() + timeout_ms;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (th_now_ms() > deadline) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			break;
		}
		(void)poll(NULL, 0, 10);
	}
	return status;
}

/*! Runs \a argv for at most \a timeout_ms, its output in \a out (cut); the wait status. */
static inline int th_run(char *const argv[], const char *tag, char *out, size_t outlen,
                         int timeout_ms)
{
	FILE *f = tmpfile();
	out[0] = '\0';
	if (f == NULL) {
		return -1;
	}
	pid_t pid = th_spawn(argv, tag, fileno(f));
	int status = pid > 0 ? th_reap(pid, timeout_ms) : -1;
	rewind(f);
	out[fread(out, 1, outlen - 1, f)] = '\0';
	fclose(f);
	return status;
}

/*** Memory like knotd's per-query pool: freed at once by th_pool_release(). ***/

typedef struct th_block {
	struct th_block *next;
	max_align_t data[];
} th_block_t;

static struct {
	th_block_t *blocks;
	unsigned countdown;  /*!< This allocation from now fails (0: none). */
	bool failed;         /*!< It has. */
} th_mem __attribute__((unused));

/*! Makes the \a n-th allocation from now fail (th_pool and the fuzzer's heap; 0: none). */
static inline void th_fail_alloc(unsigned n)
{
	th_mem.countdown = n;
	th_mem.failed = false;
}

static inline bool th_alloc_fails(void)
{
	if (th_mem.countdown == 0 || --th_mem.countdown > 0) {
		return false;
	}
	th_mem.failed = true;
	return true;
}

/*! A block of the pool; never fails. */
static inline void *th_pool_get(size_t len)
{
	th_block_t *block = malloc(sizeof(*block) + len);
	TH_ASSERT(block != NULL);
	block->next = th_mem.blocks;
	th_mem.blocks = block;
	return block->data;
}

static inline void *th_pool_alloc(void *fails, size_t len)
{
	return fails != NULL && th_alloc_fails() ? NULL : th_pool_get(len);
}

/*! The pool for packets (allocations fail as th_fail_alloc() says), for the tests' data. */
static knot_mm_t th_pool __attribute__((unused)) = { .ctx = &th_mem, .alloc = th_pool_alloc };
static knot_mm_t th_scratch __attribute__((unused)) = { .alloc = th_pool_alloc };

static inline void th_pool_release(void)
{
	while (th_mem.blocks != NULL) {
		th_block_t *next = th_mem.blocks->next;
		free(th_mem.blocks);
		th_mem.blocks = next;
	}
}

static inline void *th_dup(const void *data, size_t len)
{
	void *copy = th_pool_get(len > 0 ? len : 1);
	return len > 0 ? memcpy(copy, data, len) : copy;
}

/*** DNS records and packets (from th_scratch). ***/

static inline knot_dname_t *th_dname(const char *text)
{
	knot_dname_storage_t name;
	TH_ASSERT(knot_dname_from_str(name, text, sizeof(name)) != NULL);
	return th_dup(name, knot_dname_size(name));
}

static inline knot_rrset_t *th_rrset(const char *owner, uint16_t type, uint32_t ttl)
{
	knot_rrset_t *rr = knot_rrset_new(th_dname(owner), type, KNOT_CLASS_IN, ttl, &th_scratch);
	TH_ASSERT(rr != NULL);
	return rr;
}

static inline void th_add(knot_rrset_t *rr, const void *rdata, size_t len)
{
	TH_ASSERT(knot_rrset_add_rdata(rr, rdata, len, &th_scratch) == KNOT_EOK);
}

/*! The MX RRset "PREF NAME PREF NAME ..." (absolute names) at \a owner, TTL 3600. */
static inline knot_rrset_t *th_mx(const char *owner, const char *records)
{
	knot_rrset_t *rr = th_rrset(owner, KNOT_RRTYPE_MX, 3600);
	char copy[2048], *save = NULL;
	snprintf(copy, sizeof(copy), "%s", records);
	for (char *pref = strtok_r(copy, " ", &save); pref != NULL; pref = strtok_r(NULL, " ", &save)) {
		uint8_t rdata[2 + KNOT_DNAME_MAXLEN];
		knot_wire_write_u16(rdata, atoi(pref));
		knot_dname_t *name = th_dname(strtok_r(NULL, " ", &save));
		memcpy(rdata + 2, name, knot_dname_size(name));
		th_add(rr, rdata, 2 + knot_dname_size(name));
	}
	return rr;
}

static inline knot_rrset_t *th_cname(const char *owner, const knot_dname_t *target)
{
	knot_rrset_t *rr = th_rrset(owner, KNOT_RRTYPE_CNAME, 300);
	th_add(rr, target, knot_dname_size(target));
	return rr;
}

/*! A query (EDNS payload \a edns, 0: no EDNS) in \a out; its size. */
static inline size_t th_query(uint8_t *out, uint16_t id, const char *qname, uint16_t qtype,
                              uint16_t edns, bool dnssec_ok)
{
	knot_pkt_t *pkt = knot_pkt_new(NULL, 512, &th_scratch);
	TH_ASSERT(knot_pkt_put_question(pkt, th_dname(qname), KNOT_CLASS_IN, qtype) == KNOT_EOK);
	knot_rrset_t opt;
	if (edns > 0) {
		TH_ASSERT(knot_edns_init(&opt, edns, 0, 0, &th_scratch) == KNOT_EOK);
		if (dnssec_ok) {
			knot_edns_set_do(&opt);
		}
		TH_ASSERT(knot_pkt_begin(pkt, KNOT_ADDITIONAL) == KNOT_EOK &&
		          knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &opt, 0) == KNOT_EOK);
	}
	knot_wire_set_id(pkt->wire, id);
	memcpy(out, pkt->wire, pkt->size);
	return pkt->size;
}

/*! A response to an MX query as knotd has it when ANSWER begins (from th_pool). */
static inline knot_pkt_t *th_response(const char *qname, size_t max_size, uint16_t reserved)
{
	knot_pkt_t *pkt = knot_pkt_new(NULL, max_size > 0 ? max_size : KNOT_WIRE_MAX_PKTSIZE, &th_pool);
	TH_ASSERT(pkt != NULL);
	knot_wire_set_qr(pkt->wire);
	knot_wire_set_aa(pkt->wire);
	TH_ASSERT(knot_pkt_put_question(pkt, th_dname(qname), KNOT_CLASS_IN, KNOT_RRTYPE_MX) == KNOT_EOK &&
	          knot_pkt_reserve(pkt, reserved) == KNOT_EOK &&
	          knot_pkt_begin(pkt, KNOT_ANSWER) == KNOT_EOK);
	return pkt;
}

/*! knot_pkt_put() as knotd does: with KNOT_PF_FREE, a copy the packet owns. */
static inline int th_put(knot_pkt_t *pkt, uint16_t hint, const knot_rrset_t *rr, uint16_t flags)
{
	if (!(flags & KNOT_PF_FREE)) {
		return knot_pkt_put(pkt, hint, rr, flags);
	}
	knot_rrset_t *copy = knot_rrset_copy(rr, &pkt->mm);
	if (copy == NULL) {
		return KNOT_ENOMEM;
	}
	int ret = knot_pkt_put(pkt, hint, copy, flags);
	if (ret == KNOT_EOK) {
		mm_put(&pkt->mm, copy);  /* The packet holds the contents now. */
	} else {
		knot_rrset_free(copy, &pkt->mm);
	}
	return ret;
}

/*!
 * th_response() with [QNAME CNAME the MX owner,] \a mx put with \a flags;
 * the result of the last put in \a ret.
 */
static inline knot_pkt_t *th_answer(const char *qname, const knot_rrset_t *mx, size_t max_size,
                                    uint16_t reserved, uint16_t flags, int *ret)
{
	knot_pkt_t *pkt = th_response(qname, max_size, reserved);
	bool cname = !knot_dname_is_equal(knot_pkt_qname(pkt), mx->owner);
	*ret = cname ? knot_pkt_put(pkt, KNOT_COMPR_HINT_QNAME, th_cname(qname, mx->owner), 0) :
	       KNOT_EOK;
	*ret = *ret != KNOT_EOK ? *ret :
	       th_put(pkt, cname ? KNOT_COMPR_HINT_NONE : KNOT_COMPR_HINT_QNAME, mx, flags);
	return pkt;
}

/*! The wire of \a pkt parsed again as a resolver does (from th_scratch); NULL if refused. */
static inline knot_pkt_t *th_reparse(const knot_pkt_t *pkt)
{
	knot_pkt_t *parsed = knot_pkt_new(th_dup(pkt->wire, pkt->size), pkt->size, &th_scratch);
	TH_ASSERT(parsed != NULL);
	if (knot_pkt_parse(parsed, 0) != KNOT_EOK) {
		knot_pkt_free(parsed);
		return NULL;
	}
	return parsed;
}

/*** RRSIGs and the stand-in signing function. ***/

/*! RRSIG RDATA up to the signer's name. */
#define TH_RRSIG_FIXED		18
/*! The signer's name of the test RRSIGs. */
#define TH_SIGNER		((const knot_dname_t *)"\x07""example""\x03""com")
/*! Signature inception before the signing time (Knot's: 90 minutes). */
#define TH_INCEPTION_AGO	5400u

/*! RRSIG RDATA signed by TH_SIGNER with the signature \a sig; its length. */
static inline size_t th_rrsig_rdata(uint8_t *out, uint16_t covered, mxtrap_key_tag_t key,
                                    uint8_t labels, uint32_t ttl, uint32_t expiration,
                                    uint32_t inception, const void *sig, size_t sig_len)
{
	knot_wire_write_u16(out, covered);
	out[2] = key.alg;
	out[3] = labels;
	knot_wire_write_u32(out + 4, ttl);
	knot_wire_write_u32(out + 8, expiration);
	knot_wire_write_u32(out + 12, inception);
	knot_wire_write_u16(out + 16, key.tag);
	size_t len = TH_RRSIG_FIXED + knot_dname_size(TH_SIGNER);
	memcpy(out + TH_RRSIG_FIXED, TH_SIGNER, len - TH_RRSIG_FIXED);
	memcpy(out + len, sig, sig_len);
	return len + sig_len;
}

/*! Labels an RRSIG over \a owner declares (a leading "*" does not count). */
static inline uint8_t th_sig_labels(const knot_dname_t *owner)
{
	return knot_dname_labels(owner, NULL) - (knot_dname_is_wildcard(owner) ? 1 : 0);
}

/*!
 * What an RRSIG over \a covered signs (RFC 4034 3.1.8.1): its RDATA up to
 * the signature, then the RRset at the owner its labels give (RFC 4035
 * 5.3.2), lower-case, with the original TTL; with \a validator in canonical
 * form (RFC 4034 6.2) as a validator rebuilds it, else as the key store signs
 * it. The length (0: malformed RRSIG), the signature's offset in \a sig_at.
 */
static inline size_t th_signed_data(const knot_rdata_t *rrsig, const knot_rrset_t *covered,
                                    bool validator, uint8_t *out, size_t outlen, size_t *sig_at)
{
	if (rrsig->len <= TH_RRSIG_FIXED ||
	    knot_dname_wire_check(rrsig->data + TH_RRSIG_FIXED, rrsig->data + rrsig->len, NULL) <= 0) {
		return 0;
	}
	*sig_at = TH_RRSIG_FIXED + knot_dname_size(rrsig->data + TH_RRSIG_FIXED);
	knot_dname_storage_t owner;
	knot_dname_copy_lower(owner, covered->owner);
	const knot_dname_t *suffix = owner + (knot_dname_is_wildcard(owner) ? 2 : 0);
	size_t labels = th_sig_labels(owner);
	if (knot_rrsig_labels(rrsig) < labels) {
		for (size_t i = knot_rrsig_labels(rrsig); i < labels; i++) {
			suffix += 1 + *suffix;
		}
		memmove(owner + 2, suffix, knot_dname_size(suffix));
		owner[0] = 1;
		owner[1] = '*';
	}
	knot_rrset_t rrset = *covered;
	rrset.owner = owner;
	rrset.ttl = knot_rrsig_original_ttl(rrsig);
	if (validator) {
		knot_rdataset_init(&rrset.rrs);
		const knot_rdata_t *rd = covered->rrs.rdata;
		for (uint16_t i = 0; i < covered->rrs.count; i++) {
			knot_rrset_t one = rrset;
			knot_rdataset_init(&one.rrs);
			TH_ASSERT(knot_rdataset_add(&one.rrs, rd, &th_scratch) == KNOT_EOK);
			(void)knot_rrset_rr_to_canonical(&one);
			TH_ASSERT(knot_rdataset_add(&rrset.rrs, one.rrs.rdata, &th_scratch) == KNOT_EOK);
			rd = knot_rdataset_next((knot_rdata_t *)rd);
		}
	}
	int len = knot_rrset_to_wire(&rrset, out + *sig_at, outlen - *sig_at, NULL);
	if (len <= 0) {
		return 0;
	}
	memcpy(out, rrsig->data, *sig_at);
	return *sig_at + len;
}

/*!
 * The stand-in signing function (an mxtrap_sign_f, context &th_stand_in):
 * one RRSIG per key given, made as the key store makes them (inception
 * TH_INCEPTION_AGO before its clock, expiration valid_for after), the
 * signature a hash th_stand_in_verify() checks as a validator would; or it
 * fails as told.
 */
static struct {
	uint32_t now;              /*!< Its clock, the signer's (th_stand_in_clock). */
	uint32_t valid_for;        /*!< Signatures expire this long after signing. */
	bool fail;                 /*!< Fail with \a reason. */
	mxtrap_reason_t reason;
	int extra;                 /*!< Signatures beyond one per key (< 0: the last keys left out). */
	int calls;
	/* The last call. */
	void *query;
	mxtrap_key_tag_t keys[MXTRAP_MAX_SIGS];
	size_t count;
} th_stand_in __attribute__((unused));

static inline uint32_t th_stand_in_clock(void)
{
	return th_stand_in.now;
}

/*! The stand-in's signature in \a rrsig over \a covered: FNV-1a over the signed data (0: none). */
static inline uint64_t th_stand_in_hash(const knot_rdata_t *rrsig, const knot_rrset_t *covered,
                                        bool validator, size_t *sig_at)
{
	static uint8_t data[KNOT_WIRE_MAX_PKTSIZE];
	size_t len = th_signed_data(rrsig, covered, validator, data, sizeof(data), sig_at);
	uint64_t hash = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		hash = (hash ^ data[i]) * 0x100000001b3ULL;
	}
	return len > 0 ? hash : 0;
}

/*! An RRSIG of the stand-in verifies over \a covered (the records a validator has). */
static inline bool th_stand_in_verify(const knot_rdata_t *rrsig, const knot_rrset_t *covered)
{
	size_t sig_at = 0;
	uint64_t hash = th_stand_in_hash(rrsig, covered, true, &sig_at);
	return hash != 0 && rrsig->len == sig_at + 8 && knot_wire_read_u64(rrsig->data + sig_at) == hash;
}

static inline bool th_stand_in_sign(void *ctx, void *query, const mxtrap_key_tag_t *keys,
                                    size_t count, const knot_rrset_t *covered, uint32_t now,
                                    knot_rrset_t *rrsigs, knot_mm_t *mm, mxtrap_reason_t *why)
{
	TH_ASSERT(ctx == &th_stand_in && count >= 1 && count <= MXTRAP_MAX_SIGS);
	TH_ASSERT(rrsigs->type == KNOT_RRTYPE_RRSIG && rrsigs->rrs.count == 0 &&
	          rrsigs->ttl == covered->ttl && knot_dname_is_equal(rrsigs->owner, covered->owner));
	th_stand_in.calls++;
	th_stand_in.query = query;
	memcpy(th_stand_in.keys, keys, count * sizeof(*keys));
	th_stand_in.count = count;
	*why = th_stand_in.reason;
	if (th_stand_in.fail) {
		return false;
	}
	*why = MXTRAP_SIGN_FAILED;
	for (int i = 0; i < (int)count + th_stand_in.extra; i++) {
		/* An extra one: the last key again, a second earlier. */
		mxtrap_key_tag_t key = keys[i < (int)count ? i : (int)count - 1];
		uint8_t rdata[TH_RRSIG_FIXED + KNOT_DNAME_MAXLEN + 8];
		size_t len = th_rrsig_rdata(rdata, covered->type, key, th_sig_labels(covered->owner),
		                            covered->ttl, now + th_stand_in.valid_for,
		                            now - TH_INCEPTION_AGO - (i >= (int)count), "", 0);
		size_t sig_at = 0;
		knot_rdata_t *header = th_pool_get(knot_rdata_size(len));
		knot_rdata_init(header, len, rdata);
		uint64_t hash = th_stand_in_hash(header, covered, false, &sig_at);
		TH_ASSERT(hash != 0);
		knot_wire_write_u64(rdata + sig_at, hash);
		if (knot_rrset_add_rdata(rrsigs, rdata, sig_at + 8, mm) != KNOT_EOK) {
			return false;  /* No memory (the fuzzer's failing allocation). */
		}
	}
	return true;
}
