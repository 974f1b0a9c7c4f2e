// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mptrace kernel side: one record per traced syscall (move_pages(2),
 * migrate_pages(2): events/events.h).
 *
 * In each of three attach modes every syscall has thin hooks around one
 * entry body and one exit body; the loader switches off what it does not
 * use before load (user/tracer.c). Entry stores the common header (the
 * caller's context), the arguments and the input arrays in a per-thread
 * slot; exit adds the return value and what the return shows, writes the
 * slot to the ring buffer and frees it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "mptrace_event.h"
#include "mptrace_filter.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MPT_HDR_SIZE sizeof(struct mpt_call_event)
/* move_pages(2) flag, from <numaif.h> (events/move_pages.h lists them for user space) */
#define MPOL_MF_MOVE_ALL (1 << 2)

/* Set by the loader before load; the verifier sees them as constants. */
const volatile __u32 array_cap = MPT_ARRAY_CAP_DEFAULT;
const volatile __u32 self_tgid = 0;
/*
 * 0 when the loader runs in the host's pid namespace (self_tgid is then its
 * host pid); else that namespace's inode, and self_tgid the pid there: a
 * host process with that number is somebody else.
 */
const volatile __u32 self_pidns = 0;
/* Filters (include/mptrace_filter.h): a bit per kind with values in filter_values. */
const volatile __u32 filter_kinds = 0;
const volatile __u32 filter_scope = MPT_SCOPE_ALL;
const volatile __u32 container_filter_n = 0;
const volatile bool target_other = false;
/* Wake the reader only once this much is queued; it also polls on a timer. */
const volatile __u64 wakeup_bytes = 0;
/*
 * The return hooks are the syscall exit tracepoints (tracepoint mode): they
 * see calls refused before they ran too. In the other modes a return hook
 * that runs means the call ran; refusals come through refused_exit.
 */
const volatile bool exit_hook_is_sys_exit = false;
/* The in-flight map's size (--max-inflight). */
const volatile __u32 max_inflight = 1024;
/* The events traced (--event), a bit per record type: the raw 32-bit hooks, shared by all, check
 * it. */
const volatile __u32 traced_events = ~0u;

/*
 * In-flight calls, keyed by thread id. The loader sizes the value to
 * MPT_HDR_SIZE + array_cap * MPT_DATA_BYTES_PER_ENTRY, so a small cap costs
 * little memory and little copying. A plain (preallocated) hash, not an LRU:
 * an LRU hands an evicted element to a new key at once, while the thread
 * that owned it may still be writing through its pointer, mixing two calls
 * in one record. Here only the owning thread ever deletes its slot (at its
 * return, or when it enters again or exits after a missed return), so a slot
 * is never shared; a full map means more calls in flight than
 * --max-inflight, and those calls are reported from their entry.
 *
 * A return keeps its slot, idle (size 0), for the thread's next call while
 * the map is at most half full: a repeat caller then costs a lookup, not a
 * 2 KB insert and a delete (some 150 ns a call here). Past half, returns
 * delete their slots, so idle threads can never take the room that calls
 * in flight need.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MPT_HDR_SIZE + MPT_DATA_MAX);
} inflight SEC(".maps");

/* Source for new in-flight slots: map_update copies value_size bytes. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MPT_HDR_SIZE + MPT_DATA_MAX);
} slot_template SEC(".maps");

/* Threads whose call was reported at entry (no slot free): their return is not a loss. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} untracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Bytes queued in the ring buffer at the last return: a gauge the reader reports. */
__u64 ring_queued = 0;
/* Slots in the in-flight map, busy or idle (approximate under races, which is all it needs). */
__u64 slots_used = 0;
/*
 * Set by the loader just before it detaches the entry hooks: a return seen
 * after that is a call that began after tracing stopped, not a lost entry.
 */
bool entry_detached = false;
/* Set by the loader once the kernel's own view is attached: KVIEW_PTE, KVIEW_PMD. */
#define KVIEW_PTE 1
#define KVIEW_PMD 2
__u32 kview_attached = 0;
/*
 * The loader's test call (user/kernel/tracer.c, prove_delivery): the process
 * that makes it, as the loader's own pid namespace numbers it, and that
 * namespace. Its calls pass every filter, so that readiness is shown for
 * whatever the user asked to trace. 0: no test under way.
 */
__u32 canary_tgid = 0;
__u32 canary_pidns = 0;
/* Its records, written and lost: the loader takes them out of the counts it reports. */
__u64 canary_events = 0;
__u64 canary_lost = 0;

/*
 * Fair shares (--fair-rate, --fair-burst): each process (host tgid) may call
 * once every fair_interval_ns on average, fair_tolerance_ns ahead of that at
 * most (a burst); calls past that are summed in flood_sums, not recorded.
 * This is GCRA: fair_tat holds each process's theoretical arrival time.
 * 0: everything is recorded.
 */
const volatile __u64 fair_interval_ns = 0;
const volatile __u64 fair_tolerance_ns = 0;
/*
 * The summaries' generation: the loader moves it on every second and
 * collects the generations two behind, which no program writes any more.
 */
__u32 flood_epoch = 0;
/* Calls over budget that found no room in flood_sums: a loss, counted. */
__u64 flood_unsummed = 0;
/*
 * Returns the filters let through whose entry was not seen (reported from
 * the return, or counted in no_entry): with the entries the kernel says it
 * skipped, the calls neither hook saw.
 */
__u64 at_return = 0;
/* Summaries made: while the loader has collected fewer, some are waiting. */
__u64 flood_made = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MPT_FAIR_PROCS);
	__type(key, __u32);
	__type(value, __u64);
} fair_tat SEC(".maps");

struct flood_key {
	__u32 epoch;
	__u32 tgid;
	__u32 type;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MPT_FLOOD_SUMS);
	__type(key, struct flood_key);
	__type(value, struct mpt_flood_event);
} flood_sums SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mpt_flood_event);
} flood_tmpl SEC(".maps");

/* Calls lost to a full ring, by process (host tgid): whose they were. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MPT_LOST_PROCS);
	__type(key, __u32);
	__type(value, __u64);
} lost_by_tgid SEC(".maps");

/* Values of every active filter kind; the loader sizes it to what was given. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct mpt_filter_key);
	__type(value, __u8);
} filter_values SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MPT_CONTAINER_FILTER_MAX);
	__type(key, __u32);
	__type(value, struct mpt_container_prefix);
} container_filter SEC(".maps");

/* A cgroup name being matched, and the container id found in it. */
struct name_scratch {
	char name[MPT_CGROUP_NAME_MAX];
	char id[MPT_CONTAINER_ID_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct name_scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MPT_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(enum mpt_stat stat)
{
	__u32 key = stat;
	__u64 *count = bpf_map_lookup_elem(&stats, &key);

	/* Atomic because fentry programs can be preempted on a PREEMPT kernel. */
	if (count)
		__sync_fetch_and_add(count, 1);
}

static __always_inline bool filter_on(enum mpt_filter_kind kind)
{
	return filter_kinds & (1u << kind);
}

static __always_inline bool value_listed(enum mpt_filter_kind kind, __u64 v)
{
	struct mpt_filter_key key = {.kind = kind};

	__builtin_memcpy(key.val, &v, sizeof(v));
	return bpf_map_lookup_elem(&filter_values, &key);
}

#define NAME_MASK (MPT_CGROUP_NAME_MAX - 1)
_Static_assert((MPT_CGROUP_NAME_MAX & NAME_MASK) == 0, "name buffer size is a power of two");

/*
 * A byte of a name buffer. The barrier keeps the compiler from dropping the
 * mask when it believes the index is in range: older verifiers (6.1) cannot
 * see that and refuse the access.
 */
static __always_inline char ch(const char *s, long i)
{
	barrier_var(i);
	return s[i & NAME_MASK];
}

/* The container-id grammar, shared with user space, reading the name through ch(). */
#define MPT_CID_CH(s, i) ch(s, i)
#define MPT_CID_INLINE static __always_inline
#include "mptrace_container_id.h"

/*
 * The two functions below are global, not static: the verifier checks a
 * global function once, instead of once per call site and loop iteration,
 * which keeps the cgroup walk far from the verifier's instruction limit.
 */

/* Does the container id in the scratch buffer start with a --container prefix? */
__noinline int container_id_listed(void)
{
	struct name_scratch *sc;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 0;
	for (__u32 j = 0; j < MPT_CONTAINER_FILTER_MAX; j++) {
		struct mpt_container_prefix *p;
		__u32 key = j;
		bool same = true;

		if (j >= container_filter_n)
			break;
		p = bpf_map_lookup_elem(&container_filter, &key);
		if (!p)
			break;
		for (__u32 i = 0; i < MPT_CONTAINER_ID_LEN; i++) {
			if (i >= p->len)
				break;
			if (sc->id[i] != p->id[i]) {
				same = false;
				break;
			}
		}
		if (same)
			return 1;
	}
	return 0;
}

/* Does the cgroup at kernfs node @kn_addr name a container? Its id goes to the scratch buffer. */
__noinline int cgroup_is_container(__u64 kn_addr)
{
	struct kernfs_node *kn = (struct kernfs_node *)kn_addr;
	struct name_scratch *sc;
	__u32 zero = 0;
	int runtime;
	long len, at;

	sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 0;
	len = bpf_probe_read_kernel_str(sc->name, sizeof(sc->name), BPF_CORE_READ(kn, name));
	if (len <= MPT_CONTAINER_ID_LEN)
		return 0;
	at = mpt_container_id_at(sc->name, len - 1, &runtime);
	if (at < 0)
		return 0;
	for (int i = 0; i < MPT_CONTAINER_ID_LEN; i++)
		sc->id[i] = ch(sc->name, at + i);
	return 1;
}

/* Cgroup paths by id, as they were at the call (include/mptrace_filter.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MPT_CGROUP_PATHS);
	__type(key, __u64);
	__type(value, struct mpt_cgroup_path);
} cgroup_paths SEC(".maps");

#define CG_PATH_MASK (MPT_CGROUP_PATH_MAX - 1)
#define CG_DEPTH_MASK (MPT_CGROUP_PATH_DEPTH - 1)
_Static_assert((MPT_CGROUP_PATH_MAX & CG_PATH_MASK) == 0, "a power of two");
_Static_assert((MPT_CGROUP_PATH_DEPTH & CG_DEPTH_MASK) == 0, "a power of two");

/*
 * The caller's cgroups, its own up to the root: the top MPT_CGROUP_PATH_DEPTH
 * of them kept (a ring: the walk goes up), then its path built from the top.
 */
struct cg_scratch {
	__u64 kn[MPT_CGROUP_PATH_DEPTH];
	/* room for one more name past the end: writes start below MPT_CGROUP_PATH_MAX */
	char path[MPT_CGROUP_PATH_MAX + MPT_CGROUP_NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cg_scratch);
} cg_scratch SEC(".maps");

struct cg_walk {
	struct cgroup *cg;
	struct cg_scratch *sc;
	__u32 n;      /* cgroups visited, the root last */
	__u32 off;    /* bytes of path written */
	bool ids;     /* --cgroup: look for a listed id at every level */
	bool id_hit;  /* ... and one was */
	bool id_only; /* ... and nothing else is wanted: stop there */
	bool in_ctr;  /* a container's cgroup among the top levels */
};

/* bpf_loop callbacks (5.17+): one step up, collecting; one name down, writing. */
static long cg_up(__u32 i, struct cg_walk *w)
{
	struct cgroup *cg = w->cg;
	struct cgroup_subsys_state *parent;
	struct kernfs_node *kn;

	if (!cg)
		return 1;
	kn = BPF_CORE_READ(cg, kn);
	w->sc->kn[i & CG_DEPTH_MASK] = (__u64)kn;
	w->n = i + 1;
	if (w->ids && !w->id_hit && value_listed(MPT_FILTER_CGROUP, BPF_CORE_READ(kn, id))) {
		w->id_hit = true;
		if (w->id_only)
			return 1;
	}
	parent = BPF_CORE_READ(cg, self.parent);
	w->cg = parent ? BPF_CORE_READ(parent, cgroup) : NULL;
	return 0;
}

/*
 * Every level from the caller's cgroup up to the root (MPT_CGROUP_WALK_MAX
 * at most: false when it is deeper still), the top ones kept in @w->sc.
 */
static __always_inline bool cg_walk_up(struct cg_walk *w)
{
	bpf_loop(MPT_CGROUP_WALK_MAX, cg_up, w, 0);
	return !w->cg;
}

/* The kernfs node @level levels below the root (1: the root's child); 0 past what was kept. */
static __always_inline __u64 cg_level(const struct cg_walk *w, __u32 level)
{
	if (level >= w->n || level >= MPT_CGROUP_PATH_DEPTH)
		return 0;
	return w->sc->kn[(w->n - 1 - level) & CG_DEPTH_MASK];
}

/* From the top: the outermost container cgroup (its id to the scratch buffer). */
static long cg_find_container(__u32 i, struct cg_walk *w)
{
	__u64 kn = cg_level(w, i + 1);

	if (!kn)
		return 1;
	if (cgroup_is_container(kn) > 0) {
		w->in_ctr = true;
		return 1;
	}
	return 0;
}

/*
 * Does any cgroup from the caller's up to the root carry a listed id
 * (--cgroup covers descendants), and is the outermost container cgroup a
 * listed one? Containers are looked for from the top, where runtimes put
 * them: a caller nested deep below one is still in it, and a cgroup named
 * like a container inside one does not make its processes another's. A
 * caller too deep to walk is counted in a container (never host-only).
 * Returns false when the caller is filtered out.
 */
static __always_inline bool cgroup_filters_pass(struct task_struct *task)
{
	bool want_ctr = container_filter_n || filter_scope != MPT_SCOPE_ALL;
	struct cg_walk w = {.cg = BPF_CORE_READ(task, cgroups, dfl_cgrp),
			    .ids = filter_on(MPT_FILTER_CGROUP),
			    .id_only = !want_ctr};
	__u32 zero = 0;
	bool whole;

	if (!w.ids && !want_ctr)
		return true;
	w.sc = bpf_map_lookup_elem(&cg_scratch, &zero);
	if (!w.sc)
		return false;
	whole = cg_walk_up(&w);
	if (w.ids && !w.id_hit)
		return false;
	if (!want_ctr)
		return true;
	bpf_loop(MPT_CGROUP_PATH_DEPTH, cg_find_container, &w, 0);
	if (!whole && !w.in_ctr)
		return filter_scope == MPT_SCOPE_CONTAINERS_ONLY && !container_filter_n;
	if (filter_scope == MPT_SCOPE_HOST_ONLY && w.in_ctr)
		return false;
	if (filter_scope == MPT_SCOPE_CONTAINERS_ONLY && !w.in_ctr)
		return false;
	if (container_filter_n && (!w.in_ctr || container_id_listed() <= 0))
		return false;
	return true;
}

static long cg_down(__u32 i, struct cg_walk *w)
{
	/* from the root's child (level 1) down, as far as was kept */
	struct kernfs_node *kn = (struct kernfs_node *)cg_level(w, i + 1);
	__u32 off = w->off;
	long len;

	if (!kn || off >= MPT_CGROUP_PATH_MAX - 1)
		return 1;
	w->sc->path[off & CG_PATH_MASK] = '/';
	len = bpf_probe_read_kernel_str(w->sc->path + ((off + 1) & CG_PATH_MASK),
					MPT_CGROUP_NAME_MAX, BPF_CORE_READ(kn, name));
	if (len <= 0)
		return 1;
	w->off = off + len; /* the '/' and the name; len counts the NUL */
	return 0;
}

/*
 * Record the caller's cgroup path once per cgroup (global: verified once).
 * A cgroup removed right after the call keeps its name here.
 */
__noinline int cgroup_note(__u64 id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cg_walk w = {.cg = BPF_CORE_READ(task, cgroups, dfl_cgrp)};
	__u32 zero = 0, end;
	bool whole;

	if (bpf_map_lookup_elem(&cgroup_paths, &id))
		return 0;
	w.sc = bpf_map_lookup_elem(&cg_scratch, &zero);
	if (!w.sc)
		return 0;
	whole = cg_walk_up(&w);
	bpf_loop(MPT_CGROUP_PATH_DEPTH, cg_down, &w, 0);
	end = w.off;
	if (!end)
		w.sc->path[end++] = '/';
	/* deeper than the levels kept: the path says it goes on */
	if ((!whole || w.n > MPT_CGROUP_PATH_DEPTH) && end < MPT_CGROUP_PATH_MAX - 4) {
		for (int k = 0; k < 4; k++)
			w.sc->path[(end + k) & CG_PATH_MASK] = "/..."[k];
		end += 4;
	}
	if (end > MPT_CGROUP_PATH_MAX - 1)
		end = MPT_CGROUP_PATH_MAX - 1;
	barrier_var(end);
	w.sc->path[end & CG_PATH_MASK] = 0;
	bpf_map_update_elem(&cgroup_paths, &id, w.sc->path, BPF_NOEXIST);
	return 0;
}

/* The upid of @pid at @level (its number and namespace there); zero when it has none. */
static __always_inline void upid_at(struct pid *pid, unsigned int level, struct upid *out)
{
	unsigned long addr;

	out->nr = 0;
	out->ns = NULL;
	if (!pid || pid->level < level)
		return;
	/* numbers[] is indexed by a runtime value: read it, do not dereference it */
	addr = (unsigned long)pid + bpf_core_field_offset(struct pid, numbers) +
	       level * bpf_core_type_size(struct upid);
	bpf_probe_read_kernel(out, sizeof(*out), (void *)addr);
}

/* The inode number of the caller's own pid namespace, as /proc/PID/ns/pid shows it. */
static __always_inline __u32 pid_ns_inum(struct pid *tp)
{
	struct upid up;

	upid_at(tp, tp->level, &up);
	return up.ns ? BPF_CORE_READ(up.ns, ns.inum) : 0;
}

/* Is the caller's executable (its inode and device, not its name) a listed one? */
/*
 * The executable of @mm (what /proc/PID/exe shows), and its identity: inode
 * and device, as --exe and the process tracker know it. NULL: none.
 */
static __always_inline struct file *exe_identity(struct mm_struct *mm, __u64 *ino, __u32 *dev)
{
	struct file *exe = mm ? BPF_CORE_READ(mm, exe_file) : NULL;

	if (!exe)
		return NULL;
	*ino = BPF_CORE_READ(exe, f_inode, i_ino);
	*dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
	return exe;
}

static __always_inline bool exe_listed(struct task_struct *task)
{
	struct mpt_filter_key key = {.kind = MPT_FILTER_EXE};
	__u64 ino;
	__u32 dev;

	if (!exe_identity(task->mm, &ino, &dev))
		return false;
	__builtin_memcpy(key.val, &ino, sizeof(ino));
	__builtin_memcpy(key.val + 8, &dev, sizeof(dev));
	return bpf_map_lookup_elem(&filter_values, &key);
}

/* Is the caller, or a process up its chain of parents, a listed one (--descendant-of)? */
static __always_inline bool ancestor_listed(struct task_struct *task)
{
	struct task_struct *t = task;

	for (int i = 0; i < MPT_ANCESTOR_WALK_MAX && t; i++) {
		if (value_listed(MPT_FILTER_ANCESTOR, (__u32)t->tgid))
			return true;
		if (t->tgid <= 1)
			break;
		t = t->real_parent;
	}
	return false;
}

/* Is @task's process the loader itself? */
static __always_inline bool is_self_task(struct task_struct *task)
{
	struct upid up;

	if (!self_pidns)
		return (__u32)task->tgid == self_tgid;
	upid_at(task->group_leader->thread_pid, task->thread_pid->level, &up);
	return self_tgid && (__u32)up.nr == self_tgid && up.ns &&
	       BPF_CORE_READ(up.ns, ns.inum) == self_pidns;
}

/* Is the caller the loader? The host's pid decides, unless the loader is in a pid namespace. */
static __always_inline bool is_self(__u64 pid_tgid)
{
	if (!self_pidns)
		return (__u32)(pid_tgid >> 32) == self_tgid;
	return is_self_task(bpf_get_current_task_btf());
}

/* Is the caller the loader's test process? Read only while a test is under way. */
static __always_inline bool is_canary(void)
{
	struct task_struct *task;
	struct upid up;

	if (!canary_tgid)
		return false;
	task = bpf_get_current_task_btf();
	upid_at(task->group_leader->thread_pid, task->thread_pid->level, &up);
	return (__u32)up.nr == canary_tgid && up.ns &&
	       BPF_CORE_READ(up.ns, ns.inum) == canary_pidns;
}

/*
 * Does the user want this call? Cheapest tests first. @call_pid is the
 * call's target pid argument, for --target-other; @has_target is false for
 * an event that has none (it acts on the caller alone): see should_trace().
 */
static __always_inline bool trace_wanted(__u64 pid_tgid, __s32 call_pid, bool has_target)
{
	struct task_struct *task;

	if (is_canary())
		return true;
	if (is_self(pid_tgid))
		return false;
	if (!filter_kinds && filter_scope == MPT_SCOPE_ALL && !container_filter_n && !target_other)
		return true;
	if (filter_on(MPT_FILTER_PID) && !value_listed(MPT_FILTER_PID, pid_tgid >> 32))
		return false;
	if (filter_on(MPT_FILTER_TID) && !value_listed(MPT_FILTER_TID, (__u32)pid_tgid))
		return false;
	if (filter_on(MPT_FILTER_UID) &&
	    !value_listed(MPT_FILTER_UID, (__u32)bpf_get_current_uid_gid()))
		return false;
	if (filter_on(MPT_FILTER_COMM)) {
		struct mpt_filter_key key = {.kind = MPT_FILTER_COMM};

		bpf_get_current_comm(key.val, sizeof(key.val));
		if (!bpf_map_lookup_elem(&filter_values, &key))
			return false;
	}
	task = bpf_get_current_task_btf();
	if (target_other) {
		/* pid is in the caller's pid namespace; 0 and its own pid mean itself */
		struct pid *tp = task->thread_pid;
		struct upid self, leader;

		if (!has_target)
			return false;
		upid_at(tp, tp->level, &self);
		upid_at(task->group_leader->thread_pid, tp->level, &leader);
		if (call_pid == 0 || call_pid == leader.nr || call_pid == self.nr)
			return false;
	}
	if (filter_on(MPT_FILTER_MNTNS) &&
	    !value_listed(MPT_FILTER_MNTNS, task->nsproxy->mnt_ns->ns.inum))
		return false;
	if (filter_on(MPT_FILTER_PIDNS) &&
	    !value_listed(MPT_FILTER_PIDNS, pid_ns_inum(task->thread_pid)))
		return false;
	if (filter_on(MPT_FILTER_EXE) && !exe_listed(task))
		return false;
	if (filter_on(MPT_FILTER_ANCESTOR) && !ancestor_listed(task))
		return false;
	return cgroup_filters_pass(task);
}

/* Capability bits (linux/capability.h) the kernel's checks on these calls use. */
#define CAP_SYS_PTRACE 19
#define CAP_SYS_ADMIN 21
#define CAP_SYS_NICE 23

/*
 * The credentials the kernel checks with: the effective, saved and fs uids
 * and the effective capabilities that matter (MPT_CRED_*). kernel_cap_t is
 * two __u32 before 6.3 and one __u64 since: the same 8 bytes either way.
 */
static __always_inline void fill_creds(struct mpt_rec_hdr *h, struct task_struct *task)
{
	/* straight loads through BTF pointers, as fill_task(): a helper call each cost ~20 ns */
	const struct cred *c = task->cred;
	__u32 euid = c->euid.val;
	__u64 caps = 0;
	__u8 bits = MPT_CRED_KNOWN;

	bpf_probe_read_kernel(&caps, sizeof(caps),
			      __builtin_preserve_access_index(&c->cap_effective));
	bits |= caps >> CAP_SYS_NICE & 1 ? MPT_CRED_CAP_SYS_NICE : 0;
	bits |= caps >> CAP_SYS_PTRACE & 1 ? MPT_CRED_CAP_SYS_PTRACE : 0;
	bits |= caps >> CAP_SYS_ADMIN & 1 ? MPT_CRED_CAP_SYS_ADMIN : 0;
	if (c->user_ns->level)
		bits |= MPT_CRED_CHILD_USERNS;
	if (c->fsuid.val != euid)
		bits |= MPT_CRED_FSUID_DIFFERS;
	h->task.euid = euid;
	h->suid = c->suid.val;
	h->task.cred = bits;
}

/*
 * An executable no directory holds (a memfd: its dentry is its own parent
 * but no mount's root), or one unlinked since it was started. A memfd has
 * no link either, and was never anything but fileless.
 */
static __always_inline __u8 exe_file_state(struct file *exe)
{
	struct dentry *d;

	if (!exe)
		return 0;
	d = exe->f_path.dentry;
	if (d == d->d_parent && d != exe->f_path.mnt->mnt_root)
		return MPT_PROC_EXE_FILELESS;
	return exe->f_inode->i_nlink ? 0 : MPT_PROC_EXE_DELETED;
}

/* The executable at the call. */
static __always_inline __u8 exe_state(struct task_struct *task)
{
	struct mm_struct *mm = task->mm;

	return mm ? exe_file_state(mm->exe_file) : 0;
}

/*
 * Who is calling. Fixed-offset fields are read straight through the task's
 * BTF pointer (inlined loads); only the numbers[level] lookups go through a
 * helper: about 4 helper calls instead of 23, some 200 ns a call here.
 */
static __always_inline void fill_task(struct mpt_task *t, __u64 pid_tgid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_struct *parent = task->real_parent;
	struct pid *tp = task->thread_pid;
	unsigned int level = tp->level;
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct upid up;

	t->host_tgid = pid_tgid >> 32;
	t->host_tid = (__u32)pid_tgid;
	t->host_ptgid = parent->tgid;
	upid_at(tp, level, &up);
	t->ns_tid = up.nr;
	t->pid_ns = up.ns ? BPF_CORE_READ(up.ns, ns.inum) : 0;
	upid_at(task->group_leader->thread_pid, level, &up);
	t->ns_tgid = up.nr;
	upid_at(parent->group_leader->thread_pid, level, &up);
	t->ns_ptgid = up.nr;
	t->uid = (__u32)uid_gid;
	t->gid = uid_gid >> 32;
	t->cgroup_id = bpf_get_current_cgroup_id();
	t->start_ns = task->group_leader->start_boottime;
	t->mnt_ns = task->nsproxy->mnt_ns->ns.inum;
	t->cpu = bpf_get_smp_processor_id();
	t->exe = exe_state(task);
	bpf_get_current_comm(t->comm, sizeof(t->comm));
}

/*
 * Entries to capture: min(count, array_cap), in asm so that the compare and
 * the value stay in one register. In C the compiler spilled the unclamped
 * count before the compare (an ia32 call's 32-bit count), and the 6.1
 * verifier did not carry the bound over to the spilled copy.
 */
static __always_inline __u64 captured_len(__u64 count)
{
	__u64 cap = array_cap;

	asm volatile("if %[n] <= %[cap] goto +1\n\t"
		     "%[n] = %[cap]"
		     : [n] "+r"(count)
		     : [cap] "r"(cap));
	return count;
}

/*
 * Bytes of @n pointers for @abi: compat calls pass 32-bit pointers. Written
 * as 4n plus 4n masked, because the compiler turns a choice of shifts into
 * a shift by a variable amount, which the 6.1 verifier cannot bound (it
 * tracks only ADD, SUB and AND with an unknown operand).
 */
static __always_inline __u64 ptr_bytes(__u8 abi, __u64 n)
{
	__u64 wide = abi == MPT_ABI_X86_64 ? ~0ull : 0;

	barrier_var(wide);
	return (n << 2) + ((n << 2) & wide);
}

/*
 * One call's arguments as the kernel will interpret them (widen_args),
 * which event, and the gate it came through.
 */
struct call_args {
	__u64 arg[6];
	__u16 type; /* enum mpt_record_type */
	__u8 abi;
};

/*
 * Each argument as the kernel takes it from its register, by its row's
 * width (events/events.h): straight-line code for each event, from its rows.
 * @compat: through the ia32 gate, where every register is cut to 32 bits.
 */
static __always_inline void widen_args(struct call_args *a, bool compat)
{
#define MPT_WIDEN_ROW(idx, name, ctype, tags, kind, len, when, width, role)                        \
	if (width == MPT_W_INT)                                                                    \
		a->arg[idx] = (__u64)(__s64)(__s32)a->arg[idx];                                    \
	else if (width == MPT_W_UINT || compat)                                                    \
		a->arg[idx] = (__u32)a->arg[idx];
#define MPT_WIDEN_EVENT(ID, T, name, nr64, nr32)                                                   \
	if (a->type == T) {                                                                        \
		MPT_##ID##_ARGS(MPT_WIDEN_ROW) return;                                             \
	}
	MPT_EVENTS(MPT_WIDEN_EVENT)
#undef MPT_WIDEN_EVENT
#undef MPT_WIDEN_ROW
}

/*
 * The value of the argument of @a's event that has @role (events/events.h),
 * or @none when its event has no such argument.
 */
static __always_inline __u64 arg_of_role(const struct call_args *a, enum mpt_arg_role want,
					 __u64 none)
{
#define MPT_ROLE_ROW(idx, name, ctype, tags, kind, len, when, width, role)                         \
	if (role == want)                                                                          \
		return a->arg[idx];
#define MPT_ROLE_EVENT(ID, T, name, nr64, nr32)                                                    \
	if (a->type == T) {                                                                        \
		MPT_##ID##_ARGS(MPT_ROLE_ROW) return none;                                         \
	}
	MPT_EVENTS(MPT_ROLE_EVENT)
#undef MPT_ROLE_EVENT
#undef MPT_ROLE_ROW
	return none;
}

/* Does @a's event have an argument of role @want? */
static __always_inline bool has_role(const struct call_args *a, enum mpt_arg_role want)
{
#define MPT_HAS_ROW(idx, name, ctype, tags, kind, len, when, width, role) role == want ||
#define MPT_HAS_EVENT(ID, T, name, nr64, nr32)                                                     \
	if (a->type == T)                                                                          \
		return MPT_##ID##_ARGS(MPT_HAS_ROW) false;
	MPT_EVENTS(MPT_HAS_EVENT)
#undef MPT_HAS_EVENT
#undef MPT_HAS_ROW
	return false;
}

/*
 * Does the user want this call? Cheapest tests first; the event's target
 * pid argument for --target-other (an event without one acts on the caller).
 */
static __always_inline bool should_trace(__u64 pid_tgid, const struct call_args *a)
{
	return trace_wanted(pid_tgid, (__s32)arg_of_role(a, MPT_ROLE_TARGET_PID, 0),
			    has_role(a, MPT_ROLE_TARGET_PID));
}

/* Is @type a syscall's record type (events/events.h)? */
static __always_inline bool is_syscall_type(__u16 type)
{
#define MPT_TYPE_ROW(ID, T, name, nr64, nr32) type == T ||
	return MPT_EVENTS(MPT_TYPE_ROW) false;
#undef MPT_TYPE_ROW
}

static __always_inline void fill_hdr(struct mpt_rec_hdr *h, const struct call_args *a,
				     __u64 pid_tgid, __u32 busy_size)
{
	h->size = busy_size; /* busy until the return writes it out */
	h->type = a->type;
	h->version = MPT_EVENT_VERSION;
	h->ts_boot_ns = bpf_ktime_get_boot_ns();
	fill_task(&h->task, pid_tgid);
	fill_creds(h, bpf_get_current_task_btf());
	h->ret = 0;
	h->abi = a->abi;
	mpt_hdr_clear_return(h, MPT_RET_SEEN);
	h->origin = MPT_ORIGIN_ENTRY;
	h->_hdr_pad = 0;
}

/* At most @cap, in one register (see captured_len). */
static __always_inline __u64 clamp_const(__u64 n, __u64 cap)
{
	asm volatile("if %[n] <= %[cap] goto +1\n\t"
		     "%[n] = %[cap]"
		     : [n] "+r"(n)
		     : [cap] "r"(cap));
	return n;
}

/*
 * Bytes of a node mask the kernel reads for @maxnode: get_nodes() takes
 * maxnode - 1 bits, in whole unsigned longs of the caller's ABI; capped.
 * Both roundings are computed and one chosen, not a shift by a variable
 * amount, which the 6.1 verifier cannot bound.
 */
static __always_inline __u64 mask_bytes(__u8 abi, __u64 maxnode)
{
	__u64 bits = maxnode ? maxnode - 1 : 0, b64, b32;

	if (bits > MPT_NODEMASK_BYTES_MAX * 8)
		bits = MPT_NODEMASK_BYTES_MAX * 8;
	b64 = ((bits + 63) >> 6) << 3;
	b32 = ((bits + 31) >> 5) << 2;
	return clamp_const(abi == MPT_ABI_X86_64 ? b64 : b32, MPT_NODEMASK_BYTES_MAX);
}

/* Read one node mask into @dst; its state, and the bytes kept. */
static __always_inline __u64 read_mask(__u8 *dst, __u64 user, __u64 bytes, __u8 *state)
{
	if (!user) {
		*state = MPT_ARRAY_NULL;
		return 0;
	}
	if (bpf_probe_read_user(dst, bytes, (void *)user)) {
		*state = MPT_ARRAY_FAULT;
		return 0;
	}
	*state = MPT_ARRAY_OK;
	return bytes;
}

/* Do @bytes (at most a mask's) at @a and @b differ? Whole words: masks are longs. */
static __always_inline bool mask_differs(const __u8 *a, const __u8 *b, __u64 bytes)
{
	for (__u32 i = 0; i < MPT_NODEMASK_BYTES_MAX / 4; i++) {
		if (i * 4 >= bytes)
			break;
		if (*(const __u32 *)(a + i * 4) != *(const __u32 *)(b + i * 4))
			return true;
	}
	return false;
}

static __always_inline void count_lost(__u32 tgid)
{
	__u64 one = 1, *n = bpf_map_lookup_elem(&lost_by_tgid, &tgid);

	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&lost_by_tgid, &tgid, &one, BPF_NOEXIST);
}

/* Is @h a record of the loader's test call? */
static __always_inline bool from_canary(const struct mpt_rec_hdr *h)
{
	return canary_tgid && h->task.ns_tgid == canary_tgid && h->task.pid_ns == canary_pidns;
}

/*
 * Write @h (@size bytes) to the ring buffer. Wake the reader only when this
 * record takes the queue across the threshold: a forced wake-up is a
 * self-IPI (a VM exit here, several us), and forcing one for every record
 * while a slow reader catches up made each call cost 5 us. The reader polls
 * on a timer anyway.
 */
static __always_inline void emit(struct mpt_rec_hdr *h, __u64 size)
{
	__u64 flags = 0;

	h->size = size;
	if (wakeup_bytes) {
		__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

		ring_queued = avail;
		flags = avail < wakeup_bytes && avail + size >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									     : BPF_RB_NO_WAKEUP;
	}
	if (bpf_ringbuf_output(&events, h, size, flags)) {
		stat_inc(MPT_STAT_RINGBUF_FULL);
		count_lost(h->task.host_tgid);
		if (from_canary(h))
			__sync_fetch_and_add(&canary_lost, 1);
	} else {
		stat_inc(MPT_STAT_EVENTS);
		if (from_canary(h))
			__sync_fetch_and_add(&canary_events, 1);
	}
}

/*
 * Each event's kernel side is a header in bpf/events/ (all of them included
 * here, the list generated from that folder) with, for an event NAME:
 *   NAME_entry(h, args, pid_tgid)  fill a slot at entry: header, arguments, input arrays
 *   NAME_exit(h, ret, entry_seen)  at the return: what it adds (reading the arrays again only
 *                                  when they were read at an entry); the bytes to emit (0: damaged)
 *   NAME_unreturned(h, why)        a call reported from its entry alone; the bytes to emit
 *   NAME_reserve()                 bytes of its largest record (built in the ring itself)
 * and the bodies below pick one by record type, from events/events.h. Each
 * wrapper passes its type as a constant, so each inlines only its own.
 */
#include "call.bpf.h"
#include "bpf_events.h"

static __always_inline void fill_entry(struct mpt_rec_hdr *h, const struct call_args *a,
				       __u64 pid_tgid)
{
#define MPT_ENTRY_ROW(ID, T, name, nr64, nr32)                                                     \
	if (a->type == T) {                                                                        \
		name##_entry(h, a, pid_tgid);                                                      \
		return;                                                                            \
	}
	MPT_EVENTS(MPT_ENTRY_ROW)
#undef MPT_ENTRY_ROW
}

static __always_inline __u64 exit_bytes(struct mpt_rec_hdr *h, long ret, __u16 type,
					bool entry_seen)
{
#define MPT_EXIT_ROW(ID, T, name, nr64, nr32)                                                      \
	if (type == T)                                                                             \
		return name##_exit(h, ret, entry_seen);
	MPT_EVENTS(MPT_EXIT_ROW)
#undef MPT_EXIT_ROW
	return 0;
}

/*
 * @h, of event @type, made a call reported from its entry alone (@why); the
 * bytes to emit. @type is passed, not read from @h, so that for a record
 * built in the ring (only as large as its own event's) the verifier sees
 * only its event's code.
 */
static __always_inline __u64 unreturned_bytes(struct mpt_rec_hdr *h, __u16 type, __u8 why)
{
#define MPT_UNRETURNED_ROW(ID, T, name, nr64, nr32)                                                \
	if (type == T)                                                                             \
		return name##_unreturned(h, why);
	MPT_EVENTS(MPT_UNRETURNED_ROW)
#undef MPT_UNRETURNED_ROW
	return 0;
}

/* Does @h hold a call's entry (not idle, summed or just returned)? */
static __always_inline bool slot_busy(const struct mpt_rec_hdr *h)
{
	return h->size > MPT_SLOT_RETURNED;
}

/*
 * A slot whose return was never seen (a kretprobe out of instances, an fexit
 * skipped while a BPF trampoline was replaced): report thread @tid's call
 * from what its entry captured, marked as such, rather than lose it. Global:
 * the verifier checks its dispatch over every event once per program, not
 * again in every path of a hook that reaches it.
 */
__noinline int emit_without_return(__u32 tid, __u8 why)
{
	struct mpt_rec_hdr *h = bpf_map_lookup_elem(&inflight, &tid);
	__u64 size;

	if (!h || !slot_busy(h))
		return 0;
	size = unreturned_bytes(h, h->type, why);
	if (size)
		emit(h, size);
	return 0;
}

/* Only the owning thread calls this: nobody else can be writing into the slot. */
static __always_inline void free_slot(__u32 tid)
{
	if (!bpf_map_delete_elem(&inflight, &tid))
		__sync_fetch_and_sub(&slots_used, 1);
}

/*
 * The calling thread's slot, made if it has none; NULL when the map is full.
 * A busy slot at entry means this thread's previous return was never seen:
 * the caller reports that call and reuses the slot (every field is
 * rewritten). Looked up before inserting: on 6.1 a BPF_NOEXIST insert over
 * a stale slot was seen to fail with an error other than -EEXIST.
 */
static __always_inline struct mpt_rec_hdr *thread_slot(__u32 tid)
{
	struct mpt_rec_hdr *h = bpf_map_lookup_elem(&inflight, &tid);
	__u32 zero = 0;
	void *tmpl;

	if (h)
		return h;
	tmpl = bpf_map_lookup_elem(&slot_template, &zero);
	if (!tmpl || bpf_map_update_elem(&inflight, &tid, tmpl, BPF_NOEXIST))
		return NULL;
	__sync_fetch_and_add(&slots_used, 1);
	return bpf_map_lookup_elem(&inflight, &tid);
}

/* No slot free: build the record in the ring buffer itself and send it from the entry. */
static __always_inline void report_untracked(const struct call_args *a, __u64 pid_tgid)
{
	__u32 tid = (__u32)pid_tgid;
	struct mpt_rec_hdr *h = NULL;
	__u8 one = 1;

#define MPT_RESERVE_ROW(ID, T, name, nr64, nr32)                                                   \
	if (a->type == T)                                                                          \
		h = bpf_ringbuf_reserve(&events, name##_reserve(), 0);
	MPT_EVENTS(MPT_RESERVE_ROW)
#undef MPT_RESERVE_ROW
	if (!h) {
		stat_inc(MPT_STAT_ENTRY_FAILED);
		return;
	}
	fill_entry(h, a, pid_tgid);
	h->size = unreturned_bytes(h, a->type, MPT_RET_UNTRACKED);
	bpf_ringbuf_submit(h, 0);
	stat_inc(MPT_STAT_EVENTS);
	/* so that its return is not counted as a return without an entry */
	bpf_map_update_elem(&untracked, &tid, &one, BPF_ANY);
}

/*
 * Is the calling process over its fair share? Past its burst it is. Past
 * an eighth of its burst it also is while the ring buffer is half full:
 * many processes starting their bursts at once must not fill the ring, and
 * the other half is kept for callers that have used next to none of theirs.
 */
static __always_inline bool over_budget(__u32 tgid, __u64 now)
{
	__u64 *tat, eighth = fair_tolerance_ns / 8;

	if (!fair_interval_ns)
		return false;
	tat = bpf_map_lookup_elem(&fair_tat, &tgid);
	if (!tat) {
		bpf_map_update_elem(&fair_tat, &tgid, &now, BPF_NOEXIST);
		tat = bpf_map_lookup_elem(&fair_tat, &tgid);
		if (!tat)
			return false;
	}
	if (*tat < now)
		*tat = now;
	if (*tat > now + fair_tolerance_ns)
		return true;
	if (*tat > now + eighth && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
				       bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 2)
		return true;
	__sync_fetch_and_add(tat, fair_interval_ns);
	return false;
}

/* The summary of @a's process and event in this generation, made if need be. */
static __always_inline struct mpt_flood_event *flood_of(const struct call_args *a, __u64 pid_tgid,
							const struct flood_key *key)
{
	struct mpt_flood_event *f = bpf_map_lookup_elem(&flood_sums, key);
	__u32 zero = 0;

	if (f)
		return f;
	f = bpf_map_lookup_elem(&flood_tmpl, &zero);
	if (!f)
		return NULL;
	fill_hdr(&f->hdr, a, pid_tgid, sizeof(*f));
	f->hdr.type = MPT_REC_FLOOD;
	f->event = a->type;
	__builtin_memset(f->_pad, 0, sizeof(f->_pad));
	f->calls = f->pages = f->targets = f->returns = f->failures = 0;
	f->last_ns = f->hdr.ts_boot_ns;
	/* another CPU may have made it meanwhile: then use that one */
	if (!bpf_map_update_elem(&flood_sums, key, f, BPF_NOEXIST))
		__sync_fetch_and_add(&flood_made, 1);
	return bpf_map_lookup_elem(&flood_sums, key);
}

/* Sum a call over budget into its process's summary (in this generation). */
static __always_inline struct mpt_flood_event *flood_add(const struct call_args *a, __u64 pid_tgid,
							 __u64 now, const struct flood_key *key)
{
	struct mpt_flood_event *f = flood_of(a, pid_tgid, key);
	__u32 hash = (__u32)arg_of_role(a, MPT_ROLE_TARGET_PID, 0) * 2654435761u;

	if (!f) {
		__sync_fetch_and_add(&flood_unsummed, 1);
		return NULL;
	}
	__sync_fetch_and_add(&f->calls, 1);
	if (has_role(a, MPT_ROLE_PAGE_COUNT))
		__sync_fetch_and_add(&f->pages, arg_of_role(a, MPT_ROLE_PAGE_COUNT, 0));
	f->targets |= 1ull << (hash >> 26); /* racy, and a floor anyway */
	f->last_ns = now;
	return f;
}

/* At entry: sum the call, and mark the thread so that its return adds its result. */
static __always_inline void flood_sum(const struct call_args *a, __u64 pid_tgid, __u64 now)
{
	struct flood_key key = {.epoch = flood_epoch, .tgid = pid_tgid >> 32, .type = a->type};
	__u32 tid = (__u32)pid_tgid;
	struct mpt_rec_hdr *h;
	__u8 one = 1;

	if (!flood_add(a, pid_tgid, now, &key))
		return;
	h = thread_slot(tid);
	if (!h) {
		/* so that its return is not counted as a return without an entry */
		bpf_map_update_elem(&untracked, &tid, &one, BPF_ANY);
		return;
	}
	if (slot_busy(h))
		emit_without_return(tid, MPT_RET_MISSED);
	h->size = MPT_SLOT_SUMMED;
	h->type = a->type;
	h->ret = key.epoch;
}

/* The return of a call that was summed: its result goes to the summary. */
/* A summed call's result (@f may be NULL: the summary is gone, or never was). */
static __always_inline void flood_result(struct mpt_flood_event *f, long ret)
{
	if (!f)
		return;
	__sync_fetch_and_add(&f->returns, 1);
	if (ret < 0)
		__sync_fetch_and_add(&f->failures, 1);
}

static __always_inline void flood_return(struct mpt_rec_hdr *h, __u64 pid_tgid, long ret)
{
	struct flood_key key = {.epoch = h->ret, .tgid = pid_tgid >> 32, .type = h->type};

	h->size = MPT_SLOT_RETURNED;
	flood_result(bpf_map_lookup_elem(&flood_sums, &key), ret);
}

static __always_inline int on_enter(const struct call_args *a)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct mpt_rec_hdr *h;

	if (!should_trace(pid_tgid, a))
		return 0;
	cgroup_note(bpf_get_current_cgroup_id());
	if (fair_interval_ns) {
		__u64 now = bpf_ktime_get_boot_ns();

		if (over_budget(pid_tgid >> 32, now)) {
			flood_sum(a, pid_tgid, now);
			return 0;
		}
	}
	h = thread_slot(tid);
	if (!h) {
		report_untracked(a, pid_tgid);
		return 0;
	}
	if (slot_busy(h))
		emit_without_return(tid, MPT_RET_MISSED);
	fill_entry(h, a, pid_tgid);
	return 0;
}

/* The syscall's own pt_regs (the user registers). */
#if defined(__TARGET_ARCH_x86)
#define TS_COMPAT 0x0002      /* arch/x86/include/asm/thread_info.h */
#define SECCOMP_MODE_FILTER 2 /* include/uapi/linux/seccomp.h */
#else
#error "mptrace: only x86_64 is supported so far (syscall gates)"
#endif

/* A native-gate call with the x32 bit in its number passes 32-bit pointers. */
static __always_inline __u8 native_abi(__u64 orig_ax)
{
	return orig_ax & MPT_X32_SYSCALL_BIT ? MPT_ABI_X32 : MPT_ABI_X86_64;
}

/* The caller has a seccomp filter and the call failed: refused before it ran, most likely. */
static __always_inline bool refused_by_seccomp(long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return ret < 0 && bpf_core_field_exists(task->seccomp) &&
	       task->seccomp.mode == SECCOMP_MODE_FILTER;
}

/*
 * A call of event @type whose entry was never seen, at its return (@ret):
 * its arguments from the caller's registers (the kernel keeps them until
 * the return), its arrays read now, then what the return adds, as for any
 * call; @origin says which.
 */
static __always_inline int report_from_return(__u16 type, long ret, __u8 origin)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct call_args a = {.type = type};
	struct mpt_rec_hdr *h;
	__u64 size;

	if (!regs || !is_syscall_type(type))
		return 0;
	if (task->thread_info.status & TS_COMPAT) {
		a.abi = MPT_ABI_IA32;
		a.arg[0] = regs->bx;
		a.arg[1] = regs->cx;
		a.arg[2] = regs->dx;
		a.arg[3] = regs->si;
		a.arg[4] = regs->di;
		a.arg[5] = regs->bp;
	} else {
		a.abi = native_abi(regs->orig_ax);
		a.arg[0] = regs->di;
		a.arg[1] = regs->si;
		a.arg[2] = regs->dx;
		a.arg[3] = regs->r10;
		a.arg[4] = regs->r8;
		a.arg[5] = regs->r9;
	}
	widen_args(&a, a.abi == MPT_ABI_IA32);
	if (!should_trace(pid_tgid, &a))
		return 0;
	if (origin == MPT_ORIGIN_RETURN)
		__sync_fetch_and_add(&at_return, 1);
	cgroup_note(bpf_get_current_cgroup_id());
	if (fair_interval_ns && over_budget(pid_tgid >> 32, bpf_ktime_get_boot_ns())) {
		struct flood_key key = {.epoch = flood_epoch, .tgid = pid_tgid >> 32, .type = type};
		/* the call and its result at once */
		flood_result(flood_add(&a, pid_tgid, bpf_ktime_get_boot_ns(), &key), ret);
		h = bpf_map_lookup_elem(&inflight, &(__u32){(__u32)pid_tgid});
		if (h && !slot_busy(h) && origin == MPT_ORIGIN_RETURN)
			h->size = MPT_SLOT_RETURNED;
		return 0;
	}
	h = thread_slot((__u32)pid_tgid);
	if (!h) {
		stat_inc(MPT_STAT_NO_ENTRY);
		return 0;
	}
	fill_entry(h, &a, pid_tgid);
	h->origin = origin;
	h->ret = ret;
	/* the arrays were just read: nothing to read again */
	size = exit_bytes(h, ret, type, false);
	if (size)
		emit(h, size);
	/* a return hook ran: the raw sys_exit that follows must know (refused_exit) */
	h->size = origin == MPT_ORIGIN_RETURN ? MPT_SLOT_RETURNED : 0;
	return 0;
}

/*
 * report_from_return() for each event: global, so each is verified once in a
 * program that uses it, not in every hook, and holds only its own event's
 * code (a hook of one syscall verifies one of them).
 */
#define MPT_AT_RETURN_FN(ID, T, name, nr64, nr32)                                                  \
	__noinline int report_at_return_##name(long ret, __u8 origin)                              \
	{                                                                                          \
		return report_from_return(T, ret, origin);                                         \
	}
MPT_EVENTS(MPT_AT_RETURN_FN)
#undef MPT_AT_RETURN_FN

static __always_inline int report_at_return(__u16 type, long ret, __u8 origin)
{
#define MPT_AT_RETURN_ROW(ID, T, name, nr64, nr32)                                                 \
	if (type == T)                                                                             \
		return report_at_return_##name(ret, origin);
	MPT_EVENTS(MPT_AT_RETURN_ROW)
#undef MPT_AT_RETURN_ROW
	return 0;
}

/* The return of a call of event @type (a constant in each wrapper). */
static __always_inline int on_exit(long ret, __u16 type)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct mpt_rec_hdr *h;
	__u64 size;

	if (is_self(pid_tgid))
		return 0;
	h = bpf_map_lookup_elem(&inflight, &tid);
	if (h && h->size == MPT_SLOT_SUMMED && h->type == type) {
		flood_return(h, pid_tgid, ret);
		return 0;
	}
	if (h && slot_busy(h) && h->type != type) {
		/* another syscall's entry whose return was missed, and this call's entry too */
		emit_without_return(tid, MPT_RET_MISSED);
		h->size = 0;
	}
	if (!h || !slot_busy(h)) {
		/* reported at its entry already */
		if (bpf_map_delete_elem(&untracked, &tid) == 0)
			return 0;
		/* a call that began after tracing stopped is none of ours */
		if (!entry_detached)
			report_at_return(type, ret,
					 exit_hook_is_sys_exit && refused_by_seccomp(ret)
					     ? MPT_ORIGIN_REFUSED
					     : MPT_ORIGIN_RETURN);
		return 0;
	}

	h->ret = ret;
	h->duration_ns = bpf_ktime_get_boot_ns() - h->ts_boot_ns;
	size = exit_bytes(h, ret, type, true);
	if (size)
		emit(h, size);
	h->size = MPT_SLOT_RETURNED; /* idle */
	if (slots_used > max_inflight / 2)
		free_slot(tid);
	return 0;
}

/*
 * A thread that exits frees its slot, so that dead threads never hold one.
 * A busy slot at that point lost its return (a missed kretprobe or fexit):
 * report that call first.
 */
#include "lineage.bpf.h"

SEC("raw_tracepoint/sched_process_exit")
int thread_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mpt_rec_hdr *h = bpf_map_lookup_elem(&inflight, &tid);

	if (h) {
		if (slot_busy(h))
			emit_without_return(tid, MPT_RET_MISSED);
		free_slot(tid);
	}
	bpf_map_delete_elem(&untracked, &tid);
	proc_exit();
	return 0;
}

static __always_inline int enter_native(__u16 type, __u64 a0, __u64 a1, __u64 a2, __u64 a3,
					__u64 a4, __u64 a5, __u64 orig_ax)
{
	struct call_args a = {
	    .arg = {a0, a1, a2, a3, a4, a5},
	    .type = type,
	    .abi = native_abi(orig_ax),
	};

	widen_args(&a, false);
	return on_enter(&a);
}

/*
 * The ia32 gate (int 0x80, sysenter, a 32-bit syscall): arguments in
 * bx, cx, dx, si, di, bp, each 32 bits wide, as the kernel's ia32 wrappers
 * truncate them (widen_args); a 64-bit caller's upper register halves must
 * not fool us.
 */
static __always_inline int enter_ia32(__u16 type, const struct pt_regs *regs)
{
	struct call_args a = {
	    .arg = {BPF_CORE_READ(regs, bx), BPF_CORE_READ(regs, cx), BPF_CORE_READ(regs, dx),
		    BPF_CORE_READ(regs, si), BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, bp)},
	    .type = type,
	    .abi = MPT_ABI_IA32,
	};

	widen_args(&a, true);
	return on_enter(&a);
}

/*
 * kprobe entry: not BPF_KSYSCALL: in libbpf 1.1 it reads at most five
 * arguments, and move_pages' flags is the sixth. With a syscall wrapper
 * (x86_64 since 4.17) the arguments sit in the user pt_regs that the wrapper
 * gets as its first argument.
 */
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;

static __always_inline int kprobe_native(__u16 type, struct pt_regs *ctx)
{
	struct pt_regs *regs;

	if (!LINUX_HAS_SYSCALL_WRAPPER)
		return enter_native(type, PT_REGS_PARM1_SYSCALL(ctx), PT_REGS_PARM2_SYSCALL(ctx),
				    PT_REGS_PARM3_SYSCALL(ctx), PT_REGS_PARM4_SYSCALL(ctx),
				    PT_REGS_PARM5_SYSCALL(ctx), ctx->r9, ctx->orig_ax);

	regs = (struct pt_regs *)PT_REGS_PARM1(ctx);
	return enter_native(type, PT_REGS_PARM1_CORE_SYSCALL(regs),
			    PT_REGS_PARM2_CORE_SYSCALL(regs), PT_REGS_PARM3_CORE_SYSCALL(regs),
			    PT_REGS_PARM4_CORE_SYSCALL(regs), PT_REGS_PARM5_CORE_SYSCALL(regs),
			    BPF_CORE_READ(regs, r9), BPF_CORE_READ(regs, orig_ax));
}

/* fentry entry: the wrapper's pt_regs are a BTF pointer, read directly. */
static __always_inline int fentry_native(__u16 type, struct pt_regs *regs)
{
	return enter_native(type, PT_REGS_PARM1_SYSCALL(regs), PT_REGS_PARM2_SYSCALL(regs),
			    PT_REGS_PARM3_SYSCALL(regs), PT_REGS_PARM4_SYSCALL(regs),
			    PT_REGS_PARM5_SYSCALL(regs), regs->r9, regs->orig_ax);
}

/*
 * The hooks of one syscall, two lines each: in each attach mode a native
 * pair and an ia32 pair (kprobe, fentry; the loader sets the targets), and
 * the syscall tracepoints. The loader finds them by name
 * (<mode>_<enter|exit>[_ia32]_<syscall>) and loads only what it uses.
 */
#define MPT_SYSCALL_HOOKS(name, TYPE, NARGS)                                                       \
	SEC("kprobe")                                                                              \
	int kprobe_enter_##name(struct pt_regs *ctx)                                               \
	{                                                                                          \
		return kprobe_native(TYPE, ctx);                                                   \
	}                                                                                          \
	SEC("kretprobe")                                                                           \
	int BPF_KRETPROBE(kprobe_exit_##name, long ret)                                            \
	{                                                                                          \
		return on_exit(ret, TYPE);                                                         \
	}                                                                                          \
	SEC("kprobe")                                                                              \
	int kprobe_enter_ia32_##name(struct pt_regs *ctx)                                          \
	{                                                                                          \
		return enter_ia32(TYPE, (const struct pt_regs *)PT_REGS_PARM1(ctx));               \
	}                                                                                          \
	SEC("kretprobe")                                                                           \
	int BPF_KRETPROBE(kprobe_exit_ia32_##name, long ret)                                       \
	{                                                                                          \
		return on_exit(ret, TYPE);                                                         \
	}                                                                                          \
	SEC("fentry")                                                                              \
	int BPF_PROG(fentry_enter_##name, struct pt_regs *regs)                                    \
	{                                                                                          \
		return fentry_native(TYPE, regs);                                                  \
	}                                                                                          \
	SEC("fexit")                                                                               \
	int BPF_PROG(fentry_exit_##name, struct pt_regs *regs, long ret)                           \
	{                                                                                          \
		return on_exit(ret, TYPE);                                                         \
	}                                                                                          \
	SEC("fentry")                                                                              \
	int BPF_PROG(fentry_enter_ia32_##name, struct pt_regs *regs)                               \
	{                                                                                          \
		return enter_ia32(TYPE, regs);                                                     \
	}                                                                                          \
	SEC("fexit")                                                                               \
	int BPF_PROG(fentry_exit_ia32_##name, struct pt_regs *regs, long ret)                      \
	{                                                                                          \
		return on_exit(ret, TYPE);                                                         \
	}                                                                                          \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                                \
	int tracepoint_enter_##name(struct trace_event_raw_sys_enter *ctx)                         \
	{                                                                                          \
		/* the record has only the syscall's own arguments */                              \
		return enter_native(TYPE, ctx->args[0], NARGS > 1 ? ctx->args[1] : 0,              \
				    NARGS > 2 ? ctx->args[2] : 0, NARGS > 3 ? ctx->args[3] : 0,    \
				    NARGS > 4 ? ctx->args[4] : 0, NARGS > 5 ? ctx->args[5] : 0,    \
				    0);                                                            \
	}                                                                                          \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                 \
	int tracepoint_exit_##name(struct trace_event_raw_sys_exit *ctx)                           \
	{                                                                                          \
		return on_exit(ctx->ret, TYPE);                                                    \
	}

#define MPT_HOOKS_ROW(ID, T, name, nr64, nr32) MPT_SYSCALL_HOOKS(name, T, MPT_##ID##_NARGS)
MPT_EVENTS(MPT_HOOKS_ROW)
#undef MPT_HOOKS_ROW

/*
 * On x86 the syscalls:* tracepoints skip every 32-bit call (ia32 and x32),
 * so tracepoint mode sees those through the raw sys_enter/sys_exit
 * tracepoints (BTF-typed: plain loads, no helper calls), which fire for
 * every syscall: the first tests below are all an untraced syscall pays.
 * An ia32 number is also a native syscall's (317 is seccomp), so an ia32
 * call is told apart by the task's TS_COMPAT, which the kernel sets at the
 * ia32 gate and clears only on the way back to user space.
 */

/*
 * The syscall a return belongs to: the kernel takes the low 32 bits of rax
 * (sign-extended, as sys_enter's id gives it); orig_ax keeps the whole
 * register, so a call with junk in the upper half would look like none.
 */
static __always_inline __u64 syscall_nr(const struct pt_regs *regs)
{
	return (__u64)(__s64)(__s32)regs->orig_ax;
}

/* @type if --event traces it, else 0. */
static __always_inline __u16 if_traced(__u16 type)
{
	return traced_events & (1u << type) ? type : 0;
}

/* The event of a 32-bit syscall number @id (0: none traced), and its ABI in @abi. */
static __always_inline __u16 compat_event(__u64 id, __u8 *abi)
{
	struct task_struct *task;

	*abi = MPT_ABI_IA32;
#define MPT_IA32_ROW(ID, T, name, nr64, nr32)                                                      \
	if (id == nr32) {                                                                          \
		task = bpf_get_current_task_btf();                                                 \
		return task->thread_info.status & TS_COMPAT ? if_traced(T) : 0;                    \
	}
	MPT_EVENTS(MPT_IA32_ROW)
#undef MPT_IA32_ROW
	*abi = MPT_ABI_X32;
#define MPT_X32_ROW(ID, T, name, nr64, nr32)                                                       \
	if (id == (MPT_X32_SYSCALL_BIT | nr64))                                                    \
		return if_traced(T);
	MPT_EVENTS(MPT_X32_ROW)
#undef MPT_X32_ROW
	if (id == (MPT_X32_SYSCALL_BIT | MPT_NR_MOVE_PAGES_X32_OLD))
		return if_traced(MPT_REC_MOVE_PAGES);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(tp_compat_enter, struct pt_regs *regs, long id)
{
	__u8 abi;
	__u16 type = compat_event(id, &abi);

	if (!type)
		return 0;
	if (abi == MPT_ABI_IA32)
		return enter_ia32(type, regs);
	return enter_native(type, regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9, id);
}

/*
 * kprobe and fentry modes: a call refused before it ran (a seccomp filter)
 * never reaches the syscall's function, so neither of its hooks runs; the
 * raw sys_exit tracepoint still does. A call whose return hook ran left its
 * thread's slot MPT_SLOT_RETURNED; without a slot, a call that ran would
 * have had one kept, unless the map was over half full (then say nothing).
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(refused_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task;
	struct mpt_rec_hdr *h;
	__u16 type = 0;
	__u32 tid;
	__u64 nr;
	__u8 abi;

	if (ret >= 0)
		return 0;
	task = bpf_get_current_task_btf();
	nr = syscall_nr(regs);
	if (task->thread_info.status & TS_COMPAT) {
		type = compat_event(nr, &abi);
	} else {
#define MPT_NATIVE_ROW(ID, T, name, nr64, nr32)                                                    \
	if (nr == nr64)                                                                            \
		type = if_traced(T);
		MPT_EVENTS(MPT_NATIVE_ROW)
#undef MPT_NATIVE_ROW
		if (!type)
			type = compat_event(nr, &abi);
	}
	if (!type || !refused_by_seccomp(ret))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	h = bpf_map_lookup_elem(&inflight, &tid);
	if (h && h->size == MPT_SLOT_RETURNED) {
		h->size = 0;
		return 0;
	}
	if (h ? h->size != 0 : slots_used > max_inflight / 2)
		return 0;
	return report_at_return(type, ret, MPT_ORIGIN_REFUSED);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tp_compat_exit, struct pt_regs *regs, long ret)
{
	__u8 abi;
	__u16 type = compat_event(syscall_nr(regs), &abi);

	/* a constant type for each on_exit(), so that each inlines only its own branch */
#define MPT_COMPAT_EXIT_ROW(ID, T, name, nr64, nr32)                                               \
	if (type == T)                                                                             \
		return on_exit(ret, T);
	MPT_EVENTS(MPT_COMPAT_EXIT_ROW)
#undef MPT_COMPAT_EXIT_ROW
	return 0;
}
