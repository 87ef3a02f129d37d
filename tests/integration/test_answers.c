/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Proves that knotd with the module answers as knotd serving the zone with
 * the traps written by hand (server A: the module on zones/NAME.zone; B:
 * zones/NAME.trap.zone, no module): over UDP (EDNS sizes, DO) and TCP, byte
 * for byte up to ADDITIONAL (ARCOUNT aside), ADDITIONAL as a set (OPT too);
 * each case also asserts the traps are (or are not) in A's answer. Then the
 * module's counters, and a clean knotd exit on SIGTERM. DNS over TLS and
 * QUIC: transports.sh. KNOTD_WRAPPER (split at spaces: tests/valgrind.sh)
 * goes in front of knotd, MXTRAP_TIMEOUT_SCALE multiplies the time bounds,
 * MXTRAP_KEEP_TMP=1 keeps the directories.
 */

#include "../test_helpers.h"
#include "mxtrap/compat.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define MAX_MSG		65535

typedef struct {
	const char *label;
	char dir[PATH_MAX], conf[PATH_MAX + 16], sock[PATH_MAX + 16], log[PATH_MAX + 16];
	pid_t pid;        /*!< 0: not running. */
	uint16_t port;    /*!< On 127.0.0.1. */
	int exit_status;  /*!< Of the stop, -1: none. */
} server_t;

enum { SRV_A, SRV_B };
static server_t g_srv[2] = { { .label = "A", .exit_status = -1 },
                             { .label = "B", .exit_status = -1 } };
static char g_setup_err[1024];  /*!< Why the servers do not run. */
static const char *g_module, *g_knotd, *g_knotc, *g_zonedir;
static char *g_wrapper[33];
static int g_scale = 1;         /*!< Of the time bounds. */

/*! The zones; A: the first file, with the module instance; B: the second. */
static const struct {
	const char *name, *module, *file_a, *file_b;
	bool sign;
} ZONES[] = {
	{ "example.com.",   "mod-mxtrap",          "example.com.zone",   "example.com.trap.zone" },
	{ "plain.test.",    "mod-mxtrap",          "plain.test.zone",    "plain.test.zone" },
	{ "exout.test.",    "mod-mxtrap/exout",    "exout.test.zone",    "exout.test.trap.zone" },
	{ "exin.test.",     "mod-mxtrap/exin",     "exin.test.zone",     "exin.test.trap.zone" },
	{ "nobackup.test.", "mod-mxtrap/nobackup", "nobackup.test.zone", "nobackup.test.trap.zone" },
	{ "nomod.test.",    NULL,                  "nomod.test.zone",    "nomod.test.zone" },
	{ "signed.test.",   "mod-mxtrap/nosign",   "signed.test.zone",   "signed.test.trap.zone", true },
};

static const char MODULE_SECTIONS[] =
	"mod-mxtrap:\n"
	"  - id: exout\n    exchange: trap.example.org.\n    preference: 500\n"
	"  - id: exin\n    exchange: [ decoy.exin.test., mx1.exin.test. ]\n    preference: 500\n"
	"  - id: nobackup\n    require-backup: off\n"
	"  - id: nosign\n    dnssec: off\n";  /* Signed answers left alone (tests/dnssec signs). */

static const char *env_or(const char *name, const char *dflt)
{
	const char *val = getenv(name);
	return val != NULL && val[0] != '\0' ? val : dflt;
}

/*!
 * The end of a server's log on one line, for messages; from its first
 * sanitizer report where it has one (UBSan under ASan may write there rather
 * than to SANITIZER_LOG_DIR).
 */
static const char *log_tail(const server_t *srv, char *out, size_t outlen)
{
	size_t len = 0;
	char *log = th_read_file(srv->log, &len);
	const char *from = log == NULL ? "" : log + (len >= outlen ? len - outlen + 1 : 0);
	static const char *const REPORTS[] = { "runtime error", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer" };
	for (size_t i = 0; log != NULL && i < TH_LEN(REPORTS); i++) {
		const char *at = strstr(log, REPORTS[i]);
		if (at != NULL && at < from) {
			from = at;
		}
	}
	snprintf(out, outlen, "%s", from);
	free(log);
	for (char *p = strchr(out, '\n'); p != NULL; p = strchr(p, '\n')) {
		*p = '|';
	}
	return out;
}

/*** DNS over UDP and TCP on 127.0.0.1. ***/

static struct sockaddr_in loopback(uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
	                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

/*! One query, its answer in \a resp; the answer's size, -1: none in time. */
static int exchange(const server_t *srv, bool tcp, const uint8_t *query, size_t qlen,
                    uint8_t *resp, int timeout_ms)
{
	int64_t deadline = th_now_ms() + timeout_ms;
	struct sockaddr_in sa = loopback(srv->port);
	uint8_t buf[2 + MAX_MSG];
	knot_wire_write_u16(buf, qlen);
	memcpy(buf + 2, query, qlen);
	int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t got = -1, need = tcp ? 2 : 1, n = 0;
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    send(fd, buf + (tcp ? 0 : 2), qlen + (tcp ? 2 : 0), MSG_NOSIGNAL) > 0) {
		/* TCP: the length, then the message; UDP: one datagram. */
		for (got = 0; got < need; got += n) {
			int64_t left = deadline - th_now_ms();
			if (left <= 0 || poll(&pfd, 1, (int)left) != 1 ||
			    (n = recv(fd, buf + got, sizeof(buf) - got, 0)) <= 0) {
				break;
			}
			need = tcp && got + n >= 2 ? 2 + knot_wire_read_u16(buf) : need;
		}
		got = got >= need ? got - (tcp ? 2 : 0) : -1;
		memcpy(resp, buf + (tcp ? 2 : 0), got > 0 ? got : 0);
	}
	if (fd >= 0) {
		close(fd);
	}
	return got;
}

/*! A port free for UDP and TCP on 127.0.0.1, 0 if none. */
static uint16_t free_port(void)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		struct sockaddr_in sa = loopback(0);
		socklen_t len = sizeof(sa);
		int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool ok = bind(udp, (struct sockaddr *)&sa, len) == 0 &&
		          getsockname(udp, (struct sockaddr *)&sa, &len) == 0 &&
		          bind(tcp, (struct sockaddr *)&sa, len) == 0;
		close(udp);
		close(tcp);
		if (ok && ntohs(sa.sin_port) >= 1024) {
			return ntohs(sa.sin_port);
		}
	}
	return 0;
}

/*** The servers. ***/

static bool write_config(server_t *srv, bool module_side)
{
	FILE *f = fopen(srv->conf, "w");
	if (f == NULL) {
		return false;
	}
	if (module_side) {
		fprintf(f, "module:\n  - id: mod-mxtrap\n    file: \"%s\"\n%s", g_module, MODULE_SECTIONS);
	}
	fprintf(f, "server:\n    rundir: \"%s\"\n    listen: 127.0.0.1@%u\n"
	           "    udp-workers: 2\n    tcp-workers: 2\n    background-workers: 2\n"
	           "log:\n  - target: stderr\n    any: info\ncontrol:\n    listen: \"%s\"\n"
	           "database:\n    storage: \"%s\"\n"
	           "template:\n  - id: default\n    storage: \"%s\"\n    zonefile-sync: -1\nzone:\n",
	        srv->dir, srv->port, srv->sock, srv->dir, srv->dir);
	for (size_t i = 0; i < TH_LEN(ZONES); i++) {
		fprintf(f, "  - domain: %s\n    file: \"%s/%s\"\n", ZONES[i].name, g_zonedir,
		        module_side ? ZONES[i].file_a : ZONES[i].file_b);
		if (module_side && ZONES[i].module != NULL) {
			fprintf(f, "    module: %s\n", ZONES[i].module);
		}
		if (module_side && ZONES[i].sign) {
			fprintf(f, "    dnssec-signing: on\n");
		}
	}
	return fclose(f) == 0;
}

/*! \a qname \a qtype gets an authoritative answer with records. */
static bool probe(const server_t *srv, const char *qname, uint16_t qtype)
{
	uint8_t query[512], resp[MAX_MSG];
	size_t qlen = th_query(query, 0x5eed, qname, qtype, 1232, false);
	int len = exchange(srv, false, query, qlen, resp, 200 * g_scale);
	return len >= KNOT_WIRE_HEADER_SIZE && knot_wire_get_rcode(resp) == KNOT_RCODE_NOERROR &&
	       knot_wire_get_aa(resp) && knot_wire_get_ancount(resp) > 0;
}

/*! Starts a server, until every zone answers (on another port if knotd exits). */
static bool server_start(server_t *srv, bool module_side)
{
	if (!th_tmpdir(srv->dir, module_side ? "it-A" : "it-B")) {
		snprintf(g_setup_err, sizeof(g_setup_err), "mkdtemp: %s", strerror(errno));
		return false;
	}
	snprintf(srv->conf, sizeof(srv->conf), "%s/knot.conf", srv->dir);
	snprintf(srv->sock, sizeof(srv->sock), "%s/knot.sock", srv->dir);
	snprintf(srv->log, sizeof(srv->log), "%s/knotd.log", srv->dir);
	char *argv[TH_LEN(g_wrapper) + 3], tag[16];
	size_t argc = 0;
	for (; g_wrapper[argc] != NULL; argc++) {
		argv[argc] = g_wrapper[argc];
	}
	memcpy(argv + argc, (char *[]){ (char *)g_knotd, "-c", srv->conf, NULL }, 4 * sizeof(char *));
	snprintf(tag, sizeof(tag), "knotd-%s", srv->label);
	for (int attempt = 0; attempt < 3 && srv->pid == 0; attempt++) {
		srv->port = free_port();
		int fd = open(srv->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (srv->port == 0 || fd < 0 || !write_config(srv, module_side)) {
			snprintf(g_setup_err, sizeof(g_setup_err), "server %s: no port, log or "
			         "configuration", srv->label);
			return false;
		}
		srv->pid = th_spawn(argv, tag, fd);
		close(fd);
		int64_t deadline = th_now_ms() + 20000 * g_scale;
		bool ready = false;
		while (!ready && srv->pid > 0 && th_now_ms() < deadline) {
			ready = true;
			for (size_t i = 0; i < TH_LEN(ZONES) && ready; i++) {
				ready = probe(srv, ZONES[i].name, KNOT_RRTYPE_SOA);
			}
			/* The signed zone is ready when its DNSKEY is served. */
			ready = ready && (!module_side || probe(srv, "signed.test.", KNOT_RRTYPE_DNSKEY));
			srv->pid = ready || waitpid(srv->pid, NULL, WNOHANG) == 0 ? srv->pid : 0;
			(void)poll(NULL, 0, ready ? 0 : 50);
		}
		if (ready) {
			return true;
		}
	}
	char tail[600];
	snprintf(g_setup_err, sizeof(g_setup_err), "server %s (port %u) %s; knotd log: %s",
	         srv->label, srv->port, srv->pid > 0 ? "did not answer in time" : "exited",
	         log_tail(srv, tail, sizeof(tail)));
	return false;
}

/*! Unchecked fixture: starts both servers, once, in the runner. */
static void servers_up(void)
{
	static bool tried;
	if (!tried) {
		tried = true;
		(void)(server_start(&g_srv[SRV_A], true) && server_start(&g_srv[SRV_B], false));
		th_pool_release();  /* The probes'. */
	}
}

/*! Stops both servers (their exit status kept) and removes their directories. */
static void servers_down(void)
{
	for (int i = 0; i < 2; i++) {
		if (g_srv[i].pid > 0) {
			(void)kill(g_srv[i].pid, SIGTERM);
			g_srv[i].exit_status = th_reap(g_srv[i].pid, 5000 * g_scale);
			g_srv[i].pid = 0;
		}
		if (getenv("MXTRAP_KEEP_TMP") == NULL) {
			th_rm_rf(g_srv[i].dir);
		}
	}
}

/*** Answers. ***/

/*! Asks a server; the answer, parsed (from th_scratch). */
static knot_pkt_t *ask(int srv, bool tcp, const uint8_t *q, size_t qlen, const char *ctx)
{
	ck_assert_msg(g_setup_err[0] == '\0' && g_srv[srv].pid > 0, "no servers: %s", g_setup_err);
	uint8_t *wire = th_pool_get(MAX_MSG);
	int len = exchange(&g_srv[srv], tcp, q, qlen, wire, 2000 * g_scale);
	char tail[400];
	ck_assert_msg(len >= KNOT_WIRE_HEADER_SIZE && knot_wire_get_id(wire) == knot_wire_get_id(q),
	              "%s: no answer from server %s; knotd log: %s", ctx, g_srv[srv].label,
	              log_tail(&g_srv[srv], tail, sizeof(tail)));
	knot_pkt_t *pkt = knot_pkt_new(wire, len, &th_scratch);
	ck_assert_msg(knot_pkt_parse(pkt, 0) == KNOT_EOK, "%s: malformed answer from %s", ctx,
	              g_srv[srv].label);
	return pkt;
}

/*! How many ADDITIONAL records of \a a (OPT too; but those owned by \a skip) \a b lacks. */
static size_t missing(const knot_pkt_t *a, const knot_pkt_t *b, const knot_dname_t *skip)
{
	const knot_pktsection_t *sa = knot_pkt_section(a, KNOT_ADDITIONAL);
	const knot_pktsection_t *sb = knot_pkt_section(b, KNOT_ADDITIONAL);
	size_t count = 0;
	for (uint16_t i = 0; i < sa->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(sa, i);
		bool found = skip != NULL && knot_dname_is_case_equal(rr->owner, skip);
		for (uint16_t j = 0; j < sb->count && !found; j++) {
			found = knot_rrset_equal(rr, knot_pkt_rr(sb, j), true);
		}
		count += !found;
	}
	return count;
}

/*!
 * A's answer equals B's. \a noglue: an owner whose glue only B carries (an
 * `exchange` name that is no exchanger in the zone: documented), or NULL.
 */
static void compare_answers(const char *ctx, const knot_pkt_t *a, const knot_pkt_t *b,
                            const char *noglue)
{
	ck_assert_msg(memcmp(a->wire, b->wire, 10) == 0, "%s: header differs (ARCOUNT aside)", ctx);
	const knot_pktsection_t *ar_a = &a->sections[KNOT_ADDITIONAL], *ar_b = &b->sections[KNOT_ADDITIONAL];
	size_t la = ar_a->count > 0 ? knot_pkt_rr_offset(ar_a, 0) : a->size;
	size_t lb = ar_b->count > 0 ? knot_pkt_rr_offset(ar_b, 0) : b->size;
	size_t at = KNOT_WIRE_HEADER_SIZE;
	while (at < la && at < lb && a->wire[at] == b->wire[at]) {
		at++;
	}
	ck_assert_msg(la == lb && at == la, "%s: up to ADDITIONAL, A has %zu octets, B %zu, "
	              "the first difference at %zu", ctx, la, lb, at);
	const knot_dname_t *skip = noglue != NULL ? th_dname(noglue) : NULL;
	ck_assert_msg(missing(a, b, NULL) == 0, "%s: ADDITIONAL of A has records B has not", ctx);
	ck_assert_msg(missing(b, a, skip) == 0, "%s: ADDITIONAL of B has records A has not", ctx);
	ck_assert_msg(skip == NULL || missing(b, a, NULL) > 0, "%s: B has no glue for %s", ctx,
	              noglue);
}

/*! The MX records of ANSWER as one RRset; RRSIG(MX) seen in \a rrsig. */
static knot_rrset_t *answer_mx(const knot_pkt_t *pkt, bool *rrsig)
{
	const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
	knot_rrset_t *mx = th_rrset(".", KNOT_RRTYPE_MX, 0);
	*rrsig = false;
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		*rrsig |= rr->type == KNOT_RRTYPE_RRSIG &&
		          knot_rrsig_type_covered(rr->rrs.rdata) == KNOT_RRTYPE_MX;
		if (rr->type == KNOT_RRTYPE_MX) {
			th_add(mx, rr->rrs.rdata->data, rr->rrs.rdata->len);
		}
	}
	return mx;
}

/*** The cases. ***/

/*! From Knot 3.4 (knotd_qdata_zone_rrset()) the module puts the glue of configured exchangers. */
#define MXTRAP_HAVE_GLUE	(KNOT_VERSION_HEX >= MXTRAP_KNOT_VERSION(3, 4))

typedef enum {
	TRAPPED,  /*!< The traps added; the answer equals B's. */
	SAME,     /*!< The plain zone's answer; equals B's. */
	NOGLUE,   /*!< Trapped; before Knot 3.4, B's glue of `noglue` missing (documented). */
	TC,       /*!< (Derived) too large with the traps: TC and no MX, as B. */
	SIGNED,   /*!< (Derived) signed zone, DO: RRSIG(MX) and no trap (not compared). */
} expect_t;

enum {
	F_TC512  = 1 << 0,  /*!< The trapped answer exceeds 512 octets, the plain one does not. */
	F_SIGNED = 1 << 1,  /*!< The zone is signed on server A. */
};

static const struct {
	const char *name, *qname;
	uint16_t qtype;
	expect_t expect;
	int n_mx;            /*!< MX records of the plain answer (-1: not checked). */
	const char *traps;   /*!< Expected trap records "PREF EXCHANGE ...". */
	unsigned flags;
	const char *noglue;  /*!< With NOGLUE. */
} CASES[] = {
	/* example.com: defaults (preference 99, require-backup on). */
	{ "apex",           "example.com.",           KNOT_RRTYPE_MX, TRAPPED, 2, "99 mail1.example.com." },
	{ "apex-upper",     "EXAMPLE.COM.",           KNOT_RRTYPE_MX, TRAPPED, 2, "99 mail1.example.com." },
	{ "non-apex-ttl",   "mail.example.com.",      KNOT_RRTYPE_MX, TRAPPED, 2, "99 mx1.example.com." },
	{ "cname",          "alias.example.com.",     KNOT_RRTYPE_MX, TRAPPED, 2, "99 mx1.example.com." },
	{ "dname",          "mail.dn.example.com.",   KNOT_RRTYPE_MX, TRAPPED, 2, "99 mail1.example.com." },
	{ "wildcard",       "host.wild.example.com.", KNOT_RRTYPE_MX, TRAPPED, 2, "99 mail1.example.com." },
	{ "single",         "single.example.com.",    KNOT_RRTYPE_MX, SAME,    1 },
	{ "equal-pair",     "equal.example.com.",     KNOT_RRTYPE_MX, SAME,    2 },
	{ "null-mx",        "null.example.com.",      KNOT_RRTYPE_MX, SAME,    1 },
	{ "trap-present",   "present.example.com.",   KNOT_RRTYPE_MX, SAME,    3 },
	{ "multi-primary",  "multi.example.com.",     KNOT_RRTYPE_MX, TRAPPED, 3,
	  "99 mx1.example.com. 99 mx2.example.com." },
	{ "mixed-case",     "mIxEd.ExAmPlE.cOm.",     KNOT_RRTYPE_MX, TRAPPED, 2, "99 mail1.example.com." },
	{ "out-of-zone",    "ext.example.com.",       KNOT_RRTYPE_MX, TRAPPED, 2, "99 mx.example.net." },
	{ "backup-100",     "b100.example.com.",      KNOT_RRTYPE_MX, TRAPPED, 2, "101 mail1.example.com." },
	{ "max-preference", "max.example.com.",       KNOT_RRTYPE_MX, SAME,    2 },
	{ "big-tc",         "big.example.com.",       KNOT_RRTYPE_MX, TRAPPED, 22,
	  "99 mx01.big.example.com. 99 mx02.big.example.com. 99 mx03.big.example.com.", F_TC512 },
	{ "referral",       "host.sub.example.com.",  KNOT_RRTYPE_MX, SAME,    0 },
	{ "a",              "mail1.example.com.",     KNOT_RRTYPE_A,  SAME,    0 },
	{ "nxdomain",       "nope.example.com.",      KNOT_RRTYPE_MX, SAME,    0 },
	{ "nodata-mx",      "mail1.example.com.",     KNOT_RRTYPE_MX, SAME,    0 },
	/* plain.test: the module loaded, B serves the same zone (no trap anywhere). */
	{ "plain-any-apex", "plain.test.",            KNOT_RRTYPE_ANY, SAME,  -1 },
	{ "plain-any-mx",   "mxonly.plain.test.",     KNOT_RRTYPE_ANY, SAME,   2 },
	{ "plain-txt",      "plain.test.",            KNOT_RRTYPE_TXT, SAME,   0 },
	{ "plain-nodata",   "host.plain.test.",       KNOT_RRTYPE_MX, SAME,    0 },
	/* exout.test: exchange trap.example.org. (out of zone), preference 500. */
	{ "exchange-out",   "exout.test.",            KNOT_RRTYPE_MX, TRAPPED, 2, "500 trap.example.org." },
	{ "exchange-high",  "high.exout.test.",       KNOT_RRTYPE_MX, TRAPPED, 2, "601 trap.example.org." },
	{ "exchange-single", "single.exout.test.",    KNOT_RRTYPE_MX, SAME,    1 },
	/* exin.test: exchanges decoy.exin.test. (in the zone, no exchanger: no glue) and mx1. */
	{ "exchange-in",    "exin.test.",             KNOT_RRTYPE_MX, NOGLUE,  2,
	  "500 mx1.exin.test. 500 decoy.exin.test.", 0, "decoy.exin.test." },
	/* nobackup.test: require-backup off. */
	{ "nobackup-single", "nobackup.test.",        KNOT_RRTYPE_MX, TRAPPED, 1, "99 mx1.nobackup.test." },
	{ "nobackup-equal", "equal.nobackup.test.",   KNOT_RRTYPE_MX, TRAPPED, 2,
	  "99 mx1.nobackup.test. 99 mx2.nobackup.test." },
	{ "nobackup-null",  "null.nobackup.test.",    KNOT_RRTYPE_MX, SAME,    1 },
	{ "no-module",      "nomod.test.",            KNOT_RRTYPE_MX, SAME,    2 },
	/* signed.test: signed on server A; trapped without DO, untouched with DO. */
	{ "signed",         "signed.test.",           KNOT_RRTYPE_MX, TRAPPED, 2, "99 mx1.signed.test.",
	  F_SIGNED },
};

/*! Transports: each case runs over each (\a when: only for cases with these flags). */
static const struct {
	const char *name;
	bool tcp;
	uint16_t edns;  /*!< EDNS payload size, 0: no EDNS. */
	bool dnssec_ok;
	unsigned when;
} VARIANTS[] = {
	{ "udp",             false, 0 },
	{ "udp_edns1232",    false, 1232 },
	{ "udp_edns1232_do", false, 1232, true },
	{ "udp_edns512",     false, 512 },
	{ "tcp",             true,  0 },
	{ "tcp_edns1232_do", true,  1232, true, F_SIGNED },
};

/* Each case over each transport: A's answer equals B's, with or without the traps. */
START_TEST(answer)
{
	__typeof__(CASES[0]) *c = &CASES[_i / TH_LEN(VARIANTS)];
	__typeof__(VARIANTS[0]) *v = &VARIANTS[_i % TH_LEN(VARIANTS)];
	expect_t exp = (c->flags & F_SIGNED) && v->dnssec_ok ? SIGNED :
	               (c->flags & F_TC512) && !v->tcp && v->edns <= 512 ? TC : c->expect;
	char ctx[128];
	snprintf(ctx, sizeof(ctx), "%s/%s (%s)", c->name, v->name, c->qname);
	uint8_t q[512];
	size_t qlen = th_query(q, 0x1000 + _i, c->qname, c->qtype, v->edns, v->dnssec_ok);
	knot_pkt_t *a = ask(SRV_A, v->tcp, q, qlen, ctx), *b = ask(SRV_B, v->tcp, q, qlen, ctx);
	if (exp != SIGNED) {
		compare_answers(ctx, a, b, exp == NOGLUE && !MXTRAP_HAVE_GLUE ? c->noglue : NULL);
	}
	/* What A's answer holds: the traps, or not (TTLs: compared with B's). TC:
	 * the module's doing, counted (module_counters). */
	bool rrsig, tc = knot_wire_get_tc(a->wire) != 0;
	knot_rrset_t *mx = answer_mx(a, &rrsig);
	knot_rrset_t *traps = th_mx(".", c->traps != NULL ? c->traps : "");
	int want = exp == SAME || exp == SIGNED ? c->n_mx : exp == TC ? 0 : c->n_mx + traps->rrs.count;
	ck_assert_msg(want < 0 || mx->rrs.count == want, "%s: %u MX, %d expected", ctx,
	              mx->rrs.count, want);
	ck_assert_msg(tc == (exp == TC), "%s: TC %d", ctx, tc);
	if (exp == TRAPPED || exp == NOGLUE) {
		ck_assert_msg(knot_rdataset_subset(&traps->rrs, &mx->rrs), "%s: a trap missing", ctx);
	} else if (exp == SIGNED) {  /* The zone's records exactly: B's less the traps. */
		knot_rrset_t *zone = answer_mx(b, &tc);
		ck_assert(knot_rdataset_subtract(&zone->rrs, &traps->rrs, &th_scratch) == KNOT_EOK);
		ck_assert_msg(rrsig && knot_rdataset_eq(&mx->rrs, &zone->rrs), "%s: not the zone's "
		              "records with RRSIG(MX)", ctx);
	}
	th_pool_release();
}
END_TEST

/* The counters knotd shows after all the queries (the last test). */
START_TEST(module_counters)
{
	static const struct { const char *zone, *item; bool positive; } EXPECT[] = {
		{ "example.com.",   "trapped",                   true },
		{ "example.com.",   "truncated",                 true },
		{ "example.com.",   "unchanged[null-mx]",        true },
		{ "example.com.",   "unchanged[no-backup]",      true },
		{ "example.com.",   "unchanged[trap-present]",   true },
		{ "example.com.",   "unchanged[max-preference]", true },
		{ "signed.test.",   "unchanged[signed]",         true },
		{ "signed.test.",   "trapped",                   true },
		{ "exout.test.",    "trapped",                   true },
		{ "exout.test.",    "unchanged[no-backup]",      true },
		{ "exin.test.",     "trapped",                   true },
		{ "nobackup.test.", "trapped",                   true },
		{ "nobackup.test.", "unchanged[null-mx]",        true },
		{ "plain.test.",    "trapped",                   false },
		{ "nomod.test.",    NULL,                        false },  /* No counters at all. */
	};
	ck_assert_msg(g_srv[SRV_A].pid > 0, "no servers: %s", g_setup_err);
	char out[16384], prefix[128];
	/* All zones; -f: zero counters too (Knot >= 3.4 leaves them out without it). */
	char *argv[] = { (char *)g_knotc, "-c", g_srv[SRV_A].conf, "-s", g_srv[SRV_A].sock,
	                 "-t", "5", "-f", "zone-stats", "--", NULL };
	int status = th_run(argv, "knotc", out, sizeof(out), 15000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "knotc: %d: %s", status, out);
	for (size_t i = 0; i < TH_LEN(EXPECT); i++) {
		const char *item = EXPECT[i].item;
		snprintf(prefix, sizeof(prefix), "[%s] mod-mxtrap%s%s", EXPECT[i].zone,
		         item != NULL ? "." : "", item != NULL ? item : "");
		/* "NAME = VALUE" up to Knot 3.5, "NAME: VALUE" from 3.6. */
		const char *at = strstr(out, prefix), *sep = NULL;
		for (; item != NULL && at != NULL; at = strstr(at + 1, prefix)) {
			sep = at + strlen(prefix);
			if (strncmp(sep, " = ", 3) == 0 || strncmp(sep, ": ", 2) == 0) {
				break;
			}
		}
		long long val = at == NULL ? -1 : item == NULL ? 0 : strtoll(sep + 2 + (*sep == ' '), NULL, 10);
		ck_assert_msg(EXPECT[i].positive ? val > 0 : val == (item != NULL ? 0 : -1),
		              "'%s': %lld; knotc: %s", prefix, val, out);
	}
}
END_TEST

int main(void)
{
	g_module = env_or("MXTRAP_MODULE", "");
	g_knotd = env_or("KNOTD", "/usr/sbin/knotd");
	g_knotc = env_or("KNOTC", "/usr/sbin/knotc");
	g_zonedir = env_or("MXTRAP_ZONES", "zones");
	char *wrapper = strdup(env_or("KNOTD_WRAPPER", "")), *save = NULL;
	size_t n = 0;
	for (char *w = strtok_r(wrapper, " \t", &save); w != NULL && n + 1 < TH_LEN(g_wrapper);
	     w = strtok_r(NULL, " \t", &save)) {
		g_wrapper[n++] = w;
	}
	g_scale = atoi(env_or("MXTRAP_TIMEOUT_SCALE", n > 0 ? "10" : "1"));
	g_scale = g_scale < 1 ? 1 : g_scale > 100 ? 100 : g_scale;
	if (access(g_module, R_OK) != 0) {
		fprintf(stderr, "test_answers: no module at MXTRAP_MODULE '%s'\n", g_module);
		return EXIT_FAILURE;
	}

	Suite *s = suite_create("mxtrap-integration");
	TCase *tc = tcase_create("answers");
	tcase_add_unchecked_fixture(tc, servers_up, NULL);
	tcase_set_timeout(tc, 30);
	for (size_t i = 0; i < TH_LEN(CASES) * TH_LEN(VARIANTS); i++) {
		unsigned when = VARIANTS[i % TH_LEN(VARIANTS)].when;
		if (when == 0 || (when & CASES[i / TH_LEN(VARIANTS)].flags)) {
			tcase_add_loop_test(tc, answer, i, i + 1);
		}
	}
	suite_add_tcase(s, tc);
	/* Last: the counters after all queries, then the servers go down. */
	tc = tcase_create("counters");
	tcase_add_unchecked_fixture(tc, servers_up, servers_down);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, module_counters);
	suite_add_tcase(s, tc);

	int failed = th_run_suite(s) != EXIT_SUCCESS;
	servers_down();
	/* A leak report at exit or valgrind's error exit code shows only here. */
	for (int i = 0; i < 2; i++) {
		int st = g_srv[i].exit_status;
		if (st != -1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			printf("# knotd %s did not exit cleanly on SIGTERM (status %d)\n", g_srv[i].label, st);
			failed = 1;
		}
	}
	free(wrapper);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
