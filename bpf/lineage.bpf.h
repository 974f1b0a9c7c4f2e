/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The process tracker: a record for every process that forks, execs or
 * exits, so that user space (and a capture) can name an event's executable,
 * command line and ancestors after they are gone. Included by mptrace.bpf.c
 * after its maps; fork and exec are BTF tracepoints (6.1+ kernels of every
 * attach mode have them), exit rides on the existing sched_process_exit hook.
 */
#ifndef MPTRACE_LINEAGE_BPF_H
#define MPTRACE_LINEAGE_BPF_H

/* Path components walked; a deeper path keeps its last ones, flagged truncated. */
#define MPT_PATH_DEPTH 32
#define PATH_MASK (MPT_PROC_PATH_MAX - 1)
_Static_assert((MPT_PROC_PATH_MAX & PATH_MASK) == 0, "path buffer size is a power of two");

/* A record being built, and the path as it is walked backwards from its last name. */
struct proc_scratch {
	__u8 rec[sizeof(struct mpt_proc_event) + MPT_PROC_PATH_MAX + MPT_PROC_ARGV_MAX];
	char path[2 * MPT_PROC_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proc_scratch);
} proc_scratch SEC(".maps");

/* Process records the ring had no room for: lineage, not calls, so not a call loss. */
__u64 proc_lost = 0;

/* Where a path walk is: the dentry, its mount, and where the path written so far starts. */
struct path_walk {
	struct dentry *d;
	struct vfsmount *vm;
	struct mount *m;
	struct proc_scratch *sc;
	__u32 off;
	__u8 flags;
};

/*
 * One step up: a name, or a crossing to the parent mount. bpf_loop's
 * callback (5.17+): verified once, where an unrolled walk took the verifier
 * past its million instructions.
 */
static long path_step(__u32 i, struct path_walk *w)
{
	/* plain locals: CO-RE relocates every access inside BPF_CORE_READ, w's too */
	struct dentry *d = w->d, *root, *parent;
	struct vfsmount *vm = w->vm;
	struct mount *m = w->m, *mp;
	struct qstr name;
	__u32 len, off = w->off;

	root = BPF_CORE_READ(vm, mnt_root);
	parent = BPF_CORE_READ(d, d_parent);
	if (d == root) {
		mp = BPF_CORE_READ(m, mnt_parent);
		/* the root of the whole tree */
		if (m == mp)
			return 1;
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = mp;
		w->vm = (void *)((char *)mp + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	/*
	 * A dentry that is its own parent but no mount's root belongs to no
	 * directory (a memfd: exe_file_state() says so): its name ("memfd:x")
	 * is all the path it has, as /proc/PID/exe shows it. The step ends.
	 */
	name = BPF_CORE_READ(d, d_name);
	len = name.len & 255;
	if (off > MPT_PROC_PATH_MAX || off < len + 1) {
		w->flags |= MPT_PROC_PATH_TRUNCATED;
		return 1;
	}
	off -= len + 1;
	bpf_probe_read_kernel(w->sc->path + (off & PATH_MASK) + 1, len, name.name);
	w->sc->path[off & PATH_MASK] = '/';
	w->off = off;
	w->d = parent;
	return d == parent;
}

/*
 * The path of @f as d_path() would give it, walking dentries up to each
 * mount's root and crossing to the parent mount: written backwards into
 * sc->path, ending at MPT_PROC_PATH_MAX. Returns where it starts.
 */
static __always_inline __u32 walk_path(struct file *f, struct proc_scratch *sc, __u8 *flags)
{
	struct path_walk w = {
	    .d = BPF_CORE_READ(f, f_path.dentry),
	    .vm = BPF_CORE_READ(f, f_path.mnt),
	    .sc = sc,
	    .off = MPT_PROC_PATH_MAX,
	};
	long steps;

	w.m = (void *)((char *)w.vm - bpf_core_field_offset(struct mount, mnt));
	steps = bpf_loop(MPT_PATH_DEPTH, path_step, &w, 0);
	if (steps >= MPT_PATH_DEPTH)
		w.flags |= MPT_PROC_PATH_TRUNCATED;
	*flags |= w.flags;
	if (w.off >= MPT_PROC_PATH_MAX) {
		w.off = MPT_PROC_PATH_MAX - 1;
		sc->path[PATH_MASK] = '/';
	}
	return w.off;
}

/* Who @t's process is: its ids, start times and name. @t is its group leader. */
static __always_inline void proc_ids(struct mpt_proc_event *p, struct task_struct *t, __u8 kind)
{
	struct task_struct *parent = t->real_parent;
	struct upid up;

	p->type = MPT_REC_PROCESS;
	p->version = MPT_EVENT_VERSION;
	p->ts_boot_ns = bpf_ktime_get_boot_ns();
	p->kind = kind;
	p->flags = 0;
	p->path_len = 0;
	p->argv_len = 0;
	p->_pad = 0;
	p->tgid = t->tgid;
	p->start_ns = t->start_boottime;
	p->ptgid = parent->tgid;
	p->pstart_ns = parent->group_leader->start_boottime;
	upid_at(t->thread_pid, t->thread_pid->level, &up);
	p->ns_tgid = up.nr;
	p->pid_ns = up.ns ? BPF_CORE_READ(up.ns, ns.inum) : 0;
	p->uid = t->real_cred->uid.val;
	p->cgroup_id = t->cgroups->dfl_cgrp->kn->id;
	bpf_probe_read_kernel_str(p->comm, sizeof(p->comm), t->comm);
	p->exe_ino = 0;
	p->exe_dev = 0;
}

/* The executable of @mm (what /proc/PID/exe shows): identity, and with @path its path. */
static __always_inline __u32 proc_exe(struct mpt_proc_event *p, struct mm_struct *mm,
				      struct proc_scratch *sc, bool path)
{
	struct file *exe = exe_identity(mm, &p->exe_ino, &p->exe_dev);
	__u32 off, n;

	if (!exe)
		return 0;
	p->flags |= exe_file_state(mm->exe_file);
	if (!path)
		return 0;
	off = walk_path(exe, sc, &p->flags);
	n = clamp_const(MPT_PROC_PATH_MAX - off, MPT_PROC_PATH_MAX);
	bpf_probe_read_kernel(p->data, n, sc->path + (off & PATH_MASK));
	p->path_len = n;
	return n;
}

static __always_inline void proc_emit(struct mpt_proc_event *p, __u64 size)
{
	p->size = size;
	/* no wake-up (a self-IPI at every fork): the reader polls on a timer, as for calls */
	if (bpf_ringbuf_output(&events, p, size, BPF_RB_NO_WAKEUP))
		__sync_fetch_and_add(&proc_lost, 1);
}

static __always_inline struct mpt_proc_event *proc_record(struct proc_scratch **sc)
{
	__u32 zero = 0;

	*sc = bpf_map_lookup_elem(&proc_scratch, &zero);
	return *sc ? (struct mpt_proc_event *)(*sc)->rec : NULL;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	struct proc_scratch *sc;
	struct mpt_proc_event *p;

	/* a new thread is not a new process */
	if (child->pid != child->tgid || is_self_task(parent))
		return 0;
	p = proc_record(&sc);
	if (!p)
		return 0;
	proc_ids(p, child, MPT_PROC_FORK);
	/*
	 * clone(CLONE_PARENT) makes the creator's parent the child's: keep
	 * who created it, which is what an investigator asks, and say so.
	 */
	if ((__u32)parent->tgid != p->ptgid) {
		p->ptgid = parent->tgid;
		p->pstart_ns = parent->group_leader->start_boottime;
		p->flags |= MPT_PROC_CREATOR;
	}
	/* the same image as its parent: user space takes its path and command line from it */
	proc_exe(p, child->mm, sc, false);
	proc_emit(p, sizeof(*p));
	return 0;
}

/* @tid: the exec's thread id before it took its process's (de_thread()). */
static __always_inline void proc_exec_unreturned(__u32 tid)
{
	struct mpt_rec_hdr *h = bpf_map_lookup_elem(&inflight, &tid);

	if (!h)
		return;
	if (slot_busy(h))
		emit_without_return(tid, MPT_RET_MISSED);
	free_slot(tid);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *t, pid_t old_pid, struct linux_binprm *bprm)
{
	struct proc_scratch *sc;
	struct mpt_proc_event *p;
	struct mm_struct *mm = t->mm;
	__u64 start, end, n, path;

	if (is_self_task(t))
		return 0;
	/*
	 * A call of this thread whose return was missed is told before the
	 * new image is: read after it, its caller would be named by the
	 * image that replaced the one that made the call.
	 */
	proc_exec_unreturned((__u32)old_pid);
	p = proc_record(&sc);
	if (!p)
		return 0;
	proc_ids(p, t, MPT_PROC_EXEC);
	path = proc_exe(p, mm, sc, true);
	/* argv as the new image sees it: the kernel has just copied it onto the new stack */
	start = mm ? BPF_CORE_READ(mm, arg_start) : 0;
	end = mm ? BPF_CORE_READ(mm, arg_end) : 0;
	n = end > start ? end - start : 0;
	if (n > MPT_PROC_ARGV_MAX) {
		n = MPT_PROC_ARGV_MAX;
		p->flags |= MPT_PROC_ARGV_TRUNCATED;
	}
	n = clamp_const(n, MPT_PROC_ARGV_MAX);
	path = clamp_const(path, MPT_PROC_PATH_MAX);
	if (n && bpf_probe_read_user(p->data + path, n, (void *)start))
		n = 0;
	p->argv_len = n;
	proc_emit(p, sizeof(*p) + path + n);
	return 0;
}

/* From sched_process_exit, for the thread that ends its process. */
static __always_inline void proc_exit(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct proc_scratch *sc;
	struct mpt_proc_event *p;

	/* do_exit() has counted this thread out of signal->live already */
	if (t->signal->live.counter || is_self_task(t))
		return;
	p = proc_record(&sc);
	if (!p)
		return;
	proc_ids(p, t->group_leader, MPT_PROC_EXIT);
	proc_emit(p, sizeof(*p));
}

#endif /* MPTRACE_LINEAGE_BPF_H */
