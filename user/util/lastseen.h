/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What was last seen under each of a set of ids, kept whole: whether some
 * content is what was last seen under its id is decided byte for byte, never
 * by a hash of the content, so no crafted content can pass for another. The
 * id (a hash of who, not of what) only finds the slot. Open addressing, grown
 * to stay at most half full.
 */
#ifndef MPTRACE_LASTSEEN_H
#define MPTRACE_LASTSEEN_H

#include <stddef.h>
#include <stdint.h>

/* One piece of the content: the pieces are compared in order, as if joined. */
struct mpt_seen_part {
	const void *p;
	size_t len;
};

struct mpt_seen_slot;

struct mpt_lastseen {
	struct mpt_seen_slot *slot;
	size_t n, cap;
};

/*
 * 1: @parts are what was last seen under @id; 0: they were not, and now are;
 * -1: out of memory, and they are not kept.
 */
int mpt_lastseen_put(struct mpt_lastseen *s, uint64_t id, const struct mpt_seen_part *parts,
		     unsigned int n_parts);
/* Forget everything, keeping the table. */
void mpt_lastseen_clear(struct mpt_lastseen *s);
void mpt_lastseen_free(struct mpt_lastseen *s);

#endif /* MPTRACE_LASTSEEN_H */
