/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A growable byte buffer that the formatters append to; one per output stream. */
#ifndef MPTRACE_STRBUF_H
#define MPTRACE_STRBUF_H

#include <stddef.h>
#include <stdint.h>

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
void sb_putc(struct strbuf *sb, char c);
void sb_put(struct strbuf *sb, const char *s, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_u64(struct strbuf *sb, uint64_t v);
void sb_s64(struct strbuf *sb, int64_t v);
void sb_hex(struct strbuf *sb, uint64_t v); /* 0x-prefixed, lowercase, no padding */
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal (with quotes) for arbitrary bytes; see json_escape in strbuf.c. */
void sb_json_str(struct strbuf *sb, const char *s, size_t n);

#endif
