/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel side of every event in the generic record (struct
 * mpt_call_event), expanded from its rows in events/ at compile time:
 * straight-line code for each event, no loop over a type at run time. What
 * it reads behind a pointer here: node masks (MPT_ARG_NODEMASK), at the
 * entry, where the kernel copies them, and again at the return (at most
 * CALL_MASKS of them). move_pages' arrays are its own hook's to read
 * (bpf/events/move_pages.bpf.h), into the same record.
 *
 * An event NAME in this record is one line in bpf/events/NAME.bpf.h:
 * MPT_CALL_EVENT(NAME, ID).
 */

#define CALL_MASKS 2
_Static_assert(MPT_CALL_DATA_MAX == 2 * CALL_MASKS * MPT_NODEMASK_BYTES_MAX,
	       "a record of masks holds each twice");

/*
 * The header and the event's @nargs arguments; the slots past them zero, not
 * what the registers held (a kprobe sees all six, whatever the call takes).
 */
static __always_inline void call_fill(struct mpt_call_event *ev, const struct call_args *a,
				      __u64 pid_tgid, int nargs)
{
	fill_hdr(&ev->hdr, a, pid_tgid, sizeof(*ev));
	for (int i = 0; i < 6; i++)
		ev->arg[i] = i < nargs ? a->arg[i] : 0;
	ev->ncaps = 0;
	ev->kview = 0;
	__builtin_memset(ev->_pad, 0, sizeof(ev->_pad));
	__builtin_memset(ev->cap, 0, sizeof(ev->cap));
}

/*
 * Read the node mask behind argument @idx (@user) of @maxnode bits into
 * capture @n, after the @off data bytes the captures before it took; the
 * data bytes after it.
 */
static __always_inline __u64 call_mask(struct mpt_call_event *ev, __u32 n, __u64 off, __u8 idx,
				       __u64 maxnode, __u64 user)
{
	struct mpt_capture *c = &ev->cap[n & (MPT_CAPTURES_MAX - 1)];
	__u64 bytes = mask_bytes(ev->abi, maxnode);

	off = clamp_const(off, (CALL_MASKS - 1) * MPT_NODEMASK_BYTES_MAX);
	bytes = read_mask(ev->data + off, user, bytes, &c->state);
	c->arg = idx;
	c->bytes = bytes;
	return off + bytes;
}

/* One row's capture: a node mask behind the argument, its length from another. */
#define MPT_CALL_CAPTURE_ROW(idx, name, ctype, tags, kind, len, when, width, role)                 \
	if (kind == MPT_ARG_NODEMASK && when != MPT_READ_NONE && n < CALL_MASKS) {                 \
		off = call_mask(ev, n, off, idx, a->arg[(len) < 0 ? 0 : (len)], a->arg[idx]);      \
		n++;                                                                               \
	}

/* Bytes the entry's captures took (each at most a mask's). */
static __always_inline __u64 call_entry_bytes(const struct mpt_call_event *ev)
{
	__u64 off = 0;

	for (__u32 i = 0; i < CALL_MASKS; i++)
		if (i < ev->ncaps)
			off += clamp_const(ev->cap[i].bytes, MPT_NODEMASK_BYTES_MAX);
	return off;
}

/*
 * At the return: capture @n (the mask at @user), read again into the record
 * after @off data bytes and compared with the entry's copy at *@src; the
 * data bytes after it (the new copy is kept only when it differs).
 */
static __always_inline __u64 call_reread(struct mpt_call_event *ev, __u32 n, __u64 user, __u64 *src,
					 __u64 off)
{
	struct mpt_capture *c = &ev->cap[n & (MPT_CAPTURES_MAX - 1)];
	__u64 bytes = clamp_const(c->bytes, MPT_NODEMASK_BYTES_MAX);
	__u64 from = clamp_const(*src, (CALL_MASKS - 1) * MPT_NODEMASK_BYTES_MAX);

	off = clamp_const(off, MPT_CALL_DATA_MAX - MPT_NODEMASK_BYTES_MAX);
	*src = from + bytes;
	if (c->state != MPT_ARRAY_OK || !bytes)
		return off;
	if (bpf_probe_read_user(ev->data + off, bytes, (void *)user)) {
		c->changed = 1;
		c->exit_fault = 1;
		return off;
	}
	if (!mask_differs(ev->data + from, ev->data + off, bytes))
		return off;
	c->changed = 1;
	return off + bytes;
}

/* One row's re-read at the return: only the event's own masks, known at compile time. */
#define MPT_CALL_REREAD_ROW(idx, name, ctype, tags, kind, len, when, width, role)                  \
	if (kind == MPT_ARG_NODEMASK && when == MPT_READ_BOTH && n < CALL_MASKS) {                 \
		off = call_reread(ev, n, ev->arg[idx], &src, off);                                 \
		n++;                                                                               \
	}

static __always_inline __u64 call_unreturned(struct mpt_rec_hdr *h, __u8 why)
{
	struct mpt_call_event *ev = (struct mpt_call_event *)h;

	mpt_hdr_clear_return(h, why);
	for (__u32 i = 0; i < MPT_CAPTURES_MAX; i++) {
		ev->cap[i].changed = 0;
		ev->cap[i].exit_fault = 0;
	}
	return sizeof(*ev) + call_entry_bytes(ev);
}

/* The four functions bpf/mptrace.bpf.c asks of an event (see there), from its rows. */
#define MPT_CALL_EVENT(name, ID)                                                                   \
	static __always_inline void name##_entry(struct mpt_rec_hdr *h, const struct call_args *a, \
						 __u64 pid_tgid)                                   \
	{                                                                                          \
		struct mpt_call_event *ev = (struct mpt_call_event *)h;                            \
		__u64 off = 0;                                                                     \
		__u32 n = 0;                                                                       \
                                                                                                   \
		call_fill(ev, a, pid_tgid, MPT_##ID##_NARGS);                                      \
		MPT_##ID##_ARGS(MPT_CALL_CAPTURE_ROW) ev->ncaps = n;                               \
	}                                                                                          \
	static __always_inline __u64 name##_exit(struct mpt_rec_hdr *h, long ret, bool entry_seen) \
	{                                                                                          \
		struct mpt_call_event *ev = (struct mpt_call_event *)h;                            \
		__u64 in = call_entry_bytes(ev), off = in, src = 0;                                \
		__u32 n = 0;                                                                       \
                                                                                                   \
		if (!entry_seen)                                                                   \
			return sizeof(*ev) + in;                                                   \
		MPT_##ID##_ARGS(MPT_CALL_REREAD_ROW) return sizeof(*ev) + off;                     \
	}                                                                                          \
	static __always_inline __u64 name##_unreturned(struct mpt_rec_hdr *h, __u8 why)            \
	{                                                                                          \
		return call_unreturned(h, why);                                                    \
	}                                                                                          \
	static __always_inline __u64 name##_reserve(void)                                          \
	{                                                                                          \
		return sizeof(struct mpt_call_event) + MPT_CALL_DATA_MAX;                          \
	}
