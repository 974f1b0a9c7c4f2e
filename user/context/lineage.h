/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who did it, even when they are gone: a table of processes, fed by the
 * kernel's process records (fork, exec, exit), a scan of /proc at start, or
 * a capture's process records in replay. An event names its caller by
 * (host tgid, start time); the table answers with its executable, command
 * line and ancestors. An entry lives while its process does and while a
 * descendant still needs it as an ancestor.
 */
#ifndef MPTRACE_LINEAGE_H
#define MPTRACE_LINEAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mptrace_event.h"

/* Ancestors an event names at most: parent first, up to pid 1 or this many. */
#define MPT_ANCESTORS_MAX 16
/* Entries the table holds at most: past it, the oldest exited ones go first. */
#define MPT_LINEAGE_MAX 65536

/* What is known of one process. */
struct mpt_proc_info {
	uint32_t tgid, ptgid, ns_tgid;
	uint64_t start_ns, pstart_ns; /* CLOCK_BOOTTIME; pstart_ns 0: the parent's is unknown */
	uint64_t exe_ino;
	uint32_t exe_dev;
	uint8_t flags; /* MPT_PROC_*_TRUNCATED */
	uint32_t gen;  /* changes with every new image: a capture writes the process again */
	/* live only (a capture's process records do not keep them): 0 when not known */
	uint32_t pid_ns; /* the pid namespace ns_tgid is in */
	uint32_t uid;	 /* real uid */
	uint64_t cgroup_id;
	char comm[MPT_TASK_COMM_LEN + 1];
	const char *exe;	   /* "" when unknown */
	const unsigned char *argv; /* NUL-separated arguments */
	uint16_t argv_len;
};

/* One event's lineage: its caller and the caller's ancestors. */
struct mpt_lineage_view {
	const struct mpt_proc_info *self; /* NULL: the caller is not known */
	/* anc[MPT_ANCESTORS_MAX] is the next one up when the chain goes on past the cap */
	const struct mpt_proc_info *anc[MPT_ANCESTORS_MAX + 1];
	unsigned int n_anc;
	bool anc_truncated; /* the chain went on past MPT_ANCESTORS_MAX */
};

struct mpt_lineage;

struct mpt_lineage *mpt_lineage_new(void);
void mpt_lineage_free(struct mpt_lineage *l);

/* A kernel process record (validated by mpt_proc_parse). */
void mpt_lineage_feed(struct mpt_lineage *l, const struct mpt_proc_event *p);
/* What a capture (or a stream) recorded of a process: copied in. */
void mpt_lineage_add(struct mpt_lineage *l, const struct mpt_proc_info *info);
/* The processes running now, from /proc: for those started before tracing. */
void mpt_lineage_scan_proc(struct mpt_lineage *l);

/* The process (@tgid, @start_ns), or NULL. */
const struct mpt_proc_info *mpt_lineage_find(const struct mpt_lineage *l, uint32_t tgid,
					     uint64_t start_ns);
/* @v for the caller (@tgid, @start_ns): itself and its ancestors, parent first. */
void mpt_lineage_of(const struct mpt_lineage *l, uint32_t tgid, uint64_t start_ns,
		    struct mpt_lineage_view *v);
/*
 * The process a call's pid argument @nr names, as its caller (in pid
 * namespace @pid_ns) sees it: in the host's namespace (@host_ns) the pid is
 * the host's; elsewhere the process whose own namespace is the caller's.
 * The newest still running first. NULL when not known (a thread id, a
 * process in a namespace below the caller's).
 */
const struct mpt_proc_info *mpt_lineage_find_ns(const struct mpt_lineage *l, uint32_t pid_ns,
						uint32_t nr, uint32_t host_ns);
/* Entries held now. */
size_t mpt_lineage_size(const struct mpt_lineage *l);

#endif
