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
		return n == 0;
	default:
		return false;
	}
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
	if (ev->version != MPT_EVENT_VERSION) {
		*why = "unsupported event version";
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
	want = sizeof(*ev) + (size_t)ev->pages_n * 8 + (size_t)ev->nodes_n * 4 +
	       (size_t)ev->status_n * 4;
	if (ev->size != want || want > len) {
		*why = "record length does not match its arrays";
		return -EINVAL;
	}
	v->ev = ev;
	v->enrich = NULL;
	v->pages = ev->data;
	v->nodes = v->pages + (size_t)ev->pages_n * 8;
	v->status = v->nodes + (size_t)ev->nodes_n * 4;
	return 0;
}

uint64_t mpt_view_page(const struct mpt_view *v, unsigned int i)
{
	uint64_t x;

	memcpy(&x, v->pages + (size_t)i * 8, sizeof(x));
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
	default:
		return "unknown";
	}
}
