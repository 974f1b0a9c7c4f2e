// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Integration: load the real BPF programs into the running kernel, make real
 * move_pages calls with known arguments, and check every field of the record
 * against what the caller passed and saw.
 *
 * MPTRACE_TEST_ATTACH=kprobe|fentry|tracepoint forces a mode (tests/vm runs
 * this binary once per mode); the default is the same auto plan as mptrace.
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

#define CAP 64
#define MPOL_MF_MOVE (1 << 1)
#define MPOL_MF_MOVE_ALL (1 << 2)
#define WAIT_MS 3000

static struct mpt_tracer *tracer;
static struct tu_events events;
/* a tracer that keeps 4 entries of each array, for the tests that race the kernel */
static struct mpt_tracer *cap4_tracer;
static struct tu_events cap4_events;
static enum mpt_attach_mode attach_mode = MPT_ATTACH_AUTO;
static long page_size;

/* What the record should say about each array, when the default guess is wrong. */
struct expect {
	uint8_t pages_state, nodes_state, status_state;
};

/* What the kernel's own view says of a call's pages[]; kview_checked: what it can do here. */
static uint8_t kview_checked;

static uint8_t want_kview(const struct tu_call *c, const struct expect *x)
{
	if (!c->nodes)
		return MPT_KVIEW_QUERY;
	if (c->flags & MPOL_MF_MOVE_ALL)
		return MPT_KVIEW_MOVE_ALL;
	if (x->pages_state != MPT_ARRAY_OK)
		return MPT_KVIEW_NOT_READ;
	if (c->count > CAP)
		return MPT_KVIEW_NOT_WHOLE;
	return kview_checked;
}

/* The states in which a record holds the array's entries. */
static bool has_data(uint8_t state)
{
	return state == MPT_ARRAY_OK || state == MPT_ARRAY_PARTIAL || state == MPT_ARRAY_AT_RETURN;
}

static void default_expect(const struct tu_call *c, struct expect *x)
{
	bool part_way =
	    c->ret == -ENODEV || c->ret == -EACCES || c->ret == -EFAULT || c->ret == -ENOMEM;

	x->pages_state = c->pages ? MPT_ARRAY_OK : MPT_ARRAY_NULL;
	x->nodes_state = c->nodes ? MPT_ARRAY_OK : MPT_ARRAY_NULL;
	if (c->ret < 0 && !part_way)
		x->status_state = MPT_ARRAY_NOT_FILLED;
	else if (!c->status)
		x->status_state = MPT_ARRAY_NULL;
	else
		x->status_state = c->ret < 0 ? MPT_ARRAY_PARTIAL : MPT_ARRAY_OK;
}

/*
 * The events a tracer of one test traces: the group tracer takes every one;
 * the others, which check move_pages and migrate_pages, load only theirs
 * (under TCG every event's hooks cost seconds of verifying per start).
 */
static bool every_event;

static struct mpt_tracer *start_tracer_cap(uint32_t targ_tgid, bool trace_self,
					   uint32_t max_inflight, uint32_t cap,
					   struct tu_events *sink)
{
	struct mpt_tracer_opts o;
	struct mpt_attach_report rep;
	struct mpt_tracer *t = NULL;
	char err[256];

	mpt_tracer_opts_default(&o);
	if (!every_event &&
	    mpt_filter_add_events(&o.filter, "move_pages,migrate_pages", err, sizeof(err)))
		fail_msg("%s", err);
	o.attach = attach_mode;
	o.array_cap = cap;
	if (targ_tgid) {
		o.filter.val[MPT_FILTER_PID][0] = targ_tgid;
		o.filter.n[MPT_FILTER_PID] = 1;
	}
	tu_trace_self = trace_self;
	if (max_inflight)
		o.max_inflight = max_inflight;
	o.on_event = tu_collect;
	o.ctx = sink;
	if (mpt_tracer_start(&o, &t, &rep)) {
		for (int m = 0; m < MPT_ATTACH_NR; m++)
			if (rep.tried[m])
				fprintf(stderr, "attach %s: %s\n", mpt_attach_name(m), rep.why[m]);
		if (rep.error[0])
			fprintf(stderr, "tracer: %s\n", rep.error);
	}
	return t;
}

static struct mpt_tracer *start_tracer(uint32_t targ_tgid, bool trace_self, uint32_t max_inflight,
				       struct tu_events *sink)
{
	return start_tracer_cap(targ_tgid, trace_self, max_inflight, CAP, sink);
}

static int group_setup(void **state)
{
	(void)state;
	page_size = sysconf(_SC_PAGESIZE);
	every_event = true;
	tracer = start_tracer(getpid(), true, 0, &events);
	every_event = false;
	if (!tracer)
		return -1;
	printf("# attach mode: %s\n", mpt_attach_name(mpt_tracer_mode(tracer)));
	{
		char why[MPT_REASON_LEN];

		kview_checked = !mpt_kernel_view_available(why, sizeof(why)) ? MPT_KVIEW_OFF
				: mpt_kernel_view_pmd_available()	     ? MPT_KVIEW_CHECKED
									     : MPT_KVIEW_CHECKED_4K;
	}
	printf("# the kernel's own view: %s\n", mpt_kview_name(kview_checked));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	mpt_tracer_free(tracer);
	mpt_tracer_free(cap4_tracer);
	tu_events_clear(&events);
	free(events.ev);
	tu_events_clear(&cap4_events);
	free(cap4_events.ev);
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	tu_print_lap();
	tu_events_clear(&events);
	return 0;
}

static void own_comm(char comm[16])
{
	memset(comm, 0, 16);
	prctl(PR_GET_NAME, comm);
}

static bool in_init_pidns(void)
{
	struct stat self, init;

	return !stat("/proc/self/ns/pid", &self) && !stat("/proc/1/ns/pid", &init) &&
	       self.st_ino == init.st_ino;
}

/* The common header: this process's thread @tid called between @before and @after. */
static void assert_caller(const struct mpt_rec_hdr *h, pid_t tid, uint64_t before, uint64_t after)
{
	const struct mpt_task *t = &h->task;
	uint64_t cgid = tu_self_cgroup_id();
	char comm[16];

	assert_int_equal(h->version, MPT_EVENT_VERSION);
	assert_int_equal(h->ret_state, MPT_RET_SEEN);
	assert_int_equal(t->ns_tgid, getpid());
	assert_int_equal(t->ns_tid, tid);
	assert_int_equal(t->ns_ptgid, getppid());
	if (in_init_pidns()) {
		assert_int_equal(t->host_tgid, getpid());
		assert_int_equal(t->host_tid, tid);
		assert_int_equal(t->host_ptgid, getppid());
	}
	assert_int_equal(t->uid, getuid());
	assert_int_equal(t->gid, getgid());
	own_comm(comm);
	assert_memory_equal(t->comm, comm, 16);
	if (cgid)
		assert_int_equal(t->cgroup_id, cgid);
	assert_true(t->cpu < (uint32_t)sysconf(_SC_NPROCESSORS_CONF));
	assert_in_range(h->ts_boot_ns, before, after);
	assert_true(h->duration_ns > 0);
	assert_true(h->duration_ns <= after - before);
}

/* Every field of @ev against the call @c made by this process. */
static void assert_record(const struct mpt_event *ev, const struct tu_call *c,
			  const struct expect *x_in)
{
	unsigned int n = c->count < CAP ? c->count : CAP;
	struct mpt_view v;
	struct expect x;
	const char *why;
	unsigned int i;

	if (x_in)
		x = *x_in;
	else
		default_expect(c, &x);
	assert_int_equal(mpt_event_parse(ev, ev->size, &v, &why), 0);
	/* a plain native call, returned, nothing rewritten under it */
	assert_int_equal(ev->type, MPT_REC_MOVE_PAGES);
	assert_int_equal(ev->abi, MPT_ABI_X86_64);
	assert_int_equal(ev->changed, 0);
	assert_int_equal(ev->pages_exit_state, MPT_ARRAY_OK);
	assert_int_equal(ev->nodes_exit_state, MPT_ARRAY_OK);

	/* who and when */
	assert_caller(&ev->hdr, c->tid, c->boot_before, c->boot_after);

	/* the six arguments and the result */
	assert_int_equal(ev->pid, c->pid);
	assert_int_equal(ev->count, c->count);
	assert_int_equal(ev->pages, (uintptr_t)c->pages);
	assert_int_equal(ev->nodes, (uintptr_t)c->nodes);
	assert_int_equal(ev->status, (uintptr_t)c->status);
	assert_int_equal(ev->flags, c->flags);
	assert_int_equal(ev->ret, c->ret);

	/* the arrays */
	assert_int_equal(ev->pages_state, x.pages_state);
	assert_int_equal(ev->pages_n, has_data(x.pages_state) ? n : 0);
	for (i = 0; i < ev->pages_n; i++)
		assert_int_equal(mpt_view_page(&v, i), (uintptr_t)c->pages[i]);
	assert_int_equal(ev->nodes_state, x.nodes_state);
	assert_int_equal(ev->nodes_n, has_data(x.nodes_state) ? n : 0);
	for (i = 0; i < ev->nodes_n; i++)
		assert_int_equal(mpt_view_node(&v, i), c->nodes[i]);
	assert_int_equal(ev->status_state, x.status_state);
	assert_int_equal(ev->status_n, has_data(x.status_state) ? n : 0);
	assert_int_equal(ev->kview, want_kview(c, &x));
	for (i = 0; i < ev->status_n; i++)
		assert_int_equal(mpt_view_status(&v, i), c->status_seen[i]);
}

/* Make the call, wait for exactly one record, check it. */
static void call_and_check(struct tu_call *c, const struct expect *x)
{
	tu_move_pages(c);
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	assert_record(events.ev[0], c, x);
}

/* A call on @n touched pages of our own; the caller frees *mem with munmap. */
static void own_pages_call(struct tu_call *c, size_t n, char **mem)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	*mem = tu_touched_pages(n);
	assert_non_null(*mem);
	c->count = n;
	c->pages = calloc(n, sizeof(void *));
	c->status = calloc(n, sizeof(int));
	assert_non_null(c->pages);
	assert_non_null(c->status);
	for (i = 0; i < n; i++) {
		c->pages[i] = *mem + i * page_size;
		c->status[i] = -12345;
	}
}

static int *zero_nodes(size_t n)
{
	int *nodes = calloc(n, sizeof(int));

	assert_non_null(nodes);
	return nodes;
}

static void free_call(struct tu_call *c, char *mem, size_t n)
{
	free(c->pages);
	free(c->nodes);
	free(c->status);
	if (mem)
		munmap(mem, n * page_size);
}

static void test_query_mode(void **state)
{
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 4, &mem);
	call_and_check(&c, NULL);
	assert_int_equal(c.ret, 0);
	/* the node each page is on: any online node (two in the qemu guests) */
	for (int i = 0; i < 4; i++)
		assert_in_range(c.status_seen[i], 0, tu_online_nodes() - 1);
	free_call(&c, mem, 4);
}

static void test_move_to_node0(void **state)
{
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 3, &mem);
	c.nodes = zero_nodes(3);
	c.flags = MPOL_MF_MOVE;
	call_and_check(&c, NULL);
	assert_int_equal(c.ret, 0);
	free_call(&c, mem, 3);
}

static void test_count_zero(void **state)
{
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 1, &mem);
	c.count = 0;
	call_and_check(&c, NULL);
	assert_int_equal(c.ret, 0);
	assert_int_equal(events.ev[0]->pages_n, 0);
	assert_int_equal(events.ev[0]->size, sizeof(struct mpt_event));
	free_call(&c, mem, 1);
}

static void test_truncation(void **state)
{
	struct tu_call c;
	struct mpt_view v;
	const char *why;
	char *mem;

	(void)state;
	own_pages_call(&c, 100, &mem);
	c.nodes = zero_nodes(100);
	c.flags = MPOL_MF_MOVE;
	call_and_check(&c, NULL);
	assert_int_equal(events.ev[0]->pages_n, CAP);
	assert_int_equal(events.ev[0]->status_n, CAP);
	assert_int_equal(mpt_event_parse(events.ev[0], events.ev[0]->size, &v, &why), 0);
	assert_true(v.arg[2].truncated); /* pages[] */
	free_call(&c, mem, 100);
}

static void test_unmapped_page(void **state)
{
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 3, &mem);
	munmap(mem + page_size, page_size);
	call_and_check(&c, NULL);
	assert_int_equal(c.status_seen[1], -EFAULT);
	assert_in_range(c.status_seen[0], 0, tu_online_nodes() - 1);
	munmap(mem, page_size);
	munmap(mem + 2 * page_size, page_size);
	free_call(&c, NULL, 0);
}

static void test_null_entry(void **state)
{
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 3, &mem);
	c.pages[2] = NULL;
	call_and_check(&c, NULL);
	assert_true(c.status_seen[2] < 0);
	free_call(&c, mem, 3);
}

static void test_unreadable_pages(void **state)
{
	/* the kernel failed at element 0: status[] was read, written in none of it */
	struct expect x = {MPT_ARRAY_FAULT, MPT_ARRAY_NULL, MPT_ARRAY_PARTIAL};
	int status[2] = {-7, -8};
	struct tu_call c = {.count = 2, .pages = (void **)0x10, .status = status};

	(void)state;
	call_and_check(&c, &x);
	assert_int_equal(c.ret, -EFAULT);
}

static void test_unreadable_nodes(void **state)
{
	struct expect x = {MPT_ARRAY_OK, MPT_ARRAY_FAULT, MPT_ARRAY_PARTIAL};
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 2, &mem);
	c.nodes = (int *)0x10;
	c.flags = MPOL_MF_MOVE;
	call_and_check(&c, &x);
	assert_int_equal(c.ret, -EFAULT);
	c.nodes = NULL;
	free_call(&c, mem, 2);
}

static void test_invalid_flags(void **state)
{
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 1, &mem);
	c.flags = 0x10;
	call_and_check(&c, NULL);
	assert_int_equal(c.ret, -EINVAL);
	free_call(&c, mem, 1);
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid; /* reaped: nothing has this pid until the counter wraps */
}

static void test_nonexistent_pid(void **state)
{
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 1, &mem);
	c.pid = dead_pid();
	call_and_check(&c, NULL);
	assert_int_equal(c.ret, -ESRCH);
	free_call(&c, mem, 1);
}

static void test_offline_node(void **state)
{
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 2, &mem);
	c.nodes = zero_nodes(2);
	c.nodes[1] = tu_offline_node();
	c.flags = MPOL_MF_MOVE;
	call_and_check(&c, NULL);
	assert_int_equal(c.ret, -ENODEV);
	/* page 0 was done before node 1 failed: the kernel wrote its status, and the record has it
	 */
	assert_int_equal(c.status_seen[0], 0);
	assert_int_equal(c.status_seen[1], -12345);
	assert_int_equal(((const struct mpt_event *)events.ev[0])->status_state, MPT_ARRAY_PARTIAL);
	free_call(&c, mem, 2);
}

/* A page of a shared memfd mapping holding @n words, emptied: not present until touched. */
static char *not_present_page(int *fd)
{
	char *p;

	*fd = memfd_create("mpt-arrays", 0);
	assert_true(*fd >= 0);
	assert_int_equal(ftruncate(*fd, page_size), 0);
	p = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

/*
 * pages[] and nodes[] on a shared page emptied with MADV_DONTNEED, no
 * privilege needed: nothing is present at the entry, so a BPF read fails
 * there, while the kernel faults the page in and moves the pages. The
 * record holds what the kernel read: read at the return. Each array alone,
 * then both.
 */
static void test_arrays_not_present(void **state)
{
	static const struct expect want[3] = {
	    {MPT_ARRAY_AT_RETURN, MPT_ARRAY_OK, MPT_ARRAY_OK},
	    {MPT_ARRAY_OK, MPT_ARRAY_AT_RETURN, MPT_ARRAY_OK},
	    {MPT_ARRAY_AT_RETURN, MPT_ARRAY_AT_RETURN, MPT_ARRAY_OK},
	};
	void **own_pages;
	int *own_nodes = zero_nodes(2), fd;
	char *shared = not_present_page(&fd), *mem;
	void **pages = (void **)shared;
	int *nodes = (int *)(shared + 64);
	struct tu_call c;

	(void)state;
	own_pages_call(&c, 2, &mem);
	own_pages = c.pages;
	memcpy(pages, own_pages, 2 * sizeof(void *));
	nodes[0] = nodes[1] = 0;
	c.flags = MPOL_MF_MOVE;
	for (int i = 0; i < 3; i++) {
		const struct mpt_event *ev;

		c.pages = want[i].pages_state == MPT_ARRAY_OK ? own_pages : pages;
		c.nodes = want[i].nodes_state == MPT_ARRAY_OK ? own_nodes : nodes;
		assert_int_equal(madvise(shared, page_size, MADV_DONTNEED), 0);
		tu_events_clear(&events);
		call_and_check(&c, &want[i]);
		assert_int_equal(c.ret, 0);
		ev = (const struct mpt_event *)events.ev[0];
		assert_int_equal(ev->changed, 0);
	}
	c.pages = own_pages;
	c.nodes = own_nodes;
	free_call(&c, mem, 2);
	munmap(shared, page_size);
	close(fd);
}

static void test_move_all(void **state)
{
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 2, &mem);
	c.nodes = zero_nodes(2);
	c.flags = MPOL_MF_MOVE_ALL;
	call_and_check(&c, NULL);
	assert_int_equal(c.ret, 0); /* root has CAP_SYS_NICE */
	free_call(&c, mem, 2);
}

/*
 * The call doing its real job: pages go to node 0, then really migrate to
 * node 1, and a query finds them there. Needs two nodes with memory (the qemu
 * guests of tests/vm have them); a one-node host skips it.
 */
static void test_real_migration(void **state)
{
	struct tu_call c;
	char *mem;
	int i;

	(void)state;
	if (tu_online_nodes() < 2) {
		printf("# one NUMA node: no migration to watch here\n");
		skip();
	}
	own_pages_call(&c, 4, &mem);
	c.nodes = zero_nodes(4);
	c.flags = MPOL_MF_MOVE;
	call_and_check(&c, NULL);
	for (i = 0; i < 4; i++)
		assert_int_equal(c.status_seen[i], 0);

	tu_events_clear(&events);
	for (i = 0; i < 4; i++)
		c.nodes[i] = 1;
	call_and_check(&c, NULL);
	assert_int_equal(c.ret, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(c.status_seen[i], 1);

	tu_events_clear(&events);
	free(c.nodes);
	c.nodes = NULL;
	c.flags = 0;
	call_and_check(&c, NULL);
	for (i = 0; i < 4; i++)
		assert_int_equal(c.status_seen[i], 1);
	printf("# migrated 4 pages from node 0 to node 1\n");
	free_call(&c, mem, 4);
}

static void *thread_call(void *arg)
{
	tu_move_pages(arg);
	return NULL;
}

static void test_second_thread(void **state)
{
	struct tu_call c;
	pthread_t th;
	char *mem;

	(void)state;
	own_pages_call(&c, 2, &mem);
	assert_int_equal(pthread_create(&th, NULL, thread_call, &c), 0);
	pthread_join(th, NULL);
	assert_int_not_equal(c.tid, getpid());
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	assert_record(events.ev[0], &c, NULL);
	free_call(&c, mem, 2);
}

static void test_other_process(void **state)
{
	int go[2], ready[2];
	struct tu_call c;
	char *mem, b = 0;
	pid_t child;

	(void)state;
	own_pages_call(&c, 3, &mem);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	child = fork();
	if (child == 0) {
		/* if the parent fails an assertion, EOF on go (or the alarm) ends us */
		alarm(30);
		close(go[1]);
		close(ready[0]);
		/* same addresses as the parent's, but the child's own pages */
		for (int i = 0; i < 3; i++)
			mem[i * page_size] = 2;
		(void)!write(ready[1], &b, 1);
		(void)!read(go[0], &b, 1);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &b, 1), 1);
	c.pid = child;
	c.nodes = zero_nodes(3);
	c.flags = MPOL_MF_MOVE;
	call_and_check(&c, NULL);
	assert_int_equal(c.ret, 0);
	assert_int_equal(events.ev[0]->pid, child);
	assert_int_equal(write(go[1], &b, 1), 1);
	waitpid(child, NULL, 0);
	close(go[0]), close(go[1]), close(ready[0]), close(ready[1]);
	free_call(&c, mem, 3);
}

static void test_no_state_left(void **state)
{
	(void)state;
	/* Every call above returned: no slot may still say a call is in flight. */
	assert_int_equal(mpt_tracer_inflight_count(tracer), 0);
}

static void test_self_not_traced(void **state)
{
	struct tu_events own = {0};
	struct mpt_tracer *t;
	struct mpt_stats st;
	struct tu_call c;
	char *mem;

	(void)state;
	/* as mptrace runs: its own process excluded */
	t = start_tracer(getpid(), false, 0, &own);
	assert_non_null(t);
	own_pages_call(&c, 1, &mem);
	tu_move_pages(&c);
	/* the group tracer saw it, so it did reach the tracepoints */
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	mpt_tracer_poll(t, 50);
	assert_int_equal(own.n, 0);
	assert_int_equal(mpt_tracer_stats(t, &st), 0);
	assert_int_equal(st.kernel[MPT_STAT_EVENTS], 0);
	assert_int_equal(mpt_stats_lost(&st), 0);
	mpt_tracer_free(t);
	free(own.ev);
	free_call(&c, mem, 1);
}

static void test_stats_count_events(void **state)
{
	struct mpt_stats st;
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 1, &mem);
	tu_move_pages(&c);
	tu_move_pages(&c);
	assert_int_equal(tu_wait_events(tracer, &events, 2, WAIT_MS), 2);
	assert_int_equal(mpt_tracer_stats(tracer, &st), 0);
	/* every record the kernel wrote was received, none lost */
	assert_int_equal(st.kernel[MPT_STAT_EVENTS], st.received);
	assert_int_equal(mpt_stats_lost(&st), 0);
	free_call(&c, mem, 1);
}

static void test_inflight_memory_bounded(void **state)
{
	struct mpt_tracer_opts o;
	struct mpt_attach_report rep;
	struct mpt_tracer *t = NULL;

	(void)state;
	/* 2^20 slots of 1024 entries would preallocate ~28 GiB in the kernel */
	mpt_tracer_opts_default(&o);
	o.attach = attach_mode;
	o.array_cap = MPT_ARRAY_CAP_MAX;
	o.max_inflight = 1u << 20;
	assert_int_equal(mpt_tracer_start(&o, &t, &rep), -EINVAL);
	assert_null(t);
	assert_non_null(strstr(rep.error, "--max-inflight 1048576 x --array-cap 1024 needs"));
	assert_non_null(strstr(rep.error, "MiB"));
}

/* A userfaultfd region of @pages pages whose first @missing_from pages are present. */
struct uffd_region {
	int uffd;
	char *base;
	size_t pages;
};

static void uffd_region(struct uffd_region *r, size_t pages, size_t missing_from)
{
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg = {0};

	r->pages = pages;
	r->uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	assert_true(r->uffd >= 0);
	assert_int_equal(ioctl(r->uffd, UFFDIO_API, &api), 0);
	r->base = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	assert_true(r->base != MAP_FAILED);
	memset(r->base, 0, missing_from * page_size);
	reg.range.start = (uintptr_t)r->base + missing_from * page_size;
	reg.range.len = (pages - missing_from) * page_size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	assert_int_equal(ioctl(r->uffd, UFFDIO_REGISTER, &reg), 0);
}

/* Supply page @idx with @src (a page of bytes): every thread blocked on it goes on. */
static void uffd_supply(struct uffd_region *r, size_t idx, const void *src)
{
	struct uffdio_copy copy = {
	    .dst = (uintptr_t)r->base + idx * page_size, .src = (uintptr_t)src, .len = page_size};

	assert_int_equal(ioctl(r->uffd, UFFDIO_COPY, &copy), 0);
}

static void uffd_wait_fault(struct uffd_region *r)
{
	struct pollfd p = {.fd = r->uffd, .events = POLLIN};
	struct uffd_msg msg;

	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(r->uffd, &msg, sizeof(msg)), sizeof(msg));
	assert_int_equal(msg.event, UFFD_EVENT_PAGEFAULT);
}

static void uffd_region_free(struct uffd_region *r)
{
	close(r->uffd);
	munmap(r->base, r->pages * page_size);
}

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

static void test_exit_without_entry(void **state)
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
		const struct mpt_event *held;

		assert_int_equal(tu_wait_events(t, &sink, 2, WAIT_MS), 2);
		held = sink.ev[0];
		assert_int_equal(held->origin, MPT_ORIGIN_RETURN);
		assert_int_equal(held->ret_state, MPT_RET_SEEN);
		assert_int_equal(held->ret, 0);
		assert_int_equal(held->task.host_tid, h.c.tid);
		assert_int_equal(held->count, h.c.count);
		assert_int_equal(held->pages, (uintptr_t)h.c.pages);
		assert_int_equal(held->pages_state, MPT_ARRAY_OK);
		assert_int_equal(held->changed, 0);
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
		assert_int_equal(events.ev[0]->pages_state, events.ev[0]->ret_state == MPT_RET_SEEN
								? MPT_ARRAY_AT_RETURN
								: MPT_ARRAY_FAULT);
		assert_int_equal(events.ev[0]->ret, 0);
	}
	assert_int_equal(events.n, held_seen ? 2 : 1);
	assert_record(events.ev[events.n - 1], &h.again, NULL);
}

static void test_killed_inside_call(void **state)
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
static const struct mpt_event *joined_call_record(pthread_t th, const struct tu_call *c,
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
	const struct mpt_event *ev;
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
	assert_int_equal(ev->pages_state, MPT_ARRAY_OK);
	assert_int_equal(ev->pages_n, CAP4);
	for (int i = 0; i < CAP4; i++)
		assert_int_equal(mpt_view_page(&v, i), (uintptr_t)(targets + i * page_size));
	assert_int_equal(ev->ret_state, MPT_RET_SEEN);
	assert_int_equal(ev->ret, 0);
	/* and what the return found */
	if (unmap) {
		assert_int_equal(ev->changed, MPT_CHANGED_PAGES);
		assert_int_equal(ev->pages_exit_state, MPT_ARRAY_FAULT);
		assert_null(v.pages_exit);
	} else {
		assert_int_equal(ev->changed, MPT_CHANGED_PAGES);
		assert_int_equal(ev->pages_exit_state, MPT_ARRAY_OK);
		assert_non_null(v.pages_exit);
		assert_int_equal(mpt_view_page_exit(&v, 0), (uintptr_t)(targets + 6 * page_size));
		for (int i = 1; i < CAP4; i++)
			assert_int_equal(mpt_view_page_exit(&v, i),
					 (uintptr_t)(targets + i * page_size));
	}
	/* nodes[] was left alone: compared, and unchanged */
	assert_int_equal(ev->nodes_state, MPT_ARRAY_OK);
	assert_int_equal(ev->nodes_exit_state, MPT_ARRAY_OK);
	assert_null(v.nodes_exit);
	assert_int_equal(mpt_tracer_stats(t, &st), 0);
	assert_int_equal(mpt_stats_lost(&st), 0);

	free(later);
	uffd_region_free(&r);
	munmap(targets, (COUNT + 1) * page_size);
}

static void test_array_rewritten_during_call(void **state)
{
	(void)state;
	race_rewrite(false);
}

static void test_array_unmapped_during_call(void **state)
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
	const struct mpt_event *ev;
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
	assert_int_equal(ev->changed, 0);
	/* but the kernel moved X, which the record does not hold, and nothing else */
	assert_int_equal(ev->kernel_other_n, 1);
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

static void test_array_restored_before_return(void **state)
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

static void test_huge_page_restored_before_return(void **state)
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
	unsigned int seen = 0, missed = 0, untracked = 0, from_return = 0, held;
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
	for (size_t i = 0; i < sink.n; i++) {
		const struct mpt_event *ev = sink.ev[i];

		assert_int_equal(ev->count, 1);
		assert_int_equal(ev->pages, (uintptr_t)r.base);
		if (ev->ret_state == MPT_RET_SEEN) {
			seen += ev->origin == MPT_ORIGIN_ENTRY;
			from_return += ev->origin == MPT_ORIGIN_RETURN;
			assert_int_equal(ev->ret, 0);
			/* a query: nothing to check; from its return: the view never watched it */
			assert_int_equal(ev->kview, ev->origin == MPT_ORIGIN_RETURN
							? MPT_KVIEW_NO_ENTRY
							: MPT_KVIEW_QUERY);
		} else {
			untracked += ev->ret_state == MPT_RET_UNTRACKED;
			/* a held call whose return hook the kernel skipped: told at thread exit */
			missed += ev->ret_state == MPT_RET_MISSED;
			assert_int_equal(ev->status_state, MPT_ARRAY_NO_RETURN);
			assert_int_equal(ev->kview, MPT_KVIEW_NO_RETURN);
		}
	}
	assert_int_equal(mpt_tracer_stats(t, &st), 0);
	if (seen + missed != held || missed > st.hooks_skipped ||
	    seen + missed + untracked + from_return + mpt_stats_lost(&st) != n ||
	    from_return + mpt_stats_lost(&st) != st.entries_skipped)
		fail_msg("%u calls held with %u slots: %u returns seen, %u missed, %u reported at "
			 "entry, %u from their return (%llu entries skipped, %llu hooks), %zu "
			 "records, %llu lost; the kernel's kretprobes missed %llu returns",
			 n, max_inflight, seen, missed, untracked, from_return,
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

static void test_many_held_calls(void **state)
{
	(void)state;
	held_at_once(48, MPT_MAX_INFLIGHT_DEFAULT);
}

static void test_more_held_calls_than_slots(void **state)
{
	(void)state;
	held_at_once(8, 4);
}

/*
 * int 0x80 from this 64-bit process: the ia32 gate, with the kernel's
 * 32-bit view of every register. The upper halves carry junk that the
 * kernel ignores; so must the record.
 */
static long int80_6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r12 __asm__("r12") = a6;
	long ret;

	__asm__ volatile("push %%rbp\n\t"
			 "mov %%r12, %%rbp\n\t"
			 "int $0x80\n\t"
			 "pop %%rbp"
			 : "=a"(ret)
			 : "a"(nr), "b"(a1), "c"(a2), "d"(a3), "S"(a4), "D"(a5), "r"(r12)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

/* Does int 0x80 work here? It raises SIGSEGV on some hosts (the development VM). */
static bool ia32_gate_works(void)
{
	pid_t child = fork();
	int st;

	if (child == 0) {
		/* cmocka's handlers would carry on with the tests in this child */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		_exit(int80_6(20 /* getpid */, 0, 0, 0, 0, 0, 0) > 0 ? 0 : 1);
	}
	waitpid(child, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

#define JUNK 0xdead000000000000ul

/* The one record a call made: parsed, the generic record's, through the ia32 gate. */
static const struct mpt_call_event *one_ia32_call(struct mpt_view *v, uint16_t type, long ret)
{
	const struct mpt_call_event *c;
	const char *why;

	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	c = (const struct mpt_call_event *)events.ev[0];
	assert_int_equal(mpt_event_parse(c, c->size, v, &why), 0);
	assert_ptr_equal(v->call, c);
	assert_int_equal(c->type, type);
	assert_int_equal(c->abi, MPT_ABI_IA32);
	assert_int_equal(c->ret_state, MPT_RET_SEEN);
	assert_int_equal(c->ret, ret);
	assert_int_equal(c->task.host_tid, tu_gettid());
	return c;
}

/*
 * The memory-policy calls through the ia32 gate, junk in every upper half:
 * each argument as the kernel takes it (an int's low 32 bits sign-extended,
 * the rest zero-extended), node masks of 32-bit longs. @low: a page below 4 GiB.
 */
static void ia32_mempolicy(uint32_t *low)
{
	uint32_t *mask32 = low + 48;
	const struct mpt_call_event *c;
	struct mpt_view v;
	long ret;

	tu_events_clear(&events);
	mask32[0] = 1;
	mask32[1] = 0xffffffff; /* past maxnode - 1 bits: not read */
	/* mode -1: an int, so -1 whatever the upper half; EINVAL */
	ret = int80_6(MPT_NR_SET_MEMPOLICY_IA32, JUNK | 0xffffffffu, JUNK | (uintptr_t)mask32,
		      JUNK | 33, JUNK, JUNK, JUNK);
	assert_int_equal((int)ret, -EINVAL);
	c = one_ia32_call(&v, MPT_REC_SET_MEMPOLICY, -EINVAL);
	assert_int_equal((int64_t)c->arg[0], -1);
	assert_int_equal(c->arg[1], (uintptr_t)mask32);
	assert_int_equal(c->arg[2], 33);
	assert_int_equal(c->ncaps, 1);
	assert_int_equal(c->cap[0].arg, 1);
	assert_int_equal(c->cap[0].bytes, 4);
	assert_true(mpt_mask_has(&v.arg[1], 0));
	assert_int_equal(mpt_mask_span(&v.arg[1]), 32);
	tu_events_clear(&events);

	/* mbind of the low page to node 0, flags an unsigned int: MPOL_MF_MOVE */
	ret = int80_6(MPT_NR_MBIND_IA32, JUNK | (uintptr_t)low, JUNK | page_size, JUNK | 2,
		      JUNK | (uintptr_t)mask32, JUNK | 33, JUNK | MPOL_MF_MOVE);
	assert_int_equal((int)ret, 0);
	c = one_ia32_call(&v, MPT_REC_MBIND, 0);
	assert_int_equal(c->arg[0], (uintptr_t)low);
	assert_int_equal(c->arg[1], page_size);
	assert_int_equal(c->arg[2], 2);
	assert_int_equal(c->arg[3], (uintptr_t)mask32);
	assert_int_equal(c->arg[4], 33);
	assert_int_equal(c->arg[5], MPOL_MF_MOVE);
	assert_int_equal(c->cap[0].arg, 3);
	assert_int_equal(c->cap[0].bytes, 4);
	assert_int_equal(c->cap[0].changed, 0);
	assert_true(mpt_mask_has(&v.arg[3], 0));
	tu_events_clear(&events);

	/* the home node of that range (MPOL_BIND now), no pointer read */
	ret = int80_6(MPT_NR_SET_MEMPOLICY_HOME_NODE_IA32, JUNK | (uintptr_t)low, JUNK | page_size,
		      JUNK | 0, JUNK | 0, JUNK, JUNK);
	assert_int_equal((int)ret, 0);
	c = one_ia32_call(&v, MPT_REC_SET_MEMPOLICY_HOME_NODE, 0);
	assert_int_equal(c->arg[0], (uintptr_t)low);
	assert_int_equal(c->arg[1], page_size);
	assert_int_equal(c->arg[2], 0);
	assert_int_equal(c->arg[3], 0);
	assert_int_equal(c->ncaps, 0);
	assert_int_equal(c->size, sizeof(*c));
	tu_events_clear(&events);
}

static void test_ia32_gate(void **state)
{
	struct mpt_stats st;
	const struct mpt_event *ev;
	struct mpt_view v;
	const char *why;
	char *mem = tu_touched_pages(2);
	/* arrays the 32-bit view can address */
	uint32_t *low = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	uint32_t *pages32, *nodes32;
	int32_t *status32;
	uint64_t before, after, lost_before;
	long ret;

	(void)state;
	/* what the tests before made the group tracer queue */
	while (mpt_tracer_poll(tracer, 100) > 0)
		;
	tu_events_clear(&events);
	/* the held-call tests before may have made it count skipped hooks: only ours count */
	assert_int_equal(mpt_tracer_stats(tracer, &st), 0);
	lost_before = mpt_stats_lost(&st);
	/* a native syscall 317 (seccomp) is not an ia32 move_pages */
	assert_int_equal(syscall(317, 999, 0, NULL), -1);
	assert_int_equal(tu_wait_events(tracer, &events, 1, 300), 0);

	if (!ia32_gate_works()) {
		if (getenv("MPTRACE_REQUIRE_COMPAT"))
			fail_msg("int 0x80 does not work here, and MPTRACE_REQUIRE_COMPAT is set");
		/* no 32-bit call can be made: no hooks on every syscall, and it says why */
		assert_non_null(mpt_tracer_compat_off(tracer));
		assert_non_null(strstr(mpt_tracer_compat_off(tracer), "gates are closed"));
		printf("# int 0x80 raises a signal here: the ia32 call is checked in tests/vm\n");
		munmap(mem, 2 * page_size);
		munmap(low, page_size);
		skip();
	}
	/* the gate is open: the tracer must be watching it */
	assert_null(mpt_tracer_compat_off(tracer));
	assert_true(low != MAP_FAILED && (uintptr_t)low < (1ull << 32));
	/* page addresses as 32-bit pointers: only low pages qualify, so use low's own page */
	pages32 = low;
	nodes32 = low + 8;
	status32 = (int32_t *)low + 16;
	pages32[0] = (uint32_t)(uintptr_t)low;
	pages32[1] = 0; /* NULL: -EFAULT in status */
	nodes32[0] = nodes32[1] = 0;
	before = tu_boot_ns();
	ret = int80_6(MPT_NR_MOVE_PAGES_IA32, JUNK | 0, JUNK | 2, JUNK | (uintptr_t)pages32,
		      JUNK | (uintptr_t)nodes32, JUNK | (uintptr_t)status32, JUNK | MPOL_MF_MOVE);
	after = tu_boot_ns();
	assert_int_equal((int)ret, 0);

	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	ev = events.ev[0];
	assert_int_equal(mpt_event_parse(ev, ev->size, &v, &why), 0);
	assert_int_equal(ev->abi, MPT_ABI_IA32);
	assert_int_equal(v.ptr_bytes, 4);
	assert_int_equal(ev->task.host_tid, tu_gettid());
	assert_in_range(ev->ts_boot_ns, before, after);
	assert_int_equal(ev->ret_state, MPT_RET_SEEN);
	assert_int_equal(ev->ret, 0);
	/* 32-bit arguments: the junk in the upper halves is not part of the call */
	assert_int_equal(ev->pid, 0);
	assert_int_equal(ev->count, 2);
	assert_int_equal(ev->pages, (uintptr_t)pages32);
	assert_int_equal(ev->nodes, (uintptr_t)nodes32);
	assert_int_equal(ev->status, (uintptr_t)status32);
	assert_int_equal(ev->flags, MPOL_MF_MOVE);
	/* pages[] holds 32-bit pointers */
	assert_int_equal(ev->pages_n, 2);
	assert_int_equal(mpt_view_page(&v, 0), (uintptr_t)low);
	assert_int_equal(mpt_view_page(&v, 1), 0);
	assert_int_equal(ev->nodes_n, 2);
	assert_int_equal(mpt_view_node(&v, 0), 0);
	assert_int_equal(ev->status_state, MPT_ARRAY_OK);
	assert_int_equal(ev->status_n, 2);
	assert_int_equal(mpt_view_status(&v, 0), status32[0]);
	assert_int_equal(mpt_view_status(&v, 1), -EFAULT);
	assert_int_equal(ev->changed, 0);
	tu_events_clear(&events);

	/* migrate_pages through the same gate: 32-bit masks, whole compat_ulongs of them */
	{
		const struct mpt_migrate_event *mg;
		uint32_t *mask32 = low + 32;

		mask32[0] = 1;
		mask32[1] = 0xffffffff; /* past maxnode - 1 bits: not read */
		before = tu_boot_ns();
		ret = int80_6(MPT_NR_MIGRATE_PAGES_IA32, JUNK | 0, JUNK | 33,
			      JUNK | (uintptr_t)mask32, JUNK | (uintptr_t)mask32, JUNK, JUNK);
		after = tu_boot_ns();
		assert_int_equal((int)ret, 0);
		assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
		mg = (const struct mpt_migrate_event *)events.ev[0];
		assert_int_equal(mpt_event_parse(mg, mg->size, &v, &why), 0);
		assert_int_equal(mg->type, MPT_REC_MIGRATE_PAGES);
		assert_int_equal(mg->abi, MPT_ABI_IA32);
		assert_in_range(mg->ts_boot_ns, before, after);
		assert_int_equal(mg->ret, 0);
		assert_int_equal(mg->pid, 0);
		assert_int_equal(mg->maxnode, 33);
		assert_int_equal(mg->old_nodes, (uintptr_t)mask32);
		assert_int_equal(mg->new_nodes, (uintptr_t)mask32);
		assert_int_equal(mg->old_bytes, 4);
		assert_int_equal(mg->new_bytes, 4);
		assert_true(mpt_mask_has(&v.arg[2], 0));
		assert_int_equal(mpt_mask_span(&v.arg[2]), 32);
	}
	ia32_mempolicy(low);
	assert_int_equal(mpt_tracer_stats(tracer, &st), 0);
	assert_int_equal(mpt_stats_lost(&st), lost_before);
	munmap(mem, 2 * page_size);
	munmap(low, page_size);
}

/* A native `syscall` with rax as given, junk in its upper half included. */
static long syscall6_raw(unsigned long rax, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4, r8 __asm__("r8") = a5, r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(rax), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "memory", "rcx", "r11");
	return ret;
}

/*
 * The x32 gate (syscall.x32=y; the guests boot with it): 32-bit pointers
 * through the 64-bit entry, bit 30 set in rax. The kernel takes the low 32
 * bits of rax; orig_ax keeps the upper half, junk here. The record must be
 * whole: the return found, in every mode.
 */
static void test_x32_gate(void **state)
{
	const unsigned long junk = 0xdead000000000000ul, x32 = MPT_X32_SYSCALL_BIT;
	char *low = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	uint32_t *pages32 = (uint32_t *)(low + page_size);
	int32_t *status32 = (int32_t *)(pages32 + 16);
	const struct mpt_event *ev;
	struct mpt_view v;
	const char *why;
	long ret;

	(void)state;
	assert_true(low != MAP_FAILED);
	if (syscall6_raw(x32 | 39 /* getpid */, 0, 0, 0, 0, 0, 0) == -ENOSYS) {
		if (getenv("MPTRACE_REQUIRE_X32"))
			fail_msg(
			    "x32 calls fail here (syscall.x32=y?), and MPTRACE_REQUIRE_X32 is set");
		munmap(low, 2 * page_size);
		skip();
	}
	while (mpt_tracer_poll(tracer, 100) > 0)
		;
	tu_events_clear(&events);
	low[0] = 1;
	pages32[0] = (uint32_t)(uintptr_t)low;
	status32[0] = -12345;
	ret = syscall6_raw(junk | x32 | MPT_NR_MOVE_PAGES_64, 0, 1, (long)pages32, 0,
			   (long)status32, 0);
	assert_int_equal(ret, 0);
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	ev = (const struct mpt_event *)events.ev[0];
	assert_int_equal(mpt_event_parse(ev, ev->size, &v, &why), 0);
	assert_int_equal(ev->abi, MPT_ABI_X32);
	assert_int_equal(ev->ret_state, MPT_RET_SEEN);
	assert_int_equal(ev->ret, 0);
	assert_int_equal(ev->count, 1);
	assert_int_equal(ev->pages_n, 1);
	assert_int_equal(mpt_view_page(&v, 0), (uintptr_t)low);
	assert_int_equal(ev->status_state, MPT_ARRAY_OK);
	assert_int_equal(mpt_view_status(&v, 0), status32[0]);
	munmap(low, 2 * page_size);
}

/* One migrate_pages call, as the caller saw it. */
struct mg_call {
	int pid;
	unsigned long maxnode;
	const unsigned long *old_nodes, *new_nodes;
	long ret;
	uint64_t before, after;
};

static void migrate(struct mg_call *c)
{
	c->before = tu_boot_ns();
	c->ret = syscall(SYS_migrate_pages, c->pid, c->maxnode, c->old_nodes, c->new_nodes);
	if (c->ret < 0)
		c->ret = -errno;
	c->after = tu_boot_ns();
}

/*
 * Every field of the one record the call made: its header, the arguments,
 * and each mask as the bytes the kernel reads (@bytes of it, or @state).
 */
static void assert_migrate(const struct mg_call *c, size_t bytes, uint8_t old_state,
			   uint8_t new_state)
{
	const struct mpt_migrate_event *mg;
	struct mpt_view v;
	const char *why;

	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	mg = (const struct mpt_migrate_event *)events.ev[0];
	assert_int_equal(mg->type, MPT_REC_MIGRATE_PAGES);
	assert_int_equal(mpt_event_parse(mg, mg->size, &v, &why), 0);
	assert_string_equal(v.desc->name, "migrate_pages");
	assert_caller(&mg->hdr, tu_gettid(), c->before, c->after);
	assert_int_equal(mg->abi, MPT_ABI_X86_64);
	assert_int_equal(mg->ret, c->ret);
	assert_int_equal(mg->pid, c->pid);
	assert_int_equal(mg->maxnode, c->maxnode);
	assert_int_equal(mg->old_nodes, (uintptr_t)c->old_nodes);
	assert_int_equal(mg->new_nodes, (uintptr_t)c->new_nodes);
	assert_int_equal(mg->old_state, old_state);
	assert_int_equal(mg->new_state, new_state);
	assert_int_equal(mg->old_bytes, old_state == MPT_ARRAY_OK ? bytes : 0);
	assert_int_equal(mg->new_bytes, new_state == MPT_ARRAY_OK ? bytes : 0);
	if (old_state == MPT_ARRAY_OK)
		assert_memory_equal(mg->data, c->old_nodes, bytes);
	if (new_state == MPT_ARRAY_OK)
		assert_memory_equal(mg->data + mg->old_bytes, c->new_nodes, bytes);
	assert_int_equal(v.arg[0].value, (uint64_t)(int64_t)c->pid);
	assert_int_equal(v.arg[1].value, c->maxnode);
}

static void test_migrate_pages_self(void **state)
{
	unsigned long node0 = 1, node1 = 2;
	struct mg_call c = {.maxnode = 65, .old_nodes = &node0, .new_nodes = &node0};
	struct tu_call q;
	char *mem;

	(void)state;
	/* four pages of ours, touched now: on node 0 (the default policy's first choice) */
	own_pages_call(&q, 4, &mem);
	/* node 0 to node 0: nothing moves, and the call says so */
	migrate(&c);
	assert_int_equal(c.ret, 0);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_OK);
	tu_events_clear(&events);
	if (tu_online_nodes() < 2) {
		printf("# one NUMA node: migrate_pages to node 1 is checked in tests/vm\n");
		free_call(&q, mem, 4);
		return;
	}
	/* every page of ours on node 0 moves to node 1: a query then finds those there */
	c.new_nodes = &node1;
	migrate(&c);
	assert_true(c.ret >= 0);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_OK);
	tu_events_clear(&events);
	tu_move_pages(&q);
	assert_int_equal(q.ret, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(q.status_seen[i], 1);
	/* the query's own record, so that it does not spill into the next test */
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	assert_record(events.ev[0], &q, NULL);
	printf("# migrate_pages moved our pages from node 0 to node 1\n");
	free_call(&q, mem, 4);
	tu_events_clear(&events);
}

static void *thread_migrate(void *arg)
{
	migrate(arg);
	return NULL;
}

/*
 * migrate_pages reads a long mask's tail first (get_nodes() checks, from the
 * end, that the bits past MAX_NUMNODES are zero), then its head. The tail
 * is on a missing userfaultfd page here: while the kernel waits for it, the
 * head the entry copied is rewritten from node 0 to node 1, which the
 * kernel then reads. The record keeps what the entry saw, says what the
 * return found, and MPT-6 is raised.
 */
static void test_migrate_mask_rewritten_during_call(void **state)
{
	enum { MAXNODE = 1089, BYTES = 136 }; /* 1088 bits: 17 longs, 8 bytes past a record's 128 */
	static unsigned long new_nodes[BYTES / 8] = {1};
	struct mg_call c = {.maxnode = MAXNODE, .new_nodes = new_nodes};
	struct mpt_detect_cfg cfg;
	struct mpt_detector *d;
	const struct mpt_migrate_event *mg;
	struct uffd_region r;
	struct mpt_fmt_ctx ctx = {.hostname = "h"};
	struct mpt_view v;
	struct strbuf sb;
	const char *why;
	unsigned long *old;
	char *zero = calloc(1, page_size);
	pthread_t th;

	(void)state;
	uffd_region(&r, 2, 1);
	old = (unsigned long *)(r.base + page_size - 128);
	old[0] = 1;
	c.old_nodes = old;
	assert_int_equal(pthread_create(&th, NULL, thread_migrate, &c), 0);
	uffd_wait_fault(&r);
	old[0] = 2;
	uffd_supply(&r, 1, zero);
	pthread_join(th, NULL);
	/* with two nodes our pages on node 1 moved to 0: some may not have (a positive count) */
	assert_true(c.ret >= 0);
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	mg = (const struct mpt_migrate_event *)events.ev[0];
	assert_int_equal(mpt_event_parse(mg, mg->size, &v, &why), 0);
	assert_int_equal(mg->type, MPT_REC_MIGRATE_PAGES);
	assert_int_equal(mg->old_state, MPT_ARRAY_OK);
	assert_int_equal(mg->old_bytes, 128);
	assert_int_equal(mg->data[0], 1); /* what the entry saw */
	assert_int_equal(mg->changed, MPT_CHANGED_OLD);
	assert_int_equal(mg->exit_fault, 0);
	assert_true(v.arg[2].changed);
	assert_false(v.arg[3].changed);
	assert_int_equal(v.arg[2].exit_data[0], 2); /* what the return found */
	assert_int_equal(mg->size, sizeof(*mg) + 3 * 128);
	sb_init(&sb);
	mpt_format_json(&sb, &v, &ctx);
	assert_non_null(strstr(sb.buf, "\"data\":[0],\"truncated\":true,\"changedDuringCall\":true,"
				       "\"dataAtExit\":[1]"));
	sb_free(&sb);
	mpt_detect_cfg_default(&cfg);
	cfg.enabled = true;
	d = mpt_detector_new(&cfg);
	assert_true(mpt_detect(d, &v) & (1u << MPT_DET_CHANGED_DURING_CALL));
	mpt_detector_free(d);
	uffd_region_free(&r);
	free(zero);
}
/* set_mempolicy(MPOL_BIND, @arg's mask, 1089) from a thread of its own: its policy alone. */
static void *thread_set_mempolicy(void *arg)
{
	struct mg_call *c = arg;

	c->ret = syscall(SYS_set_mempolicy, 2, c->old_nodes, c->maxnode) ? -errno : 0;
	return NULL;
}

/*
 * The generic record's re-read, as migrate_pages' above: set_mempolicy's
 * mask has its tail on a missing userfaultfd page, its head rewritten from
 * node 0 to node 1 while the kernel waits. The record keeps the entry's
 * copy and the return's, and MPT-6 is raised.
 */
static void test_mempolicy_mask_rewritten_during_call(void **state)
{
	struct mg_call c = {.maxnode = 1089};
	const struct mpt_call_event *ev;
	unsigned long *mask;
	struct mpt_detect_cfg cfg;
	struct mpt_detector *d;
	struct uffd_region r;
	struct mpt_view v;
	const char *why;
	char *zero = calloc(1, page_size);
	pthread_t th;

	(void)state;
	uffd_region(&r, 2, 1);
	mask = (unsigned long *)(r.base + page_size - 128);
	mask[0] = 1;
	c.old_nodes = mask;
	assert_int_equal(pthread_create(&th, NULL, thread_set_mempolicy, &c), 0);
	uffd_wait_fault(&r);
	mask[0] = 2;
	uffd_supply(&r, 1, zero);
	pthread_join(th, NULL);
	/* node 1 exists in the guests, not on a one-node host: EINVAL there */
	assert_true(c.ret == 0 || c.ret == -EINVAL);
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	ev = (const struct mpt_call_event *)events.ev[0];
	assert_int_equal(mpt_event_parse(ev, ev->size, &v, &why), 0);
	assert_int_equal(ev->type, MPT_REC_SET_MEMPOLICY);
	assert_int_equal(ev->cap[0].state, MPT_ARRAY_OK);
	assert_int_equal(ev->cap[0].bytes, 128);
	assert_int_equal(ev->data[0], 1); /* what the entry saw */
	assert_int_equal(ev->cap[0].changed, 1);
	assert_int_equal(ev->cap[0].exit_fault, 0);
	assert_true(v.arg[1].changed);
	assert_int_equal(v.arg[1].exit_data[0], 2); /* what the return found */
	assert_int_equal(ev->size, sizeof(*ev) + 2 * 128);
	mpt_detect_cfg_default(&cfg);
	cfg.enabled = true;
	d = mpt_detector_new(&cfg);
	assert_true(mpt_detect(d, &v) & (1u << MPT_DET_CHANGED_DURING_CALL));
	mpt_detector_free(d);
	uffd_region_free(&r);
	free(zero);
}

static void test_migrate_pages_masks(void **state)
{
	static unsigned long big[32];
	unsigned long node0 = 1;
	struct mg_call c = {.maxnode = 65, .old_nodes = NULL, .new_nodes = &node0};

	(void)state;
	/* NULL old_nodes: an empty mask to the kernel, NULL in the record */
	migrate(&c);
	assert_migrate(&c, 8, MPT_ARRAY_NULL, MPT_ARRAY_OK);
	tu_events_clear(&events);
	/* an unreadable mask: the kernel and the record both fail to read it */
	c.old_nodes = &node0;
	c.new_nodes = (const unsigned long *)8;
	migrate(&c);
	assert_int_equal(c.ret, -EFAULT);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_FAULT);
	tu_events_clear(&events);
	/* 2000 bits: the record keeps the first 1024 (128 bytes), flagged truncated */
	big[0] = 1;
	c.maxnode = 2000;
	c.old_nodes = c.new_nodes = big;
	migrate(&c);
	assert_migrate(&c, MPT_NODEMASK_BYTES_MAX, MPT_ARRAY_OK, MPT_ARRAY_OK);
	{
		struct mpt_view v;
		const char *why;

		assert_int_equal(mpt_event_parse(events.ev[0], events.ev[0]->size, &v, &why), 0);
		assert_true(v.arg[2].truncated);
		assert_true(mpt_mask_has(&v.arg[2], 0));
		assert_false(mpt_mask_has(&v.arg[2], 1));
	}
	tu_events_clear(&events);
	/* maxnode 3: two bits, in one whole unsigned long */
	c.maxnode = 3;
	migrate(&c);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_OK);
	tu_events_clear(&events);
}

static void test_migrate_pages_other_process(void **state)
{
	unsigned long node0 = 1;
	struct mg_call c = {.maxnode = 65, .old_nodes = &node0, .new_nodes = &node0};
	pid_t child = fork();

	(void)state;
	if (child == 0) {
		/* killed below; the alarm ends it if the test fails first */
		alarm(30);
		pause();
		_exit(0);
	}
	assert_true(child > 0);
	c.pid = child;
	migrate(&c);
	assert_true(c.ret >= 0);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_OK);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	tu_events_clear(&events);
	/* a pid that does not exist */
	c.pid = dead_pid();
	migrate(&c);
	assert_int_equal(c.ret, -ESRCH);
	assert_migrate(&c, 8, MPT_ARRAY_OK, MPT_ARRAY_OK);
	tu_events_clear(&events);
}

/* --event: a tracer of one event sees none of the other's calls, and counts none lost. */
/*
 * A child whose own seccomp filter refuses move_pages (EPERM) and
 * migrate_pages (EACCES), as a container's default profile does: the calls
 * never reach the syscalls, only their return passes sys_exit. Each is
 * reported, in every mode, with its arguments and arrays, marked refused.
 */
static pid_t refused_child(int go, void **pages, int *nodes, unsigned long *mask)
{
	pid_t child = fork();
	int status[2];
	char b;

	if (child)
		return child;
	/* EACCES is also an error move_pages returns part way: the record must still say not filled
	 */
	if (read(go, &b, 1) != 1 || tu_seccomp_refuse(EACCES, EPERM))
		_exit(2);
	if (syscall(SYS_move_pages, 4242, 2, pages, nodes, status, MPOL_MF_MOVE) != -1 ||
	    errno != EACCES)
		_exit(3);
	if (syscall(SYS_migrate_pages, 0, 65, mask, mask) != -1 || errno != EPERM)
		_exit(4);
	/* junk in rax's upper half: the kernel (and seccomp) take the low 32 bits, so must we */
	if (syscall6_raw(0xdead000000000000ul | SYS_move_pages, 4242, 2, (long)pages, (long)nodes,
			 (long)status, MPOL_MF_MOVE) != -EACCES)
		_exit(5);
	_exit(0);
}

static void test_refused_by_seccomp(void **state)
{
	struct tu_events sink = {0};
	void *pages[2] = {(void *)0x10000, (void *)0x20000};
	int nodes[2] = {1, 0}, go[2], st;
	unsigned long mask = 1;
	const struct mpt_event *mp;
	const struct mpt_migrate_event *mg;
	struct mpt_tracer *t;
	struct mpt_stats s;
	pid_t child;

	(void)state;
	assert_int_equal(pipe(go), 0);
	child = refused_child(go[0], pages, nodes, &mask);
	assert_true(child > 0);
	t = start_tracer(child, false, 0, &sink);
	assert_non_null(t);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_int_equal(st, 0);
	assert_int_equal(tu_wait_events(t, &sink, 3, WAIT_MS), 3);

	mp = sink.ev[0];
	assert_int_equal(mp->type, MPT_REC_MOVE_PAGES);
	assert_int_equal(mp->origin, MPT_ORIGIN_REFUSED);
	assert_int_equal(mp->ret_state, MPT_RET_SEEN);
	assert_int_equal(mp->ret, -EACCES);
	assert_int_equal(mp->task.host_tgid, child);
	assert_int_equal(mp->pid, 4242);
	assert_int_equal(mp->count, 2);
	assert_int_equal(mp->flags, MPOL_MF_MOVE);
	assert_int_equal(mp->pages_state, MPT_ARRAY_OK);
	assert_int_equal(mp->pages_n, 2);
	assert_memory_equal(mp->data, pages, sizeof(pages));
	assert_int_equal(mp->nodes_state, MPT_ARRAY_OK);
	assert_memory_equal(mp->data + sizeof(pages), nodes, sizeof(nodes));
	assert_int_equal(mp->status_state, MPT_ARRAY_NOT_FILLED);
	assert_int_equal(mp->changed, 0);

	mg = (const struct mpt_migrate_event *)sink.ev[1];
	assert_int_equal(mg->type, MPT_REC_MIGRATE_PAGES);
	assert_int_equal(mg->origin, MPT_ORIGIN_REFUSED);
	assert_int_equal(mg->ret, -EPERM);
	assert_int_equal(mg->maxnode, 65);
	assert_int_equal(mg->old_state, MPT_ARRAY_OK);
	assert_int_equal(mg->old_nodes, (uintptr_t)&mask);

	/* the same move_pages again, rax's upper half junk: the same record */
	mp = sink.ev[2];
	assert_int_equal(mp->type, MPT_REC_MOVE_PAGES);
	assert_int_equal(mp->origin, MPT_ORIGIN_REFUSED);
	assert_int_equal(mp->abi, MPT_ABI_X86_64);
	assert_int_equal(mp->ret, -EACCES);
	assert_int_equal(mp->pid, 4242);
	assert_memory_equal(mp->data, pages, sizeof(pages));

	assert_int_equal(mpt_tracer_stats(t, &s), 0);
	assert_int_equal(mpt_stats_lost(&s), 0);
	mpt_tracer_free(t);
	tu_events_clear(&sink);
	free(sink.ev);
	close(go[0]);
	close(go[1]);
}

static void test_event_selection(void **state)
{
	unsigned long node0 = 1;
	struct mg_call c = {.maxnode = 65, .old_nodes = &node0, .new_nodes = &node0};
	struct tu_events own = {0};
	struct mpt_tracer_opts o;
	struct mpt_attach_report rep;
	struct mpt_tracer *t = NULL;
	struct mpt_stats st;
	struct tu_call q;
	char err[128], *mem;

	(void)state;
	mpt_tracer_opts_default(&o);
	o.attach = attach_mode;
	o.array_cap = CAP;
	o.filter.val[MPT_FILTER_PID][0] = getpid();
	o.filter.n[MPT_FILTER_PID] = 1;
	tu_trace_self = true;
	o.on_event = tu_collect;
	o.ctx = &own;
	assert_int_equal(mpt_filter_add_events(&o.filter, "migrate_pages", err, sizeof(err)), 0);
	assert_int_equal(mpt_tracer_start(&o, &t, &rep), 0);
	assert_string_equal(mpt_tracer_events(t), "migrate_pages");
	own_pages_call(&q, 1, &mem);
	tu_move_pages(&q);
	migrate(&c);
	/* the group tracer saw both */
	assert_int_equal(tu_wait_events(tracer, &events, 2, WAIT_MS), 2);
	assert_int_equal(tu_wait_events(t, &own, 1, WAIT_MS), 1);
	mpt_tracer_poll(t, 50);
	assert_int_equal(own.n, 1);
	assert_int_equal(own.ev[0]->type, MPT_REC_MIGRATE_PAGES);
	assert_int_equal(mpt_tracer_stats(t, &st), 0);
	assert_int_equal(st.kernel[MPT_STAT_EVENTS], 1);
	assert_int_equal(mpt_stats_lost(&st), 0);
	mpt_tracer_free(t);
	tu_events_clear(&own);
	free(own.ev);
	free_call(&q, mem, 1);
	/* names it does not know are refused, with the ones it does */
	assert_int_equal(
	    mpt_filter_add_events(&o.filter, "move_pages,get_mempolicy", err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "unknown event 'get_mempolicy'"));
	assert_int_equal(mpt_filter_add_events(&o.filter, "move_pages,", err, sizeof(err)),
			 -EINVAL);
}

int main(void)
{
	int rc = tu_require_bpf("test_trace");

	if (rc)
		return rc;
	if (tu_attach_mode(&attach_mode))
		return 1;

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_query_mode, test_setup),
	    cmocka_unit_test_setup(test_move_to_node0, test_setup),
	    cmocka_unit_test_setup(test_count_zero, test_setup),
	    cmocka_unit_test_setup(test_truncation, test_setup),
	    cmocka_unit_test_setup(test_unmapped_page, test_setup),
	    cmocka_unit_test_setup(test_null_entry, test_setup),
	    cmocka_unit_test_setup(test_unreadable_pages, test_setup),
	    cmocka_unit_test_setup(test_unreadable_nodes, test_setup),
	    cmocka_unit_test_setup(test_invalid_flags, test_setup),
	    cmocka_unit_test_setup(test_nonexistent_pid, test_setup),
	    cmocka_unit_test_setup(test_offline_node, test_setup),
	    cmocka_unit_test_setup(test_arrays_not_present, test_setup),
	    cmocka_unit_test_setup(test_move_all, test_setup),
	    cmocka_unit_test_setup(test_real_migration, test_setup),
	    cmocka_unit_test_setup(test_second_thread, test_setup),
	    cmocka_unit_test_setup(test_other_process, test_setup),
	    cmocka_unit_test_setup(test_self_not_traced, test_setup),
	    cmocka_unit_test_setup(test_stats_count_events, test_setup),
	    cmocka_unit_test_setup(test_inflight_memory_bounded, test_setup),
	    cmocka_unit_test_setup(test_array_rewritten_during_call, test_setup),
	    cmocka_unit_test_setup(test_array_unmapped_during_call, test_setup),
	    cmocka_unit_test_setup(test_array_restored_before_return, test_setup),
	    cmocka_unit_test_setup(test_huge_page_restored_before_return, test_setup),
	    cmocka_unit_test_setup(test_many_held_calls, test_setup),
	    cmocka_unit_test_setup(test_more_held_calls_than_slots, test_setup),
	    cmocka_unit_test_setup(test_ia32_gate, test_setup),
	    cmocka_unit_test_setup(test_x32_gate, test_setup),
	    cmocka_unit_test_setup(test_exit_without_entry, test_setup),
	    cmocka_unit_test_setup(test_killed_inside_call, test_setup),
	    cmocka_unit_test_setup(test_migrate_pages_self, test_setup),
	    cmocka_unit_test_setup(test_migrate_pages_masks, test_setup),
	    cmocka_unit_test_setup(test_migrate_mask_rewritten_during_call, test_setup),
	    cmocka_unit_test_setup(test_mempolicy_mask_rewritten_during_call, test_setup),
	    cmocka_unit_test_setup(test_migrate_pages_other_process, test_setup),
	    cmocka_unit_test_setup(test_event_selection, test_setup),
	    cmocka_unit_test_setup(test_refused_by_seccomp, test_setup),
	    cmocka_unit_test_setup(test_no_state_left, test_setup),
	};
	return cmocka_run_group_tests_name("trace", tests, group_setup, group_teardown);
}
