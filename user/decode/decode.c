// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "decode/decode_events.h"

#include <errno.h>
#include <string.h>

#include <stddef.h>

bool mpt_array_consistent(uint8_t state, uint16_t n)
{
	switch (state) {
	case MPT_ARRAY_OK:
	case MPT_ARRAY_PARTIAL:
	case MPT_ARRAY_AT_RETURN:
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

static const struct {
	const char *name, *desc;
} kviews[MPT_KVIEW_NR] = {
#define MPT_KVIEW_ROW(id, name, desc) [MPT_KVIEW_##id] = {name, desc},
    MPT_KVIEWS(MPT_KVIEW_ROW)
#undef MPT_KVIEW_ROW
};

const char *mpt_kview_name(uint8_t kview)
{
	return kview < MPT_KVIEW_NR ? kviews[kview].name : "?";
}

const char *mpt_kview_desc(uint8_t kview)
{
	return kview < MPT_KVIEW_NR ? kviews[kview].desc : "?";
}

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

static const struct {
	const char *name, *desc;
} origins[MPT_ORIGIN_NR] = {
#define MPT_ORIGIN_ROW(id, name, desc) [MPT_ORIGIN_##id] = {name, desc},
    MPT_ORIGINS(MPT_ORIGIN_ROW)
#undef MPT_ORIGIN_ROW
};

const char *mpt_origin_desc(uint8_t origin)
{
	return origin < MPT_ORIGIN_NR ? origins[origin].desc : "?";
}

/* ---- the events, from their descriptors ---- */

#define MPT_ARG_ROW(idx, name, ctype, tags, kind, len, when, width, role)                          \
	{#name, ctype, tags, kind, len, when, width, role},
#define MPT_FLAG_ROW(name, value) {#name, value},
#define MPT_DESC_TABLES(id, type, name, nr64, nr32)                                                \
	static const struct mpt_arg_desc id##_args[] = {MPT_##id##_ARGS(MPT_ARG_ROW)};             \
	static const struct mpt_flag_name id##_flags[] = {MPT_##id##_FLAGS(MPT_FLAG_ROW){0, 0}};
MPT_EVENTS(MPT_DESC_TABLES)
#define MPT_SUMMARY_TABLES(id, type, name) MPT_DESC_TABLES(id, type, name, 0, 0)
MPT_SUMMARIES(MPT_SUMMARY_TABLES)
#undef MPT_SUMMARY_TABLES
#undef MPT_DESC_TABLES

static const struct mpt_event_desc event_descs[] = {
#define MPT_DESC_ROW(id, type, name, nr64, nr32)                                                   \
	{type,                                                                                     \
	 #name,                                                                                    \
	 sizeof(id##_args) / sizeof(id##_args[0]),                                                 \
	 id##_args,                                                                                \
	 id##_flags,                                                                               \
	 sizeof(id##_flags) / sizeof(id##_flags[0]) - 1,                                           \
	 MPT_##id##_FLAGS_PREFIX},
    MPT_EVENTS(MPT_DESC_ROW)
#define MPT_SUMMARY_DESC_ROW(id, type, name) MPT_DESC_ROW(id, type, name, 0, 0)
	MPT_SUMMARIES(MPT_SUMMARY_DESC_ROW)
#undef MPT_SUMMARY_DESC_ROW
#undef MPT_DESC_ROW
};
/* The syscalls first, then the summaries. */
#define MPT_DESC_NR (sizeof(event_descs) / sizeof(event_descs[0]))
#undef MPT_ARG_ROW
#undef MPT_FLAG_ROW

#define MPT_SUMMARY_COUNT(id, type, name) +1
_Static_assert(sizeof(event_descs) / sizeof(event_descs[0]) ==
		   MPT_EVENT_NR MPT_SUMMARIES(MPT_SUMMARY_COUNT),
	       "MPT_EVENT_NR counts the events");
#undef MPT_SUMMARY_COUNT
#define MPT_NARGS_CHECK(id, type, name, nr64, nr32)                                                \
	_Static_assert(MPT_##id##_NARGS <= MPT_ARGS_MAX, "MPT_ARGS_MAX holds every event");
MPT_EVENTS(MPT_NARGS_CHECK)
#undef MPT_NARGS_CHECK

/* Each event's decoder (user/decode/events/NAME.c), in the order of event_descs. */
static const struct mpt_event_decoder {
	uint16_t version_min;
	int (*parse)(const void *buf, size_t len, struct mpt_view *v, const char **why);
	size_t (*entry_bytes)(const struct mpt_rec_hdr *h);
	size_t (*clear_return)(struct mpt_rec_hdr *h, uint8_t ret_state);
	size_t (*record_max)(uint32_t cap);
} decoders[] = {
#define MPT_DECODER_FNS_(dec)                                                                      \
	mpt_##dec##_parse, mpt_##dec##_entry_bytes, mpt_##dec##_clear_return, mpt_##dec##_record_max
#define MPT_DECODER_FNS(dec) MPT_DECODER_FNS_(dec)
#define MPT_DECODER_ROW(id, type, name, nr64, nr32)                                                \
	{MPT_##id##_VERSION_MIN, MPT_DECODER_FNS(MPT_##id##_DECODER)},
    MPT_EVENTS(MPT_DECODER_ROW)
#define MPT_SUMMARY_DECODER_ROW(id, type, name)                                                    \
	{MPT_##id##_VERSION_MIN, mpt_##name##_parse, NULL, NULL, NULL},
	MPT_SUMMARIES(MPT_SUMMARY_DECODER_ROW)
#undef MPT_SUMMARY_DECODER_ROW
#undef MPT_DECODER_ROW
#undef MPT_DECODER_FNS
#undef MPT_DECODER_FNS_
};
_Static_assert(sizeof(decoders) / sizeof(decoders[0]) == MPT_DESC_NR, "a decoder an event");

/*
 * Records of an older layout, lifted into the generic record to be read:
 * each of @type below @version (the first in today's layout), the first
 * that matches.
 */
static const struct mpt_lift {
	uint16_t type, version;
	int (*lift)(const void *buf, size_t len, void *out, const unsigned char **data,
		    size_t *have, const char **why);
} lifts[] = {
    {MPT_REC_MOVE_PAGES, MPT_MOVE_PAGES_VERSION_CALL, mpt_move_pages_v5_lift},
    {MPT_REC_MIGRATE_PAGES, MPT_MIGRATE_PAGES_VERSION_CALL, mpt_migrate_pages_v4_lift},
    {MPT_REC_MIGRATE_PAGES, MPT_CALL_VERSION_TABLE4, mpt_call_v5_lift},
    {MPT_REC_MBIND, MPT_CALL_VERSION_TABLE4, mpt_call_v5_lift},
    {MPT_REC_SET_MEMPOLICY, MPT_CALL_VERSION_TABLE4, mpt_call_v5_lift},
    {MPT_REC_SET_MEMPOLICY_HOME_NODE, MPT_CALL_VERSION_TABLE4, mpt_call_v5_lift},
};

_Static_assert(MPT_MOVE_PAGES_VERSION_CALL == MPT_CALL_VERSION_TABLE4,
	       "move_pages came to the generic record with its table of four");

static const struct mpt_lift *lift_of(const struct mpt_rec_hdr *h)
{
	for (unsigned int i = 0; i < sizeof(lifts) / sizeof(lifts[0]); i++)
		if (lifts[i].type == h->type && h->version < lifts[i].version)
			return &lifts[i];
	return NULL;
}

static const struct mpt_event_decoder *decoder_of(const struct mpt_event_desc *desc)
{
	return desc ? &decoders[desc - event_descs] : NULL;
}

/* An in-flight slot holds a record of any event with every array full. */
uint32_t mpt_slot_bytes(uint32_t cap)
{
	size_t max = 0;

	for (unsigned int i = 0; i < MPT_EVENT_NR; i++) {
		size_t n = decoders[i].record_max(cap);

		if (n > max)
			max = n;
	}
	return max;
}

size_t mpt_entry_bytes(const struct mpt_rec_hdr *h)
{
	const struct mpt_event_decoder *d = decoder_of(mpt_syscall_desc_of(h->type));

	return d ? d->entry_bytes(h) : 0;
}

void mpt_rec_clear_return(struct mpt_rec_hdr *h, uint8_t ret_state)
{
	const struct mpt_event_decoder *d = decoder_of(mpt_syscall_desc_of(h->type));

	if (!d)
		return;
	h->size = d->clear_return(h, ret_state);
	h->ret = 0;
	h->size += d->entry_bytes(h);
}

const struct mpt_event_desc *mpt_event_desc_at(unsigned int i)
{
	return i < MPT_EVENT_NR ? &event_descs[i] : NULL;
}

const struct mpt_event_desc *mpt_event_desc_of(uint16_t type)
{
	for (unsigned int i = 0; i < MPT_DESC_NR; i++)
		if (event_descs[i].type == type)
			return &event_descs[i];
	return NULL;
}

const struct mpt_event_desc *mpt_syscall_desc_of(uint16_t type)
{
	const struct mpt_event_desc *d = mpt_event_desc_of(type);

	return d && d < event_descs + MPT_EVENT_NR ? d : NULL;
}

const char *mpt_view_syscall(const struct mpt_view *v)
{
	const struct mpt_event_desc *d = v->flood ? mpt_syscall_desc_of(v->flood->event) : v->desc;

	return d ? d->name : "?";
}

int mpt_view_event_index(const struct mpt_view *v)
{
	const struct mpt_event_desc *d = v->flood ? mpt_syscall_desc_of(v->flood->event) : v->desc;

	return d ? (int)(d - event_descs) : -1;
}

const struct mpt_event_desc *mpt_event_desc_named(const char *name)
{
	for (unsigned int i = 0; i < MPT_EVENT_NR; i++)
		if (!strcmp(event_descs[i].name, name))
			return &event_descs[i];
	return NULL;
}

/* The header checks every event shares. */
int mpt_check_hdr(const struct mpt_rec_hdr *h, const char **why)
{
	if (h->abi >= MPT_ABI_NR || h->ret_state >= MPT_RET_NR || h->origin >= MPT_ORIGIN_NR ||
	    (h->origin != MPT_ORIGIN_ENTRY && h->ret_state != MPT_RET_SEEN)) {
		*why = "unknown ABI, return state or origin";
		return -EINVAL;
	}
	return 0;
}

/* A pointer argument's array: state, entries and where they are. */
void mpt_set_array(struct mpt_arg_view *a, uint8_t state, unsigned int n, const unsigned char *data,
		   uint64_t len)
{
	a->n = n;
	if (state == MPT_ARRAY_PARTIAL || state == MPT_ARRAY_AT_RETURN) {
		/* the data is what the caller's array held at the return, as for OK */
		a->partial = state == MPT_ARRAY_PARTIAL;
		a->at_return = state == MPT_ARRAY_AT_RETURN;
		state = MPT_ARRAY_OK;
	}
	a->state = state;
	a->data = state == MPT_ARRAY_OK ? data : NULL;
	a->truncated = state == MPT_ARRAY_OK && len > n;
}

int mpt_event_parse(const void *buf, size_t len, struct mpt_view *v, const char **why)
{
	const struct mpt_rec_hdr *h = buf;
	const struct mpt_event_decoder *d;
	const struct mpt_lift *lift;
	int err;

	*why = NULL;
	memset(v, 0, offsetof(struct mpt_view, lifted));
	/* type, version and size sit where they always did */
	if (len < offsetof(struct mpt_rec_hdr, ts_boot_ns)) {
		*why = "record shorter than the event header";
		return -EINVAL;
	}
	v->desc = mpt_event_desc_of(h->type);
	d = decoder_of(v->desc);
	if (!d) {
		*why = "unknown record type";
		return -EINVAL;
	}
	if (h->version < d->version_min || h->version > MPT_EVENT_VERSION) {
		*why = "unsupported event version";
		return -EINVAL;
	}
	lift = lift_of(h);
	if (lift) {
		const unsigned char *data;
		size_t have;

		err = lift->lift(buf, len, v->lifted, &data, &have, why);
		if (!err)
			err = mpt_call_parse_at((const void *)v->lifted, data, have, v, why);
	} else {
		err = d->parse(buf, len, v, why);
	}
	if (err)
		return err;
	v->raw = buf;
	/* the record as it was read (a lifted one's own size); the decoder may have said */
	if (!v->raw_size)
		v->raw_size = h->size;
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
	if (p->version < MPT_EVENT_VERSION_HDR || p->version > MPT_EVENT_VERSION ||
	    p->kind < MPT_PROC_FORK || p->kind > MPT_PROC_EXIT || p->path_len > MPT_PROC_PATH_MAX ||
	    p->argv_len > MPT_PROC_ARGV_MAX || p->size != sizeof(*p) + p->path_len + p->argv_len ||
	    p->size > len) {
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

/* The data of @v's array of role @role: the one the entry read, or the return's copy. */
static const unsigned char *role_data(const struct mpt_view *v, enum mpt_arg_role role, bool exit)
{
	const struct mpt_arg_view *a = mpt_view_role(v, role);

	return !a ? NULL : exit ? a->exit_data : a->data;
}

uint64_t mpt_view_page(const struct mpt_view *v, unsigned int i)
{
	return mpt_ptr_item(v, role_data(v, MPT_ROLE_PAGES, false), i);
}

uint64_t mpt_view_page_exit(const struct mpt_view *v, unsigned int i)
{
	return mpt_ptr_item(v, role_data(v, MPT_ROLE_PAGES, true), i);
}

uint64_t mpt_view_kernel_other(const struct mpt_view *v, unsigned int i)
{
	return mpt_u64_item(mpt_view_role(v, MPT_ROLE_PAGES)->kernel_other, i);
}

int32_t mpt_view_node_exit(const struct mpt_view *v, unsigned int i)
{
	return mpt_s32_item(role_data(v, MPT_ROLE_PAGE_NODES, true), i);
}

int32_t mpt_view_node(const struct mpt_view *v, unsigned int i)
{
	return mpt_s32_item(role_data(v, MPT_ROLE_PAGE_NODES, false), i);
}

int32_t mpt_view_status(const struct mpt_view *v, unsigned int i)
{
	return mpt_s32_item(role_data(v, MPT_ROLE_PAGE_STATUS, false), i);
}

uint64_t mpt_arg_bits(const struct mpt_view *v, unsigned int i)
{
	return v->desc->args[i].width == MPT_W_LONG ? v->arg[i].value : (uint32_t)v->arg[i].value;
}

/* The names of the bits of @left in @names (@n of them), '|' between; the bits left over. */
static uint64_t bit_names(struct strbuf *sb, const struct mpt_flag_name *names, unsigned int n,
			  uint64_t left, bool *first)
{
	for (unsigned int i = 0; i < n; i++) {
		if (!(left & names[i].value))
			continue;
		if (!*first)
			sb_putc(sb, '|');
		sb_puts(sb, names[i].name);
		left &= ~(uint64_t)names[i].value;
		*first = false;
	}
	return left;
}

void mpt_flags_str(struct strbuf *sb, const struct mpt_event_desc *d, uint64_t flags)
{
	uint64_t left = flags;
	bool first = true;

	if (!left) {
		sb_putc(sb, '0');
		return;
	}
	left = bit_names(sb, d->flags, d->nflags, left, &first);
	if (left) {
		if (!first)
			sb_putc(sb, '|');
		sb_hex(sb, left);
		/* strace's way of saying no bit of the value is a flag it knows */
		if (first && d->flags_prefix[0])
			sb_printf(sb, " /* %s??? */", d->flags_prefix);
	}
}

#define MPT_NAME_ROW(name, value) {#name, value},
static const struct mpt_flag_name mpol_modes[] = {MPT_MPOL_MODES(MPT_NAME_ROW)};
static const struct mpt_flag_name mpol_mode_flags[] = {MPT_MPOL_MODE_FLAGS(MPT_NAME_ROW)};
#undef MPT_NAME_ROW
#define MPT_NAMES_NR(a) (sizeof(a) / sizeof((a)[0]))

/* As strace shows a mode: its name, then its flags; what is unknown as a number. */
void mpt_mode_str(struct strbuf *sb, int32_t mode)
{
	uint32_t flags_mask = 0, left;
	bool first = true;

	for (unsigned int i = 0; i < MPT_NAMES_NR(mpol_mode_flags); i++)
		flags_mask |= mpol_mode_flags[i].value;
	left = (uint32_t)mode & flags_mask;
	if ((uint32_t)(mode & ~flags_mask) < MPT_NAMES_NR(mpol_modes)) {
		sb_puts(sb, mpol_modes[mode & ~flags_mask].name);
		first = false;
	} else {
		left = (uint32_t)mode;
	}
	if (!first && (left & flags_mask)) {
		left = (uint32_t)bit_names(sb, mpol_mode_flags, MPT_NAMES_NR(mpol_mode_flags), left,
					   &first);
	}
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
	case MPT_ARRAY_NO_RETURN:
		return "not read: the return was not seen";
	default:
		return "unknown";
	}
}

const char *mpt_ctr_verify_name(uint8_t verify)
{
	static const char *const names[] = {
#define MPT_CTR_VERIFY_NAME(id, v, name) [v] = name,
	    MPT_CTR_VERIFY(MPT_CTR_VERIFY_NAME)
#undef MPT_CTR_VERIFY_NAME
	};

	return verify < MPT_CTR_VERIFY_NR ? names[verify] : "?";
}

int mpt_desc_role_arg(const struct mpt_event_desc *d, enum mpt_arg_role role)
{
	for (unsigned int i = 0; d && i < d->nargs; i++)
		if (d->args[i].role == role)
			return (int)i;
	return -1;
}

const struct mpt_arg_view *mpt_view_role(const struct mpt_view *v, enum mpt_arg_role role)
{
	int i = v->flood ? -1 : mpt_desc_role_arg(v->desc, role);

	return i < 0 ? NULL : &v->arg[i];
}

uint64_t mpt_view_role_value(const struct mpt_view *v, enum mpt_arg_role role, uint64_t none)
{
	const struct mpt_arg_view *a = mpt_view_role(v, role);

	return a ? a->value : none;
}

int32_t mpt_view_target_pid(const struct mpt_view *v)
{
	return (int32_t)mpt_view_role_value(v, MPT_ROLE_TARGET_PID, 0);
}

bool mpt_view_other_pid(const struct mpt_view *v, int32_t *pid)
{
	const struct mpt_task *t = &v->hdr->task;

	*pid = mpt_view_target_pid(v);
	return *pid > 0 && (uint32_t)*pid != t->ns_tgid && (uint32_t)*pid != t->ns_tid;
}
