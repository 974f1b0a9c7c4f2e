// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A message on the stream: its body is the JSON line `replay --format json`
 * prints for the record; its headers carry the record itself (base64) and
 * what formatting needs, so `replay --nats` prints exactly what a replay of
 * the capture prints.
 */
#include "fleet/fleet_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

char *fleet_b64(const unsigned char *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

unsigned char *fleet_unb64(const char *s, size_t *n)
{
	size_t len = strlen(s), pad = 0;
	unsigned char *out;
	int got;

	if (len % 4)
		return NULL;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (got < 0) {
		free(out);
		return NULL;
	}
	pad = len && s[len - 1] == '=' ? 1 + (len > 1 && s[len - 2] == '=') : 0;
	*n = (size_t)got - pad;
	return out;
}

static void pct(const char *s, char *out, size_t len)
{
	size_t o = 0;

	if (!s || !*s)
		s = "-";
	for (; *s && o + 4 < len; s++) {
		unsigned char c = *s;

		if (isalnum(c) || strchr("._:-+", c))
			out[o++] = c;
		else
			o += snprintf(out + o, len - o, "%%%02x", c);
	}
	out[o] = '\0';
}

static void unpct(char *s)
{
	char *w = s;

	if (!strcmp(s, "-")) {
		*s = '\0';
		return;
	}
	for (; *s; s++) {
		unsigned int c;

		if (*s == '%' && sscanf(s + 1, "%2x", &c) == 1) {
			*w++ = (char)c;
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

void fleet_context(const struct mpt_fmt_ctx *fmt, char *out, size_t len)
{
	char boot[200], kernel[300], host[800];

	pct(fmt->boot_id, boot, sizeof(boot));
	pct(fmt->kernel, kernel, sizeof(kernel));
	pct(fmt->hostname, host, sizeof(host));
	snprintf(out, len, "%" PRId64 " %s %s %s", fmt->boot_to_wall_ns, boot, kernel, host);
}

void fleet_parse_context(const char *h, struct mpt_fmt_ctx *fmt, struct fleet_ctx_buf *b)
{
	long long b2w = 0;

	b->boot[0] = b->kernel[0] = b->host[0] = '\0';
	sscanf(h, "%lld %199s %299s %799s", &b2w, b->boot, b->kernel, b->host);
	unpct(b->boot);
	unpct(b->kernel);
	unpct(b->host);
	fmt->boot_to_wall_ns = b2w;
	fmt->boot_id = b->boot;
	fmt->kernel = b->kernel;
	fmt->hostname = b->host;
}

const char *fleet_header(natsMsg *m, const char *key)
{
	const char *v = NULL;

	return natsMsgHeader_Get(m, key, &v) == NATS_OK && v ? v : "";
}

static void put_le(struct strbuf *sb, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		sb_putc(sb, (char)(v >> (8 * i)));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

void fleet_batch_put(struct strbuf *raw, uint8_t kind, uint64_t offset, const void *p, uint32_t n)
{
	sb_putc(raw, (char)kind);
	put_le(raw, offset, 8);
	put_le(raw, n, 4);
	sb_put(raw, p, n);
}

int fleet_batch_next(const unsigned char *b, size_t len, size_t *pos, uint8_t *kind,
		     uint64_t *offset, const unsigned char **p, uint32_t *n)
{
	size_t at = *pos;

	if (at == len)
		return 0;
	if (len - at < FLEET_BATCH_ENTRY_HDR)
		return -1;
	*kind = b[at];
	*offset = get_le(b + at + 1, 8);
	*n = (uint32_t)get_le(b + at + 9, 4);
	if (*n > len - at - FLEET_BATCH_ENTRY_HDR)
		return -1;
	*p = b + at + FLEET_BATCH_ENTRY_HDR;
	*pos = at + FLEET_BATCH_ENTRY_HDR + *n;
	return 1;
}

unsigned char *fleet_batch_unpack(const void *p, size_t len, size_t *n, const char **why)
{
	unsigned long long size = ZSTD_getFrameContentSize(p, len);
	unsigned char *out;
	size_t got;

	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
		*why = "not a zstd frame of known size";
		return NULL;
	}
	if (size > FLEET_BATCH_RAW_MAX) {
		*why = "a batch over 64 MiB";
		return NULL;
	}
	out = malloc(size ? size : 1);
	if (!out) {
		*why = "out of memory";
		return NULL;
	}
	got = ZSTD_decompress(out, size, p, len);
	if (ZSTD_isError(got) || got != size) {
		*why = ZSTD_isError(got) ? ZSTD_getErrorName(got) : "a short frame";
		free(out);
		return NULL;
	}
	*n = got;
	return out;
}
