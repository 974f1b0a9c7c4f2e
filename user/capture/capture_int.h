/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the capture's writer and reader share, and nothing outside them
 * uses: byte order, checksums, the chain's digest, the EVENT payload's strings.
 */
#ifndef MPTRACE_CAPTURE_INT_H
#define MPTRACE_CAPTURE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "capture/capture.h"

/* A block is written once this much is pending (and on the 200 ms timer). */
#define FLUSH_BYTES (64u << 10)
/* cgroup path, executable, container id, runtime, pod uid */
#define N_STRINGS 5

/*
 * The fuzzer cannot forge checksums: in its build they are not enforced, so
 * it reaches the parsers behind them (the usual libFuzzer convention).
 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CHECKSUMS_ENFORCED 0
#else
#define CHECKSUMS_ENFORCED 1
#endif

static inline void put16(unsigned char *p, uint16_t v)
{
	p[0] = v, p[1] = v >> 8;
}

static inline void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static inline void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static inline uint16_t get16(const unsigned char *p)
{
	return p[0] | p[1] << 8;
}

static inline uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* CRC-32 (zlib's) over a record header's first 8 bytes and its payload. */
uint32_t mpt_cap_record_crc(const unsigned char *hdr, const unsigned char *payload, uint32_t len);
/* SHA-256(prev || bytes): one chain block's digest. 0 or -errno. */
int mpt_cap_chain_digest(const unsigned char *prev, const unsigned char *bytes, size_t len,
			 unsigned char *out);
void mpt_cap_hex(const unsigned char *b, size_t n, char *out);
/* Make *@p hold @need bytes (doubling). 0 or -ENOMEM. */
int mpt_cap_grow(unsigned char **p, size_t *cap, size_t need);
/* The EVENT payload's five strings into @tail; their size. */
uint32_t mpt_cap_encode_strings(const struct mpt_enrich *en, unsigned char *tail);

#endif
