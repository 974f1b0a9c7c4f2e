/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Turning raw ring-buffer records into something the formatters can trust. */
#ifndef MPTRACE_DECODE_H
#define MPTRACE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mptrace_event.h"
#include "strbuf.h"

/*
 * What the user side adds to a record: looked up on the live system while
 * tracing, read back from the capture when replaying. Empty strings when
 * unknown (a cgroup or process already gone) or not applicable (host).
 */
struct mpt_enrich {
	const char *cgroup_path; /* relative to the cgroup v2 root, "/a/b" */
	const char *exe_path;
	const char *container_id; /* 64 hex digits */
	const char *container_runtime;
	const char *pod_uid;
};

/* A validated record: every count agrees with the record's length. */
struct mpt_view {
	const struct mpt_event *ev;
	const struct mpt_enrich *enrich; /* NULL: nothing known beyond the record */
	unsigned int ptr_bytes;		 /* 8, or 4 for a compat call's pages[] */
	const unsigned char *pages;	 /* ev->pages_n pointers, maybe unaligned */
	const unsigned char *nodes;	 /* ev->nodes_n __s32s */
	const unsigned char *status;
	const unsigned char *pages_exit; /* NULL unless pages[] changed and was re-read */
	const unsigned char *nodes_exit;
	const unsigned char *kernel_other; /* ev->kernel_other_n little __u64s */
};

/* Bytes of one pointer in pages[] for @abi (8 or 4). */
unsigned int mpt_abi_ptr_bytes(uint8_t abi);
/* "x86_64", "ia32", "x32"; "?" for anything else. */
const char *mpt_abi_name(uint8_t abi);
/* Why a record has no return: "missed", ... and a sentence ("" when it has one). */
const char *mpt_ret_state_name(uint8_t ret_state);
const char *mpt_ret_state_desc(uint8_t ret_state);
/* The size of one in-flight slot (a record with every array full) for @cap entries. */
uint32_t mpt_slot_bytes(uint32_t cap);
/* Bytes of what a call's entry captured: pages[] and nodes[]. */
size_t mpt_entry_bytes(const struct mpt_event *ev);

/*
 * Check a record read from the ring buffer (or, later, from a file) and set
 * up @v. Returns 0, or -EINVAL with a reason in @why when it is malformed.
 */
int mpt_event_parse(const void *buf, size_t len, struct mpt_view *v, const char **why);

uint64_t mpt_view_page(const struct mpt_view *v, unsigned int i);
int32_t mpt_view_node(const struct mpt_view *v, unsigned int i);
int32_t mpt_view_status(const struct mpt_view *v, unsigned int i);
/* pages[i] and nodes[i] as they were when the call returned (only with pages_exit/nodes_exit). */
uint64_t mpt_view_page_exit(const struct mpt_view *v, unsigned int i);
int32_t mpt_view_node_exit(const struct mpt_view *v, unsigned int i);
/* The i-th page the kernel migrated that the recorded pages[] does not hold. */
uint64_t mpt_view_kernel_other(const struct mpt_view *v, unsigned int i);

/* The cap cut the array: the call passed more entries than were captured. */
bool mpt_array_truncated(const struct mpt_view *v, unsigned int captured);

/* "MPOL_MF_MOVE|MPOL_MF_MOVE_ALL", unknown bits as hex, "0" for none. */
void mpt_flags_str(struct strbuf *sb, int32_t flags);

/* "EINVAL" for 22; NULL when the number has no name. */
const char *mpt_errno_name(int err);
/* "Invalid argument" for 22; never NULL. */
const char *mpt_errno_desc(int err);

/* Why an array has no data: "NULL", "EFAULT", ...; NULL for MPT_ARRAY_OK. */
const char *mpt_array_state_reason(uint8_t state);

#endif
