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
	ev->_pad2 = 0;
	old = read_mask(ev->data, ev->old_nodes, bytes, &ev->old_state);
	ev->old_bytes = old;
	ev->new_bytes = read_mask(ev->data + clamp_const(old, MPT_NODEMASK_BYTES_MAX),
				  ev->new_nodes, bytes, &ev->new_state);
}

/* A whole migrate_pages record: all it reads, it reads at entry. */
static __always_inline __u64 migrate_pages_size(const struct mpt_migrate_event *ev)
{
	/* clamped in registers: as plain ifs the compiler added before it compared */
	return sizeof(*ev) + clamp_const(ev->old_bytes, MPT_NODEMASK_BYTES_MAX) +
	       clamp_const(ev->new_bytes, MPT_NODEMASK_BYTES_MAX);
}

/* All it reads, it reads at entry: the return adds only the header's part. */
static __always_inline __u64 migrate_pages_exit(struct mpt_rec_hdr *h, long ret, bool entry_seen)
{
	return migrate_pages_size((struct mpt_migrate_event *)h);
}

static __always_inline __u64 migrate_pages_unreturned(struct mpt_rec_hdr *h, __u8 why)
{
	mpt_hdr_clear_return(h, why);
	return migrate_pages_size((struct mpt_migrate_event *)h);
}

static __always_inline __u64 migrate_pages_reserve(void)
{
	return sizeof(struct mpt_migrate_event) + 2 * MPT_NODEMASK_BYTES_MAX;
}
