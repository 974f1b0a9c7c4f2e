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
	const unsigned char *pages;	 /* ev->pages_n little __u64s, maybe unaligned */
	const unsigned char *nodes;	 /* ev->nodes_n __s32s */
	const unsigned char *status;
};

/*
 * Check a record read from the ring buffer (or, later, from a file) and set
 * up @v. Returns 0, or -EINVAL with a reason in @why when it is malformed.
 */
int mpt_event_parse(const void *buf, size_t len, struct mpt_view *v, const char **why);

uint64_t mpt_view_page(const struct mpt_view *v, unsigned int i);
int32_t mpt_view_node(const struct mpt_view *v, unsigned int i);
int32_t mpt_view_status(const struct mpt_view *v, unsigned int i);

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
