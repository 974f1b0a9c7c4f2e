// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One call's record, field by field: every argument, each array's state, the
 * return, the caller; calls by other threads and processes; the counters.
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

/* Make the call, wait for exactly one record, check it. */
static void call_and_check(struct tu_call *c, const struct expect *x)
{
	tu_move_pages(c);
	assert_int_equal(tu_wait_events(tracer, &events, 1, WAIT_MS), 1);
	assert_record(events.ev[0], c, x);
}

static int *zero_nodes(size_t n)
{
	int *nodes = calloc(n, sizeof(int));

	assert_non_null(nodes);
	return nodes;
}

void test_query_mode(void **state)
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

void test_move_to_node0(void **state)
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

void test_count_zero(void **state)
{
	struct tu_call c;
	char *mem;

	(void)state;
	own_pages_call(&c, 1, &mem);
	c.count = 0;
	call_and_check(&c, NULL);
	assert_int_equal(c.ret, 0);
	assert_int_equal(mp_n(events.ev[0], MP_PAGES), 0);
	assert_int_equal(events.ev[0]->size, sizeof(struct mpt_call_event));
	free_call(&c, mem, 1);
}

void test_truncation(void **state)
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
	assert_int_equal(mp_n(events.ev[0], MP_PAGES), CAP);
	assert_int_equal(mp_n(events.ev[0], MP_STATUS), CAP);
	assert_int_equal(mpt_event_parse(events.ev[0], events.ev[0]->size, &v, &why), 0);
	assert_true(v.arg[2].truncated); /* pages[] */
	free_call(&c, mem, 100);
}

void test_unmapped_page(void **state)
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

void test_null_entry(void **state)
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

void test_unreadable_pages(void **state)
{
	/* the kernel failed at element 0: status[] was read, written in none of it */
	struct expect x = {MPT_ARRAY_FAULT, MPT_ARRAY_NULL, MPT_ARRAY_PARTIAL};
	int status[2] = {-7, -8};
	struct tu_call c = {.count = 2, .pages = (void **)0x10, .status = status};

	(void)state;
	call_and_check(&c, &x);
	assert_int_equal(c.ret, -EFAULT);
}

void test_unreadable_nodes(void **state)
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

void test_invalid_flags(void **state)
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

void test_nonexistent_pid(void **state)
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

void test_offline_node(void **state)
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
	assert_int_equal(events.ev[0]->cap[MP_STATUS].state, MPT_ARRAY_PARTIAL);
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
void test_arrays_not_present(void **state)
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
		const struct mpt_call_event *ev;

		c.pages = want[i].pages_state == MPT_ARRAY_OK ? own_pages : pages;
		c.nodes = want[i].nodes_state == MPT_ARRAY_OK ? own_nodes : nodes;
		assert_int_equal(madvise(shared, page_size, MADV_DONTNEED), 0);
		tu_events_clear(&events);
		call_and_check(&c, &want[i]);
		assert_int_equal(c.ret, 0);
		ev = (const struct mpt_call_event *)events.ev[0];
		assert_int_equal(mp_changed(ev), 0);
	}
	c.pages = own_pages;
	c.nodes = own_nodes;
	free_call(&c, mem, 2);
	munmap(shared, page_size);
	close(fd);
}

void test_move_all(void **state)
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
void test_real_migration(void **state)
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

void test_second_thread(void **state)
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

void test_other_process(void **state)
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
	assert_int_equal((int32_t)events.ev[0]->arg[0], child);
	assert_int_equal(write(go[1], &b, 1), 1);
	waitpid(child, NULL, 0);
	close(go[0]), close(go[1]), close(ready[0]), close(ready[1]);
	free_call(&c, mem, 3);
}

void test_no_state_left(void **state)
{
	(void)state;
	/* Every call above returned: no slot may still say a call is in flight. */
	assert_int_equal(mpt_tracer_inflight_count(tracer), 0);
}

void test_self_not_traced(void **state)
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

void test_stats_count_events(void **state)
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

void test_inflight_memory_bounded(void **state)
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

/*
 * The reader maps the ring's data once (kernel/ring.c): a record that runs
 * past its end is copied into one piece. A 16 KiB ring and records of
 * 200 B to 1.2 KB, each read before the next call: about 25 times round,
 * records cut at every kind of place, each checked field by field.
 */
void test_records_wrap_the_ring(void **state)
{
	struct tu_events sink = {0};
	struct mpt_tracer *t;
	struct tu_call c;
	char *mem;

	(void)state;
	ring_bytes = 16384;
	t = start_tracer(getpid(), true, 0, &sink);
	ring_bytes = 0;
	assert_non_null(t);
	for (int i = 0; i < 400; i++) {
		size_t n = 1 + (size_t)(i * 7) % 48;
		struct expect x;

		own_pages_call(&c, n, &mem);
		default_expect(&c, &x);
		tu_move_pages(&c);
		assert_int_equal(tu_wait_events(t, &sink, 1, WAIT_MS), 1);
		assert_record(sink.ev[0], &c, &x);
		tu_events_clear(&sink);
		free_call(&c, mem, n);
	}
	mpt_tracer_free(t);
	free(sink.ev);
}
