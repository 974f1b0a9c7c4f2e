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

#include "decode/process.h"
#include "mptrace_event.h"

/* Entries the table holds at most: past it, the oldest exited ones go first. */
#define MPT_LINEAGE_MAX 65536

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
