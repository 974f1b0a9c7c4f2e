// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(struct strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void sb_free(struct strbuf *sb)
{
	free(sb->buf);
	sb_init(sb);
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->oom = 0;
}

int sb_reserve(struct strbuf *sb, size_t extra)
{
	size_t want = sb->len + extra + 1;
	size_t cap = sb->cap ? sb->cap : 256;
	char *p;

	if (sb->oom)
		return -1;
	if (want <= sb->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	p = realloc(sb->buf, cap);
	if (!p) {
		sb->oom = 1;
		return -1;
	}
	sb->buf = p;
	sb->cap = cap;
	return 0;
}

/* Decimal digits of @v (1 for 0): from its bit length, corrected by one comparison. */
static int decimal_digits(uint64_t v)
{
	static const uint64_t pow10[20] = {1ull,
					   10ull,
					   100ull,
					   1000ull,
					   10000ull,
					   100000ull,
					   1000000ull,
					   10000000ull,
					   100000000ull,
					   1000000000ull,
					   10000000000ull,
					   100000000000ull,
					   1000000000000ull,
					   10000000000000ull,
					   100000000000000ull,
					   1000000000000000ull,
					   10000000000000000ull,
					   100000000000000000ull,
					   1000000000000000000ull,
					   10000000000000000000ull};
	int t = ((64 - __builtin_clzll(v | 1)) * 1233) >> 12; /* 1233 / 4096 ~ log10(2) */

	return t - ((v | 1) < pow10[t]) + 1;
}

/* @v in decimal, its last digit just before @end. */
static inline void put_digits(char *end, uint64_t v)
{
	/* two digits per division, written in place: the JSON writer's hottest function */
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";
	char *p = end;

	while (v >= 100) {
		unsigned int r = v % 100;

		v /= 100;
		*--p = pairs[2 * r + 1];
		*--p = pairs[2 * r];
	}
	if (v >= 10) {
		*--p = pairs[2 * v + 1];
		*--p = pairs[2 * v];
	} else {
		*--p = '0' + v;
	}
}

char *mpt_u64_dec(char *out, uint64_t v)
{
	char *end = out + decimal_digits(v);

	put_digits(end, v);
	return end;
}

void sb_u64(struct strbuf *sb, uint64_t v)
{
	int n = decimal_digits(v);

	if (sb->len + n + 1 > sb->cap && sb_reserve(sb, n))
		return;
	sb->len += n;
	put_digits(sb->buf + sb->len, v);
}

void sb_s64(struct strbuf *sb, int64_t v)
{
	if (v < 0) {
		sb_putc(sb, '-');
		sb_u64(sb, -(uint64_t)v);
	} else {
		sb_u64(sb, v);
	}
}

/* Two hex digits per byte, from the last: the pointers of every event's arrays. */
#define HEX16(h)                                                                                   \
	h "0", h "1", h "2", h "3", h "4", h "5", h "6", h "7", h "8", h "9", h "a", h "b", h "c", \
	    h "d", h "e", h "f"
static const char hex_pairs[256][2] = {
    HEX16("0"), HEX16("1"), HEX16("2"), HEX16("3"), HEX16("4"), HEX16("5"), HEX16("6"), HEX16("7"),
    HEX16("8"), HEX16("9"), HEX16("a"), HEX16("b"), HEX16("c"), HEX16("d"), HEX16("e"), HEX16("f")};
#undef HEX16

void sb_hex(struct strbuf *sb, uint64_t v)
{
	/* nibbles, at least one: from the bit length */
	int n = (64 - __builtin_clzll(v | 1) + 3) / 4;
	char *end;

	if (sb->len + n + 3 > sb->cap && sb_reserve(sb, n + 2))
		return;
	memcpy(sb->buf + sb->len, "0x", 2);
	sb->len += n + 2;
	end = sb->buf + sb->len;
	for (; v >= 0x100; v >>= 8)
		memcpy(end -= 2, hex_pairs[v & 0xff], 2);
	if (v >= 0x10)
		memcpy(end - 2, hex_pairs[v], 2);
	else
		end[-1] = hex_pairs[v][1];
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sb_reserve(sb, n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, n + 1, fmt, ap);
	va_end(ap);
	sb->len += n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Printable ASCII that a JSON string holds as it is: not '"', not '\\'. */
#define PLAIN16(c)                                                                                 \
	PLAIN(c), PLAIN(c + 1), PLAIN(c + 2), PLAIN(c + 3), PLAIN(c + 4), PLAIN(c + 5),            \
	    PLAIN(c + 6), PLAIN(c + 7), PLAIN(c + 8), PLAIN(c + 9), PLAIN(c + 10), PLAIN(c + 11),  \
	    PLAIN(c + 12), PLAIN(c + 13), PLAIN(c + 14), PLAIN(c + 15)
#define PLAIN(c) ((c) >= 0x20 && (c) < 0x7f && (c) != '"' && (c) != '\\')
static const unsigned char plain[256] = {PLAIN16(0x00), PLAIN16(0x10), PLAIN16(0x20),
					 PLAIN16(0x30), PLAIN16(0x40), PLAIN16(0x50),
					 PLAIN16(0x60), PLAIN16(0x70)};
#undef PLAIN
#undef PLAIN16

/*
 * comm and host names are bytes, not text. Valid UTF-8 passes through; each
 * byte that is not part of valid UTF-8 becomes \u00XX (its Latin-1 reading),
 * so the output is always valid JSON and no byte is silently dropped.
 */
void sb_json_str(struct strbuf *sb, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, seq;

	sb_putc(sb, '"');
	while (i < n) {
		unsigned char c = s[i];
		size_t run = i;

		/* the common case: a run of printable ASCII, copied at once */
		while (run < n && plain[s[run]])
			run++;
		if (run > i) {
			sb_put(sb, (const char *)s + i, run - i);
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			sb_putc(sb, '\\');
			sb_putc(sb, c);
			i++;
			continue;
		}
		if (c >= 0x20 && c < 0x7f) {
			sb_putc(sb, c);
			i++;
			continue;
		}
		seq = c >= 0x80 ? utf8_seq_len(s + i, n - i) : 0;
		if (seq) {
			sb_put(sb, (const char *)s + i, seq);
			i += seq;
			continue;
		}
		switch (c) {
		case '\n':
			sb_puts(sb, "\\n");
			break;
		case '\t':
			sb_puts(sb, "\\t");
			break;
		case '\r':
			sb_puts(sb, "\\r");
			break;
		default:
			sb_puts(sb, "\\u00");
			sb_putc(sb, hex[c >> 4]);
			sb_putc(sb, hex[c & 0xf]);
		}
		i++;
	}
	sb_putc(sb, '"');
}
