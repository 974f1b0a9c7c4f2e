// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "util/keyset.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(const uint64_t *k, size_t cap, uint64_t key)
{
	size_t i;

	for (i = key % cap; k[i] && k[i] != key; i = (i + 1) % cap)
		;
	return i;
}

/* Twice the room; on no memory the set stays as it was. */
static void grow(struct mpt_keyset *s)
{
	size_t cap = s->cap ? 2 * s->cap : 1024;
	uint64_t *k = calloc(cap, sizeof(*k));

	if (!k)
		return;
	for (size_t j = 0; j < s->cap; j++)
		if (s->k[j])
			k[slot_of(k, cap, s->k[j])] = s->k[j];
	free(s->k);
	s->k = k;
	s->cap = cap;
}

int mpt_keyset_add(struct mpt_keyset *s, uint64_t key)
{
	size_t i;

	key = key ? key : 1;
	if (s->n * 2 >= s->cap)
		grow(s);
	/* a slot stays empty, or probing for a missing key would never end */
	if (s->n + 1 >= s->cap)
		return -1;
	i = slot_of(s->k, s->cap, key);
	if (s->k[i])
		return 1;
	s->k[i] = key;
	s->n++;
	return 0;
}

bool mpt_keyset_has(const struct mpt_keyset *s, uint64_t key)
{
	return s->cap && s->k[slot_of(s->k, s->cap, key ? key : 1)] != 0;
}

void mpt_keyset_clear(struct mpt_keyset *s)
{
	if (s->k)
		memset(s->k, 0, s->cap * sizeof(*s->k));
	s->n = 0;
}

void mpt_keyset_free(struct mpt_keyset *s)
{
	free(s->k);
	memset(s, 0, sizeof(*s));
}
