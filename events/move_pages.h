/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * move_pages(2). Argument names, C types and tags follow Tracee's event
 * documentation (K = from kernel, U = user-space pointer or value, TOCTOU,
 * OPT); the semantics follow move_pages(2).
 */
#ifndef MPTRACE_EVENTS_MOVE_PAGES_H
#define MPTRACE_EVENTS_MOVE_PAGES_H

/* X(index, name, C type, tags, decode, length argument, read when, width, role) */
#define MPT_MOVE_PAGES_ARGS(X)                                                                     \
	X(0, pid, "int", "K", MPT_ARG_INT, MPT_NO_LEN, MPT_READ_NONE, MPT_W_INT,                   \
	  MPT_ROLE_TARGET_PID)                                                                     \
	X(1, count, "unsigned long", "U+K", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,  \
	  MPT_ROLE_PAGE_COUNT)                                                                     \
	X(2, pages, "const void**", "U", MPT_ARG_PTR_ARRAY, 1, MPT_READ_BOTH, MPT_W_LONG,          \
	  MPT_ROLE_PAGES)                                                                          \
	X(3, nodes, "const int*", "K", MPT_ARG_INT_ARRAY, 1, MPT_READ_BOTH, MPT_W_LONG,            \
	  MPT_ROLE_PAGE_NODES)                                                                     \
	X(4, status, "int*", "U", MPT_ARG_STATUS_ARRAY, 1, MPT_READ_EXIT, MPT_W_LONG,              \
	  MPT_ROLE_PAGE_STATUS)                                                                    \
	X(5, flags, "int", "K", MPT_ARG_FLAGS, MPT_NO_LEN, MPT_READ_NONE, MPT_W_INT, MPT_ROLE_NONE)

/* The first record version that has this event. */
#define MPT_MOVE_PAGES_VERSION_MIN 2

#define MPT_MOVE_PAGES_NARGS 6

/*
 * The flags move_pages(2) accepts, from <numaif.h>; X(name, value). Other
 * <numaif.h> bits (MPOL_MF_STRICT, MPOL_MF_LAZY) are mbind(2)'s: move_pages
 * rejects them with EINVAL, so they are shown as unknown bits, as strace does.
 */
#define MPT_MOVE_PAGES_FLAGS(X)                                                                    \
	X(MPOL_MF_MOVE, 1 << 1)                                                                    \
	X(MPOL_MF_MOVE_ALL, 1 << 2)

/* The prefix strace gives unknown bits of these flags. */
#define MPT_MOVE_PAGES_FLAGS_PREFIX "MPOL_"

/*
 * Its decoder: the generic record's (user/decode/call.c) since record
 * version 6; the record of its own that versions 2 to 5 wrote is lifted
 * into it (user/decode/events/move_pages.c).
 */
#define MPT_MOVE_PAGES_DECODER call
#define MPT_MOVE_PAGES_VERSION_CALL 6

#endif /* MPTRACE_EVENTS_MOVE_PAGES_H */
