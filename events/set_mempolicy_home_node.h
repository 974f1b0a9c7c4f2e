/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * set_mempolicy_home_node(2) (Linux 5.17): the node to allocate from first
 * for the caller's range [start, start + len) under an MPOL_BIND or
 * MPOL_PREFERRED_MANY policy. flags must be 0. No pointer is read.
 */
#ifndef MPTRACE_EVENTS_SET_MEMPOLICY_HOME_NODE_H
#define MPTRACE_EVENTS_SET_MEMPOLICY_HOME_NODE_H

/* X(index, name, C type, tags, decode, length argument, read when, width, role) */
#define MPT_SET_MEMPOLICY_HOME_NODE_ARGS(X)                                                        \
	X(0, start, "unsigned long", "U", MPT_ARG_ADDR, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,     \
	  MPT_ROLE_RANGE)                                                                          \
	X(1, len, "unsigned long", "U", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,      \
	  MPT_ROLE_RANGE_LEN)                                                                      \
	X(2, home_node, "unsigned long", "K", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE,            \
	  MPT_W_LONG, MPT_ROLE_NONE)                                                               \
	X(3, flags, "unsigned long", "K", MPT_ARG_FLAGS, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,    \
	  MPT_ROLE_NONE)

#define MPT_SET_MEMPOLICY_HOME_NODE_VERSION_MIN 4
#define MPT_SET_MEMPOLICY_HOME_NODE_NARGS 4
/* No flag is defined yet: any bit is shown as unknown. */
#define MPT_SET_MEMPOLICY_HOME_NODE_FLAGS(X)
#define MPT_SET_MEMPOLICY_HOME_NODE_FLAGS_PREFIX ""

/* Its decoder: the generic record's (user/decode/call.c). */
#define MPT_SET_MEMPOLICY_HOME_NODE_DECODER call

#endif /* MPTRACE_EVENTS_SET_MEMPOLICY_HOME_NODE_H */
