/*!
 * \file
 *
 * \brief Integration test of mod-mxtrap against real knotd processes.
 *
 * Server A serves the plain zones and loads the module, server B serves the
 * same zone names with the trap records written by hand and no module.  The
 * same query goes to both servers and the answers must match (see spec):
 * header (ARCOUNT aside), question, ANSWER and AUTHORITY byte for byte,
 * ADDITIONAL as a set of records, OPT byte for byte.  Each case also asserts
 * that the trap really is (or is not) in server A's answer, so the test cannot
 * pass with the module missing.
 *
 * Environment: MXTRAP_MODULE (module path), KNOTD, KNOTC (program paths),
 * MXTRAP_ZONES (zone file directory), MXTRAP_KEEP_TMP=1 keeps the temporary
 * directories for debugging.
 *
 * Sanitizer and valgrind runs (see tests/sanitize.sh, tests/valgrind.sh):
 * KNOTD_PRELOAD (the ASan runtime) goes into LD_PRELOAD of the knotd and knotc
 * children only, with ASAN_OPTIONS/UBSAN_OPTIONS that write reports under
 * SANITIZER_LOG_DIR (created if missing) and stop at the first error.
 * KNOTD_WRAPPER (e.g. "valgrind --log-file=..."; split at spaces) prefixes
 * the knotd command.  MXTRAP_TIMEOUT_SCALE multiplies the start, stop and I/O
 * bounds (default 1, 10 with a wrapper).  A knotd that does not exit with
 * status 0 on SIGTERM (e.g. a leak report or valgrind's error exit code)
 * fails the run.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libknot/libknot.h>

#include "../child_env.h"

static int g_scale = 1;			/*!< MXTRAP_TIMEOUT_SCALE. */

#define START_TIMEOUT_MS	(20000 * g_scale)	/*!< Bound for a server to answer. */
#define STOP_TIMEOUT_MS		(5000 * g_scale)	/*!< Bound for SIGTERM before SIGKILL. */
#define IO_TIMEOUT_MS		(2000 * g_scale)	/*!< Bound for one DNS exchange. */
#define PROBE_TIMEOUT_MS	(200 * g_scale)		/*!< Bound for one readiness probe. */
#define MAX_WRAPPER_ARGS	32	/*!< Words in KNOTD_WRAPPER. */
#define MAX_MSG			65535	/*!< Largest DNS message. */
#define MAX_TRAPS		3	/*!< Trap records per case. */
#define MAX_MX			64	/*!< MX records per answer. */

/*
 * Environment, servers and the safety net.
 */

/*! \brief One knotd process with its own temporary directory. */
typedef struct {
	const char *label;	/*!< "A" (module) or "B" (static traps). */
	char dir[PATH_MAX];	/*!< mkdtemp() directory: config, storage, rundir. */
	char conf[PATH_MAX];	/*!< Configuration file. */
	char sock[PATH_MAX];	/*!< Control socket. */
	char log[PATH_MAX];	/*!< knotd stdout/stderr. */
	pid_t pid;		/*!< knotd process, 0 when not running. */
	uint16_t port;		/*!< Port on 127.0.0.1 and ::1. */
	char **env;		/*!< knotd environment. */
	int exit_status;	/*!< waitpid() status of the last stop, -1: none. */
} server_t;

enum { SRV_A = 0, SRV_B = 1 };

static server_t g_srv[2] = { { .label = "A", .exit_status = -1 },
                             { .label = "B", .exit_status = -1 } };
static pid_t g_runner_pid;		/*!< The Check runner (parent) process. */
static bool g_setup_tried;		/*!< Servers are started once. */
static char g_setup_err[1024];		/*!< Empty when both servers run. */
static bool g_module_ok;		/*!< The module file exists. */
static const char *g_module;		/*!< MXTRAP_MODULE. */
static const char *g_knotd;		/*!< KNOTD. */
static const char *g_knotc;		/*!< KNOTC. */
static const char *g_zonedir;		/*!< MXTRAP_ZONES. */
static int *g_silent;			/*!< Shared with forked tests: server stopped answering. */
static char **g_knotc_env;		/*!< knotc environment. */
static char *g_wrapper[MAX_WRAPPER_ARGS + 1];	/*!< KNOTD_WRAPPER words, NULL-terminated. */

/*! \brief A zone of both servers. */
typedef struct {
	const char *name;	/*!< Zone name. */
	const char *module;	/*!< Module reference on server A, NULL: none. */
	const char *file_a;	/*!< Plain zone file (server A). */
	const char *file_b;	/*!< Zone file with hand-written traps (server B). */
	bool sign;		/*!< DNSSEC signing on server A. */
} zone_def_t;

static const zone_def_t ZONES[] = {
	{ "example.com.",   "mod-mxtrap",          "example.com.zone",   "example.com.trap.zone",   false },
	{ "plain.test.",    "mod-mxtrap",          "plain.test.zone",    "plain.test.zone",         false },
	{ "exout.test.",    "mod-mxtrap/exout",    "exout.test.zone",    "exout.test.trap.zone",    false },
	{ "exin.test.",     "mod-mxtrap/exin",     "exin.test.zone",     "exin.test.trap.zone",     false },
	{ "nobackup.test.", "mod-mxtrap/nobackup", "nobackup.test.zone", "nobackup.test.trap.zone", false },
	{ "nomod.test.",    NULL,                  "nomod.test.zone",    "nomod.test.zone",         false },
	{ "signed.test.",   "mod-mxtrap/nosign",   "signed.test.zone",   "signed.test.trap.zone",   true },
};

/*! \brief Module instances configured on server A. */
static const char MODULE_SECTIONS[] =
	"mod-mxtrap:\n"
	"  - id: exout\n"
	"    exchange: trap.example.org.\n"
	"    preference: 500\n"
	"  - id: exin\n"
	"    exchange: [ decoy.exin.test., mx1.exin.test. ]\n"
	"    preference: 500\n"
	"  - id: nobackup\n"
	"    require-backup: off\n"
	"  - id: nosign\n"   /* Signed answers left alone: tests/dnssec signs them. */
	"    dnssec: off\n\n";

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR);
}

/*! \brief fmt() that may truncate on purpose (messages, bounded paths). */
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
	return (val != NULL && val[0] != '\0') ? val : dflt;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	(void)remove(path);
	return 0;
}

static void rm_rf(const char *dir)
{
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool copy_file(const char *src, const char *dst)
{
	FILE *in = fopen(src, "r");
	FILE *out = fopen(dst, "w");
	bool ok = (in != NULL && out != NULL);
	char buf[4096];
	size_t n;
	while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
		ok = (fwrite(buf, 1, n, out) == n);
	}
	if (in != NULL) {
		fclose(in);
	}
	if (out != NULL && fclose(out) != 0) {
		ok = false;
	}
	return ok;
}

/*! \brief Last bytes of a log file on one line (for failure messages). */
static void log_tail(const char *path, char *out, size_t outlen)
{
	out[0] = '\0';
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return;
	}
	long want = (long)outlen - 1;
	if (fseek(f, -want, SEEK_END) != 0) {
		rewind(f);
	}
	size_t n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	fclose(f);
	for (char *p = out; *p != '\0'; p++) {
		if (*p == '\n') {
			*p = '|';
		}
	}
}


/*! \brief Split KNOTD_WRAPPER at spaces into g_wrapper (kept for the process). */
static void parse_wrapper(void)
{
	const char *val = getenv("KNOTD_WRAPPER");
	if (val == NULL) {
		return;
	}
	char *copy = strdup(val);
	size_t n = 0;
	for (char *save = NULL, *w = copy ? strtok_r(copy, " \t", &save) : NULL;
	     w != NULL && n < MAX_WRAPPER_ARGS; w = strtok_r(NULL, " \t", &save)) {
		g_wrapper[n++] = w;
	}
	g_wrapper[n] = NULL;
}

/*!
 * \brief Fork and exec \a argv with environment \a envp, stdout and stderr
 *        to \a out_fd; argv[0] without a slash is looked up in PATH.
 *
 * The child dies with its parent (PR_SET_PDEATHSIG) and keeps no other
 * descriptor of the parent.
 */
static pid_t spawn(char *const argv[], char *const envp[], int out_fd)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid != 0) {
		return pid;
	}
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent) {
		_exit(127);
	}
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0) {
		_exit(127);
	}
	for (int fd = STDERR_FILENO + 1; fd < 1024; fd++) {
		(void)close(fd);
	}
	execvpe(argv[0], argv, envp);
	_exit(127);
}

/*! \brief Wait for \a pid to exit, bounded by \a timeout_ms. */
static bool wait_exit(pid_t pid, int timeout_ms, int *status)
{
	int64_t deadline = now_ms() + timeout_ms;
	do {
		pid_t ret = waitpid(pid, status, WNOHANG);
		if (ret == pid || (ret < 0 && errno == ECHILD)) {
			return true;
		}
		sleep_ms(20);
	} while (now_ms() < deadline);
	return false;
}

static void server_stop(server_t *srv)
{
	if (srv->pid <= 0) {
		return;
	}
	int status = -1;
	(void)kill(srv->pid, SIGTERM);
	if (!wait_exit(srv->pid, STOP_TIMEOUT_MS, &status)) {
		(void)kill(srv->pid, SIGKILL);
		(void)waitpid(srv->pid, &status, 0);
	}
	srv->exit_status = status;
	srv->pid = 0;
}

/*! \brief Stop both servers and remove their directories (runner only). */
static void servers_down(void)
{
	if (getpid() != g_runner_pid) {
		return;	/* A forked test process: the servers are not its own. */
	}
	bool keep = getenv("MXTRAP_KEEP_TMP") != NULL;
	for (int i = 0; i < 2; i++) {
		server_stop(&g_srv[i]);
		if (g_srv[i].dir[0] != '\0' && !keep) {
			rm_rf(g_srv[i].dir);
		}
		g_srv[i].dir[0] = '\0';
	}
}

/*! \brief Safety net: a fatal signal still stops the servers. */
static void on_signal(int sig)
{
	servers_down();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*!
 * \brief Install the signal safety net.
 *
 * Check replaces SIGINT/SIGTERM handlers while the suite runs (its handler
 * kills the whole process group), so this is called again from the unchecked
 * setup, after Check has installed its own.
 */
static void install_safety_net(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGABRT, SIGBUS };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		(void)sigaction(sigs[i], &sa, NULL);
	}
}

/*
 * DNS over UDP and TCP.
 */

static socklen_t server_addr(const server_t *srv, int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)ss;
		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(srv->port);
		sa->sin6_addr = in6addr_loopback;
		return sizeof(*sa);
	}
	struct sockaddr_in *sa = (struct sockaddr_in *)ss;
	sa->sin_family = AF_INET;
	sa->sin_port = htons(srv->port);
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*sa);
}

/*! \brief Wait until \a fd is readable (or writable), bounded by a deadline. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
	int64_t left = deadline - now_ms();
	if (left <= 0) {
		return false;
	}
	struct pollfd pfd = { .fd = fd, .events = events };
	int ret;
	while ((ret = poll(&pfd, 1, (int)left)) < 0 && errno == EINTR);
	return ret == 1;
}

static bool read_full(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t got = 0;
	while (got < len) {
		if (!wait_fd(fd, POLLIN, deadline)) {
			return false;
		}
		ssize_t n = recv(fd, buf + got, len - got, 0);
		if (n <= 0) {
			return false;
		}
		got += (size_t)n;
	}
	return true;
}

/*! \brief Open a TCP connection to a server. */
static int tcp_connect(const server_t *srv, int family)
{
	struct sockaddr_storage ss;
	socklen_t sslen = server_addr(srv, family, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, sslen) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*! \brief Send one length-prefixed DNS message. */
static bool tcp_send(int fd, const uint8_t *msg, size_t len)
{
	uint8_t buf[2 + MAX_MSG];
	knot_wire_write_u16(buf, (uint16_t)len);
	memcpy(buf + 2, msg, len);
	return send(fd, buf, len + 2, MSG_NOSIGNAL) == (ssize_t)(len + 2);
}

/*! \brief Receive one length-prefixed DNS message, returns its size or -1. */
static int tcp_recv(int fd, uint8_t *buf, int64_t deadline)
{
	uint8_t lenbuf[2];
	if (!read_full(fd, lenbuf, 2, deadline)) {
		return -1;
	}
	uint16_t len = knot_wire_read_u16(lenbuf);
	return read_full(fd, buf, len, deadline) ? len : -1;
}

/*!
 * \brief One query/answer exchange.
 *
 * \return Size of the answer in \a resp, or -1 (no answer within timeout).
 */
static int dns_exchange(const server_t *srv, int family, bool tcp,
                        const uint8_t *query, size_t qlen,
                        uint8_t *resp, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int ret = -1;
	if (tcp) {
		int fd = tcp_connect(srv, family);
		if (fd < 0) {
			return -1;
		}
		if (tcp_send(fd, query, qlen)) {
			ret = tcp_recv(fd, resp, deadline);
		}
		close(fd);
		return ret;
	}

	struct sockaddr_storage ss;
	socklen_t sslen = server_addr(srv, family, &ss);
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sslen) == 0 &&
	    send(fd, query, qlen, 0) == (ssize_t)qlen) {
		while (wait_fd(fd, POLLIN, deadline)) {
			struct sockaddr_storage from;
			socklen_t fromlen = sizeof(from);
			ssize_t n = recvfrom(fd, resp, MAX_MSG, 0,
			                     (struct sockaddr *)&from, &fromlen);
			if (n < 0) {
				break;	/* E.g. ECONNREFUSED: nobody listens. */
			}
			if (n >= KNOT_WIRE_HEADER_SIZE &&
			    knot_wire_get_id(resp) == knot_wire_get_id(query)) {
				ret = (int)n;
				break;
			}
		}
	}
	close(fd);
	return ret;
}

/*!
 * \brief Build a query with libknot.
 *
 * \param edns  EDNS payload size, 0 for no EDNS.
 *
 * \return Query size, 0 on error.
 */
static size_t build_query(uint8_t *out, uint16_t id, const char *qname,
                          uint16_t qtype, uint16_t edns, bool dnssec_ok)
{
	size_t len = 0;
	knot_dname_t *name = knot_dname_from_str_alloc(qname);
	knot_pkt_t *pkt = knot_pkt_new(NULL, MAX_MSG, NULL);
	if (name == NULL || pkt == NULL) {
		goto done;
	}
	knot_wire_set_id(pkt->wire, id);
	if (knot_pkt_put_question(pkt, name, KNOT_CLASS_IN, qtype) != KNOT_EOK) {
		goto done;
	}
	if (edns > 0) {
		knot_rrset_t opt;
		if (knot_edns_init(&opt, edns, 0, 0, NULL) != KNOT_EOK) {
			goto done;
		}
		if (dnssec_ok) {
			knot_edns_set_do(&opt);
		}
		int ret = knot_pkt_begin(pkt, KNOT_ADDITIONAL);
		if (ret == KNOT_EOK) {
			ret = knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &opt, 0);
		}
		knot_rrset_clear(&opt, NULL);
		if (ret != KNOT_EOK) {
			goto done;
		}
	}
	memcpy(out, pkt->wire, pkt->size);
	len = pkt->size;
done:
	knot_pkt_free(pkt);
	free(name);
	return len;
}

/*
 * Server start-up.
 */

static int bind_probe(int family, int type, uint16_t port, uint16_t *bound)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;
		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(port);
		sa->sin6_addr = in6addr_loopback;
		sslen = sizeof(*sa);
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
		sa->sin_family = AF_INET;
		sa->sin_port = htons(port);
		sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sslen = sizeof(*sa);
	}
	int fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	int one = 1;
	if (family == AF_INET6) {
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
		close(fd);
		return -1;
	}
	if (bound != NULL) {
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
			close(fd);
			return -1;
		}
		*bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	return fd;
}

/*! \brief A port free for UDP and TCP on 127.0.0.1 and ::1, 0 if none. */
static uint16_t find_free_port(void)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		uint16_t port = 0;
		int fds[4];
		fds[0] = bind_probe(AF_INET, SOCK_DGRAM, 0, &port);
		fds[1] = (fds[0] < 0) ? -1 : bind_probe(AF_INET, SOCK_STREAM, port, NULL);
		fds[2] = (fds[1] < 0) ? -1 : bind_probe(AF_INET6, SOCK_DGRAM, port, NULL);
		fds[3] = (fds[2] < 0) ? -1 : bind_probe(AF_INET6, SOCK_STREAM, port, NULL);
		bool ok = (fds[3] >= 0 && port >= 1024);
		for (int i = 0; i < 4; i++) {
			if (fds[i] >= 0) {
				close(fds[i]);
			}
		}
		if (ok) {
			return port;
		}
	}
	return 0;
}

/*! \brief Write the knot.conf of a server and copy its zone files. */
static bool write_config(server_t *srv, bool module_side)
{
	FILE *f = fopen(srv->conf, "w");
	if (f == NULL) {
		return false;
	}
	bool mod = module_side && g_module_ok;
	if (mod) {
		fprintf(f, "module:\n  - id: mod-mxtrap\n    file: \"%s\"\n\n%s",
		        g_module, MODULE_SECTIONS);
	}
	fprintf(f, "server:\n    rundir: \"%s\"\n"
	           "    listen: [ 127.0.0.1@%u, ::1@%u ]\n"
	           "    udp-workers: 2\n    tcp-workers: 2\n    background-workers: 2\n\n",
	        srv->dir, srv->port, srv->port);
	fprintf(f, "log:\n  - target: stderr\n    any: info\n\n");
	fprintf(f, "control:\n    listen: \"%s\"\n\n", srv->sock);
	fprintf(f, "database:\n    storage: \"%s\"\n\n", srv->dir);
	fprintf(f, "acl:\n  - id: local_xfr\n    address: [ 127.0.0.1, ::1 ]\n"
	           "    action: transfer\n\n");
	fprintf(f, "template:\n  - id: default\n    storage: \"%s\"\n"
	           "    zonefile-sync: -1\n    acl: local_xfr\n\n", srv->dir);
	fprintf(f, "zone:\n");
	bool ok = true;
	for (size_t i = 0; i < sizeof(ZONES) / sizeof(ZONES[0]); i++) {
		const zone_def_t *z = &ZONES[i];
		char src[PATH_MAX], dst[PATH_MAX];
		fmt(src, sizeof(src), "%s/%s", g_zonedir, module_side ? z->file_a : z->file_b);
		fmt(dst, sizeof(dst), "%s/%szone", srv->dir, z->name);
		ok = ok && copy_file(src, dst);
		fprintf(f, "  - domain: %s\n    file: \"%s\"\n", z->name, dst);
		if (mod && z->module != NULL) {
			fprintf(f, "    module: %s\n", z->module);
		}
		if (module_side && z->sign) {
			fprintf(f, "    dnssec-signing: on\n");
		}
	}
	return (fclose(f) == 0) && ok;
}

/*! \brief True if \a qname/\a qtype gets an authoritative NOERROR answer. */
static bool probe(const server_t *srv, int family, const char *qname, uint16_t qtype)
{
	uint8_t query[512], resp[MAX_MSG];
	size_t qlen = build_query(query, 0x5eed, qname, qtype, 1232, false);
	int len = dns_exchange(srv, family, false, query, qlen, resp, PROBE_TIMEOUT_MS);
	return len >= KNOT_WIRE_HEADER_SIZE && knot_wire_get_rcode(resp) == KNOT_RCODE_NOERROR &&
	       knot_wire_get_aa(resp) && knot_wire_get_ancount(resp) > 0;
}

static bool zones_ready(const server_t *srv)
{
	for (size_t i = 0; i < sizeof(ZONES) / sizeof(ZONES[0]); i++) {
		if (!probe(srv, AF_INET, ZONES[i].name, KNOT_RRTYPE_SOA)) {
			return false;
		}
	}
	return probe(srv, AF_INET6, ZONES[0].name, KNOT_RRTYPE_SOA);
}

typedef enum { SRV_READY, SRV_EXITED, SRV_TIMEOUT } srv_state_t;

/*! \brief Poll until every zone answers (bounded), or knotd exits. */
static srv_state_t server_wait_ready(server_t *srv)
{
	int64_t deadline = now_ms() + START_TIMEOUT_MS;
	while (now_ms() < deadline) {
		int status;
		if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
			srv->pid = 0;
			return SRV_EXITED;
		}
		if (zones_ready(srv)) {
			return SRV_READY;
		}
		sleep_ms(50);
	}
	return SRV_TIMEOUT;
}

/*! \brief Start one server; retries with a new port when knotd exits early. */
static bool server_start(server_t *srv, bool module_side)
{
	if (srv->dir[0] == '\0') {
		fmt(srv->dir, sizeof(srv->dir), "/tmp/mxtrap-it-%s.XXXXXX", srv->label);
		if (mkdtemp(srv->dir) == NULL) {
			fmt(g_setup_err, sizeof(g_setup_err), "mkdtemp: %s", strerror(errno));
			srv->dir[0] = '\0';
			return false;
		}
	}
	fmt(srv->conf, sizeof(srv->conf), "%s/knot.conf", srv->dir);
	fmt(srv->sock, sizeof(srv->sock), "%s/knot.sock", srv->dir);
	fmt(srv->log, sizeof(srv->log), "%s/knotd.log", srv->dir);

	srv_state_t state = SRV_EXITED;
	for (int attempt = 0; attempt < 3 && state == SRV_EXITED; attempt++) {
		srv->port = find_free_port();
		if (srv->port == 0 || !write_config(srv, module_side)) {
			fmt(g_setup_err, sizeof(g_setup_err),
			         "server %s: no free port or config/zone copy failed (zones from %s)",
			         srv->label, g_zonedir);
			return false;
		}
		int fd = open(srv->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			fmt(g_setup_err, sizeof(g_setup_err), "open %s failed", srv->log);
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
		srv->pid = spawn(argv, srv->env, fd);
		close(fd);
		if (srv->pid < 0) {
			srv->pid = 0;
			fmt(g_setup_err, sizeof(g_setup_err), "fork: %s", strerror(errno));
			return false;
		}
		state = server_wait_ready(srv);
	}
	if (state == SRV_READY) {
		return true;
	}
	server_stop(srv);
	char tail[600];
	log_tail(srv->log, tail, sizeof(tail));
	fmt(g_setup_err, sizeof(g_setup_err), "server %s (port %u) %s; knotd log: %s",
	         srv->label, srv->port,
	         state == SRV_TIMEOUT ? "did not answer in time" : "exited", tail);
	return false;
}

/*! \brief Unchecked fixture: start both servers once, in the runner. */
static void servers_up(void)
{
	if (g_setup_tried) {
		return;
	}
	g_setup_tried = true;
	install_safety_net();
	g_module_ok = (g_module != NULL && access(g_module, R_OK) == 0);
	if (!server_start(&g_srv[SRV_A], true) || !server_start(&g_srv[SRV_B], false)) {
		return;
	}
	/* The signed zone is ready when its DNSKEY is served. */
	int64_t deadline = now_ms() + START_TIMEOUT_MS;
	while (!probe(&g_srv[SRV_A], AF_INET, "signed.test.", KNOT_RRTYPE_DNSKEY)) {
		if (now_ms() > deadline) {
			fmt(g_setup_err, sizeof(g_setup_err),
			         "server A: signed.test. DNSKEY not served within %d s",
			         START_TIMEOUT_MS / 1000);
			return;
		}
		sleep_ms(50);
	}
}

static void require_servers(void)
{
	ck_assert_msg(g_setup_err[0] == '\0' && g_srv[SRV_A].pid > 0 && g_srv[SRV_B].pid > 0,
	              "servers not running: %s", g_setup_err);
}

/*
 * Answers: layout, records, comparison.
 */

/*! \brief A received answer. */
typedef struct {
	uint8_t wire[MAX_MSG];
	size_t len;
	size_t qd_end;		/*!< End of QUESTION. */
	size_t an_end;		/*!< End of ANSWER. */
	size_t ns_end;		/*!< End of AUTHORITY. */
	size_t opt_off;		/*!< OPT RR offset (0: none). */
	size_t opt_len;		/*!< OPT RR size. */
	knot_pkt_t *pkt;	/*!< Parsed answer. */
} resp_t;

static bool skip_name(const uint8_t *w, size_t len, size_t *pos)
{
	while (*pos < len) {
		uint8_t b = w[*pos];
		if (b == 0) {
			*pos += 1;
			return true;
		}
		if ((b & 0xC0) == 0xC0) {
			*pos += 2;
			return *pos <= len;
		}
		*pos += 1 + b;
	}
	return false;
}

static bool skip_rr(const uint8_t *w, size_t len, size_t *pos, uint16_t *type)
{
	if (!skip_name(w, len, pos) || *pos + 10 > len) {
		return false;
	}
	*type = knot_wire_read_u16(w + *pos);
	*pos += 10 + knot_wire_read_u16(w + *pos + 8);
	return *pos <= len;
}

/*! \brief Find section boundaries and the OPT RR, then parse with libknot. */
static bool resp_layout(resp_t *r)
{
	const uint8_t *w = r->wire;
	if (r->len < KNOT_WIRE_HEADER_SIZE) {
		return false;
	}
	size_t pos = KNOT_WIRE_HEADER_SIZE;
	uint16_t type;
	for (int i = 0; i < knot_wire_get_qdcount(w); i++) {
		if (!skip_name(w, r->len, &pos) || (pos += 4) > r->len) {
			return false;
		}
	}
	r->qd_end = pos;
	for (int i = 0; i < knot_wire_get_ancount(w); i++) {
		if (!skip_rr(w, r->len, &pos, &type)) {
			return false;
		}
	}
	r->an_end = pos;
	for (int i = 0; i < knot_wire_get_nscount(w); i++) {
		if (!skip_rr(w, r->len, &pos, &type)) {
			return false;
		}
	}
	r->ns_end = pos;
	r->opt_off = r->opt_len = 0;
	for (int i = 0; i < knot_wire_get_arcount(w); i++) {
		size_t start = pos;
		if (!skip_rr(w, r->len, &pos, &type)) {
			return false;
		}
		if (type == KNOT_RRTYPE_OPT) {
			r->opt_off = start;
			r->opt_len = pos - start;
		}
	}
	r->pkt = knot_pkt_new(r->wire, r->len, NULL);
	return r->pkt != NULL && knot_pkt_parse(r->pkt, 0) == KNOT_EOK;
}

/*! \brief Hex of up to 24 bytes from \a off (for failure messages). */
static const char *hex_at(char *out, size_t outlen, const uint8_t *p, size_t len, size_t off)
{
	size_t w = 0;
	out[0] = '\0';
	for (size_t i = off; i < len && i < off + 24 && w + 3 < outlen; i++) {
		w += (size_t)snprintf(out + w, outlen - w, "%02x", p[i]);
	}
	if (off >= len) {
		fmt(out, outlen, "<end>");
	}
	return out;
}

/*! \brief Record as bytes: lowercase owner, type, class, TTL, rdlength, rdata. */
typedef struct {
	uint8_t *b;
	size_t len;
} rec_t;

typedef struct {
	rec_t *v;
	size_t n;
	size_t cap;
} rec_list_t;

static void rec_list_push(rec_list_t *l, rec_t rec)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 32;
		l->v = realloc(l->v, l->cap * sizeof(rec_t));
		ck_assert_ptr_nonnull(l->v);
	}
	l->v[l->n++] = rec;
}

static void rec_list_add_rrset(rec_list_t *l, const knot_rrset_t *rr)
{
	size_t olen = knot_dname_size(rr->owner);
	knot_rdata_t *rd = rr->rrs.rdata;
	for (uint16_t i = 0; i < rr->rrs.count; i++, rd = knot_rdataset_next(rd)) {
		rec_list_push(l, (rec_t){ .len = olen + 10 + rd->len });
		rec_t *rec = &l->v[l->n - 1];
		rec->b = malloc(rec->len);
		ck_assert_ptr_nonnull(rec->b);
		knot_dname_copy_lower(rec->b, rr->owner);
		uint8_t *p = rec->b + olen;
		knot_wire_write_u16(p, rr->type);
		knot_wire_write_u16(p + 2, rr->rclass);
		knot_wire_write_u32(p + 4, rr->ttl);
		knot_wire_write_u16(p + 8, rd->len);
		memcpy(p + 10, rd->data, rd->len);
	}
}

/*! \brief Records of a section (OPT and TSIG left out). */
static void rec_list_section(rec_list_t *l, const knot_pkt_t *pkt, knot_section_t id)
{
	const knot_pktsection_t *sec = knot_pkt_section(pkt, id);
	for (uint16_t i = 0; i < sec->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(sec, i);
		if (rr->type != KNOT_RRTYPE_OPT && rr->type != KNOT_RRTYPE_TSIG) {
			rec_list_add_rrset(l, rr);
		}
	}
}

static int rec_cmp(const void *x, const void *y)
{
	const rec_t *a = x, *b = y;
	int ret = memcmp(a->b, b->b, a->len < b->len ? a->len : b->len);
	return ret != 0 ? ret : (a->len > b->len) - (a->len < b->len);
}

/*! \brief Sort and drop duplicates: the list becomes a set. */
static void rec_list_to_set(rec_list_t *l)
{
	if (l->n == 0) {
		return;
	}
	qsort(l->v, l->n, sizeof(rec_t), rec_cmp);
	size_t w = 1;
	for (size_t i = 1; i < l->n; i++) {
		if (rec_cmp(&l->v[w - 1], &l->v[i]) != 0) {
			l->v[w++] = l->v[i];
		} else {
			free(l->v[i].b);
		}
	}
	l->n = w;
}

static void rec_list_free(rec_list_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].b);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*! \brief Record as text without libknot's dumper: owner type ttl rdata. */
static const char *rec_str(char *out, size_t outlen, const rec_t *rec)
{
	char owner[KNOT_DNAME_TXT_MAXLEN + 1], type[32], rdata[300];
	size_t olen = knot_dname_size(rec->b);
	const uint8_t *p = rec->b + olen;
	uint16_t rtype = knot_wire_read_u16(p);
	uint16_t rdlen = knot_wire_read_u16(p + 8);
	const uint8_t *rd = p + 10;
	(void)knot_dname_to_str(owner, rec->b, sizeof(owner));
	(void)knot_rrtype_to_string(rtype, type, sizeof(type));
	if (rtype == KNOT_RRTYPE_A && rdlen == 4) {
		inet_ntop(AF_INET, rd, rdata, sizeof(rdata));
	} else if (rtype == KNOT_RRTYPE_AAAA && rdlen == 16) {
		inet_ntop(AF_INET6, rd, rdata, sizeof(rdata));
	} else if (rtype == KNOT_RRTYPE_MX && rdlen >= 3 &&
	           knot_dname_wire_check(rd + 2, rd + rdlen, NULL) > 0) {
		char exch[KNOT_DNAME_TXT_MAXLEN + 1];
		(void)knot_dname_to_str(exch, rd + 2, sizeof(exch));
		fmt(rdata, sizeof(rdata), "%u %s", knot_wire_read_u16(rd), exch);
	} else {
		hex_at(rdata, sizeof(rdata), rd, rdlen, 0);
	}
	fmt(out, outlen, "%s %u %s %s", owner, knot_wire_read_u32(p + 4), type, rdata);
	return out;
}

/*! \brief Records of set \a a that are not in set \a b (borrowed, not copied). */
static void rec_set_minus(const rec_list_t *a, const rec_list_t *b, rec_list_t *out)
{
	size_t j = 0;
	for (size_t i = 0; i < a->n; i++) {
		while (j < b->n && rec_cmp(&b->v[j], &a->v[i]) < 0) {
			j++;
		}
		if (j == b->n || rec_cmp(&b->v[j], &a->v[i]) != 0) {
			rec_list_push(out, a->v[i]);
		}
	}
}

/*!
 * \brief Compare two sets, describe the first records only in one of them.
 *
 * \return Number of records only in \a a plus only in \a b.
 */
static size_t rec_set_diff(const rec_list_t *a, const rec_list_t *b, char *msg, size_t msglen)
{
	rec_list_t only_a = { 0 }, only_b = { 0 };
	rec_set_minus(a, b, &only_a);
	rec_set_minus(b, a, &only_b);
	char ra[400] = "-", rb[400] = "-";
	if (only_a.n > 0) {
		rec_str(ra, sizeof(ra), &only_a.v[0]);
	}
	if (only_b.n > 0) {
		rec_str(rb, sizeof(rb), &only_b.v[0]);
	}
	fmt(msg, msglen, "%zu only in A (first: %s), %zu only in B (first: %s)",
	         only_a.n, ra, only_b.n, rb);
	size_t ret = only_a.n + only_b.n;
	free(only_a.v);
	free(only_b.v);
	return ret;
}

/*! \brief Move the records not owned by \a owner from \a in to \a rest. */
static size_t rec_split_owner(rec_list_t *in, const knot_dname_t *owner, rec_list_t *rest)
{
	size_t kept = 0;
	for (size_t i = 0; i < in->n; i++) {
		if (knot_dname_is_equal(in->v[i].b, owner)) {
			in->v[kept++] = in->v[i];
		} else {
			rec_list_push(rest, in->v[i]);
		}
	}
	in->n = kept;
	return kept;
}

/*!
 * \brief Assert that the module's answer (A) equals the static one (B).
 *
 * \param noglue  Owner whose glue only B may carry (documented difference
 *                for an `exchange` name that is not an exchanger), or NULL.
 */
static void compare_answers(const char *ctx, const resp_t *a, const resp_t *b,
                            const char *noglue)
{
	const uint8_t *wa = a->wire, *wb = b->wire;
	char ha[64], hb[64];

	ck_assert_msg(knot_wire_get_id(wa) == knot_wire_get_id(wb) &&
	              wa[2] == wb[2] && wa[3] == wb[3],
	              "%s: header ID/flags differ: A %02x%02x (rcode %u tc %u), B %02x%02x (rcode %u tc %u)",
	              ctx, wa[2], wa[3], knot_wire_get_rcode(wa), knot_wire_get_tc(wa) != 0,
	              wb[2], wb[3], knot_wire_get_rcode(wb), knot_wire_get_tc(wb) != 0);
	ck_assert_msg(knot_wire_get_qdcount(wa) == knot_wire_get_qdcount(wb) &&
	              knot_wire_get_ancount(wa) == knot_wire_get_ancount(wb) &&
	              knot_wire_get_nscount(wa) == knot_wire_get_nscount(wb),
	              "%s: counts differ: A qd/an/ns %u/%u/%u, B %u/%u/%u", ctx,
	              knot_wire_get_qdcount(wa), knot_wire_get_ancount(wa), knot_wire_get_nscount(wa),
	              knot_wire_get_qdcount(wb), knot_wire_get_ancount(wb), knot_wire_get_nscount(wb));
	ck_assert_msg(a->qd_end == b->qd_end &&
	              memcmp(wa + KNOT_WIRE_HEADER_SIZE, wb + KNOT_WIRE_HEADER_SIZE,
	                     a->qd_end - KNOT_WIRE_HEADER_SIZE) == 0,
	              "%s: QUESTION differs", ctx);

	/* ANSWER and AUTHORITY, byte for byte. */
	size_t la = a->ns_end - a->qd_end, lb = b->ns_end - b->qd_end;
	size_t off = 0;
	while (off < la && off < lb && wa[a->qd_end + off] == wb[b->qd_end + off]) {
		off++;
	}
	ck_assert_msg(la == lb && off == la,
	              "%s: ANSWER+AUTHORITY differ (A %zu bytes, B %zu bytes), first difference "
	              "at packet offset %zu: A [%s] B [%s]", ctx, la, lb, a->qd_end + off,
	              hex_at(ha, sizeof(ha), wa, a->ns_end, a->qd_end + off),
	              hex_at(hb, sizeof(hb), wb, b->ns_end, b->qd_end + off));

	/* OPT, byte for byte. */
	ck_assert_msg(a->opt_len == b->opt_len &&
	              memcmp(wa + a->opt_off, wb + b->opt_off, a->opt_len) == 0,
	              "%s: OPT differs: A [%s] B [%s]", ctx,
	              hex_at(ha, sizeof(ha), wa, a->opt_off + a->opt_len, a->opt_off),
	              hex_at(hb, sizeof(hb), wb, b->opt_off + b->opt_len, b->opt_off));

	/* ADDITIONAL as a set. */
	rec_list_t sa = { 0 }, sb = { 0 }, rest = { 0 };
	char msg[1024];
	rec_list_section(&sa, a->pkt, KNOT_ADDITIONAL);
	rec_list_section(&sb, b->pkt, KNOT_ADDITIONAL);
	rec_list_to_set(&sa);
	rec_list_to_set(&sb);
	if (noglue == NULL) {
		ck_assert_msg(rec_set_diff(&sa, &sb, msg, sizeof(msg)) == 0,
		              "%s: ADDITIONAL sets differ: %s", ctx, msg);
	} else {
		knot_dname_t *owner = knot_dname_from_str_alloc(noglue);
		ck_assert_ptr_nonnull(owner);
		knot_dname_to_lower(owner);
		size_t only_b = rec_split_owner(&sb, owner, &rest);
		ck_assert_msg(only_b > 0,
		              "%s: static answer has no glue for %s (test zone broken?)", ctx, noglue);
		ck_assert_msg(rec_set_diff(&sa, &rest, msg, sizeof(msg)) == 0,
		              "%s: ADDITIONAL differs beyond the documented missing glue for %s: %s",
		              ctx, noglue, msg);
		free(owner);
	}
	rec_list_free(&sa);
	rec_list_free(&sb);
	rec_list_free(&rest);
}

/*
 * MX records of an answer.
 */

typedef struct {
	uint16_t pref;
	knot_dname_storage_t exch;	/*!< Lowercase exchange. */
	uint32_t ttl;
} mx_t;

/*! \brief MX records of the ANSWER section; returns their number. */
static size_t answer_mx(const knot_pkt_t *pkt, mx_t *mx, size_t max, bool *rrsig_mx)
{
	const knot_pktsection_t *sec = knot_pkt_section(pkt, KNOT_ANSWER);
	size_t n = 0;
	*rrsig_mx = false;
	for (uint16_t i = 0; i < sec->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(sec, i);
		knot_rdata_t *rd = rr->rrs.rdata;
		for (uint16_t j = 0; j < rr->rrs.count; j++, rd = knot_rdataset_next(rd)) {
			if (rr->type == KNOT_RRTYPE_RRSIG && rd->len >= 2 &&
			    knot_wire_read_u16(rd->data) == KNOT_RRTYPE_MX) {
				*rrsig_mx = true;
			}
			if (rr->type != KNOT_RRTYPE_MX || rd->len < 3) {
				continue;
			}
			ck_assert_msg(n < max, "too many MX records");
			mx[n].pref = knot_wire_read_u16(rd->data);
			knot_dname_copy_lower(mx[n].exch, rd->data + 2);
			mx[n].ttl = rr->ttl;
			n++;
		}
	}
	return n;
}

static const char *mx_str(char *out, size_t outlen, const mx_t *mx, size_t n)
{
	size_t w = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && w + 1 < outlen; i++) {
		char name[KNOT_DNAME_TXT_MAXLEN + 1];
		(void)knot_dname_to_str(name, mx[i].exch, sizeof(name));
		w += (size_t)snprintf(out + w, outlen - w, "%sMX %u %s", i ? ", " : "", mx[i].pref, name);
	}
	return out;
}

/*! \brief Parse "PREF NAME" into an MX record. */
static void mx_parse(const char *text, mx_t *mx)
{
	unsigned pref;
	char name[KNOT_DNAME_TXT_MAXLEN + 1];
	ck_assert_msg(sscanf(text, "%u %1000s", &pref, name) == 2 && pref <= 65535,
	              "bad trap spec '%s'", text);
	mx->pref = (uint16_t)pref;
	ck_assert_ptr_nonnull(knot_dname_from_str(mx->exch, name, sizeof(mx->exch)));
	knot_dname_to_lower(mx->exch);
}

static bool mx_has(const mx_t *mx, size_t n, const mx_t *want)
{
	for (size_t i = 0; i < n; i++) {
		if (mx[i].pref == want->pref && knot_dname_is_equal(mx[i].exch, want->exch)) {
			return true;
		}
	}
	return false;
}

/*
 * The case table.
 */

typedef enum {
	EXP_TRAPPED,	/*!< The traps are added, answer equals the static one. */
	EXP_UNCHANGED,	/*!< Plain zone's answer, equals the static one. */
	EXP_NOGLUE,	/*!< Trapped; static glue of `noglue` is missing (documented). */
	EXP_TC,		/*!< Derived: too large with the traps, TC and no MX (as static). */
	EXP_SIGNED,	/*!< Derived: signed zone + DO, RRSIG(MX) and no trap (not compared). */
} expect_t;

enum {
	F_V6     = 1 << 0,	/*!< Also over IPv6. */
	F_TC512  = 1 << 1,	/*!< Trapped answer exceeds 512 bytes, plain does not. */
	F_SIGNED = 1 << 2,	/*!< Zone is signed on server A. */
};

typedef struct {
	const char *name;		/*!< Case (TCase) name. */
	const char *qname;
	uint16_t qtype;
	expect_t expect;
	int n_mx;			/*!< MX records of the plain answer (-1: not checked). */
	const char *traps[MAX_TRAPS];	/*!< Expected trap records "PREF EXCHANGE". */
	unsigned flags;
	const char *noglue;		/*!< For EXP_NOGLUE. */
} answer_case_t;

/*! \brief A case row; optional fields: .traps, .flags, .noglue. */
#define CASE(nm, qn, qt, exp, nmx, ...) \
	{ .name = (nm), .qname = (qn), .qtype = (qt), .expect = (exp), .n_mx = (nmx), __VA_ARGS__ }
#define MX	KNOT_RRTYPE_MX
#define A	KNOT_RRTYPE_A
#define AAAA	KNOT_RRTYPE_AAAA
#define ANY	KNOT_RRTYPE_ANY
#define TXT	KNOT_RRTYPE_TXT
#define TRAPPED	EXP_TRAPPED
#define SAME	EXP_UNCHANGED

static const answer_case_t CASES[] = {
	/* example.com: module with defaults (preference 99, require-backup on). */
	CASE("apex",           "example.com.",           MX, TRAPPED, 2,
	     .traps = { "99 mail1.example.com." }, .flags = F_V6),
	CASE("apex-upper",     "EXAMPLE.COM.",           MX, TRAPPED, 2,
	     .traps = { "99 mail1.example.com." }),
	CASE("non-apex-ttl",   "mail.example.com.",      MX, TRAPPED, 2,
	     .traps = { "99 mx1.example.com." }),
	CASE("cname",          "alias.example.com.",     MX, TRAPPED, 2,
	     .traps = { "99 mx1.example.com." }),
	CASE("dname",          "mail.dn.example.com.",   MX, TRAPPED, 2,
	     .traps = { "99 mail1.example.com." }),
	CASE("wildcard",       "host.wild.example.com.", MX, TRAPPED, 2,
	     .traps = { "99 mail1.example.com." }, .flags = F_V6),
	CASE("single",         "single.example.com.",    MX, SAME,    1),
	CASE("equal-pair",     "equal.example.com.",     MX, SAME,    2),
	CASE("null-mx",        "null.example.com.",      MX, SAME,    1),
	CASE("trap-present",   "present.example.com.",   MX, SAME,    3),
	CASE("multi-primary",  "multi.example.com.",     MX, TRAPPED, 3,
	     .traps = { "99 mx1.example.com.", "99 mx2.example.com." }),
	CASE("mixed-case",     "mIxEd.ExAmPlE.cOm.",     MX, TRAPPED, 2,
	     .traps = { "99 mail1.example.com." }, .flags = F_V6),
	CASE("out-of-zone",    "ext.example.com.",       MX, TRAPPED, 2,
	     .traps = { "99 mx.example.net." }),
	CASE("backup-100",     "b100.example.com.",      MX, TRAPPED, 2,
	     .traps = { "101 mail1.example.com." }),
	CASE("max-preference", "max.example.com.",       MX, SAME,    2),
	CASE("big-tc",         "big.example.com.",       MX, TRAPPED, 22,
	     .traps = { "99 mx01.big.example.com.", "99 mx02.big.example.com.",
	                "99 mx03.big.example.com." }, .flags = F_TC512 | F_V6),
	CASE("referral",       "host.sub.example.com.",  MX,   SAME, 0),
	CASE("a",              "mail1.example.com.",     A,    SAME, 0),
	CASE("aaaa",           "mail1.example.com.",     AAAA, SAME, 0),
	CASE("nxdomain",       "nope.example.com.",      MX,   SAME, 0),
	CASE("nodata-mx",      "mail1.example.com.",     MX,   SAME, 0),
	/* plain.test: module loaded, server B serves the plain zone (no trap anywhere). */
	CASE("plain-any-apex", "plain.test.",            ANY,  SAME, -1),
	CASE("plain-any-mx",   "mxonly.plain.test.",     ANY,  SAME, 2, .flags = F_V6),
	CASE("plain-a",        "host.plain.test.",       A,    SAME, 0),
	CASE("plain-aaaa",     "host.plain.test.",       AAAA, SAME, 0),
	CASE("plain-txt",      "plain.test.",            TXT,  SAME, 0),
	CASE("plain-nxdomain", "nope.plain.test.",       MX,   SAME, 0),
	CASE("plain-nodata",   "host.plain.test.",       MX,   SAME, 0),
	CASE("plain-referral", "x.sub.plain.test.",      MX,   SAME, 0),
	/* exout.test: exchange trap.example.org. (out of zone), preference 500. */
	CASE("exchange-out",   "exout.test.",            MX, TRAPPED, 2,
	     .traps = { "500 trap.example.org." }),
	CASE("exchange-high",  "high.exout.test.",       MX, TRAPPED, 2,
	     .traps = { "601 trap.example.org." }),
	CASE("exchange-single","single.exout.test.",     MX, SAME,    1),
	/* exin.test: exchange decoy.exin.test. (in zone, not an exchanger: no glue) and mx1. */
	CASE("exchange-in",    "exin.test.",             MX, EXP_NOGLUE, 2,
	     .traps = { "500 mx1.exin.test.", "500 decoy.exin.test." }, .flags = F_V6,
	     .noglue = "decoy.exin.test."),
	/* nobackup.test: require-backup off. */
	CASE("nobackup-single","nobackup.test.",         MX, TRAPPED, 1,
	     .traps = { "99 mx1.nobackup.test." }),
	CASE("nobackup-equal", "equal.nobackup.test.",   MX, TRAPPED, 2,
	     .traps = { "99 mx1.nobackup.test.", "99 mx2.nobackup.test." }),
	CASE("nobackup-null",  "null.nobackup.test.",    MX, SAME,    1),
	/* nomod.test: no module on server A. */
	CASE("no-module",      "nomod.test.",            MX, SAME,    2),
	/* signed.test: signed on server A; trapped without DO, untouched with DO. */
	CASE("signed",         "signed.test.",           MX, TRAPPED, 2,
	     .traps = { "99 mx1.signed.test." }, .flags = F_SIGNED | F_V6),
};

#define CASE_COUNT	(sizeof(CASES) / sizeof(CASES[0]))

/*! \brief Transport variants: each case runs over several of them. */
typedef enum {
	V_UDP4,
	V_UDP4_EDNS,
	V_UDP4_DO,
	V_UDP4_512,
	V_UDP4_4096,
	V_TCP4,
	V_TCP4_DO,
	V_UDP6,
	V_TCP6,
	V_COUNT
} variant_id_t;

typedef struct {
	int family;
	bool tcp;
	uint16_t edns;		/*!< EDNS payload size, 0: no EDNS. */
	bool dnssec_ok;
} variant_t;

static const variant_t VARIANTS[V_COUNT] = {
	[V_UDP4]      = { AF_INET,  false, 0,    false },
	[V_UDP4_EDNS] = { AF_INET,  false, 1232, false },
	[V_UDP4_DO]   = { AF_INET,  false, 1232, true },
	[V_UDP4_512]  = { AF_INET,  false, 512,  false },
	[V_UDP4_4096] = { AF_INET,  false, 4096, false },
	[V_TCP4]      = { AF_INET,  true,  0,    false },
	[V_TCP4_DO]   = { AF_INET,  true,  1232, true },
	[V_UDP6]      = { AF_INET6, false, 1232, false },
	[V_TCP6]      = { AF_INET6, true,  1232, false },
};

static unsigned case_variants(const answer_case_t *c)
{
	unsigned mask = (1u << V_UDP4) | (1u << V_UDP4_EDNS) | (1u << V_UDP4_DO) |
	                (1u << V_UDP4_512) | (1u << V_UDP4_4096) | (1u << V_TCP4);
	if (c->flags & F_V6) {
		mask |= (1u << V_UDP6) | (1u << V_TCP6);
	}
	if (c->flags & F_SIGNED) {
		mask |= (1u << V_TCP4_DO);
	}
	return mask;
}

static expect_t variant_expect(const answer_case_t *c, const variant_t *v)
{
	if ((c->flags & F_SIGNED) && v->dnssec_ok) {
		return EXP_SIGNED;
	}
	if ((c->flags & F_TC512) && !v->tcp && v->edns <= 512) {
		return EXP_TC;
	}
	return c->expect;
}

/*!
 * \brief Ask a server, assert an answer, lay it out and parse it.
 *
 * A server that stopped answering once fails the following tests at once
 * (flag shared with the forked test processes), keeping the run short.
 */
static resp_t *ask(const server_t *srv, const variant_t *v, const uint8_t *q, size_t qlen,
                   const char *ctx)
{
	int idx = (int)(srv - g_srv);
	char tail[400];
	ck_assert_msg(!g_silent[idx], "%s: server %s stopped answering in an earlier test",
	              ctx, srv->label);
	resp_t *r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	int len = dns_exchange(srv, v->family, v->tcp, q, qlen, r->wire, IO_TIMEOUT_MS);
	if (len <= 0) {
		g_silent[idx] = 1;
		log_tail(srv->log, tail, sizeof(tail));
		ck_abort_msg("%s: no answer from server %s (port %u); knotd log: %s",
		             ctx, srv->label, srv->port, tail);
	}
	r->len = (size_t)len;
	ck_assert_msg(resp_layout(r), "%s: malformed answer from server %s", ctx, srv->label);
	return r;
}

static void resp_free(resp_t *r)
{
	knot_pkt_free(r->pkt);
	free(r);
}

/*!
 * \brief Does an MX RRset fit into a UDP answer of \a limit bytes?
 *
 * Built with libknot's writer (the one knotd uses), with the OPT space reserved
 * when the query had EDNS.
 */
static int mx_fit(const char *qname, uint16_t limit, bool edns, const mx_t *mx, size_t n,
                  const mx_t *skip, size_t nskip)
{
	knot_dname_t *owner = knot_dname_from_str_alloc(qname);
	knot_pkt_t *pkt = knot_pkt_new(NULL, limit, NULL);
	knot_rrset_t *rr = knot_rrset_new(owner, KNOT_RRTYPE_MX, KNOT_CLASS_IN,
	                                  n > 0 ? mx[0].ttl : 0, NULL);
	ck_assert(owner != NULL && pkt != NULL && rr != NULL);
	ck_assert_int_eq(knot_pkt_put_question(pkt, owner, KNOT_CLASS_IN, KNOT_RRTYPE_MX), KNOT_EOK);
	if (edns) {
		ck_assert_int_eq(knot_pkt_reserve(pkt, KNOT_EDNS_MIN_SIZE), KNOT_EOK);
	}
	ck_assert_int_eq(knot_pkt_begin(pkt, KNOT_ANSWER), KNOT_EOK);
	for (size_t i = 0; i < n; i++) {
		if (mx_has(skip, nskip, &mx[i])) {
			continue;
		}
		uint8_t rd[2 + KNOT_DNAME_MAXLEN];
		knot_wire_write_u16(rd, mx[i].pref);
		size_t dlen = knot_dname_size(mx[i].exch);
		memcpy(rd + 2, mx[i].exch, dlen);
		ck_assert_int_eq(knot_rrset_add_rdata(rr, rd, 2 + dlen, NULL), KNOT_EOK);
	}
	int ret = knot_pkt_put(pkt, KNOT_COMPR_HINT_QNAME, rr, 0);
	knot_rrset_free(rr, NULL);
	knot_pkt_free(pkt);
	free(owner);
	return ret;
}

/*!
 * \brief A truncated answer is due to the traps: the plain RRset fits the
 *        client's buffer, the trapped one (from a TCP answer) does not.
 */
static void check_tc_cause(const char *ctx, const answer_case_t *c, const variant_t *v,
                           const mx_t *traps, size_t ntraps)
{
	static const variant_t tcp = { AF_INET, true, 0, false };
	uint8_t q[512];
	size_t qlen = build_query(q, 0x7c7c, c->qname, c->qtype, 0, false);
	resp_t *r = ask(&g_srv[SRV_A], &tcp, q, qlen, ctx);
	mx_t mx[MAX_MX];
	bool rrsig;
	size_t n = answer_mx(r->pkt, mx, MAX_MX, &rrsig);
	uint16_t limit = v->edns ? v->edns : 512;
	ck_assert_msg(mx_fit(c->qname, limit, v->edns > 0, mx, n, traps, ntraps) == KNOT_EOK,
	              "%s: the plain MX RRset does not fit %u bytes, the case is badly sized", ctx, limit);
	ck_assert_msg(mx_fit(c->qname, limit, v->edns > 0, mx, n, NULL, 0) == KNOT_ESPACE,
	              "%s: the MX RRset over TCP (%zu records) fits %u bytes: no trap, TC unexplained",
	              ctx, n, limit);
	resp_free(r);
}

/*! \brief Assert what server A's answer holds: traps present or absent. */
static void check_mx(const char *ctx, const answer_case_t *c, const variant_t *v,
                     const resp_t *a, const resp_t *b, expect_t exp)
{
	mx_t mx[MAX_MX], traps[MAX_TRAPS];
	size_t ntraps = 0;
	bool rrsig_mx;
	char list[2048];
	for (; ntraps < MAX_TRAPS && c->traps[ntraps] != NULL; ntraps++) {
		mx_parse(c->traps[ntraps], &traps[ntraps]);
	}
	size_t n = answer_mx(a->pkt, mx, MAX_MX, &rrsig_mx);
	mx_str(list, sizeof(list), mx, n);
	bool tc = knot_wire_get_tc(a->wire) != 0;

	switch (exp) {
	case EXP_TRAPPED:
	case EXP_NOGLUE:
		ck_assert_msg(!tc, "%s: unexpected TC", ctx);
		for (size_t i = 0; i < ntraps; i++) {
			ck_assert_msg(mx_has(mx, n, &traps[i]), "%s: trap 'MX %s' missing; answer: %s",
			              ctx, c->traps[i], list);
		}
		ck_assert_msg(n == (size_t)c->n_mx + ntraps,
		              "%s: expected %d plain + %zu trap MX, got %zu: %s",
		              ctx, c->n_mx, ntraps, n, list);
		for (size_t i = 1; i < n; i++) {
			ck_assert_msg(mx[i].ttl == mx[0].ttl, "%s: MX TTLs differ: %u, %u",
			              ctx, mx[0].ttl, mx[i].ttl);
		}
		break;
	case EXP_UNCHANGED:
		ck_assert_msg(c->n_mx < 0 || n == (size_t)c->n_mx,
		              "%s: expected the plain zone's %d MX, got %zu: %s", ctx, c->n_mx, n, list);
		break;
	case EXP_TC:
		ck_assert_msg(tc && n == 0, "%s: expected TC and no MX, got TC=%d, %zu MX: %s",
		              ctx, tc, n, list);
		check_tc_cause(ctx, c, v, traps, ntraps);
		break;
	case EXP_SIGNED:
		ck_assert_msg(!tc && rrsig_mx, "%s: no RRSIG(MX) in the DO answer (TC=%d): %s",
		              ctx, tc, list);
		ck_assert_msg(n == (size_t)c->n_mx,
		              "%s: signed answer must keep the zone's %d MX, got %zu: %s",
		              ctx, c->n_mx, n, list);
		/* Exactly the zone's records: the static MX set less the traps. */
		mx_t mb[MAX_MX];
		bool rrsig_b;
		size_t nb = answer_mx(b->pkt, mb, MAX_MX, &rrsig_b);
		for (size_t i = 0; i < n; i++) {
			ck_assert_msg(!mx_has(traps, ntraps, &mx[i]) && mx_has(mb, nb, &mx[i]),
			              "%s: signed answer has a record not in the zone: %s", ctx, list);
		}
		break;
	}
}

static const char *VARIANT_NAMES[V_COUNT] = {
	"udp4", "udp4_edns1232", "udp4_edns1232_do", "udp4_edns512", "udp4_edns4096",
	"tcp4", "tcp4_edns1232_do", "udp6_edns1232", "tcp6_edns1232",
};

/*! \brief Run one case over one transport variant. */
static void run_case(int idx, variant_id_t vid)
{
	require_servers();
	const answer_case_t *c = &CASES[idx];
	const variant_t *v = &VARIANTS[vid];
	expect_t exp = variant_expect(c, v);
	char ctx[128];
	fmt(ctx, sizeof(ctx), "%s/%s (%s)", c->name, VARIANT_NAMES[vid], c->qname);

	uint8_t q[512];
	size_t qlen = build_query(q, (uint16_t)(0x1000 + idx * 16 + vid), c->qname, c->qtype,
	                          v->edns, v->dnssec_ok);
	ck_assert_msg(qlen > 0, "%s: cannot build query", ctx);
	resp_t *a = ask(&g_srv[SRV_A], v, q, qlen, ctx);
	resp_t *b = ask(&g_srv[SRV_B], v, q, qlen, ctx);
	if (exp != EXP_SIGNED) {
		compare_answers(ctx, a, b, exp == EXP_NOGLUE ? c->noglue : NULL);
	}
	check_mx(ctx, c, v, a, b, exp);
	resp_free(a);
	resp_free(b);
}

#define VARIANT_TEST(fn, vid) START_TEST(fn) { run_case(_i, vid); } END_TEST
VARIANT_TEST(udp4, V_UDP4)
VARIANT_TEST(udp4_edns1232, V_UDP4_EDNS)
VARIANT_TEST(udp4_edns1232_do, V_UDP4_DO)
VARIANT_TEST(udp4_edns512, V_UDP4_512)
VARIANT_TEST(udp4_edns4096, V_UDP4_4096)
VARIANT_TEST(tcp4, V_TCP4)
VARIANT_TEST(tcp4_edns1232_do, V_TCP4_DO)
VARIANT_TEST(udp6_edns1232, V_UDP6)
VARIANT_TEST(tcp6_edns1232, V_TCP6)

/*
 * Harness, AXFR, counters.
 */

START_TEST(module_built)
{
	ck_assert_msg(g_module_ok, "module not found at MXTRAP_MODULE='%s' (server A runs without it)",
	              g_module ? g_module : "");
	require_servers();
}
END_TEST

/*! \brief All records of a zone transfer from a server. */
static void axfr(const server_t *srv, const char *zone, rec_list_t *out)
{
	uint8_t q[512], msg[MAX_MSG];
	size_t qlen = build_query(q, 0xa4f2, zone, KNOT_RRTYPE_AXFR, 0, false);
	int fd = tcp_connect(srv, AF_INET);
	ck_assert_msg(fd >= 0 && tcp_send(fd, q, qlen), "AXFR %s: cannot connect to %s", zone, srv->label);
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	int soa = 0;
	for (int msgs = 0; soa < 2 && msgs < 1000; msgs++) {
		int len = tcp_recv(fd, msg, deadline);
		ck_assert_msg(len > 0, "AXFR %s from %s: incomplete", zone, srv->label);
		knot_pkt_t *pkt = knot_pkt_new(msg, len, NULL);
		ck_assert_msg(pkt != NULL && knot_pkt_parse(pkt, 0) == KNOT_EOK &&
		              knot_wire_get_rcode(msg) == KNOT_RCODE_NOERROR,
		              "AXFR %s from %s: bad message (rcode %u)", zone, srv->label,
		              knot_wire_get_rcode(msg));
		const knot_pktsection_t *sec = knot_pkt_section(pkt, KNOT_ANSWER);
		for (uint16_t i = 0; i < sec->count; i++) {
			soa += (knot_pkt_rr(sec, i)->type == KNOT_RRTYPE_SOA);
		}
		rec_list_section(out, pkt, KNOT_ANSWER);
		knot_pkt_free(pkt);
	}
	close(fd);
	ck_assert_msg(soa == 2, "AXFR %s from %s: no closing SOA", zone, srv->label);
	rec_list_to_set(out);
}

/*! \brief The traps written by hand into example.com.trap.zone. */
static const char *EXAMPLE_COM_TRAPS[] = {
	"example.com. 99 mail1.example.com.",
	"mail.example.com. 99 mx1.example.com.",
	"mail.target.example.com. 99 mail1.example.com.",
	"*.wild.example.com. 99 mail1.example.com.",
	"multi.example.com. 99 mx1.example.com.",
	"multi.example.com. 99 mx2.example.com.",
	"mixed.example.com. 99 mail1.example.com.",
	"ext.example.com. 99 mx.example.net.",
	"b100.example.com. 101 mail1.example.com.",
	"big.example.com. 99 mx01.big.example.com.",
	"big.example.com. 99 mx02.big.example.com.",
	"big.example.com. 99 mx03.big.example.com.",
};

START_TEST(axfr_example_com)
{
	require_servers();
	rec_list_t a = { 0 }, b = { 0 }, only_b = { 0 };
	char msg[1024];
	axfr(&g_srv[SRV_A], "example.com.", &a);
	axfr(&g_srv[SRV_B], "example.com.", &b);
	size_t ntraps = sizeof(EXAMPLE_COM_TRAPS) / sizeof(EXAMPLE_COM_TRAPS[0]);
	/* A must be B minus exactly the hand-written traps. */
	rec_list_t only_a = { 0 };
	rec_set_minus(&a, &b, &only_a);
	rec_set_minus(&b, &a, &only_b);
	rec_set_diff(&a, &b, msg, sizeof(msg));
	ck_assert_msg(only_a.n == 0 && only_b.n == ntraps,
	              "AXFR example.com: A %zu records, B %zu; expected only the %zu traps to differ: %s",
	              a.n, b.n, ntraps, msg);
	free(only_a.v);
	for (size_t k = 0; k < only_b.n; k++) {
		const rec_t *r = &only_b.v[k];
		bool found = false;
		for (size_t t = 0; t < ntraps && !found; t++) {
			char owner[KNOT_DNAME_TXT_MAXLEN + 1];
			mx_t want;
			ck_assert(sscanf(EXAMPLE_COM_TRAPS[t], "%1000s", owner) == 1);
			mx_parse(EXAMPLE_COM_TRAPS[t] + strlen(owner) + 1, &want);
			knot_dname_storage_t own;
			ck_assert_ptr_nonnull(knot_dname_from_str(own, owner, sizeof(own)));
			size_t olen = knot_dname_size(r->b);
			const uint8_t *rd = r->b + olen + 10;
			found = knot_dname_is_equal(own, r->b) &&
			        knot_wire_read_u16(r->b + olen) == KNOT_RRTYPE_MX &&
			        knot_wire_read_u16(rd) == want.pref &&
			        knot_dname_is_equal(rd + 2, want.exch);
		}
		ck_assert_msg(found, "AXFR example.com: unexpected difference %s",
		              rec_str(msg, sizeof(msg), r));
	}
	free(only_b.v);
	rec_list_free(&a);
	rec_list_free(&b);
}
END_TEST

START_TEST(axfr_plain_test)
{
	require_servers();
	rec_list_t a = { 0 }, b = { 0 };
	char msg[1024];
	axfr(&g_srv[SRV_A], "plain.test.", &a);
	axfr(&g_srv[SRV_B], "plain.test.", &b);
	ck_assert_msg(a.n > 0 && rec_set_diff(&a, &b, msg, sizeof(msg)) == 0,
	              "AXFR plain.test differs: %s", msg);
	rec_list_free(&a);
	rec_list_free(&b);
}
END_TEST

/*! \brief Run a program, capture stdout+stderr (bounded), return exit status. */
static int run_capture(char *const argv[], char *out, size_t outlen)
{
	int pfd[2];
	ck_assert_int_eq(pipe(pfd), 0);
	pid_t pid = spawn(argv, g_knotc_env, pfd[1]);
	close(pfd[1]);
	ck_assert_int_gt(pid, 0);
	size_t got = 0;
	int64_t deadline = now_ms() + 10000;
	while (got + 1 < outlen && wait_fd(pfd[0], POLLIN, deadline)) {
		ssize_t n = read(pfd[0], out + got, outlen - 1 - got);
		if (n <= 0) {
			break;
		}
		got += (size_t)n;
	}
	out[got] = '\0';
	close(pfd[0]);
	int status = -1;
	if (!wait_exit(pid, 5000, &status)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	return status;
}

/*! \brief Value of "[zone] mod-mxtrap.item = N" in knotc output, -1 if absent. */
static long long stat_value(const char *out, const char *zone, const char *item)
{
	char prefix[256];
	fmt(prefix, sizeof(prefix), "[%s] mod-mxtrap.%s = ", zone, item);
	for (const char *line = out; line != NULL && *line != '\0'; ) {
		if (strncmp(line, prefix, strlen(prefix)) == 0) {
			return strtoll(line + strlen(prefix), NULL, 10);
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return -1;
}

START_TEST(module_counters)
{
	require_servers();
	char out[16384] = "", oneline[2048];
	for (size_t i = 0; i < sizeof(ZONES) / sizeof(ZONES[0]); i++) {
		char part[4096];
		/* -f: counters at 0 too (Knot >= 3.4 leaves out every zero counter
		 * without it, 3.2 only the zero ones of indexed counters). */
		char *argv[] = { (char *)g_knotc, "-c", g_srv[SRV_A].conf, "-s", g_srv[SRV_A].sock,
		                 "-t", "5", "-f", "zone-stats", (char *)ZONES[i].name, NULL };
		int status = run_capture(argv, part, sizeof(part));
		fmt(oneline, sizeof(oneline), "%s", part);
		for (char *p = oneline; *p != '\0'; p++) {
			*p = (*p == '\n') ? '|' : *p;
		}
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		              "knotc zone-stats %s failed (status %d): %s", ZONES[i].name, status, oneline);
		strncat(out, part, sizeof(out) - strlen(out) - 2);
		strcat(out, "\n");
	}
	fmt(oneline, sizeof(oneline), "%s", out);
	for (char *p = oneline; *p != '\0'; p++) {
		*p = (*p == '\n') ? '|' : *p;
	}

	static const struct { const char *zone, *item; bool positive; } expect[] = {
		{ "example.com.",   "trapped",                    true },
		{ "example.com.",   "truncated",                  true },
		{ "example.com.",   "unchanged[null-mx]",         true },
		{ "example.com.",   "unchanged[no-backup]",       true },
		{ "example.com.",   "unchanged[trap-present]",    true },
		{ "example.com.",   "unchanged[max-preference]",  true },
		{ "signed.test.",   "unchanged[signed]",          true },
		{ "signed.test.",   "trapped",                    true },
		{ "exout.test.",    "trapped",                    true },
		{ "exout.test.",    "unchanged[no-backup]",       true },
		{ "exin.test.",     "trapped",                    true },
		{ "nobackup.test.", "trapped",                    true },
		{ "nobackup.test.", "unchanged[null-mx]",         true },
		{ "plain.test.",    "trapped",                    false },
	};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		long long val = stat_value(out, expect[i].zone, expect[i].item);
		if (expect[i].positive) {
			ck_assert_msg(val > 0, "counter [%s] mod-mxtrap.%s = %lld, expected > 0; knotc: %s",
			              expect[i].zone, expect[i].item, val, oneline);
		} else {
			ck_assert_msg(val == 0, "counter [%s] mod-mxtrap.%s = %lld, expected 0; knotc: %s",
			              expect[i].zone, expect[i].item, val, oneline);
		}
	}
	ck_assert_msg(strstr(out, "[nomod.test.] mod-mxtrap") == NULL,
	              "nomod.test has module counters: %s", oneline);
}
END_TEST

static Suite *answers_suite(void)
{
	const TTest *tests[V_COUNT] = {
		udp4, udp4_edns1232, udp4_edns1232_do, udp4_edns512, udp4_edns4096,
		tcp4, tcp4_edns1232_do, udp6_edns1232, tcp6_edns1232,
	};
	Suite *s = suite_create("mxtrap-integration");

	TCase *tc = tcase_create("harness");
	tcase_add_unchecked_fixture(tc, servers_up, NULL);
	tcase_add_test(tc, module_built);
	suite_add_tcase(s, tc);

	for (size_t i = 0; i < CASE_COUNT; i++) {
		tc = tcase_create(CASES[i].name);
		tcase_add_unchecked_fixture(tc, servers_up, NULL);
		tcase_set_timeout(tc, 30);
		unsigned mask = case_variants(&CASES[i]);
		for (int v = 0; v < V_COUNT; v++) {
			if (mask & (1u << v)) {
				tcase_add_loop_test(tc, tests[v], (int)i, (int)i + 1);
			}
		}
		suite_add_tcase(s, tc);
	}

	tc = tcase_create("axfr");
	tcase_add_unchecked_fixture(tc, servers_up, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, axfr_example_com);
	tcase_add_test(tc, axfr_plain_test);
	suite_add_tcase(s, tc);

	/* Last: counters after all queries, then the servers go down. */
	tc = tcase_create("counters");
	tcase_add_unchecked_fixture(tc, servers_up, servers_down);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, module_counters);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	g_runner_pid = getpid();
	g_module = getenv("MXTRAP_MODULE");
	g_knotd = env_or("KNOTD", "/usr/sbin/knotd");
	g_knotc = env_or("KNOTC", "/usr/sbin/knotc");
	g_zonedir = env_or("MXTRAP_ZONES", "zones");
	parse_wrapper();
	g_scale = atoi(env_or("MXTRAP_TIMEOUT_SCALE", g_wrapper[0] != NULL ? "10" : "1"));
	g_scale = (g_scale < 1) ? 1 : (g_scale > 100) ? 100 : g_scale;
	g_srv[SRV_A].env = child_env("knotd-A");
	g_srv[SRV_B].env = child_env("knotd-B");
	g_knotc_env = child_env("knotc");

	g_silent = mmap(NULL, 2 * sizeof(int), PROT_READ | PROT_WRITE,
	                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_silent == MAP_FAILED) {
		perror("mmap");
		return EXIT_FAILURE;
	}
	atexit(servers_down);
	install_safety_net();

	SRunner *sr = srunner_create(answers_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	servers_down();
	/* A leak report at exit or valgrind's error exit code shows only here. */
	for (int i = 0; i < 2; i++) {
		int st = g_srv[i].exit_status;
		if (st != -1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			printf("# knotd %s did not exit cleanly on SIGTERM (%s %d)\n", g_srv[i].label,
			       WIFEXITED(st) ? "exit status" : "signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			failed++;
		}
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
