// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CRC-32 as zlib computes it (the reflected polynomial 0xedb88320, inverted
 * before and after), by carry-less multiplication where the CPU has it:
 * every record's checksum is checked on every read, and for records of a few
 * hundred bytes zlib 1.2's tables are about a third as fast. The folding is
 * Intel's (Gopal et al., "Fast CRC Computation for Generic Polynomials Using
 * PCLMULQDQ Instruction", 2009), with the reflected CRC-32's constants as
 * Linux's crc32-pclmul uses them.
 */
#include "util/crc32.h"

#include <stdbool.h>
#include <zlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define FOLD_TARGET __attribute__((target("pclmul,sse4.1")))

/* @x folded 128 bits (or 512, by @k) forward onto @next. */
FOLD_TARGET static inline __m128i fold(__m128i x, __m128i next, __m128i k)
{
	return _mm_xor_si128(
	    _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)),
	    next);
}

static inline __m128i load(const unsigned char *p)
{
	return _mm_loadu_si128((const __m128i *)p);
}

/* The CRC state @crc (not inverted) over @p[@len], @len >= 64 and a multiple of 16. */
FOLD_TARGET static uint32_t fold_crc(uint32_t crc, const unsigned char *p, size_t len)
{
	const __m128i k1k2 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);
	const __m128i k3k4 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
	const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124);
	const __m128i poly = _mm_set_epi64x(0x1f7011641, 0x1db710641); /* mu, P' */
	const __m128i low32 = _mm_set_epi32(0, 0, 0, -1);
	__m128i x1 = _mm_xor_si128(load(p), _mm_cvtsi32_si128((int)crc));
	__m128i x2 = load(p + 16), x3 = load(p + 32), x4 = load(p + 48), t;

	for (p += 64, len -= 64; len >= 64; p += 64, len -= 64) {
		x1 = fold(x1, load(p), k1k2);
		x2 = fold(x2, load(p + 16), k1k2);
		x3 = fold(x3, load(p + 32), k1k2);
		x4 = fold(x4, load(p + 48), k1k2);
	}
	x1 = fold(fold(fold(x1, x2, k3k4), x3, k3k4), x4, k3k4);
	for (; len >= 16; p += 16, len -= 16)
		x1 = fold(x1, load(p), k3k4);
	/* 128 bits to 64, then to 32 and 32 zero bits, then Barrett's reduction */
	x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), _mm_clmulepi64_si128(k3k4, x1, 0x01));
	t = _mm_srli_si128(x1, 4);
	x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5, 0x00), t);
	t = x1;
	x1 = _mm_and_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly, 0x10), low32);
	x1 = _mm_xor_si128(_mm_clmulepi64_si128(x1, poly, 0x00), t);
	return (uint32_t)_mm_extract_epi32(x1, 1);
}

/* libgcc reads the CPU's features once, before main(): each ask is a load, from any thread */
static bool have_clmul(void)
{
	return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}
#endif

uint32_t mpt_crc32(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

#if defined(__x86_64__)
	if (len >= 64 && have_clmul()) {
		size_t n = len & ~(size_t)15;

		crc = ~fold_crc(~crc, p, n);
		p += n;
		len -= n;
	}
#endif
	return len ? (uint32_t)crc32(crc, p, (uInt)len) : crc;
}
