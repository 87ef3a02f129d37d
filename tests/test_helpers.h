/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * The helpers of the C tests, each written once: files and temporary
 * directories, child processes (knotd, knotc) with the sanitizer environment,
 * Check's runner, memory like knotd's per-query pool, DNS packet builders, and
 * the stand-in signing function of the signed-path tests and the fuzzer.
 *
 * Include it first (it sets _GNU_SOURCE). Assertions are Check's; with
 * TH_NO_CHECK defined (the fuzzer) a failed one prints and aborts.
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
#define TH_ASSERT(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)
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
	(void)st, (void)type, (void)ftw;
	(void)remove(path);
	return 0;
}

/*! Removes \a path and everything below it (nothing if empty). */
static inline void th_rm_rf(const char *path)
{
	if (path != NULL && *path != '\0') {
		(void)nftw(path, th_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

/*! A whole file, NUL-terminated, from malloc(); NULL on error (errno set). */
static inline char *th_read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return NULL;
	}
	char *data = NULL;
	size_t len = 0, cap = 0, n = 0;
	bool ok = true;
	do {
		if (cap - len < 4096) {
			cap = 2 * cap + 4096;
			char *bigger = realloc(data, cap + 1);
			ok = bigger != NULL;
			data = ok ? bigger : data;
		}
		n = ok ? fread(data + len, 1, cap - len, f) : 0;
		len += n;
	} while (n > 0);
	if (!ok || ferror(f)) {
		free(data);
		data = NULL;
	} else {
		data[len] = '\0';
		*size = len;
	}
	fclose(f);
	return data;
}

static inline bool th_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		return false;
	}
	bool ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static inline bool th_copy_file(const char *from, const char *to)
{
	size_t len = 0;
	char *data = th_read_file(from, &len);
	bool ok = data != NULL && th_write_file(to, data, len);
	free(data);
	return ok;
}

/*** Child processes. ***/

static inline int64_t th_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void th_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR);
}

/*!
 * The environment of knotd and knotc children: ours, or with an ASan-built
 * module (KNOTD_PRELOAD, set by meson with -Db_sanitize) a copy that preloads
 * the ASan runtime into Debian's uninstrumented binaries, reports into
 * SANITIZER_LOG_DIR/{asan,ubsan}.TAG.PID, stopping at the first error. The
 * test programs keep their own environment. Build it before fork().
 */
static inline char **th_child_env(const char *tag)
{
	extern char **environ;
	const char *preload = getenv("KNOTD_PRELOAD");
	if (preload == NULL || preload[0] == '\0') {
		return environ;
	}
	const char *logdir = getenv("SANITIZER_LOG_DIR");
	char asan_log[PATH_MAX] = "", ubsan_log[PATH_MAX] = "";
	if (logdir != NULL && logdir[0] != '\0') {
		if (mkdir(logdir, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "# mkdir %s: %s\n", logdir, strerror(errno));
		}
		snprintf(asan_log, sizeof(asan_log), "log_path=%s/asan.%s:", logdir, tag);
		snprintf(ubsan_log, sizeof(ubsan_log), "log_path=%s/ubsan.%s:", logdir, tag);
	}
	size_t n = 0;
	while (environ[n] != NULL) {
		n++;
	}
	char **env = calloc(n + 4, sizeof(char *));
	char *extra[3] = { NULL };
	if (env == NULL ||
	    asprintf(&extra[0], "LD_PRELOAD=%s", preload) < 0 ||
	    asprintf(&extra[1], "ASAN_OPTIONS=%shalt_on_error=1:detect_leaks=1", asan_log) < 0 ||
	    asprintf(&extra[2], "UBSAN_OPTIONS=%shalt_on_error=1:print_stacktrace=1", ubsan_log) < 0) {
		perror("th_child_env");
		exit(EXIT_FAILURE);
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
		    strncmp(environ[i], "ASAN_OPTIONS=", 13) != 0 &&
		    strncmp(environ[i], "UBSAN_OPTIONS=", 14) != 0) {
			env[k++] = environ[i];
		}
	}
	for (size_t i = 0; i < 3; i++) {
		env[k++] = extra[i];
	}
	env[k] = NULL;
	return env;
}

/*!
 * Starts \a argv (argv[0] without a slash is looked up in PATH) with \a envp,
 * stdout and stderr to \a out_fd, stdin from /dev/null. The child dies with
 * its parent and keeps no other descriptor. Returns its PID, -1 on error.
 */
static inline pid_t th_spawn(char *const argv[], char *const envp[], int out_fd)
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
	int devnull = open("/dev/null", O_RDONLY);
	if (getppid() != parent || devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0) {
		_exit(127);
	}
	for (int fd = STDERR_FILENO + 1; fd < 1024; fd++) {
		(void)close(fd);
	}
	execvpe(argv[0], argv, envp);
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
		th_sleep_ms(10);
	}
	return status;
}

/*!
 * Runs \a argv for at most \a timeout_ms, its stdout and stderr in \a out
 * (NUL-terminated, cut to \a outlen); the wait status, -1 if it did not start.
 */
static inline int th_run(char *const argv[], char *const envp[], char *out, size_t outlen,
                         int timeout_ms)
{
	int fds[2];
	out[0] = '\0';
	if (pipe(fds) != 0) {
		return -1;
	}
	pid_t pid = th_spawn(argv, envp, fds[1]);
	close(fds[1]);
	int64_t deadline = th_now_ms() + timeout_ms;
	size_t used = 0;
	struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
	while (pid > 0 && th_now_ms() < deadline) {
		int ready = poll(&pfd, 1, (int)(deadline - th_now_ms()));
		if (ready < 0 && errno == EINTR) {
			continue;
		}
		char sink[512];
		ssize_t n = ready <= 0 ? -1 : used + 1 < outlen ?
		            read(fds[0], out + used, outlen - 1 - used) : read(fds[0], sink, sizeof(sink));
		if (n <= 0) {
			break;
		}
		used += used + 1 < outlen ? (size_t)n : 0;
	}
	out[used] = '\0';
	close(fds[0]);
	return pid > 0 ? th_reap(pid, (int)(deadline > th_now_ms() ? deadline - th_now_ms() : 0)) : -1;
}

/*** Memory like knotd's per-query pool: freed at once by th_pool_release(). ***/

typedef struct th_block {
	struct th_block *next;
	max_align_t data[];
} th_block_t;

static struct {
	th_block_t *blocks;
	unsigned countdown;  /*!< The countdown-th allocation from now fails (0: none). */
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

static inline void *th_pool_alloc(void *ctx, size_t len)
{
	(void)ctx;
	return th_alloc_fails() ? NULL : th_pool_get(len);
}

static inline void *th_scratch_alloc(void *ctx, size_t len)
{
	(void)ctx;
	return th_pool_get(len);
}

/*! The pool as a memory context: for packets (allocations fail as th_fail_alloc() says). */
static knot_mm_t th_pool __attribute__((unused)) = { .alloc = th_pool_alloc };
/*! The same for the tests' own data: never fails. */
static knot_mm_t th_scratch __attribute__((unused)) = { .alloc = th_scratch_alloc };

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

static inline knot_rrset_t *th_cname(const char *owner, const char *target)
{
	knot_rrset_t *rr = th_rrset(owner, KNOT_RRTYPE_CNAME, 300);
	knot_dname_t *name = th_dname(target);
	th_add(rr, name, knot_dname_size(name));
	return rr;
}

/*!
 * A response to \a qname (NULL: no question) as knotd has it when ANSWER
 * begins: ID and flags of \a header (NULL: none) with QR and AA, \a reserved
 * octets reserved, at most \a max_size octets (0: 65535).
 */
static inline knot_pkt_t *th_response(const knot_dname_t *qname, uint16_t qtype,
                                      const uint8_t *header, size_t max_size,
                                      uint16_t reserved, knot_mm_t *mm)
{
	knot_pkt_t *pkt = knot_pkt_new(NULL, max_size > 0 ? max_size : KNOT_WIRE_MAX_PKTSIZE, mm);
	TH_ASSERT(pkt != NULL);
	if (header != NULL) {
		memcpy(pkt->wire, header, 4);
	}
	knot_wire_set_qr(pkt->wire);
	knot_wire_set_aa(pkt->wire);
	TH_ASSERT(qname == NULL ||
	          knot_pkt_put_question(pkt, qname, KNOT_CLASS_IN, qtype) == KNOT_EOK);
	TH_ASSERT(knot_pkt_reserve(pkt, reserved) == KNOT_EOK);
	TH_ASSERT(knot_pkt_begin(pkt, KNOT_ANSWER) == KNOT_EOK);
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
 * What an RRSIG over \a covered signs (RFC 4034 3.1.8.1): its RDATA up to the
 * signature, then the RRset at the owner its labels give (the owner, or "*."
 * and the owner's last labels: RFC 4035 5.3.2), lower-case, with the original
 * TTL. \a validator: the RRset in canonical form (RFC 4034 6.2, 6.3) as a
 * validator rebuilds it; else its records as they are, as the key store signs
 * them. The length (0: malformed RRSIG), the signature's offset in \a sig_at.
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
 * one RRSIG per key it is given, made as the key store makes them (labels,
 * original TTL, inception TH_INCEPTION_AGO before its clock, expiration
 * valid_for after, over the records as given), the signature a hash that
 * th_stand_in_verify() checks as a validator would; or it fails as told.
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

/*! The stand-in's 8-octet signature: FNV-1a over the signed data. */
static inline uint64_t th_stand_in_hash(const uint8_t *data, size_t len)
{
	uint64_t hash = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		hash = (hash ^ data[i]) * 0x100000001b3ULL;
	}
	return hash;
}

/*! An RRSIG of the stand-in verifies over \a covered (the records a validator has). */
static inline bool th_stand_in_verify(const knot_rdata_t *rrsig, const knot_rrset_t *covered)
{
	uint8_t data[KNOT_WIRE_MAX_PKTSIZE];
	size_t sig_at = 0;
	size_t len = th_signed_data(rrsig, covered, true, data, sizeof(data), &sig_at);
	uint8_t sig[8];
	knot_wire_write_u64(sig, th_stand_in_hash(data, len));
	return len > 0 && rrsig->len == sig_at + sizeof(sig) &&
	       memcmp(rrsig->data + sig_at, sig, sizeof(sig)) == 0;
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
		uint8_t data[KNOT_WIRE_MAX_PKTSIZE];
		size_t sig_at = 0;
		knot_rdata_t *header = th_dup(rdata, knot_rdata_size(len));
		knot_rdata_init(header, len, rdata);
		len = th_signed_data(header, covered, false, data, sizeof(data), &sig_at);
		TH_ASSERT(len > 0);
		knot_wire_write_u64(rdata + sig_at, th_stand_in_hash(data, len));
		if (knot_rrset_add_rdata(rrsigs, rdata, sig_at + 8, mm) != KNOT_EOK) {
			return false;  /* No memory (the fuzzer's failing allocation). */
		}
	}
	return true;
}
