/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Sends COUNT identical queries to 127.0.0.1@PORT over UDP, one at a time, so
 * that knotd handles exactly COUNT queries (tests/bench/callgrind.sh). Every
 * answer must carry the query's ID, QR, NOERROR and ANCOUNT records.
 * Usage: udp_sender PORT QNAME QTYPE COUNT ANCOUNT [do]
 * ("do": EDNS 1232 with the DO bit; without it, no OPT record).
 */

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libknot/libknot.h>

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
	                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	knot_dname_storage_t qname;
	uint16_t qtype;
	bool dnssec_ok = (argc == 7 && strcmp(argv[6], "do") == 0);
	if ((argc != 6 && !dnssec_ok) || atoi(argv[1]) <= 0 ||
	    knot_dname_from_str(qname, argv[2], sizeof(qname)) == NULL ||
	    knot_rrtype_from_string(argv[3], &qtype) != 0) {
		fprintf(stderr, "usage: %s PORT QNAME QTYPE COUNT ANCOUNT [do]\n", argv[0]);
		return 1;
	}
	addr.sin_port = htons(atoi(argv[1]));
	unsigned long count = strtoul(argv[4], NULL, 10);
	unsigned ancount = atoi(argv[5]);
	/* The query, written once; only its ID changes. */
	uint8_t query[KNOT_WIRE_HEADER_SIZE + KNOT_DNAME_MAXLEN + 4 + 11] = { 0 };
	uint8_t resp[65535];
	size_t qname_len = knot_dname_size(qname);
	uint8_t *pos = query + KNOT_WIRE_HEADER_SIZE;
	knot_wire_set_qdcount(query, 1);
	memcpy(pos, qname, qname_len);
	pos += qname_len;
	knot_wire_write_u16(pos, qtype);
	knot_wire_write_u16(pos + 2, KNOT_CLASS_IN);
	pos += 4;
	if (dnssec_ok) {
		/* OPT: root owner, UDP size 1232, DO, no options. */
		knot_wire_set_arcount(query, 1);
		knot_wire_write_u16(pos + 1, KNOT_RRTYPE_OPT);
		knot_wire_write_u16(pos + 3, 1232);
		knot_wire_write_u32(pos + 5, KNOT_EDNS_DO_MASK);
		pos += 11;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("udp_sender");
		return 1;
	}
	for (unsigned long i = 0; i < count; i++) {
		uint16_t id = (uint16_t)(i * 7919 + 1);
		knot_wire_set_id(query, id);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		/* 10 s: knotd runs under valgrind. */
		if (send(fd, query, pos - query, 0) != pos - query || poll(&pfd, 1, 10000) != 1) {
			fprintf(stderr, "udp_sender: query %lu: not sent or no answer within 10 s\n", i);
			return 1;
		}
		ssize_t len = recv(fd, resp, sizeof(resp), 0);
		if (len < KNOT_WIRE_HEADER_SIZE || knot_wire_get_id(resp) != id ||
		    !knot_wire_get_qr(resp) || knot_wire_get_rcode(resp) != KNOT_RCODE_NOERROR ||
		    knot_wire_get_ancount(resp) != ancount) {
			bool hdr = len >= KNOT_WIRE_HEADER_SIZE;
			fprintf(stderr, "udp_sender: answer %lu: ID %s, rcode %d, %d records (expected %u)\n",
			        i, hdr && knot_wire_get_id(resp) == id ? "ok" : "wrong",
			        hdr ? knot_wire_get_rcode(resp) : -1,
			        hdr ? knot_wire_get_ancount(resp) : -1, ancount);
			return 1;
		}
	}
	return 0;
}
