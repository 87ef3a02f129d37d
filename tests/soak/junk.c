/*!
 * \file
 *
 * \brief Soak-test helper: malformed DNS queries for a server under test, and
 *        dnsperf's binary query file with EDNS sizes from 512 to 4096.
 *
 * junk send -s ADDR -p PORT -d NAMES [-n COUNT] [-t SECONDS] [-q QPS] [-S SEED]
 *	Sends up to COUNT messages (default 100000) within SECONDS (default 60)
 *	at no more than QPS per second (default 2000) over UDP and TCP: random
 *	bytes, truncated headers and messages, bad labels, names over 255
 *	octets, compression loops, wrong section counts, odd and oversized
 *	EDNS, odd opcodes, classes and types, trailing garbage, odd TCP
 *	framing, and valid MX queries with any EDNS payload size.  Each message
 *	is built from a query for a name of NAMES (dnsperf format: "name type"
 *	per line) so that most of them reach the zones under test.
 *
 * junk blob -d NAMES -o FILE [-n COUNT] [-S SEED]
 *	Writes COUNT queries (default 10000) for the names of NAMES in
 *	dnsperf's TCP-stream binary format (dnsperf -B): no EDNS or EDNS with a
 *	UDP payload size of 512, 1024, 1232, 1400, 1452, 2048 or 4096, a
 *	quarter of them with DO.  dnsperf -e always asks for 4096.
 *
 * The PRNG seed is printed; -S SEED repeats a run's sequence of messages.
 * Both modes exit 0 when done, 2 on a usage or set-up error.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG		65535	/*!< Largest DNS message (TCP). */
#define MAX_UDP		8192	/*!< Largest malformed message sent over UDP. */
#define MAX_NAMES	4096	/*!< Lines read from the names file. */
#define HDR		12	/*!< DNS header size. */
#define UDP_SOCKS	8	/*!< UDP sockets (source ports) used in turn. */
#define TCP_MAX_MSGS	8	/*!< Messages per TCP connection at most. */
#define TCP_WAIT_MS	300	/*!< Bound for answers on one TCP connection. */
#define CONNECT_MS	1000	/*!< Bound for a TCP connect. */

/*
 * PRNG: splitmix64, small and repeatable from the printed seed.
 */

static uint64_t g_rng;

static uint64_t rnd64(void)
{
	uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*! \brief Uniform integer in [0, n), n > 0. */
static uint32_t rnd(uint32_t n)
{
	return (uint32_t)(rnd64() % n);
}

/*! \brief Uniform integer in [lo, hi]. */
static uint32_t rnd_range(uint32_t lo, uint32_t hi)
{
	return lo + rnd(hi - lo + 1);
}

static void rnd_bytes(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		p[i] = (uint8_t)rnd64();
	}
}

/*
 * Names file and well-formed queries.
 */

typedef struct {
	uint8_t wire[256];	/*!< Name in wire format. */
	size_t len;		/*!< Its size. */
	uint16_t qtype;		/*!< Query type. */
} qname_t;

static qname_t g_names[MAX_NAMES];
static size_t g_nnames;

static const struct { const char *name; uint16_t type; } TYPES[] = {
	{ "A", 1 }, { "NS", 2 }, { "CNAME", 5 }, { "SOA", 6 }, { "PTR", 12 },
	{ "MX", 15 }, { "TXT", 16 }, { "AAAA", 28 }, { "SRV", 33 }, { "DNAME", 39 },
	{ "DS", 43 }, { "RRSIG", 46 }, { "NSEC", 47 }, { "DNSKEY", 48 },
	{ "NSEC3PARAM", 51 }, { "SVCB", 64 }, { "HTTPS", 65 }, { "ANY", 255 },
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*! \brief Text name (no escapes) to wire format; false if malformed. */
static bool name_to_wire(const char *text, uint8_t *out, size_t *outlen)
{
	size_t pos = 0;
	const char *p = text;
	while (*p != '\0' && !(p[0] == '.' && p[1] == '\0')) {
		const char *dot = strchr(p, '.');
		size_t llen = dot ? (size_t)(dot - p) : strlen(p);
		if (llen == 0 || llen > 63 || pos + 1 + llen + 1 > 255) {
			return false;
		}
		out[pos++] = (uint8_t)llen;
		memcpy(out + pos, p, llen);
		pos += llen;
		p += llen + (dot ? 1 : 0);
	}
	out[pos++] = 0;
	*outlen = pos;
	return true;
}

static bool load_names(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "junk: %s: %s\n", path, strerror(errno));
		return false;
	}
	char line[512];
	while (g_nnames < MAX_NAMES && fgets(line, sizeof(line), f) != NULL) {
		char name[300], type[32];
		if (line[0] == '#' || sscanf(line, "%299s %31s", name, type) != 2) {
			continue;
		}
		qname_t *q = &g_names[g_nnames];
		q->qtype = 0;
		for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++) {
			if (strcasecmp(type, TYPES[i].name) == 0) {
				q->qtype = TYPES[i].type;
			}
		}
		if (q->qtype != 0 && name_to_wire(name, q->wire, &q->len)) {
			g_nnames++;
		}
	}
	fclose(f);
	if (g_nnames == 0) {
		fprintf(stderr, "junk: no usable 'name type' line in %s\n", path);
		return false;
	}
	return true;
}

/*!
 * \brief Append an OPT record: root owner, \a payload, \a ttl (extended
 *        RCODE, version, flags), RDLENGTH \a rdlen (RDATA not written).
 */
static size_t put_opt(uint8_t *p, uint16_t payload, uint32_t ttl, uint16_t rdlen)
{
	p[0] = 0;
	put16(p + 1, 41);
	put16(p + 3, payload);
	put16(p + 5, (uint16_t)(ttl >> 16));
	put16(p + 7, (uint16_t)ttl);
	put16(p + 9, rdlen);
	return 11;
}

/*!
 * \brief A well-formed query for \a q into \a out.
 *
 * \param payload  EDNS UDP payload size, 0: no EDNS.
 */
static size_t build_query(uint8_t *out, const qname_t *q, uint16_t qtype,
                          uint16_t payload, bool dnssec_ok)
{
	memset(out, 0, HDR);
	put16(out, (uint16_t)rnd64());
	out[2] = 0x01;	/* RD */
	put16(out + 4, 1);
	size_t len = HDR;
	memcpy(out + len, q->wire, q->len);
	len += q->len;
	put16(out + len, qtype);
	put16(out + len + 2, 1);
	len += 4;
	if (payload > 0) {
		put16(out + 10, 1);
		len += put_opt(out + len, payload, dnssec_ok ? 0x8000 : 0, 0);
	}
	return len;
}

static const qname_t *any_name(void)
{
	return &g_names[rnd((uint32_t)g_nnames)];
}

/*
 * Malformed messages.  Each returns the message size in out (at most max).
 */

enum {
	K_RANDOM, K_SHORT_HDR, K_TRUNC, K_BAD_LABEL, K_LONG_NAME, K_COMPR_LOOP,
	K_COUNTS, K_EDNS, K_HEADER, K_QTYPE, K_TRAILING, K_ODD_NAME, K_VALID_EDNS,
	K_COUNT
};

static const char *const KIND_NAMES[K_COUNT] = {
	"random", "short-header", "truncated", "bad-label", "long-name", "compression-loop",
	"counts", "edns", "header", "qtype-class", "trailing", "odd-name", "valid-edns",
};

static size_t mk_random(uint8_t *out, size_t max)
{
	size_t len = rnd_range(0, max < 600 ? (uint32_t)max : 600);
	rnd_bytes(out, len);
	if (len >= HDR && rnd(2) == 0) {
		out[2] &= 0x07;		/* A plausible query header. */
		put16(out + 4, 1);
	}
	return len;
}

static size_t mk_short_hdr(uint8_t *out)
{
	uint8_t q[512];
	size_t len = build_query(q, any_name(), 15, 0, false);
	size_t cut = rnd(HDR);
	memcpy(out, q, cut < len ? cut : len);
	return cut;
}

static size_t mk_trunc(uint8_t *out)
{
	const qname_t *n = any_name();
	size_t len = build_query(out, n, 15, rnd(2) ? 0 : (uint16_t)rnd_range(512, 4096), rnd(2));
	return rnd_range(HDR, (uint32_t)len - 1);
}

static size_t mk_bad_label(uint8_t *out)
{
	const qname_t *n = any_name();
	size_t len = build_query(out, n, 15, 1232, false);
	/* Pick a label of the QNAME and break its length octet. */
	size_t labels[128], nl = 0;
	for (size_t pos = HDR; out[pos] != 0 && nl < 128; pos += 1 + out[pos]) {
		labels[nl++] = pos;
	}
	size_t at = nl > 0 ? labels[rnd((uint32_t)nl)] : HDR;
	switch (rnd(4)) {
	case 0:	out[at] = (uint8_t)(0x40 | rnd(64)); break;	/* Extended label type. */
	case 1:	out[at] = (uint8_t)(0x80 | rnd(64)); break;	/* Reserved label type. */
	case 2:	out[at] = (uint8_t)rnd_range(64, 255); break;	/* Over 63 and/or past the end. */
	default: out[at] = (uint8_t)(out[at] + rnd_range(1, 40)); break;	/* Runs into the type. */
	}
	return len;
}

static size_t mk_long_name(uint8_t *out)
{
	memset(out, 0, HDR);
	put16(out, (uint16_t)rnd64());
	put16(out + 4, 1);
	size_t len = HDR;
	size_t target = rnd_range(256, 600);	/* Name size over the 255 limit. */
	bool one_char = rnd(2);
	while (len - HDR < target) {
		uint8_t l = one_char ? 1 : (uint8_t)rnd_range(1, 63);
		out[len++] = l;
		for (uint8_t i = 0; i < l; i++) {
			out[len++] = (uint8_t)('a' + rnd(26));
		}
	}
	/* End with a zone's name: a server that accepts it looks it up there. */
	const qname_t *n = any_name();
	memcpy(out + len, n->wire, n->len);
	len += n->len;
	put16(out + len, 15);
	put16(out + len + 2, 1);
	return len + 4;
}

static size_t mk_compr_loop(uint8_t *out)
{
	const qname_t *n = any_name();
	size_t len = build_query(out, n, 15, 1232, false);
	size_t qend = HDR + n->len;	/* QNAME end. */
	uint8_t tail[4 + 11];
	memcpy(tail, out + qend, len - qend);
	size_t tlen = len - qend;
	size_t pos = HDR;
	switch (rnd(6)) {
	case 0:		/* Pointer to itself. */
		out[pos++] = 0xC0; out[pos++] = HDR;
		break;
	case 1:		/* Label, then back to its own start. */
		out[pos++] = 1; out[pos++] = 'x';
		out[pos++] = 0xC0; out[pos++] = HDR;
		break;
	case 2:		/* Two pointers to each other. */
		out[pos++] = 0xC0; out[pos++] = HDR + 2;
		out[pos++] = 0xC0; out[pos++] = HDR;
		break;
	case 3:		/* Pointer into the header. */
		out[pos++] = 0xC0; out[pos++] = (uint8_t)rnd(HDR);
		break;
	case 4:		/* Pointer past the end of the message. */
		out[pos++] = (uint8_t)(0xC0 | rnd(64)); out[pos++] = (uint8_t)rnd64();
		break;
	default:	/* Real labels, then a pointer to the first label (loop). */
		memcpy(out + pos, n->wire, n->len - 1);
		pos += n->len - 1;
		out[pos++] = 0xC0; out[pos++] = HDR;
		break;
	}
	memcpy(out + pos, tail, tlen);
	return pos + tlen;
}

static size_t mk_counts(uint8_t *out)
{
	size_t len = build_query(out, any_name(), 15, rnd(2) ? 1232 : 0, false);
	static const uint16_t odd[] = { 0, 2, 3, 255, 256, 65535 };
	int field = (int)rnd(4);
	put16(out + 4 + 2 * field, odd[rnd(sizeof(odd) / sizeof(odd[0]))]);
	if (rnd(3) == 0) {	/* Records promised, a few random bytes given. */
		size_t extra = rnd(40);
		rnd_bytes(out + len, extra);
		len += extra;
	}
	return len;
}

static size_t mk_edns(uint8_t *out, size_t max)
{
	const qname_t *n = any_name();
	size_t len = build_query(out, n, 15, 0, false);
	size_t opt = len;
	put16(out + 10, 1);
	static const uint16_t sizes[] = { 0, 1, 511, 512, 4096, 65535 };
	uint16_t payload = sizes[rnd(sizeof(sizes) / sizeof(sizes[0]))];
	uint32_t ttl = rnd(4) == 0 ? (uint32_t)rnd64() : (rnd(2) ? 0x8000 : 0) |
	               ((uint32_t)rnd_range(0, 3) << 16);	/* Versions 0..3. */
	switch (rnd(8)) {
	case 0:	/* RDLENGTH past the end of the message. */
		len += put_opt(out + len, payload, ttl, (uint16_t)rnd_range(1, 65535));
		break;
	case 1: {	/* Option longer than the RDATA. */
		len += put_opt(out + len, payload, ttl, 6);
		put16(out + len, (uint16_t)rnd_range(1, 20));
		put16(out + len + 2, (uint16_t)rnd_range(3, 65535));
		len += 6;
		break;
	}
	case 2: {	/* Many options: padding and unknown codes, up to max. */
		size_t room = max - len - 11;
		size_t want = rnd_range(64, (uint32_t)(room < 60000 ? room : 60000));
		size_t rd = 0;
		uint8_t *p = out + len + 11;
		while (rd + 4 <= want) {
			uint16_t olen = (uint16_t)rnd_range(0, 300);
			if (rd + 4 + olen > want) {
				olen = (uint16_t)(want - rd - 4);
			}
			put16(p + rd, rnd(2) ? 12 : (uint16_t)rnd_range(13, 65535));
			put16(p + rd + 2, olen);
			memset(p + rd + 4, 0, olen);
			rd += 4 + olen;
		}
		len += put_opt(out + len, payload, ttl, (uint16_t)rd) + rd;
		break;
	}
	case 3:		/* Two OPT records. */
		put16(out + 10, 2);
		len += put_opt(out + len, payload, ttl, 0);
		len += put_opt(out + len, 1232, 0, 0);
		break;
	case 4:		/* OPT with a non-root owner (compression pointer to QNAME). */
		out[len++] = 0xC0;
		out[len++] = HDR;
		len += put_opt(out + len, payload, ttl, 0) - 1;
		memmove(out + opt + 2, out + opt + 3, 10);
		break;
	case 5:		/* OPT in ANSWER instead of ADDITIONAL. */
		put16(out + 6, 1);
		put16(out + 10, 0);
		len += put_opt(out + len, payload, ttl, 0);
		break;
	case 6: {	/* Known options with bad lengths: ECS, cookie, keepalive, EDE. */
		static const uint16_t codes[] = { 8, 10, 11, 15, 9, 14 };
		size_t rd = 0;
		uint8_t *p = out + len + 11;
		for (int i = 0; i < 4; i++) {
			uint16_t olen = (uint16_t)rnd_range(0, 48);
			put16(p + rd, codes[rnd(sizeof(codes) / sizeof(codes[0]))]);
			put16(p + rd + 2, olen);
			rnd_bytes(p + rd + 4, olen);
			if (olen >= 4 && rnd(2)) {
				put16(p + rd + 4, (uint16_t)rnd(4));	/* ECS family. */
				p[rd + 6] = (uint8_t)rnd(256);		/* Source prefix. */
			}
			rd += 4 + olen;
		}
		len += put_opt(out + len, payload, ttl, (uint16_t)rd) + rd;
		break;
	}
	default:	/* RDLENGTH short of an option header. */
		len += put_opt(out + len, payload, ttl, (uint16_t)rnd_range(1, 3));
		rnd_bytes(out + len, 3);
		len += 3;
		break;
	}
	return len;
}

static size_t mk_header(uint8_t *out)
{
	size_t len = build_query(out, any_name(), 15, rnd(2) ? 1232 : 0, false);
	out[2] = (uint8_t)rnd(256);	/* QR, opcode, AA, TC, RD. */
	out[3] = (uint8_t)rnd(256);	/* RA, Z, AD, CD, RCODE. */
	return len;
}

static size_t mk_qtype(uint8_t *out)
{
	const qname_t *n = any_name();
	static const uint16_t types[] = { 0, 15, 41, 46, 249, 250, 251, 252, 253, 254, 255, 65535 };
	static const uint16_t classes[] = { 0, 1, 3, 4, 254, 255, 65535 };
	size_t len = build_query(out, n, types[rnd(sizeof(types) / sizeof(types[0]))],
	                         rnd(2) ? 1232 : 0, rnd(2));
	put16(out + HDR + n->len + 2, classes[rnd(sizeof(classes) / sizeof(classes[0]))]);
	return len;
}

static size_t mk_trailing(uint8_t *out)
{
	size_t len = build_query(out, any_name(), 15, rnd(2) ? 1232 : 0, false);
	size_t extra = rnd_range(1, 200);
	rnd_bytes(out + len, extra);
	return len + extra;
}

static size_t mk_odd_name(uint8_t *out)
{
	const qname_t *n = any_name();
	uint8_t name[256];
	size_t pos = 0;
	/* One odd label (NUL, dot, 0xFF, upper case) in front of a zone name. */
	size_t l = rnd_range(1, 20);
	name[pos++] = (uint8_t)l;
	for (size_t i = 0; i < l; i++) {
		static const uint8_t odd[] = { 0, '.', 0xFF, '\\', ' ', 'M', 'x', '*', '@' };
		name[pos++] = odd[rnd(sizeof(odd))];
	}
	if (pos + n->len > 255) {
		return build_query(out, n, 15, 1232, false);
	}
	memcpy(name + pos, n->wire, n->len);
	qname_t q = { .len = pos + n->len, .qtype = 15 };
	memcpy(q.wire, name, q.len);
	return build_query(out, &q, 15, rnd(2) ? 1232 : 0, rnd(2));
}

static size_t mk_valid_edns(uint8_t *out)
{
	uint16_t payload = (uint16_t)(rnd(2) ? rnd_range(1, 600) : rnd_range(1, 65535));
	return build_query(out, any_name(), 15, payload, rnd(2));
}

static size_t make_junk(int kind, uint8_t *out, size_t max)
{
	switch (kind) {
	case K_RANDOM:		return mk_random(out, max);
	case K_SHORT_HDR:	return mk_short_hdr(out);
	case K_TRUNC:		return mk_trunc(out);
	case K_BAD_LABEL:	return mk_bad_label(out);
	case K_LONG_NAME:	return mk_long_name(out);
	case K_COMPR_LOOP:	return mk_compr_loop(out);
	case K_COUNTS:		return mk_counts(out);
	case K_EDNS:		return mk_edns(out, max);
	case K_HEADER:		return mk_header(out);
	case K_QTYPE:		return mk_qtype(out);
	case K_TRAILING:	return mk_trailing(out);
	case K_ODD_NAME:	return mk_odd_name(out);
	default:		return mk_valid_edns(out);
	}
}

/*
 * Sending.
 */

typedef struct {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int udp[UDP_SOCKS];
	uint64_t sent_udp, sent_tcp, conns, answers, errors;
	uint64_t kinds[K_COUNT];
} sender_t;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR);
}

/*! \brief Read whatever answers are waiting on the UDP sockets. */
static void udp_drain(sender_t *s)
{
	uint8_t buf[MAX_MSG];
	for (int i = 0; i < UDP_SOCKS; i++) {
		for (int n = 0; n < 64; n++) {
			ssize_t got = recv(s->udp[i], buf, sizeof(buf), MSG_DONTWAIT);
			if (got < 0) {
				if (errno != EAGAIN && errno != EWOULDBLOCK) {
					s->errors++;	/* E.g. ECONNREFUSED: nobody listens. */
				}
				break;
			}
			s->answers++;
		}
	}
}

static void udp_send(sender_t *s, int kind)
{
	uint8_t msg[MAX_UDP];
	size_t len = make_junk(kind, msg, sizeof(msg));
	int fd = s->udp[rnd(UDP_SOCKS)];
	if (send(fd, msg, len, 0) < 0 && errno != EAGAIN) {
		s->errors++;
	}
	s->sent_udp++;
	s->kinds[kind]++;
}

static bool write_all(int fd, const uint8_t *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int left = (int)(deadline - now_ms());
		if (left <= 0 || poll(&pfd, 1, left) != 1) {
			return false;
		}
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				continue;
			}
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/*! \brief Non-blocking connect bounded by CONNECT_MS; -1 on failure. */
static int tcp_open(const sender_t *s)
{
	int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&s->addr, s->addrlen) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t elen = sizeof(err);
	if (poll(&pfd, 1, CONNECT_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*!
 * \brief One TCP connection: 1..TCP_MAX_MSGS messages, some with odd framing
 *        (length prefix too long, too short, zero, split writes, abort).
 */
static void tcp_session(sender_t *s, int first_kind)
{
	int fd = tcp_open(s);
	s->conns++;
	if (fd < 0) {
		s->errors++;
		return;
	}
	static uint8_t msg[2 + MAX_MSG];
	int64_t deadline = now_ms() + TCP_WAIT_MS;
	uint32_t nmsgs = rnd_range(1, TCP_MAX_MSGS);
	bool ok = true;
	for (uint32_t i = 0; i < nmsgs && ok; i++) {
		int kind = (i == 0) ? first_kind : (int)rnd(K_COUNT);
		size_t len = make_junk(kind, msg + 2, MAX_MSG);
		uint16_t prefix = (uint16_t)len;
		size_t wlen = 2 + len;
		switch (rnd(16)) {
		case 0:	prefix = (uint16_t)(len + rnd_range(1, 100)); break;	/* Promises more. */
		case 1:	prefix = (uint16_t)rnd((uint32_t)len + 1); break;		/* Shorter. */
		case 2:	prefix = 0; break;
		case 3:	wlen = rnd_range(1, (uint32_t)wlen); break;	/* Stops mid-message. */
		default: break;
		}
		put16(msg, prefix);
		if (rnd(8) == 0 && wlen > 4) {	/* Split writes. */
			size_t cut = rnd_range(1, (uint32_t)wlen - 1);
			ok = write_all(fd, msg, cut, deadline);
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
			ok = ok && write_all(fd, msg + cut, wlen - cut, deadline);
		} else {
			ok = write_all(fd, msg, wlen, deadline);
		}
		s->sent_tcp++;
		s->kinds[kind]++;
		if (wlen != 2 + len || prefix != len) {
			break;	/* The stream is out of step: stop sending on it. */
		}
	}
	if (ok && rnd(8) != 0) {
		(void)shutdown(fd, SHUT_WR);	/* Mostly: the server sees EOF. */
	}
	/* Read answers until the server closes, a bound, or nothing more comes. */
	uint8_t buf[4096];
	size_t got = 0;
	while (ok && now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)(deadline - now_ms())) != 1) {
			break;
		}
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			break;
		}
		got += (size_t)n;
		if (got >= 2) {
			s->answers++;	/* Counted once per connection with data. */
			break;
		}
	}
	if (rnd(4) == 0) {	/* Abort with RST instead of FIN. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
}

static bool parse_addr(const char *host, unsigned port, sender_t *s)
{
	memset(&s->addr, 0, sizeof(s->addr));
	struct sockaddr_in *in4 = (struct sockaddr_in *)&s->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->addr;
	if (port == 0 || port > 65535) {
		return false;
	}
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		s->addrlen = sizeof(*in4);
		return true;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		s->addrlen = sizeof(*in6);
		return true;
	}
	return false;
}

static int run_send(const char *host, unsigned port, uint64_t count, int64_t seconds, uint64_t qps)
{
	static sender_t s;
	if (!parse_addr(host, port, &s)) {
		fprintf(stderr, "junk: bad address %s port %u\n", host, port);
		return 2;
	}
	for (int i = 0; i < UDP_SOCKS; i++) {
		s.udp[i] = socket(s.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s.udp[i] < 0 || connect(s.udp[i], (struct sockaddr *)&s.addr, s.addrlen) != 0) {
			fprintf(stderr, "junk: UDP socket: %s\n", strerror(errno));
			return 2;
		}
	}
	int64_t start = now_ms();
	int64_t end = start + seconds * 1000;
	uint64_t sent = 0;
	while (sent < count && now_ms() < end) {
		/* Pace: message number 'sent' is due at start + sent / qps. */
		int64_t due = start + (int64_t)(sent * 1000 / qps);
		int64_t wait = due - now_ms();
		if (wait > 0) {
			sleep_ms(wait < end - now_ms() ? wait : end - now_ms());
			continue;
		}
		int kind = (int)rnd(K_COUNT);
		if (rnd(4) == 0) {
			uint64_t before = s.sent_tcp;
			tcp_session(&s, kind);
			sent += (s.sent_tcp - before) + (s.sent_tcp == before);
		} else {
			udp_send(&s, kind);
			sent++;
		}
		if ((sent & 31) == 0) {
			udp_drain(&s);
		}
	}
	sleep_ms(100);	/* Late UDP answers. */
	udp_drain(&s);
	for (int i = 0; i < UDP_SOCKS; i++) {
		close(s.udp[i]);
	}
	printf("junk: sent %" PRIu64 " messages (udp %" PRIu64 ", tcp %" PRIu64 " in %" PRIu64
	       " connections) in %.1f s, answers %" PRIu64 ", socket errors %" PRIu64 "\n",
	       s.sent_udp + s.sent_tcp, s.sent_udp, s.sent_tcp, s.conns,
	       (double)(now_ms() - start) / 1000.0, s.answers, s.errors);
	printf("junk: kinds:");
	for (int k = 0; k < K_COUNT; k++) {
		printf(" %s=%" PRIu64, KIND_NAMES[k], s.kinds[k]);
	}
	printf("\n");
	return 0;
}

/*
 * dnsperf binary query file.
 */

static int run_blob(const char *path, uint64_t count)
{
	static const uint16_t sizes[] = { 0, 512, 1024, 1232, 1400, 1452, 2048, 4096 };
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "junk: %s: %s\n", path, strerror(errno));
		return 2;
	}
	uint64_t per_size[sizeof(sizes) / sizeof(sizes[0])] = { 0 };
	for (uint64_t i = 0; i < count; i++) {
		uint8_t msg[2 + 512];
		const qname_t *n = any_name();
		size_t si = rnd(sizeof(sizes) / sizeof(sizes[0]));
		bool dnssec_ok = sizes[si] > 0 && rnd(4) == 0;
		size_t len = build_query(msg + 2, n, n->qtype, sizes[si], dnssec_ok);
		put16(msg, (uint16_t)len);
		if (fwrite(msg, 1, len + 2, f) != len + 2) {
			fprintf(stderr, "junk: write %s failed\n", path);
			fclose(f);
			return 2;
		}
		per_size[si]++;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "junk: write %s failed\n", path);
		return 2;
	}
	printf("junk: wrote %" PRIu64 " queries to %s; EDNS sizes:", count, path);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		printf(" %s%u=%" PRIu64, sizes[i] ? "" : "none", sizes[i] ? sizes[i] : 0u, per_size[i]);
	}
	printf("\n");
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: junk send -s ADDR -p PORT -d NAMES [-n COUNT] [-t SECONDS] [-q QPS] [-S SEED]\n"
	        "       junk blob -d NAMES -o FILE [-n COUNT] [-S SEED]\n");
}

int main(int argc, char *argv[])
{
	if (argc < 2 || (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "blob") != 0)) {
		usage();
		return 2;
	}
	bool send_mode = strcmp(argv[1], "send") == 0;
	const char *host = NULL, *names = NULL, *outfile = NULL;
	unsigned port = 0;
	uint64_t count = send_mode ? 100000 : 10000, qps = 2000;
	int64_t seconds = 60;
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	int opt;
	optind = 2;
	while ((opt = getopt(argc, argv, "s:p:d:n:t:q:S:o:")) != -1) {
		switch (opt) {
		case 's': host = optarg; break;
		case 'p': port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'd': names = optarg; break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 't': seconds = strtoll(optarg, NULL, 10); break;
		case 'q': qps = strtoull(optarg, NULL, 10); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'o': outfile = optarg; break;
		default: usage(); return 2;
		}
	}
	if (names == NULL || (send_mode ? host == NULL : outfile == NULL) ||
	    seconds <= 0 || seconds > 86400 || qps == 0 || qps > 1000000) {
		usage();
		return 2;
	}
	g_rng = seed;
	printf("junk: seed %" PRIu64 " (repeat with -S %" PRIu64 ")\n", seed, seed);
	fflush(stdout);
	if (!load_names(names)) {
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	return send_mode ? run_send(host, port, count, seconds, qps) : run_blob(outfile, count);
}
