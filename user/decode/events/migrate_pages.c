// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migrate_pages(2) records of version 4, from older captures and streams:
 * lifted into the generic record (struct mpt_call_event) that version 5
 * writes since, so that one decoder reads both and prints them alike.
 */
#include "decode/decode_events.h"

#include <errno.h>
#include <string.h>

/* Bytes of the copy the return made of mask @bit: kept only when it changed and was readable. */
static size_t exit_bytes(const struct mpt_migrate_event_v4 *mg, uint8_t bit, uint16_t bytes)
{
	return (mg->changed & bit) && !(mg->exit_fault & bit) ? bytes : 0;
}

/* Mask @bit's capture, behind argument @arg. */
static struct mpt_capture lift_mask(const struct mpt_migrate_event_v4 *mg, uint8_t arg,
				    uint8_t state, uint16_t bytes, uint8_t bit)
{
	return mpt_capture_lifted(arg, state, bytes, mg->changed & bit, mg->exit_fault & bit);
}

int mpt_migrate_pages_v4_lift(const void *buf, size_t len, void *out, const unsigned char **data_at,
			      size_t *have, const char **why)
{
	const struct mpt_migrate_event_v4 *mg = buf;
	const uint8_t known = MPT_MG_V4_CHANGED_OLD | MPT_MG_V4_CHANGED_NEW;
	struct mpt_call_event *c = out;
	size_t data;

	if (len < sizeof(*mg)) {
		*why = "record shorter than the event header";
		return -EINVAL;
	}
	data = (size_t)mg->old_bytes + mg->new_bytes +
	       exit_bytes(mg, MPT_MG_V4_CHANGED_OLD, mg->old_bytes) +
	       exit_bytes(mg, MPT_MG_V4_CHANGED_NEW, mg->new_bytes);
	if (mg->size != sizeof(*mg) + data || mg->size > len || data > MPT_CALL_DATA_MAX) {
		*why = "record length does not match its arrays";
		return -EINVAL;
	}
	if (mg->changed & ~known || mg->exit_fault & ~known) {
		*why = "mask re-read at the return disagrees with the record";
		return -EINVAL;
	}
	memset(c, 0, sizeof(*c));
	c->hdr = mg->hdr;
	c->size = sizeof(*c) + data;
	c->arg[0] = (uint64_t)(int64_t)mg->pid;
	c->arg[1] = mg->maxnode;
	c->arg[2] = mg->old_nodes;
	c->arg[3] = mg->new_nodes;
	c->ncaps = 2;
	c->cap[0] = lift_mask(mg, 2, mg->old_state, mg->old_bytes, MPT_MG_V4_CHANGED_OLD);
	c->cap[1] = lift_mask(mg, 3, mg->new_state, mg->new_bytes, MPT_MG_V4_CHANGED_NEW);
	memcpy(c->data, mg->data, data);
	*data_at = c->data;
	*have = data;
	return 0;
}
