// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Decoding migrate_pages(2) records (events/migrate_pages.h): two node masks read at entry. */
#include "decode/decode_events.h"

#include <errno.h>

size_t mpt_migrate_pages_entry_bytes(const struct mpt_rec_hdr *h)
{
	const struct mpt_migrate_event *mg = (const void *)h;

	return (size_t)mg->old_bytes + mg->new_bytes;
}

size_t mpt_migrate_pages_clear_return(struct mpt_rec_hdr *h, uint8_t ret_state)
{
	struct mpt_migrate_event *mg = (void *)h;

	mpt_hdr_clear_return(h, ret_state);
	mg->changed = 0;
	mg->exit_fault = 0;
	return sizeof(struct mpt_migrate_event);
}

size_t mpt_migrate_pages_record_max(uint32_t cap)
{
	(void)cap;
	return sizeof(struct mpt_migrate_event) + 4 * MPT_NODEMASK_BYTES_MAX;
}

static bool mask_consistent(uint8_t state, uint16_t bytes)
{
	return state == MPT_ARRAY_OK
		   ? bytes <= MPT_NODEMASK_BYTES_MAX
		   : (state == MPT_ARRAY_NULL || state == MPT_ARRAY_FAULT) && !bytes;
}

static void set_mask(struct mpt_arg_view *a, uint64_t ptr, uint8_t state, uint16_t bytes,
		     const unsigned char *data, uint64_t maxnode)
{
	a->value = ptr;
	a->bits = maxnode ? maxnode - 1 : 0;
	mpt_set_array(a, state, bytes, data, 0);
	a->truncated = state == MPT_ARRAY_OK && a->bits > (uint64_t)bytes * 8;
}

/* Bytes of the copy the return made of mask @bit: kept only when it changed and was readable. */
static size_t exit_bytes(const struct mpt_migrate_event *mg, uint8_t bit, uint16_t bytes)
{
	return (mg->changed & bit) && !(mg->exit_fault & bit) ? bytes : 0;
}

/* What the return found of the mask @bit: the arg's re-read, change and exit copy. */
static void set_reread(const struct mpt_migrate_event *mg, struct mpt_arg_view *a, uint8_t bit,
		       const unsigned char *exit_data)
{
	a->reread = mg->ret_state == MPT_RET_SEEN && a->state == MPT_ARRAY_OK && a->n;
	a->changed = a->reread && (mg->changed & bit);
	a->exit_state = mg->exit_fault & bit ? MPT_ARRAY_FAULT : MPT_ARRAY_OK;
	a->exit_data = a->changed && !(mg->exit_fault & bit) ? exit_data : NULL;
}

/* Change bits that a record can hold: known ones, on masks read at entry, of a returned call. */
static bool changes_consistent(const struct mpt_migrate_event *mg)
{
	uint8_t read = (mg->old_state == MPT_ARRAY_OK && mg->old_bytes ? MPT_CHANGED_OLD : 0) |
		       (mg->new_state == MPT_ARRAY_OK && mg->new_bytes ? MPT_CHANGED_NEW : 0);

	if (mg->changed & ~read || mg->exit_fault & ~mg->changed)
		return false;
	return mg->ret_state == MPT_RET_SEEN || !mg->changed;
}

int mpt_migrate_pages_parse(const void *buf, size_t len, struct mpt_view *v, const char **why)
{
	const struct mpt_migrate_event *mg = buf;
	const unsigned char *exit_data;

	if (len < sizeof(*mg)) {
		*why = "record shorter than the event header";
		return -EINVAL;
	}
	if (mpt_check_hdr(&mg->hdr, why))
		return -EINVAL;
	if (!mask_consistent(mg->old_state, mg->old_bytes) ||
	    !mask_consistent(mg->new_state, mg->new_bytes)) {
		*why = "array state and length disagree";
		return -EINVAL;
	}
	if (!changes_consistent(mg)) {
		*why = "mask re-read at the return disagrees with the record";
		return -EINVAL;
	}
	if (mg->size != sizeof(*mg) + mpt_migrate_pages_entry_bytes(&mg->hdr) +
			    exit_bytes(mg, MPT_CHANGED_OLD, mg->old_bytes) +
			    exit_bytes(mg, MPT_CHANGED_NEW, mg->new_bytes) ||
	    mg->size > len) {
		*why = "record length does not match its arrays";
		return -EINVAL;
	}
	v->mg = mg;
	v->hdr = &mg->hdr;
	v->ptr_bytes = mpt_abi_ptr_bytes(mg->abi);
	v->arg[0].value = (uint64_t)(int64_t)mg->pid;
	v->arg[1].value = mg->maxnode;
	set_mask(&v->arg[2], mg->old_nodes, mg->old_state, mg->old_bytes, mg->data, mg->maxnode);
	set_mask(&v->arg[3], mg->new_nodes, mg->new_state, mg->new_bytes, mg->data + mg->old_bytes,
		 mg->maxnode);
	exit_data = mg->data + mg->old_bytes + mg->new_bytes;
	set_reread(mg, &v->arg[2], MPT_CHANGED_OLD, exit_data);
	exit_data += exit_bytes(mg, MPT_CHANGED_OLD, mg->old_bytes);
	set_reread(mg, &v->arg[3], MPT_CHANGED_NEW, exit_data);
	return 0;
}
