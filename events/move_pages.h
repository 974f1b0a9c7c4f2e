/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The move_pages event, listed once and expanded wherever it is needed: the
 * JSON and table formatters, the argument table written into capture headers,
 * and the tests that check both.
 *
 * Argument names, C types and tags follow Tracee's event documentation
 * (K = from kernel, U = user-space pointer or value, TOCTOU, OPT); the
 * semantics follow move_pages(2).
 */
#ifndef MPTRACE_EVENTS_MOVE_PAGES_H
#define MPTRACE_EVENTS_MOVE_PAGES_H

/* X(index, name, C type, tags) */
#define MPT_MOVE_PAGES_ARGS(X)                                                                     \
	X(0, pid, "int", "K")                                                                      \
	X(1, count, "unsigned long", "U+K")                                                        \
	X(2, pages, "const void**", "U")                                                           \
	X(3, nodes, "const int*", "K")                                                             \
	X(4, status, "int*", "U")                                                                  \
	X(5, flags, "int", "K")

#define MPT_MOVE_PAGES_NARGS 6

/*
 * The flags move_pages(2) accepts, from <numaif.h>; X(name, value). Other
 * <numaif.h> bits (MPOL_MF_STRICT, MPOL_MF_LAZY) are mbind(2)'s: move_pages
 * rejects them with EINVAL, so they are shown as unknown bits, as strace does.
 */
#define MPT_MPOL_MF_FLAGS(X)                                                                       \
	X(MPOL_MF_MOVE, 1 << 1)                                                                    \
	X(MPOL_MF_MOVE_ALL, 1 << 2)

#endif /* MPTRACE_EVENTS_MOVE_PAGES_H */
