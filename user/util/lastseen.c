// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "util/lastseen.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct mpt_seen_slot {
	uint64_t id;
	unsigned char *bytes; /* NULL: an empty slot */
	size_t len;
};

static size_t slot_of(const struct mpt_seen_slot *t, size_t cap, uint64_t id)
{
	size_t i;

	for (i = (id ^ id >> 31) % cap; t[i].bytes && t[i].id != id; i = (i + 1) % cap)
		;
	return i;
}

/* Twice the room; on no memory the table stays as it was. */
static void grow(struct mpt_lastseen *s)
{
	size_t cap = s->cap ? 2 * s->cap : 256;
	struct mpt_seen_slot *t = calloc(cap, sizeof(*t));

	if (!t)
		return;
	for (size_t j = 0; j < s->cap; j++)
		if (s->slot[j].bytes)
			t[slot_of(t, cap, s->slot[j].id)] = s->slot[j];
	free(s->slot);
	s->slot = t;
	s->cap = cap;
}

static bool same(const struct mpt_seen_slot *e, const struct mpt_seen_part *parts,
		 unsigned int n_parts)
{
	size_t off = 0;

	for (unsigned int i = 0; i < n_parts; i++) {
		if (parts[i].len > e->len - off || memcmp(e->bytes + off, parts[i].p, parts[i].len))
			return false;
		off += parts[i].len;
	}
	return off == e->len;
}

int mpt_lastseen_put(struct mpt_lastseen *s, uint64_t id, const struct mpt_seen_part *parts,
		     unsigned int n_parts)
{
	struct mpt_seen_slot *e;
	unsigned char *b;
	size_t len = 0;

	if (s->n * 2 >= s->cap)
		grow(s);
	/* a slot stays empty, or probing for a missing id would never end */
	if (s->n + 1 >= s->cap)
		return -1;
	e = &s->slot[slot_of(s->slot, s->cap, id)];
	if (e->bytes && same(e, parts, n_parts))
		return 1;
	for (unsigned int i = 0; i < n_parts; i++)
		len += parts[i].len;
	b = malloc(len ? len : 1);
	if (!b)
		return -1;
	len = 0;
	for (unsigned int i = 0; i < n_parts; len += parts[i].len, i++)
		memcpy(b + len, parts[i].p, parts[i].len);
	if (!e->bytes)
		s->n++;
	free(e->bytes);
	*e = (struct mpt_seen_slot){id, b, len};
	return 0;
}

void mpt_lastseen_clear(struct mpt_lastseen *s)
{
	for (size_t i = 0; i < s->cap; i++) {
		free(s->slot[i].bytes);
		s->slot[i].bytes = NULL;
	}
	s->n = 0;
}

void mpt_lastseen_free(struct mpt_lastseen *s)
{
	mpt_lastseen_clear(s);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}
