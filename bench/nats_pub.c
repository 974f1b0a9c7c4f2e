// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The minimal publisher bench/fleet.py measures ship against: the messages
 * of a file ("HLEN HEADERS DLEN DATA" each, lengths as 4-byte little-endian,
 * headers as NATS/1.0 sends them) published asynchronously to a JetStream
 * subject, at most 4096 in flight, as ship does, and all acknowledged.
 *
 *     nats_pub URL SUBJECT FILE
 *
 * Prints "published N messages in S s".
 */
#include <nats/nats.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* "NATS/1.0\r\nKey: Value\r\n...\r\n" into @m's headers. */
static natsStatus set_headers(natsMsg *m, char *h)
{
	char *line = strstr(h, "\r\n"), *next;
	natsStatus s = NATS_OK;

	for (line = line ? line + 2 : NULL; s == NATS_OK && line && *line; line = next) {
		char *colon, *end = strstr(line, "\r\n");

		if (!end || end == line)
			break;
		*end = '\0';
		next = end + 2;
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		s = natsMsgHeader_Add(m, line, colon + 1 + (colon[1] == ' '));
	}
	return s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsOptions jo;
	jsPubOptions po;
	unsigned char *buf;
	size_t len, at = 0;
	long n = 0;
	double t0;
	FILE *f;

	if (argc != 4 || !(f = fopen(argv[3], "rb")))
		return fprintf(stderr, "usage: nats_pub URL SUBJECT FILE\n"), 2;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc(len + 1);
	if (!buf || fread(buf, 1, len, f) != len)
		return fprintf(stderr, "nats_pub: cannot read %s\n", argv[3]), 1;
	fclose(f);
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = 4096;
	if (natsConnection_ConnectTo(&nc, argv[1]) != NATS_OK ||
	    natsConnection_JetStream(&js, nc, &jo) != NATS_OK)
		return fprintf(stderr, "nats_pub: %s\n", nats_GetLastError(NULL)), 1;
	t0 = now_s();
	while (at + 8 <= len) {
		uint32_t hl = le32(buf + at), dl;
		char *h = malloc(hl + 1);
		const char *id = NULL;
		natsMsg *m = NULL;

		memcpy(h, buf + at + 4, hl);
		h[hl] = '\0';
		dl = le32(buf + at + 4 + hl);
		if (natsMsg_Create(&m, argv[2], NULL, (const char *)buf + at + 8 + hl, dl) !=
			NATS_OK ||
		    set_headers(m, h) != NATS_OK)
			return fprintf(stderr, "nats_pub: %s\n", nats_GetLastError(NULL)), 1;
		jsPubOptions_Init(&po);
		natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
		po.MsgId = id;
		if (js_PublishMsgAsync(js, &m, &po) != NATS_OK)
			return fprintf(stderr, "nats_pub: %s\n", nats_GetLastError(NULL)), 1;
		natsMsg_Destroy(m);
		free(h);
		at += 8 + hl + dl;
		n++;
	}
	jsPubOptions_Init(&po);
	po.MaxWait = 60000;
	if (js_PublishAsyncComplete(js, &po) != NATS_OK)
		return fprintf(stderr, "nats_pub: not all acknowledged\n"), 1;
	printf("published %ld messages in %.3f s\n", n, now_s() - t0);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	free(buf);
	return 0;
}
