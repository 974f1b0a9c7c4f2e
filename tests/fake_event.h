/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Building records by hand for the decoder and formatter unit tests. */
#ifndef MPTRACE_FAKE_EVENT_H
#define MPTRACE_FAKE_EVENT_H

#include <stdint.h>
#include <string.h>

#include "decode/decode.h"
#include "mptrace_event.h"

/*
 * A move_pages record as versions 4 and 5 wrote it (older captures and
 * streams hold them; fake_move_as_call() is the same call as this version
 * writes it).
 */
struct fake_event {
	struct mpt_event ev;
	unsigned char data[MPT_DATA_MAX];
};

/* A plausible record: numad[812] asking to move three pages to node 1. */
static inline void fake_init(struct fake_event *f)
{
	memset(f, 0, sizeof(*f));
	f->ev.type = MPT_REC_MOVE_PAGES;
	f->ev.version = MPT_MOVE_PAGES_VERSION_CALL - 1;
	f->ev.ts_boot_ns = 1123456789ull; /* 1.123456789 s after boot */
	f->ev.duration_ns = 41000;
	f->ev.task = (struct mpt_task){.host_tgid = 812,
				       .host_tid = 812,
				       .host_ptgid = 1,
				       .ns_tgid = 812,
				       .ns_tid = 812,
				       .ns_ptgid = 1,
				       .uid = 0,
				       .gid = 0,
				       .cgroup_id = 4242,
				       .cpu = 1};
	memcpy(f->ev.task.comm, "numad", 6);
	f->ev.count = 0;
	f->ev.pages = 0x7ffd0000;
	f->ev.nodes = 0x7ffd1000;
	f->ev.status = 0x7ffd2000;
	f->ev.flags = 2;
	f->ev.pages_state = MPT_ARRAY_OK;
	f->ev.nodes_state = MPT_ARRAY_OK;
	f->ev.status_state = MPT_ARRAY_OK;
	f->ev.size = sizeof(struct mpt_event);
}

/* Set the arrays (NULL: leave that array's state as it is, with no entries). */
static inline void fake_arrays(struct fake_event *f, unsigned int n, const uint64_t *pages,
			       const int32_t *nodes, const int32_t *status)
{
	unsigned char *p = f->data;

	f->ev.pages_n = pages ? n : 0;
	f->ev.nodes_n = nodes ? n : 0;
	f->ev.status_n = status ? n : 0;
	if (pages)
		memcpy(p, pages, n * 8), p += n * 8;
	if (nodes)
		memcpy(p, nodes, n * 4), p += n * 4;
	if (status)
		memcpy(p, status, n * 4), p += n * 4;
	f->ev.size = sizeof(struct mpt_event) + (p - f->data);
}

/*
 * A migrate_pages record as version 4 wrote it (older captures and streams
 * hold them): the same caller, moving pid 4242's pages from node 0 to node 1.
 */
struct fake_migrate {
	struct mpt_migrate_event_v4 ev;
	unsigned char data[4 * MPT_NODEMASK_BYTES_MAX];
};

/* A record in the generic layout (struct mpt_call_event), as this version writes every call. */
struct fake_call {
	struct mpt_call_event ev;
	unsigned char data[MPT_DATA_MAX];
};

/*
 * @f as this version writes the same call: every field set here by name, not
 * by the decoder's own lift, so the two can be compared. The data is the
 * same bytes in the same order (bpf/events/move_pages.bpf.h).
 */
static inline void fake_move_as_call(const struct fake_event *f, struct fake_call *c)
{
	const struct mpt_event *ev = &f->ev;
	size_t data = ev->size - sizeof(*ev), ptr = ev->abi == MPT_ABI_X86_64 ? 8 : 4;

	memset(c, 0, sizeof(*c));
	c->ev.hdr = ev->hdr;
	c->ev.version = MPT_EVENT_VERSION;
	c->ev.size = sizeof(c->ev) + data;
	c->ev.arg[0] = (uint64_t)(int64_t)ev->pid;
	c->ev.arg[1] = ev->count;
	c->ev.arg[2] = ev->pages;
	c->ev.arg[3] = ev->nodes;
	c->ev.arg[4] = ev->status;
	c->ev.arg[5] = (uint64_t)(int64_t)ev->flags;
	c->ev.ncaps = 4;
	c->ev.kview = ev->kview;
	c->ev.cap[0] = (struct mpt_capture){.arg = 2,
					    .state = ev->pages_state,
					    .changed = !!(ev->changed & MPT_CHANGED_PAGES),
					    .exit_fault = (ev->changed & MPT_CHANGED_PAGES) &&
							  ev->pages_exit_state != MPT_ARRAY_OK,
					    .bytes = ev->pages_n * ptr};
	c->ev.cap[1] = (struct mpt_capture){.arg = 3,
					    .state = ev->nodes_state,
					    .changed = !!(ev->changed & MPT_CHANGED_NODES),
					    .exit_fault = (ev->changed & MPT_CHANGED_NODES) &&
							  ev->nodes_exit_state != MPT_ARRAY_OK,
					    .bytes = ev->nodes_n * 4};
	c->ev.cap[2] = (struct mpt_capture){
	    .arg = MPT_CAP_KERNEL | 2, .state = MPT_ARRAY_OK, .bytes = ev->kernel_other_n * 8};
	c->ev.cap[3] =
	    (struct mpt_capture){.arg = 4, .state = ev->status_state, .bytes = ev->status_n * 4};
	memcpy(c->data, f->data, data);
}

/*
 * @m as this version writes the same call: every field set here by name, not
 * by the decoder's own lift, so the two can be compared.
 */
static inline void fake_migrate_as_call(const struct fake_migrate *m, struct fake_call *c)
{
	const struct mpt_migrate_event_v4 *mg = &m->ev;
	size_t data = mg->size - sizeof(*mg);

	memset(c, 0, sizeof(*c));
	c->ev.hdr = mg->hdr;
	c->ev.version = MPT_EVENT_VERSION;
	c->ev.size = sizeof(c->ev) + data;
	c->ev.arg[0] = (uint64_t)(int64_t)mg->pid;
	c->ev.arg[1] = mg->maxnode;
	c->ev.arg[2] = mg->old_nodes;
	c->ev.arg[3] = mg->new_nodes;
	c->ev.ncaps = 2;
	c->ev.cap[0] = (struct mpt_capture){.arg = 2,
					    .state = mg->old_state,
					    .changed = mg->changed & 1,
					    .exit_fault = mg->exit_fault & 1,
					    .bytes = mg->old_bytes};
	c->ev.cap[1] = (struct mpt_capture){.arg = 3,
					    .state = mg->new_state,
					    .changed = mg->changed >> 1 & 1,
					    .exit_fault = mg->exit_fault >> 1 & 1,
					    .bytes = mg->new_bytes};
	memcpy(c->data, m->data, data);
}

/* Set one mask (@old: old_nodes) to @bytes bytes of @mask; NULL: leave its state, no bytes. */
static inline void fake_migrate_masks(struct fake_migrate *m, const uint8_t *old_mask,
				      const uint8_t *new_mask, unsigned int bytes)
{
	m->ev.old_bytes = old_mask ? bytes : 0;
	m->ev.new_bytes = new_mask ? bytes : 0;
	if (old_mask)
		memcpy(m->data, old_mask, bytes);
	if (new_mask)
		memcpy(m->data + m->ev.old_bytes, new_mask, bytes);
	m->ev.size = sizeof(m->ev) + m->ev.old_bytes + m->ev.new_bytes;
}

static inline void fake_migrate_init(struct fake_migrate *m)
{
	struct fake_event f;

	fake_init(&f);
	memset(m, 0, sizeof(*m));
	m->ev.hdr = f.ev.hdr;
	m->ev.type = MPT_REC_MIGRATE_PAGES;
	m->ev.version = 4;
	m->ev.pid = 4242;
	m->ev.maxnode = 65;
	m->ev.old_nodes = 0x7ffd3000;
	m->ev.new_nodes = 0x7ffd3008;
	m->ev.old_state = MPT_ARRAY_OK;
	m->ev.new_state = MPT_ARRAY_OK;
	fake_migrate_masks(m, (const uint8_t[8]){0x01}, (const uint8_t[8]){0x02}, 8);
}

#endif
