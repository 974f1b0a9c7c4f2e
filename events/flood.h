/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A flood summary (struct mpt_flood_event): one process's calls of one
 * syscall over its fair share, summed in the kernel. Not a syscall: its
 * "arguments" are the sums, shown the way an event's arguments are. The
 * header is the caller's, at the first call summed.
 */
#ifndef MPTRACE_EVENTS_FLOOD_H
#define MPTRACE_EVENTS_FLOOD_H

/* X(index, name, C type, tags, decode, length argument, read when, width, role) */
#define MPT_FLOOD_ARGS(X)                                                                          \
	X(0, calls, "unsigned long", "K", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,    \
	  MPT_ROLE_NONE)                                                                           \
	X(1, pages, "unsigned long", "K", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,    \
	  MPT_ROLE_NONE)                                                                           \
	X(2, targets, "unsigned long", "K", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,  \
	  MPT_ROLE_NONE)                                                                           \
	X(3, returns, "unsigned long", "K", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,  \
	  MPT_ROLE_NONE)                                                                           \
	X(4, failures, "unsigned long", "K", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG, \
	  MPT_ROLE_NONE)

#define MPT_FLOOD_VERSION_MIN 4
#define MPT_FLOOD_NARGS 5
#define MPT_FLOOD_FLAGS(X)
#define MPT_FLOOD_FLAGS_PREFIX ""

#endif /* MPTRACE_EVENTS_FLOOD_H */
