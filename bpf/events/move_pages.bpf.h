/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * move_pages(2) on the kernel side (events/move_pages.h describes it; what an
 * event provides: bpf/mptrace.bpf.c, before fill_entry()). Its record is the
 * generic one (struct mpt_call_event), its table as the rows call for it:
 * pages[] and nodes[] read at the entry, the pages the kernel migrated that
 * pages[] does not hold, status[] read at the return; data[] in that order,
 * then the copies of pages[] and nodes[] the return made when they changed.
 * What sets it apart from a generic event's is how much it reads (arrays of
 * --array-cap entries, compared with bpf_loop) and the kernel's own view.
 */
enum { MP_PAGES, MP_NODES, MP_OTHER, MP_STATUS, MP_NCAPS };

/*
 * move_pages at entry: the arguments and a copy of pages[] and nodes[] as
 * the caller passed them. @h is a slot of at least move_pages_reserve().
 */
static __always_inline void move_pages_entry(struct mpt_rec_hdr *h, const struct call_args *a,
					     __u64 pid_tgid)
{
	struct mpt_call_event *ev = (struct mpt_call_event *)h;
	__u64 pages = a->arg[2], nodes = a->arg[3], n = captured_len(a->arg[1]);
	__u64 pbytes = ptr_bytes(a->abi, n), pages_bytes = 0;
	struct mpt_capture *c;

	call_fill(ev, a, pid_tgid, MPT_MOVE_PAGES_NARGS);
	ev->ncaps = MP_NCAPS;
	ev->kview = MPT_KVIEW_UNKNOWN;
	ev->cap[MP_PAGES].arg = 2;
	ev->cap[MP_NODES].arg = 3;
	ev->cap[MP_OTHER].arg = MPT_CAP_KERNEL | 2;
	ev->cap[MP_STATUS].arg = 4;
	ev->cap[MP_STATUS].state = MPT_ARRAY_NO_RETURN;

	c = &ev->cap[MP_PAGES];
	if (!pages) {
		c->state = MPT_ARRAY_NULL;
	} else if (bpf_probe_read_user(ev->data, pbytes, (void *)pages)) {
		c->state = MPT_ARRAY_FAULT;
	} else {
		c->bytes = pbytes;
		pages_bytes = pbytes;
	}
	c = &ev->cap[MP_NODES];
	if (!nodes)
		c->state = MPT_ARRAY_NULL;
	else if (bpf_probe_read_user(ev->data + pages_bytes, n * sizeof(__s32), (void *)nodes))
		c->state = MPT_ARRAY_FAULT;
	else
		c->bytes = n * sizeof(__s32);
}

/* Bytes of move_pages' entry arrays (pages[], nodes[]); ~0 for a slot that looks damaged. */
static __always_inline __u64 move_pages_entry_bytes(const struct mpt_call_event *ev)
{
	__u64 pbytes = ev->cap[MP_PAGES].bytes, nbytes = ev->cap[MP_NODES].bytes;

	/* re-bound what is read back from the map so the verifier can check offsets */
	if (pbytes > array_cap * 8 || nbytes > array_cap * 4)
		return ~0ull;
	return pbytes + nbytes;
}

/* Reported from its entry alone: the return's part cleared. */
static __always_inline __u64 move_pages_unreturned(struct mpt_rec_hdr *h, __u8 why)
{
	struct mpt_call_event *ev = (struct mpt_call_event *)h;
	__u64 in = move_pages_entry_bytes(ev);

	mpt_hdr_clear_return(h, why);
	ev->kview = MPT_KVIEW_NO_RETURN;
	ev->cap[MP_PAGES].changed = ev->cap[MP_PAGES].exit_fault = 0;
	ev->cap[MP_NODES].changed = ev->cap[MP_NODES].exit_fault = 0;
	ev->cap[MP_OTHER].bytes = 0;
	ev->cap[MP_STATUS].bytes = 0;
	ev->cap[MP_STATUS].state = MPT_ARRAY_NO_RETURN;
	/* a damaged slot still tells of the call: its header, which the decoder will refuse */
	return sizeof(*ev) + (in == ~0ull ? 0 : in);
}

static __always_inline __u64 move_pages_reserve(void)
{
	return sizeof(struct mpt_call_event) + array_cap * MPT_DATA_BYTES_PER_ENTRY;
}

/*
 * Do @nwords 32-bit words differ, at byte offsets @a and @b of the slot's
 * data? A bpf_loop callback, verified once: as a plain loop of up to
 * 2 * array_cap steps it was most of what the verifier walked at every load
 * (22k of the 27k instructions of an exit program), and a tracer's start
 * under emulation took seconds for it.
 */
struct differ_ctx {
	struct mpt_call_event *ev;
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

static __always_inline bool words_differ(struct mpt_call_event *ev, __u64 a, __u64 b, __u64 nwords)
{
	struct differ_ctx c = {.ev = ev, .a = a, .b = b};

	bpf_loop(nwords, word_differs, &c, 0);
	return c.differ;
}

/*
 * Read a user array again at the return into the slot's data at @dst and
 * compare it with the entry's copy at @src (byte offsets): the kernel reads
 * pages[] and nodes[] one element at a time while it works, so another
 * thread can change them after the entry copied them (the "Phantom" TOCTOU
 * attack on syscall tracers). Returns the bytes to keep at @dst: the new
 * contents when they differ, else 0.
 */
static __always_inline __u64 reread(struct mpt_call_event *ev, struct mpt_capture *c, __u64 src,
				    __u64 dst, __u64 bytes, __u64 user)
{
	if (bpf_probe_read_user(ev->data + dst, bytes, (void *)user)) {
		/* unmapped since the entry: changed, and unreadable now */
		c->changed = 1;
		c->exit_fault = 1;
		return 0;
	}
	if (!words_differ(ev, src, dst, bytes / 4))
		return 0;
	c->changed = 1;
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
static __always_inline void read_late(struct mpt_call_event *ev)
{
	struct mpt_capture *p = &ev->cap[MP_PAGES], *nd = &ev->cap[MP_NODES];
	__u64 n = captured_len(ev->arg[1]), pbytes = ptr_bytes(ev->abi, n), nbytes = nd->bytes;

	if (ev->cap[MP_OTHER].bytes || nbytes > array_cap * 4)
		return;
	if (ev->arg[2] && p->state == MPT_ARRAY_FAULT) {
		if (nbytes)
			bpf_probe_read_kernel(ev->data + pbytes, nbytes, ev->data);
		if (!bpf_probe_read_user(ev->data, pbytes, (void *)ev->arg[2])) {
			p->state = MPT_ARRAY_AT_RETURN;
			p->bytes = pbytes;
		} else if (nbytes) {
			bpf_probe_read_kernel(ev->data, nbytes, ev->data + pbytes);
		}
	}
	if (ev->arg[3] && nd->state == MPT_ARRAY_FAULT) {
		pbytes = p->bytes > array_cap * 8 ? 0 : p->bytes;
		if (!bpf_probe_read_user(ev->data + pbytes, n * 4, (void *)ev->arg[3])) {
			nd->state = MPT_ARRAY_AT_RETURN;
			nd->bytes = n * 4;
		}
	}
}

/* Did the kernel's own view check this call's pages[] (kview_saw() below), and if not, why? */
static __always_inline __u8 kview_state(const struct mpt_call_event *ev, bool entry_seen)
{
	if (!entry_seen)
		return MPT_KVIEW_NO_ENTRY;
	if (!(kview_attached & KVIEW_PTE))
		return MPT_KVIEW_OFF;
	if (!ev->arg[3])
		return MPT_KVIEW_QUERY;
	if (ev->arg[5] & MPOL_MF_MOVE_ALL)
		return MPT_KVIEW_MOVE_ALL;
	if (ev->cap[MP_PAGES].state != MPT_ARRAY_OK)
		return MPT_KVIEW_NOT_READ;
	if (ev->arg[1] > array_cap)
		return MPT_KVIEW_NOT_WHOLE;
	return kview_attached & KVIEW_PMD ? MPT_KVIEW_CHECKED : MPT_KVIEW_CHECKED_4K;
}

/*
 * status[] at the return, after the @off data bytes before it. The kernel
 * writes it as it goes: all of it when the call succeeds, the entries
 * before the failing element when it fails part way, none when it fails
 * before the array (EINVAL, ESRCH, EPERM) or never ran (refused by seccomp,
 * whatever the errno it was given). The data bytes after it.
 */
static __always_inline __u64 read_status(struct mpt_call_event *ev, long ret, __u64 off)
{
	struct mpt_capture *c = &ev->cap[MP_STATUS];
	__u64 n = captured_len(ev->arg[1]);

	if (ret < 0 && (!failed_part_way(ret) || ev->origin == MPT_ORIGIN_REFUSED)) {
		c->state = MPT_ARRAY_NOT_FILLED;
	} else if (!ev->arg[4]) {
		c->state = MPT_ARRAY_NULL;
	} else if (bpf_probe_read_user(ev->data + off, n * sizeof(__s32), (void *)ev->arg[4])) {
		c->state = MPT_ARRAY_FAULT;
	} else {
		c->state = ret < 0 ? MPT_ARRAY_PARTIAL : MPT_ARRAY_OK;
		c->bytes = n * sizeof(__s32);
		off += n * sizeof(__s32);
	}
	return off;
}

/*
 * move_pages at its return: status[], and pages[] and nodes[] read again
 * when they were read at the entry (@entry_seen, a constant where inlined),
 * or for the first time when the entry could not read them. The bytes to
 * emit.
 */
static __always_inline __u64 move_pages_exit(struct mpt_rec_hdr *h, long ret, bool entry_seen)
{
	struct mpt_call_event *ev = (struct mpt_call_event *)h;
	struct mpt_capture *p = &ev->cap[MP_PAGES], *nd = &ev->cap[MP_NODES];
	__u64 pbytes, nbytes, kbytes, off;

	if (entry_seen)
		read_late(ev);
	ev->kview = kview_state(ev, entry_seen);
	pbytes = p->bytes;
	nbytes = nd->bytes;
	kbytes = ev->cap[MP_OTHER].bytes;
	if (pbytes > array_cap * 8 || nbytes > array_cap * 4 || kbytes > array_cap * 8)
		return 0;
	/* what the migration hook put after the entry's arrays stays where it is */
	off = read_status(ev, ret, pbytes + nbytes + kbytes);

	/* What the kernel may have acted on instead of what the entry saw. */
	if (!entry_seen)
		return sizeof(*ev) + off;
	if (p->state == MPT_ARRAY_OK && pbytes)
		off += reread(ev, p, 0, off, pbytes, ev->arg[2]);
	if (nd->state == MPT_ARRAY_OK && nbytes)
		off += reread(ev, nd, pbytes, off, nbytes, ev->arg[3]);
	return sizeof(*ev) + off;
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
	struct mpt_call_event *ev;
	__u64 addr, span;
	bool found;
};

/* Does pages[@i] lie in the migrated page? bpf_loop's callback: verified once. */
static long kview_match(__u32 i, struct kview_ctx *c)
{
	struct mpt_call_event *ev = c->ev;
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
	struct mpt_call_event *ev = bpf_map_lookup_elem(&inflight, &tid);
	struct kview_ctx c;
	__u64 k, off;
	__u8 state;

	if (!ev || !ev->size || ev->type != MPT_REC_MOVE_PAGES)
		return 0;
	/* checked exactly when the record will say so (pages[] whole, not MOVE_ALL, ...) */
	state = kview_state(ev, true);
	if (state != MPT_KVIEW_CHECKED && state != MPT_KVIEW_CHECKED_4K)
		return 0;
	/*
	 * bpf_loop (5.17+; this tracepoint is 6.0+): as a plain loop the 6.1
	 * verifier ran out of its 1M instructions at array cap 1024.
	 */
	c.ev = ev;
	c.addr = addr;
	c.span = span;
	c.found = false;
	bpf_loop(captured_len(ev->arg[1]), kview_match, &c, 0);
	if (c.found)
		return 0;
	/* right after the entry's pages[] and nodes[], where the record carries them */
	k = ev->cap[MP_OTHER].bytes;
	off = move_pages_entry_bytes(ev);
	if (k >= array_cap * 8 || off > array_cap * 12)
		return 0;
	*(__u64 *)(ev->data + off + k) = c.addr;
	ev->cap[MP_OTHER].bytes = k + 8;
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
