// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "decode.h"

#include <errno.h>
#include <string.h>

#include "move_pages.h"

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
	return sizeof(struct mpt_event) + cap * MPT_DATA_BYTES_PER_ENTRY;
}

size_t mpt_entry_bytes(const struct mpt_event *ev)
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

int mpt_event_parse(const void *buf, size_t len, struct mpt_view *v, const char **why)
{
	const struct mpt_event *ev = buf;
	size_t want;

	*why = NULL;
	if (len < sizeof(*ev)) {
		*why = "record shorter than the event header";
		return -EINVAL;
	}
	if (ev->type != MPT_REC_MOVE_PAGES) {
		*why = "unknown record type";
		return -EINVAL;
	}
	if (ev->version < MPT_EVENT_VERSION_MIN || ev->version > MPT_EVENT_VERSION) {
		*why = "unsupported event version";
		return -EINVAL;
	}
	if (ev->abi >= MPT_ABI_NR || ev->ret_state >= MPT_RET_NR ||
	    (ev->changed & ~(MPT_CHANGED_PAGES | MPT_CHANGED_NODES))) {
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
	want = sizeof(*ev) + mpt_entry_bytes(ev) + (size_t)ev->status_n * 4;
	if ((ev->changed & MPT_CHANGED_PAGES) && ev->pages_exit_state == MPT_ARRAY_OK)
		want += (size_t)ev->pages_n * v->ptr_bytes;
	if ((ev->changed & MPT_CHANGED_NODES) && ev->nodes_exit_state == MPT_ARRAY_OK)
		want += (size_t)ev->nodes_n * 4;
	if (ev->kernel_other_n > MPT_ARRAY_CAP_MAX) {
		*why = "more migrated pages than an array can hold";
		return -EINVAL;
	}
	want += (size_t)ev->kernel_other_n * 8;
	if (ev->size != want || want > len) {
		*why = "record length does not match its arrays";
		return -EINVAL;
	}
	v->ev = ev;
	v->enrich = NULL;
	v->pages = ev->data;
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
	return 0;
}

static uint64_t ptr_at(const struct mpt_view *v, const unsigned char *base, unsigned int i)
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

uint64_t mpt_view_page(const struct mpt_view *v, unsigned int i)
{
	return ptr_at(v, v->pages, i);
}

uint64_t mpt_view_page_exit(const struct mpt_view *v, unsigned int i)
{
	return ptr_at(v, v->pages_exit, i);
}

uint64_t mpt_view_kernel_other(const struct mpt_view *v, unsigned int i)
{
	uint64_t x;

	memcpy(&x, v->kernel_other + (size_t)i * 8, sizeof(x));
	return x;
}

int32_t mpt_view_node_exit(const struct mpt_view *v, unsigned int i)
{
	int32_t x;

	memcpy(&x, v->nodes_exit + (size_t)i * 4, sizeof(x));
	return x;
}

int32_t mpt_view_node(const struct mpt_view *v, unsigned int i)
{
	int32_t x;

	memcpy(&x, v->nodes + (size_t)i * 4, sizeof(x));
	return x;
}

int32_t mpt_view_status(const struct mpt_view *v, unsigned int i)
{
	int32_t x;

	memcpy(&x, v->status + (size_t)i * 4, sizeof(x));
	return x;
}

bool mpt_array_truncated(const struct mpt_view *v, unsigned int captured)
{
	return v->ev->count > captured;
}

void mpt_flags_str(struct strbuf *sb, int32_t flags)
{
	uint32_t left = (uint32_t)flags;
	bool first = true;

	if (!left) {
		sb_putc(sb, '0');
		return;
	}
#define MPT_FLAG_NAME(name, value)                                                                 \
	if (left & (value)) {                                                                      \
		if (!first)                                                                        \
			sb_putc(sb, '|');                                                          \
		sb_puts(sb, #name);                                                                \
		left &= ~(uint32_t)(value);                                                        \
		first = false;                                                                     \
	}
	MPT_MPOL_MF_FLAGS(MPT_FLAG_NAME)
#undef MPT_FLAG_NAME
	if (left) {
		if (!first)
			sb_putc(sb, '|');
		sb_hex(sb, left);
		/* strace's way of saying no bit of the value is a flag it knows */
		if (first)
			sb_puts(sb, " /* MPOL_??? */");
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
