/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * set_mempolicy(2): set the calling thread's memory policy. Names as in the
 * man page; nodemask is copied by the kernel at entry (get_nodes), read then
 * and again at the return, as mbind's.
 */
#ifndef MPTRACE_EVENTS_SET_MEMPOLICY_H
#define MPTRACE_EVENTS_SET_MEMPOLICY_H

/* X(index, name, C type, tags, decode, length argument, read when, width, role) */
#define MPT_SET_MEMPOLICY_ARGS(X)                                                                  \
	X(0, mode, "int", "K", MPT_ARG_MODE, MPT_NO_LEN, MPT_READ_NONE, MPT_W_INT, MPT_ROLE_NONE)  \
	X(1, nodemask, "const unsigned long*", "U", MPT_ARG_NODEMASK, 2, MPT_READ_BOTH,            \
	  MPT_W_LONG, MPT_ROLE_NONE)                                                               \
	X(2, maxnode, "unsigned long", "K", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,  \
	  MPT_ROLE_NONE)

#define MPT_SET_MEMPOLICY_VERSION_MIN 4
#define MPT_SET_MEMPOLICY_NARGS 3
#define MPT_SET_MEMPOLICY_FLAGS(X)
#define MPT_SET_MEMPOLICY_FLAGS_PREFIX ""

/* Its decoder: the generic record's (user/decode/call.c). */
#define MPT_SET_MEMPOLICY_DECODER call

#endif /* MPTRACE_EVENTS_SET_MEMPOLICY_H */
