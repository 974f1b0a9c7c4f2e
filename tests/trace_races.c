// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Arrays changed, unmapped or restored while the kernel works on them; calls
 * held inside the kernel, more than there are slots; returns without entries.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cmocka.h>

#include "kernel/attach.h"
#include "detect/detect.h"
#include "decode/format.h"
#include "util/strbuf.h"
#include "testutil.h"
#include "trace.h"

/*
 * A call held inside the kernel: pages[] lives on a userfaultfd page, so the
 * kernel's read of it blocks until we supply the page. (The BPF copy on entry
 * cannot fault the page in, so it records EFAULT for pages[].)
 */
struct held_call {
	struct uffd_region r;
	struct tu_call c;
	struct tu_call again; /* a plain call the same thread makes after the held one */
	pthread_t th;
	char *target;
	int status[1];
};

static void *thread_held_then_again(void *arg);

static void hold_call(struct held_call *h)
{
	memset(&h->c, 0, sizeof(h->c));
	uffd_region(&h->r, 1, 0);
	h->target = tu_touched_pages(1);
	h->c.count = 1;
	h->c.pages = (void **)h->r.base;
	h->c.status = h->status;
	h->again = h->c;
	h->again.pages = (void **)&h->target;
	assert_int_equal(pthread_create(&h->th, NULL, thread_held_then_again, h), 0);
}

static void *thread_held_then_again(void *arg)
{
	struct held_call *h = arg;

	tu_move_pages(&h->c);
	tu_move_pages(&h->again);
	return NULL;
}

/* Returns once the held thread is blocked inside move_pages. */
static void wait_held(struct held_call *h)
{
	uffd_wait_fault(&h->r);
}

static void release_call(struct held_call *h)
{
	void **page = calloc(1, page_size);

	page[0] = h->target;
	uffd_supply(&h->r, 0, page);
	pthread_join(h->th, NULL);
	free(page);
	uffd_region_free(&h->r);
	munmap(h->target, page_size);
}

void test_exit_without_entry(void **state)
{
	struct tu_events sink = {0};
	struct held_call h;
	struct mpt_tracer *t;
	struct mpt_stats st;
	bool fentry = mpt_tracer_mode(tracer) == MPT_ATTACH_FENTRY;
	bool held_seen;

	(void)state;
	hold_call(&h);
	wait_held(&h);
	/* attach while the call is inside the kernel: its return has no entry */
	t = start_tracer(getpid(), true, 0, &sink);
	assert_non_null(t);
	release_call(&h);
	assert_int_equal(h.c.ret, 0);
	assert_int_equal(h.again.ret, 0);

	/*
	 * The tracepoint sees the held call's return: it is reported from there,
	 * its arguments from the registers and pages[] read then (the page is
	 * there now). A kretprobe or fexit only hooks calls that entered after
	 * attach, so for them the held call is invisible, which is right.
	 */
	if (mpt_tracer_mode(t) == MPT_ATTACH_TRACEPOINT) {
		const struct mpt_call_event *held;

		assert_int_equal(tu_wait_events(t, &sink, 2, WAIT_MS), 2);
		held = sink.ev[0];
		assert_int_equal(held->origin, MPT_ORIGIN_RETURN);
		assert_int_equal(held->ret_state, MPT_RET_SEEN);
		assert_int_equal(held->ret, 0);
		assert_int_equal(held->task.host_tid, h.c.tid);
		assert_int_equal(held->arg[1], h.c.count);
		assert_int_equal(held->arg[2], (uintptr_t)h.c.pages);
		assert_int_equal(held->cap[MP_PAGES].state, MPT_ARRAY_OK);
		assert_int_equal(mp_changed(held), 0);
		assert_record(sink.ev[1], &h.again, NULL);
	} else {
		assert_int_equal(tu_wait_events(t, &sink, 1, WAIT_MS), 1);
		assert_record(sink.ev[0], &h.again, NULL);
	}
	assert_int_equal(sink.ev[sink.n - 1]->origin, MPT_ORIGIN_ENTRY);
	assert_int_equal(mpt_tracer_stats(t, &st), 0);
	assert_int_equal(st.kernel[MPT_STAT_NO_ENTRY], 0);
	assert_int_equal(st.kernel[MPT_STAT_EVENTS],
			 mpt_tracer_mode(t) == MPT_ATTACH_TRACEPOINT ? 2 : 1);
	assert_int_equal(mpt_tracer_inflight_count(t), 0);
	mpt_tracer_free(t);
	tu_events_clear(&sink);
	free(sink.ev);

	/*
	 * The group tracer was attached before the held call entered. With
	 * kprobes and tracepoints it sees the whole call (pages[] unreadable at
	 * entry: the page was not there yet). With fentry, attaching the second
	 * tracer replaced the BPF trampoline, and the kernel (6.1 and 6.12 here)
	 * then skips the fexit programs of calls inside the old one: the return
	 * is lost. mptrace cannot prevent that, but it must count it,
	 * which it does when the same thread enters again. Either way the held
	 * call is reported or counted, exactly once.
	 */
	held_seen = tu_wait_events(tracer, &events, 2, fentry ? 1000 : WAIT_MS) == 2;
	assert_int_equal(mpt_tracer_stats(tracer, &st), 0);
	assert_int_equal(held_seen + st.kernel[MPT_STAT_EXIT_MISSED], 1);
	if (!fentry)
		assert_true(held_seen);
	if (held_seen) {
		/* with fentry, reported from its entry when the thread entered again */
		assert_true(events.ev[0]->ret_state == MPT_RET_SEEN ||
			    (fentry && events.ev[0]->ret_state == MPT_RET_MISSED));
		assert_int_equal(events.ev[0]->task.host_tid, h.c.tid);
		/* unreadable at the entry; at the return the kernel had brought it in */
		assert_int_equal(events.ev[0]->cap[MP_PAGES].state,
				 events.ev[0]->ret_state == MPT_RET_SEEN ? MPT_ARRAY_AT_RETURN
									 : MPT_ARRAY_FAULT);
		assert_int_equal(events.ev[0]->ret, 0);
	}
	assert_int_equal(events.n, held_seen ? 2 : 1);
	assert_record(events.ev[events.n - 1], &h.again, NULL);
}

void test_killed_inside_call(void **state)
{
	struct tu_events sink = {0};
	int go[2], held[2];
	struct mpt_tracer *t;
	char b = 0;
	pid_t child;

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(held), 0);
	child = fork();
	if (child == 0) {
		struct held_call h;

		alarm(30);
		close(go[1]);
		close(held[0]);
		(void)!read(go[0], &b, 1);
		hold_call(&h);
		wait_held(&h);
		(void)!write(held[1], &b, 1);
		/* until killed, or until the parent goes away */
		(void)!read(go[0], &b, 1);
		_exit(0);
	}
	t = start_tracer(child, true, 0, &sink);
	assert_non_null(t);
	assert_int_equal(write(go[1], &b, 1), 1);
	assert_int_equal(read(held[0], &b, 1), 1);
	/* the child's thread is inside move_pages, its entry recorded */
	assert_int_equal(mpt_tracer_inflight_count(t), 1);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* the killed call still returned (with an error), and was reported */
	assert_int_equal(tu_wait_events(t, &sink, 1, WAIT_MS), 1);
	assert_int_equal(sink.ev[0]->task.host_tgid, child);
	assert_int_equal(sink.ev[0]->ret_state, MPT_RET_SEEN);
	assert_true(sink.ev[0]->ret < 0);
	/* nothing of the dead thread is left behind */
	assert_int_equal(mpt_tracer_inflight_count(t), 0);
	mpt_tracer_free(t);
	tu_events_clear(&sink);
	free(sink.ev);
	close(go[0]), close(go[1]), close(held[0]), close(held[1]);
}

/* The held call @c made by @th returned 0: its one record, parsed into @v. */
static const struct mpt_call_event *joined_call_record(pthread_t th, const struct tu_call *c,
						       struct mpt_tracer *t, struct tu_events *sink,
						       struct mpt_view *v)
{
	const char *why;

	pthread_join(th, NULL);
	assert_int_equal(c->ret, 0);
	assert_int_equal(tu_wait_events(t, sink, 1, WAIT_MS), 1);
	assert_int_equal(mpt_event_parse(sink->ev[0], sink->ev[0]->size, v, &why), 0);
	return sink->ev[0];
}

/*
 * One tracer that keeps 4 entries of each array, for the tests that race
 * the kernel (a tracer's start is most of a test's time under emulation):
 * started at the first, its records cleared for each, freed with the group.
 */
static struct mpt_tracer *tracer_cap4(struct tu_events **sink)
{
	if (!cap4_tracer)
		cap4_tracer = start_tracer_cap(getpid(), true, 0, 4, &cap4_events);
	assert_non_null(cap4_tracer);
	while (mpt_tracer_poll(cap4_tracer, 50) > 0)
		;
	tu_events_clear(&cap4_events);
	*sink = &cap4_events;
	return cap4_tracer;
}

/*
 * The kernel reads pages[] one element at a time while it works; the entry
 * copied it whole. Here pages[0..3] (all the tracer captures, cap 4) sit at
 * the end of a present page and pages[4..5] on a missing userfaultfd page:
 * the kernel migrates element 0..3, then blocks reading element 4. While it
 * is blocked, pages[0] is rewritten: the record must keep what the entry
 * saw and say what the return found. With @unmap the array's first page
 * is unmapped instead: the return cannot read it at all.
 */
static void race_rewrite(bool unmap)
{
	enum { CAP4 = 4, COUNT = 6 };
	struct tu_events *sink;
	struct uffd_region r;
	struct mpt_tracer *t = tracer_cap4(&sink);
	struct mpt_stats st;
	struct tu_call c = {0};
	char *targets = tu_touched_pages(COUNT + 1);
	void **later = calloc(1, page_size);
	const struct mpt_call_event *ev;
	struct mpt_view v;
	int nodes[COUNT] = {0}, status[COUNT];
	pthread_t th;

	uffd_region(&r, 2, 1);
	c.count = COUNT;
	c.pages = (void **)(r.base + page_size - CAP4 * sizeof(void *));
	for (int i = 0; i < CAP4; i++)
		c.pages[i] = targets + i * page_size;
	later[0] = targets + 4 * page_size;
	later[1] = targets + 5 * page_size;
	c.nodes = nodes;
	c.status = status;
	c.flags = MPOL_MF_MOVE;
	assert_int_equal(pthread_create(&th, NULL, thread_call, &c), 0);
	uffd_wait_fault(&r);
	/* the kernel is past pages[0..3]: change what it already used */
	if (unmap)
		assert_int_equal(munmap(r.base, page_size), 0);
	else
		c.pages[0] = targets + 6 * page_size;
	uffd_supply(&r, 1, later);
	ev = joined_call_record(th, &c, t, sink, &v);
	/* what the caller passed at entry */
	assert_int_equal(ev->cap[MP_PAGES].state, MPT_ARRAY_OK);
	assert_int_equal(mp_n(ev, MP_PAGES), CAP4);
	for (int i = 0; i < CAP4; i++)
		assert_int_equal(mpt_view_page(&v, i), (uintptr_t)(targets + i * page_size));
	assert_int_equal(ev->ret_state, MPT_RET_SEEN);
	assert_int_equal(ev->ret, 0);
	/* and what the return found */
	if (unmap) {
		assert_int_equal(mp_changed(ev), MPT_CHANGED_PAGES);
		assert_int_equal(mp_exit_state(ev, MP_PAGES), MPT_ARRAY_FAULT);
		assert_null(v.arg[2].exit_data);
	} else {
		assert_int_equal(mp_changed(ev), MPT_CHANGED_PAGES);
		assert_int_equal(mp_exit_state(ev, MP_PAGES), MPT_ARRAY_OK);
		assert_non_null(v.arg[2].exit_data);
		assert_int_equal(mpt_view_page_exit(&v, 0), (uintptr_t)(targets + 6 * page_size));
		for (int i = 1; i < CAP4; i++)
			assert_int_equal(mpt_view_page_exit(&v, i),
					 (uintptr_t)(targets + i * page_size));
	}
	/* nodes[] was left alone: compared, and unchanged */
	assert_int_equal(ev->cap[MP_NODES].state, MPT_ARRAY_OK);
	assert_int_equal(mp_exit_state(ev, MP_NODES), MPT_ARRAY_OK);
	assert_null(v.arg[3].exit_data);
	assert_int_equal(mpt_tracer_stats(t, &st), 0);
	assert_int_equal(mpt_stats_lost(&st), 0);

	free(later);
	uffd_region_free(&r);
	munmap(targets, (COUNT + 1) * page_size);
}

void test_array_rewritten_during_call(void **state)
{
	(void)state;
	race_rewrite(false);
}

void test_array_unmapped_during_call(void **state)
{
	(void)state;
	race_rewrite(true);
}

/* Does the kernel move pages between nodes by itself (kernel.numa_balancing)? */
static bool numa_balancing_on(void)
{
	FILE *f = fopen("/proc/sys/kernel/numa_balancing", "r");
	int on = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &on) != 1)
		on = 0;
	fclose(f);
	return on != 0;
}

/* Move @n pages at @p to @node; every status must say it is there. */
static void pages_to(char *p, size_t stride, int n, int node)
{
	void *all[8];
	int to[8], st[8];
	struct tu_call c = {
	    .count = n, .pages = all, .nodes = to, .status = st, .flags = MPOL_MF_MOVE};

	for (int i = 0; i < n; i++) {
		all[i] = p + i * stride;
		to[i] = node;
	}
	/* EBUSY: "the page is currently busy and cannot be moved. Try again later." */
	for (int tries = 0; tries < 20; tries++) {
		bool busy = false;

		assert_int_equal(tu_move_pages(&c), 0);
		for (int i = 0; i < n; i++)
			busy |= st[i] == -EBUSY;
		if (!busy)
			break;
		usleep(50000);
	}
	for (int i = 0; i < n; i++)
		assert_int_equal(st[i], node);
}

#define THP_SIZE (2ul << 20)

/* A transparent huge page of ours, on node 0; NULL when the kernel gives none. */
static char *huge_page(void **map)
{
	char *p, line[256];
	long huge_kb = -1;
	FILE *f;

	*map = mmap(NULL, 2 * THP_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(*map != MAP_FAILED);
	p = (char *)(((uintptr_t)*map + THP_SIZE - 1) & ~(THP_SIZE - 1));
	if (madvise(p, THP_SIZE, MADV_HUGEPAGE))
		return NULL;
	memset(p, 1, THP_SIZE);
	/* smaps says whether the region is one huge page */
	f = fopen("/proc/self/smaps", "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			huge_kb = lo <= (uintptr_t)p && (uintptr_t)p < hi ? -2 : -1;
		else if (huge_kb == -2 && sscanf(line, "AnonHugePages: %ld kB", &huge_kb) == 1)
			break;
	}
	if (f)
		fclose(f);
	if (huge_kb < (long)(THP_SIZE >> 10))
		return NULL;
	pages_to(p, 0, 1, 0);
	return p;
}

/*
 * Rewritten and restored under the kernel: the exit re-read sees nothing,
 * the kernel's own view must. nodes[] spans two missing userfaultfd pages,
 * so the kernel stops at nodes[0] (after reading pages[0]) and at nodes[2]
 * (after reading pages[1] and nodes[1]). pages[1] is swapped for X at the
 * first stop and restored at the second: the kernel migrates A, X, C and D
 * while the record says A, B, C, D. Needs two NUMA nodes (a real migration).
 * X is a 4 KiB page, or a transparent huge page, which the kernel remaps
 * whole under another tracepoint (thp:remove_migration_pmd).
 */
static void restored_before_return(char *targets, char *x)
{
	enum { CAP4 = 4 };
	struct tu_events *sink;
	struct uffd_region r;
	struct mpt_tracer *t = tracer_cap4(&sink);
	struct tu_call c = {0};
	char *page = calloc(1, page_size);
	void *pages[CAP4];
	const struct mpt_call_event *ev;
	struct mpt_view v;
	int status[CAP4];
	pthread_t th;

	uffd_region(&r, 2, 0);
	for (int i = 0; i < CAP4; i++)
		pages[i] = targets + i * page_size;
	c.count = CAP4;
	c.pages = pages;
	c.nodes = (int *)(r.base + page_size - 2 * sizeof(int));
	c.status = status;
	c.flags = MPOL_MF_MOVE;
	assert_int_equal(pthread_create(&th, NULL, thread_call, &c), 0);

	uffd_wait_fault(&r); /* at nodes[0] */
	pages[1] = x;
	((int *)(page + page_size))[-1] = 1;
	((int *)(page + page_size))[-2] = 1;
	uffd_supply(&r, 0, page);
	uffd_wait_fault(&r); /* at nodes[2]: pages[1] was read as X */
	pages[1] = targets + page_size;
	memset(page, 0, page_size);
	((int *)page)[0] = ((int *)page)[1] = 1;
	uffd_supply(&r, 1, page);
	ev = joined_call_record(th, &c, t, sink, &v);
	for (int i = 0; i < CAP4; i++)
		assert_int_equal(mpt_view_page(&v, i), (uintptr_t)(targets + i * page_size));
	/* the same at the return: the re-read cannot tell */
	assert_int_equal(mp_changed(ev), 0);
	/* but the kernel moved X, which the record does not hold, and nothing else */
	assert_int_equal(mp_n(ev, MP_OTHER), 1);
	assert_int_equal(mpt_view_kernel_other(&v, 0), (uintptr_t)x);
	assert_int_equal(ev->kview, kview_checked);

	free(page);
	uffd_region_free(&r);
}

/* Can a migration be watched here: two nodes, and pages that stay where they are put? */
static bool migrations_watchable(void)
{
	if (tu_online_nodes() < 2) {
		printf("# one NUMA node: no migration to watch here\n");
		return false;
	}
	if (numa_balancing_on()) {
		/* it may move the pages to node 1 while the tracer loads, leaving nothing to move
		 */
		printf("# automatic NUMA balancing is on: the pages may not stay where they are "
		       "put\n");
		return false;
	}
	return true;
}

void test_array_restored_before_return(void **state)
{
	enum { CAP4 = 4 };
	char *targets;

	(void)state;
	if (!migrations_watchable())
		skip();
	targets = tu_touched_pages(CAP4 + 1);
	/* first-touch may have put them on node 1 already: start them all on node 0 */
	pages_to(targets, page_size, CAP4 + 1, 0);
	restored_before_return(targets, targets + CAP4 * page_size);
	munmap(targets, (CAP4 + 1) * page_size);
}

void test_huge_page_restored_before_return(void **state)
{
	enum { CAP4 = 4 };
	char *targets, *x;
	void *map;

	(void)state;
	if (!migrations_watchable())
		skip();
	if (kview_checked != MPT_KVIEW_CHECKED) {
		/* the records say so: "checked 4 KiB pages" (test_array_restored_before_return) */
		printf("# no thp:remove_migration_pmd here: a huge page is not checked\n");
		skip();
	}
	x = huge_page(&map);
	if (!x) {
		if (getenv("MPTRACE_REQUIRE_THP"))
			fail_msg("no transparent huge page here, and MPTRACE_REQUIRE_THP is set");
		printf("# no transparent huge page here\n");
		munmap(map, 2 * THP_SIZE);
		skip();
	}
	targets = tu_touched_pages(CAP4);
	pages_to(targets, page_size, CAP4, 0);
	restored_before_return(targets, x);
	munmap(targets, CAP4 * page_size);
	munmap(map, 2 * THP_SIZE);
}

/*
 * @n threads held inside move_pages at once (pages[] on one missing
 * userfaultfd page), with room for @max_inflight: every call must be
 * reported, with its return while a slot was free and from its entry
 * beyond that, and nothing counted as lost. A kretprobe with the kernel's
 * default maxactive (max(10, 2 x CPUs)) saw 10 of 32 such calls.
 */
/* How the held calls' records ended. */
struct held_tally {
	unsigned int seen, missed, untracked, from_return;
};

/* Each record of a held call on @base: what it says of its return, checked against it. */
static void tally_held(const struct tu_events *sink, const char *base, struct held_tally *h)
{
	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < sink->n; i++) {
		const struct mpt_call_event *ev = sink->ev[i];

		assert_int_equal(ev->arg[1], 1);
		assert_int_equal(ev->arg[2], (uintptr_t)base);
		if (ev->ret_state == MPT_RET_SEEN) {
			h->seen += ev->origin == MPT_ORIGIN_ENTRY;
			h->from_return += ev->origin == MPT_ORIGIN_RETURN;
			assert_int_equal(ev->ret, 0);
			/* a query: nothing to check; from its return: the view never watched it */
			assert_int_equal(ev->kview, ev->origin == MPT_ORIGIN_RETURN
							? MPT_KVIEW_NO_ENTRY
							: MPT_KVIEW_QUERY);
		} else {
			h->untracked += ev->ret_state == MPT_RET_UNTRACKED;
			/* a held call whose return hook the kernel skipped: told at thread exit */
			h->missed += ev->ret_state == MPT_RET_MISSED;
			assert_int_equal(ev->cap[MP_STATUS].state, MPT_ARRAY_NO_RETURN);
			assert_int_equal(ev->kview, MPT_KVIEW_NO_RETURN);
		}
	}
}

static void held_at_once(unsigned int n, uint32_t max_inflight)
{
	struct tu_events sink = {0};
	struct uffd_region r;
	struct mpt_tracer *t;
	struct mpt_stats st;
	struct tu_call *c = calloc(n, sizeof(*c));
	pthread_t *th = calloc(n, sizeof(*th));
	char *target = tu_touched_pages(1);
	void **page = calloc(1, page_size);
	struct held_tally h;
	unsigned int held;
	unsigned int tracked = n < max_inflight ? n : max_inflight;
	uint64_t deadline;

	t = start_tracer(getpid(), true, max_inflight, &sink);
	assert_non_null(t);
	uffd_region(&r, 1, 0);
	for (unsigned int i = 0; i < n; i++) {
		c[i].count = 1;
		c[i].pages = (void **)r.base;
		c[i].status = calloc(1, sizeof(int));
		assert_int_equal(pthread_create(&th[i], NULL, thread_call, &c[i]), 0);
	}
	/*
	 * every call entered: the tracked ones hold slots, the others were
	 * reported; on a preemptible kernel the kernel may skip an entry hook
	 * (another thread's run of it preempted on that CPU), and says so
	 */
	deadline = tu_boot_ns() + 10000000000ull;
	do {
		mpt_tracer_poll(t, 10);
		assert_int_equal(mpt_tracer_stats(t, &st), 0);
		held = mpt_tracer_inflight_count(t);
	} while (held + sink.n + st.entries_skipped < n && tu_boot_ns() < deadline);
	assert_int_equal(held + sink.n + st.entries_skipped, n);
	assert_true(held <= tracked);
	if (!st.entries_skipped)
		assert_int_equal(held, tracked);
	page[0] = target;
	uffd_supply(&r, 0, page);
	for (unsigned int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].ret, 0);
	}
	/* a call with both hooks skipped, or no slot to report it from its return: lost, said */
	assert_int_equal(mpt_tracer_stats(t, &st), 0);
	assert_int_equal(tu_wait_events(t, &sink, n - mpt_stats_lost(&st), WAIT_MS),
			 n - mpt_stats_lost(&st));
	tally_held(&sink, r.base, &h);
	assert_int_equal(mpt_tracer_stats(t, &st), 0);
	if (h.seen + h.missed != held || h.missed > st.hooks_skipped ||
	    h.seen + h.missed + h.untracked + h.from_return + mpt_stats_lost(&st) != n ||
	    h.from_return + mpt_stats_lost(&st) != st.entries_skipped)
		fail_msg("%u calls held with %u slots: %u returns seen, %u missed, %u reported at "
			 "entry, %u from their return (%llu entries skipped, %llu hooks), %zu "
			 "records, %llu lost; the kernel's kretprobes missed %llu returns",
			 n, max_inflight, h.seen, h.missed, h.untracked, h.from_return,
			 (unsigned long long)st.entries_skipped,
			 (unsigned long long)st.hooks_skipped, sink.n,
			 (unsigned long long)mpt_stats_lost(&st),
			 (unsigned long long)st.kretprobe_missed);
	assert_int_equal(st.kernel[MPT_STAT_EVENTS], sink.n);
	assert_int_equal(st.kretprobe_missed, 0);
	assert_int_equal(mpt_tracer_inflight_count(t), 0);

	mpt_tracer_free(t);
	tu_events_clear(&sink);
	free(sink.ev);
	for (unsigned int i = 0; i < n; i++)
		free(c[i].status);
	free(c);
	free(th);
	free(page);
	uffd_region_free(&r);
	munmap(target, page_size);
}

void test_many_held_calls(void **state)
{
	(void)state;
	held_at_once(48, MPT_MAX_INFLIGHT_DEFAULT);
}

void test_more_held_calls_than_slots(void **state)
{
	(void)state;
	held_at_once(8, 4);
}
