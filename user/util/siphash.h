/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * SipHash-2-4 (Aumasson and Bernstein): a keyed 64-bit hash. With a random
 * key, whoever chooses the input cannot make two inputs hash the same on
 * purpose, as they can with an unkeyed hash (FNV, multiply-xorshift).
 */
#ifndef MPTRACE_SIPHASH_H
#define MPTRACE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t mpt_siphash(const uint8_t key[16], const void *data, size_t len);
/* A key from the kernel's random source (getrandom). */
void mpt_siphash_key(uint8_t key[16]);

#endif /* MPTRACE_SIPHASH_H */
