/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * move_pages(2) on the kernel side (events/move_pages.h describes it; what an
 * event provides: bpf/mptrace.bpf.c, before fill_entry()).
 */

/*
 * move_pages at entry: the arguments and a copy of pages[] and nodes[] as
 * the caller passed them. @ev is a slot of at least MPT_HDR_SIZE +
 * array_cap * 12 bytes.
 */
static __always_inline void move_pages_entry(struct mpt_rec_hdr *h, const struct call_args *a,
					     __u64 pid_tgid)
{
	struct mpt_event *ev = (struct mpt_event *)h;
	__u64 count, pages, nodes, n, pbytes, pages_bytes = 0;

	fill_hdr(h, a, pid_tgid, MPT_HDR_SIZE);
	count = a->arg[1];
	pages = a->arg[2];
	nodes = a->arg[3];
	n = captured_len(count);
	pbytes = ptr_bytes(a->abi, n);
	ev->pid = a->arg[0];
	ev->count = count;
	ev->pages = pages;
	ev->nodes = nodes;
	ev->status = a->arg[4];
	ev->flags = a->arg[5];
	ev->_pad = 0;
	mpt_event_clear_return(ev, MPT_RET_SEEN);
	ev->kview = MPT_KVIEW_UNKNOWN;

	ev->pages_n = 0;
	if (!pages) {
		ev->pages_state = MPT_ARRAY_NULL;
	} else if (bpf_probe_read_user(ev->data, pbytes, (void *)pages)) {
		ev->pages_state = MPT_ARRAY_FAULT;
	} else {
		ev->pages_state = MPT_ARRAY_OK;
		ev->pages_n = n;
		pages_bytes = pbytes;
	}

	ev->nodes_n = 0;
	if (!nodes) {
		ev->nodes_state = MPT_ARRAY_NULL;
	} else if (bpf_probe_read_user(ev->data + pages_bytes, n * sizeof(__s32), (void *)nodes)) {
		ev->nodes_state = MPT_ARRAY_FAULT;
	} else {
		ev->nodes_state = MPT_ARRAY_OK;
		ev->nodes_n = n;
	}
}

/* Bytes of move_pages' entry arrays (pages[], nodes[]); 0 for a slot that looks damaged. */
static __always_inline __u64 move_pages_entry_bytes(const struct mpt_event *ev)
{
	__u64 pages_n = ev->pages_n, nodes_n = ev->nodes_n;

	/* re-bound the counts read back from the map so the verifier can check offsets */
	if (pages_n > array_cap || nodes_n > array_cap)
		return 0;
	return ptr_bytes(ev->abi, pages_n) + nodes_n * sizeof(__s32);
}

/* Reported from its entry alone: the return's part cleared. */
static __always_inline __u64 move_pages_unreturned(struct mpt_rec_hdr *h, __u8 why)
{
	mpt_event_clear_return((struct mpt_event *)h, why);
	return MPT_HDR_SIZE + move_pages_entry_bytes((struct mpt_event *)h);
}

static __always_inline __u64 move_pages_reserve(void)
{
	return MPT_HDR_SIZE + array_cap * 12;
}

/*
 * Do @nwords 32-bit words differ, at byte offsets @a and @b of the slot's
 * data? A bpf_loop callback, verified once: as a plain loop of up to
 * 2 * array_cap steps it was most of what the verifier walked at every load
 * (22k of the 27k instructions of an exit program), and a tracer's start
 * under emulation took seconds for it.
 */
struct differ_ctx {
	struct mpt_event *ev;
	__u64 a, b;
	bool differ;
};

static long word_differs(__u32 i, struct differ_ctx *c)
{
	__u64 a = c->a + (__u64)i * 4, b = c->b + (__u64)i * 4;

	/* opaque to the compiler, bounded for the verifier: within the slot's data */
	barrier_var(a);
	barrier_var(b);
	if (a > array_cap * MPT_DATA_BYTES_PER_ENTRY - 4 ||
	    b > array_cap * MPT_DATA_BYTES_PER_ENTRY - 4)
		return 1;
	if (*(const __u32 *)(c->ev->data + a) != *(const __u32 *)(c->ev->data + b)) {
		c->differ = true;
		return 1;
	}
	return 0;
}

static __always_inline bool words_differ(struct mpt_event *ev, __u64 a, __u64 b, __u64 nwords)
{
	struct differ_ctx c = {.ev = ev, .a = a, .b = b};

	bpf_loop(nwords, word_differs, &c, 0);
	return c.differ;
}

/*
 * Read a user array again at the return into the slot's data at @dst and
 * compare it with the entry's copy at @src (byte offsets): the kernel reads pages[] and nodes[] one
 * element at a time while it works, so another thread can change them after the entry copied them
 * (the "Phantom" TOCTOU attack on syscall tracers). Returns the bytes to keep at @dst: the new
 * contents when they differ, else 0.
 */
static __always_inline __u64 reread(struct mpt_event *ev, __u8 bit, __u8 *state, __u64 src,
				    __u64 dst, __u64 bytes, __u64 user)
{
	if (bpf_probe_read_user(ev->data + dst, bytes, (void *)user)) {
		/* unmapped since the entry: changed, and unreadable now */
		ev->changed |= bit;
		*state = MPT_ARRAY_FAULT;
		return 0;
	}
	if (!words_differ(ev, src, dst, bytes / 4))
		return 0;
	ev->changed |= bit;
	*state = MPT_ARRAY_OK;
	return bytes;
}

/* asm-generic/errno-base.h: vmlinux.h has no macros */
#define MPT_ENOMEM 12
#define MPT_EACCES 13
#define MPT_EFAULT 14
#define MPT_ENODEV 19

/* Errors do_pages_move() and do_pages_stat() return from inside their loop over the arrays. */
static __always_inline bool failed_part_way(long ret)
{
	return ret == -MPT_ENODEV || ret == -MPT_EACCES || ret == -MPT_EFAULT || ret == -MPT_ENOMEM;
}

/*
 * An array the entry could not read whose page was not present (a shared
 * mapping emptied with MADV_DONTNEED: the kernel faults it in, a BPF read
 * cannot), read at the return, once the kernel has brought it in. pages[]
 * goes first in the data: nodes[], read at the entry, moves up to make room
 * (the two never overlap: pages[] takes at least as many bytes). Not once
 * the migration hook wrote after them (it does only for a pages[] read).
 */
static __always_inline void read_late(struct mpt_event *ev)
{
	__u64 n = captured_len(ev->count), pbytes = ptr_bytes(ev->abi, n), nodes_n = ev->nodes_n;

	if (ev->kernel_other_n || nodes_n > array_cap)
		return;
	if (ev->pages && ev->pages_state == MPT_ARRAY_FAULT) {
		if (nodes_n)
			bpf_probe_read_kernel(ev->data + pbytes, nodes_n * 4, ev->data);
		if (!bpf_probe_read_user(ev->data, pbytes, (void *)ev->pages)) {
			ev->pages_state = MPT_ARRAY_AT_RETURN;
			ev->pages_n = n;
		} else if (nodes_n) {
			bpf_probe_read_kernel(ev->data, nodes_n * 4, ev->data + pbytes);
		}
	}
	if (ev->nodes && ev->nodes_state == MPT_ARRAY_FAULT) {
		pbytes = ptr_bytes(ev->abi, ev->pages_n > array_cap ? 0 : ev->pages_n);
		if (!bpf_probe_read_user(ev->data + pbytes, n * 4, (void *)ev->nodes)) {
			ev->nodes_state = MPT_ARRAY_AT_RETURN;
			ev->nodes_n = n;
		}
	}
}

/* Did the kernel's own view check this call's pages[] (kview_saw() below), and if not, why? */
static __always_inline __u8 kview_state(const struct mpt_event *ev, bool entry_seen)
{
	if (!entry_seen)
		return MPT_KVIEW_NO_ENTRY;
	if (!(kview_attached & KVIEW_PTE))
		return MPT_KVIEW_OFF;
	if (!ev->nodes)
		return MPT_KVIEW_QUERY;
	if (ev->flags & MPOL_MF_MOVE_ALL)
		return MPT_KVIEW_MOVE_ALL;
	if (ev->pages_state != MPT_ARRAY_OK)
		return MPT_KVIEW_NOT_READ;
	if (ev->pages_n != ev->count)
		return MPT_KVIEW_NOT_WHOLE;
	return kview_attached & KVIEW_PMD ? MPT_KVIEW_CHECKED : MPT_KVIEW_CHECKED_4K;
}

/*
 * move_pages at its return: status[], and pages[] and nodes[] read again
 * when they were read at the entry (@entry_seen, a constant where inlined),
 * or for the first time when the entry could not read them. The bytes to
 * emit.
 */
static __always_inline __u64 move_pages_exit(struct mpt_rec_hdr *h, long ret, bool entry_seen)
{
	struct mpt_event *ev = (struct mpt_event *)h;
	__u64 pages_n, nodes_n, n, pbytes, nbytes, off, k;

	if (entry_seen)
		read_late(ev);
	ev->kview = kview_state(ev, entry_seen);
	pages_n = ev->pages_n;
	nodes_n = ev->nodes_n;
	if (pages_n > array_cap || nodes_n > array_cap)
		return 0;
	pbytes = ptr_bytes(ev->abi, pages_n);
	nbytes = nodes_n * sizeof(__s32);
	/* what the migration hook put after the entry's arrays stays where it is */
	k = ev->kernel_other_n;
	if (k > array_cap)
		return 0;
	off = pbytes + nbytes + k * 8;

	/*
	 * The kernel writes status[] as it goes: all of it when the call
	 * succeeds, the entries before the failing element when it fails part
	 * way, none when it fails before the array (EINVAL, ESRCH, EPERM) or
	 * never ran (refused by seccomp, whatever the errno it was given).
	 */
	n = captured_len(ev->count);
	if (ret < 0 && (!failed_part_way(ret) || h->origin == MPT_ORIGIN_REFUSED)) {
		ev->status_state = MPT_ARRAY_NOT_FILLED;
	} else if (!ev->status) {
		ev->status_state = MPT_ARRAY_NULL;
	} else if (bpf_probe_read_user(ev->data + off, n * sizeof(__s32), (void *)ev->status)) {
		ev->status_state = MPT_ARRAY_FAULT;
	} else {
		ev->status_state = ret < 0 ? MPT_ARRAY_PARTIAL : MPT_ARRAY_OK;
		ev->status_n = n;
		off += n * sizeof(__s32);
	}

	/* What the kernel may have acted on instead of what the entry saw. */
	if (!entry_seen)
		return MPT_HDR_SIZE + off;
	if (ev->pages_state == MPT_ARRAY_OK && pages_n)
		off +=
		    reread(ev, MPT_CHANGED_PAGES, &ev->pages_exit_state, 0, off, pbytes, ev->pages);
	if (ev->nodes_state == MPT_ARRAY_OK && nodes_n)
		off += reread(ev, MPT_CHANGED_NODES, &ev->nodes_exit_state, pbytes, off, nbytes,
			      ev->nodes);
	return MPT_HDR_SIZE + off;
}

/*
 * The kernel's own view. The exit re-read misses an element rewritten and
 * restored before the return; the kernel's per-element functions are
 * inlined in Debian's 6.1 and 6.12. But every page move_pages migrates is
 * remapped in the caller's context, and this tracepoint (6.0+) names its
 * address: one the recorded pages[] does not hold means the kernel acted on
 * another array than the one recorded. Only without MOVE_ALL (which also
 * remaps other processes' mappings of shared pages) and only when pages[]
 * was captured whole.
 */
struct kview_ctx {
	struct mpt_event *ev;
	__u64 addr, span;
	bool found;
};

/* Does pages[@i] lie in the migrated page? bpf_loop's callback: verified once. */
static long kview_match(__u32 i, struct kview_ctx *c)
{
	struct mpt_event *ev = c->ev;
	__u64 idx = i, p;

	/* 64-bit and opaque: the compiler addressed with a 32-bit copy the bound missed */
	barrier_var(idx);
	if (idx >= array_cap)
		return 1;
	if (ev->abi == MPT_ABI_X86_64)
		p = *(__u64 *)(ev->data + idx * 8);
	else
		p = *(__u32 *)(ev->data + idx * 4);
	if (p - c->addr < c->span) {
		c->found = true;
		return 1;
	}
	return 0;
}

/* A page of @span bytes at @addr was remapped by the caller's move_pages: is it in pages[]? */
static __always_inline int kview_saw(__u64 addr, __u64 span)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mpt_event *ev = bpf_map_lookup_elem(&inflight, &tid);
	struct kview_ctx c;
	__u64 n, k, off;
	__u8 state;

	if (!ev || !ev->size || ev->type != MPT_REC_MOVE_PAGES)
		return 0;
	/* checked exactly when the record will say so (pages[] whole, not MOVE_ALL, ...) */
	state = kview_state(ev, true);
	if (state != MPT_KVIEW_CHECKED && state != MPT_KVIEW_CHECKED_4K)
		return 0;
	n = ev->pages_n;
	if (n > array_cap)
		return 0;
	/*
	 * bpf_loop (5.17+; this tracepoint is 6.0+): as a plain loop the 6.1
	 * verifier ran out of its 1M instructions at array cap 1024.
	 */
	c.ev = ev;
	c.addr = addr;
	c.span = span;
	c.found = false;
	bpf_loop(n, kview_match, &c, 0);
	if (c.found)
		return 0;
	/* right after the entry's pages[] and nodes[], where the record carries them */
	k = ev->kernel_other_n;
	off = move_pages_entry_bytes(ev);
	if (k >= array_cap || off > array_cap * 12)
		return 0;
	*(__u64 *)(ev->data + off + k * 8) = c.addr;
	ev->kernel_other_n = k + 1;
	return 0;
}

SEC("tracepoint/migrate/remove_migration_pte")
int kview_migrated(struct trace_event_raw_migration_pte *ctx)
{
	return kview_saw(ctx->addr, 4096ull << (ctx->order & 15));
}

/* A transparent huge page, remapped whole (a PMD: 2 MiB on x86-64). */
SEC("tracepoint/thp/remove_migration_pmd")
int kview_migrated_pmd(struct trace_event_raw_migration_pmd *ctx)
{
	return kview_saw(ctx->addr & ~((2ull << 20) - 1), 2ull << 20);
}
