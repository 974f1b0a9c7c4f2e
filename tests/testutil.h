/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the integration tests: real calls, real records. */
#ifndef MPTRACE_TESTUTIL_H
#define MPTRACE_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "decode/decode.h"
#include "kernel/tracer.h"

#define TU_SKIP 77

/*
 * Trace this process's own calls: tracers started while it is set take 0 for
 * mpt_self_tgid() (wrapped at link time: -Wl,--wrap=mpt_self_tgid).
 */
extern bool tu_trace_self;

/*
 * 0 when BPF can be used here. Otherwise prints why and returns TU_SKIP, or 1
 * when MPTRACE_REQUIRE_BPF is set (the README's test command sets it, so a
 * machine that cannot run the BPF tests fails instead of passing quietly).
 */
int tu_require_bpf(const char *test);

/*
 * MPTRACE_TEST_ATTACH=kprobe|fentry|tracepoint forces an attach mode (tests/vm
 * runs the BPF tests once per mode); unset, @mode stays. 0, or -1 with a
 * message for an unknown mode.
 */
int tu_attach_mode(enum mpt_attach_mode *mode);

/* What the caller passed and saw, for comparison with the record. */
struct tu_call {
	int pid;
	unsigned long count;
	void **pages;
	int *nodes;
	int *status;
	int flags;
	long ret;	       /* raw: >= 0, or -errno */
	int status_seen[1024]; /* status[] after the call */
	pid_t tid;
	uint64_t boot_before, boot_after;
};

long tu_move_pages(struct tu_call *c);
uint64_t tu_boot_ns(void);
/* "# N.N s": the time since the last call, printed (what each test costs under emulation). */
void tu_print_lap(void);
pid_t tu_gettid(void);
/* cgroup v2 id of this process, as bpf_get_current_cgroup_id() reports it; 0 if unknown. */
uint64_t tu_self_cgroup_id(void);
/* How many NUMA nodes are online. */
int tu_online_nodes(void);
/* The lowest node number that is not online (move_pages answers it with ENODEV). */
int tu_offline_node(void);

/*
 * move_pages' captures in its record (the generic one), in the order
 * bpf/events/move_pages.bpf.h writes them, read the way the fields of its
 * own record before version 6 were.
 */
enum { MP_PAGES, MP_NODES, MP_OTHER, MP_STATUS };

/* Entries of capture @i: pointers of the caller's width, ints, or the kernel's u64 addresses. */
static inline unsigned int mp_n(const struct mpt_call_event *ev, int i)
{
	unsigned int elem = i == MP_OTHER		? 8
			    : i != MP_PAGES		? 4
			    : ev->abi == MPT_ABI_X86_64 ? 8
							: 4;

	return ev->cap[i].bytes / elem;
}

/* Which of pages[] and nodes[] changed during the call (MPT_CHANGED_*). */
static inline unsigned int mp_changed(const struct mpt_call_event *ev)
{
	return (ev->cap[MP_PAGES].changed ? MPT_CHANGED_PAGES : 0) |
	       (ev->cap[MP_NODES].changed ? MPT_CHANGED_NODES : 0);
}

/* What the return found reading capture @i again: FAULT when it could not. */
static inline uint8_t mp_exit_state(const struct mpt_call_event *ev, int i)
{
	return ev->cap[i].exit_fault ? MPT_ARRAY_FAULT : MPT_ARRAY_OK;
}

/* Records copied out of the ring buffer. */
struct tu_events {
	struct mpt_call_event **ev;
	size_t n, cap;
};

int tu_collect(void *ctx, const struct mpt_view *v); /* an mpt_event_fn */
/* Poll until @events holds at least @n records or @timeout_ms passes; returns the count. */
size_t tu_wait_events(struct mpt_tracer *t, struct tu_events *events, size_t n, int timeout_ms);
void tu_events_clear(struct tu_events *events);

/*
 * Give the calling thread a seccomp filter that refuses move_pages with
 * -@mp_err and migrate_pages with -@mg_err, as a container's default profile
 * does. Only for a child: a filter cannot be taken off. 0, or -1.
 */
int tu_seccomp_refuse(int mp_err, int mg_err);

/* mmap @n anonymous pages and touch each so they exist. */
void *tu_touched_pages(size_t n);

#endif
