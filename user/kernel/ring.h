/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The reader of a BPF ring buffer, as libbpf's ring_buffer reads one, but with
 * its data mapped once. libbpf maps the data twice, end to end, so that a
 * record that wraps around reads as one piece; every page of both mappings is
 * present from the start, so the tracer's RSS counted the ring twice (16 MB
 * for the default 8 MB). Here a record that wraps is copied into one piece.
 */
#ifndef MPTRACE_RING_H
#define MPTRACE_RING_H

#include <stddef.h>
#include <stdint.h>

/* Takes each record; < 0 stops the reading there, the record consumed (as libbpf). */
typedef int (*mpt_ring_fn)(void *ctx, void *data, size_t size);

struct mpt_ring;

/* The reader of ring buffer map @map_fd; NULL with errno set when it cannot be made. */
struct mpt_ring *mpt_ring_new(int map_fd, mpt_ring_fn fn, void *ctx);
void mpt_ring_free(struct mpt_ring *r);
/* Wait up to @timeout_ms for records, then read them: how many, or < 0 (-errno, or fn's). */
int mpt_ring_poll(struct mpt_ring *r, int timeout_ms);
/* Read what is there now: how many, or < 0. */
int mpt_ring_consume(struct mpt_ring *r);
/* Where the producer and the consumer are (bytes written and read since the start). */
void mpt_ring_positions(const struct mpt_ring *r, uint64_t *prod, uint64_t *cons);

#endif /* MPTRACE_RING_H */
