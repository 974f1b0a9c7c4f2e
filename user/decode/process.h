/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a record says of a process and its ancestors, as the decoder and the
 * formats see it. Who fills it in (the process tracker, a capture's process
 * records) is context/lineage.h's business.
 */
#ifndef MPTRACE_PROCESS_H
#define MPTRACE_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mptrace_event.h"

/* Ancestors an event names at most: parent first, up to pid 1 or this many. */
#define MPT_ANCESTORS_MAX 16

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
	/*
	 * The tracker's state the view was taken in: two views of one nonzero
	 * stamp that hold the same pointers hold the same contents. 0: not known.
	 */
	uint64_t stamp;
};

#endif
