/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mbind(2): set the memory policy of the caller's range [start, start +
 * len), and with MPOL_MF_MOVE or MPOL_MF_MOVE_ALL migrate the pages there
 * that do not follow it (MOVE_ALL needs CAP_SYS_NICE and moves pages other
 * processes share). Names as in the man page; the kernel copies nodemask at
 * entry (get_nodes), so it is read then, and again at the return to see
 * whether it was rewritten while the kernel read it.
 */
#ifndef MPTRACE_EVENTS_MBIND_H
#define MPTRACE_EVENTS_MBIND_H

/* X(index, name, C type, tags, decode, length argument, read when, width, role) */
#define MPT_MBIND_ARGS(X)                                                                          \
	X(0, addr, "void*", "U", MPT_ARG_ADDR, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,              \
	  MPT_ROLE_RANGE)                                                                          \
	X(1, len, "unsigned long", "U", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,      \
	  MPT_ROLE_RANGE_LEN)                                                                      \
	X(2, mode, "int", "K", MPT_ARG_MODE, MPT_NO_LEN, MPT_READ_NONE, MPT_W_INT, MPT_ROLE_NONE)  \
	X(3, nodemask, "const unsigned long*", "U", MPT_ARG_NODEMASK, 4, MPT_READ_BOTH,            \
	  MPT_W_LONG, MPT_ROLE_NONE)                                                               \
	X(4, maxnode, "unsigned long", "K", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,  \
	  MPT_ROLE_NONE)                                                                           \
	X(5, flags, "unsigned int", "K", MPT_ARG_FLAGS, MPT_NO_LEN, MPT_READ_NONE, MPT_W_UINT,     \
	  MPT_ROLE_NONE)

#define MPT_MBIND_VERSION_MIN 4
#define MPT_MBIND_NARGS 6

/* From <numaif.h>; MPOL_MF_LAZY is the kernel's own and refused (EINVAL). */
#define MPT_MBIND_FLAGS(X)                                                                         \
	X(MPOL_MF_STRICT, 1 << 0)                                                                  \
	X(MPOL_MF_MOVE, 1 << 1)                                                                    \
	X(MPOL_MF_MOVE_ALL, 1 << 2)
#define MPT_MBIND_FLAGS_PREFIX "MPOL_"

/* Its decoder: the generic record's (user/decode/call.c). */
#define MPT_MBIND_DECODER call

#endif /* MPTRACE_EVENTS_MBIND_H */
