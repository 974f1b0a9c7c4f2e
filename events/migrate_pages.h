/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * migrate_pages(2): move all of a process's pages on the nodes of old_nodes
 * to the nodes of new_nodes. Moving another process's pages needs
 * CAP_SYS_NICE (or the same credentials), as for move_pages. Names and tags
 * as in Tracee's migrate_pages event; the kernel copies both masks at entry
 * (get_nodes), so they are read then, and again at the return to see
 * whether they were rewritten while the kernel read them.
 */
#ifndef MPTRACE_EVENTS_MIGRATE_PAGES_H
#define MPTRACE_EVENTS_MIGRATE_PAGES_H

/* X(index, name, C type, tags, decode, length argument, read when, width, role) */
#define MPT_MIGRATE_PAGES_ARGS(X)                                                                  \
	X(0, pid, "int", "K", MPT_ARG_INT, MPT_NO_LEN, MPT_READ_NONE, MPT_W_INT,                   \
	  MPT_ROLE_TARGET_PID)                                                                     \
	X(1, maxnode, "unsigned long", "K", MPT_ARG_ULONG, MPT_NO_LEN, MPT_READ_NONE, MPT_W_LONG,  \
	  MPT_ROLE_NONE)                                                                           \
	X(2, old_nodes, "const unsigned long*", "U", MPT_ARG_NODEMASK, 1, MPT_READ_BOTH,           \
	  MPT_W_LONG, MPT_ROLE_NONE)                                                               \
	X(3, new_nodes, "const unsigned long*", "U", MPT_ARG_NODEMASK, 1, MPT_READ_BOTH,           \
	  MPT_W_LONG, MPT_ROLE_NONE)

/* The first record version that has this event. */
#define MPT_MIGRATE_PAGES_VERSION_MIN 4

#define MPT_MIGRATE_PAGES_NARGS 4

/* migrate_pages takes no flags. */
#define MPT_MIGRATE_PAGES_FLAGS(X)
#define MPT_MIGRATE_PAGES_FLAGS_PREFIX ""

/*
 * Its decoder: the generic record's (user/decode/call.c) since record
 * version 5; version 4's own record is lifted into it (user/decode/events/).
 */
#define MPT_MIGRATE_PAGES_DECODER call
#define MPT_MIGRATE_PAGES_VERSION_CALL 5

#endif /* MPTRACE_EVENTS_MIGRATE_PAGES_H */
