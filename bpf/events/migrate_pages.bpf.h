/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * migrate_pages(2) on the kernel side (events/migrate_pages.h describes it; what an
 * event provides: bpf/mptrace.bpf.c, before fill_entry()).
 */

/* migrate_pages at entry: the arguments and both node masks (the kernel copies them now). */
static __always_inline void migrate_pages_entry(struct mpt_rec_hdr *h, const struct call_args *a,
						__u64 pid_tgid)
{
	struct mpt_migrate_event *ev = (struct mpt_migrate_event *)h;
	__u64 bytes = mask_bytes(a->abi, a->arg[1]), old;

	fill_hdr(h, a, pid_tgid, sizeof(*ev));
	ev->pid = a->arg[0];
	ev->_pad = 0;
	ev->maxnode = a->arg[1];
	ev->old_nodes = a->arg[2];
	ev->new_nodes = a->arg[3];
	ev->changed = 0;
	ev->exit_fault = 0;
	old = read_mask(ev->data, ev->old_nodes, bytes, &ev->old_state);
	ev->old_bytes = old;
	ev->new_bytes = read_mask(ev->data + clamp_const(old, MPT_NODEMASK_BYTES_MAX),
				  ev->new_nodes, bytes, &ev->new_state);
}

/* A migrate_pages record as its entry made it: the header and both masks. */
static __always_inline __u64 migrate_pages_size(const struct mpt_migrate_event *ev)
{
	/* clamped in registers: as plain ifs the compiler added before it compared */
	return sizeof(*ev) + clamp_const(ev->old_bytes, MPT_NODEMASK_BYTES_MAX) +
	       clamp_const(ev->new_bytes, MPT_NODEMASK_BYTES_MAX);
}

/*
 * Read a mask again at the return into data[@dst] and compare it with the
 * entry's copy at data[@src]: the bytes to keep (the new contents when they
 * differ, else 0).
 */
static __always_inline __u64 mask_reread(struct mpt_migrate_event *ev, __u8 bit, __u64 src,
					 __u64 dst, __u64 bytes, __u64 user)
{
	if (bpf_probe_read_user(ev->data + dst, bytes, (void *)user)) {
		ev->changed |= bit;
		ev->exit_fault |= bit;
		return 0;
	}
	if (!mask_differs(ev->data + src, ev->data + dst, bytes))
		return 0;
	ev->changed |= bit;
	return bytes;
}

/* At the return: both masks read again, when the entry read them (@entry_seen). */
static __always_inline __u64 migrate_pages_exit(struct mpt_rec_hdr *h, long ret, bool entry_seen)
{
	struct mpt_migrate_event *ev = (struct mpt_migrate_event *)h;
	__u64 old = clamp_const(ev->old_bytes, MPT_NODEMASK_BYTES_MAX);
	__u64 new = clamp_const(ev->new_bytes, MPT_NODEMASK_BYTES_MAX);
	__u64 off = old + new;

	if (!entry_seen)
		return sizeof(*ev) + off;
	if (ev->old_state == MPT_ARRAY_OK && old)
		off += mask_reread(ev, MPT_CHANGED_OLD, 0, off, old, ev->old_nodes);
	off = clamp_const(off, 3 * MPT_NODEMASK_BYTES_MAX);
	if (ev->new_state == MPT_ARRAY_OK && new)
		off += mask_reread(ev, MPT_CHANGED_NEW, old, off, new, ev->new_nodes);
	return sizeof(*ev) + off;
}

static __always_inline __u64 migrate_pages_unreturned(struct mpt_rec_hdr *h, __u8 why)
{
	mpt_hdr_clear_return(h, why);
	return migrate_pages_size((struct mpt_migrate_event *)h);
}

static __always_inline __u64 migrate_pages_reserve(void)
{
	return sizeof(struct mpt_migrate_event) + 4 * MPT_NODEMASK_BYTES_MAX;
}
