// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "decode.h"

#include <errno.h>
#include <string.h>

#include <stddef.h>

static bool array_consistent(uint8_t state, uint16_t n)
{
	switch (state) {
	case MPT_ARRAY_OK:
		return n <= MPT_ARRAY_CAP_MAX;
	case MPT_ARRAY_NULL:
	case MPT_ARRAY_FAULT:
	case MPT_ARRAY_NOT_FILLED:
	case MPT_ARRAY_NO_RETURN:
		return n == 0;
	default:
		return false;
	}
}

static const struct {
	const char *name;
	unsigned int ptr_bytes;
} abis[MPT_ABI_NR] = {
#define MPT_ABI_ROW(id, name, ptr) [MPT_ABI_##id] = {name, ptr},
    MPT_ABIS(MPT_ABI_ROW)
#undef MPT_ABI_ROW
};

unsigned int mpt_abi_ptr_bytes(uint8_t abi)
{
	return abi < MPT_ABI_NR ? abis[abi].ptr_bytes : 8;
}

const char *mpt_abi_name(uint8_t abi)
{
	return abi < MPT_ABI_NR ? abis[abi].name : "?";
}

static const struct {
	const char *name, *desc;
} ret_states[MPT_RET_NR] = {
#define MPT_RET_ROW(id, name, desc) [MPT_RET_##id] = {name, desc},
    MPT_RET_STATES(MPT_RET_ROW)
#undef MPT_RET_ROW
};

const char *mpt_ret_state_name(uint8_t ret_state)
{
	return ret_state < MPT_RET_NR ? ret_states[ret_state].name : "?";
}

const char *mpt_ret_state_desc(uint8_t ret_state)
{
	return ret_state < MPT_RET_NR ? ret_states[ret_state].desc : "?";
}

uint32_t mpt_slot_bytes(uint32_t cap)
{
	return MPT_SLOT_BYTES(cap);
}

/* ---- the events, from their descriptors ---- */

#define MPT_ARG_ROW(idx, name, ctype, tags, kind, len, when) {#name, ctype, tags, kind, len, when},
#define MPT_FLAG_ROW(name, value) {#name, value},
#define MPT_DESC_TABLES(id, type, name, nr64, nr32)                                                \
	static const struct mpt_arg_desc id##_args[] = {MPT_##id##_ARGS(MPT_ARG_ROW)};             \
	static const struct mpt_flag_name id##_flags[] = {MPT_##id##_FLAGS(MPT_FLAG_ROW){0, 0}};
MPT_EVENTS(MPT_DESC_TABLES)
#undef MPT_DESC_TABLES

static const struct mpt_event_desc event_descs[] = {
#define MPT_DESC_ROW(id, type, name, nr64, nr32)                                                   \
	{type,                                                                                     \
	 name,                                                                                     \
	 sizeof(id##_args) / sizeof(id##_args[0]),                                                 \
	 id##_args,                                                                                \
	 id##_flags,                                                                               \
	 sizeof(id##_flags) / sizeof(id##_flags[0]) - 1,                                           \
	 MPT_##id##_FLAGS_PREFIX},
    MPT_EVENTS(MPT_DESC_ROW)
#undef MPT_DESC_ROW
};
#undef MPT_ARG_ROW
#undef MPT_FLAG_ROW

_Static_assert(sizeof(event_descs) / sizeof(event_descs[0]) == MPT_EVENT_NR,
	       "MPT_EVENT_NR counts the events");
#define MPT_NARGS_CHECK(id, type, name, nr64, nr32)                                                \
	_Static_assert(MPT_##id##_NARGS <= MPT_ARGS_MAX, "MPT_ARGS_MAX holds every event");
MPT_EVENTS(MPT_NARGS_CHECK)
#undef MPT_NARGS_CHECK

const struct mpt_event_desc *mpt_event_desc_at(unsigned int i)
{
	return i < MPT_EVENT_NR ? &event_descs[i] : NULL;
}

const struct mpt_event_desc *mpt_event_desc_of(uint16_t type)
{
	for (unsigned int i = 0; i < MPT_EVENT_NR; i++)
		if (event_descs[i].type == type)
			return &event_descs[i];
	return NULL;
}

const struct mpt_event_desc *mpt_event_desc_named(const char *name)
{
	for (unsigned int i = 0; i < MPT_EVENT_NR; i++)
		if (!strcmp(event_descs[i].name, name))
			return &event_descs[i];
	return NULL;
}

size_t mpt_entry_bytes(const struct mpt_rec_hdr *h)
{
	if (h->type == MPT_REC_MIGRATE_PAGES) {
		const struct mpt_migrate_event *mg = (const void *)h;

		return (size_t)mg->old_bytes + mg->new_bytes;
	}
	const struct mpt_event *ev = (const void *)h;

	return (size_t)ev->pages_n * mpt_abi_ptr_bytes(ev->abi) + (size_t)ev->nodes_n * 4;
}

void mpt_rec_clear_return(struct mpt_rec_hdr *h, uint8_t ret_state)
{
	size_t head = sizeof(struct mpt_migrate_event);

	if (h->type == MPT_REC_MOVE_PAGES) {
		mpt_event_clear_return((struct mpt_event *)h, ret_state);
		head = sizeof(struct mpt_event);
	} else {
		mpt_hdr_clear_return(h, ret_state);
	}
	h->ret = 0;
	h->size = head + mpt_entry_bytes(h);
}

/* Is what the return found for one array consistent with its entry copy? */
static bool exit_consistent(uint8_t changed, uint8_t entry_state, uint8_t exit_state)
{
	if (!changed)
		return exit_state == MPT_ARRAY_OK;
	return entry_state == MPT_ARRAY_OK &&
	       (exit_state == MPT_ARRAY_OK || exit_state == MPT_ARRAY_FAULT);
}

/* The header checks every event shares. */
static int check_hdr(const struct mpt_rec_hdr *h, const char **why)
{
	if (h->abi >= MPT_ABI_NR || h->ret_state >= MPT_RET_NR) {
		*why = "unknown ABI or return state";
		return -EINVAL;
	}
	return 0;
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

/* A pointer argument's array: state, entries and where they are. */
static void set_array(struct mpt_arg_view *a, uint8_t state, unsigned int n,
		      const unsigned char *data, uint64_t len)
{
	a->state = state;
	a->n = n;
	a->data = state == MPT_ARRAY_OK ? data : NULL;
	a->truncated = state == MPT_ARRAY_OK && len > n;
}

static int parse_move_pages(const void *buf, size_t len, struct mpt_view *v, const char **why)
{
	const struct mpt_event *ev = buf;
	const unsigned char *data = ev->data;
	size_t want, have = len;

	if (ev->version < MPT_EVENT_VERSION) {
		if (len < sizeof(struct mpt_event_v3)) {
			*why = "record shorter than the event header";
			return -EINVAL;
		}
		data = lift_v3(buf, v);
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
	if (check_hdr(&ev->hdr, why))
		return -EINVAL;
	if (ev->changed & ~(MPT_CHANGED_PAGES | MPT_CHANGED_NODES)) {
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
	if (!array_consistent(ev->pages_state, ev->pages_n) ||
	    !array_consistent(ev->nodes_state, ev->nodes_n) ||
	    !array_consistent(ev->status_state, ev->status_n)) {
		*why = "array state and length disagree";
		return -EINVAL;
	}
	/* Each array holds at most min(count, cap) entries. */
	if (ev->pages_n > ev->count || ev->nodes_n > ev->count || ev->status_n > ev->count) {
		*why = "array longer than count";
		return -EINVAL;
	}
	v->ptr_bytes = mpt_abi_ptr_bytes(ev->abi);
	want = sizeof(*ev) + mpt_entry_bytes(&ev->hdr) + (size_t)ev->status_n * 4;
	if ((ev->changed & MPT_CHANGED_PAGES) && ev->pages_exit_state == MPT_ARRAY_OK)
		want += (size_t)ev->pages_n * v->ptr_bytes;
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
	v->ev = ev;
	v->hdr = &ev->hdr;
	v->pages = data;
	v->nodes = v->pages + (size_t)ev->pages_n * v->ptr_bytes;
	v->kernel_other = v->nodes + (size_t)ev->nodes_n * 4;
	v->status = v->kernel_other + (size_t)ev->kernel_other_n * 8;
	v->pages_exit = v->status + (size_t)ev->status_n * 4;
	v->nodes_exit = v->pages_exit;
	if ((ev->changed & MPT_CHANGED_PAGES) && ev->pages_exit_state == MPT_ARRAY_OK)
		v->nodes_exit += (size_t)ev->pages_n * v->ptr_bytes;
	else
		v->pages_exit = NULL;
	if (!((ev->changed & MPT_CHANGED_NODES) && ev->nodes_exit_state == MPT_ARRAY_OK))
		v->nodes_exit = NULL;

	/* the arguments, as events/move_pages.h lists them */
	v->arg[0].value = (uint64_t)(int64_t)ev->pid;
	v->arg[1].value = ev->count;
	v->arg[2].value = ev->pages;
	v->arg[3].value = ev->nodes;
	v->arg[4].value = ev->status;
	v->arg[5].value = (uint64_t)(int64_t)ev->flags;
	set_array(&v->arg[2], ev->pages_state, ev->pages_n, v->pages, ev->count);
	set_array(&v->arg[3], ev->nodes_state, ev->nodes_n, v->nodes, ev->count);
	set_array(&v->arg[4], ev->status_state, ev->status_n, v->status, ev->count);
	for (int i = 2; i <= 3; i++) {
		struct mpt_arg_view *a = &v->arg[i];
		uint8_t bit = i == 2 ? MPT_CHANGED_PAGES : MPT_CHANGED_NODES;

		a->reread = ev->ret_state == MPT_RET_SEEN && a->state == MPT_ARRAY_OK && a->n;
		a->changed = a->reread && (ev->changed & bit);
		a->exit_state = i == 2 ? ev->pages_exit_state : ev->nodes_exit_state;
		a->exit_data = i == 2 ? v->pages_exit : v->nodes_exit;
	}
	v->arg[2].kernel_other_n = ev->kernel_other_n;
	v->arg[2].kernel_other = v->kernel_other;
	return 0;
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
	set_array(a, state, bytes, data, 0);
	a->truncated = state == MPT_ARRAY_OK && a->bits > (uint64_t)bytes * 8;
}

static int parse_migrate_pages(const void *buf, size_t len, struct mpt_view *v, const char **why)
{
	const struct mpt_migrate_event *mg = buf;

	if (len < sizeof(*mg)) {
		*why = "record shorter than the event header";
		return -EINVAL;
	}
	if (check_hdr(&mg->hdr, why))
		return -EINVAL;
	if (!mask_consistent(mg->old_state, mg->old_bytes) ||
	    !mask_consistent(mg->new_state, mg->new_bytes)) {
		*why = "array state and length disagree";
		return -EINVAL;
	}
	if (mg->size != sizeof(*mg) + mpt_entry_bytes(&mg->hdr) || mg->size > len) {
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
	return 0;
}

int mpt_event_parse(const void *buf, size_t len, struct mpt_view *v, const char **why)
{
	const struct mpt_rec_hdr *h = buf;
	int err;

	*why = NULL;
	memset(v, 0, offsetof(struct mpt_view, lifted));
	/* type, version and size sit where they always did */
	if (len < offsetof(struct mpt_rec_hdr, ts_boot_ns)) {
		*why = "record shorter than the event header";
		return -EINVAL;
	}
	v->desc = mpt_event_desc_of(h->type);
	if (!v->desc) {
		*why = "unknown record type";
		return -EINVAL;
	}
	if (h->version < MPT_EVENT_VERSION_MIN || h->version > MPT_EVENT_VERSION ||
	    (h->type != MPT_REC_MOVE_PAGES && h->version < MPT_EVENT_VERSION)) {
		*why = "unsupported event version";
		return -EINVAL;
	}
	if (h->type == MPT_REC_MOVE_PAGES)
		err = parse_move_pages(buf, len, v, why);
	else
		err = parse_migrate_pages(buf, len, v, why);
	if (err)
		return err;
	v->raw = buf;
	v->raw_size =
	    h->version < MPT_EVENT_VERSION ? ((const struct mpt_event_v3 *)buf)->size : h->size;
	return 0;
}

int mpt_proc_parse(const void *buf, size_t len, const char **why)
{
	const struct mpt_proc_event *p = buf;

	*why = NULL;
	if (len < sizeof(*p) || p->type != MPT_REC_PROCESS) {
		*why = "not a process record";
		return -EINVAL;
	}
	if (p->version != MPT_EVENT_VERSION || p->kind < MPT_PROC_FORK || p->kind > MPT_PROC_EXIT ||
	    p->path_len > MPT_PROC_PATH_MAX || p->argv_len > MPT_PROC_ARGV_MAX ||
	    p->size != sizeof(*p) + p->path_len + p->argv_len || p->size > len) {
		*why = "process record length or kind does not hold";
		return -EINVAL;
	}
	return 0;
}

bool mpt_mask_has(const struct mpt_arg_view *a, uint64_t node)
{
	return node < mpt_mask_span(a) && (a->data[node / 8] >> (node % 8) & 1);
}

uint64_t mpt_mask_span(const struct mpt_arg_view *a)
{
	uint64_t captured = (uint64_t)a->n * 8;

	if (a->state != MPT_ARRAY_OK)
		return 0;
	return a->bits < captured ? a->bits : captured;
}

uint64_t mpt_ptr_item(const struct mpt_view *v, const unsigned char *base, unsigned int i)
{
	uint64_t x;
	uint32_t x32;

	if (v->ptr_bytes == 4) {
		/* a compat pointer is zero-extended (compat_ptr()) */
		memcpy(&x32, base + (size_t)i * 4, sizeof(x32));
		return x32;
	}
	memcpy(&x, base + (size_t)i * 8, sizeof(x));
	return x;
}

int32_t mpt_s32_item(const unsigned char *base, unsigned int i)
{
	int32_t x;

	memcpy(&x, base + (size_t)i * 4, sizeof(x));
	return x;
}

uint64_t mpt_u64_item(const unsigned char *base, unsigned int i)
{
	uint64_t x;

	memcpy(&x, base + (size_t)i * 8, sizeof(x));
	return x;
}

uint64_t mpt_view_page(const struct mpt_view *v, unsigned int i)
{
	return mpt_ptr_item(v, v->pages, i);
}

uint64_t mpt_view_page_exit(const struct mpt_view *v, unsigned int i)
{
	return mpt_ptr_item(v, v->pages_exit, i);
}

uint64_t mpt_view_kernel_other(const struct mpt_view *v, unsigned int i)
{
	return mpt_u64_item(v->kernel_other, i);
}

int32_t mpt_view_node_exit(const struct mpt_view *v, unsigned int i)
{
	return mpt_s32_item(v->nodes_exit, i);
}

int32_t mpt_view_node(const struct mpt_view *v, unsigned int i)
{
	return mpt_s32_item(v->nodes, i);
}

int32_t mpt_view_status(const struct mpt_view *v, unsigned int i)
{
	return mpt_s32_item(v->status, i);
}

void mpt_flags_str(struct strbuf *sb, const struct mpt_event_desc *d, int32_t flags)
{
	uint32_t left = (uint32_t)flags;
	bool first = true;

	if (!left) {
		sb_putc(sb, '0');
		return;
	}
	for (unsigned int i = 0; i < d->nflags; i++) {
		if (!(left & d->flags[i].value))
			continue;
		if (!first)
			sb_putc(sb, '|');
		sb_puts(sb, d->flags[i].name);
		left &= ~d->flags[i].value;
		first = false;
	}
	if (left) {
		if (!first)
			sb_putc(sb, '|');
		sb_hex(sb, left);
		/* strace's way of saying no bit of the value is a flag it knows */
		if (first)
			sb_printf(sb, " /* %s??? */", d->flags_prefix);
	}
}

const char *mpt_errno_name(int err)
{
	/* glibc >= 2.32; covers every errno the kernel can return here. */
	return strerrorname_np(err);
}

const char *mpt_errno_desc(int err)
{
	const char *d = strerrordesc_np(err);

	return d ? d : "Unknown error";
}

const char *mpt_array_state_reason(uint8_t state)
{
	switch (state) {
	case MPT_ARRAY_OK:
		return NULL;
	case MPT_ARRAY_NULL:
		return "NULL";
	case MPT_ARRAY_FAULT:
		return "EFAULT";
	case MPT_ARRAY_NOT_FILLED:
		return "not filled: the call failed";
	case MPT_ARRAY_NO_RETURN:
		return "not read: the return was not seen";
	default:
		return "unknown";
	}
}
