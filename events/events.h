/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The events mptrace traces, listed once. Each event's arguments are
 * described in its own header (MPT_<ID>_ARGS): name, C type, Tracee's tags,
 * how to decode the value, which argument gives an array's length, and when
 * the array behind a pointer is read. The decoder, the JSON, table and OCSF
 * formats, the capture header's argument table and the tests are driven by
 * these descriptors; the BPF side has thin wrappers per syscall around one
 * entry body and one exit body.
 */
#ifndef MPTRACE_EVENTS_H
#define MPTRACE_EVENTS_H

/* How an argument's value is decoded and shown. */
enum mpt_arg_kind {
	MPT_ARG_INT,	      /* a signed int (a pid) */
	MPT_ARG_ULONG,	      /* an unsigned long (a count) */
	MPT_ARG_FLAGS,	      /* an int of flag bits, named from the event's flag table */
	MPT_ARG_PTR_ARRAY,    /* a pointer to @len pointers */
	MPT_ARG_INT_ARRAY,    /* a pointer to @len ints */
	MPT_ARG_STATUS_ARRAY, /* a pointer to @len ints, each a node or -errno */
	MPT_ARG_NODEMASK,     /* a pointer to a node bitmask of @len - 1 bits (get_nodes) */
	MPT_ARG_ADDR,	      /* an address in the caller's memory, not read behind */
	MPT_ARG_MODE,	      /* a memory policy mode and its mode flags (events/mempolicy.h) */
};

/*
 * How the kernel takes an argument from a register (so how a record keeps
 * it): an int is the low 32 bits, sign-extended; a long or a pointer is the
 * whole register, but only its low 32 bits, zero-extended, through a 32-bit
 * gate (the ia32 wrappers cut each register to an unsigned int first).
 */
enum mpt_arg_width {
	MPT_W_INT,  /* int */
	MPT_W_UINT, /* unsigned int */
	MPT_W_LONG, /* long, unsigned long, a pointer */
};

/*
 * What an argument means beyond its type, for the code that must find it in
 * any event: filters, detections, OCSF, the flood summaries.
 */
enum mpt_arg_role {
	MPT_ROLE_NONE,
	MPT_ROLE_TARGET_PID,  /* the process acted on: 0 or the caller's pid is itself */
	MPT_ROLE_PAGE_COUNT,  /* pages asked of the kernel (summed in a flood summary) */
	MPT_ROLE_RANGE,	      /* the start of an address range of the caller's */
	MPT_ROLE_RANGE_LEN,   /* ... and its length in bytes */
	MPT_ROLE_PAGES,	      /* the addresses of the pages asked of the kernel, one by one */
	MPT_ROLE_PAGE_NODES,  /* a node for each of them to go to; NULL: only ask where they are */
	MPT_ROLE_PAGE_STATUS, /* what became of each: the node it is on, or -errno */
};

/* When the array behind a pointer argument is read. */
enum mpt_arg_when {
	MPT_READ_NONE,
	MPT_READ_ENTRY,
	MPT_READ_EXIT,
	MPT_READ_BOTH, /* at entry, and again at the return to see whether it changed */
};

/* No length argument. */
#define MPT_NO_LEN (-1)

#include "move_pages.h"
#include "migrate_pages.h"
#include "mempolicy.h"
#include "mbind.h"
#include "set_mempolicy.h"
#include "set_mempolicy_home_node.h"
#include "flood.h"

/*
 * X(id, record type, name, native syscall number, ia32 syscall number).
 * Record types are never reused: captures keep them. The name is the
 * syscall's, as an identifier: the kernel side of event NAME is
 * bpf/events/NAME.bpf.h, its decoder user/decode/events/NAME.c.
 */
#define MPT_EVENTS(X)                                                                              \
	X(MOVE_PAGES, 1, move_pages, 279, 317)                                                     \
	X(MIGRATE_PAGES, 2, migrate_pages, 256, 294)                                               \
	X(MBIND, 5, mbind, 237, 274)                                                               \
	X(SET_MEMPOLICY, 6, set_mempolicy, 238, 276)                                               \
	X(SET_MEMPOLICY_HOME_NODE, 7, set_mempolicy_home_node, 450, 450)

/* The highest record type of a syscall (types 3 and 4 are the process and flood records). */
#define MPT_EVENT_TYPE_MAX 7

/*
 * Records that are not syscalls but read like events (a descriptor each):
 * X(id, record type, name). Their types follow the process record's.
 */
#define MPT_SUMMARIES(X) X(FLOOD, 4, flood)
/* Arguments of the event that has the most. */
#define MPT_ARGS_MAX 6

#endif /* MPTRACE_EVENTS_H */
