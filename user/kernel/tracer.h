/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The kernel side's lifecycle: choose a mode, load, attach, read records, count losses. */
#ifndef MPTRACE_TRACER_H
#define MPTRACE_TRACER_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/attach.h"
#include "decode/decode.h"
#include "context/filter.h"
#include "mptrace_event.h"

/* Called for every record; what it returns is ignored: every record is read. */
typedef int (*mpt_event_fn)(void *ctx, const struct mpt_view *v);
/* Called for every process record (a validated struct mpt_proc_event). */
typedef void (*mpt_proc_fn)(void *ctx, const struct mpt_proc_event *p);

struct mpt_tracer_opts {
	enum mpt_attach_mode attach;
	uint32_t array_cap;	  /* 1..MPT_ARRAY_CAP_MAX */
	struct mpt_filter filter; /* resolved (mpt_filter_resolve) */
	uint32_t ringbuf_bytes;	  /* power of two, >= page size */
	uint32_t max_inflight;	  /* threads inside a traced syscall at once */
	bool no_compat;		  /* leave the 32-bit syscall gates untraced */
	uint32_t fair_rate;	  /* calls a second each process gets recorded; 0: all */
	uint32_t fair_burst;	  /* calls a process may make at once before its rate counts */
	mpt_event_fn on_event;
	mpt_proc_fn on_process; /* may be NULL */
	void *ctx;
};

#define MPT_RINGBUF_DEFAULT (8u << 20)
/*
 * Each process's fair share: a sustained 2,000 calls a second, bursts of
 * 10,000. The heaviest legitimate callers known (NUMA balancers, HPC job
 * placement) stay far below; past it calls are summed, not lost.
 */
#define MPT_FAIR_RATE_DEFAULT 2000
#define MPT_FAIR_BURST_DEFAULT 10000
#define MPT_MAX_INFLIGHT_DEFAULT 1024
/* Kernel memory the in-flight slots may take (preallocated at load). */
#define MPT_INFLIGHT_MEM_MAX (512ull << 20)

void mpt_tracer_opts_default(struct mpt_tracer_opts *o);

struct mpt_stats {
	uint64_t kernel[MPT_STAT_NR]; /* summed over CPUs */
	uint64_t received;	      /* records handed to on_event */
	uint64_t malformed;	      /* records that failed validation */
	uint64_t unfinished;	      /* unfinished calls that could not be reported (at stop) */
	uint64_t unread;	      /* records still in the ring when the stop's time ran out */
	uint64_t kretprobe_missed;    /* returns the kernel's kretprobes missed (kprobe mode) */
	uint64_t hooks_skipped;	      /* runs of the syscall hooks the kernel skipped (recursion) */
	uint64_t entries_skipped;     /* ... of the entry hooks: each such call is reported from
					 its return, counted in no_entry, or lost with it (skipped) */
	/*
	 * Calls whose entry and return hooks were both skipped: skipped entries
	 * less the returns seen without their entry (reported from the return or
	 * counted in no_entry), which a skipped entry whose return ran became.
	 */
	uint64_t skipped;
	uint64_t proc_lost;	/* process records lost (no room, malformed): lineage gaps */
	uint64_t summed_calls;	/* calls over a fair share, told in flood summaries */
	uint64_t summaries;	/* flood summary records handed on */
	uint64_t unsummed;	/* calls over a fair share with no room to sum them: lost */
	uint64_t kprobe_missed; /* entries the kernel's kprobes missed (kprobe mode) */
};

struct mpt_tracer;

/* Runs the attach plan; on failure *t is NULL and @rep says why for every mode tried. */
int mpt_tracer_start(const struct mpt_tracer_opts *o, struct mpt_tracer **t,
		     struct mpt_attach_report *rep);
/* Wait up to @timeout_ms, then deliver what is queued. Returns records delivered or < 0. */
int mpt_tracer_poll(struct mpt_tracer *t, int timeout_ms);
/*
 * Show that every hook delivers before saying so: a child makes each traced
 * syscall once (all arguments zero, so nothing happens) and its records must
 * come back through the ring within @timeout_ms (they are not handed on).
 * Records of other processes read meanwhile are handed on as usual, so call
 * it once the outputs are open. 0, or -errno with the reason in @why.
 */
int mpt_tracer_prove(struct mpt_tracer *t, int timeout_ms, char *why, size_t len);
/*
 * The path of cgroup @id as the BPF side recorded it at a call (a
 * struct mpt_tracer * in @ctx): 0, or -ENOENT when it has none.
 */
int mpt_tracer_cgroup_path(void *ctx, uint64_t id, char *buf, size_t len);
/* Detach (entry first, so calls in flight still complete), then deliver what is left. */
int mpt_tracer_stop(struct mpt_tracer *t);
int mpt_tracer_stats(struct mpt_tracer *t, struct mpt_stats *s);
/* Bytes queued in the ring buffer at the last traced return, and its size. */
void mpt_tracer_ring_fill(const struct mpt_tracer *t, uint64_t *queued, uint64_t *size);
/*
 * Ring-full losses by process since the last call: up to @n (host tgid,
 * calls) pairs into @tgid and @count; how many. The rest are not named.
 */
unsigned int mpt_tracer_lost_by_process(struct mpt_tracer *t, uint32_t *tgid, uint64_t *count,
					unsigned int n);
/* Calls lost in the kernel: every loss counter added up. */
uint64_t mpt_stats_lost(const struct mpt_stats *s);
enum mpt_attach_mode mpt_tracer_mode(const struct mpt_tracer *t);
/* The syscalls attached: "move_pages, migrate_pages". */
const char *mpt_tracer_events(const struct mpt_tracer *t);
/* NULL when 32-bit (ia32, x32) calls are traced, else why they are not. */
const char *mpt_tracer_compat_off(const struct mpt_tracer *t);
/* Per-thread slots in use: calls entered and not yet returned (or whose return was missed). */
uint64_t mpt_tracer_inflight_count(struct mpt_tracer *t);
void mpt_tracer_free(struct mpt_tracer *t);

/* Can this process create BPF objects at all? One clear reason when not. */
int mpt_check_privileges(char *why, size_t len);

/*
 * Load @mode's programs (through the verifier) as @o configures them, without
 * attaching; @verified_insns (may be NULL) gets what the verifier walked.
 */
int mpt_tracer_load_only(const struct mpt_tracer_opts *o, enum mpt_attach_mode mode,
			 uint32_t *verified_insns, char *why, size_t len);

/*
 * Load and attach @mode alone, then detach: what `mptrace probe` reports.
 * @compat_why (may be NULL) gets why 32-bit calls would not be traced, or "".
 */
int mpt_tracer_probe_mode(enum mpt_attach_mode mode, char *why, char *compat_why, size_t len);

#endif
