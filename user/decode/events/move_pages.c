// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Decoding move_pages(2) records (events/move_pages.h): four arrays, the two
 * input ones possibly read again at the return, and the pages the kernel
 * migrated that pages[] did not name. Version 2 and 3 records are lifted
 * into the layout of version 4 (today's).
 */
#include "decode/decode_events.h"

#include <errno.h>
#include <string.h>

size_t mpt_move_pages_entry_bytes(const struct mpt_rec_hdr *h)
{
	const struct mpt_event *ev = (const void *)h;

	return (size_t)ev->pages_n * mpt_abi_ptr_bytes(ev->abi) + (size_t)ev->nodes_n * 4;
}

size_t mpt_move_pages_clear_return(struct mpt_rec_hdr *h, uint8_t ret_state)
{
	mpt_event_clear_return((struct mpt_event *)h, ret_state);
	return sizeof(struct mpt_event);
}

size_t mpt_move_pages_record_max(uint32_t cap)
{
	return sizeof(struct mpt_event) + (size_t)cap * MPT_DATA_BYTES_PER_ENTRY;
}

/* Is what the return found for one array consistent with its entry copy? */
static bool exit_consistent(uint8_t changed, uint8_t entry_state, uint8_t exit_state)
{
	if (!changed)
		return exit_state == MPT_ARRAY_OK;
	return entry_state == MPT_ARRAY_OK &&
	       (exit_state == MPT_ARRAY_OK || exit_state == MPT_ARRAY_FAULT);
}

/* Lift an older record into @v->lifted; returns where its data starts. */
static const unsigned char *lift_v3(const void *buf, struct mpt_view *v)
{
	const struct mpt_event_v3 *o = buf;
	struct mpt_event *ev = (struct mpt_event *)v->lifted;

	memset(ev, 0, sizeof(*ev));
	ev->type = o->type;
	ev->version = o->version;
	ev->size = o->size - sizeof(*o) + sizeof(*ev);
	ev->ts_boot_ns = o->ts_boot_ns;
	ev->duration_ns = o->duration_ns;
	ev->task = o->task;
	ev->ret = o->ret;
	ev->abi = o->abi;
	ev->ret_state = o->ret_state;
	ev->pid = o->pid;
	ev->flags = o->flags;
	ev->count = o->count;
	ev->pages = o->pages;
	ev->nodes = o->nodes;
	ev->status = o->status;
	ev->pages_n = o->pages_n;
	ev->nodes_n = o->nodes_n;
	ev->status_n = o->status_n;
	ev->pages_state = o->pages_state;
	ev->nodes_state = o->nodes_state;
	ev->status_state = o->status_state;
	ev->changed = o->changed;
	ev->pages_exit_state = o->pages_exit_state;
	ev->nodes_exit_state = o->nodes_exit_state;
	ev->kernel_other_n = o->kernel_other_n;
	return o->data;
}

/* The record's states, counts and length agree with each other. 0, or -EINVAL and @why. */
static int check_arrays(const struct mpt_event *ev, size_t have, unsigned int ptr_bytes,
			const char **why)
{
	size_t want;

	if (ev->changed & ~(MPT_CHANGED_PAGES | MPT_CHANGED_NODES) || ev->kview >= MPT_KVIEW_NR) {
		*why = "unknown ABI, return state or change bits";
		return -EINVAL;
	}
	if (!exit_consistent(ev->changed & MPT_CHANGED_PAGES, ev->pages_state,
			     ev->pages_exit_state) ||
	    !exit_consistent(ev->changed & MPT_CHANGED_NODES, ev->nodes_state,
			     ev->nodes_exit_state) ||
	    (ev->ret_state != MPT_RET_SEEN &&
	     (ev->changed || ev->kernel_other_n || ev->status_state != MPT_ARRAY_NO_RETURN))) {
		*why = "array re-read at the return disagrees with the record";
		return -EINVAL;
	}
	if (!mpt_array_consistent(ev->pages_state, ev->pages_n) ||
	    !mpt_array_consistent(ev->nodes_state, ev->nodes_n) ||
	    !mpt_array_consistent(ev->status_state, ev->status_n)) {
		*why = "array state and length disagree";
		return -EINVAL;
	}
	/* Each array holds at most min(count, cap) entries. */
	if (ev->pages_n > ev->count || ev->nodes_n > ev->count || ev->status_n > ev->count) {
		*why = "array longer than count";
		return -EINVAL;
	}
	want = sizeof(*ev) + mpt_move_pages_entry_bytes(&ev->hdr) + (size_t)ev->status_n * 4;
	if ((ev->changed & MPT_CHANGED_PAGES) && ev->pages_exit_state == MPT_ARRAY_OK)
		want += (size_t)ev->pages_n * ptr_bytes;
	if ((ev->changed & MPT_CHANGED_NODES) && ev->nodes_exit_state == MPT_ARRAY_OK)
		want += (size_t)ev->nodes_n * 4;
	if (ev->kernel_other_n > MPT_ARRAY_CAP_MAX) {
		*why = "more migrated pages than an array can hold";
		return -EINVAL;
	}
	want += (size_t)ev->kernel_other_n * 8;
	if (ev->size != want || want > have) {
		*why = "record length does not match its arrays";
		return -EINVAL;
	}
	return 0;
}

/* Where each array lies behind the header, in the order the BPF side wrote them. */
struct arrays {
	const unsigned char *pages, *nodes, *kernel_other, *status, *pages_exit, *nodes_exit;
};

static void locate_arrays(struct arrays *at, const struct mpt_event *ev, const unsigned char *data,
			  unsigned int ptr_bytes)
{
	at->pages = data;
	at->nodes = at->pages + (size_t)ev->pages_n * ptr_bytes;
	at->kernel_other = at->nodes + (size_t)ev->nodes_n * 4;
	at->status = at->kernel_other + (size_t)ev->kernel_other_n * 8;
	at->pages_exit = at->status + (size_t)ev->status_n * 4;
	at->nodes_exit = at->pages_exit;
	if ((ev->changed & MPT_CHANGED_PAGES) && ev->pages_exit_state == MPT_ARRAY_OK)
		at->nodes_exit += (size_t)ev->pages_n * ptr_bytes;
	else
		at->pages_exit = NULL;
	if (!((ev->changed & MPT_CHANGED_NODES) && ev->nodes_exit_state == MPT_ARRAY_OK))
		at->nodes_exit = NULL;
}

/* The arguments, as events/move_pages.h lists them, and what was read behind them. */
static void set_args(struct mpt_view *v, const struct mpt_event *ev, const struct arrays *at)
{
	v->arg[0].value = (uint64_t)(int64_t)ev->pid;
	v->arg[1].value = ev->count;
	v->arg[2].value = ev->pages;
	v->arg[3].value = ev->nodes;
	v->arg[4].value = ev->status;
	v->arg[5].value = (uint64_t)(int64_t)ev->flags;
	mpt_set_array(&v->arg[2], ev->pages_state, ev->pages_n, at->pages, ev->count);
	mpt_set_array(&v->arg[3], ev->nodes_state, ev->nodes_n, at->nodes, ev->count);
	mpt_set_array(&v->arg[4], ev->status_state, ev->status_n, at->status, ev->count);
	for (int i = 2; i <= 3; i++) {
		struct mpt_arg_view *a = &v->arg[i];
		uint8_t bit = i == 2 ? MPT_CHANGED_PAGES : MPT_CHANGED_NODES;

		a->reread = ev->ret_state == MPT_RET_SEEN && a->state == MPT_ARRAY_OK && a->n &&
			    !a->at_return;
		a->changed = a->reread && (ev->changed & bit);
		a->exit_state = i == 2 ? ev->pages_exit_state : ev->nodes_exit_state;
		a->exit_data = i == 2 ? at->pages_exit : at->nodes_exit;
	}
	v->arg[2].kview = ev->kview;
	v->arg[2].kernel_other_n = ev->kernel_other_n;
	v->arg[2].kernel_other = at->kernel_other;
}

int mpt_move_pages_parse(const void *buf, size_t len, struct mpt_view *v, const char **why)
{
	const struct mpt_event *ev = buf;
	const unsigned char *data = ev->data;
	struct arrays at;
	size_t have = len;

	if (ev->version < MPT_EVENT_VERSION_HDR) {
		if (len < sizeof(struct mpt_event_v3)) {
			*why = "record shorter than the event header";
			return -EINVAL;
		}
		data = lift_v3(buf, v);
		v->raw_size = ((const struct mpt_event_v3 *)buf)->size;
		ev = (const struct mpt_event *)v->lifted;
		/* the lifted header is longer by the difference; the data is where it was */
		have = len - sizeof(struct mpt_event_v3) + sizeof(*ev);
		if (((const struct mpt_event_v3 *)buf)->size < sizeof(struct mpt_event_v3)) {
			*why = "record length does not match its arrays";
			return -EINVAL;
		}
	} else if (len < sizeof(*ev)) {
		*why = "record shorter than the event header";
		return -EINVAL;
	}
	v->ptr_bytes = mpt_abi_ptr_bytes(ev->abi);
	if (mpt_check_hdr(&ev->hdr, why) || check_arrays(ev, have, v->ptr_bytes, why))
		return -EINVAL;
	locate_arrays(&at, ev, data, v->ptr_bytes);
	v->hdr = &ev->hdr;
	set_args(v, ev, &at);
	return 0;
}
