/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The report's tallies, shared by the aggregation (report.c) and its two renderings. */
#ifndef MPTRACE_REPORT_INT_H
#define MPTRACE_REPORT_INT_H

#include "report/report.h"
#include "util/strbuf.h"

/* Timeline bins: a fixed count, their width doubling as the trace grows longer. */
#define RP_BINS 256
/* Processes with a timeline of their own; the others share one lane. */
#define RP_TIMED_PROCS 4096
/* Lanes drawn: the busiest processes, then one for all the others. */
#define RP_LANES 24
#define RP_HOSTS 64
#define RP_TARGETS 4096
#define RP_TARGET_SLOTS (2 * RP_TARGETS) /* a power of two: the index stays half empty */
#define RP_TARGETS_LISTED 8		 /* per process */
#define RP_HITS 50			 /* triggering calls kept per rule */
#define RP_LOSSES 4096
#define RP_ARCS 65536
#define RP_SOURCES 1024

struct rp_bin {
	uint32_t calls, failed, dets;
};

struct rp_proc {
	uint32_t host, tgid, pid_ns, ns_tgid, uid;
	uint64_t start_ns;
	char comm[MPT_TASK_COMM_LEN + 1];
	char *exe, *cmdline, *ancestry, *container, *runtime;
	uint64_t calls, pages, failed, refused, dets, summed;
	int64_t first_ns, last_ns;
	uint32_t targets[RP_TARGETS_LISTED], n_targets; /* indexes into targets[] */
	struct rp_bin *bins;				/* NULL: past RP_TIMED_PROCS */
	int lane;					/* -1: the shared lane */
};

struct rp_target {
	uint32_t host, pid_ns;
	int32_t pid;
	uint64_t calls, pages, failed;
	uint32_t callers, last_caller; /* distinct calling processes (by their index) */
	int proc;		       /* the process it names, when the trace saw it call; -1 */
};

struct rp_hit {
	int64_t wall_ns;
	uint32_t proc;
	char *line; /* the triggering call, as the table prints it */
};

struct rp_rule {
	uint64_t count;
	struct rp_hit hits[RP_HITS];
	unsigned int n_hits;
};

struct rp_loss {
	char cause[32];
	uint64_t count;
	int64_t first_ns, last_ns;
	uint32_t tgid;
};

struct rp_arc {
	uint32_t caller, target, bin, count;
};

struct rp_cause {
	char name[32];
	uint64_t count;
};

struct mpt_report {
	struct mpt_detector *detect;
	char *filters;
	char *hosts[RP_HOSTS];
	unsigned int n_hosts;
	struct mpt_report_source src[RP_SOURCES];
	unsigned int n_src;
	bool set_broken;
	uint64_t events, shown, lost, summed;
	int64_t first_ns, last_ns; /* wall: events and losses */
	/* the timeline */
	int64_t t0;
	uint64_t bin_ns;
	struct rp_bin other[RP_BINS];
	/* processes: an open-addressing index over procs[] */
	struct rp_proc *procs;
	size_t n_procs, cap_procs;
	uint32_t *index; /* proc index + 1; 0: empty */
	size_t index_cap;
	struct rp_target targets[RP_TARGETS];
	uint32_t target_index[RP_TARGET_SLOTS]; /* target index + 1, by host, pid ns and pid */
	unsigned int n_targets;
	uint64_t targets_untold; /* calls on targets past RP_TARGETS */
	struct rp_rule rules[MPT_DET_NR];
	struct rp_loss losses[RP_LOSSES];
	unsigned int n_losses;
	struct rp_cause causes[16];
	unsigned int n_causes;
	struct rp_arc *arcs;
	size_t n_arcs;
	uint64_t arcs_untold;
	struct strbuf scratch;
	/* set by mpt_report_finish */
	bool finished;
	uint32_t lane[RP_LANES];
	unsigned int n_lanes; /* the shared lane is row n_lanes */
};

/* Each detection's code, name and severity (detect.h's table). */
struct rp_rule_name {
	const char *code, *name, *severity;
};
extern const struct rp_rule_name rp_rules[MPT_DET_NR];

/*
 * Before rendering (once): the lanes (the busiest timed processes, busiest
 * first; the others' bins join the shared lane) and the targets named by
 * the processes the trace saw calling.
 */
void mpt_report_finish(struct mpt_report *r);
/* Every capture verified whole, and the set complete (the stream is not checked). */
bool rp_whole(const struct mpt_report *r);
/* Write @sb to @out and free it: 0, or -1 with errno set. */
int rp_write(struct strbuf *sb, FILE *out);
/* Wall time (ns) as "2026-12-03T01:02:03.123456789Z". */
void mpt_report_time(char *buf, size_t len, int64_t ns);
/* What each attach mode guarantees, in a sentence. */
const char *mpt_report_mode_guarantee(const char *mode);

#endif
