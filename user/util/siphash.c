// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "util/siphash.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t rotl(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void rounds(uint64_t v[4], int n)
{
	while (n--) {
		v[0] += v[1], v[1] = rotl(v[1], 13), v[1] ^= v[0], v[0] = rotl(v[0], 32);
		v[2] += v[3], v[3] = rotl(v[3], 16), v[3] ^= v[2];
		v[0] += v[3], v[3] = rotl(v[3], 21), v[3] ^= v[0];
		v[2] += v[1], v[1] = rotl(v[1], 17), v[1] ^= v[2], v[2] = rotl(v[2], 32);
	}
}

uint64_t mpt_siphash(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8), last = (uint64_t)len << 56;
	uint64_t v[4] = {0x736f6d6570736575ull ^ k0, 0x646f72616e646f6dull ^ k1,
			 0x6c7967656e657261ull ^ k0, 0x7465646279746573ull ^ k1};
	size_t whole = len - len % 8;

	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = le64(in + i);

		v[3] ^= m;
		rounds(v, 2);
		v[0] ^= m;
	}
	for (size_t i = 0; i < len % 8; i++)
		last |= (uint64_t)in[whole + i] << (8 * i);
	v[3] ^= last;
	rounds(v, 2);
	v[0] ^= last;
	v[2] ^= 0xff;
	rounds(v, 4);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

void mpt_siphash_key(uint8_t key[16])
{
	struct timespec ts;
	uint64_t mix;

	if (getrandom(key, 16, 0) == 16)
		return;
	/* no random source (a kernel before 3.17): the clock and the pid, at least unknown ahead
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	mix = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid() << 32 ^
	      (uint64_t)ts.tv_sec;
	memcpy(key, &mix, 8);
	memcpy(key + 8, &mix, 8);
}
