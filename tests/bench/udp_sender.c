/* SPDX-License-Identifier: GPL-3.0-or-later */

/*!
 * \file
 *
 * \brief Sends an exact number of identical DNS queries over UDP, one at a time.
 *
 * Used by tests/bench/callgrind.sh: every query is answered before the next
 * one leaves, so the server handles exactly COUNT queries. Each answer must
 * carry the query's ID, QR, NOERROR and the expected ANCOUNT; the first
 * answer is written to stdout as "size=S ancount=A arcount=R".
 *
 * Usage: udp_sender ADDR PORT QNAME QTYPE COUNT [EDNS_SIZE [do]]
 *   QTYPE is a number (MX = 15, A = 1); EDNS_SIZE 0 (default) sends no OPT;
 *   "do" sets the DO bit in the OPT record (needs EDNS_SIZE > 0).
 * Exit status: 0 when all COUNT answers arrived and were valid, 1 otherwise.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libknot/libknot.h>

#define TIMEOUT_MS	10000	/*!< Bound for one answer (the server runs under valgrind). */
#define MAX_MSG		65535	/*!< Largest DNS message. */

static bool parse_uint(const char *str, unsigned long max, unsigned long *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long val = strtoul(str, &end, 10);
	if (errno != 0 || end == str || *end != '\0' || val > max) {
		return false;
	}
	*out = val;
	return true;
}

/*! Builds a query with the given ID; returns its size or 0. */
static size_t build_query(uint8_t *buf, size_t len, uint16_t id, const knot_dname_t *qname,
                          uint16_t qtype, uint16_t edns, bool dnssec_ok)
{
	size_t qname_len = knot_dname_size(qname);
	size_t size = KNOT_WIRE_HEADER_SIZE + qname_len + 4 + (edns > 0 ? 11 : 0);
	if (size > len) {
		return 0;
	}
	memset(buf, 0, KNOT_WIRE_HEADER_SIZE);
	knot_wire_set_id(buf, id);
	knot_wire_set_qdcount(buf, 1);
	uint8_t *pos = buf + KNOT_WIRE_HEADER_SIZE;
	memcpy(pos, qname, qname_len);
	pos += qname_len;
	knot_wire_write_u16(pos, qtype);
	knot_wire_write_u16(pos + 2, KNOT_CLASS_IN);
	pos += 4;
	if (edns > 0) {
		knot_wire_set_arcount(buf, 1);
		pos[0] = 0;                              /* Root owner. */
		knot_wire_write_u16(pos + 1, KNOT_RRTYPE_OPT);
		knot_wire_write_u16(pos + 3, edns);      /* UDP payload size. */
		/* Extended RCODE, version 0, flags: DO or none. */
		knot_wire_write_u32(pos + 5, dnssec_ok ? KNOT_EDNS_DO_MASK : 0);
		knot_wire_write_u16(pos + 9, 0);         /* No options. */
	}
	return size;
}

int main(int argc, char **argv)
{
	unsigned long port, qtype, count, edns = 0;
	bool dnssec_ok = (argc == 8 && strcmp(argv[7], "do") == 0);
	struct sockaddr_in addr = { .sin_family = AF_INET };
	knot_dname_storage_t qname;

	if (argc < 6 || argc > 8 || (argc == 8 && !dnssec_ok) ||
	    inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 ||
	    !parse_uint(argv[2], UINT16_MAX, &port) || port == 0 ||
	    knot_dname_from_str(qname, argv[3], sizeof(qname)) == NULL ||
	    !parse_uint(argv[4], UINT16_MAX, &qtype) ||
	    !parse_uint(argv[5], UINT32_MAX, &count) ||
	    (argc >= 7 && !parse_uint(argv[6], UINT16_MAX, &edns)) ||
	    (dnssec_ok && edns == 0)) {
		fprintf(stderr, "usage: %s IPV4_ADDR PORT QNAME QTYPE COUNT [EDNS_SIZE [do]]\n",
		        argv[0]);
		return 1;
	}
	addr.sin_port = htons((uint16_t)port);

	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("udp_sender: socket");
		return 1;
	}

	static uint8_t query[512], resp[MAX_MSG];
	int first_ancount = -1;
	unsigned long answered = 0;
	for (unsigned long i = 0; i < count; i++) {
		uint16_t id = (uint16_t)(i * 7919 + 1);
		size_t qlen = build_query(query, sizeof(query), id, qname, qtype, edns, dnssec_ok);
		if (qlen == 0 || send(fd, query, qlen, 0) != (ssize_t)qlen) {
			fprintf(stderr, "udp_sender: send failed at query %lu: %s\n", i, strerror(errno));
			break;
		}
		/* Wait for this query's answer; anything else is an error. */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ret = poll(&pfd, 1, TIMEOUT_MS);
		if (ret != 1) {
			fprintf(stderr, "udp_sender: no answer to query %lu within %d ms\n", i, TIMEOUT_MS);
			break;
		}
		ssize_t len = recv(fd, resp, sizeof(resp), 0);
		if (len < KNOT_WIRE_HEADER_SIZE || knot_wire_get_id(resp) != id ||
		    !knot_wire_get_qr(resp) || knot_wire_get_rcode(resp) != KNOT_RCODE_NOERROR) {
			fprintf(stderr, "udp_sender: bad answer to query %lu (len %zd)\n", i, len);
			break;
		}
		int ancount = knot_wire_get_ancount(resp);
		if (first_ancount < 0) {
			first_ancount = ancount;
			printf("size=%zd ancount=%d arcount=%u\n", len, ancount,
			       knot_wire_get_arcount(resp));
		} else if (ancount != first_ancount) {
			fprintf(stderr, "udp_sender: answer %lu has %d records, the first had %d\n",
			        i, ancount, first_ancount);
			break;
		}
		answered++;
	}
	close(fd);

	printf("answered=%lu of %lu\n", answered, count);
	return (answered == count && first_ancount > 0) ? 0 : 1;
}
