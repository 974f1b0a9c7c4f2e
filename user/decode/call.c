// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The generic record's decoder (struct mpt_call_event): every event whose
 * rows in events/ describe it whole. The arguments come as the record keeps
 * them; the table of captures is checked against the rows (each a node mask
 * read behind an argument of kind MPT_ARG_NODEMASK, in argument order).
 */
#include "decode/decode_events.h"

#include <errno.h>
#include <string.h>

#define MPT_MASK_ROW(idx, name, ctype, tags, kind, len, when, width, role)                         \
	+((kind) == MPT_ARG_NODEMASK && (when) != MPT_READ_NONE)
#define MPT_CAPTURES_CHECK(ID, T, name, nr64, nr32)                                                \
	_Static_assert(0 MPT_##ID##_ARGS(MPT_MASK_ROW) <= MPT_CAPTURES_MAX,                        \
		       "MPT_CAPTURES_MAX holds every event's masks");
MPT_EVENTS(MPT_CAPTURES_CHECK)
#undef MPT_CAPTURES_CHECK
#undef MPT_MASK_ROW

static size_t entry_bytes(const struct mpt_call_event *c)
{
	size_t n = 0;

	for (unsigned int i = 0; i < c->ncaps && i < MPT_CAPTURES_MAX; i++)
		n += c->cap[i].bytes;
	return n;
}

size_t mpt_call_entry_bytes(const struct mpt_rec_hdr *h)
{
	return entry_bytes((const struct mpt_call_event *)h);
}

size_t mpt_call_clear_return(struct mpt_rec_hdr *h, uint8_t ret_state)
{
	struct mpt_call_event *c = (void *)h;

	mpt_hdr_clear_return(h, ret_state);
	for (unsigned int i = 0; i < MPT_CAPTURES_MAX; i++)
		c->cap[i].changed = c->cap[i].exit_fault = 0;
	return sizeof(*c);
}

size_t mpt_call_record_max(uint32_t cap)
{
	(void)cap;
	return sizeof(struct mpt_call_event) + MPT_CALL_DATA_MAX;
}

/* The bytes of capture @c's copy made at the return: kept when it changed and was readable. */
static size_t exit_bytes(const struct mpt_capture *c)
{
	return c->changed && !c->exit_fault ? c->bytes : 0;
}

/* Does capture @c hold together, and is it the one the rows put at argument @arg? */
static bool capture_consistent(const struct mpt_call_event *ev, const struct mpt_capture *c,
			       unsigned int arg)
{
	bool data = c->state == MPT_ARRAY_OK;

	if (c->arg != arg || c->_pad ||
	    (c->state != MPT_ARRAY_OK && c->state != MPT_ARRAY_NULL && c->state != MPT_ARRAY_FAULT))
		return false;
	if (c->bytes > MPT_NODEMASK_BYTES_MAX || (!data && c->bytes))
		return false;
	/* a re-read happens only at a seen return, of a mask read whole at the entry */
	if (c->changed > 1 || c->exit_fault > c->changed || (c->changed && (!data || !c->bytes)))
		return false;
	return ev->ret_state == MPT_RET_SEEN || !c->changed;
}

/* Set up argument @i's view from capture @c: its entry data at @data, its exit copy at @exit. */
static void set_capture(struct mpt_arg_view *a, const struct mpt_capture *c,
			const unsigned char *data, const unsigned char *exit, uint64_t maxnode,
			uint8_t ret_state)
{
	a->bits = maxnode ? maxnode - 1 : 0;
	mpt_set_array(a, c->state, c->bytes, data, 0);
	a->truncated = c->state == MPT_ARRAY_OK && a->bits > (uint64_t)c->bytes * 8;
	a->reread = ret_state == MPT_RET_SEEN && c->state == MPT_ARRAY_OK && c->bytes;
	a->changed = a->reread && c->changed;
	a->exit_state = c->exit_fault ? MPT_ARRAY_FAULT : MPT_ARRAY_OK;
	a->exit_data = a->changed && !c->exit_fault ? exit : NULL;
}

/* The captures the rows call for, checked and laid out: 0, or -EINVAL with @why. */
static int parse_captures(const struct mpt_call_event *ev, struct mpt_view *v, const char **why)
{
	const struct mpt_event_desc *d = v->desc;
	const unsigned char *data = ev->data, *exit = ev->data + entry_bytes(ev);
	unsigned int n = 0;

	for (unsigned int i = 0; i < d->nargs; i++) {
		const struct mpt_arg_desc *ad = &d->args[i];
		const struct mpt_capture *c = &ev->cap[n];

		if (ad->kind != MPT_ARG_NODEMASK || ad->when == MPT_READ_NONE)
			continue;
		if (n >= ev->ncaps || !capture_consistent(ev, c, i)) {
			*why = "captured arrays disagree with the event's arguments";
			return -EINVAL;
		}
		set_capture(&v->arg[i], c, data, exit, v->arg[ad->len_arg].value, ev->ret_state);
		data += c->bytes;
		exit += exit_bytes(c);
		n++;
	}
	if (n != ev->ncaps) {
		*why = "captured arrays disagree with the event's arguments";
		return -EINVAL;
	}
	return 0;
}

int mpt_call_parse(const void *buf, size_t len, struct mpt_view *v, const char **why)
{
	const struct mpt_call_event *ev = buf;
	size_t size = sizeof(*ev);
	static const uint8_t zero[sizeof(ev->_pad)];

	if (len < sizeof(*ev)) {
		*why = "record shorter than the event header";
		return -EINVAL;
	}
	if (mpt_check_hdr(&ev->hdr, why))
		return -EINVAL;
	if (ev->ncaps > MPT_CAPTURES_MAX || memcmp(ev->_pad, zero, sizeof(zero))) {
		*why = "captured arrays disagree with the event's arguments";
		return -EINVAL;
	}
	for (unsigned int i = 0; i < ev->ncaps; i++)
		size += ev->cap[i].bytes + exit_bytes(&ev->cap[i]);
	if (ev->size != size || ev->size > len) {
		*why = "record length does not match its arrays";
		return -EINVAL;
	}
	v->call = ev;
	v->hdr = &ev->hdr;
	v->ptr_bytes = mpt_abi_ptr_bytes(ev->abi);
	for (unsigned int i = 0; i < v->desc->nargs; i++)
		v->arg[i].value = ev->arg[i];
	return parse_captures(ev, v, why);
}
