// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * move_pages(2) records of versions 2 to 5, from older captures and
 * streams: checked as those versions' decoder checked them, then lifted
 * into the generic record (struct mpt_call_event) that version 6 writes, so
 * that one decoder reads both and prints them alike. Their data is already
 * in the generic record's order (pages[], nodes[], the pages the kernel
 * migrated, status[], then the copies the return made), so it stays where
 * it is. Version 2 and 3 records are read through version 4's layout.
 */
#include "decode/decode_events.h"

#include <errno.h>
#include <string.h>

static size_t entry_bytes(const struct mpt_event *ev)
{
	return (size_t)ev->pages_n * mpt_abi_ptr_bytes(ev->abi) + (size_t)ev->nodes_n * 4;
}

/* Is what the return found for one array consistent with its entry copy? */
static bool exit_consistent(uint8_t changed, uint8_t entry_state, uint8_t exit_state)
{
	if (!changed)
		return exit_state == MPT_ARRAY_OK;
	return entry_state == MPT_ARRAY_OK &&
	       (exit_state == MPT_ARRAY_OK || exit_state == MPT_ARRAY_FAULT);
}

/* A version 3 or 2 record's header in version 4's layout at @ev; where its data starts. */
static const unsigned char *lift_v3(const void *buf, struct mpt_event *ev)
{
	const struct mpt_event_v3 *o = buf;

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
	want = sizeof(*ev) + entry_bytes(ev) + (size_t)ev->status_n * 4;
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

/* An input array's capture: changed by bit @changed, unreadable again when its exit state says. */
static struct mpt_capture lift_input(uint8_t arg, uint8_t state, size_t bytes, uint8_t changed,
				     uint8_t exit_state)
{
	return mpt_capture_lifted(arg, state, bytes, changed,
				  changed && exit_state == MPT_ARRAY_FAULT);
}

/* @ev (checked) as the generic record at @c: its arguments and its table. */
static void lift_v5(const struct mpt_event *ev, struct mpt_call_event *c, size_t data)
{
	memset(c, 0, sizeof(*c));
	c->hdr = ev->hdr;
	c->size = sizeof(*c) + data;
	c->arg[0] = (uint64_t)(int64_t)ev->pid;
	c->arg[1] = ev->count;
	c->arg[2] = ev->pages;
	c->arg[3] = ev->nodes;
	c->arg[4] = ev->status;
	c->arg[5] = (uint64_t)(int64_t)ev->flags;
	c->ncaps = 4;
	c->kview = ev->kview;
	c->cap[0] = lift_input(2, ev->pages_state, (size_t)ev->pages_n * mpt_abi_ptr_bytes(ev->abi),
			       ev->changed & MPT_CHANGED_PAGES, ev->pages_exit_state);
	c->cap[1] = lift_input(3, ev->nodes_state, (size_t)ev->nodes_n * 4,
			       ev->changed & MPT_CHANGED_NODES, ev->nodes_exit_state);
	c->cap[2] = mpt_capture_lifted(MPT_CAP_KERNEL | 2, MPT_ARRAY_OK,
				       (size_t)ev->kernel_other_n * 8, false, false);
	c->cap[3] = mpt_capture_lifted(4, ev->status_state, (size_t)ev->status_n * 4, false, false);
}

int mpt_move_pages_v5_lift(const void *buf, size_t len, void *out, const unsigned char **data,
			   size_t *have, const char **why)
{
	const struct mpt_event *ev = buf;
	struct mpt_event v4;
	size_t hdr = sizeof(*ev);

	*data = ev->data;
	if (ev->version < MPT_EVENT_VERSION_HDR) {
		hdr = sizeof(struct mpt_event_v3);
		if (len < hdr) {
			*why = "record shorter than the event header";
			return -EINVAL;
		}
		*data = lift_v3(buf, &v4);
		ev = &v4;
		if (((const struct mpt_event_v3 *)buf)->size < hdr) {
			*why = "record length does not match its arrays";
			return -EINVAL;
		}
	} else if (len < hdr) {
		*why = "record shorter than the event header";
		return -EINVAL;
	}
	/* the lifted header is longer by the difference; the data is where it was */
	if (mpt_check_hdr(&ev->hdr, why) ||
	    check_arrays(ev, len - hdr + sizeof(*ev), mpt_abi_ptr_bytes(ev->abi), why))
		return -EINVAL;
	*have = len - hdr;
	lift_v5(ev, out, ev->size - sizeof(*ev));
	return 0;
}
