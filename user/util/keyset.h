/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A set of 64-bit keys (hashes of what was seen), open addressing, grown
 * to stay at most half full. Key 0 marks an empty slot: it is stored as 1.
 */
#ifndef MPTRACE_KEYSET_H
#define MPTRACE_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mpt_keyset {
	uint64_t *k;
	size_t n, cap;
};

/* 1: @key was there; 0: it is now; -1: out of memory, and no room left to add it. */
int mpt_keyset_add(struct mpt_keyset *s, uint64_t key);
/* Is @key there? */
bool mpt_keyset_has(const struct mpt_keyset *s, uint64_t key);
/* Empty, keeping the memory. */
void mpt_keyset_clear(struct mpt_keyset *s);
void mpt_keyset_free(struct mpt_keyset *s);

#endif /* MPTRACE_KEYSET_H */
