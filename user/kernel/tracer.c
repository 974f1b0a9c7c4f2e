// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include "kernel/tracer.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/attach.h"
#include "kernel/kretprobe.h"
#include "kernel/ring.h"
#include "util/log.h"
#include "kernel/privs.h"
#include "mptrace.skel.h"

/*
 * The links of one attached mode: per event its native and 32-bit pairs,
 * and what every event shares. Exits are attached before entries.
 */
enum ev_link { EL_EXIT, EL_COMPAT_EXIT, EL_ENTER, EL_COMPAT_ENTER, EL_NR };
enum shared_link {
	SL_THREAD_EXIT,
	SL_PROC_FORK,
	SL_PROC_EXEC,
	SL_KVIEW,
	SL_KVIEW_PMD,
	SL_RAW_EXIT,
	SL_REFUSED,
	SL_RAW_ENTER,
	SL_NR
};

/* kprobe mode's probes of one event: returns and entries, native and ia32. */
enum kprobe_slot { KP_RET, KP_RET32, KP_ENTER, KP_ENTER32, KP_NR };

struct mpt_tracer {
	struct mpt_tracer_opts opts;
	struct mptrace_bpf *skel;
	struct bpf_link *ev_link[MPT_EVENT_NR][EL_NR];
	struct bpf_link *shared[SL_NR];
	/* kprobe mode: the probes made through tracefs (enum kprobe_slot) */
	struct mpt_kretprobe kret[MPT_EVENT_NR][KP_NR];
	bool compat;
	char compat_why[MPT_REASON_LEN];
	bool kview;	/* migrate:remove_migration_pte attached */
	bool kview_pmd; /* ... and thp:remove_migration_pmd (transparent huge pages) */
#define MPT_EVENT_NAME_LEN(ID, T, name, nr64, nr32) +sizeof(#name) + 2
	/* "move_pages, migrate_pages": what is attached; room for every event's name */
	char events[1 MPT_EVENTS(MPT_EVENT_NAME_LEN)];
#undef MPT_EVENT_NAME_LEN
	struct mpt_ring *rb;
	enum mpt_attach_mode mode;
	uint64_t received;
	uint64_t malformed;
	uint64_t proc_malformed;
	uint64_t unfinished;
	uint64_t kret_missed;	/* kept at stop, when the probes go */
	uint64_t kentry_missed; /* entries the kprobes missed, kept when they go */
	uint32_t budget;	/* records left in this poll; 0: no limit */
	/* prove_delivery's test call: its process, its pid namespace, the events seen */
	uint32_t canary_pid, canary_pidns, canary_seen;
	bool canary_ia32; /* the test calls go through the ia32 gate too */
	/* at stop: past this (CLOCK_MONOTONIC ns) records are counted, not handed on */
	int64_t stop_deadline;
	uint64_t unread;
	/* flood summaries: when the generation moves on next (CLOCK_MONOTONIC ns), what came */
	int64_t next_epoch_ns;
	uint64_t summed_calls, summaries, collected;
	/* ring-full losses by process, as last read: what is new is told once */
	struct lost_seen {
		uint32_t tgid;
		uint64_t count;
	} lost_seen[MPT_LOST_PROCS];
	unsigned int lost_seen_n;
};

/* How often the summaries' generation moves on: summaries come within two of these. */
#define MPT_EPOCH_MS 1000

/*
 * What a stop may spend reading the ring: under any backlog mptrace stops
 * within about a second (detaching, this, the outputs' drain); what is left
 * is counted as unread_at_stop, not read.
 */
#define MPT_STOP_READ_MS 350

/*
 * Records one mpt_tracer_poll hands on at most: under any load the caller is
 * back within a few milliseconds to see signals, timers and the watchdog.
 */
#define MPT_POLL_BUDGET 2048
/* handle_sample's way to end a consume early; libbpf consumes the record first */
#define BUDGET_SPENT (-EALREADY)

void mpt_tracer_opts_default(struct mpt_tracer_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->attach = MPT_ATTACH_AUTO;
	o->array_cap = MPT_ARRAY_CAP_DEFAULT;
	o->ringbuf_bytes = MPT_RINGBUF_DEFAULT;
	o->max_inflight = MPT_MAX_INFLIGHT_DEFAULT;
	o->fair_rate = MPT_FAIR_RATE_DEFAULT;
	o->fair_burst = MPT_FAIR_BURST_DEFAULT;
}

/* One event's programs in one attach mode: the native pair, the 32-bit gates' pair. */
struct mode_progs {
	struct bpf_program *enter, *exit, *compat_enter, *compat_exit;
};

/*
 * The BPF side names them <mode>_<enter|exit>[_ia32]_<syscall>
 * (MPT_SYSCALL_HOOKS); tracepoint mode's 32-bit pair is the raw syscall
 * tracepoints every event shares.
 */
static void mode_progs(struct mptrace_bpf *skel, enum mpt_attach_mode mode,
		       const struct mpt_event_desc *d, struct mode_progs *p)
{
	const char *m = mpt_attach_name(mode);
	char name[96];

	snprintf(name, sizeof(name), "%s_enter_%s", m, d->name);
	p->enter = bpf_object__find_program_by_name(skel->obj, name);
	snprintf(name, sizeof(name), "%s_exit_%s", m, d->name);
	p->exit = bpf_object__find_program_by_name(skel->obj, name);
	if (mode == MPT_ATTACH_TRACEPOINT) {
		p->compat_enter = skel->progs.tp_compat_enter;
		p->compat_exit = skel->progs.tp_compat_exit;
		return;
	}
	snprintf(name, sizeof(name), "%s_enter_ia32_%s", m, d->name);
	p->compat_enter = bpf_object__find_program_by_name(skel->obj, name);
	snprintf(name, sizeof(name), "%s_exit_ia32_%s", m, d->name);
	p->compat_exit = bpf_object__find_program_by_name(skel->obj, name);
}

/* The events traced, in events/ order: each index is also its slot in the link tables. */
#define for_each_traced_event(t_opts, i, d)                                                        \
	for ((i) = 0; ((d) = mpt_event_desc_at(i)); (i)++)                                         \
		if (mpt_filter_event_on(&(t_opts)->filter, (d)))

static int64_t mpt_now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static const char *errstr(int err)
{
	return strerror(err < 0 ? -err : err);
}

static const char *eperm_hint(int err)
{
	if (err != -EPERM)
		return "";
	if (!mpt_can_bpf())
		return " (needs root, or CAP_BPF and CAP_PERFMON: this process lacks them)";
	return " (refused although privileged: this kernel does not allow it)";
}

static uint32_t filter_kinds(const struct mpt_filter *f)
{
	uint32_t mask = 0;

	for (int k = 0; k < MPT_FILTER_NR; k++)
		if (f->n[k])
			mask |= 1u << k;
	return mask;
}

static uint32_t filter_values_n(const struct mpt_filter *f)
{
	uint32_t n = 0;

	for (int k = 0; k < MPT_FILTER_NR; k++)
		n += f->n[k];
	return n ? n : 1;
}

/* After load, before attach: the values the programs look up. */
static int fill_filter_maps(struct mptrace_bpf *skel, const struct mpt_filter *f, char *why,
			    size_t len)
{
	int vfd = bpf_map__fd(skel->maps.filter_values);
	int cfd = bpf_map__fd(skel->maps.container_filter);
	uint8_t one = 1;
	int err = 0;

	for (int k = 0; k < MPT_FILTER_NR && !err; k++) {
		for (uint32_t i = 0; i < f->n[k] && !err; i++) {
			struct mpt_filter_key key = {.kind = k};

			if (k == MPT_FILTER_COMM)
				memcpy(key.val, f->comm[i], MPT_TASK_COMM_LEN);
			else
				memcpy(key.val, &f->val[k][i], sizeof(f->val[k][i]));
			if (k == MPT_FILTER_EXE)
				memcpy(key.val + 8, &f->exe_dev[i], sizeof(f->exe_dev[i]));
			err = bpf_map_update_elem(vfd, &key, &one, BPF_ANY);
		}
	}
	for (uint32_t i = 0; i < f->n_container && !err; i++) {
		struct mpt_container_prefix p = {.len = strlen(f->container[i])};

		memcpy(p.id, f->container[i], p.len);
		err = bpf_map_update_elem(cfd, &i, &p, BPF_ANY);
	}
	if (err) {
		err = -errno;
		snprintf(why, len, "setting up the filters failed: %s", errstr(err));
	}
	return err;
}

/* The inode of the host's pid namespace: init_pid_ns's, fixed (PROC_PID_INIT_INO). */
#define MPT_INIT_PIDNS_INO 0xEFFFFFFCu

/* The loader's own pid namespace, as records name it (the inode of /proc/self/ns/pid). */
static uint32_t self_pidns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) ? 0 : (uint32_t)st.st_ino;
}

/* 0 in the host's pid namespace, else our own namespace's inode: getpid() is a pid there. */
static uint32_t own_pidns_if_not_hosts(void)
{
	uint32_t ns = self_pidns();

	return ns == MPT_INIT_PIDNS_INO ? 0 : ns;
}

/* The settings the programs read as constants: the verifier prunes what they turn off. */
static void set_rodata(struct mptrace_bpf *skel, const struct mpt_tracer_opts *o,
		       enum mpt_attach_mode mode)
{
	const struct mpt_event_desc *d;
	unsigned int i;

	skel->rodata->array_cap = o->array_cap;
	skel->rodata->self_tgid = mpt_self_tgid();
	skel->rodata->self_pidns = own_pidns_if_not_hosts();
	skel->rodata->filter_kinds = filter_kinds(&o->filter);
	/* names are checked in user space, on what the kernel keeps: containers */
	skel->rodata->filter_scope = mpt_filter_has_container_names(&o->filter)
					 ? MPT_SCOPE_CONTAINERS_ONLY
					 : o->filter.scope;
	skel->rodata->container_filter_n = o->filter.n_container;
	skel->rodata->target_other = o->filter.target_other;
	skel->rodata->wakeup_bytes = o->ringbuf_bytes / 4;
	skel->rodata->max_inflight = o->max_inflight;
	skel->rodata->exit_hook_is_sys_exit = mode == MPT_ATTACH_TRACEPOINT;
	if (o->fair_rate) {
		skel->rodata->fair_interval_ns = 1000000000ull / o->fair_rate;
		skel->rodata->fair_tolerance_ns =
		    (uint64_t)o->fair_burst * (1000000000ull / o->fair_rate);
	}
	skel->rodata->traced_events = 0;
	for_each_traced_event(o, i, d) skel->rodata->traced_events |= MPT_EVENT_BIT(d->type);
}

/* Only @mode's programs for the traced events load (@compat: their 32-bit pair too). */
static void set_autoload(struct mptrace_bpf *skel, const struct mpt_tracer_opts *o,
			 enum mpt_attach_mode mode, bool compat)
{
	const struct mpt_event_desc *d;
	char kview_why[MPT_REASON_LEN];
	struct bpf_program *prog;
	struct mode_progs p;
	unsigned int i;
	bool kview;

	/* the kernel's own view, where the kernel has its tracepoint (CO-RE needs its type) */
	kview = (skel->rodata->traced_events & MPT_EVENT_BIT(MPT_REC_MOVE_PAGES)) &&
		mpt_kernel_view_available(kview_why, sizeof(kview_why));
	bpf_object__for_each_program(prog, skel->obj)
	{
		bool shared = prog == skel->progs.thread_exit || prog == skel->progs.proc_fork ||
			      prog == skel->progs.proc_exec ||
			      (kview && prog == skel->progs.kview_migrated) ||
			      (kview && prog == skel->progs.kview_migrated_pmd &&
			       mpt_kernel_view_pmd_available()) ||
			      (mode != MPT_ATTACH_TRACEPOINT && prog == skel->progs.refused_exit);

		bpf_program__set_autoload(prog, shared);
	}
	for_each_traced_event(o, i, d)
	{
		char fn[64];

		mode_progs(skel, mode, d, &p);
		bpf_program__set_autoload(p.enter, true);
		bpf_program__set_autoload(p.exit, true);
		if (compat) {
			bpf_program__set_autoload(p.compat_enter, true);
			bpf_program__set_autoload(p.compat_exit, true);
		}
		if (mode != MPT_ATTACH_FENTRY)
			continue;
		mpt_syscall_fn(d->name, false, fn, sizeof(fn));
		bpf_program__set_attach_target(p.enter, 0, fn);
		bpf_program__set_attach_target(p.exit, 0, fn);
		mpt_syscall_fn(d->name, true, fn, sizeof(fn));
		bpf_program__set_attach_target(p.compat_enter, 0, fn);
		bpf_program__set_attach_target(p.compat_exit, 0, fn);
	}
}

/* Open and configure the object so that only @mode's programs load (@compat: its 32-bit pair). */
static int open_for_mode(const struct mpt_tracer_opts *o, enum mpt_attach_mode mode, bool compat,
			 struct mptrace_bpf **out, char *why, size_t len)
{
	uint32_t slot = mpt_slot_bytes(o->array_cap);
	struct mptrace_bpf *skel;
	int err;

	skel = mptrace_bpf__open();
	if (!skel) {
		err = -errno;
		snprintf(why, len, "opening the BPF object failed: %s", errstr(err));
		return err;
	}
	set_rodata(skel, o, mode);
	set_autoload(skel, o, mode, compat);
	/* A slot holds the header plus array_cap entries of each array. */
	err = bpf_map__set_value_size(skel->maps.inflight, slot);
	err = err ?: bpf_map__set_value_size(skel->maps.slot_template, slot);
	err = err ?: bpf_map__set_max_entries(skel->maps.inflight, o->max_inflight);
	err = err ?: bpf_map__set_max_entries(skel->maps.events, o->ringbuf_bytes);
	err =
	    err ?: bpf_map__set_max_entries(skel->maps.filter_values, filter_values_n(&o->filter));
	if (err) {
		snprintf(why, len, "configuring the BPF maps failed: %s", errstr(err));
		mptrace_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

static void detach_entries(struct mpt_tracer *t)
{
	for (int e = 0; e < MPT_EVENT_NR; e++) {
		for (int k = KP_ENTER; k <= KP_ENTER32; k++) {
			t->kentry_missed += mpt_kretprobe_missed(&t->kret[e][k]);
			mpt_kretprobe_detach(&t->kret[e][k]);
		}
		bpf_link__destroy(t->ev_link[e][EL_ENTER]);
		bpf_link__destroy(t->ev_link[e][EL_COMPAT_ENTER]);
		t->ev_link[e][EL_ENTER] = t->ev_link[e][EL_COMPAT_ENTER] = NULL;
	}
	bpf_link__destroy(t->shared[SL_RAW_ENTER]);
	t->shared[SL_RAW_ENTER] = NULL;
}

static void detach_all(struct mpt_tracer *t)
{
	detach_entries(t);
	for (int e = 0; e < MPT_EVENT_NR; e++) {
		for (int i = EL_NR - 1; i >= 0; i--) {
			bpf_link__destroy(t->ev_link[e][i]);
			t->ev_link[e][i] = NULL;
		}
		mpt_kretprobe_detach(&t->kret[e][KP_RET]);
		mpt_kretprobe_detach(&t->kret[e][KP_RET32]);
	}
	for (int i = SL_NR - 1; i >= 0; i--) {
		bpf_link__destroy(t->shared[i]);
		t->shared[i] = NULL;
	}
}

/* Runs of @prog the kernel skipped: another BPF program was running on that CPU. */
static uint64_t prog_misses(struct bpf_program *prog)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = prog ? bpf_program__fd(prog) : -1;

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.recursion_misses;
}

/*
 * Runs of the syscall hooks the kernel skipped (fentry's trampoline, and
 * kprobes and tracepoints, skip a program while one is running on that CPU,
 * as a preemptible kernel allows): each may be a call neither reported nor
 * counted, so they are reported, not left in the kernel's counters. The raw
 * 32-bit hooks run for every syscall: their skips count other syscalls too.
 */
static uint64_t hooks_skipped(const struct mpt_tracer *t, bool entries_only)
{
	const struct mpt_event_desc *d;
	struct mode_progs p;
	unsigned int e;
	uint64_t n = 0;

	if (!t->skel)
		return 0;
	for_each_traced_event(&t->opts, e, d)
	{
		mode_progs(t->skel, t->mode, d, &p);
		n += prog_misses(p.enter) + (entries_only ? 0 : prog_misses(p.exit));
		if (t->compat && t->mode != MPT_ATTACH_TRACEPOINT)
			n += prog_misses(p.compat_enter) +
			     (entries_only ? 0 : prog_misses(p.compat_exit));
	}
	/* the raw hooks' skips are of any syscall: not a count of traced calls lost */
	if (t->compat && t->mode == MPT_ATTACH_TRACEPOINT && !entries_only)
		n += prog_misses(t->skel->progs.tp_compat_enter) +
		     prog_misses(t->skel->progs.tp_compat_exit);
	return n;
}

static uint64_t kret_missed(const struct mpt_tracer *t)
{
	uint64_t n = 0;

	for (int e = 0; e < MPT_EVENT_NR; e++)
		n += mpt_kretprobe_missed(&t->kret[e][KP_RET]) +
		     mpt_kretprobe_missed(&t->kret[e][KP_RET32]);
	return n;
}

/* Entries the kernel's kprobes missed, those detached included. */
static uint64_t kentry_missed(const struct mpt_tracer *t)
{
	uint64_t n = t->kentry_missed;

	for (int e = 0; e < MPT_EVENT_NR; e++)
		n += mpt_kretprobe_missed(&t->kret[e][KP_ENTER]) +
		     mpt_kretprobe_missed(&t->kret[e][KP_ENTER32]);
	return n;
}

/*
 * kprobe mode's returns: a kretprobe made through tracefs with maxactive
 * raised to the kernel's limit; libbpf's (perf PMU, default maxactive) only
 * when tracefs cannot make one.
 */
static int attach_return(struct mpt_kretprobe *kr, struct bpf_program *prog, const char *func,
			 bool native, struct bpf_link **link, char *why, size_t len)
{
	char reason[MPT_REASON_LEN];
	int err;

	if (!mpt_kretprobe_attach(kr, prog, func, native ? "x64" : "ia32", false, reason,
				  sizeof(reason)))
		return 0;
	mpt_warn("kprobe mode: %s; using a kretprobe with the kernel's default maxactive, which "
		 "misses returns when many calls are in flight",
		 reason);
	*link = bpf_program__attach_kprobe(prog, true, func);
	if (*link)
		return 0;
	err = -errno;
	snprintf(why, len, "attaching %s to %s failed: %s", bpf_program__name(prog), func,
		 errstr(err));
	return err;
}

/*
 * kprobe mode's entries: made through tracefs too, so that kprobe_profile
 * counts what they miss; libbpf's (perf PMU, uncounted) when tracefs cannot.
 */
static int attach_entry(struct mpt_kretprobe *kr, struct bpf_program *prog, const char *func,
			bool native, struct bpf_link **link, char *why, size_t len)
{
	char reason[MPT_REASON_LEN];

	if (!mpt_kretprobe_attach(kr, prog, func, native ? "x64e" : "ia32e", true, reason,
				  sizeof(reason)))
		return 0;
	mpt_info("kprobe mode: %s; the kernel's misses of this entry will not be counted", reason);
	*link = bpf_program__attach_kprobe(prog, false, func);
	if (*link)
		return 0;
	snprintf(why, len, "attaching %s to %s failed: %s", bpf_program__name(prog), func,
		 errstr(-errno));
	return -EINVAL;
}

/* Attach one program where it goes: @func for a kprobe, its own section otherwise. */
static int attach_prog(struct bpf_program *prog, enum mpt_attach_mode mode, const char *func,
		       struct bpf_link **link, char *why, size_t len)
{
	if (mode == MPT_ATTACH_KPROBE && func)
		*link = bpf_program__attach_kprobe(prog, false, func);
	else
		*link = bpf_program__attach(prog);
	if (!*link) {
		int err = -errno;

		snprintf(why, len, "attaching %s failed: %s", bpf_program__name(prog), errstr(err));
		return err;
	}
	return 0;
}

/* One event's exit (@entry false) or entry hooks, native and (@compat) 32-bit. */
static int attach_event(struct mpt_tracer *t, enum mpt_attach_mode mode, unsigned int e,
			const struct mpt_event_desc *d, bool compat, bool entry, char *why,
			size_t len)
{
	struct bpf_link **l = t->ev_link[e];
	char fn[64], fn32[64];
	struct mode_progs p;
	int err = 0;

	mode_progs(t->skel, mode, d, &p);
	mpt_syscall_fn(d->name, false, fn, sizeof(fn));
	mpt_syscall_fn(d->name, true, fn32, sizeof(fn32));
	/* tracepoint mode's 32-bit pair is shared: attached once, below */
	compat = compat && mode != MPT_ATTACH_TRACEPOINT;
	if (entry && mode == MPT_ATTACH_KPROBE) {
		if (compat)
			err = attach_entry(&t->kret[e][KP_ENTER32], p.compat_enter, fn32, false,
					   &l[EL_COMPAT_ENTER], why, len);
		return err
			   ?: attach_entry(&t->kret[e][KP_ENTER], p.enter, fn, true, &l[EL_ENTER],
					   why, len);
	}
	if (entry) {
		if (compat)
			err =
			    attach_prog(p.compat_enter, mode, fn32, &l[EL_COMPAT_ENTER], why, len);
		return err ?: attach_prog(p.enter, mode, fn, &l[EL_ENTER], why, len);
	}
	if (mode == MPT_ATTACH_KPROBE) {
		err = attach_return(&t->kret[e][KP_RET], p.exit, fn, true, &l[EL_EXIT], why, len);
		if (compat)
			err = err
				  ?: attach_return(&t->kret[e][KP_RET32], p.compat_exit, fn32,
						   false, &l[EL_COMPAT_EXIT], why, len);
		return err;
	}
	err = attach_prog(p.exit, mode, NULL, &l[EL_EXIT], why, len);
	if (compat)
		err = err ?: attach_prog(p.compat_exit, mode, NULL, &l[EL_COMPAT_EXIT], why, len);
	return err;
}

/*
 * Optional: the kernel's own view of the pages it migrated, 4 KiB pages
 * and transparent huge pages. Without it only the exit re-read guards
 * against rewritten arrays; each record says which checked it.
 */
static void attach_kview(struct mpt_tracer *t, enum mpt_attach_mode mode)
{
	char why[MPT_REASON_LEN];

	t->kview = false;
	t->kview_pmd = false;
	if (!bpf_program__autoload(t->skel->progs.kview_migrated))
		return;
	t->kview = !attach_prog(t->skel->progs.kview_migrated, mode, NULL, &t->shared[SL_KVIEW],
				why, sizeof(why));
	if (!t->kview) {
		mpt_info("the kernel's own view of migrated pages is off: %s", why);
		return;
	}
	if (bpf_program__autoload(t->skel->progs.kview_migrated_pmd)) {
		t->kview_pmd = !attach_prog(t->skel->progs.kview_migrated_pmd, mode, NULL,
					    &t->shared[SL_KVIEW_PMD], why, sizeof(why));
		if (!t->kview_pmd)
			mpt_info("the kernel's own view of huge pages is off: %s", why);
	}
	t->skel->bss->kview_attached = 1 | (t->kview_pmd ? 2 : 0);
}

static int load_and_attach(struct mpt_tracer *t, enum mpt_attach_mode mode, bool compat, char *why,
			   size_t len)
{
	const struct mpt_event_desc *d;
	bool raw = compat && mode == MPT_ATTACH_TRACEPOINT;
	unsigned int e;
	int err;

	err = open_for_mode(&t->opts, mode, compat, &t->skel, why, len);
	if (err)
		return err;
	err = mptrace_bpf__load(t->skel);
	if (err) {
		snprintf(why, len, "loading the %s programs%s failed: %s%s", mpt_attach_name(mode),
			 compat ? " (with the 32-bit gates)" : "", errstr(err), eperm_hint(err));
		goto fail;
	}
	err = fill_filter_maps(t->skel, &t->opts.filter, why, len);
	if (err)
		goto fail;
	/*
	 * Exits first: a call that enters before its exit hook exists would
	 * leave a slot behind. The reverse only costs a NO_ENTRY count.
	 */
	for_each_traced_event(&t->opts, e, d)
	{
		err = err ?: attach_event(t, mode, e, d, compat, false, why, len);
	}
	/* calls a seccomp filter refused: only sys_exit sees them (tracepoint mode's exits do) */
	if (bpf_program__autoload(t->skel->progs.refused_exit))
		err = err
			  ?: attach_prog(t->skel->progs.refused_exit, mode, NULL,
					 &t->shared[SL_REFUSED], why, len);
	err = err
		  ?: attach_prog(t->skel->progs.thread_exit, mode, NULL, &t->shared[SL_THREAD_EXIT],
				 why, len);
	/* the process tracker, before the entries: every process that forks or execs from now */
	err = err
		  ?: attach_prog(t->skel->progs.proc_fork, mode, NULL, &t->shared[SL_PROC_FORK],
				 why, len);
	err = err
		  ?: attach_prog(t->skel->progs.proc_exec, mode, NULL, &t->shared[SL_PROC_EXEC],
				 why, len);
	if (!err)
		attach_kview(t, mode);
	if (raw) {
		err = err
			  ?: attach_prog(t->skel->progs.tp_compat_exit, mode, NULL,
					 &t->shared[SL_RAW_EXIT], why, len);
		err = err
			  ?: attach_prog(t->skel->progs.tp_compat_enter, mode, NULL,
					 &t->shared[SL_RAW_ENTER], why, len);
	}
	for_each_traced_event(&t->opts, e, d)
	{
		err = err ?: attach_event(t, mode, e, d, compat, true, why, len);
	}
	if (err)
		goto fail;
	return 0;
fail:
	detach_all(t);
	mptrace_bpf__destroy(t->skel);
	t->skel = NULL;
	return err;
}

static int try_mode(enum mpt_attach_mode mode, void *ctx, char *why, size_t len)
{
	struct mpt_tracer *t = ctx;
	int err;

	t->compat = false;
	if (t->opts.no_compat) {
		snprintf(t->compat_why, sizeof(t->compat_why), "turned off (--no-compat)");
	} else if (mpt_compat_precheck(mode, t->compat_why, sizeof(t->compat_why))) {
		err = load_and_attach(t, mode, true, why, len);
		if (!err) {
			t->compat = true;
			t->compat_why[0] = '\0';
			return 0;
		}
		snprintf(t->compat_why, sizeof(t->compat_why), "%s", why);
	}
	return load_and_attach(t, mode, false, why, len);
}

/* The bit of a test call's record: its event, and whether it came through the ia32 gate. */
static uint32_t canary_bit(uint16_t type, bool ia32)
{
	return 1u << (type + (ia32 ? 16 : 0));
}

/* A flood summary, handed on like any record (it never was in the ring: it cannot be lost). */
static void deliver_summary(struct mpt_tracer *t, struct mpt_flood_event *f)
{
	struct mpt_view v;
	const char *why;

	f->duration_ns = f->last_ns > f->ts_boot_ns ? f->last_ns - f->ts_boot_ns : 0;
	if (mpt_event_parse(f, sizeof(*f), &v, &why)) {
		t->malformed += f->calls;
		mpt_info("dropping a malformed flood summary: %s", why);
		return;
	}
	t->summed_calls += f->calls;
	t->summaries++;
	if (t->opts.on_event)
		t->opts.on_event(t->opts.ctx, &v);
}

/*
 * Hand on the summaries of generations two behind the current one (@all:
 * every one, once the hooks are gone; @tgid: every one of a process that
 * has exited) and delete them. Nothing adds to them any more: the programs
 * that wrote them ran a generation ago at the latest, or their process is
 * gone.
 */
static void collect_summaries(struct mpt_tracer *t, bool all, uint32_t tgid)
{
	int fd = bpf_map__fd(t->skel->maps.flood_sums);
	uint32_t epoch = t->skel->bss->flood_epoch;
	struct mpt_flood_event f;
	struct flood_key {
		uint32_t epoch, tgid, type, pad;
	} key, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		if (!all && (tgid ? key.tgid != tgid : epoch - key.epoch < 2)) {
			prev = &key;
			continue;
		}
		t->collected++;
		if (!bpf_map_lookup_elem(fd, &key, &f))
			deliver_summary(t, &f);
		/* deleted: the walk starts over (the next key after a deleted one is unknown) */
		bpf_map_delete_elem(fd, &key);
		prev = NULL;
	}
}

static int handle_sample(void *ctx, void *data, size_t size)
{
	struct mpt_tracer *t = ctx;
	struct mpt_view v;
	const char *why;

	if (size >= sizeof(struct mpt_proc_event) &&
	    ((struct mpt_proc_event *)data)->type == MPT_REC_PROCESS) {
		const struct mpt_proc_event *p = data;

		if (mpt_proc_parse(data, size, &why)) {
			t->proc_malformed++;
			mpt_info("dropping a malformed process record: %s", why);
			return 0;
		}
		/* a process's summaries before its end, while it can still be named */
		if (p->kind == MPT_PROC_EXIT && t->skel->bss &&
		    t->skel->bss->flood_made != t->collected)
			collect_summaries(t, false, p->tgid);
		if (t->opts.on_process)
			t->opts.on_process(t->opts.ctx, data);
		return 0;
	}
	if (t->stop_deadline && mpt_now_mono_ns() >= t->stop_deadline) {
		t->unread++;
		return 0;
	}
	if (mpt_event_parse(data, size, &v, &why)) {
		t->malformed++;
		mpt_info("dropping a malformed record: %s", why);
		return 0;
	}
	if (t->canary_pid && v.hdr->task.ns_tgid == t->canary_pid &&
	    v.hdr->task.pid_ns == t->canary_pidns) {
		t->canary_seen |= canary_bit(v.hdr->type, v.hdr->abi == MPT_ABI_IA32);
		return 0;
	}
	t->received++;
	if (t->opts.on_event)
		t->opts.on_event(t->opts.ctx, &v);
	return t->budget && !--t->budget ? BUDGET_SPENT : 0;
}

static bool valid_opts(const struct mpt_tracer_opts *o, char *why, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);

	if (o->array_cap < 1 || o->array_cap > MPT_ARRAY_CAP_MAX) {
		snprintf(why, len, "array cap %u is outside 1..%u", o->array_cap,
			 MPT_ARRAY_CAP_MAX);
		return false;
	}
	if (o->ringbuf_bytes < page || (o->ringbuf_bytes & (o->ringbuf_bytes - 1))) {
		snprintf(why, len, "ring buffer size %u is not a power of two >= %ld",
			 o->ringbuf_bytes, page);
		return false;
	}
	if (!o->max_inflight) {
		snprintf(why, len, "max in-flight calls must be at least 1");
		return false;
	}
	/* the kernel preallocates every slot at load: say so before it runs out */
	if ((uint64_t)o->max_inflight * mpt_slot_bytes(o->array_cap) > MPT_INFLIGHT_MEM_MAX) {
		snprintf(
		    why, len,
		    "--max-inflight %u x --array-cap %u needs %llu MiB of kernel memory for "
		    "in-flight calls; the limit is %llu MiB: lower one of them",
		    o->max_inflight, o->array_cap,
		    (unsigned long long)((uint64_t)o->max_inflight * mpt_slot_bytes(o->array_cap) >>
					 20),
		    (unsigned long long)(MPT_INFLIGHT_MEM_MAX >> 20));
		return false;
	}
	return true;
}

/*
 * Without --event, the events of the syscalls this kernel has (its BTF
 * names the syscall's function): set_mempolicy_home_node came in Linux
 * 5.17, and an older kernel still traces the rest. An event --event names
 * is always tried, and the start fails if it cannot be attached.
 */
static void drop_absent_events(struct mpt_tracer *t)
{
	const struct mpt_event_desc *d;
	struct btf *btf;
	char fn[64];

	if (t->opts.filter.events)
		return;
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return;
	for (unsigned int i = 0; (d = mpt_event_desc_at(i)); i++) {
		mpt_syscall_fn(d->name, false, fn, sizeof(fn));
		if (btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC) >= 0)
			t->opts.filter.events |= MPT_EVENT_BIT(d->type);
		else
			mpt_info("%s not traced: this kernel has no such syscall (no %s)", d->name,
				 fn);
	}
	btf__free(btf);
}

int mpt_tracer_start(const struct mpt_tracer_opts *o, struct mpt_tracer **out,
		     struct mpt_attach_report *rep)
{
	const struct mpt_attach_ops ops = {.precheck = mpt_attach_precheck, .try_mode = try_mode};
	struct mpt_tracer *t;
	int mode, err;

	*out = NULL;
	memset(rep, 0, sizeof(*rep));
	if (!valid_opts(o, rep->error, sizeof(rep->error)))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->opts = *o;
	drop_absent_events(t);
	mpt_log_setup_libbpf();
	mpt_kretprobe_remove_stale();

	mode = mpt_attach_walk(o->attach, &ops, t, rep);
	for (int m = 0; m < MPT_ATTACH_NR; m++)
		if (rep->tried[m] && !rep->ok[m])
			mpt_info("attach mode %s rejected: %s", mpt_attach_name(m), rep->why[m]);
	if (mode < 0) {
		free(t);
		return -ENOTSUP;
	}
	t->mode = mode;
	{
		const struct mpt_event_desc *d;
		unsigned int e;
		size_t n = 0;

		for_each_traced_event(&t->opts, e, d) n +=
		    snprintf(t->events + n, sizeof(t->events) - n, "%s%s", n ? ", " : "", d->name);
	}
	mpt_info("attach mode %s chosen: %s", mpt_attach_name(mode), mpt_attach_hooks(mode));
	mpt_info("pages the kernel migrated checked against the recorded pages[]: %s",
		 !t->kview	? "no"
		 : t->kview_pmd ? "yes (migrate:remove_migration_pte, thp:remove_migration_pmd)"
				: "yes, 4 KiB pages only (migrate:remove_migration_pte)");
	if (t->compat)
		mpt_info("32-bit (ia32, x32) calls traced too");
	else
		mpt_info("32-bit (ia32, x32) calls not traced: %s", t->compat_why);

	/*
	 * Loading parsed the kernel's BTF and relocated every program: about 10 MB
	 * freed by now, which glibc would keep for the tracer's weeks of running.
	 * Handed back before the ring is mapped, so the peak is not their sum.
	 */
	malloc_trim(0);
	t->rb = mpt_ring_new(bpf_map__fd(t->skel->maps.events), handle_sample, t);
	if (!t->rb) {
		err = -errno;
		snprintf(rep->error, sizeof(rep->error),
			 "creating the ring buffer reader failed: %s", errstr(err));
		mpt_tracer_free(t);
		return err;
	}
	*out = t;
	return 0;
}

/* Move the summaries' generation on when its time has come, and collect the old ones. */
static void flood_tick(struct mpt_tracer *t)
{
	int64_t now = mpt_now_mono_ns();

	if (!t->opts.fair_rate || !t->skel->bss || now < t->next_epoch_ns)
		return;
	t->next_epoch_ns = now + MPT_EPOCH_MS * 1000000ll;
	t->skel->bss->flood_epoch++;
	collect_summaries(t, false, 0);
}

unsigned int mpt_tracer_lost_by_process(struct mpt_tracer *t, uint32_t *tgid, uint64_t *count,
					unsigned int n)
{
	int fd = bpf_map__fd(t->skel->maps.lost_by_tgid);
	uint32_t key, next, *prev = NULL;
	unsigned int got = 0;
	uint64_t v;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct lost_seen *s = NULL;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		for (unsigned int i = 0; i < t->lost_seen_n && !s; i++)
			if (t->lost_seen[i].tgid == key)
				s = &t->lost_seen[i];
		if (!s && t->lost_seen_n < MPT_LOST_PROCS) {
			s = &t->lost_seen[t->lost_seen_n++];
			*s = (struct lost_seen){key, 0};
		}
		/* a count below what was seen: forgotten (LRU) and counted afresh */
		if (!s || v == s->count)
			continue;
		if (got < n) {
			tgid[got] = key;
			count[got++] = v > s->count ? v - s->count : v;
		}
		s->count = v;
	}
	return got;
}

int mpt_tracer_poll(struct mpt_tracer *t, int timeout_ms)
{
	int n;

	t->budget = MPT_POLL_BUDGET;
	/* Records are written without waking us (batched), so poll, then consume. */
	n = mpt_ring_poll(t->rb, timeout_ms);
	if (n >= 0)
		n = mpt_ring_consume(t->rb);
	t->budget = 0;
	flood_tick(t);
	if (n == BUDGET_SPENT)
		return MPT_POLL_BUDGET;
	return n;
}

static int drain(struct mpt_tracer *t)
{
	int n, total = 0;

	t->budget = 0;
	while ((n = mpt_ring_consume(t->rb)) > 0)
		total += n;
	return n < 0 ? n : total;
}

/* The syscall number of event @type (events/events.h), native or ia32. */
static long syscall_nr(uint16_t type, bool ia32)
{
#define MPT_NR_ROW(ID, T, name, nr64, nr32)                                                        \
	if (type == T)                                                                             \
		return ia32 ? nr32 : nr64;
	MPT_EVENTS(MPT_NR_ROW)
#undef MPT_NR_ROW
	return -1;
}

/*
 * A child that waits for @go, then calls every traced syscall once with all
 * arguments zero (no pages, no nodes: nothing happens) and exits. Returns
 * its pid, or -errno.
 */
static pid_t fork_canary(const struct mpt_tracer *t, int go)
{
	const struct mpt_event_desc *d;
	unsigned int e;
	pid_t pid = fork();
	char c;

	if (pid)
		return pid < 0 ? -errno : pid;
	if (read(go, &c, 1) != 1)
		_exit(0);
	for_each_traced_event(&t->opts, e, d)
	{
		syscall(syscall_nr(d->type, false), 0, 0, 0, 0, 0, 0);
		if (t->canary_ia32)
			mpt_ia32_call(syscall_nr(d->type, true));
	}
	_exit(0);
}

/* One test call's round: armed, made, and read back until seen or @deadline. */
static int canary_round(struct mpt_tracer *t, uint32_t want, int64_t deadline)
{
	int pipefd[2], err = 0, st;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork_canary(t, pipefd[0]);
	close(pipefd[0]);
	if (pid < 0) {
		close(pipefd[1]);
		return pid;
	}
	t->canary_pid = pid;
	t->skel->bss->canary_pidns = t->canary_pidns;
	t->skel->bss->canary_tgid = pid;
	if (write(pipefd[1], "g", 1) != 1)
		err = -errno;
	close(pipefd[1]);
	waitpid(pid, &st, 0);
	while (!err && (t->canary_seen & want) != want && mpt_now_mono_ns() < deadline)
		err = mpt_tracer_poll(t, 20) < 0 ? -EIO : 0;
	t->skel->bss->canary_tgid = 0;
	return err;
}

int mpt_tracer_prove(struct mpt_tracer *t, int timeout_ms, char *why, size_t len)
{
	int64_t start = mpt_now_mono_ns(), deadline = start + (int64_t)timeout_ms * 1000000;
	const struct mpt_event_desc *d;
	uint32_t want = 0;
	unsigned int e;
	int rounds = 0, err = 0;

	/* the 32-bit hooks too, where a process here can make an ia32 call */
	t->canary_ia32 = t->compat && mpt_ia32_gate_open();
	for_each_traced_event(&t->opts, e, d)
	{
		want |= canary_bit(d->type, false);
		if (t->canary_ia32)
			want |= canary_bit(d->type, true);
	}
	t->canary_pidns = self_pidns();
	t->canary_seen = 0;
	/* a round may be lost to a ring another process filled: try again until the deadline */
	while (!err && (t->canary_seen & want) != want && mpt_now_mono_ns() < deadline) {
		int64_t round_end = mpt_now_mono_ns() + 500 * 1000000ll;

		rounds++;
		err = canary_round(t, want, round_end < deadline ? round_end : deadline);
	}
	/* records of the test processes still in the ring are theirs, not the user's */
	if (!err)
		err = mpt_tracer_poll(t, 0) < 0 ? -EIO : 0;
	t->canary_pid = 0;
	if (err) {
		snprintf(why, len, "checking that the hooks deliver failed: %s", errstr(err));
		return err;
	}
	if ((t->canary_seen & want) != want) {
		snprintf(why, len,
			 "the hooks are attached, but a test call of every traced syscall made by "
			 "a child process was not delivered within %d ms (%d tries): not tracing "
			 "blind",
			 timeout_ms, rounds);
		return -ETIMEDOUT;
	}
	mpt_info("every hook delivers: a test call of each traced syscall%s was seen after %lld ms "
		 "(%d %s)",
		 t->canary_ia32 ? ", native and ia32," : "",
		 (long long)((mpt_now_mono_ns() - start) / 1000000), rounds,
		 rounds == 1 ? "try" : "tries");
	return 0;
}

/*
 * Call @fn for each busy slot (a call entered and not returned; threads keep
 * an idle slot, size 0, between calls) until it returns non-zero. @fn may
 * change the slot's copy it is given. Returns @fn's last result, or -ENOMEM.
 */
static int for_each_busy_slot(struct mpt_tracer *t,
			      int (*fn)(void *ctx, struct mpt_rec_hdr *h, size_t slot), void *ctx)
{
	int fd = bpf_map__fd(t->skel->maps.inflight);
	size_t slot = bpf_map__value_size(t->skel->maps.inflight);
	struct mpt_rec_hdr *ev = malloc(slot);
	uint32_t key, next;
	void *prev = NULL;
	int err = 0;

	if (!ev)
		return -ENOMEM;
	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, ev) && ev->size > MPT_SLOT_RETURNED)
			err = fn(ctx, ev, slot);
	}
	free(ev);
	return err;
}

static int count_slot(void *ctx, struct mpt_rec_hdr *ev, size_t slot)
{
	(void)ev, (void)slot;
	++*(uint64_t *)ctx;
	return 0;
}

uint64_t mpt_tracer_inflight_count(struct mpt_tracer *t)
{
	uint64_t n = 0;

	for_each_busy_slot(t, count_slot, &n);
	return n;
}

/*
 * A call still inside the kernel when tracing stops: report it from what
 * its entry captured (marked unfinished) instead of only counting it.
 */
static int report_unfinished(void *ctx, struct mpt_rec_hdr *ev, size_t slot)
{
	struct mpt_tracer *t = ctx;

	mpt_rec_clear_return(ev, MPT_RET_UNFINISHED);
	if (ev->size > slot) {
		t->unfinished++;
		return 0;
	}
	return handle_sample(t, ev, ev->size);
}

int mpt_tracer_stop(struct mpt_tracer *t)
{
	int err;

	/* calls entering from now on are after the trace, not entries it lost */
	if (t->skel->bss)
		t->skel->bss->entry_detached = true;
	detach_entries(t);
	/* the time to read what is left, from here: detaching takes longer with more hooks */
	t->stop_deadline = mpt_now_mono_ns() + MPT_STOP_READ_MS * 1000000ll;
	err = drain(t);
	/* the kernel's count of missed returns, while the probes still exist */
	t->kret_missed = kret_missed(t);
	detach_all(t);
	if (err >= 0)
		err = drain(t);
	/* Slots left now are calls whose entry was seen and whose return never was. */
	if (err >= 0)
		err = for_each_busy_slot(t, report_unfinished, t);
	if (t->skel->bss)
		collect_summaries(t, true, 0);
	return err < 0 ? err : 0;
}

int mpt_tracer_stats(struct mpt_tracer *t, struct mpt_stats *s)
{
	uint64_t entries, returns;
	int ncpus = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(t->skel->maps.stats);
	uint64_t *vals;
	uint32_t key;
	int cpu;

	memset(s, 0, sizeof(*s));
	if (ncpus < 0)
		return ncpus;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (key = 0; key < MPT_STAT_NR; key++) {
		if (bpf_map_lookup_elem(fd, &key, vals)) {
			int err = -errno;

			free(vals);
			return err;
		}
		for (cpu = 0; cpu < ncpus; cpu++)
			s->kernel[key] += vals[cpu];
	}
	free(vals);
	/* the loader's own test calls (mpt_tracer_prove) are nobody's events, nor losses */
	if (t->skel->bss) {
		s->kernel[MPT_STAT_EVENTS] -= t->skel->bss->canary_events;
		s->kernel[MPT_STAT_RINGBUF_FULL] -= t->skel->bss->canary_lost;
	}
	s->received = t->received;
	s->proc_lost = (t->skel->bss ? t->skel->bss->proc_lost : 0) + t->proc_malformed;
	s->malformed = t->malformed;
	s->unfinished = t->unfinished;
	s->unread = t->unread;
	s->hooks_skipped = hooks_skipped(t, false);
	s->kprobe_missed = kentry_missed(t);
	/* a skipped entry whose return ran was reported from there, or counted in no_entry */
	entries = s->entries_skipped = hooks_skipped(t, true);
	returns = t->skel->bss ? t->skel->bss->at_return : 0;
	s->skipped = entries > returns ? entries - returns : 0;
	s->summed_calls = t->summed_calls;
	s->summaries = t->summaries;
	s->unsummed = t->skel->bss ? t->skel->bss->flood_unsummed : 0;
	/* read while our kretprobes exist; after stop, what stop read */
	s->kretprobe_missed =
	    t->skel && t->shared[SL_THREAD_EXIT] ? kret_missed(t) : t->kret_missed;
	return 0;
}

int mpt_tracer_cgroup_path(void *ctx, uint64_t id, char *buf, size_t len)
{
	struct mpt_tracer *t = ctx;
	struct mpt_cgroup_path p;

	if (!t || !t->skel || len == 0 ||
	    bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.cgroup_paths), &id, &p))
		return -ENOENT;
	p.path[sizeof(p.path) - 1] = '\0';
	snprintf(buf, len, "%s", p.path);
	return 0;
}

uint64_t mpt_stats_lost(const struct mpt_stats *s)
{
	uint64_t lost =
	    s->malformed + s->unfinished + s->unread + s->unsummed + s->kprobe_missed + s->skipped;
	int i;

	for (i = 0; i < MPT_STAT_NR; i++)
		if (i != MPT_STAT_EVENTS)
			lost += s->kernel[i];
	return lost;
}

const char *mpt_tracer_events(const struct mpt_tracer *t)
{
	return t->events;
}

enum mpt_attach_mode mpt_tracer_mode(const struct mpt_tracer *t)
{
	return t->mode;
}

const char *mpt_tracer_compat_off(const struct mpt_tracer *t)
{
	return t->compat ? NULL : t->compat_why;
}

void mpt_tracer_free(struct mpt_tracer *t)
{
	if (!t)
		return;
	mpt_ring_free(t->rb);
	detach_all(t);
	mptrace_bpf__destroy(t->skel);
	free(t);
}

int mpt_tracer_load_only(const struct mpt_tracer_opts *o, enum mpt_attach_mode mode,
			 uint32_t *verified_insns, char *why, size_t len)
{
	struct mptrace_bpf *skel;
	struct bpf_program *prog;
	int err;

	mpt_log_setup_libbpf();
	/* the 32-bit programs are verified wherever they could load, gates open or not */
	err = open_for_mode(o, mode, !o->no_compat && mpt_compat_hookable(mode, why, len), &skel,
			    why, len);
	if (err)
		return err;
	err = mptrace_bpf__load(skel);
	if (err) {
		snprintf(why, len, "loading the %s programs failed: %s%s", mpt_attach_name(mode),
			 errstr(err), eperm_hint(err));
	} else if (verified_insns) {
		struct bpf_prog_info info;
		__u32 info_len = sizeof(info);

		/* what the verifier walked, summed over the programs loaded (0 before 5.16) */
		*verified_insns = 0;
		bpf_object__for_each_program(prog, skel->obj)
		{
			if (!bpf_program__autoload(prog))
				continue;
			memset(&info, 0, sizeof(info));
			info_len = sizeof(info);
			if (!bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &info_len))
				*verified_insns += info.verified_insns;
		}
	}
	mptrace_bpf__destroy(skel);
	return err;
}

int mpt_tracer_probe_mode(enum mpt_attach_mode mode, char *why, char *compat_why, size_t len)
{
	struct mpt_tracer t = {0};
	int err;

	mpt_tracer_opts_default(&t.opts);
	mpt_log_setup_libbpf();
	if (!mpt_attach_precheck(mode, why, len))
		return -ENOTSUP;
	err = try_mode(mode, &t, why, len);
	if (err)
		return err;
	detach_all(&t);
	mptrace_bpf__destroy(t.skel);
	if (compat_why)
		snprintf(compat_why, len, "%s", t.compat ? "" : t.compat_why);
	return 0;
}

int mpt_check_privileges(char *why, size_t len)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mpt_priv", 4, 4, 1, NULL);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	fd = -errno;
	if (fd == -EPERM || fd == -EACCES)
		snprintf(why, len,
			 "permission denied: loading BPF programs needs root "
			 "(or CAP_BPF and CAP_PERFMON)");
	else
		snprintf(why, len, "the bpf() system call does not work here: %s", errstr(fd));
	return fd;
}

void mpt_tracer_ring_fill(const struct mpt_tracer *t, uint64_t *queued, uint64_t *size)
{
	uint64_t prod, cons;

	*size = t->opts.ringbuf_bytes;
	if (t->rb) {
		mpt_ring_positions(t->rb, &prod, &cons);
		*queued = prod - cons;
	} else /* what the programs saw at their last write, not what is left now */
		*queued = t->skel->bss ? t->skel->bss->ring_queued : 0;
}
