// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The generic record's decoder (struct mpt_call_event): every event, as its
 * rows in events/ describe it. The arguments come as the record keeps them;
 * the table of captures is checked against the table the rows call for
 * (include/mptrace_event.h says its order), each capture against what its
 * kind of array can hold. Version 5 records (a table of two) are lifted.
 */
#include "decode/decode_events.h"

#include <errno.h>
#include <string.h>

/* A row read behind its pointer at the entry, one at the return alone, the kernel's view. */
#define MPT_ENTRY_CAP(kind, when)                                                                  \
	(((kind) == MPT_ARG_NODEMASK || (kind) == MPT_ARG_PTR_ARRAY ||                             \
	  (kind) == MPT_ARG_INT_ARRAY) &&                                                          \
	 ((when) == MPT_READ_ENTRY || (when) == MPT_READ_BOTH))
#define MPT_EXIT_CAP(kind, when) ((kind) != MPT_ARG_NODEMASK && (when) == MPT_READ_EXIT)
#define MPT_KERNEL_CAP(kind, when) ((kind) == MPT_ARG_PTR_ARRAY && (when) == MPT_READ_BOTH)
#define MPT_CAP_ROW(idx, name, ctype, tags, kind, len, when, width, role)                          \
	+MPT_ENTRY_CAP(kind, when) + MPT_EXIT_CAP(kind, when) + MPT_KERNEL_CAP(kind, when)
#define MPT_CAPTURES_CHECK(ID, T, name, nr64, nr32)                                                \
	_Static_assert(0 MPT_##ID##_ARGS(MPT_CAP_ROW) <= MPT_CAPTURES_MAX,                         \
		       "MPT_CAPTURES_MAX holds every event's captures");
MPT_EVENTS(MPT_CAPTURES_CHECK)
#undef MPT_CAPTURES_CHECK
#undef MPT_CAP_ROW

/* The table @d's rows call for, in its order: each capture's arg. */
static unsigned int table_of(const struct mpt_event_desc *d, uint8_t arg[MPT_CAPTURES_MAX])
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < d->nargs; i++)
		if (MPT_ENTRY_CAP(d->args[i].kind, d->args[i].when))
			arg[n++] = i;
	for (unsigned int i = 0; i < d->nargs; i++)
		if (MPT_KERNEL_CAP(d->args[i].kind, d->args[i].when))
			arg[n++] = MPT_CAP_KERNEL | i;
	for (unsigned int i = 0; i < d->nargs; i++)
		if (MPT_EXIT_CAP(d->args[i].kind, d->args[i].when))
			arg[n++] = i;
	return n;
}

/*
 * table_of(), worked out once per kind of event and thread: the rows never
 * change, and records of different kinds come interleaved.
 */
static unsigned int table_for(const struct mpt_event_desc *d, uint8_t arg[MPT_CAPTURES_MAX])
{
	static __thread struct {
		bool set;
		unsigned int n;
		uint8_t arg[MPT_CAPTURES_MAX];
	} kept[MPT_EVENT_NR];

	for (unsigned int k = 0; k < MPT_EVENT_NR; k++) {
		if (mpt_event_desc_at(k) != d)
			continue;
		if (!kept[k].set) {
			kept[k].n = table_of(d, kept[k].arg);
			kept[k].set = true;
		}
		memcpy(arg, kept[k].arg, MPT_CAPTURES_MAX);
		return kept[k].n;
	}
	return table_of(d, arg);
}

/* Was capture @c read at the return alone, or by the kernel during the call? */
static bool after_entry(const struct mpt_event_desc *d, const struct mpt_capture *c)
{
	return (c->arg & MPT_CAP_KERNEL) ||
	       (c->arg < d->nargs && d->args[c->arg].when == MPT_READ_EXIT);
}

size_t mpt_call_entry_bytes(const struct mpt_rec_hdr *h)
{
	const struct mpt_call_event *c = (const void *)h;
	const struct mpt_event_desc *d = mpt_syscall_desc_of(h->type);
	size_t n = 0;

	for (unsigned int i = 0; d && i < c->ncaps && i < MPT_CAPTURES_MAX; i++)
		if (!after_entry(d, &c->cap[i]))
			n += c->cap[i].bytes;
	return n;
}

size_t mpt_call_clear_return(struct mpt_rec_hdr *h, uint8_t ret_state)
{
	struct mpt_call_event *c = (void *)h;
	const struct mpt_event_desc *d = mpt_syscall_desc_of(h->type);

	mpt_hdr_clear_return(h, ret_state);
	for (unsigned int i = 0; d && i < c->ncaps && i < MPT_CAPTURES_MAX; i++) {
		struct mpt_capture *cap = &c->cap[i];

		cap->changed = cap->exit_fault = 0;
		if (!after_entry(d, cap))
			continue;
		cap->bytes = 0;
		if (!(cap->arg & MPT_CAP_KERNEL))
			cap->state = MPT_ARRAY_NO_RETURN;
	}
	if (d && mpt_desc_role_arg(d, MPT_ROLE_PAGES) >= 0)
		c->kview = MPT_KVIEW_NO_RETURN;
	return sizeof(*c);
}

size_t mpt_call_record_max(uint32_t cap)
{
	size_t arrays = (size_t)cap * MPT_DATA_BYTES_PER_ENTRY;

	return sizeof(struct mpt_call_event) +
	       (arrays > MPT_CALL_DATA_MAX ? arrays : MPT_CALL_DATA_MAX);
}

/* The bytes of capture @c's copy made at the return: kept when it changed and was readable. */
static size_t exit_bytes(const struct mpt_capture *c)
{
	return c->changed && !c->exit_fault ? c->bytes : 0;
}

/* Bytes of one element of capture @c, of a row of kind @kind (a mask's: a byte). */
static unsigned int elem_bytes(const struct mpt_view *v, const struct mpt_capture *c,
			       enum mpt_arg_kind kind)
{
	if (c->arg & MPT_CAP_KERNEL)
		return 8;
	if (kind == MPT_ARG_PTR_ARRAY)
		return v->ptr_bytes;
	return kind == MPT_ARG_NODEMASK ? 1 : 4;
}

/* Do capture @c's state and length fit an array of its kind, read when its row says? */
static bool fits_kind(const struct mpt_capture *c, const struct mpt_arg_desc *ad, unsigned int elem)
{
	bool data = c->state == MPT_ARRAY_OK;

	if (c->bytes % elem)
		return false;
	if (c->arg & MPT_CAP_KERNEL)
		return data && c->bytes / elem <= MPT_ARRAY_CAP_MAX;
	if (ad->kind == MPT_ARG_NODEMASK)
		return (data || c->state == MPT_ARRAY_NULL || c->state == MPT_ARRAY_FAULT) &&
		       c->bytes <= MPT_NODEMASK_BYTES_MAX && (data || !c->bytes);
	return c->bytes / elem <= MPT_ARRAY_CAP_MAX &&
	       mpt_array_consistent(c->state, (uint16_t)(c->bytes / elem));
}

/*
 * Does capture @c hold together, and is it the one the rows put at @arg?
 * A change is told only of an array read at the entry and again at a seen
 * return; what the return or the kernel added, only at a seen return.
 */
static bool capture_consistent(const struct mpt_call_event *ev, const struct mpt_view *v,
			       const struct mpt_capture *c, uint8_t arg)
{
	const struct mpt_arg_desc *ad = &v->desc->args[arg & ~MPT_CAP_KERNEL];
	unsigned int elem = elem_bytes(v, c, ad->kind);
	bool seen = ev->ret_state == MPT_RET_SEEN, both = ad->when == MPT_READ_BOTH;

	if (c->arg != arg || !fits_kind(c, ad, elem))
		return false;
	if (c->changed > 1 || c->exit_fault > c->changed ||
	    (c->changed && (!both || (c->arg & MPT_CAP_KERNEL) || c->state != MPT_ARRAY_OK ||
			    !c->bytes || !seen)))
		return false;
	if (c->arg & MPT_CAP_KERNEL)
		return seen || !c->bytes;
	if (ad->when == MPT_READ_EXIT && !seen && c->state != MPT_ARRAY_NO_RETURN)
		return false;
	/* an array holds at most as many entries as its length argument asks */
	return ad->kind == MPT_ARG_NODEMASK || c->bytes / elem <= v->arg[ad->len_arg].value;
}

/* Set up argument @i's view from capture @c: its entry data at @data, its exit copy at @exit. */
static void set_capture(const struct mpt_call_event *ev, struct mpt_view *v,
			const struct mpt_capture *c, const unsigned char *data,
			const unsigned char *exit)
{
	const struct mpt_arg_desc *ad = &v->desc->args[c->arg & ~MPT_CAP_KERNEL];
	struct mpt_arg_view *a = &v->arg[c->arg & ~MPT_CAP_KERNEL];
	unsigned int elem = elem_bytes(v, c, ad->kind);
	uint64_t len = v->arg[ad->len_arg].value;

	if (c->arg & MPT_CAP_KERNEL) {
		a->kernel_other_n = c->bytes / elem;
		a->kernel_other = data;
		return;
	}
	if (ad->kind == MPT_ARG_NODEMASK) {
		a->bits = len ? len - 1 : 0;
		mpt_set_array(a, c->state, c->bytes, data, 0);
		a->truncated = c->state == MPT_ARRAY_OK && a->bits > (uint64_t)c->bytes * 8;
	} else {
		mpt_set_array(a, c->state, c->bytes / elem, data, len);
	}
	if (ad->kind == MPT_ARG_PTR_ARRAY)
		a->kview = ev->kview;
	if (ad->when != MPT_READ_BOTH)
		return;
	a->reread = ev->ret_state == MPT_RET_SEEN && c->state == MPT_ARRAY_OK && c->bytes;
	a->changed = a->reread && c->changed;
	a->exit_state = c->exit_fault ? MPT_ARRAY_FAULT : MPT_ARRAY_OK;
	a->exit_data = a->changed && !c->exit_fault ? exit : NULL;
}

/* The captures the rows call for, checked and laid out: 0, or -EINVAL with @why. */
static int parse_captures(const struct mpt_call_event *ev, const unsigned char *data,
			  struct mpt_view *v, const char **why)
{
	const unsigned char *exit = data;
	uint8_t want[MPT_CAPTURES_MAX];
	unsigned int n = table_for(v->desc, want);

	if (ev->ncaps != n || ev->kview >= MPT_KVIEW_NR) {
		*why = "captured arrays disagree with the event's arguments";
		return -EINVAL;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (!capture_consistent(ev, v, &ev->cap[i], want[i])) {
			*why = "captured arrays disagree with the event's arguments";
			return -EINVAL;
		}
		exit += ev->cap[i].bytes;
	}
	for (unsigned int i = 0; i < n; i++) {
		set_capture(ev, v, &ev->cap[i], data, exit);
		data += ev->cap[i].bytes;
		exit += exit_bytes(&ev->cap[i]);
	}
	return 0;
}

int mpt_call_parse_at(const struct mpt_call_event *ev, const unsigned char *data, size_t have,
		      struct mpt_view *v, const char **why)
{
	static const uint8_t zero[sizeof(ev->_pad)];
	size_t size = sizeof(*ev);

	if (mpt_check_hdr(&ev->hdr, why))
		return -EINVAL;
	if (ev->ncaps > MPT_CAPTURES_MAX || memcmp(ev->_pad, zero, sizeof(zero))) {
		*why = "captured arrays disagree with the event's arguments";
		return -EINVAL;
	}
	for (unsigned int i = 0; i < ev->ncaps; i++)
		size += (size_t)ev->cap[i].bytes + exit_bytes(&ev->cap[i]);
	if (ev->size != size || size - sizeof(*ev) > have) {
		*why = "record length does not match its arrays";
		return -EINVAL;
	}
	v->call = ev;
	v->hdr = &ev->hdr;
	v->ptr_bytes = mpt_abi_ptr_bytes(ev->abi);
	for (unsigned int i = 0; i < v->desc->nargs; i++)
		v->arg[i].value = ev->arg[i];
	return parse_captures(ev, data, v, why);
}

int mpt_call_parse(const void *buf, size_t len, struct mpt_view *v, const char **why)
{
	const struct mpt_call_event *ev = buf;

	if (len < sizeof(*ev)) {
		*why = "record shorter than the event header";
		return -EINVAL;
	}
	return mpt_call_parse_at(ev, ev->data, len - sizeof(*ev), v, why);
}

/*
 * A generic record of version 5, whose table had two captures (of 16-bit
 * lengths, 16 bits of padding after each): its header in today's layout at
 * @out; its data stays where it is.
 */
int mpt_call_v5_lift(const void *buf, size_t len, void *out, const unsigned char **data,
		     size_t *have, const char **why)
{
	const size_t v5_size =
	    offsetof(struct mpt_call_event, cap) + 2 * sizeof(struct mpt_capture);
	const struct mpt_call_event *old = buf;
	struct mpt_call_event *c = out;

	if (len < v5_size) {
		*why = "record shorter than the event header";
		return -EINVAL;
	}
	memset(c, 0, sizeof(*c));
	memcpy(c, buf, v5_size);
	if (c->ncaps > 2 || c->kview || old->size < v5_size) {
		*why = "captured arrays disagree with the event's arguments";
		return -EINVAL;
	}
	c->size = old->size - v5_size + sizeof(*c);
	*data = (const unsigned char *)buf + v5_size;
	*have = len - v5_size;
	return 0;
}
