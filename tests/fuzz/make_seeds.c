/*  Copyright (C) 2026 knot-mxtrap authors

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
 */

/*!
 * \file
 *
 * \brief Writes the seed corpus of fuzz_core.c (input format: see there).
 *
 * Build and run (from the repository root):
 *   cc -std=gnu11 -Wall -Wextra -o /tmp/make_seeds tests/fuzz/make_seeds.c
 *   /tmp/make_seeds tests/fuzz/corpus
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bits of the input format (fuzz_core.c). */
enum {
	C_BACKUP = 0x01, C_LAST_NULL = 0x10,
	F_NOTRUNC = 0x01, F_FREE = 0x02, F_TWICE = 0x04, F_HEAP = 0x08, F_NOQUESTION = 0x10,
	F_MERGE = 0x20, F_NOCANON = 0x40, F_FLAGS_ALL = 0x80,
	L_PAST = 0x01, L_LIMIT = 0x02, L_INJECT = 0x04, L_INJECT_MX = 0x08,
	L_HINT_NONE = 0x10, L_HINT_QNAME = 0x20, L_HINT_GLUE = 0x30,
	L_ADDITIONAL = 0x40, L_ALLOC_FAIL = 0x80,
};

/* Signer section: S flags, harness RRSIG RRsets (G) and records (H). */
enum {
	S_SIGNED = 0x01, S_DNSSEC_NULL = 0x02, S_REASON = 0x04, S_WRONG_COUNT = 0x08,
	T_ONE_MORE = 0x08, U_ADVANCE = 0x04, U_ROLLOVER = 0x08,
	G_OWNER_MX = 0x00, G_OWNER_QNAME = 0x01, G_TTL = 0x40, G_CUT = 0x80,
	H_MX = 0x00, H_CNAME = 0x01, H_A = 0x02, H_KEY = 0x04, H_LABELS = 0x08,
};

enum { T_A = 1, T_NS = 2, T_CNAME = 5, T_MX = 15, T_RRSIG = 46 };
enum { AN = 0, NS = 1, AR = 2 };

typedef struct {
	uint8_t data[8192];
	size_t len;
} buf_t;

static void put8(buf_t *b, uint8_t v)
{
	if (b->len >= sizeof(b->data)) {
		fprintf(stderr, "make_seeds: buffer full\n");
		exit(1);
	}
	b->data[b->len++] = v;
}

static void put16(buf_t *b, uint16_t v)
{
	put8(b, v >> 8);
	put8(b, v & 0xff);
}

static void put32(buf_t *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

static void putn(buf_t *b, const void *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		put8(b, ((const uint8_t *)data)[i]);
	}
}

/*! "mail.example.com." -> wire format (no escapes); "." is the root. */
static size_t name_wire(uint8_t *out, const char *text)
{
	size_t len = 0;
	while (*text != '\0' && strcmp(text, ".") != 0) {
		const char *dot = strchr(text, '.');
		size_t label = dot ? (size_t)(dot - text) : strlen(text);
		out[len++] = label;
		memcpy(out + len, text, label);
		len += label;
		text += label + (dot ? 1 : 0);
	}
	out[len++] = 0;
	return len;
}

static void put_name(buf_t *b, const char *text)
{
	uint8_t wire[300];
	putn(b, wire, name_wire(wire, text));
}

/* A DNS message, records added section by section. */
typedef struct {
	buf_t b;
	uint16_t counts[3];
} msg_t;

static void msg_init(msg_t *m, uint16_t id, uint16_t flags)
{
	memset(m, 0, sizeof(*m));
	put16(&m->b, id);
	put16(&m->b, flags);
	for (int i = 0; i < 4; i++) {
		put16(&m->b, 0);
	}
}

static void msg_question(msg_t *m, const char *qname, uint16_t qtype)
{
	put_name(&m->b, qname);
	put16(&m->b, qtype);
	put16(&m->b, 1);
	m->b.data[5] = 1;  /* QDCOUNT */
}

static void msg_rr_raw(msg_t *m, int section, const uint8_t *owner, size_t owner_len,
                       uint16_t type, uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	putn(&m->b, owner, owner_len);
	put16(&m->b, type);
	put16(&m->b, 1);
	put32(&m->b, ttl);
	put16(&m->b, rdlen);
	putn(&m->b, rdata, rdlen);
	m->counts[section]++;
	m->b.data[6 + 2 * section] = m->counts[section] >> 8;
	m->b.data[7 + 2 * section] = m->counts[section] & 0xff;
}

static void msg_rr(msg_t *m, int section, const char *owner, uint16_t type, uint32_t ttl,
                   const uint8_t *rdata, size_t rdlen)
{
	uint8_t wire[300];
	msg_rr_raw(m, section, wire, name_wire(wire, owner), type, ttl, rdata, rdlen);
}

static size_t mx_rdata(uint8_t *out, uint16_t pref, const char *exchange)
{
	out[0] = pref >> 8;
	out[1] = pref & 0xff;
	return 2 + name_wire(out + 2, exchange);
}

static void msg_mx(msg_t *m, const char *owner, uint16_t pref, const char *exchange)
{
	uint8_t rdata[300];
	msg_rr(m, AN, owner, T_MX, 3600, rdata, mx_rdata(rdata, pref, exchange));
}

/*! "10 a.example.com. 20 b.example.com." at owner. */
static void msg_mxs(msg_t *m, const char *owner, const char *records)
{
	char copy[1024], *save = NULL;
	snprintf(copy, sizeof(copy), "%s", records);
	for (char *pref = strtok_r(copy, " ", &save); pref != NULL;
	     pref = strtok_r(NULL, " ", &save)) {
		msg_mx(m, owner, atoi(pref), strtok_r(NULL, " ", &save));
	}
}

static void msg_cname(msg_t *m, const char *owner, const char *target)
{
	uint8_t rdata[300];
	msg_rr(m, AN, owner, T_CNAME, 300, rdata, name_wire(rdata, target));
}

static void msg_rrsig(msg_t *m, const char *owner, uint16_t covered, const char *signer)
{
	uint8_t rdata[400] = { covered >> 8, covered & 0xff, 13, 2 };
	size_t len = 18;
	rdata[7] = 0x0e;  rdata[8] = 0x10;  /* original TTL 3600 */
	len += name_wire(rdata + len, signer);
	memset(rdata + len, 0x5a, 64);      /* signature bytes */
	len += 64;
	msg_rr(m, AN, owner, T_RRSIG, 3600, rdata, len);
}

/* A fuzzer input. */
typedef struct {
	buf_t b;
} seed_t;

static void seed_conf(seed_t *s, uint8_t flags, uint16_t pref, int names)
{
	s->b.len = 0;
	put8(&s->b, flags | (names & 0x07) << 1);
	put16(&s->b, pref);
}

static void seed_name(seed_t *s, const char *text)
{
	uint8_t wire[300];
	size_t len = name_wire(wire, text);
	put8(&s->b, len);
	putn(&s->b, wire, len);
}

static void seed_name_raw(seed_t *s, const void *bytes, size_t len)
{
	put8(&s->b, len);
	putn(&s->b, bytes, len);
}

static void seed_pkt_pad(seed_t *s, uint8_t f, uint8_t l, uint16_t max_size, uint8_t reserved,
                         uint8_t rotate, uint16_t padding, const msg_t *m)
{
	put8(&s->b, f);
	put8(&s->b, l);
	put16(&s->b, max_size);
	put8(&s->b, reserved);
	put8(&s->b, rotate);
	put16(&s->b, padding);
	put16(&s->b, m->b.len);
	putn(&s->b, m->b.data, m->b.len);
}

static void seed_pkt(seed_t *s, uint8_t f, uint8_t l, uint16_t max_size, uint8_t reserved,
                     uint8_t rotate, const msg_t *m)
{
	seed_pkt_pad(s, f, l, max_size, reserved, rotate, 0, m);
}

static void seed_rdata(seed_t *s, const void *bytes, size_t len)
{
	put16(&s->b, len);
	putn(&s->b, bytes, len);
}

/*! The stand-in signer's clock in the seeds. */
#define NOW	1800000000u
#define DAY	86400u

/* Reasons of the stand-in signer (S_REASON, T bits 0-2). */
enum { R_KEY_MISSING, R_KEY_UNREADABLE, R_KEYSTORE_UNSUPPORTED, R_ALG_UNSUPPORTED, R_SIGN_FAILED };

/*!
 * Signer section: flags, clock, margin, validity, the clock's advance before
 * the second call (U_ADVANCE), the input's keys.
 */
static void seed_signer_clock(seed_t *s, uint8_t flags, uint8_t t, uint8_t u, uint32_t now,
                              uint32_t margin, uint32_t expire, uint32_t advance,
                              const uint8_t *algs, const uint16_t *tags, int count)
{
	put8(&s->b, flags | count << 4);
	put8(&s->b, t);
	put8(&s->b, u);
	put32(&s->b, now);
	put32(&s->b, margin);
	put32(&s->b, expire);
	put32(&s->b, 5400);  /* inception: 90 minutes ago, as Knot's signing context */
	if (u & U_ADVANCE) {
		put32(&s->b, advance);
	}
	for (int i = 0; i < count; i++) {
		put8(&s->b, algs != NULL ? algs[i] : 13);
		put16(&s->b, tags[i]);
	}
}

/*! The same at the clock NOW. */
static void seed_signer_keys(seed_t *s, uint8_t flags, uint8_t t, uint8_t u, uint32_t margin,
                             uint32_t expire, uint32_t advance, const uint8_t *algs,
                             const uint16_t *tags, int count)
{
	seed_signer_clock(s, flags, t, u, NOW, margin, expire, advance, algs, tags, count);
}

/*! The same with keys of algorithm 13, the clock standing still. */
static void seed_signer(seed_t *s, uint8_t flags, uint8_t t, uint32_t margin, uint32_t expire,
                        const uint16_t *tags, int count)
{
	seed_signer_keys(s, flags, t, 0, margin, expire, 0, NULL, tags, count);
}

/*! Harness RRSIG RRsets: their number, then each set's G byte and records. */
static void seed_rrsig_sets(seed_t *s, int count)
{
	put8(&s->b, count);
}

static void seed_rrsig_set(seed_t *s, uint8_t g, int records)
{
	put8(&s->b, g | records << 2);
}

/*! A record made with the signer's key number \a key. */
static void seed_rrsig_key(seed_t *s, uint8_t covered, uint8_t key)
{
	put8(&s->b, covered | H_KEY);
	put8(&s->b, key);
}

/*! The common signed case: RRSIG(MX) by the signer's first key. */
static void seed_rrsig_mx(seed_t *s)
{
	seed_rrsig_sets(s, 1);
	seed_rrsig_set(s, G_OWNER_MX, 1);
	seed_rrsig_key(s, H_MX, 0);
}

static const char *out_dir;
static int written;

static void seed_write(const seed_t *s, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	FILE *file = fopen(path, "wb");
	if (file == NULL || fwrite(s->b.data, 1, s->b.len, file) != s->b.len ||
	    fclose(file) != 0) {
		perror(path);
		exit(1);
	}
	written++;
}

#define APEX_MX "10 mail1.example.com. 20 mail2.example.com."

/*! The common case: an MX query for example.com. */
static void apex_msg(msg_t *m, const char *records)
{
	msg_init(m, 0x1234, 0x8400);
	msg_question(m, "example.com.", T_MX);
	msg_mxs(m, "example.com.", records);
}

/*! A seed with the default configuration around a message. */
static void simple(const char *file, uint8_t f, uint8_t l, uint16_t max_size,
                   uint8_t reserved, uint8_t rotate, const msg_t *m)
{
	seed_t s;
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, f, l, max_size, reserved, rotate, m);
	seed_write(&s, file);
}

int main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	msg_t m;
	seed_t s;

	apex_msg(&m, APEX_MX);
	simple("apex-mx", F_MERGE, 0, 1232, 0, 0, &m);

	msg_init(&m, 0x2345, 0x8400);
	msg_question(&m, "alias.example.com.", T_MX);
	msg_cname(&m, "alias.example.com.", "example.com.");
	msg_mxs(&m, "example.com.", APEX_MX);
	simple("cname-mx", F_MERGE, 0, 1232, 0, 0, &m);

	apex_msg(&m, "10 a.example.com. 10 b.example.com. 20 c.example.com.");
	simple("several-primaries", F_MERGE, 0, 1232, 0, 0, &m);

	apex_msg(&m, "0 .");
	simple("null-mx", F_MERGE, 0, 1232, 0, 0, &m);

	apex_msg(&m, "10 mail1.example.com. 65535 mail2.example.com.");
	simple("backup-65535", F_MERGE, 0, 1232, 0, 0, &m);

	apex_msg(&m, "10 mail1.example.com.");
	simple("single-no-backup", F_MERGE, 0, 1232, 0, 0, &m);
	seed_conf(&s, 0, 0, 0);
	seed_pkt(&s, F_MERGE, 0, 1232, 0, 0, &m);
	seed_write(&s, "single-backup-off-pref-0");

	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 500, 3);
	seed_name(&s, "trap.example.net.");
	seed_name(&s, "Zz.example.net.");
	seed_name(&s, "zz.EXAMPLE.net.");
	seed_pkt(&s, F_MERGE, 0, 1232, 0, 0, &m);
	seed_write(&s, "exchange-conf");

	/* Names mxtrap_conf_init() must refuse: root, label 64, pointer, too long, NULL. */
	seed_conf(&s, C_BACKUP | C_LAST_NULL, 99, 5);
	seed_name_raw(&s, "", 1);
	seed_name_raw(&s, "\x40" "aaaa", 5);
	seed_name_raw(&s, "\x04" "mail" "\xc0\x0c", 7);
	uint8_t long_name[255];
	memset(long_name, 0x3f, sizeof(long_name));
	seed_name_raw(&s, long_name, sizeof(long_name));
	seed_name(&s, "ok.example.net.");
	seed_pkt(&s, F_MERGE, 0, 1232, 0, 0, &m);
	seed_write(&s, "exchange-conf-invalid");

	apex_msg(&m, "10 a.example.com. 20 b.example.com. 99 a.example.com.");
	simple("trap-present", F_MERGE, 0, 1232, 0, 0, &m);

	apex_msg(&m, "10 a.example.com. 20 b.example.com. 50 TRAP.example.net.");
	seed_conf(&s, C_BACKUP, 99, 1);
	seed_name(&s, "trap.example.net.");
	seed_pkt(&s, F_MERGE | F_NOCANON, 0, 1232, 0, 0, &m);
	seed_write(&s, "exchange-trap-present");

	apex_msg(&m, APEX_MX);
	msg_rrsig(&m, "example.com.", T_MX, "example.com.");
	simple("rrsig-after-mx", F_MERGE, 0, 1232, 0, 0, &m);

	apex_msg(&m, APEX_MX);
	msg_rrsig(&m, "example.com.", T_A, "example.com.");
	simple("rrsig-other-after-mx", F_MERGE, 0, 1232, 0, 0, &m);

	/* At the size limit: the trap "99 mail1" needs 22 bytes (compressed): 21 is short. */
	apex_msg(&m, APEX_MX);
	simple("limit-slack-0", F_MERGE, L_LIMIT, 0, 0, 0, &m);
	simple("limit-slack-22", F_MERGE, L_LIMIT, 22, 0, 0, &m);

	/* TCP with reserved space, the MX RRset beyond 0x3fff (no owner hint), near 64 KiB. */
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt_pad(&s, F_MERGE | F_NOTRUNC, L_LIMIT, 5, 11, 0, 65300, &m);
	seed_write(&s, "limit-tcp-64k");

	/* A wildcard behind a CNAME: knotd puts a copy owned by the packet. */
	msg_init(&m, 0x3456, 0x8400);
	msg_question(&m, "www.customer.test.", T_MX);
	msg_cname(&m, "www.customer.test.", "x.wild.example.com.");
	msg_mxs(&m, "x.wild.example.com.", APEX_MX);
	simple("free-copy-wildcard", F_MERGE | F_FREE | F_FLAGS_ALL, 0, 1232, 0, 0, &m);
	simple("heap-free-copy", F_MERGE | F_FREE | F_HEAP, 0, 1232, 0, 0, &m);

	/* Malformed messages libknot must refuse: a self pointer, a forward pointer. */
	apex_msg(&m, APEX_MX);
	msg_rr_raw(&m, AN, (const uint8_t *)"\xc0\x00", 2, T_A, 60,
	           (const uint8_t *)"\x7f\x00\x00\x01", 4);
	size_t self = m.b.len - 16;
	m.b.data[self] = 0xc0 | (self >> 8);
	m.b.data[self + 1] = self & 0xff;
	msg_rr_raw(&m, AN, (const uint8_t *)"\xc1\xff", 2, T_A, 60,
	           (const uint8_t *)"\x7f\x00\x00\x02", 4);
	simple("compression-loop", F_MERGE, 0, 1232, 0, 0, &m);

	/* After a valid MX: an owner with a label of 64 octets; a name over 255 octets. */
	uint8_t bad[400], rdata[300];
	apex_msg(&m, APEX_MX);
	bad[0] = 64;
	memset(bad + 1, 'a', 64);
	bad[65] = 0;
	msg_rr_raw(&m, AN, bad, 66, T_MX, 60, rdata, mx_rdata(rdata, 30, "a.example.com."));
	simple("malformed-label-64", F_MERGE, 0, 1232, 0, 0, &m);

	apex_msg(&m, APEX_MX);
	for (int i = 0; i < 5; i++) {
		bad[i * 64] = 63;
		memset(bad + i * 64 + 1, 'b', 63);
	}
	bad[320] = 0;
	rdata[0] = 0;
	rdata[1] = 30;
	memcpy(rdata + 2, bad, 256);  /* Exchanger cut off inside the name. */
	msg_rr_raw(&m, AN, (const uint8_t *)"\xc0\x0c", 2, T_MX, 60, rdata, 258);
	msg_rr_raw(&m, AN, bad, 321, T_MX, 60, rdata, mx_rdata(rdata, 20, "b.example.com."));
	simple("malformed-long-name", F_MERGE, 0, 1232, 0, 0, &m);

	/* Raw MX RDATA injected after a valid put. */
	apex_msg(&m, APEX_MX);
	seed_conf(&s, 0, 99, 0);
	seed_pkt(&s, F_MERGE, L_INJECT | L_INJECT_MX, 1232, 0, 0, &m);
	put8(&s.b, 7);
	seed_rdata(&s, "\x00\x14" "\x01" "b" "\x00", 5);
	seed_rdata(&s, "", 0);
	seed_rdata(&s, "\x00\x0a", 2);
	seed_rdata(&s, "\x00\x0a" "\x04" "ab", 5);
	seed_rdata(&s, "\x00\x0a" "\x01" "a" "\x00" "x", 6);
	seed_rdata(&s, "\x00\x0a" "\x01" "a" "\xc0\x0c", 6);
	seed_rdata(&s, "\x00\x0a" "\x40", 3);
	seed_write(&s, "inject-malformed");

	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE | F_FREE, L_INJECT, 1232, 0, 0, &m);
	put8(&s.b, 3);
	seed_rdata(&s, "\x00\x14" "\x01" "b" "\x07" "example" "\x00", 13);
	seed_rdata(&s, "\x00\x0a" "\x01" "a" "\x07" "example" "\x00", 13);
	seed_rdata(&s, "\x00\x0a" "\x01" "C" "\x07" "example" "\x00", 13);
	seed_write(&s, "inject-unsorted");

	/* The packet has moved on to AUTHORITY. */
	apex_msg(&m, APEX_MX);
	uint8_t ns[300];
	msg_rr(&m, NS, "example.com.", T_NS, 3600, ns, name_wire(ns, "ns.example.com."));
	simple("past-answer", F_MERGE, L_PAST, 1232, 0, 0, &m);

	apex_msg(&m, APEX_MX);
	simple("no-question", F_MERGE | F_NOQUESTION, 0, 1232, 0, 0, &m);

	msg_init(&m, 0x5678, 0x8400);
	msg_question(&m, "ExAmPlE.CoM.", T_MX);
	msg_mxs(&m, "ExAmPlE.CoM.", "10 MAIL1.Example.COM. 20 mail2.EXAMPLE.com.");
	simple("mixed-case-nocanon", F_MERGE | F_NOCANON, 0, 1232, 0, 0, &m);

	apex_msg(&m, APEX_MX);
	simple("alloc-fail", F_MERGE, L_ALLOC_FAIL, 1232, 0, 0, &m);

	apex_msg(&m, "10 a.example.com. 10 b.example.com. 20 c.example.com.");
	simple("rotate-twice", F_MERGE | F_TWICE, 0, 1232, 0, 1, &m);

	/* More records than compression hint slots (16). */
	msg_init(&m, 0x6789, 0x8400);
	msg_question(&m, "example.com.", T_MX);
	for (int i = 0; i < 20; i++) {
		char name[64];
		snprintf(name, sizeof(name), "mx%d.example.com.", i);
		msg_mx(&m, "example.com.", i < 12 ? 10 : 20, name);
	}
	simple("many-mx", F_MERGE | F_NOTRUNC, L_HINT_QNAME, 65535, 0, 0, &m);

	/* Exchangers compressed against the QNAME in the message. */
	msg_init(&m, 0x789a, 0x8400);
	msg_question(&m, "example.com.", T_MX);
	msg_rr_raw(&m, AN, (const uint8_t *)"\xc0\x0c", 2, T_MX, 3600,
	           (const uint8_t *)"\x00\x0a" "\x05" "mail1" "\xc0\x0c", 10);
	msg_rr_raw(&m, AN, (const uint8_t *)"\xc0\x0c", 2, T_MX, 3600,
	           (const uint8_t *)"\x00\x14" "\x05" "mail2" "\xc0\x0c", 10);
	simple("compressed-rdata", F_MERGE, L_HINT_NONE, 512, 0, 0, &m);

	/* Signed answers: the stand-in signer, RRSIG RRsets built by the harness. */
	static const uint16_t KEY[] = { 1111 };
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE | F_HEAP, 0, 1232, 0, 0, &m);
	seed_signer(&s, S_SIGNED, 0, 3600, 14 * DAY, KEY, 1);
	seed_rrsig_mx(&s);
	seed_write(&s, "signed-apex");

	/* CNAME, MX, RRSIG(CNAME), RRSIG(MX): the RRSIGs keep their order. */
	msg_init(&m, 0x2345, 0x8400);
	msg_question(&m, "alias.example.com.", T_MX);
	msg_cname(&m, "alias.example.com.", "example.com.");
	msg_mxs(&m, "example.com.", APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE | F_FREE, 0, 1232, 0, 0, &m);
	seed_signer(&s, S_SIGNED, 0, 3600, 14 * DAY, KEY, 1);
	seed_rrsig_sets(&s, 2);
	seed_rrsig_set(&s, G_OWNER_QNAME, 1);
	seed_rrsig_key(&s, H_CNAME, 0);
	seed_rrsig_set(&s, G_OWNER_MX, 1);
	seed_rrsig_key(&s, H_MX, 0);
	seed_write(&s, "signed-cname");

	/* A wildcard answer: the RRSIG declares 3 labels, *.wild.example.com. is signed. */
	msg_init(&m, 0x3456, 0x8400);
	msg_question(&m, "host.wild.example.com.", T_MX);
	msg_mxs(&m, "host.wild.example.com.", APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE | F_FREE | F_FLAGS_ALL, 0, 1232, 0, 0, &m);
	seed_signer(&s, S_SIGNED, 0, 3600, 14 * DAY, KEY, 1);
	seed_rrsig_sets(&s, 1);
	seed_rrsig_set(&s, G_OWNER_MX, 1);
	put8(&s.b, H_MX | H_KEY | H_LABELS);
	put8(&s.b, 0);
	put8(&s.b, 3);
	seed_write(&s, "signed-wildcard");

	/* The zone's RRSIG(MX) by a key the input does not list: signed with it all
	 * the same (the keys come from the answer). */
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE | F_HEAP | F_FREE, 0, 1232, 0, 0, &m);
	seed_signer(&s, S_SIGNED, 0, 3600, 14 * DAY, KEY, 1);
	seed_rrsig_sets(&s, 1);
	seed_rrsig_set(&s, G_OWNER_MX, 1);
	put8(&s.b, H_MX);
	put8(&s.b, 13);
	put16(&s.b, 2222);
	seed_write(&s, "signed-other-key");

	/* Two keys, listed in another order than the zone's RRSIGs. */
	static const uint16_t TWO_KEYS[] = { 3333, 1111 };
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE, 0, 1232, 0, 0, &m);
	seed_signer(&s, S_SIGNED, 0, 3600, 14 * DAY, TWO_KEYS, 2);
	seed_rrsig_sets(&s, 1);
	seed_rrsig_set(&s, G_OWNER_MX, 2);
	seed_rrsig_key(&s, H_MX, 1);
	seed_rrsig_key(&s, H_MX, 0);
	seed_write(&s, "signed-two-keys");

	/* Two keys of two algorithms (ECDSA P-256, Ed25519). */
	static const uint8_t TWO_ALGS[] = { 15, 13 };
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE | F_HEAP, 0, 1232, 0, 0, &m);
	seed_signer_keys(&s, S_SIGNED, 0, 0, 3600, 14 * DAY, 0, TWO_ALGS, TWO_KEYS, 2);
	seed_rrsig_sets(&s, 1);
	seed_rrsig_set(&s, G_OWNER_MX, 2);
	seed_rrsig_key(&s, H_MX, 0);
	seed_rrsig_key(&s, H_MX, 1);
	seed_write(&s, "signed-two-algorithms");

	/* Valid for the margin plus the TTL less one second: served, never from the cache. */
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE, 0, 1232, 0, 0, &m);
	seed_signer(&s, S_SIGNED, 0, 3600, 3600 + 3600 - 1, KEY, 1);
	seed_rrsig_mx(&s);
	seed_write(&s, "signed-short-lived");

	/* The clock moves on until the cached signatures have margin + TTL left
	 * (served from the cache), or a second less (signed again). */
	for (int aged = 0; aged < 2; aged++) {
		apex_msg(&m, APEX_MX);
		seed_conf(&s, C_BACKUP, 99, 0);
		seed_pkt(&s, F_MERGE | F_HEAP, 0, 1232, 0, 0, &m);
		seed_signer_keys(&s, S_SIGNED, 0, U_ADVANCE, 3600, 14 * DAY,
		                 14 * DAY - 3600 - 3600 + aged, NULL, KEY, 1);
		seed_rrsig_mx(&s);
		seed_write(&s, aged ? "signed-aged" : "signed-ageing-cached");
	}

	/* A key rollover between the two calls, a minute apart: signed again with the
	 * new key, not served from the cache. */
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE | F_HEAP, 0, 1232, 0, 0, &m);
	seed_signer_keys(&s, S_SIGNED, 0, U_ADVANCE | U_ROLLOVER, 3600, 14 * DAY, 60, NULL, KEY, 1);
	seed_rrsig_mx(&s);
	seed_write(&s, "signed-rollover");

	/* A margin so large that margin + TTL exceeds 32 bits: never from the cache. */
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE, 0, 1232, 0, 0, &m);
	seed_signer(&s, S_SIGNED, 0, UINT32_MAX - 100, 14 * DAY, KEY, 1);
	seed_rrsig_mx(&s);
	seed_write(&s, "signed-huge-margin");

	/* Each reason of the signing function; the last one as the old seed had it. */
	static const struct {
		const char *name;
		uint8_t reason;
	} REASONS[] = {
		{ "signed-key-missing", R_KEY_MISSING },
		{ "signed-key-unreadable", R_KEY_UNREADABLE },
		{ "signed-keystore-unsupported", R_KEYSTORE_UNSUPPORTED },
		{ "signed-alg-unsupported", R_ALG_UNSUPPORTED },
		{ "signed-sign-fails", R_SIGN_FAILED },
	};
	for (size_t i = 0; i < sizeof(REASONS) / sizeof(*REASONS); i++) {
		apex_msg(&m, APEX_MX);
		seed_conf(&s, C_BACKUP, 99, 0);
		seed_pkt(&s, F_MERGE, 0, 1232, 0, 0, &m);
		seed_signer(&s, S_SIGNED | S_REASON, REASONS[i].reason, 3600, 14 * DAY, KEY, 1);
		seed_rrsig_mx(&s);
		seed_write(&s, REASONS[i].name);
	}

	/* "Trapped" with a signature too few (one of two keys left out, as one the
	 * zone does not publish: trapped with the other one's, cached) or too many
	 * (sign-failed). */
	for (int more = 0; more < 2; more++) {
		apex_msg(&m, APEX_MX);
		seed_conf(&s, C_BACKUP, 99, 0);
		seed_pkt(&s, F_MERGE | F_HEAP | F_FREE, 0, 1232, 0, 0, &m);
		seed_signer(&s, S_SIGNED | S_WRONG_COUNT, more ? T_ONE_MORE : 0, 3600, 14 * DAY,
		            TWO_KEYS, 2);
		seed_rrsig_sets(&s, 1);
		seed_rrsig_set(&s, G_OWNER_MX, 2);
		seed_rrsig_key(&s, H_MX, 0);
		seed_rrsig_key(&s, H_MX, 1);
		seed_write(&s, more ? "signed-one-signature-more" : "signed-one-signature-fewer");
	}

	/* One signature of two, the second call 9 s later (from the cache) or 10 s
	 * later (signed again: the left-out key may be published by now); the
	 * same at the clock's wrap (10 s later is 0 there: see partial_renew_at()
	 * in fuzz_core.c). */
	static const struct {
		const char *name;
		uint32_t now;
		uint32_t advance;
	} PARTIAL[] = {
		{ "signed-fewer-cached-9s", NOW, 9 },
		{ "signed-fewer-renewed-10s", NOW, 10 },
		{ "signed-fewer-wrap-cached-9s", UINT32_MAX - 9, 9 },
		{ "signed-fewer-wrap-10s", UINT32_MAX - 9, 10 },
	};
	for (size_t i = 0; i < sizeof(PARTIAL) / sizeof(*PARTIAL); i++) {
		apex_msg(&m, APEX_MX);
		seed_conf(&s, C_BACKUP, 99, 0);
		seed_pkt(&s, F_MERGE | F_HEAP, 0, 1232, 0, 0, &m);
		seed_signer_clock(&s, S_SIGNED | S_WRONG_COUNT, 0, U_ADVANCE, PARTIAL[i].now, 3600,
		                  14 * DAY, PARTIAL[i].advance, TWO_ALGS, TWO_KEYS, 2);
		seed_rrsig_sets(&s, 1);
		seed_rrsig_set(&s, G_OWNER_MX, 2);
		seed_rrsig_key(&s, H_MX, 0);
		seed_rrsig_key(&s, H_MX, 1);
		seed_write(&s, PARTIAL[i].name);
	}

	/* Two signatures of three keys, a key rollover 5 s later: signed again. */
	static const uint16_t THREE_KEYS[] = { 1111, 2222, 3333 };
	static const uint8_t THREE_ALGS[] = { 13, 15, 13 };
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE | F_FREE | F_HEAP, 0, 1232, 0, 0, &m);
	seed_signer_keys(&s, S_SIGNED | S_WRONG_COUNT, 0, U_ADVANCE | U_ROLLOVER, 3600, 14 * DAY,
	                 5, THREE_ALGS, THREE_KEYS, 3);
	seed_rrsig_sets(&s, 1);
	seed_rrsig_set(&s, G_OWNER_MX, 3);
	seed_rrsig_key(&s, H_MX, 2);
	seed_rrsig_key(&s, H_MX, 0);
	seed_rrsig_key(&s, H_MX, 1);
	seed_write(&s, "signed-fewer-of-three-rollover");

	/* One signature fewer than one key: none, sign-failed, nothing cached. */
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE | F_HEAP | F_FREE, 0, 1232, 0, 0, &m);
	seed_signer(&s, S_SIGNED | S_WRONG_COUNT, 0, 3600, 14 * DAY, KEY, 1);
	seed_rrsig_mx(&s);
	seed_write(&s, "signed-no-signature");

	/* One signature of two, valid for less than margin + TTL: never from the cache. */
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE, 0, 1232, 0, 0, &m);
	seed_signer(&s, S_SIGNED | S_WRONG_COUNT, 0, 3600, 3600 + 3600 - 1, TWO_KEYS, 2);
	seed_rrsig_sets(&s, 1);
	seed_rrsig_set(&s, G_OWNER_MX, 2);
	seed_rrsig_key(&s, H_MX, 0);
	seed_rrsig_key(&s, H_MX, 1);
	seed_write(&s, "signed-fewer-short-lived");

	/* The zone's RRSIG(MX) cut to 10 octets in the packet. */
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE, 0, 1232, 0, 0, &m);
	seed_signer(&s, S_SIGNED, 0, 3600, 14 * DAY, KEY, 1);
	seed_rrsig_sets(&s, 1);
	seed_rrsig_set(&s, G_OWNER_MX | G_CUT, 1);
	seed_rrsig_key(&s, H_MX, 0);
	put8(&s.b, 0);
	put8(&s.b, 10);
	seed_write(&s, "signed-short-rrsig");

	/* At the size limit: the merged RRset does not fit, TC. */
	apex_msg(&m, APEX_MX);
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE | F_FREE, L_LIMIT, 0, 0, 0, &m);
	seed_signer(&s, S_SIGNED, 0, 3600, 14 * DAY, KEY, 1);
	seed_rrsig_mx(&s);
	seed_write(&s, "signed-truncated");

	/* RRSIG(MX) from the message, copies on the heap; the second allocation (the
	 * cache key) fails in the first call, the second call signs. */
	static const uint16_t MSG_KEY[] = { 0 };
	apex_msg(&m, APEX_MX);
	msg_rrsig(&m, "example.com.", T_MX, "example.com.");
	seed_conf(&s, C_BACKUP, 99, 0);
	seed_pkt(&s, F_MERGE | F_FREE | F_HEAP, L_ALLOC_FAIL, 1232, 0, 0, &m);
	seed_signer(&s, S_SIGNED, 1 << 5, 3600, 14 * DAY, MSG_KEY, 1);
	seed_rrsig_sets(&s, 0);
	seed_write(&s, "signed-heap-alloc-fail");

	printf("make_seeds: %d seeds written to %s\n", written, out_dir);
	return 0;
}
