/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What mbind(2) and set_mempolicy(2) share: the memory policy modes and the
 * mode flags or'ed into them, from <linux/mempolicy.h>; X(name, value).
 */
#ifndef MPTRACE_EVENTS_MEMPOLICY_H
#define MPTRACE_EVENTS_MEMPOLICY_H

#define MPT_MPOL_MODES(X)                                                                          \
	X(MPOL_DEFAULT, 0)                                                                         \
	X(MPOL_PREFERRED, 1)                                                                       \
	X(MPOL_BIND, 2)                                                                            \
	X(MPOL_INTERLEAVE, 3)                                                                      \
	X(MPOL_LOCAL, 4)                                                                           \
	X(MPOL_PREFERRED_MANY, 5)                                                                  \
	X(MPOL_WEIGHTED_INTERLEAVE, 6)

/* The flags above the mode's bits (MPOL_MODE_FLAGS). */
#define MPT_MPOL_MODE_FLAGS(X)                                                                     \
	X(MPOL_F_STATIC_NODES, 1 << 15)                                                            \
	X(MPOL_F_RELATIVE_NODES, 1 << 14)                                                          \
	X(MPOL_F_NUMA_BALANCING, 1 << 13)

#endif /* MPTRACE_EVENTS_MEMPOLICY_H */
