/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A growable byte buffer that the formatters append to; one per output stream. */
#ifndef MPTRACE_STRBUF_H
#define MPTRACE_STRBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
	int oom; /* sticky: an append failed, the content is incomplete */
};

void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
int sb_reserve(struct strbuf *sb, size_t extra);

/*
 * The appends are inline with the growth out of line: formatting a JSON
 * event is a few hundred of them, and the consumer must keep up with well
 * over a million events a second.
 */
static inline void sb_put(struct strbuf *sb, const char *s, size_t n)
{
	if (sb->len + n + 1 > sb->cap && sb_reserve(sb, n))
		return;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
}

static inline void sb_putc(struct strbuf *sb, char c)
{
	if (sb->len + 2 > sb->cap && sb_reserve(sb, 1))
		return;
	sb->buf[sb->len++] = c;
}

/* strlen of a literal folds away once this is inlined */
static inline void sb_puts(struct strbuf *sb, const char *s)
{
	sb_put(sb, s, strlen(s));
}
void sb_u64(struct strbuf *sb, uint64_t v);
/* @v in decimal at @out (up to 20 bytes, no NUL): its end. */
char *mpt_u64_dec(char *out, uint64_t v);
void sb_s64(struct strbuf *sb, int64_t v);
void sb_hex(struct strbuf *sb, uint64_t v); /* 0x-prefixed, lowercase, no padding */
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal (with quotes) for arbitrary bytes; see json_escape in strbuf.c. */
void sb_json_str(struct strbuf *sb, const char *s, size_t n);

#endif
