/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Integration test of mod-mxtrap against real knotd processes. Server A
 * serves the plain zones with the module, server B the same zones with the
 * trap records written by hand (zones/NAME.trap.zone) and no module. The same
 * query goes to both and the answers must match: header (ARCOUNT aside),
 * question, ANSWER and AUTHORITY byte for byte, OPT byte for byte, ADDITIONAL
 * as a set of records. Each case also asserts that the trap is (or is not) in
 * A's answer, so that the test cannot pass without the module.
 *
 * Environment: MXTRAP_MODULE, KNOTD, KNOTC, MXTRAP_ZONES (zone directory);
 * MXTRAP_KEEP_TMP=1 keeps the server directories. Sanitizer and valgrind runs
 * (tests/sanitize.sh, tests/valgrind.sh): KNOTD_PRELOAD and SANITIZER_LOG_DIR
 * (th_child_env()); KNOTD_WRAPPER (split at spaces) goes in front of knotd;
 * MXTRAP_TIMEOUT_SCALE multiplies the start, stop and I/O bounds (default 1,
 * 10 with a wrapper). A knotd that does not exit with status 0 on SIGTERM (a
 * leak report, valgrind's error exit code) fails the run.
 */

#include "../test_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/socket.h>

static int g_scale = 1;  /*!< MXTRAP_TIMEOUT_SCALE. */

#define START_TIMEOUT_MS	(20000 * g_scale)
#define STOP_TIMEOUT_MS		(5000 * g_scale)
#define IO_TIMEOUT_MS		(2000 * g_scale)
#define PROBE_TIMEOUT_MS	(200 * g_scale)
#define MAX_WRAPPER_ARGS	32
#define MAX_MSG			65535

/*! One knotd process with its own temporary directory. */
typedef struct {
	const char *label;     /*!< "A" (module) or "B" (traps in the zones). */
	char dir[PATH_MAX];    /*!< Configuration, storage, rundir. */
	char conf[PATH_MAX + 16];
	char sock[PATH_MAX + 16];
	char log[PATH_MAX + 16];
	pid_t pid;             /*!< 0 when not running. */
	uint16_t port;         /*!< On 127.0.0.1 and ::1. */
	char **env;
	int exit_status;       /*!< Of the last stop, -1: none. */
} server_t;

enum { SRV_A, SRV_B };

static server_t g_srv[2] = { { .label = "A", .exit_status = -1 },
                             { .label = "B", .exit_status = -1 } };
static pid_t g_runner_pid;          /*!< The Check runner (parent) process. */
static bool g_setup_tried;
static char g_setup_err[1024];      /*!< Empty when both servers run. */
static bool g_module_ok;
static const char *g_module, *g_knotd, *g_knotc, *g_zonedir;
static int *g_silent;               /*!< Shared with the forked tests: a server stopped answering. */
static char **g_knotc_env;
static char *g_wrapper[MAX_WRAPPER_ARGS + 1];

/*! A zone of both servers. */
static const struct {
	const char *name;
	const char *module;  /*!< Module reference on server A, NULL: none. */
	const char *file_a, *file_b;
	bool sign;           /*!< DNSSEC signing on server A. */
} ZONES[] = {
	{ "example.com.",   "mod-mxtrap",          "example.com.zone",   "example.com.trap.zone",   false },
	{ "plain.test.",    "mod-mxtrap",          "plain.test.zone",    "plain.test.zone",         false },
	{ "exout.test.",    "mod-mxtrap/exout",    "exout.test.zone",    "exout.test.trap.zone",    false },
	{ "exin.test.",     "mod-mxtrap/exin",     "exin.test.zone",     "exin.test.trap.zone",     false },
	{ "nobackup.test.", "mod-mxtrap/nobackup", "nobackup.test.zone", "nobackup.test.trap.zone", false },
	{ "nomod.test.",    NULL,                  "nomod.test.zone",    "nomod.test.zone",         false },
	{ "signed.test.",   "mod-mxtrap/nosign",   "signed.test.zone",   "signed.test.trap.zone",   true },
};

/*! Module instances of server A. */
static const char MODULE_SECTIONS[] =
	"mod-mxtrap:\n"
	"  - id: exout\n    exchange: trap.example.org.\n    preference: 500\n"
	"  - id: exin\n    exchange: [ decoy.exin.test., mx1.exin.test. ]\n    preference: 500\n"
	"  - id: nobackup\n    require-backup: off\n"
	"  - id: nosign\n    dnssec: off\n\n";  /* Signed answers left alone: tests/dnssec signs them. */

/*! snprintf() that may cut on purpose (messages, bounded paths). */
__attribute__((format(printf, 3, 4)))
static void fmt(char *buf, size_t len, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	(void)vsnprintf(buf, len, format, ap);
	va_end(ap);
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *val = getenv(name);
	return val != NULL && val[0] != '\0' ? val : dflt;
}

/*! The last bytes of a log file on one line (for failure messages). */
static const char *log_tail(const char *path, char *out, size_t outlen)
{
	size_t len = 0;
	char *log = th_read_file(path, &len);
	fmt(out, outlen, "%s", log == NULL ? "" : log + (len > outlen - 1 ? len - (outlen - 1) : 0));
	free(log);
	for (char *p = out; *p != '\0'; p++) {
		*p = *p == '\n' ? '|' : *p;
	}
	return out;
}

/*** Servers and the safety net. ***/

static void server_stop(server_t *srv)
{
	if (srv->pid > 0) {
		(void)kill(srv->pid, SIGTERM);
		srv->exit_status = th_reap(srv->pid, STOP_TIMEOUT_MS);
		srv->pid = 0;
	}
}

/*! Stops both servers and removes their directories (in the runner only). */
static void servers_down(void)
{
	if (getpid() != g_runner_pid) {
		return;  /* A forked test: the servers are not its own. */
	}
	for (int i = 0; i < 2; i++) {
		server_stop(&g_srv[i]);
		if (getenv("MXTRAP_KEEP_TMP") == NULL) {
			th_rm_rf(g_srv[i].dir);
		}
		g_srv[i].dir[0] = '\0';
	}
}

static void on_signal(int sig)
{
	servers_down();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*!
 * A fatal signal still stops the servers. Check replaces the SIGINT/SIGTERM
 * handlers while the suite runs, so this runs again in the unchecked setup.
 */
static void install_safety_net(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGABRT, SIGBUS };
	for (size_t i = 0; i < TH_LEN(sigs); i++) {
		(void)sigaction(sigs[i], &sa, NULL);
	}
}

/*** DNS over UDP and TCP. ***/

static socklen_t loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)ss;
		*sa = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons(port),
		                             .sin6_addr = in6addr_loopback };
		return sizeof(*sa);
	}
	struct sockaddr_in *sa = (struct sockaddr_in *)ss;
	*sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
	                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return sizeof(*sa);
}

static bool wait_fd(int fd, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int ret;
	do {
		int64_t left = deadline - th_now_ms();
		if (left <= 0) {
			return false;
		}
		ret = poll(&pfd, 1, (int)left);
	} while (ret < 0 && errno == EINTR);
	return ret == 1;
}

static bool read_full(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	for (size_t got = 0; got < len; ) {
		ssize_t n = wait_fd(fd, deadline) ? recv(fd, buf + got, len - got, 0) : -1;
		if (n <= 0) {
			return false;
		}
		got += (size_t)n;
	}
	return true;
}

static int tcp_connect(const server_t *srv, int family)
{
	struct sockaddr_storage ss;
	socklen_t sslen = loopback(family, srv->port, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, sslen) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static bool tcp_send(int fd, const uint8_t *msg, size_t len)
{
	uint8_t buf[2 + MAX_MSG];
	knot_wire_write_u16(buf, (uint16_t)len);
	memcpy(buf + 2, msg, len);
	return send(fd, buf, len + 2, MSG_NOSIGNAL) == (ssize_t)(len + 2);
}

/*! One length-prefixed message; its size, -1 on error. */
static int tcp_recv(int fd, uint8_t *buf, int64_t deadline)
{
	uint8_t len[2];
	return read_full(fd, len, 2, deadline) &&
	       read_full(fd, buf, knot_wire_read_u16(len), deadline) ? knot_wire_read_u16(len) : -1;
}

/*! One query and its answer in \a resp; the answer's size, -1: none in time. */
static int dns_exchange(const server_t *srv, int family, bool tcp, const uint8_t *query,
                        size_t qlen, uint8_t *resp, int timeout_ms)
{
	int64_t deadline = th_now_ms() + timeout_ms;
	int ret = -1;
	int fd = tcp ? tcp_connect(srv, family) : socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss;
	socklen_t sslen = loopback(family, srv->port, &ss);
	if (fd < 0) {
		return -1;
	}
	if (tcp) {
		ret = tcp_send(fd, query, qlen) ? tcp_recv(fd, resp, deadline) : -1;
	} else if (connect(fd, (struct sockaddr *)&ss, sslen) == 0 &&
	           send(fd, query, qlen, 0) == (ssize_t)qlen) {
		while (ret < 0 && wait_fd(fd, deadline)) {
			ssize_t n = recv(fd, resp, MAX_MSG, 0);
			if (n < 0) {
				break;  /* ECONNREFUSED: nobody listens. */
			}
			if (n >= KNOT_WIRE_HEADER_SIZE && knot_wire_get_id(resp) == knot_wire_get_id(query)) {
				ret = (int)n;
			}
		}
	}
	close(fd);
	return ret;
}

/*! A query built with libknot (EDNS payload \a edns, 0: no EDNS); its size, 0 on error. */
static size_t build_query(uint8_t *out, uint16_t id, const char *qname, uint16_t qtype,
                          uint16_t edns, bool dnssec_ok)
{
	knot_dname_t *name = knot_dname_from_str_alloc(qname);
	knot_pkt_t *pkt = knot_pkt_new(NULL, MAX_MSG, NULL);
	knot_rrset_t opt;
	size_t len = 0;
	if (name != NULL && pkt != NULL &&
	    knot_pkt_put_question(pkt, name, KNOT_CLASS_IN, qtype) == KNOT_EOK &&
	    (edns == 0 || knot_edns_init(&opt, edns, 0, 0, NULL) == KNOT_EOK)) {
		int ret = KNOT_EOK;
		if (edns > 0) {
			if (dnssec_ok) {
				knot_edns_set_do(&opt);
			}
			ret = knot_pkt_begin(pkt, KNOT_ADDITIONAL);
			ret = ret != KNOT_EOK ? ret : knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &opt, 0);
			knot_rrset_clear(&opt, NULL);
		}
		knot_wire_set_id(pkt->wire, id);
		len = ret == KNOT_EOK ? pkt->size : 0;
		memcpy(out, pkt->wire, len);
	}
	knot_pkt_free(pkt);
	free(name);
	return len;
}

/*** Server start-up. ***/

/*! A port free for UDP and TCP on 127.0.0.1 and ::1, 0 if none. */
static uint16_t find_free_port(void)
{
	static const int KINDS[][2] = {
		{ AF_INET, SOCK_DGRAM }, { AF_INET, SOCK_STREAM }, { AF_INET6, SOCK_DGRAM },
		{ AF_INET6, SOCK_STREAM },
	};
	for (int attempt = 0; attempt < 50; attempt++) {
		uint16_t port = 0;
		int fds[4] = { -1, -1, -1, -1 };
		bool ok = true;
		for (size_t k = 0; k < 4 && ok; k++) {
			struct sockaddr_storage ss;
			socklen_t sslen = loopback(KINDS[k][0], port, &ss);
			int one = 1;
			fds[k] = socket(KINDS[k][0], KINDS[k][1] | SOCK_CLOEXEC, 0);
			if (KINDS[k][0] == AF_INET6) {
				(void)setsockopt(fds[k], IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			}
			ok = fds[k] >= 0 && bind(fds[k], (struct sockaddr *)&ss, sslen) == 0 &&
			     getsockname(fds[k], (struct sockaddr *)&ss, &sslen) == 0;
			port = ok ? ntohs(((struct sockaddr_in *)&ss)->sin_port) : 0;
		}
		for (size_t k = 0; k < 4; k++) {
			if (fds[k] >= 0) {
				close(fds[k]);
			}
		}
		if (ok && port >= 1024) {
			return port;
		}
	}
	return 0;
}

/*! Writes the knot.conf of a server and copies its zone files. */
static bool write_config(server_t *srv, bool module_side)
{
	FILE *f = fopen(srv->conf, "w");
	if (f == NULL) {
		return false;
	}
	bool mod = module_side && g_module_ok, ok = true;
	if (mod) {
		fprintf(f, "module:\n  - id: mod-mxtrap\n    file: \"%s\"\n\n%s", g_module, MODULE_SECTIONS);
	}
	fprintf(f, "server:\n    rundir: \"%s\"\n    listen: [ 127.0.0.1@%u, ::1@%u ]\n"
	           "    udp-workers: 2\n    tcp-workers: 2\n    background-workers: 2\n\n"
	           "log:\n  - target: stderr\n    any: info\n\ncontrol:\n    listen: \"%s\"\n\n"
	           "database:\n    storage: \"%s\"\n\n"
	           "acl:\n  - id: local_xfr\n    address: [ 127.0.0.1, ::1 ]\n    action: transfer\n\n"
	           "template:\n  - id: default\n    storage: \"%s\"\n    zonefile-sync: -1\n"
	           "    acl: local_xfr\n\nzone:\n",
	        srv->dir, srv->port, srv->port, srv->sock, srv->dir, srv->dir);
	for (size_t i = 0; i < TH_LEN(ZONES); i++) {
		char src[PATH_MAX], dst[PATH_MAX];
		fmt(src, sizeof(src), "%s/%s", g_zonedir, module_side ? ZONES[i].file_a : ZONES[i].file_b);
		fmt(dst, sizeof(dst), "%s/%szone", srv->dir, ZONES[i].name);
		ok = ok && th_copy_file(src, dst);
		fprintf(f, "  - domain: %s\n    file: \"%s\"\n", ZONES[i].name, dst);
		if (mod && ZONES[i].module != NULL) {
			fprintf(f, "    module: %s\n", ZONES[i].module);
		}
		if (module_side && ZONES[i].sign) {
			fprintf(f, "    dnssec-signing: on\n");
		}
	}
	return fclose(f) == 0 && ok;
}

/*! \a qname/\a qtype gets an authoritative NOERROR answer with records. */
static bool probe(const server_t *srv, int family, const char *qname, uint16_t qtype)
{
	uint8_t query[512], resp[MAX_MSG];
	size_t qlen = build_query(query, 0x5eed, qname, qtype, 1232, false);
	int len = dns_exchange(srv, family, false, query, qlen, resp, PROBE_TIMEOUT_MS);
	return len >= KNOT_WIRE_HEADER_SIZE && knot_wire_get_rcode(resp) == KNOT_RCODE_NOERROR &&
	       knot_wire_get_aa(resp) && knot_wire_get_ancount(resp) > 0;
}

/*! Starts a server; another port if knotd exits early. An error in g_setup_err. */
static bool server_start(server_t *srv, bool module_side)
{
	fmt(srv->dir, sizeof(srv->dir), "/tmp/mxtrap-it-%s.XXXXXX", srv->label);
	if (mkdtemp(srv->dir) == NULL) {
		fmt(g_setup_err, sizeof(g_setup_err), "mkdtemp: %s", strerror(errno));
		srv->dir[0] = '\0';
		return false;
	}
	fmt(srv->conf, sizeof(srv->conf), "%s/knot.conf", srv->dir);
	fmt(srv->sock, sizeof(srv->sock), "%s/knot.sock", srv->dir);
	fmt(srv->log, sizeof(srv->log), "%s/knotd.log", srv->dir);
	const char *state = "exited";
	for (int attempt = 0; attempt < 3 && srv->pid == 0; attempt++) {
		srv->port = find_free_port();
		int fd = open(srv->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (srv->port == 0 || !write_config(srv, module_side) || fd < 0) {
			fmt(g_setup_err, sizeof(g_setup_err), "server %s: no free port, log or "
			    "configuration (zones from %s)", srv->label, g_zonedir);
			return false;
		}
		char *argv[MAX_WRAPPER_ARGS + 4];
		size_t argc = 0;
		for (; g_wrapper[argc] != NULL; argc++) {
			argv[argc] = g_wrapper[argc];
		}
		argv[argc++] = (char *)g_knotd;
		argv[argc++] = "-c";
		argv[argc++] = srv->conf;
		argv[argc] = NULL;
		srv->pid = th_spawn(argv, srv->env, fd);
		close(fd);
		/* Every zone answers, and over IPv6 too; or knotd exits (another port). */
		int64_t deadline = th_now_ms() + START_TIMEOUT_MS;
		pid_t exited = srv->pid > 0 ? 0 : -1;
		bool ready = false;
		while (!ready && exited == 0 && th_now_ms() < deadline) {
			ready = probe(srv, AF_INET6, ZONES[0].name, KNOT_RRTYPE_SOA);
			for (size_t i = 0; i < TH_LEN(ZONES) && ready; i++) {
				ready = probe(srv, AF_INET, ZONES[i].name, KNOT_RRTYPE_SOA);
			}
			exited = ready ? 0 : waitpid(srv->pid, NULL, WNOHANG);
			th_sleep_ms(ready ? 0 : 50);
		}
		if (ready) {
			return true;
		}
		state = exited != 0 ? "exited" : "did not answer in time";
		srv->pid = exited != 0 ? 0 : srv->pid;
		if (srv->pid > 0) {
			break;
		}
	}
	server_stop(srv);
	char tail[600];
	fmt(g_setup_err, sizeof(g_setup_err), "server %s (port %u) %s; knotd log: %s", srv->label,
	    srv->port, state, log_tail(srv->log, tail, sizeof(tail)));
	return false;
}

/*! Unchecked fixture: starts both servers, once, in the runner. */
static void servers_up(void)
{
	if (g_setup_tried) {
		return;
	}
	g_setup_tried = true;
	install_safety_net();
	g_module_ok = g_module != NULL && access(g_module, R_OK) == 0;
	if (!server_start(&g_srv[SRV_A], true) || !server_start(&g_srv[SRV_B], false)) {
		return;
	}
	/* The signed zone is ready when its DNSKEY is served. */
	int64_t deadline = th_now_ms() + START_TIMEOUT_MS;
	while (!probe(&g_srv[SRV_A], AF_INET, "signed.test.", KNOT_RRTYPE_DNSKEY)) {
		if (th_now_ms() > deadline) {
			fmt(g_setup_err, sizeof(g_setup_err), "server A: no signed.test. DNSKEY in %d s",
			    START_TIMEOUT_MS / 1000);
			return;
		}
		th_sleep_ms(50);
	}
}

static void require_servers(void)
{
	ck_assert_msg(g_setup_err[0] == '\0' && g_srv[SRV_A].pid > 0 && g_srv[SRV_B].pid > 0,
	              "servers not running: %s", g_setup_err);
}

/*** Answers: parsing and comparison. ***/

/*! A received answer, parsed. */
typedef struct {
	uint8_t wire[MAX_MSG];
	size_t len;
	knot_pkt_t *pkt;
} resp_t;

/*!
 * Asks a server; the answer, parsed. A server that stopped answering fails
 * the later tests at once (the flag is shared with the forked tests).
 */
static resp_t *ask(const server_t *srv, int family, bool tcp, const uint8_t *q, size_t qlen,
                   const char *ctx)
{
	int idx = (int)(srv - g_srv);
	char tail[400];
	ck_assert_msg(!g_silent[idx], "%s: server %s stopped answering earlier", ctx, srv->label);
	resp_t *r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	int len = dns_exchange(srv, family, tcp, q, qlen, r->wire, IO_TIMEOUT_MS);
	if (len <= 0) {
		g_silent[idx] = 1;
		ck_abort_msg("%s: no answer from server %s (port %u); knotd log: %s", ctx, srv->label,
		             srv->port, log_tail(srv->log, tail, sizeof(tail)));
	}
	r->len = (size_t)len;
	r->pkt = knot_pkt_new(r->wire, r->len, NULL);
	ck_assert_msg(r->pkt != NULL && knot_pkt_parse(r->pkt, 0) == KNOT_EOK,
	              "%s: malformed answer from server %s", ctx, srv->label);
	return r;
}

static void resp_free(resp_t *r)
{
	knot_pkt_free(r->pkt);
	free(r);
}

/*! Where a section ends in the wire (the next one's first record, else the end). */
static size_t section_end(const knot_pkt_t *pkt, knot_section_t sec)
{
	for (int s = sec + 1; s <= KNOT_ADDITIONAL; s++) {
		if (pkt->sections[s].count > 0) {
			return knot_pkt_rr_offset(&pkt->sections[s], 0);
		}
	}
	return pkt->size;
}

/*! The OPT record's wire, its length in \a len (0: none). */
static const uint8_t *opt_wire(const knot_pkt_t *pkt, size_t *len)
{
	const knot_pktsection_t *ar = &pkt->sections[KNOT_ADDITIONAL];
	for (uint16_t i = 0; i < ar->count; i++) {
		if (knot_pkt_rr(ar, i)->type == KNOT_RRTYPE_OPT) {
			size_t at = knot_pkt_rr_offset(ar, i);
			*len = (i + 1 < ar->count ? knot_pkt_rr_offset(ar, i + 1) : pkt->size) - at;
			return pkt->wire + at;
		}
	}
	*len = 0;
	return pkt->wire;
}

/*! A record as text, for messages. */
static const char *rr_text(const knot_rrset_t *rr, char *out, size_t outlen)
{
	size_t size = 1024;
	char *dump = malloc(size);
	int ret = knot_rrset_txt_dump(rr, &dump, &size, &KNOT_DUMP_STYLE_DEFAULT);
	fmt(out, outlen, "%s", ret >= 0 ? dump : "?");
	out[strcspn(out, "\n")] = '\0';
	free(dump);
	return out;
}

/*!
 * The records of \a sec of \a a (OPT and TSIG left out; owned by \a skip:
 * also) that \a b's section lacks; the first in \a first.
 */
static size_t missing(const knot_pkt_t *a, const knot_pkt_t *b, knot_section_t sec,
                      const knot_dname_t *skip, char *first, size_t len)
{
	const knot_pktsection_t *sa = knot_pkt_section(a, sec), *sb = knot_pkt_section(b, sec);
	size_t count = 0;
	for (uint16_t i = 0; i < sa->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(sa, i);
		bool found = rr->type == KNOT_RRTYPE_OPT || rr->type == KNOT_RRTYPE_TSIG ||
		             (skip != NULL && knot_dname_is_equal(rr->owner, skip));
		for (uint16_t j = 0; j < sb->count && !found; j++) {
			found = knot_rrset_equal(rr, knot_pkt_rr(sb, j), true);
		}
		if (!found && count++ == 0) {
			rr_text(rr, first, len);
		}
	}
	return count;
}

static const char *hex_at(char *out, size_t outlen, const uint8_t *p, size_t len, size_t off)
{
	out[0] = '\0';
	for (size_t i = off, w = 0; i < len && i < off + 24 && w + 3 < outlen; i++) {
		w += (size_t)snprintf(out + w, outlen - w, "%02x", p[i]);
	}
	return out;
}

/*!
 * The module's answer (A) equals the one of the zone with the traps (B).
 * \a noglue: an owner whose glue only B may carry (an `exchange` name that is
 * no exchanger in the zone: documented), or NULL.
 */
static void compare_answers(const char *ctx, const resp_t *a, const resp_t *b, const char *noglue)
{
	const uint8_t *wa = a->wire, *wb = b->wire;
	char ha[64], hb[64], msg[512];
	ck_assert_msg(memcmp(wa, wb, 10) == 0, "%s: header differs but ARCOUNT: A %s, B %s", ctx,
	              hex_at(ha, sizeof(ha), wa, 10, 0), hex_at(hb, sizeof(hb), wb, 10, 0));
	/* QUESTION, ANSWER and AUTHORITY: byte for byte. */
	size_t la = section_end(a->pkt, KNOT_AUTHORITY), lb = section_end(b->pkt, KNOT_AUTHORITY);
	size_t off = KNOT_WIRE_HEADER_SIZE;
	while (off < la && off < lb && wa[off] == wb[off]) {
		off++;
	}
	ck_assert_msg(la == lb && off == la, "%s: up to ADDITIONAL, A has %zu bytes, B %zu, the "
	              "first difference at %zu: A [%s] B [%s]", ctx, la, lb, off,
	              hex_at(ha, sizeof(ha), wa, la, off), hex_at(hb, sizeof(hb), wb, lb, off));
	size_t opt_a, opt_b;
	const uint8_t *oa = opt_wire(a->pkt, &opt_a), *ob = opt_wire(b->pkt, &opt_b);
	ck_assert_msg(opt_a == opt_b && memcmp(oa, ob, opt_a) == 0, "%s: OPT differs: A [%s] B [%s]",
	              ctx, hex_at(ha, sizeof(ha), oa, opt_a, 0), hex_at(hb, sizeof(hb), ob, opt_b, 0));
	/* ADDITIONAL: as a set. */
	knot_dname_t *skip = noglue != NULL ? knot_dname_from_str_alloc(noglue) : NULL;
	if (skip != NULL) {
		knot_dname_to_lower(skip);
	}
	ck_assert_msg(missing(a->pkt, b->pkt, KNOT_ADDITIONAL, NULL, msg, sizeof(msg)) == 0,
	              "%s: ADDITIONAL of A has %s, B not", ctx, msg);
	size_t extra = missing(b->pkt, a->pkt, KNOT_ADDITIONAL, skip, msg, sizeof(msg));
	ck_assert_msg(extra == 0, "%s: ADDITIONAL of B has %s, A not", ctx, msg);
	if (skip != NULL) {  /* The documented difference is there (else the zone is broken). */
		ck_assert_msg(missing(b->pkt, a->pkt, KNOT_ADDITIONAL, NULL, msg, sizeof(msg)) > 0,
		              "%s: B has no glue for %s", ctx, noglue);
	}
	free(skip);
}

/*! The MX records of ANSWER as one RRset (from th_scratch); RRSIG(MX) seen in \a rrsig. */
static knot_rrset_t *answer_mx(const knot_pkt_t *pkt, bool *rrsig, bool *one_ttl)
{
	const knot_pktsection_t *an = knot_pkt_section(pkt, KNOT_ANSWER);
	knot_rrset_t *mx = th_rrset(".", KNOT_RRTYPE_MX, 0);
	*rrsig = false;
	*one_ttl = true;
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		*rrsig |= rr->type == KNOT_RRTYPE_RRSIG &&
		          knot_rrsig_type_covered(rr->rrs.rdata) == KNOT_RRTYPE_MX;
		if (rr->type == KNOT_RRTYPE_MX) {
			*one_ttl &= mx->rrs.count == 0 || rr->ttl == mx->ttl;
			mx->ttl = rr->ttl;
			th_add(mx, rr->rrs.rdata->data, rr->rrs.rdata->len);
		}
	}
	return mx;
}

/*! The MX records of \a a, not those of \a b. */
static knot_rrset_t *mx_minus(const knot_rrset_t *a, const knot_rrset_t *b)
{
	knot_rrset_t *out = th_rrset(".", KNOT_RRTYPE_MX, a->ttl);
	for (uint16_t i = 0; i < a->rrs.count; i++) {
		const knot_rdata_t *rd = knot_rdataset_at(&a->rrs, i);
		if (!knot_rdataset_member(&b->rrs, rd)) {
			th_add(out, rd->data, rd->len);
		}
	}
	return out;
}

/*** The cases. ***/

typedef enum {
	EXP_TRAPPED,    /*!< The traps added; the answer equals B's. */
	EXP_UNCHANGED,  /*!< The plain zone's answer; equals B's. */
	EXP_NOGLUE,     /*!< Trapped; B's glue of `noglue` missing (documented). */
	EXP_TC,         /*!< (Derived) too large with the traps: TC and no MX, as B. */
	EXP_SIGNED,     /*!< (Derived) signed zone, DO: RRSIG(MX) and no trap (not compared). */
} expect_t;

enum {
	F_V6     = 1 << 0,  /*!< Also over IPv6. */
	F_TC512  = 1 << 1,  /*!< The trapped answer exceeds 512 bytes, the plain one does not. */
	F_SIGNED = 1 << 2,  /*!< The zone is signed on server A. */
};

typedef struct {
	const char *name, *qname;
	uint16_t qtype;
	expect_t expect;
	int n_mx;             /*!< MX records of the plain answer (-1: not checked). */
	const char *traps;    /*!< Expected trap records "PREF EXCHANGE ...". */
	unsigned flags;
	const char *noglue;   /*!< With EXP_NOGLUE. */
} answer_case_t;

#define CASE(nm, qn, qt, exp, nmx, ...) \
	{ .name = (nm), .qname = (qn), .qtype = (qt), .expect = (exp), .n_mx = (nmx), __VA_ARGS__ }
#define MX	KNOT_RRTYPE_MX
#define TRAPPED	EXP_TRAPPED
#define SAME	EXP_UNCHANGED

static const answer_case_t CASES[] = {
	/* example.com: defaults (preference 99, require-backup on). */
	CASE("apex",           "example.com.",           MX, TRAPPED, 2,
	     .traps = "99 mail1.example.com.", .flags = F_V6),
	CASE("apex-upper",     "EXAMPLE.COM.",           MX, TRAPPED, 2, .traps = "99 mail1.example.com."),
	CASE("non-apex-ttl",   "mail.example.com.",      MX, TRAPPED, 2, .traps = "99 mx1.example.com."),
	CASE("cname",          "alias.example.com.",     MX, TRAPPED, 2, .traps = "99 mx1.example.com."),
	CASE("dname",          "mail.dn.example.com.",   MX, TRAPPED, 2, .traps = "99 mail1.example.com."),
	CASE("wildcard",       "host.wild.example.com.", MX, TRAPPED, 2,
	     .traps = "99 mail1.example.com.", .flags = F_V6),
	CASE("single",         "single.example.com.",    MX, SAME,    1),
	CASE("equal-pair",     "equal.example.com.",     MX, SAME,    2),
	CASE("null-mx",        "null.example.com.",      MX, SAME,    1),
	CASE("trap-present",   "present.example.com.",   MX, SAME,    3),
	CASE("multi-primary",  "multi.example.com.",     MX, TRAPPED, 3,
	     .traps = "99 mx1.example.com. 99 mx2.example.com."),
	CASE("mixed-case",     "mIxEd.ExAmPlE.cOm.",     MX, TRAPPED, 2,
	     .traps = "99 mail1.example.com.", .flags = F_V6),
	CASE("out-of-zone",    "ext.example.com.",       MX, TRAPPED, 2, .traps = "99 mx.example.net."),
	CASE("backup-100",     "b100.example.com.",      MX, TRAPPED, 2, .traps = "101 mail1.example.com."),
	CASE("max-preference", "max.example.com.",       MX, SAME,    2),
	CASE("big-tc",         "big.example.com.",       MX, TRAPPED, 22,
	     .traps = "99 mx01.big.example.com. 99 mx02.big.example.com. 99 mx03.big.example.com.",
	     .flags = F_TC512 | F_V6),
	CASE("referral",       "host.sub.example.com.",  MX, SAME, 0),
	CASE("a",              "mail1.example.com.",     KNOT_RRTYPE_A, SAME, 0),
	CASE("aaaa",           "mail1.example.com.",     KNOT_RRTYPE_AAAA, SAME, 0),
	CASE("nxdomain",       "nope.example.com.",      MX, SAME, 0),
	CASE("nodata-mx",      "mail1.example.com.",     MX, SAME, 0),
	/* plain.test: the module loaded, B serves the same zone (no trap anywhere). */
	CASE("plain-any-apex", "plain.test.",            KNOT_RRTYPE_ANY, SAME, -1),
	CASE("plain-any-mx",   "mxonly.plain.test.",     KNOT_RRTYPE_ANY, SAME, 2, .flags = F_V6),
	CASE("plain-a",        "host.plain.test.",       KNOT_RRTYPE_A, SAME, 0),
	CASE("plain-aaaa",     "host.plain.test.",       KNOT_RRTYPE_AAAA, SAME, 0),
	CASE("plain-txt",      "plain.test.",            KNOT_RRTYPE_TXT, SAME, 0),
	CASE("plain-nxdomain", "nope.plain.test.",       MX, SAME, 0),
	CASE("plain-nodata",   "host.plain.test.",       MX, SAME, 0),
	CASE("plain-referral", "x.sub.plain.test.",      MX, SAME, 0),
	/* exout.test: exchange trap.example.org. (out of zone), preference 500. */
	CASE("exchange-out",   "exout.test.",            MX, TRAPPED, 2, .traps = "500 trap.example.org."),
	CASE("exchange-high",  "high.exout.test.",       MX, TRAPPED, 2, .traps = "601 trap.example.org."),
	CASE("exchange-single", "single.exout.test.",    MX, SAME,    1),
	/* exin.test: exchanges decoy.exin.test. (in the zone, no exchanger: no glue) and mx1. */
	CASE("exchange-in",    "exin.test.",             MX, EXP_NOGLUE, 2,
	     .traps = "500 mx1.exin.test. 500 decoy.exin.test.", .flags = F_V6,
	     .noglue = "decoy.exin.test."),
	/* nobackup.test: require-backup off. */
	CASE("nobackup-single", "nobackup.test.",        MX, TRAPPED, 1, .traps = "99 mx1.nobackup.test."),
	CASE("nobackup-equal", "equal.nobackup.test.",   MX, TRAPPED, 2,
	     .traps = "99 mx1.nobackup.test. 99 mx2.nobackup.test."),
	CASE("nobackup-null",  "null.nobackup.test.",    MX, SAME,    1),
	/* nomod.test: no module on server A. */
	CASE("no-module",      "nomod.test.",            MX, SAME,    2),
	/* signed.test: signed on server A; trapped without DO, untouched with DO. */
	CASE("signed",         "signed.test.",           MX, TRAPPED, 2,
	     .traps = "99 mx1.signed.test.", .flags = F_SIGNED | F_V6),
};

/*! Transports: each case runs over several. */
static const struct {
	const char *name;
	int family;
	bool tcp;
	uint16_t edns;  /*!< EDNS payload size, 0: no EDNS. */
	bool dnssec_ok;
	unsigned when;  /*!< Only for cases with one of these flags (0: all). */
} VARIANTS[] = {
	{ "udp4",             AF_INET,  false, 0,    false, 0 },
	{ "udp4_edns1232",    AF_INET,  false, 1232, false, 0 },
	{ "udp4_edns1232_do", AF_INET,  false, 1232, true,  0 },
	{ "udp4_edns512",     AF_INET,  false, 512,  false, 0 },
	{ "udp4_edns4096",    AF_INET,  false, 4096, false, 0 },
	{ "tcp4",             AF_INET,  true,  0,    false, 0 },
	{ "tcp4_edns1232_do", AF_INET,  true,  1232, true,  F_SIGNED },
	{ "udp6_edns1232",    AF_INET6, false, 1232, false, F_V6 },
	{ "tcp6_edns1232",    AF_INET6, true,  1232, false, F_V6 },
};

/*!
 * A truncated answer is the traps' doing: the plain RRset fits the client's
 * buffer, the trapped one (from a TCP answer) does not; as libknot writes them.
 */
static void check_tc_cause(const char *ctx, const answer_case_t *c, uint16_t edns,
                           const knot_rrset_t *traps)
{
	uint8_t q[512];
	size_t qlen = build_query(q, 0x7c7c, c->qname, c->qtype, 0, false);
	resp_t *r = ask(&g_srv[SRV_A], AF_INET, true, q, qlen, ctx);
	bool rrsig, one_ttl;
	knot_rrset_t *mx = answer_mx(r->pkt, &rrsig, &one_ttl);
	mx->owner = th_dname(c->qname);
	uint16_t limit = edns > 0 ? edns : 512;
	for (int trapped = 0; trapped < 2; trapped++) {
		knot_pkt_t *pkt = th_response(mx->owner, KNOT_RRTYPE_MX, NULL, limit,
		                              edns > 0 ? KNOT_EDNS_MIN_SIZE : 0, &th_scratch);
		int ret = knot_pkt_put(pkt, KNOT_COMPR_HINT_QNAME, trapped ? mx : mx_minus(mx, traps), 0);
		ck_assert_msg(ret == (trapped ? KNOT_ESPACE : KNOT_EOK),
		              "%s: the %s MX RRset (%u records) %s %u bytes", ctx,
		              trapped ? "trapped" : "plain", mx->rrs.count,
		              trapped ? "fits: TC unexplained in" : "does not fit: a badly sized case for",
		              limit);
	}
	resp_free(r);
}

/*! What server A's answer holds: the traps, or not. */
static void check_mx(const char *ctx, const answer_case_t *c, uint16_t edns, const resp_t *a,
                     const resp_t *b, expect_t exp)
{
	bool rrsig, one_ttl, tc = knot_wire_get_tc(a->wire) != 0;
	knot_rrset_t *mx = answer_mx(a->pkt, &rrsig, &one_ttl);
	knot_rrset_t *traps = th_mx(".", c->traps != NULL ? c->traps : "");
	knot_rrset_t *missing_traps = mx_minus(traps, mx);
	char list[4096] = "";
	for (uint16_t i = 0, w = 0; i < mx->rrs.count && w < sizeof(list) - 64; i++) {
		knot_rdata_t *rd = knot_rdataset_at(&mx->rrs, i);
		char name[KNOT_DNAME_TXT_MAXLEN + 1];
		(void)knot_dname_to_str(name, rd->data + 2, sizeof(name));
		w += snprintf(list + w, sizeof(list) - w, "%u %s, ", knot_wire_read_u16(rd->data), name);
	}
	switch (exp) {
	case EXP_TRAPPED:
	case EXP_NOGLUE:
		ck_assert_msg(!tc, "%s: TC", ctx);
		ck_assert_msg(missing_traps->rrs.count == 0, "%s: a trap missing; MX: %s", ctx, list);
		ck_assert_msg(mx->rrs.count == c->n_mx + traps->rrs.count,
		              "%s: %d plain + %u trap MX expected; MX: %s", ctx, c->n_mx,
		              traps->rrs.count, list);
		ck_assert_msg(one_ttl, "%s: MX TTLs differ", ctx);
		break;
	case EXP_UNCHANGED:
		ck_assert_msg(c->n_mx < 0 || mx->rrs.count == c->n_mx,
		              "%s: the zone's %d MX expected; MX: %s", ctx, c->n_mx, list);
		break;
	case EXP_TC:
		ck_assert_msg(tc && mx->rrs.count == 0, "%s: TC and no MX expected, TC %d; MX: %s",
		              ctx, tc, list);
		check_tc_cause(ctx, c, edns, traps);
		break;
	case EXP_SIGNED: {
		/* The zone's records exactly: B's less the traps. */
		bool b_rrsig;
		knot_rrset_t *zone = mx_minus(answer_mx(b->pkt, &b_rrsig, &one_ttl), traps);
		ck_assert_msg(!tc && rrsig, "%s: no RRSIG(MX) in the DO answer (TC %d): %s", ctx, tc, list);
		ck_assert_msg(mx->rrs.count == c->n_mx && mx_minus(mx, zone)->rrs.count == 0,
		              "%s: the signed answer must keep the zone's %d MX: %s", ctx, c->n_mx, list);
		break;
	}
	}
}

/* Each case over each transport: A's answer equals B's, with or without the traps. */
START_TEST(answer)
{
	require_servers();
	const answer_case_t *c = &CASES[_i / TH_LEN(VARIANTS)];
	int vid = _i % TH_LEN(VARIANTS);
	uint16_t edns = VARIANTS[vid].edns;
	expect_t exp = (c->flags & F_SIGNED) && VARIANTS[vid].dnssec_ok ? EXP_SIGNED :
	               (c->flags & F_TC512) && !VARIANTS[vid].tcp && edns <= 512 ? EXP_TC : c->expect;
	char ctx[128];
	fmt(ctx, sizeof(ctx), "%s/%s (%s)", c->name, VARIANTS[vid].name, c->qname);
	uint8_t q[512];
	size_t qlen = build_query(q, (uint16_t)(0x1000 + _i), c->qname, c->qtype, edns,
	                          VARIANTS[vid].dnssec_ok);
	ck_assert_msg(qlen > 0, "%s: cannot build the query", ctx);
	resp_t *a = ask(&g_srv[SRV_A], VARIANTS[vid].family, VARIANTS[vid].tcp, q, qlen, ctx);
	resp_t *b = ask(&g_srv[SRV_B], VARIANTS[vid].family, VARIANTS[vid].tcp, q, qlen, ctx);
	if (exp != EXP_SIGNED) {
		compare_answers(ctx, a, b, exp == EXP_NOGLUE ? c->noglue : NULL);
	}
	check_mx(ctx, c, edns, a, b, exp);
	resp_free(a);
	resp_free(b);
	th_pool_release();
}
END_TEST

/*** The module is there, zone transfers, counters. ***/

START_TEST(module_built)
{
	ck_assert_msg(g_module_ok, "no module at MXTRAP_MODULE='%s' (server A runs without it)",
	              g_module != NULL ? g_module : "");
	require_servers();
}
END_TEST

/*! A zone transfer from a server, parsed (the caller frees the packets). */
static size_t axfr(const server_t *srv, const char *zone, knot_pkt_t **msgs, size_t max)
{
	uint8_t q[512];
	size_t qlen = build_query(q, 0xa4f2, zone, KNOT_RRTYPE_AXFR, 0, false), count = 0;
	int fd = tcp_connect(srv, AF_INET);
	ck_assert_msg(fd >= 0 && tcp_send(fd, q, qlen), "AXFR %s from %s: no connection", zone,
	              srv->label);
	int64_t deadline = th_now_ms() + IO_TIMEOUT_MS;
	for (int soa = 0; soa < 2 && count < max; count++) {
		uint8_t *wire = th_pool_get(MAX_MSG);
		int len = tcp_recv(fd, wire, deadline);
		ck_assert_msg(len > 0, "AXFR %s from %s: cut short", zone, srv->label);
		msgs[count] = knot_pkt_new(wire, len, NULL);
		ck_assert_msg(knot_pkt_parse(msgs[count], 0) == KNOT_EOK &&
		              knot_wire_get_rcode(wire) == KNOT_RCODE_NOERROR,
		              "AXFR %s from %s: bad message", zone, srv->label);
		const knot_pktsection_t *an = knot_pkt_section(msgs[count], KNOT_ANSWER);
		for (uint16_t i = 0; i < an->count; i++) {
			soa += knot_pkt_rr(an, i)->type == KNOT_RRTYPE_SOA;
		}
	}
	close(fd);
	return count;
}

/*!
 * The records of \a a's messages that \a b's lack, the first in \a first;
 * each must be one of the \a ntraps hand-written \a traps (owner, records).
 */
static size_t axfr_missing(knot_pkt_t **a, size_t na, knot_pkt_t **b, size_t nb,
                           const char *const (*traps)[2], size_t ntraps, char *first, size_t len)
{
	size_t count = 0;
	for (size_t i = 0; i < na; i++) {
		const knot_pktsection_t *sa = knot_pkt_section(a[i], KNOT_ANSWER);
		for (uint16_t k = 0; k < sa->count; k++) {
			const knot_rrset_t *rr = knot_pkt_rr(sa, k);
			bool found = false;
			for (size_t j = 0; j < nb && !found; j++) {
				const knot_pktsection_t *sb = knot_pkt_section(b[j], KNOT_ANSWER);
				for (uint16_t m = 0; m < sb->count && !found; m++) {
					found = knot_rrset_equal(rr, knot_pkt_rr(sb, m), true);
				}
			}
			if (found) {
				continue;
			}
			char text[512];
			if (count++ == 0) {
				rr_text(rr, first, len);
			}
			bool trap = false;
			for (size_t t = 0; t < ntraps && !trap; t++) {
				knot_rrset_t *want = th_mx(traps[t][0], traps[t][1]);
				trap = rr->type == KNOT_RRTYPE_MX && knot_dname_is_equal(rr->owner, want->owner) &&
				       knot_rdataset_member(&want->rrs, rr->rrs.rdata);
			}
			ck_assert_msg(trap, "AXFR: %s in one server's zone only, and no hand-written trap",
			              rr_text(rr, text, sizeof(text)));
		}
	}
	return count;
}

/* AXFR: the module changes no zone: A's is B's less exactly the hand-written traps. */
START_TEST(axfr_zones)
{
	static const char *const TRAPS[][2] = {
		{ "example.com.", "99 mail1.example.com." },
		{ "mail.example.com.", "99 mx1.example.com." },
		{ "mail.target.example.com.", "99 mail1.example.com." },
		{ "*.wild.example.com.", "99 mail1.example.com." },
		{ "multi.example.com.", "99 mx1.example.com. 99 mx2.example.com." },
		{ "mixed.example.com.", "99 mail1.example.com." },
		{ "ext.example.com.", "99 mx.example.net." },
		{ "b100.example.com.", "101 mail1.example.com." },
		{ "big.example.com.", "99 mx01.big.example.com. 99 mx02.big.example.com. "
		                      "99 mx03.big.example.com." },
	};
	require_servers();
	const char *zones[] = { "example.com.", "plain.test." };
	for (size_t z = 0; z < TH_LEN(zones); z++) {
		knot_pkt_t *a[1000], *b[1000];
		char msg[512];
		size_t na = axfr(&g_srv[SRV_A], zones[z], a, TH_LEN(a));
		size_t nb = axfr(&g_srv[SRV_B], zones[z], b, TH_LEN(b));
		ck_assert_msg(axfr_missing(a, na, b, nb, NULL, 0, msg, sizeof(msg)) == 0,
		              "AXFR %s: A has %s, B not", zones[z], msg);
		size_t traps = 0, ntraps = z == 0 ? TH_LEN(TRAPS) : 0;
		for (size_t t = 0; t < ntraps; t++) {
			traps += th_mx(TRAPS[t][0], TRAPS[t][1])->rrs.count;
		}
		size_t b_only = axfr_missing(b, nb, a, na, TRAPS, ntraps, msg, sizeof(msg));
		ck_assert_msg(b_only == traps, "AXFR %s: B has %zu records A has not, %zu traps expected",
		              zones[z], b_only, traps);
		for (size_t i = 0; i < na; i++) {
			knot_pkt_free(a[i]);
		}
		for (size_t i = 0; i < nb; i++) {
			knot_pkt_free(b[i]);
		}
	}
	th_pool_release();
}
END_TEST

/*! The value of "[zone] mod-mxtrap.item = N" in knotc's output, -1 if absent. */
static long long stat_value(const char *out, const char *zone, const char *item)
{
	char prefix[256];
	fmt(prefix, sizeof(prefix), "[%s] mod-mxtrap.%s = ", zone, item);
	const char *at = strstr(out, prefix);
	return at != NULL && (at == out || at[-1] == '\n') ? strtoll(at + strlen(prefix), NULL, 10) : -1;
}

/* The counters knotd shows after all the queries (the last test). */
START_TEST(module_counters)
{
	require_servers();
	char out[16384] = "";
	for (size_t i = 0; i < TH_LEN(ZONES); i++) {
		char part[4096];
		/* -f: zero counters too (Knot >= 3.4 leaves them all out without it). */
		char *argv[] = { (char *)g_knotc, "-c", g_srv[SRV_A].conf, "-s", g_srv[SRV_A].sock,
		                 "-t", "5", "-f", "zone-stats", (char *)ZONES[i].name, NULL };
		int status = th_run(argv, g_knotc_env, part, sizeof(part), 15000);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		              "knotc zone-stats %s: status %d: %s", ZONES[i].name, status, part);
		strncat(out, part, sizeof(out) - strlen(out) - 2);
		strcat(out, "\n");
	}
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
	};
	for (size_t i = 0; i < TH_LEN(EXPECT); i++) {
		long long val = stat_value(out, EXPECT[i].zone, EXPECT[i].item);
		ck_assert_msg(EXPECT[i].positive ? val > 0 : val == 0,
		              "[%s] mod-mxtrap.%s = %lld, expected %s; knotc: %s", EXPECT[i].zone,
		              EXPECT[i].item, val, EXPECT[i].positive ? "> 0" : "0", out);
	}
	ck_assert_msg(strstr(out, "[nomod.test.] mod-mxtrap") == NULL,
	              "nomod.test. has module counters: %s", out);
}
END_TEST

int main(void)
{
	g_runner_pid = getpid();
	g_module = getenv("MXTRAP_MODULE");
	g_knotd = env_or("KNOTD", "/usr/sbin/knotd");
	g_knotc = env_or("KNOTC", "/usr/sbin/knotc");
	g_zonedir = env_or("MXTRAP_ZONES", "zones");
	char *wrapper = getenv("KNOTD_WRAPPER") != NULL ? strdup(getenv("KNOTD_WRAPPER")) : NULL;
	size_t n = 0;
	for (char *save = NULL, *w = wrapper != NULL ? strtok_r(wrapper, " \t", &save) : NULL;
	     w != NULL && n < MAX_WRAPPER_ARGS; w = strtok_r(NULL, " \t", &save)) {
		g_wrapper[n++] = w;
	}
	g_scale = atoi(env_or("MXTRAP_TIMEOUT_SCALE", g_wrapper[0] != NULL ? "10" : "1"));
	g_scale = g_scale < 1 ? 1 : g_scale > 100 ? 100 : g_scale;
	g_srv[SRV_A].env = th_child_env("knotd-A");
	g_srv[SRV_B].env = th_child_env("knotd-B");
	g_knotc_env = th_child_env("knotc");
	g_silent = mmap(NULL, 2 * sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	                -1, 0);
	if (g_silent == MAP_FAILED) {
		perror("mmap");
		return EXIT_FAILURE;
	}
	atexit(servers_down);
	install_safety_net();

	Suite *s = suite_create("mxtrap-integration");
	TCase *tc = tcase_create("harness");
	tcase_add_unchecked_fixture(tc, servers_up, NULL);
	tcase_add_test(tc, module_built);
	suite_add_tcase(s, tc);
	for (size_t i = 0; i < TH_LEN(CASES); i++) {
		tc = tcase_create(CASES[i].name);
		tcase_add_unchecked_fixture(tc, servers_up, NULL);
		tcase_set_timeout(tc, 30);
		for (size_t v = 0; v < TH_LEN(VARIANTS); v++) {
			if (VARIANTS[v].when == 0 || (VARIANTS[v].when & CASES[i].flags)) {
				int at = (int)(i * TH_LEN(VARIANTS) + v);
				tcase_add_loop_test(tc, answer, at, at + 1);
			}
		}
		suite_add_tcase(s, tc);
	}
	tc = tcase_create("axfr");
	tcase_add_unchecked_fixture(tc, servers_up, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, axfr_zones);
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
